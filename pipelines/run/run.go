// Package run executes any vendorlake pipeline end to end: run IDs,
// recovery of interrupted commits, discovery, the Beam graph (read → Parquet
// sink → commit) on the selected runner, the run report and its summary.
// Vendor packages provide only what is specific to them (Pipeline).
package run

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/lakestate"
	"github.com/vendorlake/vendorlake/io/ledger"
	"github.com/vendorlake/vendorlake/transforms"
	"github.com/vendorlake/vendorlake/transforms/commit"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

// Pipeline is what a vendor package provides: one stage of a vendor's run
// (ID5 has two, chained), built by its registry.Vendor's flags.
type Pipeline interface {
	// Name is the pipeline's name: its subcommand and ledger folder.
	Name() string
	// Tables are the tables the pipeline writes.
	Tables() []hiveparquet.Table
	// Discover lists the input (fsys is the store of env.Input) and
	// decides what the run reads and replaces; led is the pipeline's
	// ledger (empty when reprocessing). The plan's Found says what else was
	// there, for the run to judge a plan that selects nothing (exit 6 for a
	// mistake, a warning when normal); its State carries what discovery
	// found that Read needs.
	Discover(ctx context.Context, env Env, fsys lakefs.FS, led map[string]ledger.Entry) (transforms.Plan, error)
	// Read adds the read-and-parse transforms for files (a
	// PCollection<transforms.InputFile>, the plan's files) and returns
	// their record batches and counters (see Outputs).
	Read(s beam.Scope, env Env, plan transforms.Plan, files beam.PCollection) Outputs
}

// Env is the run a pipeline serves, as Discover and Read see it: where it
// reads and writes, its ID (which names its temporary area,
// lakestate.TempDir), its runner, and the options of its stores and of the
// line engine.
type Env struct {
	Input, Output string
	RunID         string
	Runner        string
	FS            lakefs.Options
	Lines         lineparse.Options
}

// Env is the environment o gives a pipeline's Discover and Read.
func (o Options) Env() Env {
	return Env{Input: o.Input, Output: o.Output, RunID: o.RunID, Runner: o.Runner, FS: o.FS, Lines: o.Lines}
}

// Outputs are what Pipeline.Read adds to the graph.
//
// The rule of the sink: a PCollection of record batches is consumed only by
// its own hiveparquet.Write step, which the runner fuses with the transform
// that produced the batches. No Flatten, GroupByKey, CoGroupByKey,
// Reshuffle or side input ever takes batches: on portable runners (prism,
// Flink) each of those is a stage boundary where every batch would be
// encoded and held. Only file descriptors, counters and small keyed values
// cross stages. A test builds every pipeline's graph and keeps this rule.
type Outputs struct {
	// Batches holds one PCollection<hiveparquet.Batch> per branch of the
	// read that produces rows (Didomi: the read, and the proof check after
	// its CoGroupByKey); BuildGraph writes each with its own write step.
	// At least one.
	Batches []beam.PCollection
	// Stats is the PCollection<transforms.FileStats>, one per planned file.
	Stats beam.PCollection
}

