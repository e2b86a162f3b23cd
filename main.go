// Command vendorlake turns the files data vendors drop into a bucket into
// Hive-partitioned Parquet tables, with Apache Beam pipelines that run on
// the direct or prism runner locally and on Flink through Beam's portable
// runner.
//
//	vendorlake didomi --input=DIR|s3://... --output=DIR|s3://... [flags]
//	vendorlake demo
//
// Exit codes: 0 committed (or nothing to do, or a dry run), 1 failed,
// 2 usage error, 3 not committed because the reject ratio exceeded
// --max-reject-ratio or (ID5) a full extract would shrink its partner's
// mapping beyond --max-extract-shrink, 4 another run holds the output's lock,
// 5 committed, but the proofs of some partitions were held back (Didomi:
// proof archive entries rejected beyond --max-proof-reject-ratio; the
// summary names them).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/options/jobopts"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/direct"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/flink"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/spark"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/universal"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/pipelines/audiencestudio"
	"github.com/vendorlake/vendorlake/pipelines/didomi"
	"github.com/vendorlake/vendorlake/pipelines/id5"
	"github.com/vendorlake/vendorlake/pipelines/run"
	"github.com/vendorlake/vendorlake/transforms"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitRejectRatio = 3
	exitLocked      = 4
	exitHeldBack    = 5
)

