package hiveparquet

import (
	"fmt"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// smallBatchRows is the mean batch length below which the batches of a row
// group are concatenated before they are encoded. pqarrow encodes a column
// chunk by chunk, with a fixed cost per chunk (level builders, a column
// writer call, statistics): a drop of 5,000 files of 5 users made row
// groups of 1,000 five-row batches, and that fixed cost was a third of the
// run's CPU. Copying small batches costs less than it saves; large batches
// (a parsed chunk holds thousands of rows) are never copied.
const smallBatchRows = 1024

// coalesce returns recs as one record when they are many and small on
// average (see smallBatchRows), else recs itself. It takes over the
// caller's references: recs are released when they are replaced.
func coalesce(schema *arrow.Schema, recs []arrow.Record) ([]arrow.Record, error) {
	if len(recs) < 2 {
		return recs, nil
	}
	var rows int64
	for _, r := range recs {
		rows += r.NumRows()
	}
	if rows/int64(len(recs)) >= smallBatchRows {
		return recs, nil
	}
	cols := make([]arrow.Array, schema.NumFields())
	parts := make([]arrow.Array, len(recs))
	for i := range cols {
		for j, r := range recs {
			parts[j] = r.Column(i)
		}
		c, err := array.Concatenate(parts, memory.DefaultAllocator)
		if err != nil {
			for _, c := range cols[:i] {
				c.Release()
			}
			return recs, fmt.Errorf("concatenate column %s: %w", schema.Field(i).Name, err)
		}
		cols[i] = c
	}
	out := array.NewRecord(schema, cols, rows)
	for _, c := range cols {
		c.Release()
	}
	for _, r := range recs {
		r.Release()
	}
	return []arrow.Record{out}, nil
}
