package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/options/jobopts"
	"github.com/peterbourgon/ff/v3"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/pipelines/run"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

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
	lockLease      time.Duration
	lockRenew      time.Duration
	progress       string
	progressEvery  time.Duration
	pageV2         bool
	label          string
	reportFile     string
	summary        string
	keepReports    time.Duration
	// fromEnv are the flags set from the environment (VENDORLAKE_…), for
	// the message of a bad value.
	fromEnv []string
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.input, "input", "", "input root: a local folder or s3://bucket/prefix (required)")
	fs.StringVar(&c.output, "output", "", "output root of the lake: a local folder or s3://bucket/prefix (required); it may not lie inside --input, nor the reverse")
	fs.StringVar(&c.runner, "runner", "direct", "Beam runner: direct, prism (Beam's portable runner, in process), flink, spark or universal (these three with --endpoint=HOST:PORT of the job server); case-insensitive")
	fs.Float64Var(&c.maxRejectRatio, "max-reject-ratio", 0.01, "largest share of rejected records, (rejected lines + rejected events) / (lines + events read), that still commits (0..1); over it the run commits nothing and exits 3")
	fs.BoolVar(&c.reprocess, "reprocess", false, "ignore the ledger: read selected inputs even if already committed")
	fs.BoolVar(&c.allowEmpty, "allow-empty-partitions", false, "commit a complete partition that yields no record empty (default: skip it with a warning, keeping its previous contents)")
	fs.StringVar(&c.compression, "compression", hiveparquet.DefaultCompression, "Parquet compression: zstd, snappy, gzip or none")
	fs.IntVar(&c.level, "compression-level", 0, "codec level: zstd 1 (fastest) to 22, gzip 1 to 9; 0 is the codec's default (zstd 3)")
	fs.Int64Var(&c.targetFileMiB, "target-file-mib", hiveparquet.DefaultTargetFileBytes>>20, "roll output files at this many MiB of uncompressed data")
	fs.Int64Var(&c.rowGroupRows, "row-group-rows", hiveparquet.DefaultRowGroupRows, "end a Parquet row group at this many rows (small input files are coalesced)")
	fs.Int64Var(&c.rowGroupMiB, "row-group-mib", hiveparquet.DefaultRowGroupBytes>>20, "end a Parquet row group at this many MiB of uncompressed data")
	fs.IntVar(&c.maxLineMiB, "max-line-mib", lineparse.DefaultMaxLineBytes>>20, "reject lines longer than this many MiB")
	fs.BoolVar(&c.pageV2, "parquet-data-page-v2", false, "write Parquet data pages V2 instead of V1 (off by default: Spark before 3.3 cannot read V2 pages with its vectorized reader)")
	fs.StringVar(&c.fs.S3Endpoint, "s3-endpoint", "", "S3 endpoint URL for S3-compatible stores (e.g. http://127.0.0.1:9000)")
	fs.StringVar(&c.fs.S3Region, "s3-region", "", "S3 region (default: from the AWS configuration)")
	fs.BoolVar(&c.fs.S3PathStyle, "s3-path-style", false, "use path-style S3 addressing (MinIO)")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format on stderr: text or json")
	fs.BoolVar(&c.verbose, "verbose", false, "log Beam's and the runner's own messages too")
	fs.BoolVar(&c.dryRun, "dry-run", false, "print the plan (inputs to read, partitions to replace, inputs skipped and why) and change nothing")
	fs.DurationVar(&c.waitForSuccess, "wait-for-success", 0, "poll this long (e.g. 30m) for selected inputs whose _SUCCESS marker is missing; when it expires, the complete units are committed and the run exits 7")
	fs.DurationVar(&c.lockWait, "lock-wait", 0, "wait this long for another run's lock on --output before giving up (exit 4)")
	fs.BoolVar(&c.breakLock, "break-lock", false, "remove the output's lock first: only when its run is known to be dead")
	fs.DurationVar(&c.lockLease, "lock-lease", 60*time.Second, "a pipeline's lock not renewed for this long is expired: another run takes it over")
	fs.DurationVar(&c.lockRenew, "lock-renew", 10*time.Second, "renew the pipeline's lock this often while the run works (shorter than --lock-lease)")
	fs.StringVar(&c.progress, "progress", "auto", "progress on stderr: auto (a live line on a terminal, a log line every --progress-interval otherwise), on, off")
	fs.DurationVar(&c.progressEvery, "progress-interval", 30*time.Second, "interval of progress log lines when stderr is not a terminal")
	fs.StringVar(&c.label, "run-id", "", "the orchestrator's ID of this run (e.g. Airflow's run_id), recorded in the report and summary as orchestrator_run_id; a label only, the run's own ID still names its files")
	fs.StringVar(&c.reportFile, "report-file", "", "also write the run report (JSON) to this path: a local file or s3://bucket/key")
	fs.StringVar(&c.summary, "summary", "text", "the summary on stdout: text, or json (one JSON object: the run report plus exit_code)")
	c.registerKeepReports(fs)
}

