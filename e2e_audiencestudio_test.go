package main

// End-to-end tests of "vendorlake audiencestudio requests|portability": the
// bundled sample against its generator's truth, lzop splits against whole
// reads, the vendor document's examples read back with DuckDB, and bad
// compressed input that must fail without committing anything.

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vendorlake/vendorlake/io/lakestate"
	"github.com/vendorlake/vendorlake/io/lzop"
	"github.com/vendorlake/vendorlake/transforms"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

const asSample = "testdata/audiencestudio/sample"

// asExpected is the generator's truth about the sample (EXPECTED.json).
type asExpected struct {
	Requests    []asExpectedFile `json:"requests"`
	Portability []asExpectedFile `json:"portability"`
}

type asExpectedFile struct {
	Path     string           `json:"path"`
	Format   string           `json:"format"`
	Lines    int64            `json:"lines"`
	Good     int64            `json:"good"`
	Rejects  map[string]int64 `json:"rejects_by_code"`
	Complete bool             `json:"complete"`
	Index    string           `json:"index"`
	Blocks   int              `json:"blocks"`
}

func loadASExpected(t *testing.T) asExpected {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(asSample, "EXPECTED.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e asExpected
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := vendorlake(t, args...)
	if code != 0 {
		t.Fatalf("vendorlake %v: exit %d\n%s\n%s", args, code, out, errs)
	}
	return out
}

// lastReport returns the newest run report of pipeline under lake.
func lastReport(t *testing.T, lake, pipeline string) transforms.RunReport {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(lakestate.RunsDir(lake), "*.json"))
	var last transforms.RunReport
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var r transforms.RunReport
		if err := json.Unmarshal(data, &r); err != nil {
			t.Fatal(err)
		}
		if r.Pipeline == pipeline && r.StartedAt.After(last.StartedAt) {
			last = r
		}
	}
	if last.RunID == "" {
		t.Fatalf("no run report of %s in %s", pipeline, lake)
	}
	return last
}

// countsByFile returns rows per source_file, and rejects per
// "source_file reason_code", of a table pair.
func countsByFile(t *testing.T, lake, table, rejects string) (map[string]int64, map[string]int64) {
	t.Helper()
	rows := map[string]int64{}
	for _, r := range duckdb(t, fmt.Sprintf("SELECT source_file, count(*) AS n FROM %s GROUP BY ALL", scan(lake, table))) {
		rows[fmt.Sprint(r["source_file"])] = num(r["n"])
	}
	rej := map[string]int64{}
	for _, r := range duckdb(t, fmt.Sprintf("SELECT source_file, reason_code, count(*) AS n FROM %s GROUP BY ALL", scan(lake, rejects))) {
		rej[fmt.Sprint(r["source_file"], " ", r["reason_code"])] = num(r["n"])
	}
	return rows, rej
}

func checkAgainstTruth(t *testing.T, files []asExpectedFile, rows, rej map[string]int64) {
	t.Helper()
	var wantRej int
	for _, f := range files {
		if !f.Complete {
			if rows[f.Path] != 0 {
				t.Errorf("%s: %d rows from an incomplete request/day", f.Path, rows[f.Path])
			}
			continue
		}
		if rows[f.Path] != f.Good {
			t.Errorf("%s: %d rows, want %d", f.Path, rows[f.Path], f.Good)
		}
		for code, n := range f.Rejects {
			if code == "empty_line" {
				// Planted blank lines: skipped and counted, not rejected.
				if got := rej[f.Path+" "+code]; got != 0 {
					t.Errorf("%s: %d blank lines rejected", f.Path, got)
				}
				continue
			}
			wantRej++
			if got := rej[f.Path+" "+code]; got != n {
				t.Errorf("%s: %d rejects %s, want %d", f.Path, got, code, n)
			}
		}
	}
	if len(rej) != wantRej {
		t.Errorf("rejects by file and reason: %v, want %d groups", rej, wantRej)
	}
}

