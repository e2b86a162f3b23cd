package didomi

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

// sampleDir is the committed sample export made by scripts/gendata.
const sampleDir = "../../testdata/didomi"

// sampleLines returns the non-empty lines of every .json.gz file of the
// committed sample export (good lines and one bad line per reject code), in
// path order.
func sampleLines(tb testing.TB) [][]byte {
	tb.Helper()
	var lines [][]byte
	err := filepath.WalkDir(sampleDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json.gz") {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			return err
		}
		sc := bufio.NewScanner(zr)
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			if len(bytes.TrimSpace(sc.Bytes())) > 0 {
				lines = append(lines, bytes.Clone(sc.Bytes()))
			}
		}
		return sc.Err()
	})
	if err != nil {
		tb.Fatalf("read sample %s: %v", sampleDir, err)
	}
	if len(lines) == 0 {
		tb.Fatalf("no lines under %s", sampleDir)
	}
	return lines
}

// benchChunk repeats the sample lines until they make about minBytes, like
// one chunk of lineparse.Parse.
func benchChunk(tb testing.TB, minBytes int) (lines [][]byte, size int64) {
	tb.Helper()
	sample := sampleLines(tb)
	for size < int64(minBytes) {
		for _, l := range sample {
			lines = append(lines, l)
			size += int64(len(l)) + 1
		}
	}
	return lines, size
}

// BenchmarkParse measures Parse and Flush over a 4 MiB chunk of the
// committed sample export, as one lineparse.Parse worker handles a chunk: one
// parser reused across chunks, its batches flushed at the end of each.
func BenchmarkParse(b *testing.B) {
	lines, size := benchChunk(b, 4<<20)
	benchParseChunk(b, lines, size)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(lines)), "ns/line")
}

// benchParseChunk times Parse and Flush over lines (size bytes) as one
// chunk: one parser reused across iterations, its batches flushed at the
// end of each.
func benchParseChunk(b *testing.B, lines [][]byte, size int64) {
	p := newParser("f.json.gz", "export_id=x/date=2024-03-01")
	defer p.Release()
	rej := lineparse.NewRejects(Rejects(), "export_id=x/date=2024-03-01", "", "f.json.gz", 0)
	defer rej.Release()
	release := func(bt hiveparquet.Batch) { bt.Record.Release() }
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		for i, l := range lines {
			p.Parse(l, int64(i+1), rej)
		}
		p.Flush(release)
		rej.Flush(release)
	}
}
