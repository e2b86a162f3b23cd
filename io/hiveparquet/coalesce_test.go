package hiveparquet

import (
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// nestedRecords builds n records of rows rows each over a schema with a
// string, a nullable int, a list, a map and a struct column.
func nestedRecords(t *testing.T, n, rows int) (*arrow.Schema, []arrow.Record) {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "s", Type: arrow.BinaryTypes.String},
		{Name: "i", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "l", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
		{Name: "m", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.BinaryTypes.String), Nullable: true},
		{Name: "st", Type: arrow.StructOf(arrow.Field{Name: "a", Type: arrow.FixedWidthTypes.Boolean, Nullable: true}), Nullable: true},
	}, nil)
	var recs []arrow.Record
	k := 0
	for r := 0; r < n; r++ {
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		for j := 0; j < rows; j++ {
			k++
			b.Field(0).(*array.StringBuilder).Append(strings.Repeat("x", k%7))
			if k%3 == 0 {
				b.Field(1).AppendNull()
			} else {
				b.Field(1).(*array.Int64Builder).Append(int64(k))
			}
			lb := b.Field(2).(*array.ListBuilder)
			lb.Append(true)
			for e := 0; e < k%4; e++ {
				lb.ValueBuilder().(*array.StringBuilder).Append("e")
			}
			mb := b.Field(3).(*array.MapBuilder)
			if k%5 == 0 {
				mb.AppendNull()
			} else {
				mb.Append(true)
				mb.KeyBuilder().(*array.StringBuilder).Append("k")
				mb.ItemBuilder().(*array.StringBuilder).Append("v")
			}
			sb := b.Field(4).(*array.StructBuilder)
			sb.Append(k%2 == 0)
			sb.FieldBuilder(0).(*array.BooleanBuilder).Append(k%4 == 0)
		}
		recs = append(recs, b.NewRecord())
		b.Release()
	}
	return schema, recs
}

func TestCoalesce(t *testing.T) {
	tests := []struct {
		name       string
		n, rows    int
		wantRecs   int
		wantCopied bool
	}{
		{name: "one record", n: 1, rows: 3, wantRecs: 1},
		{name: "many small records", n: 300, rows: 5, wantRecs: 1, wantCopied: true},
		{name: "few large records", n: 3, rows: smallBatchRows, wantRecs: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			schema, recs := nestedRecords(t, tt.n, tt.rows)
			want := array.NewTableFromRecords(schema, recs)
			defer want.Release()
			got, err := coalesce(schema, recs)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				for _, r := range got {
					r.Release()
				}
			}()
			if len(got) != tt.wantRecs {
				t.Fatalf("%d records, want %d", len(got), tt.wantRecs)
			}
			if copied := got[0] != recs[0]; copied != tt.wantCopied {
				t.Errorf("copied = %v, want %v", copied, tt.wantCopied)
			}
			tbl := array.NewTableFromRecords(schema, got)
			defer tbl.Release()
			if !array.TableEqual(tbl, want) {
				t.Errorf("coalesced rows differ from the input's")
			}
		})
	}
}