// Options configure one run.
type Options struct {
	Input, Output string
	// Version is the version of the program that runs, for the report.
	Version string
	// Runner is the Beam runner: direct, prism, universal, flink...
	Runner         string
	FS             lakefs.Options
	Write          hiveparquet.WriteOptions
	Lines          lineparse.Options
	MaxRejectRatio float64
	// MaxAttachmentRejectRatio bounds the rejected share of each
	// partition's attachment entries (Didomi's proof archives,
	// --max-proof-reject-ratio); a partition over it is committed without
	// its attachment tables (see commit.Config).
	MaxAttachmentRejectRatio float64
	// Reprocess ignores the ledger.
	Reprocess bool
	// AllowEmptyPartitions commits a complete partition that yields no
	// record (see transforms.Unit.Claims) empty instead of skipping it with
	// a warning.
	AllowEmptyPartitions bool
	// RunID names the run; generated when empty.
	RunID string
	// DryRun prints the plan and changes nothing.
	DryRun bool
	// WaitForSuccess polls this long for selected inputs whose vendor has
	// not yet written its completion marker.
	WaitForSuccess time.Duration
	// LockWait is how long to wait for a live run's lock on the output;
	// BreakLock takes over a lock whose holder is known to be dead.
	LockWait  time.Duration
	BreakLock bool
	// LockLease and LockRenew: the run renews its pipeline's lock every
	// LockRenew, and a lock unchanged for its lease is expired (see
	// lakestate.AcquireLock); zero means the defaults (60s, 10s).
	LockLease, LockRenew time.Duration
	// Progress, when set, receives progress lines every ProgressInterval;
	// ProgressTerminal redraws one line instead.
	Progress         io.Writer
	ProgressInterval time.Duration
	ProgressTerminal bool
	// Label is the orchestrator's own ID of the run (--run-id: Airflow's
	// run_id, a CronJob's job name), recorded in the report as
	// orchestrator_run_id; the run's own ID (RunID) still names its files.
	Label string
	// KeepReports is how long the pipeline's run reports (and their kept
	// rejects) are kept: each run that takes the lock removes older ones
	// (lakestate.PruneReports). 0 keeps them all.
	KeepReports time.Duration
	// Logger receives the run's structured log (start, plan, end, and
	// progress when stderr is not a terminal); nil logs nothing.
	Logger *slog.Logger

	// lockName and lockRunID are the pipeline and run that hold the lock
	// a run works under (a chained run works under its first pipeline's);
	// recovered are the commits Execute finished before the first run.
	lockName, lockRunID string
	recovered           []string
	// outFS is the output's store, opened once by Execute for the lock and
	// used by every run of the chain (nil: a dry run opens its own).
	outFS lakefs.FS
}

// ErrRejectRatio is returned (wrapped) when a run was not committed because
// too many records were rejected.
var ErrRejectRatio = errors.New("reject ratio exceeded")

// ErrRefused is returned (wrapped) when a run was not committed because an
// input would replace what the lake holds with much less
// (transforms.ReplaceCheck; an ID5 full extract that shrinks its partner).
var ErrRefused = errors.New("refused")

