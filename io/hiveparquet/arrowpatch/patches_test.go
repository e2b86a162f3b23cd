package arrowpatch

import (
	"bytes"
	"math/rand"
	"runtime"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
)

func TestCheck(t *testing.T) {
	if err := Check(); err != nil {
		t.Fatal(err)
	}
}

// nullableInts is a column of n int64 values, about half of them null at
// random, so that its definition levels do not collapse into RLE runs.
func nullableInts(n int) arrow.Record {
	schema := arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	r := rand.New(rand.NewSource(1))
	b := array.NewInt64Builder(memory.DefaultAllocator)
	defer b.Release()
	for i := 0; i < n; i++ {
		if r.Intn(2) == 0 {
			b.AppendNull()
		} else {
			b.Append(int64(i))
		}
	}
	col := b.NewArray()
	defer col.Release()
	return array.NewRecord(schema, []arrow.Array{col}, int64(n))
}

// writeParquet writes rec with props to memory and returns the bytes.
func writeParquet(t *testing.T, rec arrow.Record, props *parquet.WriterProperties) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := pqarrow.NewFileWriter(rec.Schema(), &out, props, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// allocatedBy returns the bytes allocated while f ran, starting from an
// empty level-buffer pool (two collections empty a sync.Pool).
func allocatedBy(f func()) uint64 {
	runtime.GC()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestLevelBufferPatchInArrowWriter writes a nullable column with data pages
// V1 through Arrow's own writer, once with the pool's New as Arrow ships it
// and once patched. It fails when the patch stops reaching Arrow's pool:
// then the patched New is never called and both writes allocate the same.
func TestLevelBufferPatchInArrowWriter(t *testing.T) {
	rec := nullableInts(400_000)
	defer rec.Release()
	props := parquet.NewWriterProperties(
		parquet.WithDataPageVersion(parquet.DataPageV1),
		parquet.WithCompression(compress.Codecs.Uncompressed),
		parquet.WithDictionaryDefault(false),
		parquet.WithDataPageSize(8<<20), // one page: its levels grow in one buffer
	)
	patched := parquetBufferPool.New
	defer func() { parquetBufferPool.New = patched }()

	parquetBufferPool.New = func() any { return memory.NewResizableBuffer(memory.DefaultAllocator) } // Arrow's own
	var shipped []byte
	shippedBytes := allocatedBy(func() { shipped = writeParquet(t, rec, props) })

	parquetBufferPool.New = patched
	news, growths := levelPoolNews.Load(), levelBufGrowths.Load()
	var got []byte
	patchedBytes := allocatedBy(func() { got = writeParquet(t, rec, props) })
	news, growths = levelPoolNews.Load()-news, levelBufGrowths.Load()-growths

	t.Logf("allocated while writing: %d bytes with Arrow's pool, %d patched; patched pool: %d buffers, %d growths",
		shippedBytes, patchedBytes, news, growths)
	if news == 0 {
		t.Fatal("Arrow's writer never called the patched pool's New: the go:linkname does not reach Arrow's pool")
	}
	if growths > 64 {
		t.Errorf("level buffers were copied %d times for one page; want a logarithmic number", growths)
	}
	if patchedBytes*2 > shippedBytes {
		t.Errorf("patched write allocated %d bytes, Arrow's pool %d: want less than half", patchedBytes, shippedBytes)
	}
	if !bytes.Equal(got, shipped) {
		t.Error("the patched pool changed the bytes written")
	}
}

// TestZstdPatchInArrowWriter writes many zstd pages through Arrow's writer
// and checks that they went through the encoder-reusing codec, building at
// most one encoder per level.
func TestZstdPatchInArrowWriter(t *testing.T) {
	rec := nullableInts(200_000)
	defer rec.Release()
	props := parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithCompressionLevel(7), // a level no other test uses, so its encoder is built here
		parquet.WithDictionaryDefault(false),
		parquet.WithDataPageSize(16<<10),
	)
	pages, builds := zstdPages.Load(), zstdBuilds.Load()
	data := writeParquet(t, rec, props)
	pages, builds = zstdPages.Load()-pages, zstdBuilds.Load()-builds
	t.Logf("%d zstd pages, %d encoders built", pages, builds)
	if pages < 20 {
		t.Fatalf("%d pages went through the encoder-reusing codec, want at least 20: the patch does not reach Arrow's codec registry", pages)
	}
	if builds > 1 {
		t.Errorf("%d zstd encoders built for %d pages at one level, want at most 1", builds, pages)
	}
	// The pages read back with Arrow's own decoder.
	rdr, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	if tbl.NumRows() != rec.NumRows() {
		t.Fatalf("read %d rows, wrote %d", tbl.NumRows(), rec.NumRows())
	}
}
