package lzop

import (
	"bytes"
	"io"
	"testing"
)

// FuzzReader feeds arbitrary bytes to the Reader and BuildIndex: they must
// return data or an error, never panic, and never hold more than a bounded
// amount of memory (MaxBlockSize plus its compressed form).
func FuzzReader(f *testing.F) {
	for _, name := range []string{"default.lzo", "level9.lzo", "crc32.lzo", "nochecksum.lzo", "stored.lzo", "empty.lzo", "filter.lzo"} {
		f.Add(readFixture(f, name))
	}
	stored, _ := storedFile([]byte("a\nbb\nccc\n"), FlagAdler32D|FlagCRC32D, 2, 3)
	f.Add(stored)
	f.Fuzz(func(t *testing.T, data []byte) {
		z, err := NewReader(bytes.NewReader(data))
		if err == nil {
			n, err := io.Copy(io.Discard, z)
			if err == nil && n > int64(len(data))*300 {
				t.Fatalf("%d bytes in expanded to %d", len(data), n)
			}
		}
		idx, err := BuildIndex(bytes.NewReader(data))
		if err != nil {
			return
		}
		if err := CheckIndex(idx, int64(len(data))); err != nil {
			t.Fatalf("BuildIndex returned an invalid index %v: %v", idx, err)
		}
		for _, r := range SplitRanges(int64(len(data)), 3) {
			lr, err := NewLineReader(bytes.NewReader(data), int64(len(data)), idx, r.Start, r.End)
			if err != nil {
				continue
			}
			for {
				if _, err := lr.Next(); err != nil {
					break
				}
			}
		}
	})
}

// FuzzReadIndex checks that ReadIndex never panics and that what it accepts
// survives a WriteIndex round trip.
func FuzzReadIndex(f *testing.F) {
	f.Add(readFixture(f, "multiblock.lzo.index"))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 1, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		idx, err := ReadIndex(bytes.NewReader(data))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := WriteIndex(&buf, idx); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), data) {
			t.Fatal("round trip differs")
		}
	})
}