// NewRunID returns a sortable, unique run ID: UTC time plus random bits.
func NewRunID() string {
	var b [3]byte
	rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// Chained is implemented by a pipeline that another pipeline must follow in
// the same command because it reads what the first one committed (ID5
// rebuilds id5_mapping_current from the tables its ingest appends to).
type Chained interface {
	// Then returns the pipeline to run after this one, on options o.
	Then(o Options) Pipeline
}

// Execute runs p and returns its report. The report is also stored in the
// lake (lakestate.ReportPath). A run that committed nothing because the reject
// ratio was exceeded returns its report and an error wrapping ErrRejectRatio.
// An input where nothing matches the pipeline's layout, or a filter that
// matches nothing, fails with an error wrapping ErrNothingMatched; a
// --wait-for-success that expires returns the report of the complete units,
// committed, and an error wrapping ErrWaitExpired.
//
// When p is Chained and committed or had nothing to do, Execute then runs
// p.Then(o) with the same options and the run ID "P_RUN_ID-NEXT_NAME"; that
// run stores its own report, and the report returned is p's with the
// partitions (and replaced files) of the chained run added. An error of the
// chained run is returned (wrapped) with p's report.
//
// A run holds its pipeline's lock while it works (lakestate.AcquireLock),
// renewed in the background; runs of other pipelines have their own.
// Another run of the pipeline waits up to LockWait for a live holder, then
// fails with an error wrapping ErrLocked; an expired lock (its holder
// stopped renewing it for a lease) is taken over with a warning. A run
// that loses its lock stops with an error wrapping lakestate.ErrLockLost
// and commits nothing. Chained pipelines run under the first one's lock.
// Before anything else, the run finishes the half-done commits of its
// pipeline (and of the pipelines chained to it) and removes their crashed
// runs' temporary files. A dry run takes no lock and changes nothing.
func Execute(ctx context.Context, p Pipeline, o Options) (transforms.RunReport, error) {
	if o.RunID == "" {
		o.RunID = NewRunID()
	}
	log := o.Logger
	if log == nil {
		log = slog.New(discardHandler{})
	}
	o.Logger = log
	o.lockName, o.lockRunID = p.Name(), o.RunID
	var lockedFS lakefs.FS // the output's, when the run holds its lock
	if !o.DryRun {
		if err := CheckPaths(o.Input, o.Output); err != nil {
			return transforms.RunReport{}, err
		}
		outFS, err := lakefs.New(ctx, o.Output, o.FS)
		if err != nil {
			return transforms.RunReport{}, err
		}
		lock, err := lakestate.AcquireLock(ctx, outFS, o.Output, p.Name(), o.RunID, lakestate.LockOptions{
			Wait: o.LockWait, Lease: o.LockLease, Renew: o.LockRenew, BreakLock: o.BreakLock,
			OnTakeover: func(prev lakestate.LockInfo, why string) {
				log.Warn("lock taken over", "pipeline", p.Name(), "run_id", o.RunID, "lock", lakestate.LockPath(o.Output, p.Name()),
					"previous_run_id", prev.RunID, "previous_host", prev.Host, "previous_pid", prev.PID, "previous_renewed_at", prev.RenewedAt, "why", why)
			},
		})
		if errors.Is(err, ErrLocked) {
			err = fmt.Errorf("%w. Wait for it, or pass --lock-wait=DURATION (a lock that is no longer renewed is taken over after its lease); "+
				"if that run is known to be dead, rerun with --break-lock (its half-done commit, if any, is finished by the next run)", err)
		}
		if err != nil {
			return transforms.RunReport{}, err
		}
		defer lock.Release()
		// A lost lock stops the run: nothing of it commits.
		lctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		go func() {
			select {
			case <-lock.Lost():
				cancel(lock.Err())
			case <-lctx.Done():
			}
		}()
		ctx = lctx
		// Finish what crashed runs of this pipeline (and of those chained
		// to it) left half committed, then drop the temporary files of its
		// runs that never reached their commit.
		for _, q := range chain(p, o) {
			done, err := lakestate.Recover(ctx, outFS, o.Output, q.Name())
			o.recovered = append(o.recovered, done...)
			if err == nil {
				err = lakestate.CleanTemp(ctx, outFS, o.Output, q.Name(), o.RunID)
			}
			if err != nil {
				return transforms.RunReport{RunID: o.RunID, Pipeline: p.Name()}, err
			}
		}
		lockedFS = outFS
		o.outFS = outFS
	}
	if lockedFS != nil && o.KeepReports > 0 {
		// Every run that holds the lock, even one with nothing to do.
		PruneReports(ctx, lockedFS, p, o)
	}
	log.Info("run started", "pipeline", p.Name(), "run_id", o.RunID, "runner", o.Runner, "input", o.Input, "output", o.Output, "dry_run", o.DryRun)
	rep, err := executeChain(ctx, p, o)
	if cause := context.Cause(ctx); cause != nil && err == nil {
		// The run ended as if not interrupted: its commit had started
		// (lakestate.Apply finishes it), or there was nothing to do.
		if rep.Status == transforms.StatusCommitted {
			err = fmt.Errorf("%w once the commit had started: the commit was finished", cause)
		} else {
			err = fmt.Errorf("%w: the run had ended (%s)", cause, strings.ReplaceAll(rep.Status, "_", " "))
		}
	}
	attrs := []any{"pipeline", p.Name(), "run_id", o.RunID, "status", rep.Status, "seconds", rep.Seconds,
		"files", rep.Totals.Files, "records_in", rep.Totals.RecordsIn, "records_out", rep.Totals.RecordsOut, "rejected", rep.Totals.Rejected, "blank_lines", rep.Totals.BlankLines}
	for _, sk := range rep.Skipped {
		if sk.Warning {
			log.Warn("partition skipped", "pipeline", p.Name(), "run_id", o.RunID, "what", sk.What, "reason", sk.Reason)
		}
	}
	for _, h := range rep.HeldBack {
		log.Warn("held back", "pipeline", p.Name(), "run_id", o.RunID, "reason", h.Reason, "unit", h.Unit, "partition", h.Partition,
			"tables", h.Tables, "file", h.File, "error", h.Error)
	}
	if err != nil {
		// Without the error: the command prints it (and the report keeps
		// it), so that one error is read once.
		log.Error("run failed", attrs...)
	} else {
		log.Info("run finished", attrs...)
	}
	return rep, err
}

// PipelineNames are the names of p and of the pipelines chained after it
// (ID5's ingest and its current rebuild): one pipeline for the lock and
// for the retention of reports.
func PipelineNames(p Pipeline, o Options) []string {
	names := []string{p.Name()}
	for c, ok := p.(Chained); ok; c, ok = p.(Chained) {
		p = c.Then(o)
		names = append(names, p.Name())
	}
	return names
}

// PruneReports removes the reports of p (and of the pipelines chained
// after it) older than o.KeepReports, with the rejects they kept; the
// caller holds p's lock. A failure is a warning in the run's log, not the
// run's failure: the next run tries again.
func PruneReports(ctx context.Context, outFS lakefs.FS, p Pipeline, o Options) {
	log := o.Logger
	if log == nil {
		log = slog.New(discardHandler{})
	}
	start := time.Now()
	pr, err := lakestate.PruneReports(ctx, outFS, o.Output, PipelineNames(p, o), start.Add(-o.KeepReports))
	if err != nil {
		log.Warn("pruning old run reports failed; the next run tries again", "pipeline", p.Name(), "error", err.Error())
		return
	}
	if pr.Reports > 0 {
		log.Info("old run reports removed", "pipeline", p.Name(), "reports", pr.Reports, "reject_files", pr.RejectFiles,
			"keep_reports", o.KeepReports.String(), "seconds", time.Since(start).Seconds())
	}
}

// discardHandler is a slog.Handler that drops everything.
type discardHandler struct{}

func (discardHandler) Enabled(context.Context, slog.Level) bool  { return false }
func (discardHandler) Handle(context.Context, slog.Record) error { return nil }
func (h discardHandler) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h discardHandler) WithGroup(string) slog.Handler           { return h }

