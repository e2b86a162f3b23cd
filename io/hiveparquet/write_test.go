package hiveparquet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"github.com/vendorlake/vendorlake/io/lakefs"
)

var writeTestSchema = arrow.NewSchema([]arrow.Field{
	{Name: "seq", Type: arrow.PrimitiveTypes.Int64},
	{Name: "tag", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// seqBatch makes a batch of n rows whose seq column counts up from first.
func seqBatch(table, partition string, first, n int64) Batch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, writeTestSchema)
	defer b.Release()
	for i := first; i < first+n; i++ {
		b.Field(0).(*array.Int64Builder).Append(i)
		if i%3 == 0 {
			b.Field(1).(*array.StringBuilder).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("%s-%d", table, i))
		}
	}
	return Batch{Table: table, Partition: partition, Record: b.NewRecord()}
}

// readSeq reads the seq column of a Parquet file.
func readSeq(t *testing.T, path string) []int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := file.NewParquetReader(f)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	fr, err := pqarrow.NewFileReader(r, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	defer tbl.Release()
	var out []int64
	for _, c := range tbl.Column(0).Data().Chunks() {
		out = append(out, c.(*array.Int64).Int64Values()...)
	}
	return out
}

// TestWriteFnEncodesFilesInOrder drives the write DoFn directly: batches of
// three tables interleaved, files rolled by size and evicted by the open
// writer bound. Every row must land exactly once, in emission order within
// its table, and every descriptor must match its file.
func TestWriteFnEncodesFilesInOrder(t *testing.T) {
	for _, tc := range []struct {
		name       string
		targetFile int64
		maxOpen    int
	}{
		{"one file per table", 1 << 30, 16},
		{"rolled files", 20 << 10, 16},
		{"evicted writers", 1 << 30, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			out := t.TempDir()
			fn := &writeFn{Tables: testTables(writeTestSchema, "a", "b", "c"), Output: out, RunID: "r1", Options: WriteOptions{TargetFileBytes: tc.targetFile, MaxOpenWriters: tc.maxOpen}.withDefaults()}
			if err := fn.Setup(ctx); err != nil {
				t.Fatal(err)
			}
			var descs []FileDesc
			emit := func(d FileDesc) { descs = append(descs, d) }
			fn.StartBundle(ctx, emit)
			tables := []string{"a", "b", "c"}
			next := map[string]int64{}
			for i := 0; i < 60; i++ {
				tb := tables[i%3]
				n := int64(100 + i*7)
				if err := fn.ProcessElement(ctx, seqBatch(tb, "p=1", next[tb], n), emit); err != nil {
					t.Fatal(err)
				}
				next[tb] += n
			}
			if err := fn.FinishBundle(ctx, emit); err != nil {
				t.Fatal(err)
			}
			got := map[string][]int64{}
			sort.Slice(descs, func(i, j int) bool { return descs[i].TempPath < descs[j].TempPath })
			for _, d := range descs {
				seq := readSeq(t, d.TempPath)
				if int64(len(seq)) != d.Rows {
					t.Errorf("%s: %d rows, descriptor says %d", d.TempPath, len(seq), d.Rows)
				}
				st, err := os.Stat(d.TempPath)
				if err != nil || st.Size() != d.Bytes {
					t.Errorf("%s: size %v (%v), descriptor says %d", d.TempPath, st, err, d.Bytes)
				}
				got[d.Table] = append(got[d.Table], seq...)
			}
			for _, tb := range tables {
				if int64(len(got[tb])) != next[tb] {
					t.Fatalf("table %s: %d rows written, want %d", tb, len(got[tb]), next[tb])
				}
				for i, v := range got[tb] {
					if v != int64(i) {
						t.Fatalf("table %s: row %d has seq %d (out of order or duplicated)", tb, i, v)
					}
				}
			}
			if tc.targetFile < 1<<30 && len(descs) <= 3 {
				t.Errorf("rolling at %d bytes made only %d files", tc.targetFile, len(descs))
			}
		})
	}
}

// failingFS is a local lakefs whose files fail to write after limit bytes.
type failingFS struct {
	lakefs.FS
	limit int
}

var errDiskFull = errors.New("disk full (test)")

func (f failingFS) Create(ctx context.Context, path string) (io.WriteCloser, error) {
	w, err := f.FS.Create(ctx, path)
	if err != nil {
		return nil, err
	}
	return &failingWriter{w: w, left: f.limit}, nil
}

type failingWriter struct {
	w    io.WriteCloser
	left int
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.left {
		return 0, errDiskFull
	}
	w.left -= len(p)
	return w.w.Write(p)
}

func (w *failingWriter) Close() error { return w.w.Close() }

