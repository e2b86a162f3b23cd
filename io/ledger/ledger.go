// Package ledger records which input files a pipeline has committed, so that
// scheduled runs process only new or changed inputs.
//
// The ledger lives under OUTPUT/_vendorlake/ledger/PIPELINE/, one small JSON
// file per unit (the set of inputs that is committed together, e.g. one
// vendor partition or one input file). Entries are written as part of the
// commit that published their outputs, never before.
package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/vendorlake/vendorlake/io/lakefs"
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

// Dir is the ledger folder of a pipeline.
func Dir(output, pipeline string) string {
	return lakefs.Join(output, "_vendorlake", "ledger", pipeline)
}

// Path is where the entry of unit is stored.
func Path(output, pipeline, unit string) string {
	h := sha256.Sum256([]byte(unit))
	return lakefs.Join(Dir(output, pipeline), hex.EncodeToString(h[:16])+".json")
}

// Load reads every entry of a pipeline, keyed by unit.
func Load(ctx context.Context, fsys lakefs.FS, output, pipeline string) (map[string]Entry, error) {
	files, err := fsys.List(ctx, Dir(output, pipeline))
	if err != nil {
		return nil, fmt.Errorf("load ledger: %w", err)
	}
	out := make(map[string]Entry, len(files))
	for _, f := range files {
		if !strings.HasSuffix(f.Path, ".json") || strings.Contains(f.Path, "/.") {
			continue
		}
		data, err := lakefs.ReadFile(ctx, fsys, f.Path)
		if err != nil {
			return nil, fmt.Errorf("load ledger: %w", err)
		}
		var e Entry
		if err := json.Unmarshal(data, &e); err != nil {
			return nil, fmt.Errorf("load ledger %s: %w", f.Path, err)
		}
		out[e.Unit] = e
	}
	return out, nil
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
