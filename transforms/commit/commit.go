// Package commit owns the end of every run. It decides what a run
// publishes and replaces: units with an unreadable input and attachment
// tables over their bound are held back, complete partitions that yield no
// record are skipped, and a run over its reject ratio, or one that would
// replace what the lake holds with much less, is refused. It then builds
// the run's commit log (hiveparquet.Plan) with the ledger entries and the
// run report, checks the run's lock and applies the log (lakestate.Apply).
// Runs that end without a commit (failed, interrupted, nothing to do)
// write their report through it too (Fail, Nothing), and the runner reads
// the report back with Result: the commit step may have run on a remote
// worker.
package commit

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/vendorlake/vendorlake/io/faults"
	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/lakestate"
	"github.com/vendorlake/vendorlake/io/ledger"
	"github.com/vendorlake/vendorlake/transforms"
)

// Config is everything the commit step needs besides the files and
// counters that flow into it. It is serialised into the DoFn, so it must
// stay small: file lists, not data.
type Config struct {
	Pipeline string `json:"pipeline"`
	// LockPipeline and LockRunID name the lock the run works under
	// (lakestate.LockPath): the commit checks that it still holds it
	// before it records its commit log. Empty: no check (a run without
	// a lock, in tests).
	LockPipeline string `json:"lock_pipeline,omitempty"`
	LockRunID    string `json:"lock_run_id,omitempty"`
	Version      string `json:"version,omitempty"`
	// Label is the orchestrator's ID of the run (transforms.RunReport.OrchestratorRunID).
	Label          string                  `json:"label,omitempty"`
	Runner         string                  `json:"runner"`
	Input          string                  `json:"input"`
	Output         string                  `json:"output"`
	RunID          string                  `json:"run_id"`
	FS             lakefs.Options          `json:"fs"`
	Tables         []hiveparquet.TableSpec `json:"tables"`
	Claims         []hiveparquet.Claim     `json:"claims"`
	Units          []transforms.Unit       `json:"units"`
	Skipped        []transforms.Skipped    `json:"skipped"`
	Recovered      []string                `json:"recovered,omitempty"`
	MaxRejectRatio float64                 `json:"max_reject_ratio"`
	StartedAt      time.Time               `json:"started_at"`
	// ExpectedFiles is the number of input files; the commit refuses to run
	// when fewer file counters arrive (a lost bundle must never commit).
	ExpectedFiles int `json:"expected_files"`
	// AllowEmpty commits a guarded unit (transforms.Unit.Claims) that yielded no
	// record: its partitions are replaced by nothing.
	AllowEmpty bool `json:"allow_empty,omitempty"`
	// MaxAttachmentRejectRatio bounds, per partition, the share of rejected
	// entries of attachment inputs (transforms.FileStats.AttachmentKind); a partition
	// over it has its attachment tables held back.
	MaxAttachmentRejectRatio float64 `json:"max_attachment_reject_ratio"`
}

func init() {
	register.DoFn4x1[context.Context, int, func(*hiveparquet.FileDesc) bool, func(*transforms.FileStats) bool, error](&commitFn{})
	register.Iter1[hiveparquet.FileDesc]()
	register.Iter1[transforms.FileStats]()
}

// Publish is the single finalize step of a run: after every write finished,
// it checks the per-file counters and the reject ratio, then publishes the
// run's files (hiveparquet.Plan, lakestate.Apply) together with the ledger entries and
// the run report. files is a PCollection<hiveparquet.FileDesc>, stats a
// PCollection<transforms.FileStats>. Both are small (descriptors and counters, never
// rows), so grouping them on one key is cheap on every runner.
func Publish(s beam.Scope, cfg Config, files, stats beam.PCollection) {
	s = s.Scope("commit.Publish")
	kf := beam.AddFixedKey(s, files)
	ks := beam.AddFixedKey(s, stats)
	grouped := beam.CoGroupByKey(s, kf, ks)
	beam.ParDo0(s, &commitFn{Config: cfg}, grouped)
}

type commitFn struct {
	Config Config `json:"config"`
	fs     lakefs.FS
}

func (fn *commitFn) Setup(ctx context.Context) error {
	var err error
	fn.fs, err = lakefs.New(ctx, fn.Config.Output, fn.Config.FS)
	return err
}

func (fn *commitFn) ProcessElement(ctx context.Context, _ int, fileIter func(*hiveparquet.FileDesc) bool, statIter func(*transforms.FileStats) bool) error {
	cfg := fn.Config
	var files []hiveparquet.FileDesc
	var f hiveparquet.FileDesc
	for fileIter(&f) {
		files = append(files, f)
	}
	var stats []transforms.FileStats
	var st transforms.FileStats
	for statIter(&st) {
		stats = append(stats, st)
		st = transforms.FileStats{}
	}
	return Run(ctx, fn.fs, cfg, files, stats)
}

