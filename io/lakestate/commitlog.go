package lakestate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/vendorlake/vendorlake/io/faults"
	"github.com/vendorlake/vendorlake/io/lakefs"
)

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
// half done. The sink plans the moves and deletes (io/hiveparquet.Plan); the
// committer adds the run's small files (ledger entries, run report).
type CommitLog struct {
	RunID string `json:"run_id"`
	// Pipeline is the pipeline whose commit logs and temporary areas hold
	// the run's (CommitsDir, TempDir). Logs of the versions before the
	// per-pipeline lock have none (LegacyCommitsDir, LegacyTempRoot).
	Pipeline  string      `json:"pipeline,omitempty"`
	Output    string      `json:"output"`
	CreatedAt time.Time   `json:"created_at"`
	Moves     []Move      `json:"moves"`
	Deletes   []string    `json:"deletes"`
	Tables    []string    `json:"tables"`
	Writes    []SideWrite `json:"writes,omitempty"`
}

// Apply carries out a commit log: it records the log, publishes every file,
// then removes the replaced files, writes the log's small files and each
// table's _SUCCESS marker, and finally removes the log and the run's
// temporary area. Applying a log twice is harmless.
//
// The log is the point of no return: a ctx done before it is recorded
// changes nothing (Apply returns its error), while once it is recorded the
// commit is finished whatever ctx says (an interrupted run commits, then
// stops).
//
// Every path of the log must lie below log.Output, and on local disk no
// symbolic link may lead a write, rename or delete out of it: such a log is
// refused (lakefs.ErrOutsideLake).
func Apply(ctx context.Context, fsys lakefs.FS, log *CommitLog) error {
	if log.Pipeline == "" {
		return fmt.Errorf("commit %s: the log names no pipeline", log.RunID)
	}
	if err := log.rebase(log.Output); err != nil {
		return fmt.Errorf("commit %s: %w", log.RunID, err)
	}
	fsys = lakefs.Within(fsys, log.Output)
	data, err := json.Marshal(log)
	if err != nil {
		return fmt.Errorf("commit %s: %w", log.RunID, err)
	}
	logPath := CommitLogPath(log.Output, log.Pipeline, log.RunID)
	if err := context.Cause(ctx); err != nil {
		return fmt.Errorf("commit %s: %w", log.RunID, err)
	}
	if err := lakefs.WriteFile(context.WithoutCancel(ctx), fsys, logPath, data); err != nil {
		return fmt.Errorf("commit %s: record log: %w", log.RunID, err)
	}
	return applyLogged(ctx, fsys, log, logPath)
}

