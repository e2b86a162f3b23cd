package hiveparquet

import (
	"context"
	"os"
	"testing"

	"github.com/apache/arrow/go/v15/parquet/file"
)

// rowGroupRows returns the row count of every row group of a Parquet file.
func rowGroupRows(t *testing.T, path string) []int64 {
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
	var rows []int64
	for i := 0; i < r.NumRowGroups(); i++ {
		rows = append(rows, r.MetaData().RowGroup(i).NumRows())
	}
	return rows
}

// TestWriteCoalescesRowGroups writes many small batches (a drop of many
// small input files) into one partition and checks that they end up in row
// groups of the configured size, not one row group per batch, with every
// row in order.
func TestWriteCoalescesRowGroups(t *testing.T) {
	for _, tc := range []struct {
		name          string
		opts          WriteOptions
		batches, rows int64
		wantGroups    []int64 // row counts; nil: check the byte bound instead
	}{
		{"defaults: 1000 batches of 5 rows make one row group", WriteOptions{}, 1000, 5, []int64{5000}},
		{"row bound splits inside a batch", WriteOptions{RowGroupRows: 1200}, 100, 50, []int64{1200, 1200, 1200, 1200, 200}},
		{"byte bound", WriteOptions{RowGroupBytes: 16 << 10}, 400, 100, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			fn := &writeFn{Tables: testTables(writeTestSchema, "t"), Output: t.TempDir(), RunID: "r1", Options: tc.opts.withDefaults()}
			if err := fn.Setup(ctx); err != nil {
				t.Fatal(err)
			}
			var descs []FileDesc
			emit := func(d FileDesc) { descs = append(descs, d) }
			fn.StartBundle(ctx, emit)
			for i := int64(0); i < tc.batches; i++ {
				if err := fn.ProcessElement(ctx, seqBatch("t", "p=1", i*tc.rows, tc.rows), emit); err != nil {
					t.Fatal(err)
				}
			}
			if err := fn.FinishBundle(ctx, emit); err != nil {
				t.Fatal(err)
			}
			if len(descs) != 1 {
				t.Fatalf("%d files, want 1", len(descs))
			}
			seq := readSeq(t, descs[0].TempPath)
			if int64(len(seq)) != tc.batches*tc.rows {
				t.Fatalf("%d rows, want %d", len(seq), tc.batches*tc.rows)
			}
			for i, v := range seq {
				if v != int64(i) {
					t.Fatalf("row %d has seq %d", i, v)
				}
			}
			groups := rowGroupRows(t, descs[0].TempPath)
			if tc.wantGroups != nil {
				if len(groups) != len(tc.wantGroups) {
					t.Fatalf("row groups %v, want %v", groups, tc.wantGroups)
				}
				for i := range groups {
					if groups[i] != tc.wantGroups[i] {
						t.Fatalf("row groups %v, want %v", groups, tc.wantGroups)
					}
				}
				return
			}
			// Byte bound: more than one row group, none empty, each far
			// larger than one batch.
			if len(groups) < 2 {
				t.Fatalf("row groups %v: the byte bound never ended one", groups)
			}
			for i, n := range groups {
				if n == 0 || (n < 5*tc.rows && i < len(groups)-1) {
					t.Fatalf("row groups %v: want no empty group and each but the last over 5 batches", groups)
				}
			}
		})
	}
}
