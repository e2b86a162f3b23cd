package lzop

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"hash/adler32"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"
)

var update = flag.Bool("update", false, "regenerate the lzop fixtures with Debian's lzop")

// fixture describes one committed lzop file: its uncompressed content and
// the lzop options that made it.
type fixture struct {
	name    string
	content func() []byte
	args    []string
	method  uint8
	flags   uint32 // flag bits expected besides the OS bits
	err     error  // expected error from NewReader or Read
}

func smallText() []byte { return genLines(1, 80, 90) }

// multiText is about 600 KiB, three lzop blocks of 256 KiB.
func multiText() []byte { return genLines(7, 4000, 300) }

func randomBytes() []byte {
	b := make([]byte, 3000)
	rng := rand.New(rand.NewPCG(3, 3))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

var fixtures = []fixture{
	{name: "default.lzo", content: smallText, method: MethodLZO1X1, flags: FlagAdler32D | FlagStdin | FlagStdout},
	{name: "level1.lzo", content: smallText, args: []string{"-1"}, method: MethodLZO1X115, flags: FlagAdler32D | FlagStdin | FlagStdout},
	{name: "level9.lzo", content: smallText, args: []string{"-9"}, method: MethodLZO1X999, flags: FlagAdler32D | FlagStdin | FlagStdout},
	{name: "crc32.lzo", content: smallText, args: []string{"--crc32"}, method: MethodLZO1X1, flags: FlagCRC32D | FlagHeaderCRC32 | FlagStdin | FlagStdout},
	{name: "nochecksum.lzo", content: smallText, args: []string{"--no-checksum"}, method: MethodLZO1X1, flags: FlagStdin | FlagStdout},
	{name: "stored.lzo", content: randomBytes, method: MethodLZO1X1, flags: FlagAdler32D | FlagStdin | FlagStdout},
	{name: "empty.lzo", content: func() []byte { return nil }, method: MethodLZO1X1, flags: FlagAdler32D | FlagStdin | FlagStdout},
	{name: "multiblock.lzo", content: multiText, method: MethodLZO1X1, flags: FlagAdler32D | FlagStdin | FlagStdout},
	{name: "filter.lzo", content: smallText, args: []string{"--filter=1"}, err: ErrUnsupported},
}

func TestUpdateFixtures(t *testing.T) {
	if !*update {
		t.Skip("run with -update to regenerate fixtures")
	}
	for _, f := range fixtures {
		file := lzopCompress(t, f.content(), f.args...)
		if err := os.WriteFile(filepath.Join(fixtureDir, f.name), file, 0o644); err != nil {
			t.Fatal(err)
		}
		if f.name == "multiblock.lzo" {
			var idx bytes.Buffer
			if err := WriteIndex(&idx, walkBlocks(file)); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(fixtureDir, f.name+".index"), idx.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestReaderFixtures(t *testing.T) {
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			file := readFixture(t, f.name)
			z, err := NewReader(bytes.NewReader(file))
			if f.err != nil {
				if !errors.Is(err, f.err) {
					t.Fatalf("NewReader error = %v, want %v", err, f.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			h := z.Header()
			if h.Method != f.method || h.Flags&0x00ffffff != f.flags || h.Version != 0x1040 {
				t.Errorf("header = %+v, want method %d flags %#x", h, f.method, f.flags)
			}
			got, err := io.ReadAll(z)
			if err != nil {
				t.Fatal(err)
			}
			if want := f.content(); !bytes.Equal(got, want) {
				t.Fatalf("content differs: got %d bytes, want %d", len(got), len(want))
			}
		})
	}
}

// TestReaderLzopRoundTrip compresses fresh content with lzop at run time,
// including blocks that lzop stores uncompressed and several block sizes.
func TestReaderLzopRoundTrip(t *testing.T) {
	mixed := append(genLines(11, 3000, 200), randomBytes()...)
	mixed = append(mixed, bytes.Repeat(randomBytes(), 100)...) // mostly incompressible block
	for _, args := range [][]string{nil, {"-1"}, {"-9"}, {"--crc32"}, {"--no-checksum"}} {
		file := lzopCompress(t, mixed, args...)
		z, err := NewReader(bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(z)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if !bytes.Equal(got, mixed) {
			t.Fatalf("%v: content differs", args)
		}
	}
}

// TestReaderCompressedChecksums rewrites a real file to carry adler32 and
// crc32 checksums of the compressed data, which lzop's CLI cannot ask for.
func TestReaderCompressedChecksums(t *testing.T) {
	_, blocks := rawBlocks(t, readFixture(t, "multiblock.lzo"))
	flags := uint32(FlagAdler32D | FlagCRC32D | FlagAdler32C | FlagCRC32C)
	file := assemble(header(flags, MethodLZO1X1, 5, "x.txt"), flags, blocks)
	z, err := NewReader(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if z.Header().Name != "x.txt" {
		t.Errorf("name = %q", z.Header().Name)
	}
	got, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, multiText()) {
		t.Fatal("content differs")
	}
	// Damage one byte of the second block's compressed data.
	bad := bytes.Clone(file)
	off := walkBlocks(bad)[1]
	bad[nextData(bad, off)+10] ^= 0x55
	z, err = NewReader(bytes.NewReader(bad))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(z); !errors.Is(err, ErrChecksum) {
		t.Fatalf("error = %v, want ErrChecksum", err)
	}
}

func TestReaderErrors(t *testing.T) {
	good := readFixture(t, "default.lzo")
	hdrLen := walkBlocks(good)[0]
	patchHeader := func(pos int, b ...byte) []byte {
		f := bytes.Clone(good)
		copy(f[pos:], b)
		// Recompute the header checksum so only the patched field is wrong.
		binary.BigEndian.PutUint32(f[hdrLen-4:], adler32.Checksum(f[len(Magic):hdrLen-4]))
		return f
	}
	dataOff := nextData(good, hdrLen)
	flip := func(pos int64) []byte {
		f := bytes.Clone(good)
		f[pos] ^= 0xff
		return f
	}
	stored, _ := storedFile([]byte("hello\nworld\n"), FlagAdler32D, 6)
	setU32 := func(f []byte, pos int64, v uint32) []byte {
		f = bytes.Clone(f)
		binary.BigEndian.PutUint32(f[pos:], v)
		return f
	}
	tests := []struct {
		name string
		file []byte
		want error
	}{
		{"empty input", nil, ErrHeader},
		{"bad magic", append([]byte("\x1f\x8b\x08\x00"), good[4:]...), ErrHeader},
		{"short magic", good[:5], ErrHeader},
		{"header truncated", good[:20], ErrTruncated},
		{"header checksum", flip(hdrLen - 1), ErrChecksum},
		{"method 0", patchHeader(len(Magic)+6, 0), ErrUnsupported},
		{"method NRV", patchHeader(len(Magic)+6, 0x40), ErrUnsupported},
		{"version needed too new", patchHeader(len(Magic)+4, 0x20, 0x00), ErrUnsupported},
		{"reserved flags", patchHeader(len(Magic)+8+1, 0x01), ErrHeader},
		{"multipart", patchHeader(len(Magic)+8+2, 0x04), ErrUnsupported},
		{"filter", readFixture(t, "filter.lzo"), ErrUnsupported},
		{"no end marker", good[:len(good)-4], ErrTruncated},
		{"block header truncated", good[:hdrLen+6], ErrTruncated},
		{"block data truncated", good[:dataOff+100], ErrTruncated},
		{"data checksum", flip(dataOff + 200), ErrChecksum},
		{"stored checksum", flip(int64(len(stored)) - 8), ErrChecksum},
		{"block too large", setU32(good, hdrLen, MaxBlockSize+1), ErrCorrupt},
		{"compressed larger than raw", setU32(good, hdrLen+4, 1<<20), ErrCorrupt},
		{"compressed size zero", setU32(good, hdrLen+4, 0), ErrCorrupt},
		{"implausible ratio", setU32(setU32(good, hdrLen, 60<<20), hdrLen+4, 100), ErrCorrupt},
		{"wrong uncompressed size", setU32(good, hdrLen, binary.BigEndian.Uint32(good[hdrLen:])+1), ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "stored checksum" {
				tt.file = bytes.Clone(stored)
				tt.file[len(stored)-6] ^= 1 // a data byte of the last block
			}
			z, err := NewReader(bytes.NewReader(tt.file))
			if err == nil {
				_, err = io.ReadAll(z)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
			if err.Error() == tt.want.Error() {
				t.Errorf("error %q carries no context", err)
			}
		})
	}
}

// TestReaderTruncations cuts a multi-block file at every block boundary and
// at many points in between: every cut must fail cleanly.
func TestReaderTruncations(t *testing.T) {
	file := readFixture(t, "multiblock.lzo")
	cuts := []int{}
	for _, off := range walkBlocks(file) {
		cuts = append(cuts, int(off), int(off)+4, int(off)+8, int(off)+9)
	}
	for c := 0; c < len(file)-1; c += 997 {
		cuts = append(cuts, c)
	}
	cuts = append(cuts, len(file)-1)
	for _, c := range cuts {
		z, err := NewReader(bytes.NewReader(file[:c]))
		if err == nil {
			_, err = io.ReadAll(z)
		}
		if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrHeader) {
			t.Fatalf("cut at %d: error = %v", c, err)
		}
	}
}

func TestReaderSmallReads(t *testing.T) {
	z, err := NewReader(bytes.NewReader(readFixture(t, "multiblock.lzo")))
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	buf := make([]byte, 7)
	for {
		n, err := z.Read(buf)
		got.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got.Bytes(), multiText()) {
		t.Fatal("content differs")
	}
}

// TestDecompressRecovers checks that garbage fed to the decompressor is an
// error, not a panic.
func TestDecompressRecovers(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	dst := make([]byte, 1024)
	for i := 0; i < 2000; i++ {
		src := make([]byte, 1+rng.IntN(64))
		for j := range src {
			src[j] = byte(rng.Uint32())
		}
		_, _ = decompress(src, dst)
	}
}

func TestReaderExtraField(t *testing.T) {
	for _, flags := range []uint32{FlagExtraField | FlagAdler32D, FlagExtraField | FlagHeaderCRC32 | FlagCRC32D} {
		content := []byte("extra\nfield\n")
		file, _ := storedFile(content, flags&^FlagExtraField)
		hdr := header(flags, MethodLZO1X1, 5, "n")
		extra := binary.BigEndian.AppendUint32(nil, 5)
		extra = append(extra, "hello"...)
		sum := adler32.Checksum(extra)
		if flags&FlagHeaderCRC32 != 0 {
			sum = crc32.ChecksumIEEE(extra)
		}
		extra = binary.BigEndian.AppendUint32(extra, sum)
		withExtra := append(append(hdr, extra...), file[walkBlocks(file)[0]:]...)
		z, err := NewReader(bytes.NewReader(withExtra))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := io.ReadAll(z); err != nil || !bytes.Equal(got, content) {
			t.Fatalf("ReadAll = %q, %v", got, err)
		}
		if z.Header().Size != int64(len(hdr)+len(extra)) {
			t.Errorf("header size %d, want %d", z.Header().Size, len(hdr)+len(extra))
		}
		withExtra[len(hdr)+6] ^= 1 // damage the extra field
		if _, err := NewReader(bytes.NewReader(withExtra)); !errors.Is(err, ErrChecksum) {
			t.Errorf("damaged extra field: error = %v", err)
		}
	}
}

// wrappedEOF is a store's error that wraps io.ErrUnexpectedEOF (a download
// cut short): the reader below the lzop stream failed, the file may be whole.
type wrappedEOF struct{}

func (wrappedEOF) Error() string { return "store: connection closed early: unexpected EOF" }
func (wrappedEOF) Unwrap() error { return io.ErrUnexpectedEOF }

// A file that ends early is ErrTruncated; a reader that fails with an error
// wrapping io.ErrUnexpectedEOF is that reader's error, not a truncated file.
func TestTruncatedOrReaderError(t *testing.T) {
	file, _ := storedFile(bytes.Repeat([]byte("a line\n"), 2000), FlagAdler32D, 4096, 4096)
	cut := len(file) / 2
	for _, c := range []struct {
		name          string
		r             io.Reader
		wantTruncated bool
	}{
		{"file cut short", bytes.NewReader(file[:cut]), true},
		{"reader fails", io.MultiReader(bytes.NewReader(file[:cut]), iotest.ErrReader(wrappedEOF{})), false},
		{"header cut short", bytes.NewReader(file[:20]), true},
		{"reader fails in the header", io.MultiReader(bytes.NewReader(file[:20]), iotest.ErrReader(wrappedEOF{})), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var err error
			z, err := NewReader(c.r)
			if err == nil {
				_, err = io.Copy(io.Discard, z)
			}
			if err == nil {
				t.Fatal("no error")
			}
			if got := errors.Is(err, ErrTruncated); got != c.wantTruncated {
				t.Errorf("%v: ErrTruncated %v, want %v", err, got, c.wantTruncated)
			}
			if !c.wantTruncated && !errors.As(err, new(wrappedEOF)) {
				t.Errorf("%v: the reader's error is lost", err)
			}
		})
	}
}
