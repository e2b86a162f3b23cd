package lakestate

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	if CommitPending(ctx, fsys, out, "p", "r1") || len(PendingCommits(ctx, fsys, out, "p")) != 0 {
		t.Fatal("an empty lake has a pending commit")
	}
	for _, p := range []string{CommitLogPath(out, "p", "r1"), filepath.Join(CommitsDir(out, "p"), ".r2.json.tmp"), CommitLogPath(out, "q", "r3")} {
		if err := lakefs.WriteFile(ctx, fsys, p, []byte(`{"pipeline":"`+filepath.Base(filepath.Dir(p))+`"}`)); err != nil {
			t.Fatal(err)
		}
	}
	if !CommitPending(ctx, fsys, out, "p", "r1") || CommitPending(ctx, fsys, out, "p", "r2") || CommitPending(ctx, fsys, out, "p", "r3") {
		t.Error("CommitPending does not see p's r1 alone")
	}
	if got := PendingCommits(ctx, fsys, out, "p"); len(got) != 1 {
		t.Errorf("PendingCommits(p) = %v, want one", got)
	}
}

// TestRecoverPerPipeline: a pipeline recovers and cleans only its own
// commit logs and temporary areas, and the legacy ones of its pipeline
// (the layout before the per-pipeline lock).
func TestRecoverPerPipeline(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	fsys := lakefs.Local{}
	write := func(p, data string) {
		t.Helper()
		if err := lakefs.WriteFile(ctx, fsys, p, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	logOf := func(pipeline, runID, legacyOf string) string {
		l := CommitLog{Pipeline: pipeline, RunID: runID, Output: out, Tables: []string{"t_" + runID}}
		tmp := TempDir(out, pipeline, runID)
		if pipeline == "" {
			tmp = filepath.Join(LegacyTempRoot(out), runID)
		}
		write(filepath.Join(tmp, "f"), "x")
		l.Moves = []Move{{From: filepath.Join(tmp, "f"), To: filepath.Join(out, "t_"+runID, "f.parquet")}}
		if legacyOf != "" {
			l.Writes = []SideWrite{{Path: ReportPath(out, runID), Data: []byte(`{"pipeline":"` + legacyOf + `"}`)}}
		}
		data, _ := json.Marshal(l)
		return string(data)
	}
	legacyP, legacyQ := "20240101T000000Z-aaaaaa", "20240101T000000Z-bbbbbb"
	write(CommitLogPath(out, "p", "rp"), logOf("p", "rp", ""))
	write(CommitLogPath(out, "q", "rq"), logOf("q", "rq", ""))
	write(filepath.Join(LegacyCommitsDir(out), legacyP+".json"), logOf("", legacyP, "p"))
	write(filepath.Join(LegacyCommitsDir(out), legacyQ+".json"), logOf("", legacyQ, "q"))
	write(filepath.Join(TempDir(out, "p", "crashed"), "f"), "x")
	write(filepath.Join(TempDir(out, "q", "live"), "f"), "x")
	orphan := filepath.Join(LegacyTempRoot(out), "20240102T000000Z-cccccc")
	write(filepath.Join(orphan, "f"), "x")

	done, err := Recover(ctx, fsys, out, "p")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(done, ","); got != legacyP+",rp" && got != "rp,"+legacyP {
		t.Errorf("Recover(p) = %v, want rp and %s", done, legacyP)
	}
	if err := CleanTemp(ctx, fsys, out, "p", "mine"); err != nil {
		t.Fatal(err)
	}
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	for _, c := range []struct {
		path string
		want bool
	}{
		{filepath.Join(out, "t_rp", "f.parquet"), true},
		{filepath.Join(out, "t_"+legacyP, "f.parquet"), true},
		{filepath.Join(LegacyCommitsDir(out), legacyP+".json"), false},
		{filepath.Join(out, "t_rq", "f.parquet"), false},
		{CommitLogPath(out, "q", "rq"), true},
		{filepath.Join(LegacyCommitsDir(out), legacyQ+".json"), true},
		{filepath.Join(LegacyTempRoot(out), legacyQ, "f"), true}, // its log waits for q
		{TempDir(out, "q", "live"), true},
		{TempDir(out, "q", "rq"), true},
		{TempDir(out, "p", "crashed"), false},
		{orphan, false},
	} {
		if exists(c.path) != c.want {
			t.Errorf("%s exists: %v, want %v", c.path, !c.want, c.want)
		}
	}
	if done, err := Recover(ctx, fsys, out, "q"); err != nil || len(done) != 2 {
		t.Errorf("Recover(q) = %v, %v; want rq and %s", done, err, legacyQ)
	}
}

func hostname(t *testing.T) string {
	t.Helper()
	h, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return h
}
