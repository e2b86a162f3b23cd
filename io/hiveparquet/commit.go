package hiveparquet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vendorlake/vendorlake/io/faults"
	"github.com/vendorlake/vendorlake/io/lakefs"
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

// Move is one temporary file published under its final name.
type Move struct {
	From      string `json:"from"`
	To        string `json:"to"`
	Table     string `json:"table"`
	Partition string `json:"partition"`
	Rows      int64  `json:"rows"`
	Bytes     int64  `json:"bytes"`
}

// SideWrite is a small file written as part of a commit (ledger entries, run
// reports, manifests), so that it lands if and only if the commit does.
type SideWrite struct {
	Path string          `json:"path"`
	Data json.RawMessage `json:"data"`
}

// CommitLog is the redo log of one commit. It is written before the first
// change and removed after the last; a run that finds one left by a crashed
// run applies it again (every step is idempotent), so a commit is never left
// half done.
type CommitLog struct {
	RunID     string      `json:"run_id"`
	Output    string      `json:"output"`
	CreatedAt time.Time   `json:"created_at"`
	Moves     []Move      `json:"moves"`
	Deletes   []string    `json:"deletes"`
	Tables    []string    `json:"tables"`
	Writes    []SideWrite `json:"writes,omitempty"`
}

// SourceID is the short, stable identity of an input used in idempotent-append
// file names.
func SourceID(source string) string {
	h := sha256.Sum256([]byte(source))
	return hex.EncodeToString(h[:8])
}

