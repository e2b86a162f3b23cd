package lakestate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/ledger"
)

// plantReport writes a report of pipeline for the run started at t, with
// kept rejects when rejects.
func plantReport(t testing.TB, fsys lakefs.FS, out, pipeline string, at time.Time, n int, rejects bool) string {
	t.Helper()
	runID := fmt.Sprintf("%s-%06x", at.UTC().Format(runIDTime), n)
	ctx := context.Background()
	if err := WriteReport(ctx, fsys, out, runID, map[string]any{"run_id": runID, "pipeline": pipeline}); err != nil {
		t.Fatal(err)
	}
	if rejects {
		p := lakefs.Join(RejectsDir(out, runID), "x_rejects", "date=2024-01-01", "part-0.parquet")
		if err := lakefs.WriteFile(ctx, fsys, p, []byte("PAR1")); err != nil {
			t.Fatal(err)
		}
	}
	return runID
}

// TestPruneReports: 600 old reports of id5 (some with kept rejects) go,
// reports of another pipeline, young reports and the ledger stay.
func TestPruneReports(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	fsys := lakefs.Local{}
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	keep := 720 * time.Hour
	var oldID5, young, otherOld []string
	for i := range 600 {
		oldID5 = append(oldID5, plantReport(t, fsys, out, "id5", now.Add(-keep-time.Duration(i+1)*5*time.Minute), i, i%50 == 0))
	}
	oldID5 = append(oldID5, plantReport(t, fsys, out, "id5_current", now.Add(-keep-time.Hour), 9000, false))
	for i := range 10 {
		young = append(young, plantReport(t, fsys, out, "id5", now.Add(-keep+time.Duration(i+1)*time.Minute), 1000+i, i == 0))
		otherOld = append(otherOld, plantReport(t, fsys, out, "didomi", now.Add(-keep-time.Duration(i+1)*time.Hour), 2000+i, i == 0))
	}
	led, err := LedgerWrite(out, ledger.Entry{Pipeline: "id5", Unit: "u", RunID: oldID5[0]})
	if err != nil {
		t.Fatal(err)
	}
	if err := lakefs.WriteFile(ctx, fsys, led.Path, led.Data); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	pr, err := PruneReports(ctx, fsys, out, []string{"id5", "id5_current"}, now.Add(-keep))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("pruned %d reports and %d reject files of 620 reports in %v", pr.Reports, pr.RejectFiles, time.Since(start))
	if pr.Reports != 601 || pr.RejectFiles != 12 {
		t.Errorf("pruned %+v, want 601 reports and 12 reject files", pr)
	}
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	for _, id := range oldID5 {
		if exists(ReportPath(out, id)) || exists(RejectsDir(out, id)) {
			t.Fatalf("report or rejects of %s kept", id)
		}
	}
	for _, id := range append(young, otherOld...) {
		if !exists(ReportPath(out, id)) {
			t.Errorf("report %s removed", id)
		}
	}
	if !exists(RejectsDir(out, young[0])) || !exists(RejectsDir(out, otherOld[0])) {
		t.Error("rejects of a kept report removed")
	}
	if !exists(led.Path) {
		t.Error("the ledger was pruned")
	}
	// A second prune finds nothing more.
	if pr, err := PruneReports(ctx, fsys, out, []string{"id5"}, now.Add(-keep)); err != nil || pr.Reports != 0 {
		t.Errorf("second prune: %+v, %v", pr, err)
	}
}

// TestReportAge: the age of a report comes from its run ID, or its mtime.
func TestReportAge(t *testing.T) {
	m := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		id   string
		want time.Time
	}{
		{"20260102T030405Z-abcdef", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		{"20260102T030405Z-abcdef-id5_current", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		{"manual", m},
	} {
		if got := reportAge(tc.id, m); !got.Equal(tc.want) {
			t.Errorf("reportAge(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
}

// BenchmarkLoadLedger17000 measures what every run pays today to read a
// year of ID5 pushes (one ledger entry per input file: 17,000) from local
// disk. See the S3 figure in the report of issue 24.
func BenchmarkLoadLedger17000(b *testing.B) {
	ctx := context.Background()
	out := b.TempDir()
	fsys := lakefs.Local{}
	plantLedger(b, fsys, out, 17000)
	b.ResetTimer()
	for range b.N {
		got, err := LoadLedger(ctx, fsys, out, "id5")
		if err != nil || len(got) != 17000 {
			b.Fatalf("%d entries, %v", len(got), err)
		}
	}
}

// plantLedger writes n ID5-like ledger entries.
func plantLedger(t testing.TB, fsys lakefs.FS, out string, n int) {
	ctx := context.Background()
	for i := range n {
		unit := fmt.Sprintf("partner=1234/%s/id5-graph-%06d.csv.gz", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i)*30*time.Minute).Format("2006/01/02"), i)
		w, err := LedgerWrite(out, ledger.Entry{Pipeline: "id5", Unit: unit, RunID: "20250101T000000Z-abcdef",
			Inputs: []ledger.Input{{Rel: filepath.ToSlash(unit), Size: 1 << 20, ModTime: int64(i)}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := lakefs.WriteFile(ctx, fsys, w.Path, w.Data); err != nil {
			t.Fatal(err)
		}
	}
}
