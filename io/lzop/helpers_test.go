package lzop

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/adler32"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fixtureDir holds the committed lzop fixtures, made with Debian's lzop 1.04.
const fixtureDir = "../../testdata/audiencestudio/fixtures/lzop"

// genLines returns n deterministic newline-terminated lines whose lengths
// are drawn from [0, maxLen], built from a small vocabulary so that they
// compress like real logs.
func genLines(seed uint64, n, maxLen int) []byte {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	words := []string{"pixel", "event", "kuid", "segment", "beacon", "krxd", "net", "204", "GET", "/", "?", "&", "=", "Lx14Qph3", "1518036181", " "}
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		l := rng.IntN(maxLen + 1)
		start := b.Len()
		fmt.Fprintf(&b, "%d:", i)
		for b.Len()-start < l {
			b.WriteString(words[rng.IntN(len(words))])
		}
		b.Truncate(max(start+l, start+len(fmt.Sprint(i))+1))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// splitLines splits content into lines the way a line reader sees them: a
// final line without "\n" counts, an empty tail after the last "\n" does not.
func splitLines(content []byte) []string {
	if len(content) == 0 {
		return nil
	}
	s := strings.TrimSuffix(string(content), "\n")
	return strings.Split(s, "\n")
}

// block is one block of a synthetic lzop file.
type block struct {
	raw  []byte // uncompressed bytes
	data []byte // bytes stored in the file: raw itself, or its LZO1X form
}

// header returns a v1.04-style lzop header with the given flags and method.
func header(flags uint32, method, level byte, name string) []byte {
	var h bytes.Buffer
	h.WriteString(Magic)
	body := []byte{0x10, 0x40, 0x20, 0xa0, 0x09, 0x40, method, level}
	body = binary.BigEndian.AppendUint32(body, flags)
	if flags&FlagFilter != 0 {
		body = binary.BigEndian.AppendUint32(body, 1)
	}
	body = binary.BigEndian.AppendUint32(body, 0o100644) // mode
	body = binary.BigEndian.AppendUint32(body, 1518036361)
	body = binary.BigEndian.AppendUint32(body, 0) // mtime high
	body = append(body, byte(len(name)))
	body = append(body, name...)
	sum := adler32.Checksum(body)
	if flags&FlagHeaderCRC32 != 0 {
		sum = crc32.ChecksumIEEE(body)
	}
	body = binary.BigEndian.AppendUint32(body, sum)
	h.Write(body)
	return h.Bytes()
}

// assemble builds an lzop file from a header and blocks, writing the
// checksums that flags ask for, and the end-of-stream marker.
func assemble(hdr []byte, flags uint32, blocks []block) []byte {
	out := append([]byte(nil), hdr...)
	for _, b := range blocks {
		out = binary.BigEndian.AppendUint32(out, uint32(len(b.raw)))
		out = binary.BigEndian.AppendUint32(out, uint32(len(b.data)))
		if flags&FlagAdler32D != 0 {
			out = binary.BigEndian.AppendUint32(out, adler32.Checksum(b.raw))
		}
		if flags&FlagCRC32D != 0 {
			out = binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(b.raw))
		}
		if len(b.data) < len(b.raw) {
			if flags&FlagAdler32C != 0 {
				out = binary.BigEndian.AppendUint32(out, adler32.Checksum(b.data))
			}
			if flags&FlagCRC32C != 0 {
				out = binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(b.data))
			}
		}
		out = append(out, b.data...)
	}
	return binary.BigEndian.AppendUint32(out, 0)
}

// storedFile cuts content at the given block sizes (the last block takes the
// rest) and returns an lzop file of stored blocks and its block offsets.
func storedFile(content []byte, flags uint32, sizes ...int) ([]byte, []int64) {
	hdr := header(flags, MethodLZO1X1, 5, "")
	var blocks []block
	for i := 0; len(content) > 0; i++ {
		n := len(content)
		if i < len(sizes) && sizes[i] < n {
			n = sizes[i]
		}
		blocks = append(blocks, block{raw: content[:n], data: content[:n]})
		content = content[n:]
	}
	file := assemble(hdr, flags, blocks)
	return file, walkBlocks(file)
}

// walkBlocks is the test's own block walker, independent of BuildIndex: it
// returns the offset of each block header of a well-formed file.
func walkBlocks(file []byte) []int64 {
	p := len(Magic) + 2 + 2 + 2 + 1 + 1
	flags := binary.BigEndian.Uint32(file[p:])
	p += 4
	if flags&FlagFilter != 0 {
		p += 4
	}
	p += 4 + 4 + 4
	p += 1 + int(file[p]) + 4
	nd, nc := 0, 0
	for _, f := range []uint32{FlagAdler32D, FlagCRC32D} {
		if flags&f != 0 {
			nd++
		}
	}
	for _, f := range []uint32{FlagAdler32C, FlagCRC32C} {
		if flags&f != 0 {
			nc++
		}
	}
	var offs []int64
	for {
		dst := binary.BigEndian.Uint32(file[p:])
		if dst == 0 {
			return offs
		}
		offs = append(offs, int64(p))
		src := binary.BigEndian.Uint32(file[p+4:])
		p += 8 + 4*nd
		if src < dst {
			p += 4 * nc
		}
		p += int(src)
	}
}

// rawBlocks splits a well-formed file into its header and blocks, using the
// package's Reader for each block's uncompressed bytes.
func rawBlocks(t *testing.T, file []byte) ([]byte, []block) {
	t.Helper()
	offs := walkBlocks(file)
	if len(offs) == 0 {
		t.Fatal("file has no blocks")
	}
	z, err := NewReader(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	var blocks []block
	for _, off := range offs {
		dst := binary.BigEndian.Uint32(file[off:])
		src := binary.BigEndian.Uint32(file[off+4:])
		raw := make([]byte, dst)
		if _, err := io.ReadFull(z, raw); err != nil {
			t.Fatal(err)
		}
		data := file[nextData(file, off) : nextData(file, off)+int64(src)]
		blocks = append(blocks, block{raw: raw, data: data})
	}
	return file[:offs[0]], blocks
}

// nextData returns the offset of the data of the block at off.
func nextData(file []byte, off int64) int64 {
	flags := binary.BigEndian.Uint32(file[len(Magic)+8:])
	d, c := (&Header{Flags: flags}).checksumCounts()
	if binary.BigEndian.Uint32(file[off+4:]) == binary.BigEndian.Uint32(file[off:]) {
		c = 0
	}
	return off + 8 + int64(4*(d+c))
}

// readFixture returns a committed fixture.
func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// lzopCompress runs Debian's lzop on content, skipping the test when lzop is
// not installed.
func lzopCompress(t testing.TB, content []byte, args ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath("lzop"); err != nil {
		t.Skip("lzop not on PATH")
	}
	cmd := exec.Command("lzop", append(args, "-c")...)
	cmd.Stdin = bytes.NewReader(content)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("lzop %v: %v: %s", args, err, errb.String())
	}
	return out.Bytes()
}
