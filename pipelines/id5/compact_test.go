package id5

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/pipelines/run"
	"github.com/vendorlake/vendorlake/transforms"
)

func TestPlanCompaction(t *testing.T) {
	const lake = "/lake"
	file := func(day string, n int) lakefs.FileInfo {
		return lakefs.FileInfo{Path: fmt.Sprintf("%s/%s/date=%s/part-%02d.parquet", lake, UpdatesTable, day, n), Size: int64(100 + n)}
	}
	day := func(d string, n int) []lakefs.FileInfo {
		var out []lakefs.FileInfo
		for i := n; i > 0; i-- { // reverse name order: groups follow names
			out = append(out, file(d, i))
		}
		return out
	}
	ones := func(n int) []int64 {
		out := make([]int64, n)
		for i := range out {
			out[i] = 10
		}
		return out
	}
	names := func(ts []compactTask) []string {
		var out []string
		for _, t := range ts {
			var fs []string
			for _, f := range t.Files {
				fs = append(fs, path.Base(f.Path))
			}
			out = append(out, t.Partition+":"+strings.Join(fs, ","))
		}
		return out
	}
	three := append(append(day("2024-03-01", 3), day("2024-03-02", 2)...), day("2024-03-03", 4)...)
	for _, c := range []struct {
		name     string
		files    []lakefs.FileInfo
		rows     []int64
		minFiles int
		maxRows  int64
		want     []string
		claimed  []string
		err      string
	}{
		{name: "off", files: three, rows: ones(9), minFiles: 0, maxRows: 100},
		{name: "negative is off", files: three, rows: ones(9), minFiles: -1, maxRows: 100},
		{name: "no files", minFiles: 2, maxRows: 100},
		{name: "the newest day is open", files: day("2024-03-03", 9), rows: ones(9), minFiles: 2, maxRows: 100},
		{name: "closed days with enough files", files: three, rows: ones(9), minFiles: 2, maxRows: 100,
			want:    []string{"date=2024-03-01:part-01.parquet,part-02.parquet,part-03.parquet", "date=2024-03-02:part-01.parquet,part-02.parquet"},
			claimed: []string{"date=2024-03-01", "date=2024-03-02"}},
		{name: "min files", files: three, rows: ones(9), minFiles: 3, maxRows: 100,
			want: []string{"date=2024-03-01:part-01.parquet,part-02.parquet,part-03.parquet"}, claimed: []string{"date=2024-03-01"}},
		{name: "groups bounded by rows", files: three, rows: []int64{10, 15, 10, 10, 10, 1, 1, 1, 1}, minFiles: 2, maxRows: 20,
			// 2024-03-01 lists part-03 (10), part-02 (15), part-01 (10).
			want:    []string{"date=2024-03-01:part-01.parquet", "date=2024-03-01:part-02.parquet", "date=2024-03-01:part-03.parquet", "date=2024-03-02:part-01.parquet,part-02.parquet"},
			claimed: []string{"date=2024-03-01", "date=2024-03-02"}},
		{name: "a file over the bound is a group", files: append(day("2024-03-01", 2), day("2024-03-02", 1)...), rows: []int64{50, 5, 1},
			minFiles: 1, maxRows: 20, want: []string{"date=2024-03-01:part-01.parquet", "date=2024-03-01:part-02.parquet"},
			claimed: []string{"date=2024-03-01"}},
		{name: "row counts missing", files: three, rows: ones(3), minFiles: 2, maxRows: 100, err: "3 row counts for 9 files"},
		{name: "not a date partition", files: []lakefs.FileInfo{{Path: lake + "/" + UpdatesTable + "/part-1.parquet"}}, rows: ones(1),
			minFiles: 1, maxRows: 100, err: "is not a file of a date partition"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tasks, claimed, err := planCompaction(lake, c.files, c.rows, c.minFiles, c.maxRows)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := names(tasks); !reflect.DeepEqual(got, c.want) {
				t.Errorf("tasks %q, want %q", got, c.want)
			}
			if !reflect.DeepEqual(claimed, c.claimed) {
				t.Errorf("claimed %q, want %q", claimed, c.claimed)
			}
		})
	}
}

