package lineparse

import (
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
)

// TestRejectsTakeTheirTablesSchema checks that every batch a collector
// emits has its table's schema, whatever was rejected: a line (Add), a
// prefix (AddTruncated) or an event (AddEvent), into a table with
// event_index and into one without, where the event's position goes into
// the reason instead.
func TestRejectsTakeTheirTablesSchema(t *testing.T) {
	for _, tc := range []struct {
		table      hiveparquet.Table
		wantEvents []string // event_index per row, "null" for none
		wantReason string   // reason of the event reject
	}{
		{EventRejectTable("ev_rejects", nil), []string{"null", "null", "2"}, "not an object"},
		{RejectTable("rejects", nil), nil, "event 2: not an object"},
	} {
		t.Run(tc.table.Name, func(t *testing.T) {
			r := NewRejects(tc.table, "p=1", "", "f", 0)
			defer r.Release()
			r.Add(1, "bad_line", "not JSON", []byte("x"))
			r.AddTruncated(2, ReasonLineTooLong, "too long", []byte("prefix"))
			r.AddEvent(3, 2, "event_not_object", "not an object", []byte("42"))
			var recs []arrow.Record
			r.Flush(func(b hiveparquet.Batch) {
				if b.Table != tc.table.Name || b.Partition != "p=1" {
					t.Errorf("batch of %s/%s", b.Table, b.Partition)
				}
				recs = append(recs, b.Record)
			})
			if len(recs) != 1 {
				t.Fatalf("%d batches, want 1", len(recs))
			}
			rec := recs[0]
			defer rec.Release()
			if !rec.Schema().Equal(tc.table.Schema) {
				t.Fatalf("batch schema %s, table's %s", rec.Schema(), tc.table.Schema)
			}
			if rec.NumRows() != 3 || r.Count() != 2 || r.EventCount() != 1 {
				t.Fatalf("%d rows, %d line and %d event rejects", rec.NumRows(), r.Count(), r.EventCount())
			}
			if got := rec.Column(3).(*array.String).Value(2); got != tc.wantReason {
				t.Errorf("event reject reason %q, want %q", got, tc.wantReason)
			}
			if !rec.Column(5).(*array.Boolean).Value(1) {
				t.Error("AddTruncated's row is not raw_truncated")
			}
			if tc.wantEvents != nil {
				col := rec.Column(6).(*array.Int32)
				for i, w := range tc.wantEvents {
					got := "null"
					if col.IsValid(i) {
						got = string(rune('0' + col.Value(i)))
					}
					if got != w {
						t.Errorf("row %d event_index %s, want %s", i, got, w)
					}
				}
			}
		})
	}
}
