package arrowpatch

import (
	"bytes"
	"sync"
	"testing"

	"github.com/apache/arrow/go/v15/parquet/compress"
)

// The zstd codec that Parquet pages are written with is the wrapper that
// reuses encoders (props.go), and its pages decode with Arrow's decoder,
// also when pages are compressed concurrently.
func TestZstdCodecReusesEncoders(t *testing.T) {
	c, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(reusedZstd); !ok {
		t.Fatalf("zstd codec is %T, want reusedZstd", c)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				src := bytes.Repeat([]byte{byte('a' + g), byte(i), ' ', 'v', 'l'}, 1000+i*97)
				for _, level := range []int{compress.DefaultCompressionLevel, 1, 3, 9} {
					enc := c.EncodeLevel(make([]byte, 0, c.CompressBound(int64(len(src)))), src, level)
					if got := c.Decode(make([]byte, len(src)), enc); !bytes.Equal(got, src) {
						t.Errorf("level %d: round trip of %d bytes failed", level, len(src))
						return
					}
				}
			}
		}(g)
	}
	wg.Wait()
}
