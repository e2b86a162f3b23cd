package id5

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/pipelines/run"
	"github.com/vendorlake/vendorlake/transforms"
)

// perPartnerRows returns n per-partner rows of partner g for UIDs uid-from..uid-(from+n-1).
func perPartnerRows(g, from, n int) []string {
	var out []string
	for i := from; i < from+n; i++ {
		out = append(out, fmt.Sprintf("uid-%03d|%d|p%d-%d", i, g, g, i))
	}
	return out
}

// runShrink runs the ID5 pipeline with the given extract bound and returns
// its report and error (a refusal is not a test failure here).
func runShrink(t *testing.T, in, out string, maxShrink float64) (transforms.RunReport, error) {
	t.Helper()
	o := run.Options{Input: in, Output: out, Runner: "direct", MaxRejectRatio: 1}
	return run.Execute(context.Background(), Pipeline{SourceGVLID: testSourceGVLID, MaxExtractShrink: maxShrink}, o)
}

// currentByPartner counts the rows of id5_mapping_current per partner.
func currentByPartner(t *testing.T, out string) map[string]int {
	t.Helper()
	m := map[string]int{}
	for _, r := range currentRows(t, out) {
		m[fmt.Sprint(r.PartnerGVLID)]++
	}
	return m
}

func replaceChecks(rep transforms.RunReport) map[string]transforms.ReplaceCheck {
	m := map[string]transforms.ReplaceCheck{}
	for _, in := range rep.Inputs {
		for _, c := range in.Replaces {
			m[in.Rel+" "+c.Key] = c
		}
	}
	return m
}