func executeChain(ctx context.Context, p Pipeline, o Options) (transforms.RunReport, error) {
	rep, err := executeOne(ctx, p, o)
	// An expired wait still committed the complete units: the chained
	// pipeline follows them, then the run reports the wait.
	waitErr := err
	if !errors.Is(err, ErrWaitExpired) {
		waitErr = nil
	}
	c, ok := p.(Chained)
	if !ok || (err != nil && waitErr == nil) || ctx.Err() != nil || (rep.Status != transforms.StatusCommitted && rep.Status != transforms.StatusNothingToDo) {
		return rep, err
	}
	next := c.Then(o)
	no := o
	no.RunID = rep.RunID + "-" + next.Name()
	no.recovered = nil
	nrep, err := executeChain(ctx, next, no)
	rep.Partitions = append(rep.Partitions, nrep.Partitions...)
	rep.FilesReplaced += nrep.FilesReplaced
	if err != nil {
		return rep, fmt.Errorf("%s (run %s): %w", next.Name(), no.RunID, err)
	}
	return rep, waitErr
}

// chain is p and the pipelines chained to it.
func chain(p Pipeline, o Options) []Pipeline {
	out := []Pipeline{p}
	for {
		c, ok := p.(Chained)
		if !ok {
			return out
		}
		p = c.Then(o)
		out = append(out, p)
	}
}

