package main

// Tests of operating vendorlake: dry runs, the output lock, backfills over
// overlapping ranges, incremental runs and waiting for _SUCCESS markers.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vendorlake/vendorlake/io/lakestate"
)

func didomiArgs(in, lake string, extra ...string) []string {
	return append([]string{"didomi", "--input=" + in, "--output=" + lake, "--max-reject-ratio=0.2"}, extra...)
}

func TestDryRunChangesNothing(t *testing.T) {
	in := copyTree(t, "testdata/didomi")
	lake := t.TempDir()
	mustRun(t, didomiArgs(in, lake)...)
	// The vendor completes a partition and rewrites another.
	os.WriteFile(filepath.Join(in, "export-id=exp-app", "date=2024-03-03", "_SUCCESS"), nil, 0o644)
	before := fmt.Sprint(treeHashes(t, lake))
	out := mustRun(t, didomiArgs(in, lake, "--dry-run")...)
	if after := fmt.Sprint(treeHashes(t, lake)); after != before {
		t.Fatal("--dry-run changed the output tree")
	}
	for _, want := range []string{"dry run", "would read export-id=exp-app/date=2024-03-03: 2 files", "would replace didomi_users/export_id=exp-app/date=2024-03-03"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "would read export-id=exp-web") {
		t.Errorf("dry run plans to reread unchanged partitions:\n%s", out)
	}
}

func TestLockRefusesASecondRun(t *testing.T) {
	lake := t.TempDir()
	mustRun(t, didomiArgs("testdata/didomi", lake)...)
	host, _ := os.Hostname()
	lock := lakestate.LockPath(lake, "didomi")
	plant := func(p string, v map[string]any) {
		t.Helper()
		data, _ := json.Marshal(v)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		// Written aside and renamed, as the runs write a lock: a reader
		// never sees a half-written one.
		if err := os.WriteFile(p+".planting", data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(p+".planting", p); err != nil {
			t.Fatal(err)
		}
	}
	// A live run of another host holds the lock: it keeps renewing it.
	live := map[string]any{"run_id": "r-live", "pipeline": "didomi", "host": "elsewhere", "pid": 1, "lease_s": 2}
	plant(lock, live)
	stop := make(chan struct{})
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			live["renewed_at"] = time.Now().Add(time.Duration(i) * time.Hour) // its clock is not ours
			plant(lock, live)
		}
	}()
	before := withoutLocks(treeHashes(t, lake))
	code, _, errs := vendorlake(t, didomiArgs("testdata/didomi", lake, "--reprocess", "--lock-wait=1s")...)
	if code != 4 || !strings.Contains(errs, "locked by another run: run r-live (didomi, pid 1 on elsewhere)") || !strings.Contains(errs, "--break-lock") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if after := withoutLocks(treeHashes(t, lake)); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatal("a refused run changed the output tree")
	}
	// Once that run stops renewing, its lock expires after its lease
	// (2 s, measured here) and is taken over with a warning naming it.
	close(stop)
	<-renewed
	start := time.Now()
	// The binary: the warning is in its log on stderr.
	r := runAll(t, buildVendorlake(t), [][]string{didomiArgs("testdata/didomi", lake, "--reprocess", "--progress=off")})[0]
	code, errs = r.code, r.stderr
	if code != 0 || !strings.Contains(errs, "lock taken over") || !strings.Contains(errs, "previous_run_id=r-live") || !strings.Contains(errs, "previous_host=elsewhere") {
		t.Fatalf("an expired lock: exit %d, stderr %q", code, errs)
	}
	if d := time.Since(start); d < 2*time.Second {
		t.Errorf("the lock was taken over after %s, before its lease", d)
	}
	if _, err := os.Stat(lock); !os.IsNotExist(err) {
		t.Errorf("the lock was not released: %v", err)
	}
	// A lock left by a crashed run on this host (its process is gone) is taken over at once.
	plant(lock, map[string]any{"run_id": "r-dead", "pipeline": "didomi", "host": host, "pid": 1 << 22, "lease_s": 60})
	mustRun(t, didomiArgs("testdata/didomi", lake, "--reprocess")...)
	// The lake-wide lock of an earlier version, held on another host, is
	// honoured (it has no lease): exit 4, until --break-lock.
	legacy := lakestate.LegacyLockPath(lake)
	plant(legacy, map[string]any{"run_id": "r-old", "pipeline": "id5", "host": "elsewhere", "pid": 1, "started_at": time.Now().UTC()})
	if code, _, errs := vendorlake(t, didomiArgs("testdata/didomi", lake, "--reprocess")...); code != 4 || !strings.Contains(errs, "r-old") {
		t.Fatalf("a legacy lock held on another host: exit %d, want 4: %s", code, errs)
	}
	mustRun(t, didomiArgs("testdata/didomi", lake, "--reprocess", "--break-lock")...)
	if _, err := os.Stat(legacy); !os.IsNotExist(err) {
		t.Errorf("--break-lock left the legacy lock: %v", err)
	}
}

