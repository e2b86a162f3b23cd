package arrowpatch

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
)

// The sink reaches into Arrow Go v15's internals in three places, all in
// this package, and this file is their one guard: the level-buffer pool
// (levelbuf.go) and the zstd codec registry (zstd.go), both by go:linkname,
// and the unexported fields of pqarrow.FileWriter that the sink's parallel
// row-group writer sets (filewriter.go, by reflection and unsafe offsets). None of them fails the
// build when Arrow changes: a linkname to a renamed variable writes to a
// variable of its own and silently does nothing, a moved field is only
// found missing at run time. So each linkname patch counts what it does
// from inside Arrow's own write path, and Check, called through
// hiveparquet.CheckArrowPatches by the command at start-up and by every
// write DoFn's Setup, writes a small probe
// file and fails unless both counts moved and the FileWriter has the
// fields by name and type; TestCheck fails on an Arrow that
// breaks any of the three. The counters are statistics only (atomic, never
// reset); nothing reads them to decide how data is written.
var (
	// levelPoolNews counts buffers made by the New function installed in
	// Arrow's level-buffer pool.
	levelPoolNews atomic.Int64
	// levelBufGrowths counts reallocations that copied a level buffer.
	levelBufGrowths atomic.Int64
	// zstdPages counts pages compressed by reusedZstd.
	zstdPages atomic.Int64
	// zstdBuilds counts zstd encoders built by reusedZstd.
	zstdBuilds atomic.Int64
)

// arrowPatches is the outcome of the first Check in this process.
var arrowPatches = sync.OnceValue(checkArrowPatches)

// Check reports whether the three reaches into Arrow Go v15
// internals work in this process: the zstd codec that Arrow looks up for
// pages is the encoder-reusing one, Arrow's page writer takes its level
// buffers from the pool whose New was replaced, and pqarrow.FileWriter has
// the fields the parallel row-group writer sets. It writes one small Parquet
// file in memory the first time; later calls return the same answer. The
// command calls it at start-up and every write DoFn in its Setup, so a
// worker process with a broken patch fails before writing anything.
func Check() error { return arrowPatches() }

func checkArrowPatches() error {
	if err := FileWriterFields().Err; err != nil {
		return fmt.Errorf("arrow patch check: %w", err)
	}
	c, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		return fmt.Errorf("arrow patch check: %w", err)
	}
	if _, ok := c.(reusedZstd); !ok {
		return fmt.Errorf("arrow patch check: Arrow's zstd codec is %T, not the encoder-reusing wrapper: "+
			"the go:linkname to parquet/compress.codecs no longer reaches Arrow's registry (Arrow version changed?)", c)
	}
	news, pages := levelPoolNews.Load(), zstdPages.Load()
	if err := writeProbe(); err != nil {
		return fmt.Errorf("arrow patch check: write probe file: %w", err)
	}
	// A pool buffer made before this probe (by an earlier write) counted
	// already, so a working hook shows at least one New in all.
	if levelPoolNews.Load() == 0 && news == 0 {
		return fmt.Errorf("arrow patch check: Arrow's page writer did not take a level buffer from the patched pool: " +
			"the go:linkname to parquet/internal/encoding.bufferPool no longer reaches Arrow's pool (Arrow version changed?)")
	}
	if zstdPages.Load() == pages {
		return fmt.Errorf("arrow patch check: a zstd Parquet write did not go through the encoder-reusing codec")
	}
	return nil
}

// writeProbe writes a nullable column of a few thousand values, with the
// properties of the sink that matter here (zstd, data pages V1, Parquet
// 2.6), to memory.
func writeProbe() error {
	schema := arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	b := array.NewInt64Builder(memory.DefaultAllocator)
	defer b.Release()
	for i := 0; i < 4096; i++ {
		if i%3 == 0 {
			b.AppendNull()
		} else {
			b.Append(int64(i))
		}
	}
	col := b.NewArray()
	defer col.Release()
	rec := array.NewRecord(schema, []arrow.Array{col}, int64(col.Len()))
	defer rec.Release()
	props := parquet.NewWriterProperties(
		parquet.WithDataPageVersion(parquet.DataPageV1),
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithVersion(parquet.V2_6))
	var out bytes.Buffer
	w, err := pqarrow.NewFileWriter(schema, &out, props, pqarrow.DefaultWriterProps())
	if err != nil {
		return err
	}
	if err := w.Write(rec); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}
