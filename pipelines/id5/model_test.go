package id5

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// df builds a DeliveredFile from a path and its lines.
func df(t *testing.T, path string, lines ...string) DeliveredFile {
	t.Helper()
	f, err := ClassifyPath(path)
	if err != nil {
		t.Fatal(err)
	}
	return DeliveredFile{File: f, Lines: lines}
}

// cur builds the expected CurrentRow won by line of path.
func cur(t *testing.T, uid string, partner int32, puid string, source int32, path string, line int64) CurrentRow {
	t.Helper()
	f, err := ClassifyPath(path)
	if err != nil {
		t.Fatal(err)
	}
	return CurrentRow{UID: uid, PartnerGVLID: partner, PartnerUID: puid, SourceGVLID: source,
		UpdatedAt: f.DeliveredAt, SourceFile: path, SourceLine: line}
}

func checkCurrent(t *testing.T, files []DeliveredFile, want []CurrentRow) {
	t.Helper()
	got := CurrentMapping(files)
	if !slices.Equal(got, want) {
		t.Errorf("CurrentMapping:\n got %s\nwant %s", dump(got), dump(want))
	}
	// The result must not depend on the order the files are listed in.
	r := rand.New(rand.NewPCG(1, 2))
	for range 5 {
		shuffled := slices.Clone(files)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if again := CurrentMapping(shuffled); !slices.Equal(again, got) {
			t.Errorf("CurrentMapping depends on file order:\n got %s\nthen %s", dump(got), dump(again))
			return
		}
	}
}

func dump(rows []CurrentRow) string {
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "\n  %s/%d=%s src=%d at=%s %s:%d", r.UID, r.PartnerGVLID, r.PartnerUID, r.SourceGVLID,
			r.UpdatedAt.Format("2006-01-02T15:04:05"), r.SourceFile, r.SourceLine)
	}
	return b.String()
}

func TestCurrentMappingEmpty(t *testing.T) {
	if got := CurrentMapping(nil); len(got) != 0 {
		t.Errorf("CurrentMapping(nil) = %v", got)
	}
}

func TestCurrentMappingIncrementalsOnly(t *testing.T) {
	const (
		a = "incremental/45/20221106/233000.csv"
		b = "incremental/45/20221107/000000.csv" // next day, earlier HHMMSS: still later
	)
	files := []DeliveredFile{
		df(t, b, "u1|45|p1-new", "u3|45|p3"),
		df(t, a, "u1|45|p1", "u2|45|p2", "u2|45|p2-again", "bad line", "u4|46|wrong-partner"),
	}
	checkCurrent(t, files, []CurrentRow{
		cur(t, "u1", 45, "p1-new", 0, b, 1),
		cur(t, "u2", 45, "p2-again", 0, a, 3), // later line of the same file wins
		cur(t, "u3", 45, "p3", 0, b, 2),
	})
}

func TestCurrentMappingExtractReplaces(t *testing.T) {
	const (
		before  = "incremental/45/20221106/000000.csv"
		extract = "full-extracts/45/20221106120000.csv"
		tie     = "incremental/45/20221106/120000.csv"
		after   = "incremental/45/20221106/123000.csv"
	)
	files := []DeliveredFile{
		df(t, before, "u1|45|old1", "gone|45|x", "u2|45|old2"),
		df(t, extract, "u1|45|full1", "u2|45|full2", "u3|45|full3"),
		df(t, tie, "u2|45|tie2", "u4|45|tie4"), // same instant as the extract: ignored
		df(t, after, "u3|45|new3"),
	}
	checkCurrent(t, files, []CurrentRow{
		cur(t, "u1", 45, "full1", 0, extract, 1),
		cur(t, "u2", 45, "full2", 0, extract, 2),
		cur(t, "u3", 45, "new3", 0, after, 1),
	})
}