// applyLogged carries out a recorded log to its end: ctx's cancellation is
// ignored (its fault points still see it).
func applyLogged(hitCtx context.Context, fsys lakefs.FS, log *CommitLog, logPath string) error {
	ctx := context.WithoutCancel(hitCtx)
	faults.Hit(hitCtx, "commit.after-log")
	for _, m := range log.Moves {
		faults.Hit(hitCtx, "commit.move")
		if err := fsys.Rename(ctx, m.From, m.To); err != nil {
			// A retried commit finds the file already moved.
			if ok, _ := lakefs.Exists(ctx, fsys, m.To); ok && errors.Is(err, lakefs.ErrNotExist) {
				continue
			}
			return fmt.Errorf("commit %s: publish: %w", log.RunID, err)
		}
	}
	for _, d := range log.Deletes {
		faults.Hit(hitCtx, "commit.delete")
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
	faults.Hit(hitCtx, "commit.before-log-removal")
	if err := fsys.Delete(ctx, logPath); err != nil {
		return fmt.Errorf("commit %s: %w", log.RunID, err)
	}
	if err := fsys.DeleteAll(ctx, log.tempDir()); err != nil {
		return fmt.Errorf("commit %s: clean temporary files: %w", log.RunID, err)
	}
	return nil
}

// Recover finishes the commits that crashed runs of pipeline left half
// done under output, and returns their run IDs. Call it while holding
// pipeline's lock (or the lock of the pipeline it is chained to): it
// touches only pipeline's commit logs, so runs of other pipelines go on.
//
// A commit log of a version before the per-pipeline lock
// (LegacyCommitsDir/RUN_ID.json) is finished by the first run of its
// pipeline (named by the log's ledger entries and run report) that finds
// it; a legacy log that names no pipeline is finished by any run.
//
// A log that names a path outside the lake, or one that a symbolic link
// leads out of it, is refused (lakefs.ErrOutsideLake) and left in place.
func Recover(ctx context.Context, fsys lakefs.FS, output, pipeline string) ([]string, error) {
	fsys = lakefs.Within(fsys, output)
	logs, err := pendingLogs(ctx, fsys, output, pipeline)
	if err != nil {
		return nil, err
	}
	var done []string
	for _, l := range logs {
		// A log is finished once started (applyLogged); none is started
		// once ctx is done.
		if err := context.Cause(ctx); err != nil {
			return done, fmt.Errorf("recover: %w", err)
		}
		log := l.log
		if err := log.rebase(output); err != nil {
			return done, fmt.Errorf("recover commit %s: %w", l.path, err)
		}
		if err := applyLogged(ctx, fsys, &log, l.path); err != nil {
			return done, fmt.Errorf("recover: %w", err)
		}
		done = append(done, log.RunID)
	}
	return done, nil
}

// pendingLog is a commit log found under the lake.
type pendingLog struct {
	path string
	log  CommitLog
}

// pendingLogs reads the commit logs of pipeline, legacy ones included.
func pendingLogs(ctx context.Context, fsys lakefs.FS, output, pipeline string) ([]pendingLog, error) {
	root := LegacyCommitsDir(output)
	files, err := fsys.List(ctx, root)
	if err != nil {
		return nil, err
	}
	var out []pendingLog
	for _, f := range files {
		rel, ok := lakefs.Rel(root, f.Path)
		if !ok || !strings.HasSuffix(rel, ".json") || strings.HasPrefix(path.Base(rel), ".") {
			continue
		}
		dir, _, nested := strings.Cut(rel, "/")
		if nested && (dir != pipeline || strings.Count(rel, "/") != 1) {
			continue // another pipeline's
		}
		data, err := lakefs.ReadFile(ctx, fsys, f.Path)
		if err != nil {
			if !nested && errors.Is(err, lakefs.ErrNotExist) {
				continue // a legacy log another pipeline's run finished
			}
			return nil, err
		}
		var log CommitLog
		if err := json.Unmarshal(data, &log); err != nil {
			return nil, fmt.Errorf("recover commit %s: %w", f.Path, err)
		}
		if nested && log.Pipeline != pipeline {
			return nil, fmt.Errorf("recover commit %s: the log names pipeline %q", f.Path, log.Pipeline)
		}
		if !nested {
			if log.Pipeline != "" {
				return nil, fmt.Errorf("recover commit %s: a log of pipeline %q outside its folder", f.Path, log.Pipeline)
			}
			if p := log.legacyPipeline(); p != "" && p != pipeline {
				continue
			}
		}
		out = append(out, pendingLog{path: f.Path, log: log})
	}
	return out, nil
}

// legacyPipeline is the pipeline of a log of the versions before the
// per-pipeline lock, read from its run report or ledger entries ("" when
// it has neither).
func (log *CommitLog) legacyPipeline() string {
	for _, w := range log.Writes {
		if path.Base(w.Path) == log.RunID+".json" && path.Base(path.Dir(w.Path)) == "runs" {
			var rep struct {
				Pipeline string `json:"pipeline"`
			}
			if json.Unmarshal(w.Data, &rep) == nil && rep.Pipeline != "" {
				return rep.Pipeline
			}
		}
	}
	for _, w := range log.Writes {
		if d := path.Dir(w.Path); path.Base(path.Dir(d)) == "ledger" {
			return path.Base(d)
		}
	}
	return ""
}

// tempDir is the temporary area of the log's run.
func (log *CommitLog) tempDir() string {
	if log.Pipeline == "" {
		return lakefs.Join(LegacyTempRoot(log.Output), log.RunID)
	}
	return TempDir(log.Output, log.Pipeline, log.RunID)
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
	tmpRoot := LegacyTempRoot(log.Output)
	if log.Pipeline != "" {
		tmpRoot = TempRoot(log.Output, log.Pipeline)
		if rel, ok := lakefs.Rel(LegacyTempRoot(log.Output), tmpRoot); !ok || rel == "" || strings.Contains(rel, "/") || strings.ContainsAny(log.Pipeline, "/\\") {
			return fmt.Errorf("pipeline %q: its temporary folder %s lies %w's temporary area", log.Pipeline, tmpRoot, lakefs.ErrOutsideLake)
		}
	}
	if rel, ok := lakefs.Rel(tmpRoot, log.tempDir()); !ok || rel == "" || strings.Contains(rel, "/") || strings.ContainsAny(log.RunID, "/\\") {
		return fmt.Errorf("run ID %q: its temporary folder %s lies %w's temporary area %s", log.RunID, log.tempDir(), lakefs.ErrOutsideLake, tmpRoot)
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

// CleanTemp removes the temporary areas of pipeline's runs other than
// keepRunID: files of runs that failed or crashed before their commit.
// Call it after Recover, while holding pipeline's lock; the areas of other
// pipelines' runs are never touched.
//
// The areas of runs of the versions before the per-pipeline lock
// (LegacyTempRoot/RUN_ID, RUN_ID as those versions generated it) are
// removed too, unless a legacy commit log of theirs waits for the run of
// its pipeline; no run of those versions writes while a run holds a lock
// (AcquireLock honours their lock).
func CleanTemp(ctx context.Context, fsys lakefs.FS, output, pipeline, keepRunID string) error {
	fsys = lakefs.Within(fsys, output)
	tmpRoot := TempRoot(output, pipeline)
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
			runs[lakefs.Join(tmpRoot, run)] = true
		}
	}
	legacy, err := legacyTemp(ctx, fsys, output)
	if err != nil {
		return err
	}
	for _, dir := range legacy {
		runs[dir] = true
	}
	for dir := range runs {
		if err := fsys.DeleteAll(ctx, dir); err != nil {
			return err
		}
	}
	return nil
}

// legacyRunID matches the run IDs of the versions before the per-pipeline
// lock (run.NewRunID, and a chained run's -NAME), never a pipeline's name.
var legacyRunID = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}(-[a-z0-9_]+)?$`)

// legacyTemp lists the legacy temporary areas that no legacy commit log
// needs.
func legacyTemp(ctx context.Context, fsys lakefs.FS, output string) ([]string, error) {
	root := LegacyTempRoot(output)
	files, err := fsys.List(ctx, root)
	if err != nil {
		return nil, err
	}
	dirs := map[string]bool{}
	for _, f := range files {
		rel, ok := lakefs.Rel(root, f.Path)
		if !ok {
			continue
		}
		if run, _, _ := strings.Cut(rel, "/"); legacyRunID.MatchString(run) {
			dirs[run] = true
		}
	}
	if len(dirs) == 0 {
		return nil, nil
	}
	logs, err := fsys.List(ctx, LegacyCommitsDir(output))
	if err != nil {
		return nil, err
	}
	for _, f := range logs {
		if rel, ok := lakefs.Rel(LegacyCommitsDir(output), f.Path); ok && !strings.Contains(rel, "/") {
			delete(dirs, strings.TrimSuffix(rel, ".json"))
		}
	}
	var out []string
	for run := range dirs {
		out = append(out, lakefs.Join(root, run))
	}
	sort.Strings(out)
	return out, nil
}

// PendingCommits lists the run IDs whose commit logs wait for the Recover
// of pipeline.
func PendingCommits(ctx context.Context, fsys lakefs.FS, output, pipeline string) []string {
	logs, _ := pendingLogs(ctx, fsys, output, pipeline)
	var out []string
	for _, l := range logs {
		out = append(out, l.log.RunID)
	}
	return out
}

// CommitPending reports whether the commit log of runID of pipeline is
// recorded under output (or cannot be ruled out): a commit that failed
// half way is finished by the next run from the run's temporary files,
// which must then be kept.
func CommitPending(ctx context.Context, fsys lakefs.FS, output, pipeline, runID string) bool {
	ok, err := lakefs.Exists(ctx, fsys, CommitLogPath(output, pipeline, runID))
	return ok || err != nil
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
	// Once a write failed no other is started; those under way finish.
	// (failed is done only by a failed write, not when ctx is.)
	g, failed := errgroup.WithContext(context.WithoutCancel(ctx))
	g.SetLimit(max(atOnce, 1))
	for _, w := range writes {
		if failed.Err() != nil {
			break
		}
		faults.Hit(ctx, "commit.side-write")
		g.Go(func() error { return lakefs.WriteFile(ctx, fsys, w.Path, w.Data) })
	}
	return g.Wait()
}
