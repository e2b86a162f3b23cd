package arrowpatch

import (
	"sync"
	_ "unsafe" // go:linkname, see reusedZstd

	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/klauspost/compress/zstd"
)

// Arrow Go v15's zstd codec builds a new zstd encoder (and its multi-MiB
// history and match tables) for every page it compresses (EncodeLevel in
// parquet/compress/zstd.go), which cost about a fifth of a Didomi run's CPU.
// The codec registry is unexported, so it is reached by go:linkname and the
// zstd entry is wrapped: EncodeLevel uses one long-lived encoder per level
// (zstd.Encoder.EncodeAll is safe for concurrent use and keeps no state
// between calls), with the same options Arrow uses, so the pages are the
// same zstd frames. Everything else is Arrow's own codec. A renamed or
// retyped registry would still link (a linkname to a variable does not check
// its target), so Check (check.go) looks the codec up through Arrow and
// writes a probe page through it.
//
//go:linkname parquetCodecs github.com/apache/arrow/go/v15/parquet/compress.codecs
var parquetCodecs map[compress.Compression]compress.Codec

func init() {
	if c, ok := parquetCodecs[compress.Codecs.Zstd]; ok && c != nil {
		parquetCodecs[compress.Codecs.Zstd] = reusedZstd{Codec: c}
	}
}

type reusedZstd struct{ compress.Codec }

var zstdEncoders sync.Map // zstd.EncoderLevel -> *zstd.Encoder

func (z reusedZstd) EncodeLevel(dst, src []byte, level int) []byte {
	zstdPages.Add(1)
	l := zstd.EncoderLevelFromZstd(level)
	if level == compress.DefaultCompressionLevel {
		l = zstd.SpeedDefault
	}
	e, ok := zstdEncoders.Load(l)
	if !ok {
		enc, err := zstd.NewWriter(nil, zstd.WithZeroFrames(true), zstd.WithEncoderLevel(l))
		zstdBuilds.Add(1)
		if err != nil {
			return z.Codec.EncodeLevel(dst, src, level)
		}
		e, _ = zstdEncoders.LoadOrStore(l, enc)
	}
	return e.(*zstd.Encoder).EncodeAll(src, dst[:0])
}