func executeOne(ctx context.Context, p Pipeline, o Options) (transforms.RunReport, error) {
	started := time.Now().UTC()
	if o.RunID == "" {
		o.RunID = NewRunID()
	}
	rep := transforms.RunReport{RunID: o.RunID, Pipeline: p.Name(), Version: o.Version, Runner: o.Runner, Input: o.Input, Output: o.Output,
		OrchestratorRunID: o.Label, StartedAt: started, MaxRejectRatio: o.MaxRejectRatio}
	if err := CheckPaths(o.Input, o.Output); err != nil {
		return rep, err
	}
	inFS, err := lakefs.New(ctx, o.Input, o.FS)
	if err != nil {
		return rep, err
	}
	outFS := o.outFS
	if outFS == nil {
		if outFS, err = lakefs.New(ctx, o.Output, o.FS); err != nil {
			return rep, err
		}
	}
	var planned []transforms.InputFile
	fail := func(err error) (transforms.RunReport, error) {
		return commit.Fail(ctx, outFS, rep, planned, err)
	}

	if o.DryRun {
		return dryRun(ctx, p, o, inFS, outFS, rep)
	}

	// Execute recovered the half-done commits of the pipeline.
	recovered := o.recovered
	rep.Recovered = recovered

	led := map[string]ledger.Entry{}
	if !o.Reprocess {
		// A year of scheduled runs leaves thousands of entry files: fold
		// them into the pipeline's snapshot, read at once.
		if _, err := lakestate.CompactLedger(ctx, outFS, o.Output, p.Name(), 0); err != nil {
			return fail(err)
		}
		if led, err = lakestate.LoadLedger(ctx, outFS, o.Output, p.Name()); err != nil {
			return fail(err)
		}
	}
	plan, err := p.Discover(ctx, o.Env(), inFS, led)
	if err != nil {
		return fail(fmt.Errorf("discover %s: %w", o.Input, err))
	}
	// waitErr, when the wait expired, is returned once the complete units
	// are committed.
	var waitErr error
	if o.WaitForSuccess > 0 {
		plan, err = waitForComplete(ctx, plan, o.WaitForSuccess, func() (transforms.Plan, error) { return p.Discover(ctx, o.Env(), inFS, led) })
		if err != nil {
			return fail(fmt.Errorf("discover %s: %w", o.Input, err))
		}
		waitErr = waitExpired(plan, o.WaitForSuccess)
	}
	rep.Skipped = plan.Skipped
	warnings, err := judge(ctx, inFS, o.Input, plan)
	if err != nil {
		return fail(err)
	}
	plan.Skipped = append(plan.Skipped, warnings...)
	rep.Skipped = plan.Skipped
	planned = plan.Files
	if len(plan.Units) == 0 {
		if len(warnings) == 0 {
			rep.Note = nothingNew(led)
		}
		rep, err := commit.Nothing(ctx, outFS, rep)
		if err != nil {
			return rep, err
		}
		return rep, waitErr
	}

	specs := make([]hiveparquet.TableSpec, 0, len(p.Tables()))
	for _, t := range p.Tables() {
		specs = append(specs, t.Spec())
	}
	cfg := commit.Config{
		Pipeline: p.Name(), LockPipeline: o.lockName, LockRunID: o.lockRunID, Version: o.Version, Label: o.Label, Runner: o.Runner, Input: o.Input, Output: o.Output, RunID: o.RunID, FS: o.FS,
		Tables: specs, Claims: plan.Claims, Units: plan.Units, Skipped: plan.Skipped, Recovered: recovered,
		MaxRejectRatio: o.MaxRejectRatio, StartedAt: started, ExpectedFiles: len(plan.Files),
		AllowEmpty:               o.AllowEmptyPartitions,
		MaxAttachmentRejectRatio: o.MaxAttachmentRejectRatio,
	}
	if len(plan.Files) == 0 {
		// Only partitions to empty: no Beam job needed.
		if err := commit.Run(ctx, outFS, cfg, nil, nil); err != nil {
			return fail(err)
		}
	} else {
		pl, s := beam.NewPipelineWithRoot()
		if err := BuildGraph(s, p, o, cfg, plan); err != nil {
			return fail(err)
		}
		var stopProgress chan struct{}
		if o.Progress != nil {
			stopProgress = make(chan struct{})
			var total int64
			for _, f := range plan.Files {
				total += f.Size
			}
			go reportProgress(ctx, outFS, o.Output, p.Name(), o.RunID, len(plan.Files), total, o.ProgressInterval, o.Progress, o.ProgressTerminal, o.Logger, stopProgress)
		}
		err := runBeam(ctx, o.Runner, pl)
		if stopProgress != nil {
			close(stopProgress)
		}
		if err != nil {
			return fail(pipelineError(err))
		}
	}
	// The commit may have finished after an interruption (lakestate.Apply):
	// its report is read all the same.
	final, err := commit.Result(ctx, outFS, o.Output, o.RunID)
	if err != nil {
		return fail(err)
	}
	if final.Status == transforms.StatusRejectRatioExceeded {
		return final, fmt.Errorf("%w: %s", ErrRejectRatio, final.Error)
	}
	if final.Status == transforms.StatusRefused {
		return final, fmt.Errorf("%w: %s", ErrRefused, final.Error)
	}
	return final, waitErr
}