// TestExtractShrinkGuard: a new full extract that would wipe or mostly
// empty its partner's current mapping commits nothing (ErrRefused, the
// previous mapping intact, the ledger not advanced), names the file, the
// partner and the counts; a bound of 1 accepts it; a smaller shrink, a
// first load with rows, and an extract older than the partner's newest
// commit.
func TestExtractShrinkGuard(t *testing.T) {
	const first = "full-extracts/20/20240101000000.csv"
	const next = "full-extracts/20/20240201000000.csv"
	singleHeader := "35|20|45"
	singleRows := func(from, n int) []string {
		out := []string{singleHeader}
		for i := from; i < from+n; i++ {
			out = append(out, fmt.Sprintf(`"uid-%03d"|"a%d"|"b%d"`, i, i, i))
		}
		return out
	}
	type step struct {
		rel       string
		lines     []string // nil: a 0-byte file
		maxShrink float64
		refused   bool
		want      []string // substrings of the error
		// checks: "KEY before after absent" of the run report, per check
		checks map[string][3]int64
		// current rows per partner after the step
		current map[string]int
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"empty per-partner extract", []step{
			{rel: first, lines: perPartnerRows(20, 0, 10), maxShrink: 0.5, current: map[string]int{"20": 10},
				checks: map[string][3]int64{first + " partner_gvlid=20": {0, 10, 0}}},
			{rel: next, lines: nil, maxShrink: 0.5, refused: true,
				want:    []string{next, "no valid row for partner 20", "10 current UIDs"},
				checks:  map[string][3]int64{next + " partner_gvlid=20": {10, 0, 10}},
				current: map[string]int{"20": 10}},
			{rel: next, lines: nil, maxShrink: 1, current: map[string]int{},
				checks: map[string][3]int64{next + " partner_gvlid=20": {10, 0, 10}}},
		}},
		{"every row rejected", []step{
			{rel: first, lines: perPartnerRows(20, 0, 10), maxShrink: 0.5, current: map[string]int{"20": 10}},
			{rel: next, lines: []string{"garbage", "uid-000|45|x", "|20|y"}, maxShrink: 0.5, refused: true,
				want:    []string{next, "no valid row for partner 20"},
				current: map[string]int{"20": 10}},
		}},
		{"drop 60% then 40%", []step{
			{rel: first, lines: perPartnerRows(20, 0, 10), maxShrink: 0.5, current: map[string]int{"20": 10}},
			// uid-006..009 kept, plus 3 new: 6 of 10 absent.
			{rel: next, lines: perPartnerRows(20, 6, 7), maxShrink: 0.5, refused: true,
				want:    []string{next, "lacks 6 of partner 20's 10 current UIDs", "60.0%", "7 valid rows"},
				checks:  map[string][3]int64{next + " partner_gvlid=20": {10, 7, 6}},
				current: map[string]int{"20": 10}},
			// 4 of 10 absent: within the bound.
			{rel: next, lines: perPartnerRows(20, 4, 6), maxShrink: 0.5, current: map[string]int{"20": 6},
				checks: map[string][3]int64{next + " partner_gvlid=20": {10, 6, 4}}},
		}},
		{"drop 60% accepted by 1", []step{
			{rel: first, lines: perPartnerRows(20, 0, 10), maxShrink: 0.5, current: map[string]int{"20": 10}},
			{rel: next, lines: perPartnerRows(20, 6, 4), maxShrink: 1, current: map[string]int{"20": 4},
				checks: map[string][3]int64{next + " partner_gvlid=20": {10, 4, 6}}},
		}},
		{"first load without a valid row", []step{
			{rel: first, lines: []string{"garbage"}, maxShrink: 0.5, refused: true,
				want: []string{first, "no valid row for partner 20", "0 current UIDs"}},
			{rel: first, lines: []string{"garbage"}, maxShrink: 1, current: map[string]int{}},
		}},
		{"single-file extract with every row rejected", []step{
			{rel: "full-extracts/20240101000000.csv", lines: singleRows(0, 10), maxShrink: 0.5,
				current: map[string]int{"20": 10, "45": 10}},
			{rel: "full-extracts/20240201000000.csv", lines: []string{singleHeader, `"uid-001"|"x"`, `bad"`}, maxShrink: 0.5, refused: true,
				want: []string{"full-extracts/20240201000000.csv", "no valid row for partner 20", "no valid row for partner 45"},
				checks: map[string][3]int64{"full-extracts/20240201000000.csv partner_gvlid=20": {10, 0, 10},
					"full-extracts/20240201000000.csv partner_gvlid=45": {10, 0, 10}},
				current: map[string]int{"20": 10, "45": 10}},
		}},
		{"UIDs of later incrementals are not absent", []step{
			{rel: first, lines: perPartnerRows(20, 0, 10), maxShrink: 0.5, current: map[string]int{"20": 10}},
			{rel: "incremental/20/20240210/000000.csv", lines: perPartnerRows(20, 10, 20), maxShrink: 0.5, current: map[string]int{"20": 30}},
			// Delivered before the incremental, which applies on top of it.
			{rel: next, lines: perPartnerRows(20, 0, 10), maxShrink: 0.5, current: map[string]int{"20": 30},
				checks: map[string][3]int64{next + " partner_gvlid=20": {30, 10, 0}}},
			// The same extract without 6 of its UIDs: 6 of 30 absent.
			{rel: next, lines: perPartnerRows(20, 6, 4), maxShrink: 0.5, current: map[string]int{"20": 24},
				checks: map[string][3]int64{next + " partner_gvlid=20": {30, 4, 6}}},
		}},
		{"older extract replaces nothing", []step{
			{rel: next, lines: perPartnerRows(20, 0, 10), maxShrink: 0.5, current: map[string]int{"20": 10}},
			{rel: first, lines: nil, maxShrink: 0.5, current: map[string]int{"20": 10}},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in, out := t.TempDir(), t.TempDir()
			for i, st := range tc.steps {
				put(t, in, st.rel, st.lines...)
				// A new mtime, so that a rewritten file is read again.
				mt := time.Now().Add(time.Duration(i) * time.Second)
				if err := os.Chtimes(filepath.Join(in, filepath.FromSlash(st.rel)), mt, mt); err != nil {
					t.Fatal(err)
				}
				rep, err := runShrink(t, in, out, st.maxShrink)
				if st.refused {
					if !errors.Is(err, run.ErrRefused) || rep.Status != transforms.StatusRefused {
						t.Fatalf("step %d: status %s, err %v; want refused", i, rep.Status, err)
					}
					for _, w := range st.want {
						if !strings.Contains(err.Error(), w) {
							t.Errorf("step %d: error %q does not say %q", i, err, w)
						}
					}
					if len(rep.Partitions) != 0 {
						t.Errorf("step %d: refused run reports partitions %v", i, rep.Partitions)
					}
				} else if err != nil || rep.Status != transforms.StatusCommitted {
					t.Fatalf("step %d: status %s, err %v; want committed", i, rep.Status, err)
				}
				got := replaceChecks(rep)
				for k, w := range st.checks {
					c, ok := got[k]
					if !ok || c.Before != w[0] || c.After != w[1] || c.Absent != w[2] || c.Table != CurrentTable {
						t.Errorf("step %d: check %s = %+v (found %v), want before %d after %d absent %d", i, k, c, ok, w[0], w[1], w[2])
					}
				}
				if cur := currentByPartner(t, out); st.current != nil && fmt.Sprint(cur) != fmt.Sprint(st.current) {
					t.Errorf("step %d: %s rows by partner %v, want %v", i, CurrentTable, cur, st.current)
				}
			}
		})
	}
}