func TestCurrentMappingOptOutByNewerExtract(t *testing.T) {
	const (
		old   = "full-extracts/45/20221101_000000.csv"
		inc   = "incremental/45/20221103/080000.csv"
		fresh = "full-extracts/45/2022-11-06T00:00:00Z.csv"
		later = "incremental/45/20221106/003000.csv"
		other = "incremental/20/20221103/080000.csv"
	)
	files := []DeliveredFile{
		df(t, old, "u1|45|a", "u2|45|b"),
		df(t, inc, "u3|45|c"),
		df(t, fresh, "u1|45|a"), // u2 opted out, u3 expired
		df(t, later, "u4|45|d"),
		df(t, other, "u2|20|e"), // partner 20 has no extract: untouched
	}
	checkCurrent(t, files, []CurrentRow{
		cur(t, "u1", 45, "a", 0, fresh, 1),
		cur(t, "u2", 20, "e", 0, other, 1),
		cur(t, "u4", 45, "d", 0, later, 1),
	})

	// An extract with no valid row still is the newest extract: it empties the partner.
	const empty = "full-extracts/45/20221107000000.csv"
	files = append(files, df(t, empty))
	checkCurrent(t, files, []CurrentRow{cur(t, "u2", 20, "e", 0, other, 1)})
}

func TestCurrentMappingSingleFile(t *testing.T) {
	const (
		inc1    = "incremental/20221106/000000.csv"
		extract = "full-extracts/20221106T060000Z.csv"
		inc2    = "incremental/20221106/090000.csv"
		perInc  = "incremental/109/20221106/030000.csv"
	)
	files := []DeliveredFile{
		df(t, inc1, "35|20|45", `"A"|"a20"|"a45"`, `"B"|"b20"|"b45"`),
		df(t, perInc, "A|109|a109"), // 109 is not in the extract's header: kept
		df(t, extract, "35|20|45",
			`"A"|"A20"|""`, // "" in an extract: A has no mapping for 45
			`"C"|"c20"|"c45"`),
		df(t, inc2, "35|20|45", `"C"|""|"C45"`, `"A"|""|""`, `""|"x"|"y"`), // "" is no update
	}
	checkCurrent(t, files, []CurrentRow{
		cur(t, "A", 20, "A20", 35, extract, 2),
		cur(t, "A", 109, "a109", 0, perInc, 1),
		cur(t, "C", 20, "c20", 35, extract, 3),
		cur(t, "C", 45, "C45", 35, inc2, 2),
	})
}

func TestCurrentMappingBadHeaderIsNotAnExtract(t *testing.T) {
	const (
		inc = "incremental/45/20221106/000000.csv"
		bad = "full-extracts/20221107.csv"
	)
	files := []DeliveredFile{
		df(t, inc, "u1|45|p1"),
		df(t, bad, `"35"|"45`, `"u9"|"p9"`), // rejected whole: wipes nothing
		df(t, "full-extracts/20221108.csv"), // no header at all
	}
	checkCurrent(t, files, []CurrentRow{cur(t, "u1", 45, "p1", 0, inc, 1)})
}

func TestCurrentMappingPartnerAddedMidDay(t *testing.T) {
	const (
		extract = "full-extracts/20221106000000.csv"
		morning = "incremental/20221106/060000.csv"
		noon    = "incremental/20221106/120000.csv"
		newPer  = "incremental/110/20221106/130000.csv"
	)
	files := []DeliveredFile{
		df(t, extract, "35|20|45", `"A"|"a20"|"a45"`),
		df(t, morning, "35|20|45", `"B"|"b20"|""`),
		df(t, noon, "35|20|45|109", `"A"|""|""|"a109"`, `"B"|""|"b45"|"b109"`), // 109 added
		df(t, newPer, "A|110|a110"),                                            // and a new per-partner folder
	}
	checkCurrent(t, files, []CurrentRow{
		cur(t, "A", 20, "a20", 35, extract, 2),
		cur(t, "A", 45, "a45", 35, extract, 2),
		cur(t, "A", 109, "a109", 35, noon, 2),
		cur(t, "A", 110, "a110", 0, newPer, 1),
		cur(t, "B", 20, "b20", 35, morning, 2),
		cur(t, "B", 45, "b45", 35, noon, 3),
		cur(t, "B", 109, "b109", 35, noon, 3),
	})
}

