package hiveparquet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
)

// randomRows makes n rows of schema as JSON objects, deterministic in seed,
// with nulls in every nullable field, empty and null lists, maps and
// structs, low-cardinality strings (dictionary pages) and unique ones.
func randomRows(schema *arrow.Schema, n int, seed int64) []map[string]any {
	r := rand.New(rand.NewSource(seed))
	var value func(t arrow.DataType, nullable bool, row int) any
	value = func(t arrow.DataType, nullable bool, row int) any {
		if nullable && r.Intn(7) == 0 {
			return nil
		}
		switch t := t.(type) {
		case *arrow.Int64Type:
			return r.Int63n(1 << 40)
		case *arrow.Int32Type:
			return r.Int31n(1000)
		case *arrow.Float64Type:
			return r.Float64()
		case *arrow.BooleanType:
			return r.Intn(2) == 0
		case *arrow.StringType:
			if r.Intn(2) == 0 {
				return fmt.Sprintf("low-%d", r.Intn(20))
			}
			return fmt.Sprintf("unique-%d-%x", row, r.Int63())
		case *arrow.TimestampType:
			return "2024-03-01T00:00:00Z"
		case *arrow.DictionaryType:
			return fmt.Sprintf("vendor-%d", r.Intn(5))
		case *arrow.ListType:
			k := r.Intn(4)
			l := make([]any, k)
			for i := range l {
				l[i] = value(t.Elem(), t.ElemField().Nullable, row)
			}
			return l
		case *arrow.MapType:
			k := r.Intn(3)
			m := make([]any, k)
			for i := range m {
				m[i] = map[string]any{"key": fmt.Sprintf("k%d", i), "value": value(t.ItemType(), true, row)}
			}
			return m
		case *arrow.StructType:
			o := map[string]any{}
			for _, f := range t.Fields() {
				o[f.Name] = value(f.Type, f.Nullable, row)
			}
			return o
		}
		panic(fmt.Sprintf("randomRows: no generator for %s", t))
	}
	rows := make([]map[string]any, n)
	for i := range rows {
		o := map[string]any{}
		for _, f := range schema.Fields() {
			o[f.Name] = value(f.Type, f.Nullable, i)
		}
		rows[i] = o
	}
	return rows
}

// randomTable is a table of schema made of batches of the given sizes.
func randomTable(t *testing.T, schema *arrow.Schema, batches []int) arrow.Table {
	t.Helper()
	var recs []arrow.Record
	for i, n := range batches {
		js, err := json.Marshal(randomRows(schema, n, int64(i)))
		if err != nil {
			t.Fatal(err)
		}
		rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, schema, bytes.NewReader(js))
		if err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		recs = append(recs, rec)
	}
	tbl := array.NewTableFromRecords(schema, recs)
	for _, r := range recs {
		r.Release()
	}
	return tbl
}

// writeWith writes tbl to a Parquet file in memory with the sink's
// properties, through writeRowGroupsN on workers goroutines, and returns
// the file.
func writeWith(t *testing.T, tbl arrow.Table, opts WriteOptions, calls []int64, workers int) []byte {
	t.Helper()
	props, aprops, err := writerProps(opts.withDefaults(), tbl.Schema())
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w, err := pqarrow.NewFileWriter(tbl.Schema(), &out, props, aprops)
	if err != nil {
		t.Fatal(err)
	}
	// Each call writes a slice of the table, as openFile.flush writes its
	// pending rows, so a file gets row groups from several calls.
	var at int64
	for _, n := range calls {
		cols := make([]arrow.Column, tbl.NumCols())
		for i := range cols {
			cols[i] = *array.NewColumnSlice(tbl.Column(i), at, at+n)
		}
		s := array.NewTable(tbl.Schema(), cols, n)
		for i := range cols {
			cols[i].Release()
		}
		if err := writeRowGroupsN(w, s, opts.withDefaults().RowGroupRows, workers); err != nil {
			t.Fatalf("%d workers: %v", workers, err)
		}
		s.Release()
		at += n
	}
	if err := w.Close(); err != nil {
		t.Fatalf("%d workers: close: %v", workers, err)
	}
	return out.Bytes()
}

