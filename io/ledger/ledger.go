// Package ledger defines the records of which input files a pipeline has
// committed, so that scheduled runs process only new or changed inputs.
//
// There is one entry per unit (the set of inputs that is committed together,
// e.g. one vendor partition or one input file). io/lakestate stores them in
// the lake (LoadLedger, LedgerWrite), as part of the commit that published
// their outputs, never before.
package ledger

import (
	"sort"
	"time"
)

// Input identifies one input file by what changes when the vendor rewrites it.
type Input struct {
	// Rel is the path relative to the input root.
	Rel string `json:"rel"`
	// Size is the file size in bytes.
	Size int64 `json:"size"`
	// ModTime is the modification time in Unix microseconds.
	ModTime int64 `json:"mtime_us"`
	// ETag is the object store's entity tag, when there is one.
	ETag string `json:"etag,omitempty"`
}

// Entry is the ledger record of one committed unit.
type Entry struct {
	Pipeline    string    `json:"pipeline"`
	Unit        string    `json:"unit"`
	Inputs      []Input   `json:"inputs"`
	RunID       string    `json:"run_id"`
	CommittedAt time.Time `json:"committed_at"`
}

// Same reports whether the entry recorded exactly these inputs (same paths,
// sizes, modification times and ETags).
func (e Entry) Same(inputs []Input) bool {
	if len(e.Inputs) != len(inputs) {
		return false
	}
	a := append([]Input(nil), e.Inputs...)
	b := append([]Input(nil), inputs...)
	sortInputs(a)
	sortInputs(b)
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sortInputs(in []Input) {
	sort.Slice(in, func(i, j int) bool { return in[i].Rel < in[j].Rel })
}
