package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/vendorlake/vendorlake/io/lakestate"
	"github.com/vendorlake/vendorlake/pipelines/registry"
)

// TestBeamFlagsResetBetweenRuns: Beam's flags live on the global flag set,
// so an in-process run must not inherit the job server, environment or job
// name of the run before it.
func TestBeamFlagsResetBetweenRuns(t *testing.T) {
	for name, v := range map[string]string{"endpoint": "127.0.0.1:1", "environment_type": "LOOPBACK", "job_name": "stale", "parallelism": "7"} {
		if err := flag.CommandLine.Set(name, v); err != nil {
			t.Fatal(err)
		}
	}
	// With the stale LOOPBACK, a flink run on local paths would pass the
	// check that its workers can see them.
	code, _, errs := vendorlake(t, "didomi", "--input=testdata/didomi", "--output="+t.TempDir(), "--runner=flink")
	if code != exitUsage || !strings.Contains(errs, "--environment_type=DOCKER runs workers that cannot see the local path") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
	for _, name := range []string{"endpoint", "environment_type", "job_name", "parallelism"} {
		if f := flag.CommandLine.Lookup(name); f.Value.String() != f.DefValue {
			t.Errorf("--%s = %q after the run, want its default %q", name, f.Value, f.DefValue)
		}
	}
}

// TestUsageListsEveryCommand keeps the help's commands and the
// audiencestudio group's usage line derived from the registry.
func TestUsageListsEveryCommand(t *testing.T) {
	code, out, _ := vendorlake(t, "help")
	for _, cmd := range []string{"didomi ", "id5 ", "audiencestudio requests ", "audiencestudio portability ", "demo ", "ddl "} {
		if code != 0 || !strings.Contains(out, "\n  "+cmd) {
			t.Errorf("help (exit %d) lacks %q:\n%s", code, cmd, out)
		}
	}
	code, _, errs := vendorlake(t, "audiencestudio", "nope")
	if code != exitUsage || !strings.Contains(errs, "usage: vendorlake audiencestudio requests|portability --input=ROOT --output=ROOT [flags]") {
		t.Errorf("audiencestudio nope: exit %d, stderr %q", code, errs)
	}
	if code, _, errs := vendorlake(t, "acme"); code != exitUsage || !strings.Contains(errs, `unknown command "acme"`) {
		t.Errorf("acme: exit %d, stderr %q", code, errs)
	}
}

// TestRunnerNames: --runner is lower-cased and checked before any other
// flag; an unknown runner is a usage error that lists the runners.
func TestRunnerNames(t *testing.T) {
	lake := t.TempDir()
	for _, tc := range []struct {
		runner string
		code   int
		want   string
	}{
		{"dataflow", exitUsage, "--runner=dataflow: want one of direct, prism, universal, flink, spark"},
		// Before: a misleading message about DOCKER workers and local paths.
		{"Direct", exitOK, "committed"},
		{"FLINK", exitUsage, "--runner=flink with --environment_type=DOCKER"},
	} {
		code, out, errs := vendorlake(t, "didomi", "--input=testdata/didomi", "--output="+lake, "--max-reject-ratio=0.5", "--runner="+tc.runner)
		if code != tc.code || !strings.Contains(out+errs, tc.want) {
			t.Errorf("--runner=%s: exit %d, want %d and %q\nstdout %s\nstderr %s", tc.runner, code, tc.code, tc.want, out, errs)
		}
	}
	// Checked first: before the missing --input and --output.
	if code, _, errs := vendorlake(t, "didomi", "--runner=sparc"); code != exitUsage || !strings.Contains(errs, "--runner=sparc: want one of") {
		t.Errorf("--runner=sparc without --input: exit %d, stderr %q", code, errs)
	}
}

// TestBeamExitLeavesNoLock: a runner that Beam does not know, reaching
// beam.Run after the run took the output's lock (the command refuses such
// a name first, so the test builds the run itself), makes Beam end the
// process (log.Exitf). The run must fail instead, exit 1 with Beam's
// message, and leave no lock and no temporary folder.
func TestBeamExitLeavesNoLock(t *testing.T) {
	v, ok := registry.Lookup("didomi")
	if !ok {
		t.Fatal("no didomi vendor")
	}
	lake := t.TempDir()
	var out, errb bytes.Buffer
	con := console{stdout: &out, stderr: &errb}
	resetBeamFlags()
	c := pipelineCommand{vendor: v.Flags()}
	if err := parseFlags("didomi", []string{"--input=testdata/didomi", "--output=" + lake}, con, &c.common, c.vendor.Register, ""); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c.runner = "dataflow" // not registered with Beam
	opts := c.options(con)
	code := execute(context.Background(), c.vendor.Pipeline(&opts), opts, con)
	if code != exitFailed || !strings.Contains(out.String()+errb.String(), "Runner dataflow not registered") {
		t.Errorf("exit %d, want %d naming the runner\nstdout %s\nstderr %s", code, exitFailed, out.String(), errb.String())
	}
	if _, err := os.Stat(lakestate.LockPath(lake, "didomi")); !os.IsNotExist(err) {
		t.Errorf("the lock is left behind: %v", err)
	}
	if tmp := treeHashes(t, lakestate.LegacyTempRoot(lake)); len(tmp) > 0 {
		t.Errorf("temporary files left behind: %v", tmp)
	}
}

// TestOutputInsideInput: an output inside the input (or the reverse), on
// local disk or S3, is a usage error, found before any store is reached.
func TestOutputInsideInput(t *testing.T) {
	in := t.TempDir()
	for _, c := range []struct{ input, output, want string }{
		{in, in + "/lake", "lies inside --input"},
		{in + "/vendor", in, "lies inside --output"},
		{"s3://no-such-bucket-vl/vendor", "s3://no-such-bucket-vl/vendor/lake", "lies inside --input"},
	} {
		code, out, errs := vendorlake(t, "didomi", "--input="+c.input, "--output="+c.output)
		if code != exitUsage || !strings.Contains(errs, c.want) || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
			t.Errorf("--input=%s --output=%s: exit %d, want %d and one line saying %q\nstdout %s\nstderr %s", c.input, c.output, code, exitUsage, c.want, out, errs)
		}
	}
}

// TestHelpAndMistypedFlags: COMMAND --help prints the command's flags on
// stdout and exits 0; a mistyped flag is one line naming the closest flag
// and pointing to --help.
func TestHelpAndMistypedFlags(t *testing.T) {
	for _, arg := range []string{"--help", "-h"} {
		code, out, errs := vendorlake(t, "didomi", arg)
		if code != exitOK || !strings.Contains(out, "Usage: vendorlake didomi") || !strings.Contains(out, "--max-reject-ratio") || errs != "" {
			t.Errorf("didomi %s: exit %d\nstdout %s\nstderr %s", arg, code, out, errs)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"didomi", "--inptu=x"}, "vendorlake: unknown flag --inptu (did you mean --input?); see 'vendorlake didomi --help'\n"},
		{[]string{"audiencestudio", "requests", "--max-reject-ration=0.1"}, "vendorlake: unknown flag --max-reject-ration (did you mean --max-reject-ratio?); see 'vendorlake audiencestudio requests --help'\n"},
		{[]string{"didomi", "--zzz"}, "vendorlake: unknown flag --zzz; see 'vendorlake didomi --help'\n"},
	} {
		code, out, errs := vendorlake(t, c.args...)
		if code != exitUsage || errs != c.want || out != "" {
			t.Errorf("%v: exit %d, stderr %q, want %d and %q", c.args, code, errs, exitUsage, c.want)
		}
	}
}
