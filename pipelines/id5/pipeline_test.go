package id5

import (
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vendorlake/vendorlake/pipelines/run"
	"github.com/vendorlake/vendorlake/transforms"
)

var fixtures = filepath.Join("..", "..", "testdata", "id5", "fixtures")

// TestFixtures runs the vendor document's two examples: 2 per-partner rows,
// 8 single-file rows (CCCCCC has no update for partner 45).
func TestFixtures(t *testing.T) {
	out := t.TempDir()
	rep := execute(t, fixtures, out, false)
	if rep.Status != transforms.StatusCommitted {
		t.Fatalf("status %s: %s", rep.Status, rep.Error)
	}
	rows := readTable(t, out, UpdatesTable)
	bySource := countBy(rows, "source_file")
	if bySource["incremental/20220305/003000.csv"] != 8 || bySource["incremental/45/20220305/000300.csv"] != 2 || len(rows) != 10 {
		t.Errorf("rows by source file: %v", bySource)
	}
	want := map[string]string{
		"AAAAAA/20": "111111", "AAAAAA/45": "222222", "AAAAAA/109": "333333",
		"BBBBBB/20": "444444", "BBBBBB/45": "555555", "BBBBBB/109": "666666",
		"CCCCCC/20": "777777", "CCCCCC/109": "999999",
		"550e8400-e29b-41d4-a716-446655440000/45": "100000187421490458",
		"d2a8378f-fe56-4ec2-96d1-3c05df02bb48/45": "1000002629570693845",
	}
	at := time.Date(2022, 3, 5, 0, 30, 0, 0, time.UTC)
	for _, r := range rows {
		k := r.str("uid") + "/" + itoa(r.i64("partner_gvlid"))
		if want[k] != r.str("partner_uid") {
			t.Errorf("row %s: partner_uid %q, want %q", k, r.str("partner_uid"), want[k])
		}
		delete(want, k)
		if r.str("date") != "2022-03-05" || r.i64("source_gvlid") != 35 {
			t.Errorf("row %s: %v", k, r)
		}
		if r.str("source_file") == "incremental/20220305/003000.csv" {
			if r.str("delivery") != DeliverySingleFile || !r["delivered_at"].(time.Time).Equal(at) || r.i64("source_line") < 2 {
				t.Errorf("row %s: %v", k, r)
			}
		} else if r.str("delivery") != DeliveryPerPartner {
			t.Errorf("row %s: %v", k, r)
		}
	}
	if len(want) != 0 {
		t.Errorf("missing rows: %v", want)
	}
	if n := len(readTable(t, out, RejectsTable)); n != 0 {
		t.Errorf("%d rejects", n)
	}
	checkCurrentTable(t, fixtures, out)
	if got := len(currentRows(t, out)); got != 10 {
		t.Errorf("id5_mapping_current has %d rows, want 10", got)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestHeaderChanges: a single-file header reorders its partners and adds a
// new partner in the middle of the day; every row lands on the right partner.
func TestHeaderChanges(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	put(t, in, "incremental/20221106/000000.csv",
		`35|20|45`,
		`"u1"|"a20"|"a45"`,
		`"u2"|""|"b45"`)
	put(t, in, "incremental/20221106/120000.csv",
		`35|109|45|20`, // partner 109 is new, 45 and 20 swapped
		`"u1"|"c109"|""|"c20"`,
		`"u3"|"d109"|"d45"|""`)
	put(t, in, "incremental/20221106/180000.csv",
		`"131"|"20"`, // ID5 IDs as the source, quoted header
		`"id5-x"|"e20"`)
	rep := execute(t, in, out, false)
	if rep.Status != transforms.StatusCommitted {
		t.Fatalf("status %s", rep.Status)
	}
	var got []string
	for _, r := range readTable(t, out, UpdatesTable) {
		got = append(got, r.str("source_file")[len("incremental/20221106/"):]+":"+itoa(r.i64("source_line"))+" "+
			itoa(r.i64("source_gvlid"))+" "+r.str("uid")+"/"+itoa(r.i64("partner_gvlid"))+"="+r.str("partner_uid"))
	}
	sort.Strings(got)
	want := []string{
		"000000.csv:2 35 u1/20=a20",
		"000000.csv:2 35 u1/45=a45",
		"000000.csv:3 35 u2/45=b45",
		"120000.csv:2 35 u1/109=c109",
		"120000.csv:2 35 u1/20=c20",
		"120000.csv:3 35 u3/109=d109",
		"120000.csv:3 35 u3/45=d45",
		"180000.csv:2 131 id5-x/20=e20",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	checkCurrentTable(t, in, out)
	// Partitions of id5_mapping_base: one per partner.
	parts := countBy(readTable(t, out, BaseTable), "partner_gvlid")
	if len(parts) != 3 || parts["20"] != 2 || parts["45"] != 3 || parts["109"] != 2 {
		t.Errorf("current rows per partner: %v", parts)
	}
}

// TestSample runs the bundled sample bucket (scripts/gendata id5 --sample),
// as vendorlake demo does, and checks it against the reference model.
func TestSample(t *testing.T) {
	in := filepath.Join("..", "..", "testdata", "id5", "sample")
	out := t.TempDir()
	rep := execute(t, in, out, false, func(o *run.Options) { o.MaxRejectRatio = 0.5 })
	if rep.Status != transforms.StatusCommitted {
		t.Fatalf("status %s: %s", rep.Status, rep.Error)
	}
	reasons := map[string]int64{}
	for _, c := range rep.Totals.RejectsByReason {
		reasons[c.Name] = c.N
	}
	if !equalCounts(reasons, map[string]int64{ReasonFieldCount: 1, ReasonGVLIDMismatch: 1, ReasonEmptyUID: 1}) {
		t.Errorf("rejects by reason: %v", reasons)
	}
	if len(rep.Skipped) != 1 || rep.Skipped[0].What != "full-extracts/109/latest.csv" {
		t.Errorf("skipped: %+v", rep.Skipped)
	}
	kinds := map[string]bool{}
	for _, st := range rep.Inputs {
		df, err := classifyRel(st.Rel)
		if err != nil {
			t.Fatal(err)
		}
		kinds[df.Kind.String()+"/"+st.Compression] = true
	}
	for _, k := range []string{"incremental_per_partner/plain", "incremental_per_partner/gzip", "incremental_single/plain",
		"full_per_partner/plain", "full_single/plain"} {
		if !kinds[k] {
			t.Errorf("the sample has no %s file (has %v)", k, kinds)
		}
	}
	checkCurrentTable(t, in, out)
}
