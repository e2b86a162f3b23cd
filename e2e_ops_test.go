package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/lakestate"
)

// plantOldReports writes n reports of pipeline started age ago, the first
// with kept rejects, and returns their run IDs.
func plantOldReports(t *testing.T, lake, pipeline string, n int, age time.Duration) []string {
	t.Helper()
	ctx := context.Background()
	var ids []string
	for i := range n {
		id := fmt.Sprintf("%s-%06x-%s", time.Now().UTC().Add(-age-time.Duration(i)*5*time.Minute).Format("20060102T150405Z"), i, pipeline)
		if err := lakestate.WriteReport(ctx, lakefs.Local{}, lake, id, map[string]any{"run_id": id, "pipeline": pipeline}); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			p := filepath.Join(lakestate.RejectsDir(lake, id), pipeline+"_rejects", "x=1", "part.parquet")
			if err := lakefs.WriteFile(ctx, lakefs.Local{}, p, []byte("PAR1")); err != nil {
				t.Fatal(err)
			}
		}
		ids = append(ids, id)
	}
	return ids
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// TestOrchestratorOutputs: --summary=json prints one JSON object on stdout
// with the orchestrator's --run-id, the version and the exit code;
// --report-file holds the same report; the run removes its pipeline's
// reports older than --keep-reports (default 720h), not another
// pipeline's, and a second run with nothing to do prunes too.
func TestOrchestratorOutputs(t *testing.T) {
	t.Setenv("VENDORLAKE_MAX_REJECT_RATIO", "0.5") // the sample's rejects
	lake := t.TempDir()
	oldDidomi := plantOldReports(t, lake, "didomi", 5, 721*time.Hour)
	oldID5 := plantOldReports(t, lake, "id5", 3, 721*time.Hour)
	reportFile := filepath.Join(t.TempDir(), "sub", "report.json")
	label := "scheduled__2026-12-04T00:00:00+00:00"
	code, out, errs := vendorlake(t, "didomi", "--input=testdata/didomi", "--output="+lake, "--summary=json",
		"--run-id="+label, "--report-file="+reportFile)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
	if strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Fatalf("stdout is not one line: %q", out)
	}
	var sum map[string]any
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("stdout is not JSON: %v: %q", err, out)
	}
	if sum["orchestrator_run_id"] != label || sum["exit_code"] != 0.0 || sum["status"] != "committed" || sum["version"] == nil || sum["run_id"] == label {
		t.Errorf("summary %v", sum)
	}
	var file map[string]any
	data, err := os.ReadFile(reportFile)
	if err != nil || json.Unmarshal(data, &file) != nil || file["run_id"] != sum["run_id"] || file["orchestrator_run_id"] != label {
		t.Errorf("--report-file: %v, %s", err, data)
	}
	if lakeRep := lakestate.ReportPath(lake, sum["run_id"].(string)); !strings.Contains(readString(t, lakeRep), label) {
		t.Errorf("the lake's report lacks the label")
	}
	for _, id := range oldDidomi {
		if fileExists(lakestate.ReportPath(lake, id)) || fileExists(lakestate.RejectsDir(lake, id)) {
			t.Errorf("old didomi report %s kept", id)
		}
	}
	for _, id := range oldID5 {
		if !fileExists(lakestate.ReportPath(lake, id)) {
			t.Errorf("id5 report %s removed by a didomi run", id)
		}
	}
	// Nothing to do: still prunes; --keep-reports=0 keeps everything.
	again := plantOldReports(t, lake, "didomi", 2, 24*time.Hour)
	if code, _, errs := vendorlake(t, "didomi", "--input=testdata/didomi", "--output="+lake, "--keep-reports=0"); code != exitOK || !fileExists(lakestate.ReportPath(lake, again[0])) {
		t.Fatalf("--keep-reports=0: exit %d, %s", code, errs)
	}
	if code, out, errs := vendorlake(t, "didomi", "--input=testdata/didomi", "--output="+lake, "--keep-reports=1h"); code != exitOK || !strings.Contains(out, "nothing") || fileExists(lakestate.ReportPath(lake, again[0])) {
		t.Fatalf("nothing-to-do run with --keep-reports=1h: exit %d, report kept %v, %s %s", code, fileExists(lakestate.ReportPath(lake, again[0])), out, errs)
	}
	// The prune command, on demand, per pipeline; the ledger stays.
	code, out, errs = vendorlake(t, "prune", "--output="+lake, "--pipelines=id5")
	if code != exitOK || !strings.Contains(out, "id5: 3 reports and 1 reject files") {
		t.Fatalf("prune: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if entries, _ := os.ReadDir(lakestate.LedgerDir(lake, "didomi")); len(entries) == 0 {
		t.Error("the ledger was pruned")
	}
	if code, _, errs := vendorlake(t, "prune", "--output="+lake, "--pipelines=acme"); code != exitUsage || !strings.Contains(errs, "unknown pipeline") {
		t.Errorf("prune --pipelines=acme: exit %d, %s", code, errs)
	}
}

// TestSummaryJSONWithoutReport: a run that fails before it has a report
// (another run holds the lock) still prints one JSON object with its exit
// code.
func TestSummaryJSONWithoutReport(t *testing.T) {
	lake := t.TempDir()
	ctx := context.Background()
	lock, err := lakestate.AcquireLock(ctx, lakefs.Local{}, lake, "didomi", "other", lakestate.LockOptions{Lease: 2 * time.Second, Renew: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	code, out, _ := vendorlake(t, "didomi", "--input=testdata/didomi", "--output="+lake, "--summary=json", "--run-id=a:b+c")
	var sum map[string]any
	if err := json.Unmarshal([]byte(out), &sum); err != nil || code != exitLocked || sum["exit_code"] != float64(exitLocked) || sum["orchestrator_run_id"] != "a:b+c" {
		t.Errorf("exit %d, summary %q (%v)", code, out, err)
	}
}

func readString(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
