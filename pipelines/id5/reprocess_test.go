package id5

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vendorlake/vendorlake/io/lakestate"
	"github.com/vendorlake/vendorlake/pipelines/run"
	"github.com/vendorlake/vendorlake/transforms"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

// TestReprocess: a second run reads nothing (ledger); --reprocess rewrites
// the same rows; a re-pushed file with the same content (new mtime) does
// not duplicate; a re-pushed file with changed content replaces its rows,
// and one with no rows any more removes them.
func TestReprocess(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	copyTree(t, fixtures, in)
	const single = "incremental/20220305/003000.csv"
	const perPartner = "incremental/45/20220305/000300.csv"

	check := func(step string, wantRows map[string]int) {
		t.Helper()
		got := countBy(readTable(t, out, UpdatesTable), "source_file")
		for k, n := range wantRows {
			if got[k] != n {
				t.Errorf("%s: %s has %d rows, want %d (all: %v)", step, k, got[k], n, got)
			}
		}
		total := 0
		for _, n := range got {
			total += n
		}
		want := 0
		for _, n := range wantRows {
			want += n
		}
		if total != want {
			t.Errorf("%s: %d rows in %s, want %d: %v", step, total, UpdatesTable, want, got)
		}
		checkCurrentTable(t, in, out)
	}

	rep := execute(t, in, out, false)
	if rep.Status != transforms.StatusCommitted || len(rep.Inputs) != 2 {
		t.Fatalf("first run: %s, %d inputs", rep.Status, len(rep.Inputs))
	}
	check("first run", map[string]int{single: 8, perPartner: 2})

	rep = execute(t, in, out, false)
	if rep.Status != transforms.StatusNothingToDo {
		t.Errorf("second run: status %s, want nothing to do", rep.Status)
	}
	if len(rep.Partitions) != 0 {
		t.Errorf("second run wrote %v", rep.Partitions)
	}
	check("second run", map[string]int{single: 8, perPartner: 2})

	rep = execute(t, in, out, true)
	if rep.Status != transforms.StatusCommitted || len(rep.Inputs) != 2 || rep.FilesReplaced == 0 {
		t.Errorf("--reprocess: %s, %d inputs, %d files replaced", rep.Status, len(rep.Inputs), rep.FilesReplaced)
	}
	check("--reprocess", map[string]int{single: 8, perPartner: 2})

	// The same content pushed again: a new mtime.
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(in, perPartner), later, later); err != nil {
		t.Fatal(err)
	}
	rep = execute(t, in, out, false)
	if rep.Status != transforms.StatusCommitted || len(rep.Inputs) != 1 || rep.Inputs[0].Rel != perPartner {
		t.Errorf("re-push: %s, inputs %+v", rep.Status, rep.Inputs)
	}
	check("re-push, same content", map[string]int{single: 8, perPartner: 2})

	// Changed content: the file's rows are replaced.
	put(t, in, single,
		`35|20|45|109`,
		`"AAAAAA"|"111112"|""|""`,
		`"DDDDDD"|""|"000045"|""`)
	rep = execute(t, in, out, false)
	if rep.Status != transforms.StatusCommitted || len(rep.Inputs) != 1 {
		t.Errorf("changed re-push: %s, inputs %+v", rep.Status, rep.Inputs)
	}
	check("re-push, changed content", map[string]int{single: 2, perPartner: 2})
	for _, r := range readTable(t, out, UpdatesTable) {
		if r.str("source_file") == single && r.str("uid") == "AAAAAA" && r.str("partner_uid") != "111112" {
			t.Errorf("old row survived: %v", r)
		}
	}

	// Re-pushed with no rows at all: its rows are removed.
	put(t, in, single, `35|20|45|109`)
	rep = execute(t, in, out, false)
	if rep.Status != transforms.StatusCommitted || rep.FilesReplaced == 0 {
		t.Errorf("empty re-push: %s, %d files replaced", rep.Status, rep.FilesReplaced)
	}
	check("re-push, no rows", map[string]int{perPartner: 2})
}

