package main

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestFlagsFromEnvironment: every vendorlake flag but --break-lock and
// --reprocess may be set by VENDORLAKE_<FLAG>; the command line wins; a bad
// value is a usage error naming the variable; Beam's flags are not read
// from the environment.
func TestFlagsFromEnvironment(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		errs string // in stderr
	}{
		{"input and output from env", map[string]string{"VENDORLAKE_INPUT": "testdata/didomi", "VENDORLAKE_OUTPUT": "@lake"}, []string{"--dry-run"}, exitOK, ""},
		{"flag wins over env", map[string]string{"VENDORLAKE_MAX_REJECT_RATIO": "abc"}, []string{"--input=testdata/didomi", "--output=@lake", "--dry-run", "--max-reject-ratio=0.5"}, exitOK, ""},
		{"unparsable env value", map[string]string{"VENDORLAKE_MAX_REJECT_RATIO": "abc"}, []string{"--input=testdata/didomi", "--output=@lake", "--dry-run"}, exitUsage, `VENDORLAKE_MAX_REJECT_RATIO="abc": invalid value for --max-reject-ratio`},
		{"out of range env value", map[string]string{"VENDORLAKE_MAX_REJECT_RATIO": "2"}, []string{"--input=testdata/didomi", "--output=@lake", "--dry-run"}, exitUsage, "set by VENDORLAKE_MAX_REJECT_RATIO"},
		{"bad duration", map[string]string{"VENDORLAKE_LOCK_WAIT": "soon"}, []string{"--input=testdata/didomi", "--output=@lake", "--dry-run"}, exitUsage, "VENDORLAKE_LOCK_WAIT"},
		{"reprocess is never from env", map[string]string{"VENDORLAKE_REPROCESS": "maybe", "VENDORLAKE_BREAK_LOCK": "maybe"}, []string{"--input=testdata/didomi", "--output=@lake", "--dry-run"}, exitOK, ""},
		// LOOPBACK from the environment would let a flink run on local paths pass.
		{"beam flags are not from env", map[string]string{"VENDORLAKE_ENVIRONMENT_TYPE": "LOOPBACK"}, []string{"--input=testdata/didomi", "--output=@lake", "--runner=flink"}, exitUsage, "--environment_type=DOCKER"},
		{"vendor flag from env", map[string]string{"VENDORLAKE_FROM": "yesterday"}, []string{"--input=testdata/didomi", "--output=@lake", "--dry-run"}, exitUsage, "VENDORLAKE_FROM"},
		{"ddl from env", map[string]string{"VENDORLAKE_OUTPUT": "@lake"}, []string{}, exitFailed, "no table under /"}, // an empty lake: nothing to declare
	} {
		t.Run(tc.name, func(t *testing.T) {
			lake := t.TempDir()
			for k, v := range tc.env {
				t.Setenv(k, strings.ReplaceAll(v, "@lake", lake))
			}
			cmd := "didomi"
			if strings.HasPrefix(tc.name, "ddl") {
				cmd = "ddl"
			}
			args := []string{cmd}
			for _, a := range tc.args {
				args = append(args, strings.ReplaceAll(a, "@lake", lake))
			}
			code, _, errs := vendorlake(t, args...)
			if code != tc.code || !strings.Contains(errs, tc.errs) {
				t.Errorf("exit %d, stderr %q; want exit %d with %q", code, errs, tc.code, tc.errs)
			}
		})
	}
}

// TestTestVariablesDoNotSetFlags: the variables of the test scripts and
// tests (VENDORLAKE_REQUIRE_S3, VLTEST_S3_ENDPOINT...) must not be the
// environment name of a flag, or running the tests would change the
// command's flags.
func TestTestVariablesDoNotSetFlags(t *testing.T) {
	flagVars := map[string]string{}
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	(&common{}).register(fs)
	var prune pruneCommand
	prune.register(flag.NewFlagSet("", flag.ContinueOnError))
	fs.VisitAll(func(f *flag.Flag) { flagVars[envName(f.Name)] = f.Name })
	files, _ := filepath.Glob("*_test.go")
	more, _ := filepath.Glob("scripts/*.sh")
	files = append(append(files, more...), ".ci/run")
	name := regexp.MustCompile(`VENDORLAKE_[A-Z0-9_]+`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if f == "flags_test.go" {
			continue // this file names flag variables on purpose
		}
		// A test that sets a flag's variable on purpose (t.Setenv) is fine.
		text := regexp.MustCompile(`(Setenv|Unsetenv)\("VENDORLAKE_\w+"`).ReplaceAllString(string(b), "")
		for _, v := range name.FindAllString(text, -1) {
			if fl, ok := flagVars[v]; ok {
				t.Errorf("%s uses %s, the variable of --%s: rename it (e.g. VLTEST_...)", f, v, fl)
			}
		}
	}
}