func TestAudienceStudioSampleMatchesGenerator(t *testing.T) {
	exp := loadASExpected(t)
	lake := t.TempDir()
	mustRun(t, "audiencestudio", "requests", "--input="+asSample, "--output="+lake, "--lzo-splits=3", "--max-reject-ratio=0.5")
	out := mustRun(t, "audiencestudio", "portability", "--input="+asSample, "--output="+lake, "--max-reject-ratio=0.5")
	assertNoTempInTables(t, lake)

	rows, rej := countsByFile(t, lake, "audiencestudio_requests", "audiencestudio_rejects")
	checkAgainstTruth(t, exp.Requests, rows, rej)
	rows, rej = countsByFile(t, lake, "audiencestudio_portability_events", "audiencestudio_portability_rejects")
	checkAgainstTruth(t, exp.Portability, rows, rej)

	// Counters add up per file (and per split of the indexed .lzo file).
	rep := lastReport(t, lake, "audiencestudio-requests")
	perFile, blankPerFile := map[string]int64{}, map[string]int64{}
	for _, in := range rep.Inputs {
		if err := in.Check(); err != nil {
			t.Error(err)
		}
		perFile[in.Rel] += in.RecordsIn
		blankPerFile[in.Rel] += in.BlankLines
	}
	splits := 0
	for _, in := range rep.Inputs {
		if strings.HasSuffix(in.Rel, ".lzo") {
			splits++
		}
	}
	if splits != 3 {
		t.Errorf("the indexed .lzo file was read in %d splits, want 3", splits)
	}
	var blank int64
	for _, f := range exp.Requests {
		if perFile[f.Path]+blankPerFile[f.Path] != f.Lines || blankPerFile[f.Path] != f.Rejects["empty_line"] {
			t.Errorf("%s: %d records in + %d blank lines, want %d lines of which %d blank", f.Path, perFile[f.Path], blankPerFile[f.Path], f.Lines, f.Rejects["empty_line"])
		}
		blank += f.Rejects["empty_line"]
	}
	if blank == 0 || rep.Totals.BlankLines != blank || rep.RejectRatio != float64(rep.Totals.Rejected)/float64(rep.Totals.RecordsIn) {
		t.Errorf("report: %d blank lines (want %d > 0), reject ratio %v of %d rejected / %d records", rep.Totals.BlankLines, blank, rep.RejectRatio, rep.Totals.Rejected, rep.Totals.RecordsIn)
	}
	prep := lastReport(t, lake, "audiencestudio-portability")
	for _, in := range prep.Inputs {
		if err := in.Check(); err != nil {
			t.Error(err)
		}
	}
	if len(prep.Totals.Warnings) != 1 || prep.Totals.Warnings[0].Name != "unknown_data_source" || prep.Totals.Warnings[0].N != 1 {
		t.Errorf("warnings %v, want one unknown_data_source", prep.Totals.Warnings)
	}
	assertLakeUTF8(t, lake)
	if !regexp.MustCompile(`(?m)^  warning   1 unit not complete yet .*: portability/REQ-0002/2024-03-03$`).MatchString(out) {
		t.Errorf("the request/day without _SUCCESS is not reported as not complete yet:\n%s", out)
	}
	// The index file is not data.
	r := duckdb(t, fmt.Sprintf("SELECT count(*) AS n FROM %s WHERE source_file LIKE '%%.index'", scan(lake, "audiencestudio_rejects")))
	if num(r[0]["n"]) != 0 {
		t.Error("the .lzo.index file was read as requests")
	}

	// A rerun has nothing to do; a changed file rewrites its day only.
	out = mustRun(t, "audiencestudio", "requests", "--input="+asSample, "--output="+lake, "--max-reject-ratio=0.5")
	if !strings.Contains(out, "nothing") {
		t.Errorf("rerun: %s", out)
	}
}

func TestAudienceStudioRerunRewritesOnlyChangedDay(t *testing.T) {
	in := copyTree(t, asSample)
	lake := t.TempDir()
	args := []string{"audiencestudio", "requests", "--input=" + in, "--output=" + lake, "--max-reject-ratio=0.5"}
	mustRun(t, args...)
	before := treeHashes(t, filepath.Join(lake, "audiencestudio_requests"))
	f := filepath.Join(in, "uploads", "consent-data", "2024-03-02", "requests-1.txt")
	data, _ := os.ReadFile(f)
	os.WriteFile(f, append(data, "device^kxcookie^added^portability^^^\n"...), 0o644)
	mustRun(t, args...)
	after := treeHashes(t, filepath.Join(lake, "audiencestudio_requests"))
	for k, h := range before {
		changed := after[k] != h
		if strings.HasPrefix(k, "upload_date=2024-03-01/") && changed {
			t.Errorf("%s changed though its day did not", k)
		}
		if strings.HasPrefix(k, "upload_date=2024-03-02/") && !changed {
			t.Errorf("%s kept though its day changed", k)
		}
	}
	r := duckdb(t, fmt.Sprintf("SELECT count(*) AS n FROM %s WHERE id_value = 'added'", scan(lake, "audiencestudio_requests")))
	if num(r[0]["n"]) != 1 {
		t.Errorf("the added line: %v rows", r[0]["n"])
	}
}

