package didomi

import (
	"sync"
	"unicode/utf8"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

// Reject reason codes of the Didomi pipeline (besides the shared empty_line
// and line_too_long). A problem of the line or of its user rejects the line;
// a problem inside one element of events rejects only that event (a reject
// row with its event_index), and the user and its other events are kept.
const (
	ReasonInvalidJSON    = "invalid_json"
	ReasonNotObject      = "not_object"
	ReasonMissingUser    = "missing_user"
	ReasonUserNotObject  = "user_not_object"
	ReasonMissingUserID  = "missing_user_id"
	ReasonEventsNotArray = "events_not_array"
	ReasonEventNotObject = "event_not_object"
	ReasonWrongType      = "wrong_type"
	ReasonBadTimestamp   = "bad_timestamp"
	// ReasonInvalidUTF8: a key or string is not valid UTF-8 (Parquet
	// strings must be).
	ReasonInvalidUTF8 = "invalid_utf8"
)

// WarnTimestampWithoutZone counts timestamps written without a zone, taken
// as UTC.
const WarnTimestampWithoutZone = "timestamp_without_zone"

// DefaultRegulation is the regulation of events that carry none: Didomi's
// batch export associates historical consent with GDPR.
const DefaultRegulation = "gdpr"

// How a line is parsed (the parser is most of the pipeline's CPU).
//
// One pass over the line's bytes (scan.go, with fastjson's grammar) sorts
// every value into per-line scratch structs (lineVals) as it meets it: the
// values of the modelled keys, the elements of the modelled arrays, and
// the JSON text of the unmodelled keys (the extra columns). No tree of the
// line is built. The checks then run on the scratch, in the order they
// have always run, so that a line with several problems is rejected for
// the same first one (walk.go). Only once the whole line is known to be
// valid are its rows appended to the column buffers (cols.go), from the
// scratch, without looking anything up again; a rejected line leaves the
// columns untouched.
//
// Keys are compared unescaped, and the first of duplicate keys wins: an
// object where a modelled key is written twice, once with a \u escape
// (e.g. "\u0069d" and "id"), uses the first of the two.

// parser turns Didomi export lines into didomi_users and didomi_events rows.
// One parser serves one goroutine; it reuses its JSON parser, column
// buffers and scratch.
type parser struct {
	file, partition string
	fileBytes       []byte
	usersSchema     *arrow.Schema
	eventsSchema    *arrow.Schema
	users           usersCols
	events          eventsCols
	line            lineVals
	scratch         []byte
	nUsers, nEvents int64
	eventsIn        int64 // events of the lines kept
	noZone          int64 // timestamps without a zone, in rows written
	cache           *colsCache
}

// The schemas of the parsers' batches, made once for every parser: an
// *arrow.Schema is immutable, so sharing it is safe, and the Parquet writer
// then recognises a batch's schema by its pointer. Made per parser, the two
// schemas and the writer's field-by-field comparison of them cost about 8 %
// of the CPU of a drop of 5,000 small files.
var (
	usersSchema  = UsersSchema()
	eventsSchema = EventsSchema()
)

func newParser(file, partition string) *parser {
	return &parser{
		file: file, partition: partition, fileBytes: []byte(file),
		usersSchema: usersSchema, eventsSchema: eventsSchema,
	}
}

// newCachedParser is newParser whose column buffers come from cache (when
// it holds some) and go back to it at Release.
func newCachedParser(file, partition string, cache *colsCache) *parser {
	p := newParser(file, partition)
	p.cache = cache
	if c := cache.get(); c != nil {
		p.users, p.events = c.users, c.events
	}
	return p
}

// tableCols are the column buffers of a released parser, flushed: they
// hold no rows, only the capacities of their next chunk (see
// hiveparquet's capFor) and their scratch.
type tableCols struct {
	users  usersCols
	events eventsCols
}

// colsCache hands the flushed column buffers of a released parser to the
// next parser of the same reader. A parser is made per file and worker, and
// its buffers size each chunk like the last one; a fresh parser starts them
// empty, so every first chunk of a file grew each of its ~80 buffers from
// nothing by doubling (5% of a 64 MiB run's CPU went to growslice). The
// cache is bounded and may be empty; it serves one read DoFn instance.
type colsCache struct {
	mu   sync.Mutex
	free []*tableCols
}

// maxCachedCols bounds the cache: one set per parse worker is enough.
const maxCachedCols = 8

func (c *colsCache) get() *tableCols {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.free)
	if n == 0 {
		return nil
	}
	t := c.free[n-1]
	c.free[n-1] = nil
	c.free = c.free[:n-1]
	return t
}

func (c *colsCache) put(t *tableCols) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.free) < maxCachedCols {
		c.free = append(c.free, t)
	}
}

// Parse implements lineparse.Parser.
func (p *parser) Parse(line []byte, lineNo int64, rej *lineparse.Rejects) bool {
	p.line.reset()
	if !p.line.read(line) {
		rej.Add(lineNo, ReasonInvalidJSON, "not valid JSON: "+p.line.jsonError(line), line)
		return false
	}
	// Only a line with invalid UTF-8 somewhere needs its strings checked
	// one by one (JSON escapes cannot make invalid UTF-8: a lone surrogate
	// escape is kept as its text).
	if e := p.line.check(!utf8.Valid(line)); e != nil {
		rej.Add(lineNo, e.code, e.reason(), line)
		return false
	}
	for _, ee := range p.line.evErrs {
		p.scratch = appendCompact(p.scratch[:0], ee.raw)
		rej.AddEvent(lineNo, ee.index, ee.err.code, ee.err.reason(), p.scratch)
	}
	p.eventsIn += int64(p.line.eventCount())
	p.appendRecord(lineNo)
	return true
}

// jsonError is why line is not valid JSON, in fastjson's words: the scanner
// shares its grammar, not its messages.
func (l *lineVals) jsonError(line []byte) string {
	if _, err := l.fj.ParseBytes(line); err != nil {
		return err.Error()
	}
	// The grammars differ: FuzzScanMatchesFastjson looks for such lines.
	return "cannot parse JSON"
}

// Events implements lineparse.EventParser.
func (p *parser) Events() (in, out int64) { return p.eventsIn, p.nEvents }

// Warnings implements lineparse.WarningParser.
func (p *parser) Warnings() []lineparse.Count {
	if p.noZone == 0 {
		return nil
	}
	return []lineparse.Count{{Name: WarnTimestampWithoutZone, N: p.noZone}}
}

// Flush implements lineparse.Parser.
func (p *parser) Flush(emit func(hiveparquet.Batch)) {
	if p.users.rows > 0 {
		emit(hiveparquet.Batch{Table: UsersTable, Partition: p.partition, Record: p.users.record(p.usersSchema)})
	}
	if p.events.rows > 0 {
		emit(hiveparquet.Batch{Table: EventsTable, Partition: p.partition, Record: p.events.record(p.eventsSchema)})
	}
}

// Rows implements lineparse.Parser.
func (p *parser) Rows() []lineparse.Count {
	return []lineparse.Count{{Name: UsersTable, N: p.nUsers}, {Name: EventsTable, N: p.nEvents}}
}

// Release implements lineparse.Parser. The column buffers are Go
// memory: dropping them is enough; flushed ones go back to the parser's
// cache, for their sizes.
func (p *parser) Release() {
	if p.cache != nil && p.users.rows == 0 && p.events.rows == 0 {
		p.cache.put(&tableCols{users: p.users, events: p.events})
	}
	p.users, p.events = usersCols{}, eventsCols{}
}
