package lineparse

import "fmt"

// Count is a named counter value (a reject reason, a table's rows).
type Count struct {
	Name string `json:"name"`
	N    int64  `json:"n"`
}

// Counts are the record counters of a run, of one input file or of a chunk
// of its lines: the one counter type of the line engine (Stats), the
// per-file stats (FileStats) and the run's totals (Totals). Every record
// read is either turned into rows or rejected, RecordsIn == RecordsOut +
// Rejected; blank lines are not records.
type Counts struct {
	// RecordsIn counts input records (non-blank lines); RecordsOut those
	// that became rows; Rejected those sent to the rejects table.
	RecordsIn  int64 `json:"records_in"`
	RecordsOut int64 `json:"records_out"`
	Rejected   int64 `json:"rejected"`
	// BlankLines counts the blank lines skipped (IsBlank):
	// not records, so neither rejected nor in the reject ratio. The lines
	// read are RecordsIn + BlankLines.
	BlankLines int64 `json:"blank_lines"`
	// EventsIn counts the events of the records kept (Didomi: the elements
	// of the events arrays of the lines not rejected whole); EventsOut those
	// that became rows; EventsRejected those rejected one by one (their
	// line kept). EventsIn == EventsOut + EventsRejected.
	EventsIn       int64 `json:"events_in,omitempty"`
	EventsOut      int64 `json:"events_out,omitempty"`
	EventsRejected int64 `json:"events_rejected,omitempty"`
	// Rows counts the rows written per table (one record may yield several).
	Rows []Count `json:"rows"`
	// RejectsByReason counts rejects per reason code (records and events).
	RejectsByReason []Count `json:"rejects_by_reason"`
	// Warnings counts non-fatal anomalies per kind.
	Warnings []Count `json:"warnings,omitempty"`
}

// Add adds every counter of o to c.
func (c *Counts) Add(o Counts) {
	c.RecordsIn += o.RecordsIn
	c.RecordsOut += o.RecordsOut
	c.Rejected += o.Rejected
	c.BlankLines += o.BlankLines
	c.EventsIn += o.EventsIn
	c.EventsOut += o.EventsOut
	c.EventsRejected += o.EventsRejected
	c.Rows = MergeCounts(c.Rows, o.Rows)
	c.RejectsByReason = MergeCounts(c.RejectsByReason, o.RejectsByReason)
	c.Warnings = MergeCounts(c.Warnings, o.Warnings)
}

// addCount adds n to the named counter in cs.
func addCount(cs []Count, name string, n int64) []Count {
	for i := range cs {
		if cs[i].Name == name {
			cs[i].N += n
			return cs
		}
	}
	return append(cs, Count{Name: name, N: n})
}

// MergeCounts adds every counter of src into dst.
func MergeCounts(dst, src []Count) []Count {
	for _, c := range src {
		dst = addCount(dst, c.Name, c.N)
	}
	return dst
}

// Check verifies records_in = records_out + rejected (blank lines are not
// records: lines read = records_in + blank_lines), events_in = events_out +
// events_rejected, and that the rejects by reason add up to rejected +
// events_rejected.
func (c Counts) Check() error {
	if c.BlankLines < 0 || c.RecordsIn < 0 {
		return fmt.Errorf("do not add up: %d records in, %d blank lines", c.RecordsIn, c.BlankLines)
	}
	if c.RecordsIn != c.RecordsOut+c.Rejected {
		return fmt.Errorf("do not add up: %d records in, %d out, %d rejected", c.RecordsIn, c.RecordsOut, c.Rejected)
	}
	if c.EventsIn != c.EventsOut+c.EventsRejected {
		return fmt.Errorf("do not add up: %d events in, %d out, %d rejected", c.EventsIn, c.EventsOut, c.EventsRejected)
	}
	var byReason int64
	for _, r := range c.RejectsByReason {
		byReason += r.N
	}
	if byReason != c.Rejected+c.EventsRejected {
		return fmt.Errorf("do not add up: %d rejected (%d records, %d events) but %d by reason", c.Rejected+c.EventsRejected, c.Rejected, c.EventsRejected, byReason)
	}
	return nil
}
