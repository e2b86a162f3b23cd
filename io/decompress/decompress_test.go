package decompress

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/vendorlake/vendorlake/io/lzop"
)

func gz(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

func TestNewReader(t *testing.T) {
	two := append(gz(t, "a\n"), gz(t, "b\n")...)
	full := gz(t, strings.Repeat("line\n", 1000))
	tests := []struct {
		name    string
		in      []byte
		want    string
		kind    Kind
		wantErr string
	}{
		{name: "plain", in: []byte("x\ny\n"), want: "x\ny\n", kind: Plain},
		{name: "empty", in: nil, want: "", kind: Plain},
		{name: "gzip", in: gz(t, "hello\n"), want: "hello\n", kind: Gzip},
		{name: "gzip multistream", in: two, want: "a\nb\n", kind: Gzip},
		{name: "gzip truncated", in: full[:len(full)/2], kind: Gzip, wantErr: "truncated"},
		{name: "gzip corrupt", in: append(append([]byte{}, full[:20]...), bytes.Repeat([]byte{0xff}, 40)...), kind: Gzip, wantErr: "f.gz"},
		{name: "lzop without opener", in: append(append([]byte{}, lzopMagic...), 0, 0), kind: Lzop, wantErr: "not supported"},
	}
	for _, tt := range tests {
		// The size hint sizes the read-ahead buffer only: unknown, too
		// small, exact and too large must all read the same content.
		for _, size := range []int64{0, 1, int64(len(tt.in)), 1 << 30} {
			t.Run(fmt.Sprintf("%s/size=%d", tt.name, size), func(t *testing.T) {
				r, kind, err := NewReaderSize(bytes.NewReader(tt.in), "f.gz", nil, size)
				if err == nil {
					var got []byte
					got, err = io.ReadAll(r)
					if err == nil && string(got) != tt.want {
						t.Fatalf("content = %q, want %q", got, tt.want)
					}
				}
				if kind != tt.kind {
					t.Errorf("kind = %s, want %s", kind, tt.kind)
				}
				if tt.wantErr == "" && err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
			})
		}
	}
}

func TestReadAhead(t *testing.T) {
	tests := []struct {
		size int64
		want int
	}{
		{size: -1, want: maxReadAhead},
		{size: 0, want: maxReadAhead},
		{size: 1, want: minReadAhead},
		{size: 100 << 10, want: 100 << 10},
		{size: maxReadAhead, want: maxReadAhead},
		{size: 1 << 40, want: maxReadAhead},
	}
	for _, tt := range tests {
		if got := readAhead(tt.size); got != tt.want {
			t.Errorf("readAhead(%d) = %d, want %d", tt.size, got, tt.want)
		}
	}
}

// TestSmallFilesAllocateLittle opens many small streams with their sizes
// known, as the read step does for a drop of thousands of small files: the
// bytes allocated per stream must stay near the file's size, not the 1 MiB
// read-ahead a large file gets.
func TestSmallFilesAllocateLittle(t *testing.T) {
	in := []byte(strings.Repeat("x", 200) + "\n")
	const n = 200
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < n; i++ {
		r, _, err := NewReaderSize(bytes.NewReader(in), "small.json", nil, int64(len(in)))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := io.ReadAll(r); err != nil || len(got) != len(in) {
			t.Fatalf("read %d bytes, %v", len(got), err)
		}
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / n; per > 64<<10 {
		t.Errorf("%d bytes allocated per small stream, want at most 64 KiB", per)
	}
}

// failingReader returns its data, then err instead of io.EOF: a store whose
// connection breaks in the middle of a file.
type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

// IsFormatError tells the errors of a file's content (it would fail the same
// way on every read) from those of its store.
func TestIsFormatError(t *testing.T) {
	full := gz(t, strings.Repeat("line\n", 5000))
	readAll := func(r io.Reader) error {
		zr, _, err := NewReader(r, "f.gz", nil)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, zr)
		return err
	}
	corrupt := append(append([]byte{}, full[:20]...), bytes.Repeat([]byte{0xff}, 40)...)
	badSum := append([]byte{}, full...)
	badSum[len(badSum)-8] ^= 0xff // CRC-32 of the trailer
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"gzip truncated", readAll(bytes.NewReader(full[:len(full)/2])), true},
		{"gzip corrupt", readAll(bytes.NewReader(corrupt)), true},
		{"gzip checksum", readAll(bytes.NewReader(badSum)), true},
		{"gzip bad header", readAll(bytes.NewReader([]byte{0x1f, 0x8b, 0, 0, 0, 0, 0, 0, 0, 0})), true},
		{"store fails under gzip", readAll(&failingReader{data: full[:len(full)/2], err: errors.New("connection reset by peer")}), false},
		{"store cut short under gzip", readAll(&failingReader{data: full[:len(full)/2], err: io.ErrUnexpectedEOF}), false},
		{"store fails at the start", readAll(&failingReader{err: io.ErrUnexpectedEOF}), false},
		{"store fails under plain", readAll(&failingReader{data: []byte("a\nb\n"), err: io.ErrUnexpectedEOF}), false},
		{"store error marked", fmt.Errorf("part p.00: %w", MarkStore(io.ErrUnexpectedEOF)), false},
		{"cancelled", fmt.Errorf("read f: %w", context.Canceled), false},
		{"lzop corrupt", fmt.Errorf("read f: %w", lzop.ErrCorrupt), true},
		{"tar header", fmt.Errorf("archive a: part a.00: %w", tar.ErrHeader), true},
		{"tar truncated", fmt.Errorf("archive a: part a.00: %w", io.ErrUnexpectedEOF), true},
		{"other", errors.New("open f: no such file or directory"), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil && tt.name != "nil" {
				t.Fatal("the read did not fail")
			}
			if got := IsFormatError(tt.err); got != tt.want {
				t.Errorf("IsFormatError(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
