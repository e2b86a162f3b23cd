package lineparse

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
)

// DefaultRawBytes bounds the raw input kept with a reject.
const DefaultRawBytes = 4096

// Reason codes shared by every line-oriented pipeline.
const (
	// ReasonEmptyLine: a line with no content. The line engines no longer
	// reject blank lines (they count them, see IsBlank); the code stays
	// for parsers called on a single line.
	ReasonEmptyLine = "empty_line"
	// ReasonLineTooLong: a line longer than the configured bound.
	ReasonLineTooLong = "line_too_long"
)

// The rejects tables' schemas, made once: an *arrow.Schema is immutable,
// and a Rejects made per file and worker then costs no schema, and the
// Parquet writer recognises its batches' schema by its pointer.
var (
	rejectSchema      = newRejectSchema()
	eventRejectSchema = newEventRejectSchema()
)

// RejectSchema is the Arrow schema of every *_rejects table (one shared,
// immutable value).
func RejectSchema() *arrow.Schema { return rejectSchema }

func newRejectSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "source_file", Type: arrow.BinaryTypes.String},
		{Name: "source_line", Type: arrow.PrimitiveTypes.Int64},
		{Name: "reason_code", Type: arrow.BinaryTypes.String},
		{Name: "reason", Type: arrow.BinaryTypes.String},
		{Name: "raw", Type: arrow.BinaryTypes.String},
		{Name: "raw_truncated", Type: arrow.FixedWidthTypes.Boolean},
	}, nil)
}

// EventRejectSchema is RejectSchema with a nullable event_index: the
// rejects table of a pipeline whose records hold events that are rejected
// one by one (Didomi), where event_index is the rejected event's position in
// its record's events array, and null for a reject of the whole line (one
// shared, immutable value).
func EventRejectSchema() *arrow.Schema { return eventRejectSchema }

func newEventRejectSchema() *arrow.Schema {
	fs := newRejectSchema().Fields()
	fs = append(fs, arrow.Field{Name: "event_index", Type: arrow.PrimitiveTypes.Int32, Nullable: true})
	return arrow.NewSchema(fs, nil)
}

// EventRejectTable describes a rejects table of EventRejectSchema,
// partitioned like its source table.
func EventRejectTable(name string, partitions []hiveparquet.PartitionColumn) hiveparquet.Table {
	t := RejectTable(name, partitions)
	t.Doc = "One row per rejected input line, or per rejected event of a line whose user was kept (event_index set): where it was, why, and its raw text (bounded)."
	t.Schema = EventRejectSchema()
	return t
}

// RejectTable describes a rejects table partitioned like its source table.
func RejectTable(name string, partitions []hiveparquet.PartitionColumn) hiveparquet.Table {
	return hiveparquet.Table{
		Name:       name,
		Doc:        "One row per rejected input record: where it was, why, and its raw text (bounded).",
		Schema:     RejectSchema(),
		Partitions: partitions,
		Mode:       hiveparquet.Overwrite,
		Rejects:    true,
	}
}

// Rejects collects the rejects of one file (or of one chunk of it) into Arrow
// records of its rejects table, and counts them per reason. The table's
// schema decides the columns of every batch it emits (RejectTable or
// EventRejectTable), so every path that rejects into one table emits the
// same schema, whatever it rejects: a whole line, an event, an archive
// entry.
type Rejects struct {
	table, partition, source, file string
	rawBytes                       int
	b                              *array.RecordBuilder
	n, nEvents                     int64
	event                          int // the event_index column, -1 if the table has none
	byReason                       []Count
}

// NewRejects returns a collector for rejects of file going to the partition
// of t, a table made by RejectTable or EventRejectTable (its schema is
// RejectSchema, with or without event_index).
func NewRejects(t hiveparquet.Table, partition, source, file string, rawBytes int) *Rejects {
	if rawBytes <= 0 {
		rawBytes = DefaultRawBytes
	}
	event := -1
	if i := t.Schema.FieldIndices("event_index"); len(i) == 1 {
		event = i[0]
	}
	return &Rejects{table: t.Name, partition: partition, source: source, file: file, rawBytes: rawBytes,
		b: array.NewRecordBuilder(memory.DefaultAllocator, t.Schema), event: event}
}

// Add records one rejected record: its line (or position), a reason code,
// a human-readable reason, and its raw text, truncated to the bound (at a
// UTF-8 boundary; invalid UTF-8 is replaced so the column stays valid).
func (r *Rejects) Add(line int64, code, reason string, raw []byte) {
	r.add(line, code, reason, raw, false)
}

// AddTruncated is Add for a raw text that is already only a prefix of the
// record (raw_truncated is set).
func (r *Rejects) AddTruncated(line int64, code, reason string, prefix []byte) {
	r.add(line, code, reason, prefix, true)
}

// AddEvent records one rejected event, the event-th (0-based) of the
// events of line, whose line was otherwise kept; raw is the event's JSON
// text. Event rejects are counted apart from line rejects (EventCount, not
// Count) and with them by reason. A table without event_index keeps the
// event's position in the reason ("event N: ...").
func (r *Rejects) AddEvent(line int64, event int, code, reason string, raw []byte) {
	r.nEvents++
	r.append(line, event, code, reason, raw, false)
}

func (r *Rejects) add(line int64, code, reason string, raw []byte, truncated bool) {
	r.n++
	r.append(line, -1, code, reason, raw, truncated)
}

// append adds a row; event < 0 is a whole line.
func (r *Rejects) append(line int64, event int, code, reason string, raw []byte, truncated bool) {
	r.byReason = addCount(r.byReason, code, 1)
	if len(raw) > r.rawBytes {
		raw = raw[:r.rawBytes]
		for len(raw) > 0 && !utf8.Valid(raw) && len(raw) > r.rawBytes-4 {
			raw = raw[:len(raw)-1]
		}
		truncated = true
	}
	if event >= 0 && r.event < 0 {
		reason = fmt.Sprintf("event %d: %s", event, reason)
	}
	r.b.Field(0).(*array.StringBuilder).Append(r.file)
	r.b.Field(1).(*array.Int64Builder).Append(line)
	r.b.Field(2).(*array.StringBuilder).Append(code)
	r.b.Field(3).(*array.StringBuilder).Append(validUTF8([]byte(reason)))
	r.b.Field(4).(*array.StringBuilder).Append(validUTF8(raw))
	r.b.Field(5).(*array.BooleanBuilder).Append(truncated)
	if r.event >= 0 {
		if event < 0 {
			r.b.Field(r.event).AppendNull()
		} else {
			r.b.Field(r.event).(*array.Int32Builder).Append(int32(event))
		}
	}
}

// Count returns the number of line rejects added so far (Add,
// AddTruncated).
func (r *Rejects) Count() int64 { return r.n }

// EventCount returns the number of event rejects added so far (AddEvent).
func (r *Rejects) EventCount() int64 { return r.nEvents }

// ByReason returns the counts per reason code, of line and event rejects.
func (r *Rejects) ByReason() []Count { return r.byReason }

// Flush emits the rejects added since the last Flush as one batch.
func (r *Rejects) Flush(emit func(hiveparquet.Batch)) {
	if r.b.Field(0).Len() == 0 {
		return
	}
	emit(hiveparquet.Batch{Table: r.table, Partition: r.partition, Source: r.source, Record: r.b.NewRecord()})
}

// Release frees the builder.
func (r *Rejects) Release() { r.b.Release() }

func validUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}