// TestParallelRowGroupsMatchSequential writes tables of several schemas
// with the parallel row-group writer and with pqarrow's WriteTable (one
// worker) and checks that the files are the same: same bytes (so the same
// schema, row groups, pages and statistics), and the rows read back equal
// the rows written.
func TestParallelRowGroupsMatchSequential(t *testing.T) {
	ts := TimestampUTC()
	dict := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	for _, tc := range []struct {
		name    string
		fields  []arrow.Field
		batches []int   // rows of the table's record batches
		calls   []int64 // rows per write call
		opts    WriteOptions
	}{
		{
			name: "flat, dictionary and no-dictionary columns, nulls",
			fields: []arrow.Field{
				{Name: "seq", Type: arrow.PrimitiveTypes.Int64},
				NoDictionaryColumn("id", arrow.BinaryTypes.String),
				Column("vendor", arrow.BinaryTypes.String),
				Column("n", arrow.PrimitiveTypes.Int32),
				Column("x", arrow.PrimitiveTypes.Float64),
				Column("ok", arrow.FixedWidthTypes.Boolean),
				Column("at", ts),
			},
			batches: []int{700, 1300, 2000, 1},
			calls:   []int64{4001},
			opts:    WriteOptions{RowGroupRows: 1000},
		},
		{
			name: "nested lists, maps and structs",
			fields: []arrow.Field{
				Column("id", arrow.BinaryTypes.String),
				Column("tags", ListOf(arrow.BinaryTypes.String)),
				Column("attrs", arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int64)),
				Column("consent", arrow.StructOf(
					arrow.Field{Name: "purposes", Type: ListOf(arrow.BinaryTypes.String), Nullable: true},
					arrow.Field{Name: "vendor", Type: arrow.BinaryTypes.String, Nullable: true},
					arrow.Field{Name: "n", Type: arrow.PrimitiveTypes.Int32, Nullable: false},
				)),
				Column("events", ListOf(arrow.StructOf(
					arrow.Field{Name: "kind", Type: arrow.BinaryTypes.String, Nullable: true},
					arrow.Field{Name: "at", Type: ts, Nullable: true},
				))),
			},
			batches: []int{500, 500, 1500},
			calls:   []int64{800, 1700},
			opts:    WriteOptions{RowGroupRows: 600},
		},
		{
			name: "Arrow dictionary column, snappy, data pages V2",
			fields: []arrow.Field{
				Column("vendor", dict),
				NoDictionaryColumn("id", arrow.BinaryTypes.String),
				Column("n", arrow.PrimitiveTypes.Int64),
			},
			batches: []int{3000},
			calls:   []int64{3000},
			opts:    WriteOptions{Compression: "snappy", DataPageV2: true, RowGroupRows: 1024},
		},
		{
			name:    "one column (WriteTable)",
			fields:  []arrow.Field{Column("id", arrow.BinaryTypes.String)},
			batches: []int{1000},
			calls:   []int64{1000},
			opts:    WriteOptions{RowGroupRows: 300},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			schema := arrow.NewSchema(tc.fields, nil)
			tbl := randomTable(t, schema, tc.batches)
			defer tbl.Release()
			seq := writeWith(t, tbl, tc.opts, tc.calls, 1)
			for _, workers := range []int{2, 4, 16} {
				par := writeWith(t, tbl, tc.opts, tc.calls, workers)
				if !bytes.Equal(seq, par) {
					t.Errorf("%d workers: the file (%d bytes) differs from WriteTable's (%d bytes)", workers, len(par), len(seq))
				}
				checkReadBack(t, par, tbl, tc.opts.withDefaults().RowGroupRows, tc.calls)
			}
		})
	}
}