// TestRejects plants every reject reason and file-level failure and checks
// that they reach id5_rejects (or the report) with counters that add up.
func TestRejects(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	// Well over MaxLineBytes+ChunkBytes: lineparse.Parse only catches
	// lines that fill a whole chunk (see the report).
	long := "u-long|45|" + strings.Repeat("x", 1000)
	const pp = "incremental/45/20221106/000000.csv"
	put(t, in, pp,
		"u1|45|p1",
		"",
		"a|45",
		`"a|45|b`,
		`a"b|45|c`,
		"|45|c",
		"a|45|",
		"a|x|c",
		"a|46|c",
		"a|45|\xff",
		long,
		"u2|45|p2")
	const sf = "incremental/20221106/010000.csv"
	put(t, in, sf,
		`35|20|45`,
		`"u1"|"a"|"b"`,
		`"u2"|"a"`,
		`""|"a"|"b"`,
		`"u3"|""|""`, // no update at all: not a reject, no row
		"   ")
	const badHeader = "incremental/20221106/020000.csv"
	put(t, in, badHeader, `35|abc|45`, `"u1"|"a"|"b"`)
	put(t, in, "full-extracts/45/latest.csv", "u1|45|p1")
	put(t, in, "full-extracts/45/20221106T000000Z.csv", "u9|45|p9", "u8|44|p8")
	put(t, in, "other/readme.txt", "not ID5")

	rep := execute(t, in, out, false, func(o *run.Options) { o.Lines.MaxLineBytes = 200 })
	if rep.Status != transforms.StatusCommitted {
		t.Fatalf("status %s: %s", rep.Status, rep.Error)
	}
	stats := map[string]transforms.FileStats{}
	for _, st := range rep.Inputs {
		stats[st.Rel] = st
	}
	if len(stats) != 4 {
		t.Errorf("inputs: %+v", rep.Inputs)
	}

	// The undatable extract is skipped with a clear reason; other data is ignored.
	var skipped []string
	for _, s := range rep.Skipped {
		skipped = append(skipped, s.What+": "+s.Reason)
	}
	if len(skipped) != 1 || !strings.HasPrefix(skipped[0], "full-extracts/45/latest.csv: ") || !strings.Contains(skipped[0], `extract datetime "latest"`) {
		t.Errorf("skipped: %q", skipped)
	}

	rejects := readTable(t, out, RejectsTable)
	byFile := map[string]map[string]int64{}
	for _, r := range rejects {
		f := r.str("source_file")
		if byFile[f] == nil {
			byFile[f] = map[string]int64{}
		}
		byFile[f][r.str("reason_code")]++
		if r.str("date") != "2022-11-06" {
			t.Errorf("reject in partition date=%s", r.str("date"))
		}
	}
	// Every reason, where it was planted.
	wantPP := map[string]int64{}
	for _, c := range []string{ReasonFieldCount, ReasonUnbalancedQuotes, ReasonInnerQuote, ReasonEmptyUID,
		ReasonEmptyPartnerUID, ReasonBadGVLID, ReasonGVLIDMismatch, ReasonInvalidUTF8, lineparse.ReasonLineTooLong} {
		wantPP[c] = 1
	}
	wantSF := map[string]int64{ReasonFieldCount: 1, ReasonEmptyUID: 1} // blank lines are not rejects
	for file, want := range map[string]map[string]int64{pp: wantPP, sf: wantSF, badHeader: {ReasonBadHeader: 1},
		"full-extracts/45/20221106T000000Z.csv": {ReasonGVLIDMismatch: 1}} {
		if !equalCounts(byFile[file], want) {
			t.Errorf("%s: rejects %v, want %v", file, byFile[file], want)
		}
		st := stats[file]
		if err := st.Check(); err != nil {
			t.Error(err)
		}
		got := map[string]int64{}
		for _, c := range st.RejectsByReason {
			got[c.Name] = c.N
		}
		if !equalCounts(got, want) {
			t.Errorf("%s: report rejects %v, want %v", file, got, want)
		}
	}
	if st := stats[pp]; st.RecordsIn != 11 || st.RecordsOut != 2 || st.Rejected != 9 || st.BlankLines != 1 {
		t.Errorf("%s: %+v", pp, st)
	}
	if st := stats[sf]; st.RecordsIn != 4 || st.RecordsOut != 2 || st.Rejected != 2 || st.BlankLines != 1 {
		t.Errorf("%s: %+v", sf, st)
	}
	if st := stats[badHeader]; !strings.Contains(st.Error, "bad single-file header") || st.RecordsOut != 0 {
		t.Errorf("%s: %+v", badHeader, st)
	}
	// Reject rows keep the raw line, bounded.
	for _, r := range rejects {
		if r.str("reason_code") == lineparse.ReasonLineTooLong && (len(r.str("raw")) >= len(long) || !strings.HasPrefix(long, r.str("raw"))) {
			t.Errorf("long line kept whole: %v", r)
		}
		if r.i64("source_line") < 1 {
			t.Errorf("reject without a line: %v", r)
		}
	}

	// Only good rows in the data tables.
	rows := countBy(readTable(t, out, UpdatesTable), "source_file")
	if rows[pp] != 2 || rows[sf] != 2 || rows[badHeader] != 0 {
		t.Errorf("update rows: %v", rows)
	}
	checkCurrentTable(t, in, out)
}

func equalCounts(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestCurrentCatchesUp: when the rebuild of id5_mapping_current did not
// happen after an ingest committed (a crash between the two stages, here
// simulated by removing its ledger and table), the next run, with nothing
// new to ingest, rebuilds it.
func TestCurrentCatchesUp(t *testing.T) {
	out := t.TempDir()
	execute(t, fixtures, out, false)
	for _, d := range []string{filepath.Join(out, BaseTable), filepath.Join(out, BaseStateTable), lakestate.LedgerDir(out, CurrentName)} {
		if err := os.RemoveAll(d); err != nil {
			t.Fatal(err)
		}
	}
	rep := execute(t, fixtures, out, false)
	if rep.Status != transforms.StatusNothingToDo {
		t.Errorf("status %s", rep.Status)
	}
	// Three partners' base, and the state's horizon row.
	if len(rep.Partitions) != 4 || rep.Partitions[0].Table != BaseTable || rep.Partitions[3].Table != BaseStateTable {
		t.Errorf("partitions: %+v", rep.Partitions)
	}
	checkCurrentTable(t, fixtures, out)
	// And when everything is up to date, the rebuild has nothing to do either.
	rep = execute(t, fixtures, out, false)
	if rep.Status != transforms.StatusNothingToDo || len(rep.Partitions) != 0 {
		t.Errorf("status %s, partitions %+v", rep.Status, rep.Partitions)
	}
}
