package didomi

import (
	"bufio"
	"compress/gzip"
	"os"
	"testing"
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
	benchParseChunk(b, lines, size)
}
