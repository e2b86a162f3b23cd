package main

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDidomiEveryRejectKindInOnePartition runs the Didomi pipeline, with
// the default flags, on one partition that holds a rejected proof archive
// entry (a name with "..", among 150 good proofs, so under the 1 % proof
// bound), a rejected line and a rejected event (among 250 good users, under
// the 1 % reject bound). All three go to didomi_rejects of that partition,
// with one schema: the run commits and exits 0. Before the rejects collector
// took its table, the proof reject had no event_index, the sink refused to
// put it in the file of the line rejects ("batch schema differs from the
// file's schema"), and every run of that day failed.
func TestDidomiEveryRejectKindInOnePartition(t *testing.T) {
	root := t.TempDir()
	in, lake := filepath.Join(root, "in"), filepath.Join(root, "lake")
	dir := filepath.Join(in, "export-id=e1", "date=2024-03-01")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "_SUCCESS"), nil, 0o644)

	r := rand.New(rand.NewPCG(22, 1))
	var entries []proofEntry
	for i := 0; i < 150; i++ {
		entries = append(entries, proofEntry{tar.Header{Name: proofName(r, "pdf"), Typeflag: tar.TypeReg}, []byte(fmt.Sprintf("%%PDF-1.4 %d", i))})
	}
	bad := proofEntry{tar.Header{Name: "../" + proofName(r, "pdf"), Typeflag: tar.TypeReg}, []byte("dotdot")}
	entries = append(entries[:70], append([]proofEntry{bad}, entries[70:]...)...)
	writeArchive(t, dir, entries, 4096)

	var users strings.Builder
	event := func(user string, n int) string {
		return fmt.Sprintf(`{"id":"%s-ev%d","organization_id":"org","created_at":"2024-02-29T10:00:00Z","updated_at":"2024-02-29T10:00:00Z","status":"confirmed","user":{"id":"%s"}}`, user, n, user)
	}
	for i := 0; i < 250; i++ {
		u := fmt.Sprintf("u%03d", i)
		events := event(u, 0)
		if i == 7 {
			events += `,42` // the second event of line 8 is not an object
		}
		fmt.Fprintf(&users, `{"user":{"id":"%s","organization_id":"org","created_at":"2024-02-29T10:00:00Z","updated_at":"2024-02-29T10:00:00Z"},"events":[%s]}`+"\n", u, events)
		if i == 11 {
			users.WriteString("not json at all\n") // line 13
		}
	}
	os.MkdirAll(filepath.Join(dir, "users"), 0o755)
	f, err := os.Create(filepath.Join(dir, "users", "users.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	zw.Write([]byte(users.String()))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	code, out, errs := vendorlake(t, "didomi", "--input="+in, "--output="+lake)
	if code != exitOK {
		t.Fatalf("exit %d, want 0\n%s\n%s", code, out, errs)
	}
	assertNoTempInTables(t, lake)
	rows := duckdb(t, "SELECT reason_code, source_file, source_line, event_index, export_id, CAST(date AS VARCHAR) AS date FROM "+
		scan(lake, "didomi_rejects")+" ORDER BY reason_code")
	var got []string
	for _, row := range rows {
		got = append(got, fmt.Sprintf("%v %v:%v event=%v %v/%v", row["reason_code"], row["source_file"], num(row["source_line"]),
			row["event_index"], row["export_id"], row["date"]))
	}
	want := []string{
		"event_not_object export-id=e1/date=2024-03-01/users/users.json.gz:8 event=1 e1/2024-03-01",
		"invalid_json export-id=e1/date=2024-03-01/users/users.json.gz:13 event=<nil> e1/2024-03-01",
		"proof_unsafe_path export-id=e1/date=2024-03-01/proofs.tar.gz:70 event=<nil> e1/2024-03-01",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("didomi_rejects:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for table, n := range map[string]int64{"didomi_users": 250, "didomi_events": 250, "didomi_proofs": 150} {
		if got := num(duckdb(t, "SELECT count(*) AS n FROM "+scan(lake, table))[0]["n"]); got != n {
			t.Errorf("%s: %d rows, want %d", table, got, n)
		}
	}
}

// TestRefusedRunKeepsItsRejects runs the Didomi sample, whose planted bad
// lines and events exceed --max-reject-ratio=0.001: exit 3, no table
// written, and the rejected rows kept in _vendorlake/runs/RUN_ID/ in a Hive
// layout that DuckDB reads with every reject the report counts, each in its
// partition. Before, the gate deleted them with the run's temporary folder
// and only per-file counts remained.
func TestRefusedRunKeepsItsRejects(t *testing.T) {
	lake := t.TempDir()
	code, out, errs := vendorlake(t, "didomi", "--input=testdata/didomi", "--output="+lake, "--max-reject-ratio=0.001")
	if code != exitRejectRatio {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, exitRejectRatio, out, errs)
	}
	var rep struct {
		RunID       string `json:"run_id"`
		Status      string `json:"status"`
		RejectsKept string `json:"rejects_kept"`
		Totals      struct {
			Rejected       int64 `json:"rejected"`
			EventsRejected int64 `json:"events_rejected"`
		} `json:"totals"`
		Inputs []struct {
			Partition      string `json:"partition"`
			Rejected       int64  `json:"rejected"`
			EventsRejected int64  `json:"events_rejected"`
		} `json:"inputs"`
	}
	readReport(t, out, &rep)
	want := filepath.Join(lake, "_vendorlake", "runs", rep.RunID)
	if rep.Status != "reject_ratio_exceeded" || rep.RejectsKept != want {
		t.Fatalf("report status %q, rejects_kept %q; want reject_ratio_exceeded, %q", rep.Status, rep.RejectsKept, want)
	}
	if !strings.Contains(out, "kept      the rejected rows in "+want) {
		t.Errorf("the summary does not name the kept rejects:\n%s", out)
	}
	entries, _ := os.ReadDir(lake)
	for _, e := range entries {
		if e.Name() != "_vendorlake" {
			t.Errorf("a refused run wrote %s", e.Name())
		}
	}
	if _, err := os.Stat(filepath.Join(lake, "_vendorlake", "tmp", rep.RunID)); !os.IsNotExist(err) {
		t.Errorf("the run's temporary folder is still there (%v)", err)
	}
	wantParts := map[string]int64{}
	for _, in := range rep.Inputs {
		if n := in.Rejected + in.EventsRejected; n > 0 {
			wantParts[in.Partition] += n
		}
	}
	rows := duckdb(t, "SELECT export_id, CAST(date AS VARCHAR) AS d, count(*) AS n FROM "+scan(want, "didomi_rejects")+" GROUP BY ALL ORDER BY ALL")
	gotParts := map[string]int64{}
	total := int64(0)
	for _, r := range rows {
		gotParts[fmt.Sprintf("export_id=%v/date=%v", r["export_id"], r["d"])] = num(r["n"])
		total += num(r["n"])
	}
	if total == 0 || total != rep.Totals.Rejected+rep.Totals.EventsRejected || fmt.Sprint(gotParts) != fmt.Sprint(wantParts) {
		t.Errorf("kept rejects per partition %v (total %d), the report counts %v (%d lines + %d events)",
			gotParts, total, wantParts, rep.Totals.Rejected, rep.Totals.EventsRejected)
	}
}

// readReport decodes the run report named on the summary's "report" line.
func readReport(t *testing.T, out string, v any) {
	t.Helper()
	m := regexp.MustCompile(`(?m)^  report +(\S+\.json)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no report line in the summary:\n%s", out)
	}
	data, err := os.ReadFile(m[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatal(err)
	}
}
