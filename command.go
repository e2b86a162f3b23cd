package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/direct"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/flink"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/spark"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/universal"

	"github.com/vendorlake/vendorlake/io/faults"
	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/pipelines/registry"
)

// console is where a command writes. runLog says whether stderr also
// carries the run's structured log and, with --progress=auto, its progress
// lines: true for the real command, false for in-process callers (tests),
// which read only the summary and errors. terminal says stderr is a
// terminal, where progress redraws one line.
type console struct {
	stdout, stderr   io.Writer
	runLog, terminal bool
	// summaryJSON prints the summary as one JSON object (--summary=json);
	// reportFile, when set, receives the run report too (--report-file).
	summaryJSON bool
	reportFile  string
}

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// command runs the command line args (without the program name) and
// returns its exit code.
func command(args []string, con console) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(con.stdout)
		return exitOK
	}
	if args[0] == "version" || args[0] == "--version" || args[0] == "-version" {
		// Before the worker branch below, which takes any other flag.
		fmt.Fprintf(con.stdout, "vendorlake %s\n", version())
		return exitOK
	}
	resetBeamFlags()
	if strings.HasPrefix(args[0], "-") {
		// Invoked by a Beam runner as a worker (--worker --id=...): the
		// harness runs inside beam.Init and exits. A copy of this program
		// that Beam's boot program made is removed first (see
		// removeBootCopy).
		removeBootCopy()
		flag.CommandLine.Parse(args)
		beam.Init()
		usage(con.stderr)
		return exitUsage
	}
	if v := os.Getenv(faults.Env); v != "" && !faults.Enabled {
		fmt.Fprintf(con.stderr, "vendorlake: ignoring %s=%q: this build has no fault points (they are a test hook, built with -tags vendorlake_faults)\n", faults.Env, v)
	}
	if args[0] != "ddl" {
		// The Parquet sink patches Arrow internals; refuse to write if a
		// patch does not take effect (hiveparquet.CheckArrowPatches).
		if err := hiveparquet.CheckArrowPatches(); err != nil {
			fmt.Fprintf(con.stderr, "vendorlake: %v\n", err)
			return exitFailed
		}
	}
	ctx, stop := interruptible(context.Background())
	defer stop()
	switch args[0] {
	case "demo":
		return demo(ctx, args[1:], con)
	case "ddl":
		return ddl(args[1:], con)
	case "prune":
		return prune(ctx, args[1:], con)
	}
	var group []registry.Vendor // the vendors whose command starts with args[0]
	for _, v := range registry.All() {
		words := v.CommandLine()
		if words[0] != args[0] {
			continue
		}
		if len(words) == 1 {
			return runPipeline(ctx, v, args[1:], con)
		}
		if len(args) > 1 && words[1] == args[1] {
			return runPipeline(ctx, v, args[2:], con)
		}
		group = append(group, v)
	}
	if len(group) > 0 {
		var subs []string
		for _, v := range group {
			subs = append(subs, v.CommandLine()[1])
		}
		fmt.Fprintf(con.stderr, "usage: vendorlake %s %s --input=ROOT --output=ROOT [flags]\n", args[0], strings.Join(subs, "|"))
		return exitUsage
	}
	fmt.Fprintf(con.stderr, "vendorlake: unknown command %q\n\n", args[0])
	usage(con.stderr)
	return exitUsage
}

// interruptError is the cause of the command's context when a signal
// stopped it (see interruptible).
type interruptError struct{ sig syscall.Signal }

func (e *interruptError) Error() string {
	if e.sig == syscall.SIGTERM {
		return "interrupted (SIGTERM)"
	}
	return "interrupted (SIGINT)"
}

// exitCode is the command's exit code for the signal: 130 or 143.
func (e *interruptError) exitCode() int {
	if e.sig == syscall.SIGTERM {
		return exitTerminated
	}
	return exitInterrupted
}

// interruptible returns a context that the first SIGINT or SIGTERM cancels
// with an *interruptError cause: the run then stops, cleans up (or finishes
// a commit it started) and exits 130 or 143. A second signal has its
// default action and ends the process at once (the next run finishes or
// removes what it left). stop releases the signal handler.
func interruptible(parent context.Context) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-sigs:
			signal.Stop(sigs)
			s, _ := sig.(syscall.Signal)
			cancel(&interruptError{sig: s})
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel(nil)
	}
}

// commandLine is one line of the help: a command and what it does.
type commandLine struct{ cmd, summary string }

// commands are the help's commands, in its order: one per registered
// pipeline, then the others.
func commands() []commandLine {
	var lines []commandLine
	for _, v := range registry.All() {
		lines = append(lines, commandLine{strings.Join(v.CommandLine(), " "), v.Summary})
	}
	return append(lines,
		commandLine{"demo", "run every pipeline on the bundled samples in testdata/ into ./lake"},
		commandLine{"ddl", "print CREATE TABLE statements (Athena, Spark, Trino, DuckDB) for every table"},
		commandLine{"prune", "remove run reports older than --keep-reports (every run also does it for its pipeline)"},
		commandLine{"version", "print the version (also --version)"})
}

// usage prints the command's help: one line per command.
func usage(w io.Writer) {
	lines := commands()
	width := 0
	for _, l := range lines {
		width = max(width, len(l.cmd))
	}
	fmt.Fprint(w, "vendorlake: vendor files → Hive-partitioned Parquet tables (Apache Beam).\n\nCommands:\n")
	for _, l := range lines {
		fmt.Fprintf(w, "  %-*s  %s\n", width, l.cmd, l.summary)
	}
	fmt.Fprint(w, `
Run 'vendorlake COMMAND -h' for a command's flags.

`+exitCodesHelp())
}

// beamDefaults are the values of Beam's own flags (registered on the
// global flag set by Beam's packages: --endpoint, --environment_type,
// --job_name...) before any command parsed them.
var beamDefaults = func() map[string]string {
	d := map[string]string{}
	flag.CommandLine.VisitAll(func(f *flag.Flag) {
		if !strings.HasPrefix(f.Name, "test.") { // go test's own flags
			d[f.Name] = f.Value.String()
		}
	})
	return d
}()

// resetBeamFlags sets Beam's global flags back to their defaults: the one
// place that keeps an in-process run (tests, demo's runs) from inheriting
// the job server or environment of the run before it.
func resetBeamFlags() {
	flag.CommandLine.VisitAll(func(f *flag.Flag) {
		if d, ok := beamDefaults[f.Name]; ok && f.Value.String() != d {
			f.Value.Set(d)
		}
	})
}

// usageErr prints a usage error and returns its exit code (0 for -h).
func usageErr(stderr io.Writer, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	fmt.Fprintf(stderr, "vendorlake: %v\n", err)
	return exitUsage
}
