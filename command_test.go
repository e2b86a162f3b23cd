package main

import (
	"flag"
	"strings"
	"testing"
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
