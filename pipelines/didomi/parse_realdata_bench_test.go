package didomi

import (
	"bufio"
	"compress/gzip"
	"os"
	"testing"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/transforms"
)

// BenchmarkParseFile measures Parse and Flush over the first 16 MiB of the
// users file named by $DIDOMI_BENCH_FILE (a generated export's .json.gz).
func BenchmarkParseFile(b *testing.B) {
	path := os.Getenv("DIDOMI_BENCH_FILE")
	if path == "" {
		b.Skip("DIDOMI_BENCH_FILE not set")
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 64<<20)
	var lines [][]byte
	var size int64
	for sc.Scan() && size < 16<<20 {
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
		size += int64(len(sc.Bytes())) + 1
	}
	p := newParser("f.json.gz", "export_id=x/date=2024-03-01")
	defer p.Release()
	rej := transforms.NewEventRejects(RejectsTable, "export_id=x/date=2024-03-01", "", "f.json.gz", 0)
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