// TestShrinkCheckBuckets: the absent count is the same whether the current
// UIDs fit one bucket or are spread over many, and counts each absent UID
// once whatever the extract repeats.
func TestShrinkCheckBuckets(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	const first = "full-extracts/20/20240101000000.csv"
	put(t, in, first, perPartnerRows(20, 0, 100)...)
	if _, err := runShrink(t, in, out, 0.5); err != nil {
		t.Fatal(err)
	}
	states, err := LoadPartnerStates(context.Background(), lakefs.Local{}, out)
	if err != nil {
		t.Fatal(err)
	}
	// Partner 20, and partner 0: the delta of any other partner (none).
	if len(states) != 2 || states[1].Partner != horizonPartner || states[1].Rows != 0 || states[0].Partner != 20 || states[0].Rows != 100 || states[0].Newest.SourceFile != first {
		t.Fatalf("states %+v", states)
	}
	df, err := ClassifyPath("full-extracts/20/20240201000000.csv")
	if err != nil {
		t.Fatal(err)
	}
	for _, bucketRows := range []int64{1 << 20, 7, 1} {
		c, err := newShrinkCheck(df, []int32{20}, states, 0.5, bucketRows)
		if err != nil {
			t.Fatal(err)
		}
		if want := bucketsFor(100, bucketRows); len(c.buckets[20]) != want {
			t.Errorf("bucketRows %d: %d buckets, want %d", bucketRows, len(c.buckets[20]), want)
		}
		// Keeps uid-030..uid-099 (twice) and brings uid-100..uid-149, and
		// rows of another partner that must not count.
		b := array.NewRecordBuilder(memory.DefaultAllocator, ExtractsSchema())
		for rep := 0; rep < 2; rep++ {
			for i := 30; i < 150; i++ {
				b.Field(colUID).(*array.StringBuilder).Append(fmt.Sprintf("uid-%03d", i))
				b.Field(colPartnerGVLID).(*array.Int32Builder).Append(20)
			}
		}
		for i := 0; i < 30; i++ {
			b.Field(colUID).(*array.StringBuilder).Append(fmt.Sprintf("uid-%03d", i))
			b.Field(colPartnerGVLID).(*array.Int32Builder).Append(45)
		}
		for i := 0; i < b.Field(colUID).Len(); i++ {
			for _, col := range []int{colSourceGVLID, colPartnerUID, colAt, colDelivery, colSourceFile, colSourceLine} {
				b.Field(col).AppendNull()
			}
		}
		rec := b.NewRecord()
		c.add(rec)
		rec.Release()
		b.Release()
		checks, err := c.finish(context.Background(), lakefs.Local{}, map[int32]int64{20: 240})
		if err != nil {
			t.Fatal(err)
		}
		if len(checks) != 1 || checks[0].Before != 100 || checks[0].Absent != 30 || checks[0].After != 240 || checks[0].Refused != "" {
			t.Errorf("bucketRows %d: %+v, want before 100, absent 30, after 240, accepted", bucketRows, checks)
		}
	}
}