// registerKeepReports registers --keep-reports, which prune takes too.
func (c *common) registerKeepReports(fs *flag.FlagSet) {
	fs.DurationVar(&c.keepReports, "keep-reports", defaultKeepReports, "remove this pipeline's run reports (and their kept rejects) older than this at each run; 0 keeps them all (the ledger is never pruned)")
}

// defaultKeepReports is how long run reports are kept: 30 days.
const defaultKeepReports = 720 * time.Hour

// runners are the Beam runners the command offers, by --runner's name.
var runners = []string{"direct", "prism", "universal", "flink", "spark"}

// checkRunner lower-cases --runner and checks that it names one of runners:
// the first check of a command's flags, so that no other message (a path
// that the workers of a misspelled runner could not see) hides it, and no
// unknown name reaches Beam, which ends the process for it.
func (c *common) checkRunner() error {
	c.runner = strings.ToLower(c.runner)
	if !slices.Contains(runners, c.runner) {
		return fmt.Errorf("--runner=%s: want one of %s", c.runner, strings.Join(runners, ", "))
	}
	return nil
}

// validate checks the common flags, in the order a user meets them.
func (c *common) validate() error {
	if err := c.checkRunner(); err != nil {
		return err
	}
	if c.input == "" || c.output == "" {
		return errors.New("--input and --output are required")
	}
	if c.lockRenew <= 0 || c.lockRenew >= c.lockLease {
		return fmt.Errorf("--lock-renew=%s --lock-lease=%s: the renewal must be shorter than the lease, and positive", c.lockRenew, c.lockLease)
	}
	if c.maxRejectRatio < 0 || c.maxRejectRatio > 1 {
		return fmt.Errorf("--max-reject-ratio=%g: want a number from 0 to 1", c.maxRejectRatio)
	}
	if err := c.writeOptions().Check(); err != nil {
		return err
	}
	if err := checkLogFormat(c.logFormat); err != nil {
		return err
	}
	if c.targetFileMiB <= 0 || c.maxLineMiB <= 0 || c.rowGroupRows <= 0 || c.rowGroupMiB <= 0 {
		return errors.New("--target-file-mib, --row-group-rows, --row-group-mib and --max-line-mib must be positive")
	}
	if err := run.CheckPaths(c.input, c.output); err != nil {
		return err // the output inside the input, or the reverse
	}
	if err := checkPortablePaths(c.runner, c.input, c.output); err != nil {
		return err
	}
	switch c.progress {
	case "off", "auto", "on":
	default:
		return fmt.Errorf("--progress=%s: want auto, on or off", c.progress)
	}
	if c.summary != "text" && c.summary != "json" {
		return fmt.Errorf("--summary=%s: want text or json", c.summary)
	}
	if c.keepReports < 0 {
		return fmt.Errorf("--keep-reports=%s: want a duration of 0 (keep every report) or more", c.keepReports)
	}
	if c.progress != "off" && c.progressEvery <= 0 {
		return errors.New("--progress-interval must be positive")
	}
	return nil
}

func (c *common) writeOptions() hiveparquet.WriteOptions {
	return hiveparquet.WriteOptions{Compression: c.compression, CompressionLevel: c.level, TargetFileBytes: c.targetFileMiB << 20,
		RowGroupRows: c.rowGroupRows, RowGroupBytes: c.rowGroupMiB << 20, DataPageV2: c.pageV2,
		CreatedBy: "vendorlake version " + version()}
}