// defaultMemoryLimit is the Go runtime's soft memory limit when GOMEMLIMIT
// is not set. A run's live heap stays in the low hundreds of MiB (inputs
// are streamed, the ID5 rebuild spills), but the garbage collector's pacing
// lets the heap reach twice the last live size between cycles, so bursts
// of short-lived buffers (a row group read, a chunk of lines) briefly
// doubled the peak. The limit makes the collector run sooner near it; it
// does not cap live memory. Workers with more memory may raise it with
// GOMEMLIMIT (e.g. GOMEMLIMIT=4GiB) or turn it off (GOMEMLIMIT=off).
const defaultMemoryLimit = 768 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	stop := startProfile()
	code := mainCode(os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func mainCode(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return exitOK
	}
	if strings.HasPrefix(args[0], "-") {
		// Invoked by a Beam runner as a worker (--worker --id=...): the
		// harness runs inside beam.Init and exits.
		flag.CommandLine.Parse(args)
		beam.Init()
		usage(stderr)
		return exitUsage
	}
	if args[0] != "ddl" {
		// The Parquet sink patches Arrow internals; refuse to write if a
		// patch does not take effect (hiveparquet.CheckArrowPatches).
		if err := hiveparquet.CheckArrowPatches(); err != nil {
			fmt.Fprintf(stderr, "vendorlake: %v\n", err)
			return exitFailed
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case didomi.Name, id5.Name:
		return runPipeline(ctx, args[0], args[1:], stdout, stderr)
	case audiencestudio.Command:
		if len(args) < 2 || (args[1] != "requests" && args[1] != "portability") {
			fmt.Fprintf(stderr, "usage: vendorlake %s requests|portability --input=ROOT --output=ROOT [flags]\n", args[0])
			return exitUsage
		}
		return runPipeline(ctx, args[0]+" "+args[1], args[2:], stdout, stderr)
	case "demo":
		return demo(ctx, args[1:], stdout, stderr)
	case "ddl":
		return ddl(args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "vendorlake: unknown command %q\n\n", args[0])
		usage(stderr)
		return exitUsage
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `vendorlake: vendor files → Hive-partitioned Parquet tables (Apache Beam).

Commands:
  didomi   Didomi batch export (users, events, proofs) → didomi_users, didomi_events, didomi_rejects,
           didomi_proofs, didomi_proof_check, didomi_proof_files/
  audiencestudio requests     Audience Studio consent request files → audiencestudio_requests, audiencestudio_rejects
  audiencestudio portability  Audience Studio portability feeds → audiencestudio_portability_events, audiencestudio_portability_rejects
  id5      ID5 Partner Graph files → id5_mapping_updates, id5_full_extracts, id5_mapping_current, id5_rejects
  demo     run every pipeline on the bundled samples in testdata/ into ./lake
  ddl      print CREATE TABLE statements (Athena, Spark, DuckDB) for every table

Run 'vendorlake COMMAND -h' for a command's flags.
Exit codes: 0 ok or nothing to do, 1 failed, 2 usage, 3 reject ratio exceeded or (id5) a full extract
refused by --max-extract-shrink (nothing committed), 4 output locked by another run, 5 committed but
the proofs of some partitions held back (proof entries rejected beyond --max-proof-reject-ratio; the
summary names the partitions).
`)
}

// common are the flags every pipeline command takes.
type common struct {
	input, output  string
	runner         string
	maxRejectRatio float64
	reprocess      bool
	allowEmpty     bool
	compression    string
	level          int
	targetFileMiB  int64
	rowGroupRows   int64
	rowGroupMiB    int64
	maxLineMiB     int
	fs             lakefs.Options
	logFormat      string
	verbose        bool
	dryRun         bool
	waitForSuccess time.Duration
	lockWait       time.Duration
	breakLock      bool
	progress       string
	progressEvery  time.Duration
	pageV2         bool

	// maxAttachmentRejectRatio is set by pipelines with attachments
	// (Didomi: --max-proof-reject-ratio).
	maxAttachmentRejectRatio float64
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.input, "input", "", "input root: a local folder or s3://bucket/prefix (required)")
	fs.StringVar(&c.output, "output", "", "output root of the lake: a local folder or s3://bucket/prefix (required)")
	fs.StringVar(&c.runner, "runner", "direct", "Beam runner: direct, prism, universal (with --endpoint), flink or spark")
	fs.Float64Var(&c.maxRejectRatio, "max-reject-ratio", 0.01, "largest share of rejected records that still commits (0..1)")
	fs.BoolVar(&c.reprocess, "reprocess", false, "ignore the ledger: read selected inputs even if already committed")
	fs.BoolVar(&c.allowEmpty, "allow-empty-partitions", false, "commit a complete partition that yields no record empty (default: skip it with a warning, keeping its previous contents)")
	fs.StringVar(&c.compression, "compression", hiveparquet.DefaultCompression, "Parquet compression: zstd, snappy, gzip or none")
	fs.IntVar(&c.level, "compression-level", 0, "codec level: zstd 1 (fastest) to 22, gzip 1 to 9; 0 is the codec's default (zstd 3)")
	fs.Int64Var(&c.targetFileMiB, "target-file-mib", hiveparquet.DefaultTargetFileBytes>>20, "roll output files at this many MiB of uncompressed data")
	fs.Int64Var(&c.rowGroupRows, "row-group-rows", hiveparquet.DefaultRowGroupRows, "end a Parquet row group at this many rows (small input files are coalesced)")
	fs.Int64Var(&c.rowGroupMiB, "row-group-mib", hiveparquet.DefaultRowGroupBytes>>20, "end a Parquet row group at this many MiB of uncompressed data")
	fs.IntVar(&c.maxLineMiB, "max-line-mib", transforms.DefaultMaxLineBytes>>20, "reject lines longer than this many MiB")
	fs.BoolVar(&c.pageV2, "parquet-data-page-v2", false, "write Parquet data pages V2: much faster writes, but Spark before 3.3 cannot read them with its vectorized reader")
	fs.StringVar(&c.fs.S3Endpoint, "s3-endpoint", "", "S3 endpoint URL for S3-compatible stores (e.g. http://127.0.0.1:9000)")
	fs.StringVar(&c.fs.S3Region, "s3-region", "", "S3 region (default: from the AWS configuration)")
	fs.BoolVar(&c.fs.S3PathStyle, "s3-path-style", false, "use path-style S3 addressing (MinIO)")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format on stderr: text or json")
	fs.BoolVar(&c.verbose, "verbose", false, "log Beam's and the runner's own messages too")
	fs.BoolVar(&c.dryRun, "dry-run", false, "print the plan (inputs to read, partitions to replace, inputs skipped and why) and change nothing")
	fs.DurationVar(&c.waitForSuccess, "wait-for-success", 0, "poll this long (e.g. 30m) for selected inputs whose _SUCCESS marker is missing")
	fs.DurationVar(&c.lockWait, "lock-wait", 0, "wait this long for another run's lock on --output before giving up (exit 4)")
	fs.BoolVar(&c.breakLock, "break-lock", false, "remove the output's lock first: only when its run is known to be dead")
	fs.StringVar(&c.progress, "progress", "auto", "progress on stderr: auto (a live line on a terminal, a log line every --progress-interval otherwise), on, off")
	fs.DurationVar(&c.progressEvery, "progress-interval", 30*time.Second, "interval of progress log lines when stderr is not a terminal")
}

