package hiveparquet

import (
	"context"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// testTables declares tables of one schema for a writeFn under test.
func testTables(schema *arrow.Schema, names ...string) map[string]TableSchema {
	tables := make([]Table, len(names))
	for i, n := range names {
		tables[i] = Table{Name: n, Schema: schema}
	}
	return TableSchemas(tables)
}

// TestWriteChecksBatchesAgainstTheirTable drives the write DoFn with
// batches of a declared table: of its schema (written), of an unknown table,
// with a column more, and with a column's nullability changed (each
// refused, naming the table and both column lists, before any file is
// written). The first refusal is what a proof reject (no event_index) in
// the Didomi rejects table (with event_index) gave as "batch schema differs
// from the file's schema" once another reject of the partition was written.
func TestWriteChecksBatchesAgainstTheirTable(t *testing.T) {
	withEvent := arrow.NewSchema(append(writeTestSchema.Fields(), arrow.Field{Name: "event_index", Type: arrow.PrimitiveTypes.Int32, Nullable: true}), nil)
	strictTag := arrow.NewSchema([]arrow.Field{writeTestSchema.Field(0), {Name: "tag", Type: arrow.BinaryTypes.String}}, nil)
	batchOf := func(table string, schema *arrow.Schema) Batch {
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		defer b.Release()
		for i, f := range b.Fields() {
			switch fb := f.(type) {
			case *array.Int64Builder:
				fb.Append(int64(i))
			case *array.StringBuilder:
				fb.Append("x")
			default:
				fb.AppendNull()
			}
		}
		return Batch{Table: table, Partition: "p=1", Record: b.NewRecord()}
	}
	for _, tc := range []struct {
		name  string
		batch Batch
		want  []string // substrings of the error; nil: written
	}{
		{"the table's schema", batchOf("t", writeTestSchema), nil},
		{"unknown table", batchOf("u", writeTestSchema), []string{"write u/p=1", "no such table"}},
		{"a column more", batchOf("t", withEvent), []string{"write t/p=1", "event_index int32?", "table has (seq int64, tag utf8?)"}},
		{"nullability differs", batchOf("t", strictTag), []string{"batch has (seq int64, tag utf8)", "table has (seq int64, tag utf8?)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			fn := &writeFn{Tables: testTables(writeTestSchema, "t"), Output: t.TempDir(), RunID: "r1", Options: WriteOptions{}.withDefaults()}
			if err := fn.Setup(ctx); err != nil {
				t.Fatal(err)
			}
			var descs []FileDesc
			emit := func(d FileDesc) { descs = append(descs, d) }
			fn.StartBundle(ctx, emit)
			err := fn.ProcessElement(ctx, tc.batch, emit)
			if err == nil {
				err = fn.FinishBundle(ctx, emit)
			}
			if tc.want == nil {
				if err != nil || len(descs) != 1 || descs[0].Rows != 1 {
					t.Fatalf("err %v, files %+v; want one file of one row", err, descs)
				}
				return
			}
			if err == nil {
				t.Fatalf("written (%+v); want an error", descs)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if len(fn.open) != 0 {
				t.Errorf("%d files opened for a refused batch", len(fn.open))
			}
		})
	}
}
