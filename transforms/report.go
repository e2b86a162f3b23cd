package transforms

import (
	"sort"
	"strings"
	"time"
)

// Run statuses of a RunReport.
const (
	StatusCommitted           = "committed"
	StatusNothingToDo         = "nothing_to_do"
	StatusRejectRatioExceeded = "reject_ratio_exceeded"
	StatusFailed              = "failed"
	StatusDryRun              = "dry_run"
	// StatusRefused: nothing committed because an input would replace
	// what the lake holds with much less (see ReplaceCheck).
	StatusRefused = "refused"
	// StatusInterrupted: nothing committed because a signal (SIGINT,
	// SIGTERM) stopped the run before its commit log was recorded.
	StatusInterrupted = "interrupted"
)

// Skipped is an input (partition or file) that discovery left out, and why.
type Skipped struct {
	What   string `json:"what"`
	Reason string `json:"reason"`
	// Warning marks a skip the operator should look at (a complete
	// partition that yields no record); the summary lists these first.
	Warning bool `json:"warning,omitempty"`
}

// ReasonIncomplete is the reason for an input whose vendor has not yet
// written its completion marker; --wait-for-success waits for these.
const ReasonIncomplete = "incomplete: no _SUCCESS marker yet"

// Incomplete reports whether s waits for its vendor's completion marker.
func (s Skipped) Incomplete() bool { return strings.HasPrefix(s.Reason, "incomplete") }

// PartitionReport sums what a run published into one table partition.
type PartitionReport struct {
	Table     string `json:"table"`
	Partition string `json:"partition"`
	Files     int    `json:"files"`
	Rows      int64  `json:"rows"`
	Bytes     int64  `json:"bytes"`
}

// Totals sums the counters of every input file of a run.
type Totals struct {
	Files           int     `json:"files"`
	Bytes           int64   `json:"bytes"`
	RecordsIn       int64   `json:"records_in"`
	RecordsOut      int64   `json:"records_out"`
	Rejected        int64   `json:"rejected"`
	BlankLines      int64   `json:"blank_lines"`
	EventsIn        int64   `json:"events_in,omitempty"`
	EventsOut       int64   `json:"events_out,omitempty"`
	EventsRejected  int64   `json:"events_rejected,omitempty"`
	Rows            []Count `json:"rows"`
	RejectsByReason []Count `json:"rejects_by_reason"`
	Warnings        []Count `json:"warnings,omitempty"`
}

// RunReport is the JSON report of one run, stored at lakestate.ReportPath.
type RunReport struct {
	RunID    string `json:"run_id"`
	Pipeline string `json:"pipeline"`
	Runner   string `json:"runner"`
	Input    string `json:"input"`
	Output   string `json:"output"`
	// Version is the version of the vendorlake that ran (see the command's
	// --version).
	Version        string            `json:"version,omitempty"`
	Status         string            `json:"status"`
	Error          string            `json:"error,omitempty"`
	StartedAt      time.Time         `json:"started_at"`
	FinishedAt     time.Time         `json:"finished_at"`
	Seconds        float64           `json:"seconds"`
	Totals         Totals            `json:"totals"`
	RejectRatio    float64           `json:"reject_ratio"`
	MaxRejectRatio float64           `json:"max_reject_ratio"`
	Inputs         []FileStats       `json:"inputs"`
	Skipped        []Skipped         `json:"skipped"`
	Partitions     []PartitionReport `json:"partitions"`
	FilesReplaced  int               `json:"files_replaced"`
	Recovered      []string          `json:"recovered_commits,omitempty"`
	// Attachments sums the inputs that carry attachments rather than
	// records (Didomi's proof archives): their entries are in Totals too,
	// but RejectRatio is over records only, and they have their own bound.
	Attachments *AttachmentTotals `json:"attachments,omitempty"`
	// Plan is what a dry run would do.
	Plan *Plan `json:"plan,omitempty"`
	// PendingCommits are interrupted commits a real run would finish first.
	PendingCommits []string `json:"pending_commits,omitempty"`
}

// AttachmentTotals sums a run's attachment inputs (FileStats.AttachmentKind)
// and lists the partitions whose attachment tables were held back.
type AttachmentTotals struct {
	Kind            string     `json:"kind"`
	Files           int        `json:"files"`
	EntriesIn       int64      `json:"entries_in"`
	EntriesOut      int64      `json:"entries_out"`
	Rejected        int64      `json:"rejected"`
	RejectsByReason []Count    `json:"rejects_by_reason,omitempty"`
	MaxRejectRatio  float64    `json:"max_reject_ratio"`
	HeldBack        []HeldBack `json:"held_back,omitempty"`
}

// HeldBack is a partition whose attachment entries were rejected beyond
// their bound: the run committed its records, but its attachment tables
// kept their previous contents.
type HeldBack struct {
	Partition   string   `json:"partition"`
	Unit        string   `json:"unit"`
	Tables      []string `json:"tables"`
	EntriesIn   int64    `json:"entries_in"`
	Rejected    int64    `json:"rejected"`
	RejectRatio float64  `json:"reject_ratio"`
}

// HeldBackPartitions returns the partitions whose attachments the run held
// back (none when it committed everything).
func (r RunReport) HeldBackPartitions() []string {
	if r.Attachments == nil {
		return nil
	}
	var out []string
	for _, h := range r.Attachments.HeldBack {
		out = append(out, h.Partition)
	}
	return out
}

// RejectRatio is the share of what was read that was rejected: (rejected
// records + rejected events) / (records + events read).
func (t Totals) RejectRatio() float64 {
	if n := t.RecordsIn + t.EventsIn; n > 0 {
		return float64(t.Rejected+t.EventsRejected) / float64(n)
	}
	return 0
}

// SumStats totals the per-file stats, sorted by file.
func SumStats(stats []FileStats) Totals {
	sort.Slice(stats, func(i, j int) bool { return stats[i].Rel < stats[j].Rel })
	var t Totals
	for _, s := range stats {
		t.Files++
		t.Bytes += s.Bytes
		t.RecordsIn += s.RecordsIn
		t.RecordsOut += s.RecordsOut
		t.Rejected += s.Rejected
		t.BlankLines += s.BlankLines
		t.EventsIn += s.EventsIn
		t.EventsOut += s.EventsOut
		t.EventsRejected += s.EventsRejected
		t.Rows = MergeCounts(t.Rows, s.Rows)
		t.RejectsByReason = MergeCounts(t.RejectsByReason, s.RejectsByReason)
		t.Warnings = MergeCounts(t.Warnings, s.Warnings)
	}
	for _, cs := range [][]Count{t.Rows, t.RejectsByReason, t.Warnings} {
		sort.Slice(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
	}
	return t
}
