package transforms

import (
	"sort"
	"strings"
	"time"

	"github.com/vendorlake/vendorlake/transforms/lineparse"
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
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
	// Counts sum the counters of every input file.
	lineparse.Counts
}

// RunReport is the JSON report of one run, stored at lakestate.ReportPath.
type RunReport struct {
	RunID    string `json:"run_id"`
	Pipeline string `json:"pipeline"`
	Runner   string `json:"runner"`
	Input    string `json:"input"`
	Output   string `json:"output"`
	// OrchestratorRunID is the scheduler's ID of the run (--run-id), a
	// label only: it may repeat across retries.
	OrchestratorRunID string `json:"orchestrator_run_id,omitempty"`
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
	// RejectsKept is the folder (lakestate.RejectsDir) holding the rows the
	// run rejected, when its commit was refused: the evidence of why.
	RejectsKept string `json:"rejects_kept,omitempty"`
	// HeldBack lists what the run left out of its commit, for the next run
	// to retry: units with an unreadable input (their tables, rejects and
	// ledger entry untouched) and attachment tables of partitions (Didomi's
	// proofs: an archive over its bound, or unreadable). Each says why
	// (Reason). A run that holds anything back exits 5.
	HeldBack []HeldBack `json:"held_back,omitempty"`
	// Note says which normal case a run that read nothing is, e.g.
	// "nothing new since run R: every complete unit selected is already
	// committed".
	Note string `json:"note,omitempty"`
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
	Kind            string            `json:"kind"`
	Files           int               `json:"files"`
	EntriesIn       int64             `json:"entries_in"`
	EntriesOut      int64             `json:"entries_out"`
	Rejected        int64             `json:"rejected"`
	RejectsByReason []lineparse.Count `json:"rejects_by_reason,omitempty"`
	MaxRejectRatio  float64           `json:"max_reject_ratio"`
	HeldBack        []HeldBack        `json:"held_back,omitempty"`
}

// Reasons of a HeldBack.
const (
	// HeldProofRejects: the partition's attachment entries (Didomi's proof
	// archive) were rejected beyond their bound; its attachment tables were
	// held back, its records committed.
	HeldProofRejects = "proof_rejects"
	// HeldUnreadable: an input does not decompress or decode (a truncated
	// or corrupt gzip, lzop or tar: see decompress.IsFormatError). A record
	// input holds back its whole unit; an attachment input (a proof
	// archive) its partition's attachment tables only.
	HeldUnreadable = "unreadable_input"
)

// HeldBack is what a run left out of its commit, so that the next run reads
// it again: a whole unit (Tables empty), or the attachment tables of a
// partition whose records were committed.
type HeldBack struct {
	// Reason is HeldProofRejects or HeldUnreadable.
	Reason    string   `json:"reason"`
	Partition string   `json:"partition"`
	Unit      string   `json:"unit"`
	Tables    []string `json:"tables,omitempty"`
	// File and Error name the unreadable input and its error.
	File  string `json:"file,omitempty"`
	Error string `json:"error,omitempty"`
	// EntriesIn, Rejected and RejectRatio are the attachment entries of
	// the partition (HeldProofRejects).
	EntriesIn   int64   `json:"entries_in,omitempty"`
	Rejected    int64   `json:"rejected,omitempty"`
	RejectRatio float64 `json:"reject_ratio,omitempty"`
}

// HeldBackPartitions returns what the run held back, one entry per
// HeldBack: the partition of attachment tables held back, or the unit held
// back whole (none when it committed everything).
func (r RunReport) HeldBackPartitions() []string {
	var out []string
	for _, h := range r.HeldBack {
		if len(h.Tables) == 0 {
			out = append(out, h.Unit)
		} else {
			out = append(out, h.Partition)
		}
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
		t.Counts.Add(s.Counts)
	}
	for _, cs := range [][]lineparse.Count{t.Rows, t.RejectsByReason, t.Warnings} {
		sort.Slice(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
	}
	return t
}
