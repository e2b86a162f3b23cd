package main

// End-to-end tests of the lock per pipeline and its lease: the four
// pipelines side by side on one lake (local and S3), runs racing for an
// expired lock, and a run killed with SIGKILL whose lock a new run takes
// over within the lease.

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/lakestate"
)

type procResult struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

// runAll starts every command at once and waits for all of them.
func runAll(t *testing.T, bin string, cmds [][]string) []procResult {
	t.Helper()
	res := make([]procResult, len(cmds))
	var wg sync.WaitGroup
	for i, args := range cmds {
		cmd := exec.Command(bin, args...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		start := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			done := make(chan struct{})
			go func() {
				select {
				case <-done:
				case <-time.After(5 * time.Minute):
					cmd.Process.Kill()
				}
			}()
			cmd.Wait()
			close(done)
			res[i] = procResult{cmd.ProcessState.ExitCode(), out.String(), errb.String(), time.Since(start)}
		})
	}
	wg.Wait()
	return res
}

// TestPipelinesSideBySide starts the four pipelines at once on one lake,
// on local disk and on S3: each holds its own lock, all commit, and every
// table equals the one of runs one after another.
func TestPipelinesSideBySide(t *testing.T) {
	requireDuckDB(t)
	bin := buildVendorlake(t)
	reference := t.TempDir()
	for _, c := range crashCases {
		mustRun(t, append(append([]string(nil), c.args...), "--input="+c.sample, "--output="+reference)...)
	}
	lakes := []struct {
		name string
		lake func(t *testing.T) (uri string, flags []string, local func() string)
	}{
		{"local", func(t *testing.T) (string, []string, func() string) {
			lake := t.TempDir()
			return lake, nil, func() string { return lake }
		}},
		{"s3", func(t *testing.T) (string, []string, func() string) {
			ep := s3Endpoint(t)
			uri := "s3://" + newBucket(t, ep) + "/lake"
			return uri, s3Flags(ep), func() string { return downloadTree(t, s3FS(t, ep), uri) }
		}},
	}
	for _, l := range lakes {
		t.Run(l.name, func(t *testing.T) {
			uri, flags, local := l.lake(t)
			var cmds [][]string
			for _, c := range crashCases {
				cmds = append(cmds, append(append(append([]string(nil), c.args...), "--input="+c.sample, "--output="+uri, "--progress=off"), flags...))
			}
			start := time.Now()
			res := runAll(t, bin, cmds)
			t.Logf("%d pipelines side by side on %s: %s", len(cmds), l.name, time.Since(start).Round(time.Millisecond))
			for i, r := range res {
				if r.code != 0 {
					t.Errorf("%s: exit %d\n%s\n%s", crashCases[i].name, r.code, r.stdout, r.stderr)
				}
				t.Logf("%s: %s", crashCases[i].name, r.took.Round(time.Millisecond))
			}
			lake := local()
			assertNoTempInTables(t, lake)
			for _, c := range crashCases {
				sameTables(t, reference, lake, c.tables...)
			}
			for _, dir := range []string{lakestate.LegacyTempRoot(lake), lakestate.LegacyCommitsDir(lake)} {
				if left := treeHashes(t, dir); len(left) != 0 {
					t.Errorf("left in %s: %v", dir, left)
				}
			}
		})
	}
}

// TestLockRaceForAnExpiredLock: two runs of one pipeline find one expired
// lock (another host's, no longer renewed): exactly one takes it over and
// commits, the other exits 4; on local disk and on S3.
func TestLockRaceForAnExpiredLock(t *testing.T) {
	bin := buildVendorlake(t)
	lakes := []struct {
		name string
		lake func(t *testing.T) (uri string, flags []string, fsys lakefs.FS)
	}{
		{"local", func(t *testing.T) (string, []string, lakefs.FS) { return t.TempDir(), nil, lakefs.Local{} }},
		{"s3", func(t *testing.T) (string, []string, lakefs.FS) {
			ep := s3Endpoint(t)
			return "s3://" + newBucket(t, ep) + "/lake", s3Flags(ep), s3FS(t, ep)
		}},
	}
	for _, l := range lakes {
		t.Run(l.name, func(t *testing.T) {
			uri, flags, fsys := l.lake(t)
			stale, _ := json.Marshal(lakestate.LockInfo{RunID: "r-gone", Pipeline: "didomi", Host: "pod-gone", PID: 7, LeaseS: 1})
			if err := lakefs.WriteFile(context.Background(), fsys, lakestate.LockPath(uri, "didomi"), stale); err != nil {
				t.Fatal(err)
			}
			args := append(didomiArgs("testdata/didomi", uri, "--progress=off"), flags...)
			res := runAll(t, bin, [][]string{args, args})
			var codes []int
			took := 0
			for _, r := range res {
				codes = append(codes, r.code)
				if strings.Contains(r.stderr, "lock taken over") {
					took++
				}
			}
			won := (codes[0] == 0) != (codes[1] == 0)
			if !won || codes[0]+codes[1] != 4 || took != 1 {
				t.Fatalf("exit codes %v, %d takeovers; want one 0 and one 4, one takeover\n%s\n%s", codes, took, res[0].stderr, res[1].stderr)
			}
			t.Logf("race: exit codes %v (%s, %s)", codes, res[0].took.Round(time.Millisecond), res[1].took.Round(time.Millisecond))
		})
	}
}