func TestCurrentMappingHeaderReordering(t *testing.T) {
	const (
		first  = "incremental/20221106/000000.csv"
		second = "incremental/20221106/003000.csv"
		third  = "incremental/20221106/010000.csv"
	)
	files := []DeliveredFile{
		df(t, first, "35|20|45", `"U"|"u20"|"u45"`),
		df(t, second, "35|45|20", `"U"|"U45"|""`),           // columns swapped
		df(t, third, "35|109|20|45", `"V"|"v109"|"v20"|""`), // and again
	}
	checkCurrent(t, files, []CurrentRow{
		cur(t, "U", 20, "u20", 35, first, 2),
		cur(t, "U", 45, "U45", 35, second, 2),
		cur(t, "V", 20, "v20", 35, third, 2),
		cur(t, "V", 109, "v109", 35, third, 2),
	})
}

func TestCurrentMappingMixedDeliveries(t *testing.T) {
	// Per-partner and single-file deliveries for the same partner apply in
	// time order whatever their layout; equal times fall back to path order.
	const (
		single1 = "incremental/20221106/000000.csv"
		per1    = "incremental/45/20221106/000000.csv" // same instant, greater path: later
		per2    = "incremental/45/20221106/010000.csv"
		single2 = "incremental/20221106/020000.csv"
		extA    = "full-extracts/45/2022-11-05.csv"
		extB    = "full-extracts/45/20221105.csv" // same instant, greater path: the newest
	)
	files := []DeliveredFile{
		df(t, extA, "E|45|from-a", "F|45|only-in-a"),
		df(t, extB, "E|45|from-b"),
		df(t, single1, "131|45", `"U"|"s1"`, `"W"|"w1"`),
		df(t, per1, "U|45|p1"),
		df(t, per2, "W|45|p2"),
		df(t, single2, "131|45", `"W"|""`),
	}
	checkCurrent(t, files, []CurrentRow{
		cur(t, "E", 45, "from-b", 0, extB, 1),
		cur(t, "U", 45, "p1", 0, per1, 1),
		cur(t, "W", 45, "p2", 0, per2, 1),
	})
}

// TestCurrentMappingFixtures runs the model over the vendor document's examples.
func TestCurrentMappingFixtures(t *testing.T) {
	const (
		per    = "incremental/45/20220305/000300.csv"
		single = "incremental/20220305/003000.csv"
	)
	var files []DeliveredFile
	for _, rel := range []string{per, single} {
		var lines []string
		for _, l := range readFixture(t, rel) {
			lines = append(lines, string(l))
		}
		files = append(files, df(t, rel, lines...))
	}
	checkCurrent(t, files, []CurrentRow{
		cur(t, "550e8400-e29b-41d4-a716-446655440000", 45, "100000187421490458", 0, per, 1),
		cur(t, "AAAAAA", 20, "111111", 35, single, 2),
		cur(t, "AAAAAA", 45, "222222", 35, single, 2),
		cur(t, "AAAAAA", 109, "333333", 35, single, 2),
		cur(t, "BBBBBB", 20, "444444", 35, single, 3),
		cur(t, "BBBBBB", 45, "555555", 35, single, 3),
		cur(t, "BBBBBB", 109, "666666", 35, single, 3),
		cur(t, "CCCCCC", 20, "777777", 35, single, 4),
		cur(t, "CCCCCC", 109, "999999", 35, single, 4),
		cur(t, "d2a8378f-fe56-4ec2-96d1-3c05df02bb48", 45, "1000002629570693845", 0, per, 2),
	})
}