func TestCompactedNames(t *testing.T) {
	const part = "date=2024-03-01"
	const runID = "20240301T000000Z-ab12-id5_current"
	in := compactedInput(UpdatesTable+"/"+part, runID)
	for _, c := range []struct {
		rel  string
		key  string
		isC  bool
		name string
	}{
		{rel: UpdatesTable + "/" + part + "/" + compactedPrefix(part) + runID + "-00001.parquet", key: in.Rel, isC: true, name: "compacted by the run"},
		{rel: UpdatesTable + "/" + part + "/" + compactedPrefix(part) + runID + "-00012.parquet", key: in.Rel, isC: true, name: "its twelfth file"},
		{rel: UpdatesTable + "/" + part + "/" + compactedPrefix(part) + "other-run-00001.parquet", key: UpdatesTable + "/" + part + "/" + compactedPrefix(part) + "other-run-", isC: true, name: "another run's"},
		{rel: UpdatesTable + "/date=2024-03-02/" + compactedPrefix(part) + runID + "-00001.parquet", name: "another day's prefix"},
		{rel: UpdatesTable + "/" + part + "/part-0123456789abcdef-" + runID + "-00001.parquet", name: "a pushed file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			key, isC := compactedKey(c.rel)
			if isC != c.isC || key != c.key {
				t.Errorf("compactedKey(%s) = %q, %v; want %q, %v", c.rel, key, isC, c.key, c.isC)
			}
		})
	}
	if in.Size != compactedSize {
		t.Errorf("compactedInput size %d", in.Size)
	}
	if strings.HasPrefix(compactSource(part), "incremental/") {
		t.Errorf("compactSource %q could be an input's path", compactSource(part))
	}
}

// runPipeline runs p (ingest, then the base) into out and returns the
// ingest's report and whether the run rebuilt the base.
func runPipeline(t *testing.T, p Pipeline, in, out string) (transforms.RunReport, bool, error) {
	t.Helper()
	o := run.Options{Input: in, Output: out, Runner: "direct", MaxRejectRatio: 1}
	o.Write.Compression = "snappy"
	rep, err := run.Execute(context.Background(), p, o)
	rebuilt := false
	for _, pt := range rep.Partitions {
		if pt.Table == BaseStateTable {
			rebuilt = true
		}
	}
	return rep, rebuilt, err
}

// rowSet is the rows of a table as sorted strings (a multiset).
func rowSet(t *testing.T, lake, table string) []string {
	t.Helper()
	var out []string
	for _, r := range readTable(t, lake, table) {
		out = append(out, fmt.Sprint(map[string]any(r)))
	}
	sort.Strings(out)
	return out
}

// updatesFiles lists the Parquet files of id5_mapping_updates by partition.
func updatesFiles(t *testing.T, lake string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	matches, err := filepath.Glob(filepath.Join(lake, UpdatesTable, "date=*", "*.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range matches {
		part := filepath.Base(filepath.Dir(m))
		out[part] = append(out[part], filepath.Base(m))
	}
	return out
}

// TestCompaction: a rebuild compacts the closed days of id5_mapping_updates
// (same rows, one sorted file a day, the view still CurrentMapping's), the
// next runs do not rebuild for it, a re-pushed file of a compacted day
// replaces its rows exactly, and a re-pushed file found unreadable leaves
// its old rows.
func TestCompaction(t *testing.T) {
	files := genHistory(5)
	in, out, ref := t.TempDir(), t.TempDir(), t.TempDir()
	var extracts, updates []histFile
	for _, f := range files {
		if strings.HasPrefix(f.rel, "full-") {
			extracts = append(extracts, f)
		} else {
			updates = append(updates, f)
		}
	}
	deliver := func(fs ...histFile) {
		t.Helper()
		for _, f := range fs {
			p := filepath.Join(in, filepath.FromSlash(f.rel))
			if err := writeFile(p, f.data); err != nil {
				t.Fatal(err)
			}
			// A re-push within the second still changes the file's identity.
			now := time.Now().Add(time.Duration(len(f.data)) * time.Second)
			if err := os.Chtimes(p, now, now); err != nil {
				t.Fatal(err)
			}
		}
	}
	p := Pipeline{SourceGVLID: testSourceGVLID, MaxExtractShrink: 1, RebuildShare: 1}
	noCompact := p
	noCompact.CompactMinFiles = -1
	// sameAsReference checks id5_mapping_updates against a lake that
	// ingested the same input without compaction, and the view against
	// CurrentMapping.
	sameAsReference := func(step string) {
		t.Helper()
		if _, _, err := runPipeline(t, noCompact, in, ref); err != nil {
			t.Fatalf("%s: reference run: %v", step, err)
		}
		got, want := rowSet(t, out, UpdatesTable), rowSet(t, ref, UpdatesTable)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %d rows in %s, the reference has %d (or they differ)", step, len(got), UpdatesTable, len(want))
		}
		checkCurrentTable(t, in, out)
	}

	// Every incremental but the newest day's last one, then the extracts.
	deliver(updates[:len(updates)-1]...)
	if _, rebuilt, err := runPipeline(t, p, in, out); err != nil || !rebuilt {
		t.Fatalf("first run: rebuilt %v, %v", rebuilt, err)
	}
	days := updatesFiles(t, out)
	if len(days) != 6 {
		t.Fatalf("%d days in %s, want 6: %v", len(days), UpdatesTable, days)
	}
	newest := ""
	for d := range days {
		newest = max(newest, d)
	}
	for d, names := range days {
		compacted := 0
		for _, n := range names {
			if strings.HasPrefix(n, compactedPrefix(d)) {
				compacted++
			}
		}
		if d != newest && (len(names) != 1 || compacted != 1) {
			t.Errorf("closed day %s: files %v, want one compacted file", d, names)
		}
		if d == newest && (len(names) < DefaultCompactMinFiles || compacted != 0) {
			t.Errorf("open day %s: files %v, want the pushed files", d, names)
		}
	}
	sameAsReference("first run")
	checkSorted(t, out)

	// Nothing new: the compaction does not make the base due.
	if rep, rebuilt, err := runPipeline(t, p, in, out); err != nil || rebuilt || rep.Status != transforms.StatusNothingToDo {
		t.Fatalf("second run: %s, rebuilt %v, %v", rep.Status, rebuilt, err)
	}
	// A push after the base: the delta, no rebuild.
	deliver(updates[len(updates)-1])
	if _, rebuilt, err := runPipeline(t, p, in, out); err != nil || rebuilt {
		t.Fatalf("push: rebuilt %v, %v", rebuilt, err)
	}
	sameAsReference("push")

	// A re-pushed file of a compacted day, content changed: its rows are
	// replaced (the base is rebuilt, as for any re-pushed file).
	var repushed histFile
	for _, f := range updates {
		if strings.Count(f.rel, "/") == 3 && !strings.Contains(f.rel, strings.ReplaceAll(strings.TrimPrefix(newest, "date="), "-", "")) {
			repushed = f
			break
		}
	}
	parts := strings.Split(repushed.rel, "/")
	changed := repushed
	changed.data = []byte("changed-uid|" + parts[1] + "|z\nuser-001|" + parts[1] + "|zz\n")
	deliver(changed)
	if _, rebuilt, err := runPipeline(t, p, in, out); err != nil || !rebuilt {
		t.Fatalf("re-push: rebuilt %v, %v", rebuilt, err)
	}
	sameAsReference("re-push")
	if n := countBy(readTable(t, out, UpdatesTable), "source_file")[repushed.rel]; n != 2 {
		t.Errorf("the re-pushed file has %d rows, want 2", n)
	}

	// A re-pushed file of a compacted day that cannot be read: the run
	// holds it back, and its old rows stay.
	before := rowSet(t, out, UpdatesTable)
	var victim histFile
	for _, f := range updates {
		if strings.Count(f.rel, "/") == 3 && f.rel != repushed.rel && strings.Contains(f.rel, parts[2]) {
			victim = f
			break
		}
	}
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	w.Write(bytes.Repeat([]byte("u|45|p\n"), 1000))
	w.Close()
	broken := victim
	broken.data = z.Bytes()[:z.Len()/2]
	deliver(broken)
	rep, _, err := runPipeline(t, p, in, out)
	if err != nil || len(rep.HeldBack) != 1 || rep.HeldBack[0].File != victim.rel {
		t.Fatalf("unreadable re-push: %v, held back %v", err, rep.HeldBack)
	}
	if after := rowSet(t, out, UpdatesTable); !reflect.DeepEqual(after, before) {
		t.Errorf("an unreadable re-push changed %s: %d rows, had %d", UpdatesTable, len(after), len(before))
	}
}