// BuildGraph adds the Beam graph of a run of p to s: the planned files
// (spread over workers), p.Read, one Parquet sink step per batch output,
// the commit of cfg, and, when o.Progress is set, the progress counter of
// every input file. It fails when p.Read returns no batch output.
func BuildGraph(s beam.Scope, p Pipeline, o Options, cfg commit.Config, plan transforms.Plan) error {
	files := beam.CreateList(s, plan.Files)
	// Spread the files over workers on distributed runners.
	files = beam.Reshuffle(s, files)
	out := p.Read(s, o.Env(), plan, files)
	if len(out.Batches) == 0 {
		return fmt.Errorf("%s: Read returned no batch output", p.Name())
	}
	// One write step per batch output (see Outputs); only the small file
	// descriptors are flattened.
	written := make([]beam.PCollection, len(out.Batches))
	for i, batches := range out.Batches {
		written[i] = hiveparquet.Write(s, p.Tables(), o.Output, p.Name(), o.RunID, o.FS, o.Write, batches)
	}
	commit.Publish(s, cfg, beam.Flatten(s, written...), out.Stats)
	if o.Progress != nil {
		beam.ParDo0(s, &progressFn{Output: o.Output, Pipeline: p.Name(), RunID: o.RunID, FS: o.FS}, out.Stats)
	}
	return nil
}

// CheckPaths refuses an output inside the input or the reverse: vendor data
// is never overwritten, and a lake is never read as vendor input.
func CheckPaths(input, output string) error {
	if input == "" || output == "" {
		return errors.New("both --input and --output are required")
	}
	in, out := lakefs.Clean(input), lakefs.Clean(output)
	if lakefs.Scheme(in) == "" {
		in = lakefs.Clean(abs(in))
	}
	if lakefs.Scheme(out) == "" {
		out = lakefs.Clean(abs(out))
	}
	if lakefs.Contains(in, out) {
		return fmt.Errorf("--output %s lies inside --input %s: refusing to write into vendor data", output, input)
	}
	if lakefs.Contains(out, in) {
		return fmt.Errorf("--input %s lies inside --output %s: refusing to read the lake as vendor input", input, output)
	}
	return nil
}