// Run is the commit step as a plain function, for the Publish DoFn and for
// runs whose plan has no input file to read (only partitions to empty);
// fsys is the store of cfg.Output.
func Run(ctx context.Context, fsys lakefs.FS, cfg Config, files []hiveparquet.FileDesc, stats []transforms.FileStats) error {
	// Before anything of the commit: the Flink tests pause here
	// (commit.begin:1:PAUSE) to kill a TaskManager while the job runs.
	faults.Hit(ctx, "commit.begin")
	if len(stats) != cfg.ExpectedFiles {
		return fmt.Errorf("commit: counters for %d input files arrived, %d expected; nothing committed", len(stats), cfg.ExpectedFiles)
	}
	// Raw files travel with their input's counters; the report keeps only the counters.
	for i := range stats {
		files = append(files, stats[i].Files...)
		stats[i].Files = nil
	}
	// Units with an unreadable input leave the commit first: nothing of
	// them is committed, not even as an empty unit.
	var heldUnits []transforms.HeldBack
	cfg, files, heldUnits = holdUnreadable(cfg, files, stats)
	if !cfg.AllowEmpty {
		cfg, files = skipEmptyUnits(cfg, files, stats)
	}
	rep := transforms.RunReport{
		RunID: cfg.RunID, Pipeline: cfg.Pipeline, Version: cfg.Version, Runner: cfg.Runner, Input: cfg.Input, Output: cfg.Output,
		OrchestratorRunID: cfg.Label, StartedAt: cfg.StartedAt, Inputs: stats, Skipped: cfg.Skipped, MaxRejectRatio: cfg.MaxRejectRatio,
		Recovered: cfg.Recovered,
	}
	rep.Totals = transforms.SumStats(stats)
	// Records and events (Didomi's events are rejected one by one) are in
	// the ratio; attachment entries (proof archives) have their own bound.
	// The units held back are not committed, so not in the ratio either.
	kept := stats
	if len(heldUnits) > 0 {
		kept = nil
		for _, st := range stats {
			if !slices.ContainsFunc(heldUnits, func(h transforms.HeldBack) bool { return h.Unit == st.Unit }) {
				kept = append(kept, st)
			}
		}
	}
	tot := transforms.SumStats(kept)
	if att := sumAttachments(kept, cfg.MaxAttachmentRejectRatio); att != nil {
		tot.RecordsIn -= att.EntriesIn
		tot.Rejected -= att.Rejected
	}
	rep.Attachments = sumAttachments(stats, cfg.MaxAttachmentRejectRatio)
	heldTables := heldAttachments(rep.Attachments, kept)
	rep.HeldBack = append(heldUnits, heldTables...)
	rep.RejectRatio = tot.RejectRatio()
	var refused []string
	for _, st := range stats {
		for _, c := range st.Replaces {
			if c.Refused != "" {
				refused = append(refused, c.Refused)
			}
		}
	}
	if len(refused) > 0 {
		// Refuse to replace what the lake holds with much less.
		rep.Status = transforms.StatusRefused
		rep.Error = strings.Join(refused, "; ") + ": nothing committed"
		return refuse(ctx, fsys, cfg, files, rep)
	}
	if rep.RejectRatio > cfg.MaxRejectRatio {
		// Refuse to replace good partitions with a mostly broken drop.
		rep.Status = transforms.StatusRejectRatioExceeded
		rep.Error = fmt.Sprintf("reject ratio %.4f exceeds --max-reject-ratio=%g: nothing committed", rep.RejectRatio, cfg.MaxRejectRatio)
		return refuse(ctx, fsys, cfg, files, rep)
	}

	claims, units := cfg.Claims, cfg.Units
	if len(heldTables) > 0 {
		files, claims, units = holdBack(heldTables, stats, files, claims, units)
	}
	log, err := hiveparquet.Plan(ctx, fsys, cfg.Output, cfg.RunID, cfg.Tables, files, claims)
	if err != nil {
		return err
	}
	rep.Status = transforms.StatusCommitted
	rep.Partitions = partitionReports(log.Moves)
	rep.FilesReplaced = len(log.Deletes)
	finish(&rep)
	now := time.Now().UTC()
	for _, u := range units {
		w, err := lakestate.LedgerWrite(cfg.Output, ledger.Entry{Pipeline: cfg.Pipeline, Unit: u.Key, Inputs: u.Inputs, RunID: cfg.RunID, CommittedAt: now})
		if err != nil {
			return err
		}
		log.Writes = append(log.Writes, w)
	}
	w, err := lakestate.ReportWrite(cfg.Output, cfg.RunID, rep)
	if err != nil {
		return err
	}
	log.Writes = append(log.Writes, w)
	log.Pipeline = cfg.Pipeline
	if cfg.LockRunID != "" {
		// A run whose lock was taken over must not commit.
		if err := lakestate.CheckLock(ctx, fsys, cfg.Output, cfg.LockPipeline, cfg.LockRunID); err != nil {
			return fmt.Errorf("commit %s: %w", cfg.RunID, err)
		}
	}
	return lakestate.Apply(ctx, fsys, log)
}

// refuse ends a run whose commit is refused: nothing of it reaches a table.
// The files of its rejects tables (TableSpec.Rejects) move to
// lakestate.RejectsDir, named in the report, so the rows that tripped the
// gate can be read; the rest of its temporary area is deleted, then the
// report is written.
func refuse(ctx context.Context, fsys lakefs.FS, cfg Config, files []hiveparquet.FileDesc, rep transforms.RunReport) error {
	rejects := map[string]bool{}
	for _, t := range cfg.Tables {
		rejects[t.Name] = t.Rejects
	}
	dir := lakestate.RejectsDir(cfg.Output, cfg.RunID)
	for _, f := range files {
		if !rejects[f.Table] || f.Rows == 0 {
			continue
		}
		dst := lakefs.Join(dir, f.Table, f.Partition, path.Base(f.TempPath))
		if err := fsys.Rename(ctx, f.TempPath, dst); err != nil {
			return fmt.Errorf("keep the rejects of a refused run: %w", err)
		}
		rep.RejectsKept = dir
	}
	finish(&rep)
	if err := fsys.DeleteAll(ctx, lakestate.TempDir(cfg.Output, cfg.Pipeline, cfg.RunID)); err != nil {
		return err
	}
	return lakestate.WriteReport(ctx, fsys, rep.Output, rep.RunID, rep)
}