// checkReadBack reads a Parquet file and checks its row groups (each write
// call split at rowGroupRows) and that its rows equal want's.
func checkReadBack(t *testing.T, data []byte, want arrow.Table, rowGroupRows int64, calls []int64) {
	t.Helper()
	r, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var groups, wantGroups []int64
	for i := 0; i < r.NumRowGroups(); i++ {
		groups = append(groups, r.MetaData().RowGroup(i).NumRows())
	}
	for _, n := range calls {
		for ; n > rowGroupRows; n -= rowGroupRows {
			wantGroups = append(wantGroups, rowGroupRows)
		}
		wantGroups = append(wantGroups, n)
	}
	if fmt.Sprint(groups) != fmt.Sprint(wantGroups) {
		t.Errorf("row groups %v, want %v", groups, wantGroups)
	}
	fr, err := pqarrow.NewFileReader(r, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	got, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer got.Release()
	// The rows as JSON: Arrow's reader names a list's element "item"
	// where it is nested in a list and adds field-id metadata, which are
	// no difference in the rows.
	if g, w := tableJSON(t, got), tableJSON(t, want); g != w {
		t.Errorf("the rows read back differ from the rows written:\n%.500s\nwant\n%.500s", g, w)
	}
}

// tableJSON is the rows of tbl as JSON lines.
func tableJSON(t *testing.T, tbl arrow.Table) string {
	t.Helper()
	var b strings.Builder
	tr := array.NewTableReader(tbl, 1<<20)
	defer tr.Release()
	for tr.Next() {
		if err := array.RecordToJSON(tr.Record(), &b); err != nil {
			t.Fatal(err)
		}
	}
	if tbl.NumRows() > 0 && b.Len() == 0 {
		t.Fatal("no JSON written")
	}
	return b.String()
}

// badListRecord is a record whose list column has a null list that spans
// values (offsets 2..4 under a null slot): Arrow's level builder rejects
// it while encoding that column ("lists with non-zero length null
// components are not supported"), after the other columns were encoded.
func badListRecord(t *testing.T, schema *arrow.Schema, rows int) arrow.Record {
	t.Helper()
	ids := array.NewStringBuilder(memory.DefaultAllocator)
	defer ids.Release()
	vb := array.NewStringBuilder(memory.DefaultAllocator)
	defer vb.Release()
	offsets := make([]int32, rows+1)
	valid := make([]bool, rows)
	for i := 0; i < rows; i++ {
		ids.Append(fmt.Sprintf("id-%d", i))
		vb.Append("a")
		vb.Append("b")
		offsets[i+1] = offsets[i] + 2
		valid[i] = i != rows/2
	}
	vals := vb.NewArray()
	defer vals.Release()
	bitmap := memory.NewResizableBuffer(memory.DefaultAllocator)
	bitmap.Resize((rows + 7) / 8)
	nulls := 0
	for i, ok := range valid {
		if ok {
			bitmap.Bytes()[i/8] |= 1 << (i % 8)
		} else {
			nulls++
		}
	}
	data := array.NewData(schema.Field(1).Type, rows,
		[]*memory.Buffer{bitmap, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offsets))},
		[]arrow.ArrayData{vals.Data()}, nulls, 0)
	defer data.Release()
	list := array.MakeFromData(data)
	defer list.Release()
	id := ids.NewArray()
	defer id.Release()
	return array.NewRecord(schema, []arrow.Array{id, list}, int64(rows))
}

// TestParallelRowGroupColumnError checks that an error encoding one column
// of a row group surfaces from the sink, from the bundle that wrote it,
// without a hang or a panic, and that the sequential writer fails the same
// input too (the test data really is bad).
func TestParallelRowGroupColumnError(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{
		Column("id", arrow.BinaryTypes.String),
		Column("tags", ListOf(arrow.BinaryTypes.String)),
	}, nil)
	for _, workers := range []int{1, 4} {
		rec := badListRecord(t, schema, 100)
		tbl := array.NewTableFromRecords(schema, []arrow.Record{rec})
		props, aprops, err := writerProps(WriteOptions{}.withDefaults(), schema)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		w, err := pqarrow.NewFileWriter(schema, &out, props, aprops)
		if err != nil {
			t.Fatal(err)
		}
		err = writeRowGroupsN(w, tbl, 1000, workers)
		if err == nil || !strings.Contains(err.Error(), "non-zero length null") {
			t.Errorf("%d workers: error %v, want Arrow's non-zero length null list error", workers, err)
		}
		w.Close()
		tbl.Release()
		rec.Release()
	}

	// Through the sink: the bundle fails with the column's error.
	ctx := context.Background()
	fn := &writeFn{Tables: testTables(schema, "t"), Output: t.TempDir(), RunID: "r1", Options: WriteOptions{}.withDefaults()}
	if err := fn.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	emit := func(FileDesc) { t.Error("a failed bundle emitted a file") }
	fn.StartBundle(ctx, emit)
	err := fn.ProcessElement(ctx, Batch{Table: "t", Partition: "p=1", Record: badListRecord(t, schema, 100)}, emit)
	if err == nil {
		err = fn.FinishBundle(ctx, emit)
	}
	if err == nil || !strings.Contains(err.Error(), "column tags") {
		t.Fatalf("bundle error %v, want the tags column's encoding error", err)
	}
	fn.Teardown()
}