// options are the run options of the (validated) flags: the run's log and
// progress go to con's stderr when it carries them.
func (c *common) options(con console) run.Options {
	o := run.Options{
		Input: c.input, Output: c.output, Version: version(), Runner: c.runner, FS: c.fs,
		Write:          c.writeOptions(),
		Lines:          lineparse.Options{MaxLineBytes: c.maxLineMiB << 20},
		MaxRejectRatio: c.maxRejectRatio, Reprocess: c.reprocess, AllowEmptyPartitions: c.allowEmpty,
		DryRun: c.dryRun, WaitForSuccess: c.waitForSuccess, LockWait: c.lockWait, BreakLock: c.breakLock,
		LockLease: c.lockLease, LockRenew: c.lockRenew,
		Label: c.label, KeepReports: c.keepReports,
	}
	if con.runLog {
		o.Logger = c.logger(con.stderr)
	}
	// Progress: a live line when stderr is a terminal, periodic log lines
	// otherwise, nothing with --progress=off; --progress=auto shows none to
	// in-process callers.
	if c.progress == "on" || (c.progress == "auto" && con.runLog) {
		o.Progress, o.ProgressTerminal, o.ProgressInterval = con.stderr, con.terminal, c.progressEvery
		if con.terminal {
			o.ProgressInterval = time.Second
		} else if o.Logger == nil {
			o.Logger = c.logger(con.stderr)
		}
	}
	return o
}

// checkPortablePaths fails early when a run on a cluster (workers in
// containers or on other hosts) is given local paths that its workers
// cannot see. LOOPBACK workers run inside this process and see them.
func checkPortablePaths(runner, input, output string) error {
	if !run.UsesJobServer(runner) {
		return nil // direct and prism: workers in this process
	}
	env := strings.ToLower(*jobopts.EnvironmentType)
	if env == "loopback" {
		return nil
	}
	if env == "" {
		env = "DOCKER"
	}
	for _, p := range []string{input, output} {
		if lakefs.Scheme(p) == "" || lakefs.Scheme(p) == "file" {
			return fmt.Errorf("--runner=%s with --environment_type=%s runs workers that cannot see the local path %s: use s3:// for --input and --output (or --environment_type=LOOPBACK to run the workers in this process)",
				runner, env, p)
		}
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
	beamlog.SetLogger(run.GuardBeamExits(beamLogger{verbose: c.verbose}))
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
// --endpoint and --environment_type, then initialises Beam. -h and --help
// print the command's usage on con's stdout and return flag.ErrHelp; any
// other error is one line, naming the closest flag to an unknown one and
// pointing to --help.
func parseFlags(name string, args []string, con console, c *common, extra func(*flag.FlagSet), help string) error {
	// A fresh flag set per call, carrying Beam's own flags (registered on
	// the global set by the runner packages, reset by resetBeamFlags) so
	// that they parse too. The flag package's own messages are silenced:
	// the errors below say the same in one line.
	fs := flag.NewFlagSet("vendorlake "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	flag.CommandLine.VisitAll(func(f *flag.Flag) { fs.Var(f.Value, f.Name, f.Usage) })
	c.register(fs)
	if extra != nil {
		extra(fs)
	}
	ours := map[string]bool{}
	probe := flag.NewFlagSet("", flag.ContinueOnError)
	(&common{}).register(probe)
	if extra != nil {
		extra(probe)
	}
	probe.VisitAll(func(f *flag.Flag) { ours[f.Name] = true })
	err := fs.Parse(args)
	if err == nil {
		c.fromEnv, err = parseEnv(fs, ours)
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		w := con.stdout
		fmt.Fprintf(w, "Usage: vendorlake %s --input=ROOT --output=ROOT [flags]\n\n%s\n\nFlags:\n", name, help)
		fs.VisitAll(func(f *flag.Flag) {
			if ours[f.Name] {
				fmt.Fprintf(w, "  --%s\n    \t%s (default %q)\n", f.Name, f.Usage, f.DefValue)
			}
		})
		fmt.Fprintln(w, "\nEach flag but --break-lock and --reprocess may also be set by an environment variable: --max-reject-ratio by VENDORLAKE_MAX_REJECT_RATIO; a flag on the command line wins.")
		fmt.Fprintln(w, "\nBeam runner flags are accepted too: --endpoint, --environment_type, --environment_config, --job_name, --parallelism.")
		return err
	case err != nil:
		msg := err.Error()
		if unknown, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
			unknown = strings.TrimLeft(unknown, "-")
			msg = "unknown flag --" + unknown
			if near := closestFlag(unknown, ours); near != "" {
				msg += " (did you mean --" + near + "?)"
			}
		}
		return fmt.Errorf("%s; see 'vendorlake %s --help'", msg, name)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v; see 'vendorlake %s --help'", fs.Args(), name)
	}
	beam.Init() // sets Beam's own slog default; ours replaces it below
	c.setupLogging(con.stderr)
	return nil
}

// checkLogFormat checks --log-format.
func checkLogFormat(format string) error {
	if format != "text" && format != "json" {
		return fmt.Errorf("--log-format=%s: want text or json", format)
	}
	return nil
}

// parseToolFlags parses args into fs for a command that is not a pipeline
// (ddl, prune): no positional argument, then every flag of fs that args did
// not set from its VENDORLAKE_ variable (parseEnv).
func parseToolFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	ours := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { ours[f.Name] = true })
	_, err := parseEnv(fs, ours)
	return err
}