func (c *common) options() (run.Options, error) {
	if c.input == "" || c.output == "" {
		return run.Options{}, errors.New("--input and --output are required")
	}
	if c.maxRejectRatio < 0 || c.maxRejectRatio > 1 {
		return run.Options{}, fmt.Errorf("--max-reject-ratio=%g: want a number from 0 to 1", c.maxRejectRatio)
	}
	wo := hiveparquet.WriteOptions{Compression: c.compression, CompressionLevel: c.level, TargetFileBytes: c.targetFileMiB << 20,
		RowGroupRows: c.rowGroupRows, RowGroupBytes: c.rowGroupMiB << 20, DataPageV2: c.pageV2}
	if err := wo.Check(); err != nil {
		return run.Options{}, err
	}
	if c.logFormat != "text" && c.logFormat != "json" {
		return run.Options{}, fmt.Errorf("--log-format=%s: want text or json", c.logFormat)
	}
	if c.targetFileMiB <= 0 || c.maxLineMiB <= 0 || c.rowGroupRows <= 0 || c.rowGroupMiB <= 0 {
		return run.Options{}, errors.New("--target-file-mib, --row-group-rows, --row-group-mib and --max-line-mib must be positive")
	}
	return run.Options{
		Input: c.input, Output: c.output, Runner: c.runner, FS: c.fs,
		Write:          wo,
		Lines:          transforms.LineOptions{MaxLineBytes: c.maxLineMiB << 20},
		MaxRejectRatio: c.maxRejectRatio, Reprocess: c.reprocess, AllowEmptyPartitions: c.allowEmpty,
		DryRun: c.dryRun, WaitForSuccess: c.waitForSuccess, LockWait: c.lockWait, BreakLock: c.breakLock,
	}, nil
}

// progressTo sets where progress goes: a live line when stderr is a
// terminal, periodic log lines otherwise, nothing with --progress=off.
func (c *common) progressTo(o *run.Options, stderr io.Writer) error {
	terminal := false
	if f, ok := stderr.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			terminal = true
		}
	}
	switch c.progress {
	case "off":
		return nil
	case "auto":
		if _, ok := stderr.(*os.File); !ok {
			return nil // in-process callers (tests) get no progress
		}
	case "on":
	default:
		return fmt.Errorf("--progress=%s: want auto, on or off", c.progress)
	}
	if c.progressEvery <= 0 {
		return errors.New("--progress-interval must be positive")
	}
	o.Progress, o.ProgressTerminal, o.ProgressInterval = stderr, terminal, c.progressEvery
	if !terminal && o.Logger == nil {
		return errors.New("internal error: progress lines need the run logger")
	}
	if terminal {
		o.ProgressInterval = time.Second
	}
	return nil
}

// setupLogging keeps Beam's and prism's chatter out of a user's terminal
// unless --verbose.
func (c *common) setupLogging(stderr io.Writer) {
	level := slog.LevelWarn
	if c.verbose {
		level = slog.LevelDebug
	}
	var h slog.Handler = slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})
	if c.logFormat == "json" {
		h = slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level})
	}
	slog.SetDefault(slog.New(h))
	beamlog.SetLogger(beamLogger{verbose: c.verbose})
}

// logger is the run's own structured log on stderr (--log-format), at Info
// level; Beam's and the runner's messages stay at Warn unless --verbose.
func (c *common) logger(stderr io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if c.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(stderr, opts))
	}
	return slog.New(slog.NewTextHandler(stderr, opts))
}

