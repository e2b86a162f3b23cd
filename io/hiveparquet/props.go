package hiveparquet

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
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
	// DefaultMaxOpenWriters files open, at most 256 MiB wait. Larger row
	// groups cost time and memory (BENCHMARKS.md, "Measurements that were
	// code comments").
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
	// SpeedBestCompression. Level 1 buys about a quarter of the encoding
	// CPU back for a fifth more bytes stored and scanned: a trade for the
	// user to make (--compression-level=1), not a default (BENCHMARKS.md,
	// "Measurements that were code comments").
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
	// DataPageV2 writes Parquet data pages V2 instead of V1. Off by
	// default: Spark before 3.3 cannot read V2 pages with its vectorized
	// reader. (V1's quadratic level-buffer growth in Arrow Go v15, which
	// once made V2 much faster, is fixed by arrowpatch/levelbuf.go.)
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
// The other settings are Arrow's defaults, each measured against its
// alternatives (BENCHMARKS.md, "Measurements that were code comments"):
// dictionaries split by column (NoDictionary columns plain), statistics
// on (engines prune row groups by min/max), Arrow's 1 MiB pages, and no
// DELTA_BINARY_PACKED (Spark before 3.3 cannot read it with its vectorized
// reader, like data pages V2).
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