// envPrefix is the prefix of the environment variables that set the
// command's flags: --max-reject-ratio is VENDORLAKE_MAX_REJECT_RATIO.
const envPrefix = "VENDORLAKE"

// notFromEnv are the flags the environment never sets: one-off decisions
// that a variable left in a scheduler's environment would repeat on every
// run.
var notFromEnv = map[string]bool{"break-lock": true, "reprocess": true}

// envName is the environment variable of the flag name.
func envName(name string) string {
	return envPrefix + "_" + strings.NewReplacer("-", "_", ".", "_").Replace(strings.ToUpper(name))
}

// parseEnv sets each of our flags in fs (ours, by name) that args did not
// set from its VENDORLAKE_ variable, if set: the command line wins over the
// environment. Beam's flags, --break-lock and --reprocess are never read
// from the environment. It returns the names of the flags it set; a bad
// value is an error naming the variable.
func parseEnv(fs *flag.FlagSet, ours map[string]bool) ([]string, error) {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	env := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
	env.SetOutput(io.Discard)
	fs.VisitAll(func(f *flag.Flag) {
		if ours[f.Name] && !given[f.Name] && !notFromEnv[f.Name] {
			env.Var(f.Value, f.Name, f.Usage)
		}
	})
	if err := ff.Parse(env, nil, ff.WithEnvVarPrefix(envPrefix)); err != nil {
		var name string
		env.VisitAll(func(f *flag.Flag) {
			if name == "" && strings.Contains(err.Error(), `"`+envName(f.Name)+`"`) {
				name = f.Name
			}
		})
		if name != "" {
			return nil, fmt.Errorf("%s=%q: invalid value for --%s", envName(name), os.Getenv(envName(name)), name)
		}
		return nil, fmt.Errorf("environment: %w", err)
	}
	var set []string
	env.Visit(func(f *flag.Flag) { set = append(set, f.Name) })
	return set, nil
}

// envHint adds to err, a flag's validation error, the variable that set
// the flag it names, if the environment set it.
func (c *common) envHint(err error) error {
	for _, name := range c.fromEnv {
		if strings.Contains(err.Error(), "--"+name) {
			return fmt.Errorf("%w (--%s was set by %s)", err, name, envName(name))
		}
	}
	return err
}

// closestFlag returns the name in names nearest to name by edit distance,
// if it is near enough to be a typo (at most a third of its length, and
// at least 1), or "".
func closestFlag(name string, names map[string]bool) string {
	best, bestD := "", max(len(name)/3, 1)+1
	for n := range names {
		if d := editDistance(name, n); d < bestD || (d == bestD && n < best) {
			best, bestD = n, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b,
// in bytes: insertions, deletions, substitutions and transpositions of two
// adjacent bytes (the typos of flag names) cost 1 each.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
