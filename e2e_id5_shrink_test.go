package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vendorlake/vendorlake/io/lakestate"
	"github.com/vendorlake/vendorlake/transforms"
)

// id5Rows returns per-partner rows uid-FROM..uid-(FROM+N-1) of partner g.
func id5Rows(g, from, n int) string {
	var b strings.Builder
	for i := from; i < from+n; i++ {
		fmt.Fprintf(&b, "uid-%03d|%d|p%d\n", i, g, i)
	}
	return b.String()
}

// putInput writes a vendor file with a modification time after every earlier one.
func putInput(t *testing.T, in, rel, data string) {
	t.Helper()
	p := filepath.Join(in, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	mt := time.Now().Add(time.Duration(len(treeHashes(t, in))) * time.Second)
	if err := os.Chtimes(p, mt, mt); err != nil {
		t.Fatal(err)
	}
}

// lakeState hashes every file of the lake but the run reports: what a run
// that commits nothing must leave as it was (tables, ledger, no temp files).
func id5LakeState(t *testing.T, lake string) string {
	t.Helper()
	var b strings.Builder
	for rel, h := range treeHashes(t, lake) {
		if !strings.HasPrefix(rel, lakestate.RunsDir("")) {
			fmt.Fprintf(&b, "%s %s\n", rel, h)
		}
	}
	lines := strings.Split(b.String(), "\n")
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

var runIDRe = regexp.MustCompile(`\(run (\S+), runner`)

// runReport reads the stored report of the run whose summary is stdout
// (suffix "-id5_current" for its chained rebuild).
func id5RunReport(t *testing.T, lake, stdout, suffix string) transforms.RunReport {
	t.Helper()
	m := runIDRe.FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no run ID in %q", stdout)
	}
	data, err := os.ReadFile(lakestate.ReportPath(lake, m[1]+suffix))
	if err != nil {
		t.Fatal(err)
	}
	var r transforms.RunReport
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// currentRowsByPartner reads id5_mapping_base's rows per partition from the
// chained rebuild's report (a full extract always rebuilds the base).
func currentRowsByPartner(t *testing.T, lake, stdout string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, p := range id5RunReport(t, lake, stdout, "-id5_current").Partitions {
		if p.Table == "id5_mapping_base" {
			out[p.Partition] += p.Rows
		}
	}
	return out
}

// TestID5ExtractShrinkGuard: a full extract that would silently wipe or
// mostly empty its partner's mapping exits 3 and commits nothing (tables and
// ledger byte for byte as before), the message naming the file, the partner
// and the counts; --max-extract-shrink=1 accepts it; a 40% shrink commits;
// the run report lists every partner's before/after counts.
func TestID5ExtractShrinkGuard(t *testing.T) {
	in, lake := t.TempDir(), filepath.Join(t.TempDir(), "lake")
	args := func(extra ...string) []string {
		return append([]string{"id5", "--input=" + in, "--output=" + lake, "--source-gvlid=35"}, extra...)
	}
	putInput(t, in, "full-extracts/20/20240101000000.csv", id5Rows(20, 0, 10))
	putInput(t, in, "full-extracts/45/20240101000000.csv", id5Rows(45, 0, 10))
	if code, out, errs := vendorlake(t, args()...); code != 0 {
		t.Fatalf("first load: exit %d\n%s%s", code, out, errs)
	}

	refused := func(step, file string, want ...string) {
		t.Helper()
		before := id5LakeState(t, lake)
		code, out, errs := vendorlake(t, args()...)
		if code != 3 {
			t.Fatalf("%s: exit %d, want 3\n%s%s", step, code, out, errs)
		}
		// The error is printed once, on stderr; the summary names the file
		// on its replaces line.
		for _, w := range append([]string{file}, want...) {
			if !strings.Contains(errs, w) {
				t.Errorf("%s: %q missing from the error\nstdout: %s\nstderr: %s", step, w, out, errs)
			}
		}
		if !strings.Contains(out, file) || strings.Count(out+errs, "nothing committed") != 1 {
			t.Errorf("%s: the summary does not name %s, or the error is not printed exactly once\nstdout: %s\nstderr: %s", step, file, out, errs)
		}
		if after := id5LakeState(t, lake); after != before {
			t.Errorf("%s: the refused run changed the lake:\nbefore:\n%s\nafter:\n%s", step, before, after)
		}
		if r := id5RunReport(t, lake, out, ""); r.Status != transforms.StatusRefused {
			t.Errorf("%s: report status %s", step, r.Status)
		}
	}

	const next = "full-extracts/20/20240201000000.csv"
	putInput(t, in, next, "")
	refused("0-byte extract", next, "partner 20", "10 current UIDs", "no valid row")

	putInput(t, in, next, "garbage\nuid-001|45|p1\n\"uid-002|20|p2\n")
	refused("every row rejected", next, "partner 20", "10 current UIDs", "no valid row")

	putInput(t, in, next, id5Rows(20, 6, 4)) // 6 of 10 current UIDs absent
	refused("60% shrink", next, "partner 20", "lacks 6 of partner 20's 10 current UIDs", "4 valid rows")

	code, out, errs := vendorlake(t, args("--max-extract-shrink=1")...)
	if code != 0 {
		t.Fatalf("60%% shrink with --max-extract-shrink=1: exit %d\n%s%s", code, out, errs)
	}
	if got := currentRowsByPartner(t, lake, out); got["partner_gvlid=20"] != 4 || got["partner_gvlid=45"] != 10 {
		t.Errorf("after the accepted shrink: id5_mapping_current rows %v, want partner 20: 4, 45: 10", got)
	}
	checks := id5RunReport(t, lake, out, "").Inputs[0].Replaces
	if len(checks) != 1 || checks[0].Key != "partner_gvlid=20" || checks[0].Before != 10 || checks[0].After != 4 || checks[0].Absent != 6 {
		t.Errorf("report checks %+v, want partner_gvlid=20 before 10 after 4 absent 6", checks)
	}

	// 4 of the 10 current UIDs of partner 45 absent: commits.
	putInput(t, in, "full-extracts/45/20240201000000.csv", id5Rows(45, 4, 8))
	code, out, errs = vendorlake(t, args()...)
	if code != 0 {
		t.Fatalf("40%% shrink: exit %d\n%s%s", code, out, errs)
	}
	if got := currentRowsByPartner(t, lake, out); got["partner_gvlid=45"] != 8 {
		t.Errorf("after the 40%% shrink: id5_mapping_current rows %v, want partner 45: 8", got)
	}
	if !strings.Contains(out, "partner_gvlid=45: 10 -> 8 rows (4 absent)") {
		t.Errorf("summary does not list partner 45's before/after counts:\n%s", out)
	}
}

// TestID5SingleFileExtractAllRejected: a single-file extract whose header
// names partners but whose rows are all rejected would empty every one of
// them: exit 3 (with the default reject bound as well), both partners named.
func TestID5SingleFileExtractAllRejected(t *testing.T) {
	in, lake := t.TempDir(), filepath.Join(t.TempDir(), "lake")
	args := []string{"id5", "--input=" + in, "--output=" + lake, "--source-gvlid=35"}
	putInput(t, in, "full-extracts/20240101000000.csv", "35|20|45\n\"uid-1\"|\"a1\"|\"b1\"\n\"uid-2\"|\"a2\"|\"b2\"\n")
	if code, out, errs := vendorlake(t, args...); code != 0 {
		t.Fatalf("first load: exit %d\n%s%s", code, out, errs)
	}
	before := id5LakeState(t, lake)
	const bad = "full-extracts/20240201000000.csv"
	putInput(t, in, bad, "35|20|45\n\"uid-1\"|\"a1\"\nuid-2|\"b\"c|x\n")
	code, out, errs := vendorlake(t, args...)
	if code != 3 {
		t.Fatalf("exit %d, want 3\n%s%s", code, out, errs)
	}
	for _, w := range []string{bad, "no valid row for partner 20", "no valid row for partner 45", "2 current UIDs"} {
		if !strings.Contains(errs, w) {
			t.Errorf("%q missing from %q", w, errs)
		}
	}
	if after := id5LakeState(t, lake); after != before {
		t.Errorf("the refused run changed the lake:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