// lzopCmd compresses content with Debian's lzop.
func lzopCmd(t *testing.T, content []byte) []byte {
	t.Helper()
	if _, err := exec.LookPath("lzop"); err != nil {
		t.Skip("lzop not installed (apt-get install lzop)")
	}
	cmd := exec.Command("lzop", "-c")
	cmd.Stdin = bytes.NewReader(content)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("lzop: %v: %s", err, errb.String())
	}
	return out.Bytes()
}

// bigRequests returns n request lines with a bad one now and then.
func bigRequests(n int) []byte {
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		switch {
		case i%211 == 3:
			b.WriteString("broken line\n")
		case i%4 == 0:
			fmt.Fprintf(&b, "bk^email_sha256^%064x^portability^^^\n", i)
		default:
			fmt.Fprintf(&b, "device^kxcookie^K%09d^set^gdpr^{\"dc\":%d,\"al\":1,\"tg\":0}^%d\n", i, i%2, 1714521600000000+int64(i)*1000)
		}
	}
	return b.Bytes()
}

// writeIndexed writes data (lzop) at p with the index hadoop-lzo would make.
func writeIndexed(t *testing.T, p string, data []byte) []int64 {
	t.Helper()
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	index, err := lzop.BuildIndex(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var ib bytes.Buffer
	lzop.WriteIndex(&ib, index)
	if err := os.WriteFile(p+".index", ib.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return index
}

func TestAudienceStudioLzopSplitsEqualWholeRead(t *testing.T) {
	content := bigRequests(50000) // ~3.6 MB: 14 blocks of lzop's 256 KiB
	in := t.TempDir()
	day := filepath.Join(in, "uploads", "consent-data", "2024-05-01")
	index := writeIndexed(t, filepath.Join(day, "big.lzo"), lzopCmd(t, content))
	if len(index) < 4 {
		t.Fatalf("%d blocks: want several", len(index))
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(content[:len(content)/3])
	zw.Close()
	os.WriteFile(filepath.Join(day, "small.gz"), gz.Bytes(), 0o644)

	split3, split7, whole := t.TempDir(), t.TempDir(), t.TempDir()
	mustRun(t, "audiencestudio", "requests", "--input="+in, "--output="+split3, "--lzo-splits=3")
	mustRun(t, "audiencestudio", "requests", "--input="+in, "--output="+split7, "--lzo-splits=7", "--runner=prism")
	if n := len(lastReport(t, split7, "audiencestudio-requests").Inputs); n != 7+1 {
		t.Fatalf("%d inputs read, want 7 splits + 1 gzip file", n)
	}
	os.Remove(filepath.Join(day, "big.lzo.index"))
	mustRun(t, "audiencestudio", "requests", "--input="+in, "--output="+whole)
	if n := len(lastReport(t, whole, "audiencestudio-requests").Inputs); n != 2 {
		t.Fatalf("%d inputs read, want 2 whole files", n)
	}
	sameTables(t, split3, whole, "audiencestudio_requests", "audiencestudio_rejects")
	sameTables(t, split7, whole, "audiencestudio_requests", "audiencestudio_rejects")
	r := duckdb(t, fmt.Sprintf("SELECT count(*) AS n, count(DISTINCT source_offset) AS d FROM %s WHERE source_file LIKE '%%big.lzo'", scan(split3, "audiencestudio_requests")))
	if num(r[0]["n"]) != num(r[0]["d"]) || num(r[0]["n"]) < 49000 {
		t.Errorf("big.lzo rows %v, distinct offsets %v", r[0]["n"], r[0]["d"])
	}
}

// An unreadable request file (a corrupt lzop block, an index that does not
// fit the file) holds back its request day: nothing of the day is committed
// (its tables keep their contents), no ledger entry, exit 5 naming the day
// and the file.
func TestAudienceStudioBadCompressedInputHoldsBackItsDay(t *testing.T) {
	in := copyTree(t, asSample)
	lake := t.TempDir()
	mustRun(t, "audiencestudio", "requests", "--input="+in, "--output="+lake, "--max-reject-ratio=0.5")
	before := tableHashes(t, lake)
	day := filepath.Join(in, "uploads", "consent-data", "2024-03-01")
	lzo := filepath.Join(day, "requests-3.lzo")
	good, _ := os.ReadFile(lzo)
	goodIndex, _ := os.ReadFile(lzo + ".index")
	index, err := lzop.ReadIndex(bytes.NewReader(goodIndex))
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), good...)
	bad[index[1]+100] ^= 0xff // data of the second block: its checksum fails
	bigIndex := append(append([]byte(nil), goodIndex...), 0, 0, 0, 0, 0, 1, 0, 0)
	for _, c := range []struct {
		name        string
		data, index []byte
		want        string
	}{
		{"corrupt block", bad, goodIndex, "requests-3.lzo"},
		{"index outside the file", good, bigIndex, "outside"},
	} {
		os.WriteFile(lzo, c.data, 0o644)
		os.WriteFile(lzo+".index", c.index, 0o644)
		code, out, errs := vendorlake(t, "audiencestudio", "requests", "--input="+in, "--output="+lake, "--max-reject-ratio=0.5", "--lzo-splits=3")
		if code != exitHeldBack || !strings.Contains(errs, c.want) || !strings.Contains(errs, "requests-3.lzo") ||
			!strings.Contains(errs, "held back unit uploads/consent-data/2024-03-01") {
			t.Errorf("%s: exit %d, stderr %q (want the file named and %q)\n%s", c.name, code, errs, c.want, out)
		}
		after := tableHashes(t, lake)
		if fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("%s: the run changed the tables of the day held back", c.name)
		}
		if e := ledgerOf(t, lake, "audiencestudio-requests")["uploads/consent-data/2024-03-01"]; e.RunID != "" && e.RunID == reportOf(t, out).RunID {
			t.Errorf("%s: the ledger records the day held back", c.name)
		}
	}
	assertNoTempInTables(t, lake)
}

