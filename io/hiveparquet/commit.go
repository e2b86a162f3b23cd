package hiveparquet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/lakestate"
)

// AllPartitions as a Claim's partition claims every partition of the table:
// the run rewrites the whole table.
const AllPartitions = "*"

// Claim says which existing files a commit replaces: in Overwrite mode a
// whole partition (Source empty), in IdempotentAppend mode the files that
// one source wrote into the partition. A run claims every partition it read
// input for, even when that input produced no rows, so that a partition
// emptied by its vendor is emptied in the lake too.
type Claim struct {
	Table     string `json:"table"`
	Partition string `json:"partition"`
	Source    string `json:"source,omitempty"`
}

// SourceID is the short, stable identity of an input used in idempotent-append
// file names.
func SourceID(source string) string {
	h := sha256.Sum256([]byte(source))
	return hex.EncodeToString(h[:8])
}

// FinalName returns the published file name of the n-th file (1-based) of a
// partition for a run.
func FinalName(mode Mode, runID, source string, n int) string {
	if mode == IdempotentAppend {
		return fmt.Sprintf("part-%s-%s-%05d.parquet", SourceID(source), runID, n)
	}
	return fmt.Sprintf("part-%s-%05d.parquet", runID, n)
}

// validRawName reports whether name is safe as a raw file's final name: one
// path element, not hidden, not a marker.
func validRawName(name string) bool {
	return name != "" && name != "_SUCCESS" && !strings.ContainsAny(name, "/\\\x00") &&
		!strings.HasPrefix(name, ".") && !strings.HasPrefix(name, "_")
}

// Plan builds the commit log for a run: final names for every file, and the
// earlier files that the claims (plus the partitions written) replace.
// lakestate.Apply publishes them.
func Plan(ctx context.Context, fsys lakefs.FS, output, runID string, tables []TableSpec, files []FileDesc, claims []Claim) (*lakestate.CommitLog, error) {
	specs := map[string]TableSpec{}
	for _, t := range tables {
		specs[t.Name] = t
	}
	log := &lakestate.CommitLog{RunID: runID, Output: output, CreatedAt: time.Now().UTC()}

	// Final names: deterministic order within each partition.
	sort.Slice(files, func(i, j int) bool {
		a, b := files[i], files[j]
		if a.Table != b.Table {
			return a.Table < b.Table
		}
		if a.Partition != b.Partition {
			return a.Partition < b.Partition
		}
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		return a.TempPath < b.TempPath
	})
	seq := map[string]int{}
	keep := map[string]bool{}
	claimSet := map[Claim]bool{}
	for _, c := range claims {
		claimSet[c] = true
	}
	for _, f := range files {
		spec, ok := specs[f.Table]
		if !ok {
			return nil, fmt.Errorf("commit: file %s belongs to unknown table %q", f.TempPath, f.Table)
		}
		k := f.Table + "/" + f.Partition + "/" + f.Source
		seq[k]++
		to := lakefs.Join(output, f.Table, f.Partition, FinalName(spec.Mode, runID, f.Source, seq[k]))
		if spec.Mode == Files {
			if !validRawName(f.Name) {
				return nil, fmt.Errorf("commit: raw file %s has an unsafe final name %q", f.TempPath, f.Name)
			}
			to = lakefs.Join(output, f.Table, f.Partition, f.Name)
			if keep[to] {
				return nil, fmt.Errorf("commit: two files of run %s are both named %s", runID, to)
			}
		}
		keep[to] = true
		log.Moves = append(log.Moves, lakestate.Move{From: f.TempPath, To: to, Table: f.Table, Partition: f.Partition, Rows: f.Rows, Bytes: f.Bytes})
		c := Claim{Table: f.Table, Partition: f.Partition}
		if spec.Mode == IdempotentAppend {
			c.Source = f.Source
		}
		claimSet[c] = true
	}

	// Files replaced by the claims.
	ordered := make([]Claim, 0, len(claimSet))
	for c := range claimSet {
		ordered = append(ordered, c)
	}
	sort.Slice(ordered, func(i, j int) bool {
		a, b := ordered[i], ordered[j]
		return a.Table+"\x00"+a.Partition+"\x00"+a.Source < b.Table+"\x00"+b.Partition+"\x00"+b.Source
	})
	seen := map[string]bool{}
	for _, c := range ordered {
		if _, ok := specs[c.Table]; !ok {
			return nil, fmt.Errorf("commit: claim on unknown table %q", c.Table)
		}
		dir := lakefs.Join(output, c.Table)
		if c.Partition != AllPartitions {
			dir = lakefs.Join(dir, c.Partition)
		}
		existing, err := fsys.List(ctx, dir)
		if err != nil {
			return nil, fmt.Errorf("commit: %w", err)
		}
		prefix := "part-"
		if c.Source != "" {
			prefix = "part-" + SourceID(c.Source) + "-"
		}
		for _, e := range existing {
			name := path.Base(e.Path)
			if specs[c.Table].Mode == Files {
				if name == "_SUCCESS" {
					continue
				}
			} else if !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, ".parquet") {
				continue
			}
			if c.Partition != AllPartitions {
				// Only files directly in the partition folder.
				if rel, _ := lakefs.Rel(dir, e.Path); strings.Contains(rel, "/") {
					continue
				}
			}
			p := lakefs.Clean(e.Path)
			if keep[p] || seen[p] {
				continue
			}
			seen[p] = true
			log.Deletes = append(log.Deletes, p)
		}
	}
	tset := map[string]bool{}
	for _, m := range log.Moves {
		tset[m.Table] = true
	}
	for _, c := range claims {
		tset[c.Table] = true
	}
	for t := range tset {
		log.Tables = append(log.Tables, t)
	}
	sort.Strings(log.Tables)
	return log, nil
}
