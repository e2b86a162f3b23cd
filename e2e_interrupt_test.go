package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vendorlake/vendorlake/io/faults"
	"github.com/vendorlake/vendorlake/io/lakestate"
	"github.com/vendorlake/vendorlake/transforms"
)

// TestInterruptedRun sends SIGINT or SIGTERM to a real run (the binary,
// through the fault points of io/faults in their signal mode) that rereads
// a committed lake (--reprocess): before its commit log is recorded the
// run stops and leaves the lake as it was (only its report added); after,
// it finishes the commit. Either way it exits 130 or 143 with one line
// saying "interrupted" (not a read's "context canceled"; printed once, not
// in the summary and the log line as well), and leaves no
// lock, no temporary folder and no pending commit log.
func TestInterruptedRun(t *testing.T) {
	bin := buildVendorlake(t)
	base := t.TempDir()
	code, baseOut, errs := vendorlake(t, didomiArgs("testdata/didomi", base)...)
	if code != exitOK {
		t.Fatalf("base run: exit %d\n%s\n%s", code, baseOut, errs)
	}
	for _, c := range []struct {
		fault     string
		code      int
		committed bool
	}{
		{"read.file:2:INT", exitInterrupted, false},
		{"write.batch:3:TERM", exitTerminated, false},
		{"commit.after-log:1:INT", exitInterrupted, true},
		{"commit.move:4:TERM", exitTerminated, true},
	} {
		t.Run(c.fault, func(t *testing.T) {
			lake := copyDir(t, base, "lake")
			before := treeHashes(t, lake)
			cmd := exec.Command(bin, didomiArgs("testdata/didomi", lake, "--reprocess", "--progress=off")...)
			for _, kv := range os.Environ() {
				if !strings.HasPrefix(kv, faults.Env+"=") {
					cmd.Env = append(cmd.Env, kv)
				}
			}
			cmd.Env = append(cmd.Env, faults.Env+"="+c.fault)
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(2 * time.Minute):
				cmd.Process.Kill()
				<-done
				t.Fatalf("the run hung\n%s\n%s", out.String(), errb.String())
			}
			stdout, stderr := out.String(), errb.String()
			if got := cmd.ProcessState.ExitCode(); got != c.code {
				t.Fatalf("exit %d, want %d\nstdout %s\nstderr %s", got, c.code, stdout, stderr)
			}
			// Printed once: not in the summary and the log as well.
			if !strings.Contains(stderr, "vendorlake didomi: interrupted (SIG") || strings.Count(stdout+stderr, "interrupted (SIG") != 1 ||
				strings.Contains(stdout+stderr, "context canceled") {
				t.Errorf("want one line saying interrupted, and no read blamed:\nstdout %s\nstderr %s", stdout, stderr)
			}
			var rep transforms.RunReport
			after := treeHashes(t, lake)
			for rel, h := range after {
				if strings.HasPrefix(rel, lakestate.Folder+"/runs/") && before[rel] == "" {
					data, _ := os.ReadFile(filepath.Join(lake, rel))
					if err := json.Unmarshal(data, &rep); err != nil {
						t.Fatal(err)
					}
					continue
				}
				if !c.committed && before[rel] != h {
					t.Errorf("the interrupted run changed %s", rel)
				}
			}
			if !c.committed {
				for rel := range before {
					if after[rel] == "" {
						t.Errorf("the interrupted run removed %s", rel)
					}
				}
			}
			want := transforms.StatusInterrupted
			if c.committed {
				want = transforms.StatusCommitted
				// The same tables as the run it reprocessed.
				for _, line := range strings.Split(baseOut, "\n") {
					if strings.Contains(line, " rows, ") && !strings.Contains(stdout, line) {
						t.Errorf("the finished commit lacks %q:\n%s", line, stdout)
					}
				}
			}
			if rep.Status != want {
				t.Errorf("report status %q, want %q", rep.Status, want)
			}
			for _, dir := range []string{lakestate.LegacyTempRoot(lake), lakestate.LegacyCommitsDir(lake)} {
				if left := treeHashes(t, dir); len(left) > 0 {
					t.Errorf("left in %s: %v", dir, left)
				}
			}
			for k := range treeHashes(t, lakestate.LocksDir(lake)) {
				if !strings.HasPrefix(filepath.Base(k), ".") {
					t.Errorf("the lock %s is left behind", k)
				}
			}
		})
	}
}