// TestAudienceStudioVendorDocExamples reads every example of the vendor's
// document through the command and checks columns with DuckDB.
func TestAudienceStudioVendorDocExamples(t *testing.T) {
	const fixtures = "testdata/audiencestudio/fixtures/vendor-doc"
	in := t.TempDir()
	bridgeKey := "f660ab912ec121d1b1e928a0bb4bc61b15f5ad44d5efdc4e1c92a25e99b8e44a"
	bkFolder := base64.URLEncoding.EncodeToString([]byte(bridgeKey))
	entries, err := os.ReadDir(fixtures)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, _ := os.ReadFile(filepath.Join(fixtures, e.Name()))
		if e.Name() == "requests.txt" {
			touchFile(t, filepath.Join(in, "uploads", "consent-data", "2018-01-09", "requests.txt"), data)
			continue
		}
		source := strings.TrimSuffix(e.Name(), ".json")
		folder, kuid := "LIDa_CtQ", "LIDa_CtQ"
		switch source {
		case "pixel.gif":
			folder, kuid = bkFolder, "B89297C2-6C4E-4355-8376-7D5883FAFF67"
		case "event.gif":
			folder = "Lx14Qph3" // not the kuid, so a bridge key, but not Base64 of text: a warning
		case "segment.gif":
			folder = "Pz8/Pj4+" // standard Base64 of "???>>>": {bk} spans two folders
		}
		touchFile(t, filepath.Join(in, "portability", "DOC-1", "2018-02-07", source, filepath.FromSlash(folder), kuid), data)
	}
	touchFile(t, filepath.Join(in, "portability", "DOC-1", "2018-02-07", "_SUCCESS"), nil)
	lake := t.TempDir()
	mustRun(t, "audiencestudio", "requests", "--input="+in, "--output="+lake, "--max-reject-ratio=0")
	mustRun(t, "audiencestudio", "portability", "--input="+in, "--output="+lake, "--max-reject-ratio=0", "--request-id=DOC-1", "--from=2018-02-01", "--to=2018-02-28")

	ev := scan(lake, "audiencestudio_portability_events")
	rows := duckdb(t, "SELECT data_source, typeof(ts) AS ts_type, strftime(ts AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%g') AS ts, "+
		"query_params['_kpid'] AS kpid, bridge_key, bk_raw, kuid_path, kuid_file, dnt IS NULL AS dnt_null, resp, rt, new_user, "+
		"kct['kxcampaignid'] AS campaign, len(xff_chain) AS hops, request_id, CAST(date AS VARCHAR) AS date FROM "+ev+" ORDER BY data_source")
	if len(rows) != 8 {
		t.Fatalf("%d rows, want the 8 examples", len(rows))
	}
	want := map[string]string{
		"ad-impression.gif": "2018-02-07T20:43:01.000 7b3785dc-e5e8-4465-88e8-0bb2db048533",
		"click":             "2018-02-06T23:00:00.165 <nil>",
		"event.gif":         "2018-02-07T20:43:01.000 <nil>",
		"heartbeat.gif":     "2018-02-07T20:43:01.000 7156d277-5d35-4c9c-8fb7-f454c47dbfe1",
		"pixel.gif":         "2018-02-07T20:46:01.000 b2bf9016-e00a-4906-9718-f27de8fee74e",
		"segment.gif":       "2018-01-11T23:21:01.000 bc135346-2db7-45d7-a86d-a3ea84e4fffe",
		"social.gif":        "2018-02-07T20:47:27.000 5007d44e-09d1-49b7-8c99-6b1cc38c3cbc",
		"transaction.gif":   "2018-02-07T20:43:28.000 3d8e4b51-b537-4841-9086-4f59862457c6",
	}
	for _, r := range rows {
		ds := fmt.Sprint(r["data_source"])
		if got := fmt.Sprint(r["ts"], " ", r["kpid"]); got != want[ds] {
			t.Errorf("%s: ts and _kpid %q, want %q", ds, got, want[ds])
		}
		if r["ts_type"] != "TIMESTAMP WITH TIME ZONE" || r["request_id"] != "DOC-1" || r["date"] != "2018-02-07" {
			t.Errorf("%s: %v", ds, r)
		}
		switch ds {
		case "pixel.gif":
			if r["bridge_key"] != bridgeKey || r["bk_raw"] != bkFolder || r["kuid_path"] != nil || r["kuid_file"] != "B89297C2-6C4E-4355-8376-7D5883FAFF67" ||
				num(r["resp"]) != 204 || num(r["rt"]) != 34 || r["new_user"] != false || r["dnt_null"] != true {
				t.Errorf("pixel.gif: %v", r)
			}
		case "click":
			if r["campaign"] != "20299543" || num(r["hops"]) != 3 || r["bridge_key"] != nil || r["bk_raw"] != "LIDa_CtQ" || r["kuid_path"] != "LIDa_CtQ" || r["resp"] != nil {
				t.Errorf("click: %v", r)
			}
		case "event.gif":
			if r["bridge_key"] != nil || r["bk_raw"] != "Lx14Qph3" || r["kuid_path"] != nil || r["kuid_file"] != "LIDa_CtQ" {
				t.Errorf("event.gif: %v", r)
			}
		case "segment.gif":
			if r["bridge_key"] != "???>>>" || r["bk_raw"] != "Pz8/Pj4+" || r["kuid_path"] != nil || r["kuid_file"] != "LIDa_CtQ" {
				t.Errorf("segment.gif: %v", r)
			}
		}
	}
	if w := lastReport(t, lake, "audiencestudio-portability").Totals.Warnings; fmt.Sprint(w) != fmt.Sprint([]lineparse.Count{{Name: "bridge_key_not_text", N: 1}}) {
		t.Errorf("warnings %v, want one bridge_key_not_text", w)
	}
	req := duckdb(t, "SELECT id_kind, id_type, policy_regime, strftime(requested_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%f') AS at, source_offset FROM "+
		scan(lake, "audiencestudio_requests")+" ORDER BY source_offset")
	got := fmt.Sprint(req)
	wantReq := "[map[at:2018-01-09T04:21:51.277000 id_kind:device id_type:kxcookie policy_regime:global source_offset:0] " +
		"map[at:<nil> id_kind:device id_type:idfa policy_regime:<nil> source_offset:63] " +
		"map[at:<nil> id_kind:bk id_type:email_sha256 policy_regime:<nil> source_offset:127]]"
	if got != wantReq {
		t.Errorf("requests:\n%s\nwant\n%s", got, wantReq)
	}
}

func touchFile(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestAudienceStudioSampleIsGenerated: the bundled sample is exactly what
// "go run ./scripts/gendata audiencestudio --sample" writes.
func TestAudienceStudioSampleIsGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the generator")
	}
	out := filepath.Join(t.TempDir(), "sample")
	cmd := exec.Command("go", "run", "./scripts/gendata", "audiencestudio", "--sample", "--out="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gendata: %v\n%s", err, b)
	}
	got, want := treeHashes(t, out), treeHashes(t, asSample)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("testdata/audiencestudio/sample differs from the generator's output; regenerate it with\n  go run ./scripts/gendata audiencestudio --sample --out=%s", asSample)
	}
	var total int64
	filepath.Walk(asSample, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			total += fi.Size()
		}
		return nil
	})
	if total >= 200<<10 {
		t.Errorf("the sample holds %d bytes, want < 200 KiB", total)
	}
}