// checkSorted checks that the rows of the days held by one compacted file
// are in (partner, UID, delivered_at, source_file, source_line) order.
func checkSorted(t *testing.T, lake string) {
	t.Helper()
	checked := 0
	for d, names := range updatesFiles(t, lake) {
		if len(names) != 1 || !strings.HasPrefix(names[0], compactedPrefix(d)) {
			continue
		}
		checked++
		rows := readTable(t, filepath.Join(lake, UpdatesTable), d)
		key := func(r lakeRow) string {
			at, _ := r["delivered_at"].(time.Time)
			return fmt.Sprintf("%08d|%s|%020d|%s|%012d", r.i64("partner_gvlid"), r.str("uid"), at.UnixMicro(), r.str("source_file"), r.i64("source_line"))
		}
		for i := 1; i < len(rows); i++ {
			if key(rows[i-1]) > key(rows[i]) {
				t.Fatalf("%s: row %d (%s) after %s", d, i, key(rows[i]), key(rows[i-1]))
			}
		}
	}
	if checked == 0 {
		t.Error("no compacted day to check")
	}
}

// TestLakeStoreTravelsWithTheDoFn: Beam sends a DoFn to its workers as the
// JSON of its exported fields; the embedded lakeStore's Lake and FS must
// arrive (flattened, under their own keys) for Setup to open the lake.
func TestLakeStoreTravelsWithTheDoFn(t *testing.T) {
	in := &mergeFn{lakeStore: lakeStore{Lake: "s3://b/lake", FS: lakefs.Options{S3Endpoint: "http://127.0.0.1:9000"}}, Dir: "d", Shards: 3}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out mergeFn
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	if out.Lake != in.Lake || out.FS != in.FS || out.Dir != "d" || out.Shards != 3 || !strings.Contains(string(data), `"lake":"s3://b/lake"`) {
		t.Errorf("decoded %+v from %s", out, data)
	}
}