// withoutLocks drops the pipelines' locks (renewed while their runs work)
// from a treeHashes map.
func withoutLocks(h map[string]string) map[string]string {
	for k := range h {
		if strings.HasPrefix(k, lakestate.LocksDir("")+"/") {
			delete(h, k)
		}
	}
	return h
}

func TestOverlappingBackfillsEqualOneRun(t *testing.T) {
	whole := t.TempDir()
	mustRun(t, didomiArgs("testdata/didomi", whole)...)
	for _, extra := range [][]string{nil, {"--reprocess"}} {
		lake := t.TempDir()
		mustRun(t, didomiArgs("testdata/didomi", lake, append([]string{"--from=2024-03-01", "--to=2024-03-02"}, extra...)...)...)
		mustRun(t, didomiArgs("testdata/didomi", lake, append([]string{"--from=2024-03-02", "--to=2024-03-03"}, extra...)...)...)
		sameTables(t, lake, whole, "didomi_users", "didomi_events", "didomi_rejects")
	}
}

func TestIncrementalRunTouchesOnlyTheNewPartition(t *testing.T) {
	in := copyTree(t, "testdata/didomi")
	lake := t.TempDir()
	mustRun(t, didomiArgs(in, lake)...)
	before := treeHashes(t, lake)
	// The vendor finishes the partition that had no _SUCCESS yet.
	os.WriteFile(filepath.Join(in, "export-id=exp-app", "date=2024-03-03", "_SUCCESS"), nil, 0o644)
	out := mustRun(t, didomiArgs(in, lake)...)
	after := treeHashes(t, lake)
	for k, h := range before {
		if strings.HasPrefix(k, lakestate.Folder+"/") || strings.HasSuffix(k, "_SUCCESS") {
			continue
		}
		if after[k] != h {
			t.Errorf("%s changed", k)
		}
	}
	var added []string
	for k := range after {
		if _, ok := before[k]; !ok && !strings.HasPrefix(k, lakestate.Folder+"/") {
			added = append(added, k)
			if !strings.Contains(k, "export_id=exp-app/date=2024-03-03/") {
				t.Errorf("new file outside the new partition: %s", k)
			}
		}
	}
	if len(added) != 2 { // users and events (the partition has no bad line)
		t.Errorf("new files %v, want the users and events files of the new partition", added)
	}
	if !strings.Contains(out, "didomi_users: 14 rows, 1 partitions") {
		t.Errorf("the summary does not report one rewritten partition:\n%s", out)
	}
}

func TestWaitForSuccess(t *testing.T) {
	in := copyTree(t, "testdata/didomi")
	lake := t.TempDir()
	go func() {
		time.Sleep(time.Second)
		os.WriteFile(filepath.Join(in, "export-id=exp-app", "date=2024-03-03", "_SUCCESS"), nil, 0o644)
	}()
	out := mustRun(t, didomiArgs(in, lake, "--export-id=exp-app", "--from=2024-03-03", "--wait-for-success=30s")...)
	if !strings.Contains(out, "didomi_users: 14 rows, 1 partitions") || strings.Contains(out, "incomplete") {
		t.Fatalf("the run did not wait for the marker:\n%s", out)
	}
}

// TestTwoConcurrentRunsOnOneOutput starts a real run that holds the lock
// while it waits for a vendor's _SUCCESS marker, and a second run on the same
// output meanwhile: the second is refused (exit 4) and changes nothing; the
// first then commits.
func TestTwoConcurrentRunsOnOneOutput(t *testing.T) {
	bin := buildVendorlake(t)
	in := copyTree(t, "testdata/didomi")
	lake := t.TempDir()
	first, firstOut := startHoldingLock(t, bin, lake, didomiArgs(in, lake, "--export-id=exp-app", "--from=2024-03-03", "--wait-for-success=60s", "--progress=off", "--lock-renew=300ms"))
	before := fmt.Sprint(withoutLocks(treeHashes(t, lake)))
	second := exec.Command(bin, didomiArgs("testdata/didomi", lake)...)
	out, err := second.CombinedOutput()
	if code := second.ProcessState.ExitCode(); code != 4 || !strings.Contains(string(out), "locked by another run") {
		t.Fatalf("second run: exit %d (%v)\n%s", code, err, out)
	}
	if after := fmt.Sprint(withoutLocks(treeHashes(t, lake))); after != before {
		t.Fatal("the refused run changed the output tree")
	}
	os.WriteFile(filepath.Join(in, "export-id=exp-app", "date=2024-03-03", "_SUCCESS"), nil, 0o644)
	if err := first.Wait(); err != nil {
		t.Fatalf("first run: %v\n%s", err, firstOut.String())
	}
	if !strings.Contains(firstOut.String(), "didomi_users: 14 rows, 1 partitions") {
		t.Errorf("first run did not commit the awaited partition:\n%s", firstOut.String())
	}
	if _, err := os.Stat(lakestate.LockPath(lake, "didomi")); !os.IsNotExist(err) {
		t.Errorf("the lock was not released: %v", err)
	}
}