func commitsDir(output string) string { return lakefs.Join(output, "_vendorlake", "commits") }

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
func Plan(ctx context.Context, fsys lakefs.FS, output, runID string, tables []TableSpec, files []FileDesc, claims []Claim) (*CommitLog, error) {
	specs := map[string]TableSpec{}
	for _, t := range tables {
		specs[t.Name] = t
	}
	log := &CommitLog{RunID: runID, Output: output, CreatedAt: time.Now().UTC()}

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
		log.Moves = append(log.Moves, Move{From: f.TempPath, To: to, Table: f.Table, Partition: f.Partition, Rows: f.Rows, Bytes: f.Bytes})
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

// Apply carries out a commit log: it records the log, publishes every file,
// then removes the replaced files, writes the log's small files and each
// table's _SUCCESS marker, and finally removes the log and the run's
// temporary area. Applying a log twice is harmless.
//
// Every path of the log must lie below log.Output, and on local disk no
// symbolic link may lead a write, rename or delete out of it: such a log is
// refused (lakefs.ErrOutsideLake).
func Apply(ctx context.Context, fsys lakefs.FS, log *CommitLog) error {
	if err := log.rebase(log.Output); err != nil {
		return fmt.Errorf("commit %s: %w", log.RunID, err)
	}
	fsys = lakefs.Within(fsys, log.Output)
	data, err := json.Marshal(log)
	if err != nil {
		return fmt.Errorf("commit %s: %w", log.RunID, err)
	}
	logPath := lakefs.Join(commitsDir(log.Output), log.RunID+".json")
	if err := lakefs.WriteFile(ctx, fsys, logPath, data); err != nil {
		return fmt.Errorf("commit %s: record log: %w", log.RunID, err)
	}
	return applyLogged(ctx, fsys, log, logPath)
}

func applyLogged(ctx context.Context, fsys lakefs.FS, log *CommitLog, logPath string) error {
	faults.Hit(ctx, "commit.after-log")
	for _, m := range log.Moves {
		faults.Hit(ctx, "commit.move")
		if err := fsys.Rename(ctx, m.From, m.To); err != nil {
			// A retried commit finds the file already moved.
			if ok, _ := lakefs.Exists(ctx, fsys, m.To); ok && errors.Is(err, lakefs.ErrNotExist) {
				continue
			}
			return fmt.Errorf("commit %s: publish: %w", log.RunID, err)
		}
	}
	for _, d := range log.Deletes {
		faults.Hit(ctx, "commit.delete")
		if err := fsys.Delete(ctx, d); err != nil {
			return fmt.Errorf("commit %s: remove replaced file: %w", log.RunID, err)
		}
		lakefs.PruneEmptyDirs(path.Dir(d), log.Output)
	}
	if err := sideWrites(ctx, fsys, log.Writes, lakefs.SmallWritesAtOnce(log.Output)); err != nil {
		return fmt.Errorf("commit %s: %w", log.RunID, err)
	}
	marker, _ := json.Marshal(map[string]any{"run_id": log.RunID, "committed_at": log.CreatedAt})
	for _, t := range log.Tables {
		if err := lakefs.WriteFile(ctx, fsys, lakefs.Join(log.Output, t, "_SUCCESS"), marker); err != nil {
			return fmt.Errorf("commit %s: %w", log.RunID, err)
		}
	}
	faults.Hit(ctx, "commit.before-log-removal")
	if err := fsys.Delete(ctx, logPath); err != nil {
		return fmt.Errorf("commit %s: %w", log.RunID, err)
	}
	if err := fsys.DeleteAll(ctx, TempDir(log.Output, log.RunID)); err != nil {
		return fmt.Errorf("commit %s: clean temporary files: %w", log.RunID, err)
	}
	return nil
}

// sideWrites writes the log's small files (ledger entries, the run report),
// each atomically, atOnce at a time (lakefs.SmallWritesAtOnce): on local
// disk each one is made durable by an fsync, which takes milliseconds, and
// a run writes one ledger entry per input file, so one at a time they made
// the commit of many small inputs slow. Writes to the same path keep their
// order (one after the other); it returns once every write is done, with
// the first error.
func sideWrites(ctx context.Context, fsys lakefs.FS, writes []SideWrite, atOnce int) error {
	seen := make(map[string]bool, len(writes))
	for _, w := range writes {
		if seen[w.Path] {
			// Never two atomic writes of one path at once (they share
			// their hidden temporary file).
			for _, w := range writes {
				faults.Hit(ctx, "commit.side-write")
				if err := lakefs.WriteFile(ctx, fsys, w.Path, w.Data); err != nil {
					return err
				}
			}
			return nil
		}
		seen[w.Path] = true
	}
	sem := make(chan struct{}, max(atOnce, 1))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for _, w := range writes {
		mu.Lock()
		failed := first != nil
		mu.Unlock()
		if failed {
			break
		}
		faults.Hit(ctx, "commit.side-write")
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := lakefs.WriteFile(ctx, fsys, w.Path, w.Data)
			<-sem
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

// Recover finishes the commits that crashed runs left half done under
// output, and returns their run IDs. A log that names a path outside the
// lake, or one that a symbolic link leads out of it, is refused
// (lakefs.ErrOutsideLake) and left in place.
func Recover(ctx context.Context, fsys lakefs.FS, output string) ([]string, error) {
	fsys = lakefs.Within(fsys, output)
	logs, err := fsys.List(ctx, commitsDir(output))
	if err != nil {
		return nil, err
	}
	var done []string
	for _, f := range logs {
		if !strings.HasSuffix(f.Path, ".json") || strings.HasPrefix(path.Base(f.Path), ".") {
			continue
		}
		data, err := lakefs.ReadFile(ctx, fsys, f.Path)
		if err != nil {
			return done, err
		}
		var log CommitLog
		if err := json.Unmarshal(data, &log); err != nil {
			return done, fmt.Errorf("recover commit %s: %w", f.Path, err)
		}
		if err := log.rebase(output); err != nil {
			return done, fmt.Errorf("recover commit %s: %w", f.Path, err)
		}
		if err := applyLogged(ctx, fsys, &log, f.Path); err != nil {
			return done, fmt.Errorf("recover: %w", err)
		}
		done = append(done, log.RunID)
	}
	return done, nil
}

// rebase re-roots the log's paths onto output, where Recover found it. A log
// records paths as its run spelled --output (e.g. relative to that run's
// working directory); a rerun may spell the same lake differently (an
// absolute path, another working directory), and the log's paths are only
// meaningful relative to the lake that holds it.
//
// Every path must lie below the log's output, even when the spelling is the
// same, and the run ID must be a plain name (its temporary folder is
// removed): recovery never touches anything outside the lake.
func (log *CommitLog) rebase(output string) error {
	tmpRoot := lakefs.Join(log.Output, "_vendorlake", "tmp")
	if rel, ok := lakefs.Rel(tmpRoot, TempDir(log.Output, log.RunID)); !ok || rel == "" || strings.Contains(rel, "/") || strings.ContainsAny(log.RunID, "/\\") {
		return fmt.Errorf("run ID %q: its temporary folder %s lies %w's temporary area %s", log.RunID, TempDir(log.Output, log.RunID), lakefs.ErrOutsideLake, tmpRoot)
	}
	re := func(p *string) error {
		rel, ok := lakefs.Rel(log.Output, *p)
		if !ok && lakefs.Clean(log.Output) == "." && lakefs.Scheme(*p) == "" && !path.IsAbs(*p) && !strings.HasPrefix(lakefs.Clean(*p), "..") {
			rel, ok = lakefs.Clean(*p), true // --output=.
		}
		if !ok {
			return fmt.Errorf("path %s lies %w (the log's output %s)", *p, lakefs.ErrOutsideLake, log.Output)
		}
		*p = lakefs.Join(output, rel)
		return nil
	}
	for i := range log.Moves {
		if err := re(&log.Moves[i].From); err != nil {
			return err
		}
		if err := re(&log.Moves[i].To); err != nil {
			return err
		}
	}
	for i := range log.Deletes {
		if err := re(&log.Deletes[i]); err != nil {
			return err
		}
	}
	for i := range log.Writes {
		if err := re(&log.Writes[i].Path); err != nil {
			return err
		}
	}
	log.Output = output
	return nil
}

// CleanTemp removes the temporary areas of runs other than keepRunID that
// have no pending commit log: files of runs that failed or crashed before
// their commit. Call it after Recover, while no other run writes to output.
func CleanTemp(ctx context.Context, fsys lakefs.FS, output, keepRunID string) error {
	fsys = lakefs.Within(fsys, output)
	tmpRoot := lakefs.Join(output, "_vendorlake", "tmp")
	files, err := fsys.List(ctx, tmpRoot)
	if err != nil {
		return err
	}
	runs := map[string]bool{}
	for _, f := range files {
		rel, ok := lakefs.Rel(tmpRoot, f.Path)
		if !ok {
			continue
		}
		run, _, _ := strings.Cut(rel, "/")
		if run != keepRunID {
			runs[run] = true
		}
	}
	for run := range runs {
		if err := fsys.DeleteAll(ctx, lakefs.Join(tmpRoot, run)); err != nil {
			return err
		}
	}
	return nil
}
