package lakestate

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/ledger"
)

func TestLedgerWriteAndLoad(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	fsys := lakefs.Local{}
	e := ledger.Entry{Pipeline: "p", Unit: "export-id=a/date=2024-01-01", RunID: "r1",
		Inputs: []ledger.Input{{Rel: "x/b.gz", Size: 2, ModTime: 5}}}
	w, err := LedgerWrite(out, e)
	if err != nil {
		t.Fatal(err)
	}
	if w.Path != LedgerPath(out, "p", e.Unit) {
		t.Fatalf("LedgerWrite path %s, want %s", w.Path, LedgerPath(out, "p", e.Unit))
	}
	if err := lakefs.WriteFile(ctx, fsys, w.Path, w.Data); err != nil {
		t.Fatal(err)
	}
	// Hidden files (a write in progress) are not entries.
	if err := lakefs.WriteFile(ctx, fsys, filepath.Join(LedgerDir(out, "p"), ".x.json.tmp"), []byte("{")); err != nil {
		t.Fatal(err)
	}
	got, err := LoadLedger(ctx, fsys, out, "p")
	if err != nil {
		t.Fatal(err)
	}
	if g, ok := got[e.Unit]; len(got) != 1 || !ok || g.RunID != "r1" || !g.Same(e.Inputs) {
		t.Fatalf("LoadLedger = %+v", got)
	}
	if other, err := LoadLedger(ctx, fsys, out, "missing"); err != nil || len(other) != 0 {
		t.Errorf("missing pipeline ledger = %v, %v", other, err)
	}
}

func TestReportWriteAndRead(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	fsys := lakefs.Local{}
	type report struct {
		RunID  string `json:"run_id"`
		Status string `json:"status"`
	}
	if err := WriteReport(ctx, fsys, out, "r1", report{RunID: "r1", Status: "committed"}); err != nil {
		t.Fatal(err)
	}
	w, err := ReportWrite(out, "r2", report{RunID: "r2", Status: "failed"})
	if err != nil {
		t.Fatal(err)
	}
	if err := lakefs.WriteFile(ctx, fsys, w.Path, w.Data); err != nil {
		t.Fatal(err)
	}
	for _, want := range []report{{"r1", "committed"}, {"r2", "failed"}} {
		var got report
		if err := ReadReport(ctx, fsys, out, want.RunID, &got); err != nil || got != want {
			t.Errorf("ReadReport(%s) = %+v, %v", want.RunID, got, err)
		}
	}
	if data, _ := os.ReadFile(ReportPath(out, "r1")); !strings.Contains(string(data), "\n  \"status\": \"committed\"") {
		t.Errorf("report not indented: %s", data)
	}
	var r report
	if err := ReadReport(ctx, fsys, out, "r3", &r); !errors.Is(err, lakefs.ErrNotExist) {
		t.Errorf("ReadReport of a missing report: %v", err)
	}
}

func TestPendingCommits(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	fsys := lakefs.Local{}
	if CommitPending(ctx, fsys, out, "r1") || len(PendingCommits(ctx, fsys, out)) != 0 {
		t.Fatal("an empty lake has a pending commit")
	}
	for _, p := range []string{CommitLogPath(out, "r1"), filepath.Join(CommitsDir(out), ".r2.json.tmp")} {
		if err := lakefs.WriteFile(ctx, fsys, p, []byte("{}")); err != nil {
			t.Fatal(err)
		}
	}
	if !CommitPending(ctx, fsys, out, "r1") || CommitPending(ctx, fsys, out, "r2") {
		t.Error("CommitPending does not see r1's log alone")
	}
	if got := PendingCommits(ctx, fsys, out); strings.Join(got, ",") != "r1" {
		t.Errorf("PendingCommits = %v, want [r1]", got)
	}
}

func TestLock(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	fsys := lakefs.Local{}
	release, err := AcquireLock(ctx, fsys, out, "r1", "p", 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(LockPath(out)); err != nil {
		t.Fatalf("no lock file: %v", err)
	}
	// Held by a live run of this process: a second run waits, then fails.
	start := time.Now()
	if _, err := AcquireLock(ctx, fsys, out, "r2", "p", 50*time.Millisecond, false); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "run r1 (p, pid ") {
		t.Fatalf("second lock: %v", err)
	}
	if time.Since(start) < 50*time.Millisecond {
		t.Error("the second run did not wait")
	}
	// --break-lock takes it over.
	release2, err := AcquireLock(ctx, fsys, out, "r3", "p", 0, true)
	if err != nil {
		t.Fatalf("break the lock: %v", err)
	}
	release2()
	if _, err := os.Stat(LockPath(out)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("lock left after release: %v", err)
	}
	release() // r1's release after its lock was broken is harmless.
	// A lock of a dead process of this host is stale.
	dead := `{"run_id":"r0","pipeline":"p","host":"` + hostname(t) + `","pid":2147483646}`
	if err := os.WriteFile(LockPath(out), []byte(dead), 0o644); err != nil {
		t.Fatal(err)
	}
	release3, err := AcquireLock(ctx, fsys, out, "r4", "p", 0, false)
	if err != nil {
		t.Fatalf("stale lock not taken over: %v", err)
	}
	release3()
}

func hostname(t *testing.T) string {
	t.Helper()
	h, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return h
}