type beamLogger struct{ verbose bool }

func (l beamLogger) Log(ctx context.Context, sev beamlog.Severity, _ int, msg string) {
	if sev >= beamlog.SevWarn || l.verbose {
		slog.Log(ctx, slog.Level((int(sev)-2)*4), "beam: "+strings.TrimSpace(msg))
	}
}

// parseFlags parses a command's flags, plus Beam's runner flags such as
// --endpoint and --environment_type, then initialises Beam.
func parseFlags(name string, args []string, stderr io.Writer, c *common, extra func(*flag.FlagSet), help string) error {
	// A fresh flag set per call, carrying Beam's own flags (registered on
	// the global set by the runner packages) so that they parse too.
	fs := flag.NewFlagSet("vendorlake "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	// Start from Beam's defaults: a previous in-process run (tests, demo)
	// must not leak its job server or environment into this one.
	*jobopts.Endpoint, *jobopts.EnvironmentType, *jobopts.EnvironmentConfig = "", "", ""
	flag.CommandLine.VisitAll(func(f *flag.Flag) { fs.Var(f.Value, f.Name, f.Usage) })
	c.register(fs)
	if extra != nil {
		extra(fs)
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: vendorlake %s --input=ROOT --output=ROOT [flags]\n\n%s\n\nFlags:\n", name, help)
		ours := map[string]bool{}
		probe := flag.NewFlagSet("", flag.ContinueOnError)
		c.register(probe)
		if extra != nil {
			extra(probe)
		}
		probe.VisitAll(func(f *flag.Flag) { ours[f.Name] = true })
		fs.VisitAll(func(f *flag.Flag) {
			if ours[f.Name] {
				fmt.Fprintf(stderr, "  --%s\n    \t%s (default %q)\n", f.Name, f.Usage, f.DefValue)
			}
		})
		fmt.Fprintln(stderr, "\nBeam runner flags are accepted too: --endpoint, --environment_type, --environment_config, --job_name, --parallelism.")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	beam.Init() // sets Beam's own slog default; ours replaces it below
	c.setupLogging(stderr)
	return nil
}

func runPipeline(ctx context.Context, name string, args []string, stdout, stderr io.Writer) int {
	var c common
	var p run.Pipeline
	switch name {
	case didomi.Name:
		var sel didomi.Selection
		var maxProofRejects float64
		err := parseFlags(name, args, stderr, &c, func(fs *flag.FlagSet) {
			fs.StringVar(&sel.ExportID, "export-id", "", "read only this export-id")
			fs.StringVar(&sel.From, "from", "", "first date to read, YYYY-MM-DD (inclusive)")
			fs.StringVar(&sel.To, "to", "", "last date to read, YYYY-MM-DD (inclusive)")
			fs.BoolVar(&sel.Proofs, "proofs", true, "also read the proof archives (proofs.tar.gz.NN) into didomi_proof_files, didomi_proofs and didomi_proof_check")
			fs.Float64Var(&maxProofRejects, "max-proof-reject-ratio", 0.01, "largest share of rejected entries in a partition's proof archive that still commits its proof tables (0..1); over it, the partition's users and events are committed, its proof tables keep their previous contents, and the run exits 5")
		}, "Reads INPUT/export-id=ID/date=YYYY-MM-DD/users/*.json.gz (and proofs.tar.gz.NN) from complete partitions (_SUCCESS)\nand writes didomi_users, didomi_events, didomi_rejects and the proof tables under OUTPUT.")
		if err != nil {
			return usageErr(stderr, err)
		}
		if err := checkDates(sel.From, sel.To); err != nil {
			return usageErr(stderr, err)
		}
		if maxProofRejects < 0 || maxProofRejects > 1 {
			return usageErr(stderr, fmt.Errorf("--max-proof-reject-ratio=%g: want a number from 0 to 1", maxProofRejects))
		}
		c.maxAttachmentRejectRatio = maxProofRejects
		p = didomi.Pipeline{Selection: sel}
	case audiencestudio.Command + " requests":
		var sel audiencestudio.RequestsSelection
		var splitMiB int64
		err := parseFlags(name, args, stderr, &c, func(fs *flag.FlagSet) {
			fs.StringVar(&sel.From, "from", "", "first upload date to read, YYYY-MM-DD (inclusive)")
			fs.StringVar(&sel.To, "to", "", "last upload date to read, YYYY-MM-DD (inclusive)")
			fs.IntVar(&sel.Splits, "lzo-splits", 0, "cut every indexed .lzo file into this many parallel splits (0: one per --lzo-split-mib)")
			fs.Int64Var(&splitMiB, "lzo-split-mib", audiencestudio.DefaultSplitBytes>>20, "compressed MiB per split of an indexed .lzo file")
		}, "Reads INPUT/uploads/consent-data/YYYY-MM-DD/* (plain, gzip or lzop; an .lzo.index beside an .lzo file\n"+
			"splits it across workers) and writes audiencestudio_requests and audiencestudio_rejects under OUTPUT.")
		if err != nil {
			return usageErr(stderr, err)
		}
		if err := checkDates(sel.From, sel.To); err != nil {
			return usageErr(stderr, err)
		}
		if sel.Splits < 0 || splitMiB <= 0 {
			return usageErr(stderr, errors.New("--lzo-splits must be >= 0 and --lzo-split-mib > 0"))
		}
		sel.SplitBytes = splitMiB << 20
		p = audiencestudio.RequestsPipeline{Selection: sel}
	case audiencestudio.Command + " portability":
		var sel audiencestudio.PortabilitySelection
		err := parseFlags(name, args, stderr, &c, func(fs *flag.FlagSet) {
			fs.StringVar(&sel.RequestID, "request-id", "", "read only this portability request")
			fs.StringVar(&sel.From, "from", "", "first date to read, YYYY-MM-DD (inclusive)")
			fs.StringVar(&sel.To, "to", "", "last date to read, YYYY-MM-DD (inclusive)")
		}, "Reads INPUT/portability/REQUEST_ID/YYYY-MM-DD/DATA_SOURCE/BK/KUID from complete request days\n"+
			"(REQUEST_ID/YYYY-MM-DD/_SUCCESS or REQUEST_ID/_SUCCESS) and writes audiencestudio_portability_events and audiencestudio_portability_rejects under OUTPUT.")
		if err != nil {
			return usageErr(stderr, err)
		}
		if err := checkDates(sel.From, sel.To); err != nil {
			return usageErr(stderr, err)
		}
		p = audiencestudio.PortabilityPipeline{Selection: sel}
	case id5.Name:
		var sel id5.Selection
		var source, partner int
		maxShrink := id5.DefaultMaxExtractShrink
		err := parseFlags(name, args, stderr, &c, func(fs *flag.FlagSet) {
			fs.Float64Var(&maxShrink, "max-extract-shrink", id5.DefaultMaxExtractShrink,
				"largest share of a partner's current UIDs that a new full extract may lack and still commit (0..1; 1 also accepts an extract without a valid row for a partner it names)")
			fs.IntVar(&source, "source-gvlid", 0, "GVLID of your UIDs, written as source_gvlid of per-partner rows (required)")
			fs.IntVar(&partner, "partner", 0, "read only the per-partner files of this partner GVLID (single-file deliveries are then not read)")
			fs.StringVar(&sel.From, "from", "", "first delivery day to read, YYYY-MM-DD (inclusive)")
			fs.StringVar(&sel.To, "to", "", "last delivery day to read, YYYY-MM-DD (inclusive)")
		}, "Reads INPUT/incremental/ and INPUT/full-extracts/ (per-partner and single-file layouts, plain or gzip),\n"+
			"new or changed files only (ledger), into id5_mapping_updates, id5_full_extracts, id5_extract_partners\n"+
			"and id5_rejects under OUTPUT, then rebuilds id5_mapping_current from those tables.")
		if err != nil {
			return usageErr(stderr, err)
		}
		if err := checkDates(sel.From, sel.To); err != nil {
			return usageErr(stderr, err)
		}
		if source <= 0 || source > math.MaxInt32 || partner < 0 || partner > math.MaxInt32 {
			return usageErr(stderr, errors.New("--source-gvlid is required and, like --partner, must be a positive GVLID"))
		}
		if maxShrink < 0 || maxShrink > 1 || math.IsNaN(maxShrink) {
			return usageErr(stderr, fmt.Errorf("--max-extract-shrink=%g: want a number from 0 to 1", maxShrink))
		}
		sel.Partner = int32(partner)
		p = id5.Pipeline{SourceGVLID: int32(source), Selection: sel, MaxExtractShrink: maxShrink}
	}
	opts, err := c.options()
	if err != nil {
		return usageErr(stderr, err)
	}
	opts.MaxAttachmentRejectRatio = c.maxAttachmentRejectRatio
	if err := checkPortablePaths(opts); err != nil {
		return usageErr(stderr, err)
	}
	if _, ok := stderr.(*os.File); ok {
		// The run's log; in-process callers (tests) read only the summary
		// and errors.
		opts.Logger = c.logger(stderr)
	}
	if err := c.progressTo(&opts, stderr); err != nil {
		return usageErr(stderr, err)
	}
	return execute(ctx, p, opts, stdout, stderr)
}

func execute(ctx context.Context, p run.Pipeline, opts run.Options, stdout, stderr io.Writer) int {
	// run.Execute hands the run ID to a pipeline that writes files of its
	// own (Didomi proofs, the ID5 rebuild's spill) through run.ForRunner.
	rep, err := run.Execute(ctx, p, opts)
	if rep.RunID != "" && rep.Status != "" {
		run.PrintSummary(stdout, rep)
	}
	switch {
	case errors.Is(err, run.ErrRejectRatio):
		return exitRejectRatio
	case errors.Is(err, run.ErrRefused):
		fmt.Fprintf(stderr, "vendorlake %s: %v\n", p.Name(), err)
		return exitRejectRatio
	case errors.Is(err, run.ErrLocked):
		fmt.Fprintf(stderr, "vendorlake %s: %v\n", p.Name(), err)
		return exitLocked
	case err != nil:
		fmt.Fprintf(stderr, "vendorlake %s: %v\n", p.Name(), err)
		return exitFailed
	}
	if held := rep.HeldBackPartitions(); len(held) > 0 {
		fmt.Fprintf(stderr, "vendorlake %s: committed, but the %s of %d partitions were held back (entries rejected beyond their bound): %s\n",
			p.Name(), rep.Attachments.Kind, len(held), strings.Join(held, ", "))
		return exitHeldBack
	}
	return exitOK
}

// checkPortablePaths fails early when a run on a cluster (workers in
// containers or on other hosts) is given local paths that its workers
// cannot see. LOOPBACK workers run inside this process and see them.
func checkPortablePaths(o run.Options) error {
	switch o.Runner {
	case "direct", "prism", "":
		return nil
	}
	env := strings.ToLower(*jobopts.EnvironmentType)
	if env == "loopback" {
		return nil
	}
	for _, p := range []string{o.Input, o.Output} {
		if lakefs.Scheme(p) == "" || lakefs.Scheme(p) == "file" {
			return fmt.Errorf("--runner=%s with --environment_type=%s runs workers that cannot see the local path %s: use s3:// for --input and --output (or --environment_type=LOOPBACK to run the workers in this process)",
				o.Runner, orDefault(env, "DOCKER"), p)
		}
	}
	return nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func checkDates(from, to string) error {
	for _, d := range []string{from, to} {
		if d == "" {
			continue
		}
		if len(d) != 10 || d[4] != '-' || d[7] != '-' {
			return fmt.Errorf("date %q: want YYYY-MM-DD", d)
		}
	}
	if from != "" && to != "" && from > to {
		return fmt.Errorf("--from=%s is after --to=%s", from, to)
	}
	return nil
}

func usageErr(stderr io.Writer, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	fmt.Fprintf(stderr, "vendorlake: %v\n", err)
	return exitUsage
}
