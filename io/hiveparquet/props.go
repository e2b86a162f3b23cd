package hiveparquet

import (
	"cmp"
	"fmt"
	"strings"
	"sync"
	_ "unsafe" // go:linkname, see reusedZstd

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	"github.com/klauspost/compress/zstd"
)

// Defaults of WriteOptions.
const (
	DefaultTargetFileBytes = 256 << 20
	DefaultMaxOpenWriters  = 16
	DefaultCompression     = "zstd"
	// DefaultRowGroupRows is DuckDB's default row-group length; Spark
	// (parquet-mr) bounds row groups by bytes instead (128 MiB).
	DefaultRowGroupRows = 122_880
	// DefaultRowGroupBytes bounds the uncompressed (Arrow) bytes of a row
	// group's rows, which are held until the row group is written: with
	// DefaultMaxOpenWriters files open, at most 256 MiB wait. Measured on
	// a 64 MiB Didomi drop (direct runner): 16 MiB kept the wall time of
	// one row group per batch with row groups 3x larger (peak RSS 0.47 GB
	// against 0.36 GB); 64 MiB took 1.4x the time and 0.83 GB.
	DefaultRowGroupBytes = 16 << 20
)

// WriteOptions are the writer's tunables. The zero value means defaults.
type WriteOptions struct {
	// Compression is one of zstd (default), snappy, gzip, none.
	Compression string `json:"compression,omitempty"`
	// CompressionLevel is the codec's level (zstd 1-22, gzip 1-9); 0 is the
	// codec's default (zstd 3, which the zstd library maps to its
	// SpeedDefault). The zstd library has four speeds: 1-2 SpeedFastest,
	// 3-5 SpeedDefault, 6-9 SpeedBetterCompression, 10-22
	// SpeedBestCompression.
	//
	// Measured on one audiencestudio_requests file (1.3 M rows, 16 row
	// groups, encoded on one goroutine, Arrow Go v15): level 3 took 1.86
	// CPU-s for 42.7 MB; level 1 1.37 s for 51.0 MB (+19 %, nearly all in
	// the unique id_value column, which level 1 compresses to 35.1 MB
	// instead of 29.5 MB, and requested_at, which it leaves at its plain
	// 8.9 MB instead of 6.6 MB); level 7 2.37 s for 42.4 MB; snappy 1.31 s
	// for 67.6 MB; none 1.14 s for 76.3 MB. So compression is about a
	// third of the encoding CPU at the default; level 1 buys a quarter of
	// the encoding CPU back for a fifth more bytes stored and scanned, a
	// trade for the user to make (--compression-level=1), not a default.
	CompressionLevel int `json:"compression_level,omitempty"`
	// TargetFileBytes rolls to a new file once this many uncompressed bytes
	// were written to the current one (default 256 MiB).
	TargetFileBytes int64 `json:"target_file_bytes,omitempty"`
	// MaxOpenWriters bounds the files open at once per bundle; the least
	// recently used one is closed beyond it (default 16).
	MaxOpenWriters int `json:"max_open_writers,omitempty"`
	// RowGroupRows ends a row group at this many rows (default
	// DefaultRowGroupRows). Batches are coalesced into row groups: small
	// input files never mean small row groups.
	RowGroupRows int64 `json:"row_group_rows,omitempty"`
	// RowGroupBytes ends a row group once its rows hold this many
	// uncompressed bytes (default DefaultRowGroupBytes).
	RowGroupBytes int64 `json:"row_group_bytes,omitempty"`
	// DataPageV2 writes Parquet data pages V2 instead of V1: faster in Arrow
	// Go v15 (its V1 level buffers grow quadratically on nullable columns),
	// but Spark before 3.3 cannot read V2 pages with its vectorized reader.
	// Off by default.
	DataPageV2 bool `json:"data_page_v2,omitempty"`
	// CreatedBy is the files' created_by: the application and its version,
	// e.g. "vendorlake version v1.2.0" (default "vendorlake").
	CreatedBy string `json:"created_by,omitempty"`
}

func (o WriteOptions) withDefaults() WriteOptions {
	if o.Compression == "" {
		o.Compression = DefaultCompression
	}
	if o.TargetFileBytes <= 0 {
		o.TargetFileBytes = DefaultTargetFileBytes
	}
	if o.MaxOpenWriters <= 0 {
		o.MaxOpenWriters = DefaultMaxOpenWriters
	}
	if o.RowGroupRows <= 0 {
		o.RowGroupRows = DefaultRowGroupRows
	}
	if o.RowGroupBytes <= 0 {
		o.RowGroupBytes = DefaultRowGroupBytes
	}
	return o
}