// TestLockOfAKilledRun: a run killed with SIGKILL leaves its lock; a new
// run takes it over at once when the lock is of this host (its process is
// gone), and within the lease when it is another host's (a pod of a
// CronJob retried elsewhere), with a warning naming the holder; then it
// commits what the killed run had not.
func TestLockOfAKilledRun(t *testing.T) {
	bin := buildVendorlake(t)
	for _, otherHost := range []bool{false, true} {
		name := map[bool]string{false: "same host", true: "other host"}[otherHost]
		t.Run(name, func(t *testing.T) {
			in := copyTree(t, "testdata/didomi")
			lake := t.TempDir()
			// The first run waits for a marker, holding its lock, renewed
			// every 200ms with a lease of 3s.
			marker := filepath.Join(in, "export-id=exp-app", "date=2024-03-03", "_SUCCESS")
			os.Remove(marker)
			first := exec.Command(bin, didomiArgs(in, lake, "--wait-for-success=5m", "--progress=off", "--lock-lease=3s", "--lock-renew=200ms")...)
			var firstOut bytes.Buffer
			first.Stdout, first.Stderr = &firstOut, &firstOut
			if err := first.Start(); err != nil {
				t.Fatal(err)
			}
			lock := lakestate.LockPath(lake, "didomi")
			for i := 0; ; i++ {
				if _, err := os.Stat(lock); err == nil {
					break
				}
				if i > 600 {
					first.Process.Kill()
					t.Fatalf("the first run never took the lock:\n%s", firstOut.String())
				}
				time.Sleep(50 * time.Millisecond)
			}
			time.Sleep(500 * time.Millisecond) // renewed at least once
			first.Process.Kill()               // SIGKILL: no cleanup at all
			first.Wait()
			var held lakestate.LockInfo
			data, err := os.ReadFile(lock)
			if err != nil || json.Unmarshal(data, &held) != nil || held.LeaseS != 3 {
				t.Fatalf("the killed run's lock: %s, %v", data, err)
			}
			if otherHost {
				held.Host = "pod-killed"
				data, _ = json.Marshal(held)
				os.WriteFile(lock, data, 0o644)
			}
			os.WriteFile(marker, nil, 0o644)
			start := time.Now()
			next := runAll(t, bin, [][]string{didomiArgs(in, lake, "--progress=off")})[0]
			code, out, errs := next.code, next.stdout, next.stderr
			took := time.Since(start)
			if code != 0 || !strings.Contains(errs, "lock taken over") || !strings.Contains(errs, "previous_run_id="+held.RunID) {
				t.Fatalf("the next run: exit %d\n%s\n%s", code, out, errs)
			}
			wantWhy := map[bool]string{false: "its process is gone from this host", true: "unchanged for its lease of 3s"}[otherHost]
			if !strings.Contains(errs, wantWhy) {
				t.Errorf("the warning does not say %q:\n%s", wantWhy, errs)
			}
			if otherHost && took < 3*time.Second {
				t.Errorf("another host's lock was taken over after %s, within its lease", took)
			}
			if took > 30*time.Second {
				t.Errorf("the next run took %s: not within the lease", took)
			}
			t.Logf("%s: the next run committed after %s", name, took.Round(time.Millisecond))
			if _, err := os.Stat(lock); !os.IsNotExist(err) {
				t.Errorf("the lock was not released: %v", err)
			}
		})
	}
}

// TestLockLostStopsTheRun: a run whose lock another run takes over
// (--break-lock here; a stall beyond its lease alike) stops at its next
// renewal with exit 4 and commits nothing.
func TestLockLostStopsTheRun(t *testing.T) {
	bin := buildVendorlake(t)
	in := copyTree(t, "testdata/didomi")
	lake := t.TempDir()
	marker := filepath.Join(in, "export-id=exp-app", "date=2024-03-03", "_SUCCESS")
	os.Remove(marker)
	first, firstOut := startHoldingLock(t, bin, lake, didomiArgs(in, lake, "--export-id=exp-app", "--from=2024-03-03", "--wait-for-success=5m", "--progress=off", "--lock-renew=200ms"))
	second := runAll(t, bin, [][]string{didomiArgs(in, lake, "--break-lock", "--progress=off", "--lock-wait=10s")})[0]
	if second.code != 0 || !strings.Contains(second.stderr, "lock taken over") {
		t.Fatalf("the run breaking the lock: exit %d\n%s", second.code, second.stderr)
	}
	done := make(chan error, 1)
	go func() { done <- first.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("the run that lost its lock goes on:\n%s", firstOut.String())
	}
	if code := first.ProcessState.ExitCode(); code != 4 || !strings.Contains(firstOut.String(), "lost its lock") {
		t.Fatalf("the run that lost its lock: exit %d\n%s", code, firstOut.String())
	}
}

// startHoldingLock starts bin with args, a Didomi run on lake that waits
// for a _SUCCESS marker (--wait-for-success) and so holds the pipeline's
// lock, and returns once the lock file exists (within 30 s), with the
// buffer collecting the run's output. The process is killed at the test's
// end if it still runs.
func startHoldingLock(t *testing.T, bin, lake string, args []string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	out := new(bytes.Buffer)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	lock := lakestate.LockPath(lake, "didomi")
	for deadline := time.Now().Add(30 * time.Second); ; {
		if _, err := os.Stat(lock); err == nil {
			return cmd, out
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run never took the lock:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