// TestWriteFnReportsEncoderErrors checks that a write failing on an
// encoder goroutine fails the bundle with the file's name and the cause,
// and that the next bundle starts clean.
func TestWriteFnReportsEncoderErrors(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	fn := &writeFn{Tables: testTables(writeTestSchema, "a"), Output: out, RunID: "r1", Options: WriteOptions{}.withDefaults()}
	if err := fn.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	fn.fs = failingFS{FS: fn.fs, limit: 64 << 10}
	emit := func(FileDesc) {}
	fn.StartBundle(ctx, emit)
	var err error
	for i := int64(0); i < 50 && err == nil; i++ {
		err = fn.ProcessElement(ctx, seqBatch("a", "p=1", i*5000, 5000), emit)
	}
	if err == nil {
		err = fn.FinishBundle(ctx, emit)
	}
	if !errors.Is(err, errDiskFull) || !strings.Contains(err.Error(), filepath.Join("tmp", "r1", "a")) {
		t.Fatalf("error = %v, want the disk-full error naming the temp file", err)
	}
	// A failed bundle's open files are abandoned by the next StartBundle.
	fn.fs = failingFS{FS: fn.fs.(failingFS).FS, limit: 1 << 30}
	var descs []FileDesc
	fn.StartBundle(ctx, func(d FileDesc) { descs = append(descs, d) })
	if err := fn.ProcessElement(ctx, seqBatch("a", "p=1", 0, 10), emit); err != nil {
		t.Fatal(err)
	}
	if err := fn.FinishBundle(ctx, func(d FileDesc) { descs = append(descs, d) }); err != nil {
		t.Fatal(err)
	}
	if len(descs) != 1 || descs[0].Rows != 10 {
		t.Fatalf("next bundle: %+v", descs)
	}
}

// TestNoDictionaryColumnsHaveNoDictionary checks that a column marked NoDictionary is
// written without a dictionary page and the others with one.
func TestNoDictionaryColumnsHaveNoDictionary(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{
		NoDictionary(Column("id", arrow.BinaryTypes.String)),
		Column("country", arrow.BinaryTypes.String),
	}, nil)
	if got := noDictionary(schema); len(got) != 1 || got[0] != "id" {
		t.Fatalf("noDictionary = %v, want [id]", got)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := 0; i < 1000; i++ {
		b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("user-%06d", i))
		b.Field(1).(*array.StringBuilder).Append([]string{"FR", "DE", "US"}[i%3])
	}
	ctx := context.Background()
	fn := &writeFn{Tables: testTables(schema, "t"), Output: t.TempDir(), RunID: "r1", Options: WriteOptions{}.withDefaults()}
	if err := fn.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	var descs []FileDesc
	emit := func(d FileDesc) { descs = append(descs, d) }
	fn.StartBundle(ctx, emit)
	if err := fn.ProcessElement(ctx, Batch{Table: "t", Partition: "p=1", Record: b.NewRecord()}, emit); err != nil {
		t.Fatal(err)
	}
	if err := fn.FinishBundle(ctx, emit); err != nil || len(descs) != 1 {
		t.Fatalf("finish: %v, %d files", err, len(descs))
	}
	f, err := os.Open(descs[0].TempPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := file.NewParquetReader(f)
	if err != nil {
		t.Fatal(err)
	}
	rg := r.MetaData().RowGroup(0)
	for i, want := range []bool{false, true} {
		cc, err := rg.ColumnChunk(i)
		if err != nil {
			t.Fatal(err)
		}
		if got := cc.HasDictionaryPage(); got != want {
			t.Errorf("column %d: dictionary page %v, want %v", i, got, want)
		}
	}
}

func TestWriteOptionsCheck(t *testing.T) {
	for _, tc := range []struct {
		o       WriteOptions
		wantErr string
	}{
		{WriteOptions{}, ""},
		{WriteOptions{Compression: "zstd", CompressionLevel: 1}, ""},
		{WriteOptions{Compression: "zstd", CompressionLevel: 22}, ""},
		{WriteOptions{Compression: "gzip", CompressionLevel: 9}, ""},
		{WriteOptions{Compression: "zstd", CompressionLevel: 23}, "zstd takes 1 to 22"},
		{WriteOptions{Compression: "gzip", CompressionLevel: -1}, "gzip takes 1 to 9"},
		{WriteOptions{Compression: "snappy", CompressionLevel: 3}, "snappy has no levels"},
		{WriteOptions{Compression: "lz5"}, "unknown compression"},
	} {
		err := tc.o.Check()
		if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%+v: Check() = %v, want %q", tc.o, err, tc.wantErr)
		}
	}
}

// TestCompressionLevelReachesTheCodec writes the same compressible batch at
// zstd levels 1 and 19: the files must differ in size, or the level was
// not passed on.
func TestCompressionLevelReachesTheCodec(t *testing.T) {
	size := func(level int) int64 {
		ctx := context.Background()
		fn := &writeFn{Tables: testTables(writeTestSchema, "a"), Output: t.TempDir(), RunID: "r1", Options: WriteOptions{Compression: "zstd", CompressionLevel: level}.withDefaults()}
		if err := fn.Setup(ctx); err != nil {
			t.Fatal(err)
		}
		var descs []FileDesc
		emit := func(d FileDesc) { descs = append(descs, d) }
		fn.StartBundle(ctx, emit)
		if err := fn.ProcessElement(ctx, seqBatch("a", "p=1", 0, 200000), emit); err != nil {
			t.Fatal(err)
		}
		if err := fn.FinishBundle(ctx, emit); err != nil || len(descs) != 1 {
			t.Fatalf("finish: %v, %d files", err, len(descs))
		}
		return descs[0].Bytes
	}
	fast, best := size(1), size(19)
	if fast == best {
		t.Fatalf("zstd level 1 and 19 wrote the same %d bytes: the level does not reach the codec", fast)
	}
	if best > fast {
		t.Errorf("zstd level 19 wrote %d bytes, more than level 1's %d", best, fast)
	}
}