// Check reports options that cannot be written: an unknown codec, or a
// level the codec does not have.
func (o WriteOptions) Check() error {
	codec, err := ParseCompression(o.Compression)
	if err != nil {
		return fmt.Errorf("--compression: %w", err)
	}
	if o.CompressionLevel == 0 {
		return nil
	}
	lo, hi := 0, 0
	switch codec {
	case compress.Codecs.Zstd:
		lo, hi = 1, 22
	case compress.Codecs.Gzip:
		lo, hi = 1, 9
	}
	if o.CompressionLevel < lo || o.CompressionLevel > hi {
		if hi == 0 {
			return fmt.Errorf("--compression-level=%d: %s has no levels", o.CompressionLevel, o.Compression)
		}
		return fmt.Errorf("--compression-level=%d: %s takes %d to %d", o.CompressionLevel, o.Compression, lo, hi)
	}
	return nil
}

// ParseCompression maps a compression name to the Parquet codec.
func ParseCompression(name string) (compress.Compression, error) {
	switch strings.ToLower(name) {
	case "", "zstd":
		return compress.Codecs.Zstd, nil
	case "snappy":
		return compress.Codecs.Snappy, nil
	case "gzip":
		return compress.Codecs.Gzip, nil
	case "none", "uncompressed":
		return compress.Codecs.Uncompressed, nil
	}
	return 0, fmt.Errorf("unknown compression %q (want zstd, snappy, gzip or none)", name)
}

// writerProps sets every Parquet property in one place: the codec,
// dictionary encoding (but for the columns of schema marked NoDictionary) and
// column statistics on, Parquet 2.6 logical types (so timestamps are
// TIMESTAMP(MICROS, isAdjustedToUTC=true), never INT96). A nil schema
// checks the options only.
//
// The other settings are Arrow's defaults, measured against the
// alternatives on the same audiencestudio_requests file as
// WriteOptions.CompressionLevel (1.86 CPU-s, 42.7 MB as written):
//   - Dictionary: turning it off for the low-cardinality strings (id_kind,
//     action, ...) saves 0.01-0.03 s a column for 3-4x their bytes, and
//     costs time on flags_raw; turning it on for the NoDictionary columns
//     costs 0.13 s and 5.6 MB. The split by column stays.
//   - Statistics: off saves 0.26 s (14 %) and 20 KB, but min/max are what
//     Athena, Spark and DuckDB prune row groups with; they stay on.
//   - Page size: 256 KiB pages cost 0.06 s and 0.4 MB more, 4 MiB pages
//     save 0.08 s and nothing in size; Arrow's 1 MiB stays, the size
//     readers are tuned for.
//   - Encodings: DELTA_BINARY_PACKED would encode requested_at (0.12 s,
//     6.6 MB -> 0.05 s, 5.4 MB) and source_offset (0.07 s, 2.2 MB -> 0.02 s,
//     1.2 MB) better, but Spark before 3.3 cannot read it with its
//     vectorized reader (like data pages V2), so it is not used.
//   - The rest of the encoding time is Arrow's own: level building for
//     nested columns (the six-leaf flags struct alone is 0.44 s) and
//     dictionary hashing of every string value (about 0.1 s a column).
func writerProps(o WriteOptions, schema *arrow.Schema) (*parquet.WriterProperties, pqarrow.ArrowWriterProperties, error) {
	codec, err := ParseCompression(o.Compression)
	if err != nil {
		return nil, pqarrow.ArrowWriterProperties{}, err
	}
	pageVersion := parquet.DataPageV1
	if o.DataPageV2 {
		pageVersion = parquet.DataPageV2
	}
	opts := []parquet.WriterProperty{
		parquet.WithDataPageVersion(pageVersion),
		parquet.WithCompression(codec),
		parquet.WithCompressionLevel(compressionLevel(o.CompressionLevel)),
		parquet.WithDictionaryDefault(true),
		parquet.WithStats(true),
		parquet.WithVersion(parquet.V2_6),
		parquet.WithMaxRowGroupLength(o.withDefaults().RowGroupRows),
		parquet.WithCreatedBy(cmp.Or(o.CreatedBy, "vendorlake")),
	}
	if schema != nil {
		for _, col := range noDictionary(schema) {
			opts = append(opts, parquet.WithDictionaryFor(col, false))
		}
	}
	props := parquet.NewWriterProperties(opts...)
	return props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()), nil
}

// compressionLevel maps WriteOptions.CompressionLevel to Arrow's: 0 is the
// codec's default.
func compressionLevel(l int) int {
	if l == 0 {
		return compress.DefaultCompressionLevel
	}
	return l
}

// Arrow Go v15's zstd codec builds a new zstd encoder (and its multi-MiB
// history and match tables) for every page it compresses (EncodeLevel in
// parquet/compress/zstd.go), which cost about a fifth of a Didomi run's CPU.
// The codec registry is unexported, so it is reached by go:linkname and the
// zstd entry is wrapped: EncodeLevel uses one long-lived encoder per level
// (zstd.Encoder.EncodeAll is safe for concurrent use and keeps no state
// between calls), with the same options Arrow uses, so the pages are the
// same zstd frames. Everything else is Arrow's own codec. A renamed or
// retyped registry would still link (a linkname to a variable does not check
// its target), so CheckArrowPatches (patches.go) looks the codec up through
// Arrow and writes a probe page through it.
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
