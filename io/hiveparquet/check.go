package hiveparquet

import (
	"fmt"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
)

// TableSchema is what the write step knows of a table's data schema on a
// worker: enough to check every batch against it. Batches are built from
// their table's schema, so a batch of another schema is a bug of the
// pipeline that made it, which the write step reports by name instead of
// writing a file that readers of the table would trip on.
type TableSchema struct {
	// Fingerprint is the schema's arrow.Schema.Fingerprint: field names,
	// types and nullability, in order.
	Fingerprint string `json:"fingerprint"`
	// Columns lists the columns for the error message ("name type, ...").
	Columns string `json:"columns"`
}

// TableSchemas returns the schemas of tables by table name, for Write.
func TableSchemas(tables []Table) map[string]TableSchema {
	m := make(map[string]TableSchema, len(tables))
	for _, t := range tables {
		if t.Schema == nil {
			continue
		}
		m[t.Name] = TableSchema{Fingerprint: t.Schema.Fingerprint(), Columns: columnList(t.Schema)}
	}
	return m
}

// columnList is "name type, name type?" (? for nullable) of s.
func columnList(s *arrow.Schema) string {
	var b strings.Builder
	for i, f := range s.Fields() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f.Name)
		b.WriteByte(' ')
		b.WriteString(f.Type.String())
		if f.Nullable {
			b.WriteByte('?')
		}
	}
	return b.String()
}

// schemaChecker checks batches against their tables' schemas. It remembers
// the last schema it accepted per table (the batches of one builder share
// a schema), so a batch costs a map lookup and a fingerprint is computed
// only when a table's batches come from another builder (a new file's
// parser); what it holds stays one schema per table however many files a
// worker reads.
type schemaChecker struct {
	tables map[string]TableSchema
	last   map[string]*arrow.Schema
}

// check returns an error naming the table, the partition and both column
// lists when b's schema is not its table's, or when its table is unknown.
func (c *schemaChecker) check(b Batch) error {
	s := b.Record.Schema()
	if c.last[b.Table] == s {
		return nil
	}
	want, known := c.tables[b.Table]
	switch {
	case !known:
		return fmt.Errorf("write %s/%s: no such table in this pipeline", b.Table, b.Partition)
	case s.Fingerprint() != want.Fingerprint:
		return fmt.Errorf("write %s/%s: batch schema is not the table's: batch has (%s), table has (%s)",
			b.Table, b.Partition, columnList(s), want.Columns)
	}
	if c.last == nil {
		c.last = map[string]*arrow.Schema{}
	}
	c.last[b.Table] = s
	return nil
}
