package hiveparquet

import (
	"fmt"
	"strings"

	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
)

// Defaults of WriteOptions.
const (
	DefaultTargetFileBytes = 256 << 20
	DefaultMaxOpenWriters  = 16
	DefaultCompression     = "zstd"
	DefaultRowGroupRows    = 1 << 20
)

// WriteOptions are the writer's tunables. The zero value means defaults.
type WriteOptions struct {
	// Compression is one of zstd (default), snappy, gzip, none.
	Compression string `json:"compression,omitempty"`
	// TargetFileBytes rolls to a new file once this many uncompressed bytes
	// were written to the current one (default 256 MiB).
	TargetFileBytes int64 `json:"target_file_bytes,omitempty"`
	// MaxOpenWriters bounds the files open at once per bundle; the least
	// recently used one is closed beyond it (default 16).
	MaxOpenWriters int `json:"max_open_writers,omitempty"`
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
	return o
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
// dictionary encoding and column statistics on, Parquet 2.6 logical types
// (so timestamps are TIMESTAMP(MICROS, isAdjustedToUTC=true), never INT96).
func writerProps(o WriteOptions) (*parquet.WriterProperties, pqarrow.ArrowWriterProperties, error) {
	codec, err := ParseCompression(o.Compression)
	if err != nil {
		return nil, pqarrow.ArrowWriterProperties{}, err
	}
	props := parquet.NewWriterProperties(
		parquet.WithCompression(codec),
		parquet.WithDictionaryDefault(true),
		parquet.WithStats(true),
		parquet.WithVersion(parquet.V2_6),
		parquet.WithMaxRowGroupLength(DefaultRowGroupRows),
		parquet.WithCreatedBy("vendorlake"),
	)
	return props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()), nil
}
