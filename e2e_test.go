package main

// End-to-end tests: the vendorlake command run the way a user runs it, and
// the lake read back with DuckDB (an engine independent of our writer).
// scripts/test.sh installs DuckDB and sets VENDORLAKE_REQUIRE_DUCKDB=1, so
// there these tests never skip.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vendorlake/vendorlake/io/lakestate"
	"github.com/vendorlake/vendorlake/pipelines/didomi"
)

// expected is the generator's truth about the Didomi sample (EXPECTED.json).
type expected struct {
	Partitions []struct {
		ExportID      string           `json:"export_id"`
		Date          string           `json:"date"`
		Path          string           `json:"path"`
		Complete      bool             `json:"complete"`
		Lines         int64            `json:"lines"`
		GoodLines     int64            `json:"good_lines"`
		Events        int64            `json:"events"`
		UserPurposes  int64            `json:"user_purposes"`
		RejectsByCode map[string]int64 `json:"rejects_by_code"`
		FirstUser     struct {
			ID        string `json:"id"`
			CreatedAt string `json:"created_at"`
			Events    int64  `json:"events"`
		} `json:"first_user"`
		OffsetUser struct {
			ID           string `json:"id"`
			CreatedAtRaw string `json:"created_at_raw"`
			CreatedAt    string `json:"created_at"`
		} `json:"offset_user"`
		ProofArchive *struct {
			Rejects []struct {
				Code string `json:"code"`
			} `json:"rejects"`
		} `json:"proof_archive"`
	} `json:"partitions"`
}

func loadExpected(t *testing.T) expected {
	t.Helper()
	data, err := os.ReadFile("testdata/didomi/EXPECTED.json")
	if err != nil {
		t.Fatal(err)
	}
	var e expected
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// vendorlake runs the command in-process and returns its exit code and
// output: its summary and errors, but not the run's log (see console).
func vendorlake(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := command(args, console{stdout: &out, stderr: &errb})
	return code, out.String(), errb.String()
}

// built is the command built once per test process by buildVendorlake, in
// a folder TestMain removes.
var built struct {
	once     sync.Once
	dir, bin string
	err      error
}

// buildVendorlake returns the path of the command built with its fault
// points (the build tag vendorlake_faults, see io/faults): the binary that
// the crash, interrupt and lock tests run as a real process (a crash must
// kill a process, not the test) and that the portable runners stage as
// the worker. It is built once per test process; callers must not change
// it.
func buildVendorlake(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			built.err = fmt.Errorf("no go tool to build the command: %w", err)
			return
		}
		if built.dir, err = os.MkdirTemp("", "vendorlake-bin-"); err != nil {
			built.err = err
			return
		}
		bin := filepath.Join(built.dir, "vendorlake")
		if out, err := exec.Command(goTool, "build", "-tags", "vendorlake_faults", "-o", bin, ".").CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		built.bin = bin
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

// serviceEnv returns the value of variable, which scripts/test.sh sets
// once it has started or installed a service; without it the test skips,
// or fails when require is set too (scripts/test.sh sets it, so a service
// that did not start cannot pass as a skip). how says where it comes from.
func serviceEnv(t *testing.T, variable, require, how string) string {
	t.Helper()
	v := os.Getenv(variable)
	if v == "" {
		if os.Getenv(require) != "" {
			t.Fatalf("%s is not set but %s is: %s", variable, require, how)
		}
		t.Skipf("%s is not set: %s", variable, how)
	}
	return v
}

// duckdb runs SQL with DuckDB and returns the rows as JSON objects.
func duckdb(t *testing.T, sql string) []map[string]any {
	t.Helper()
	script, _ := filepath.Abs("scripts/duckdb/query.mjs")
	if _, err := os.Stat("scripts/duckdb/node_modules/@duckdb/node-api"); err != nil {
		if os.Getenv("VENDORLAKE_REQUIRE_DUCKDB") != "" {
			t.Fatalf("DuckDB is required but not installed (scripts/test.sh installs it): %v", err)
		}
		t.Skip("DuckDB not installed; run scripts/test.sh")
	}
	cmd := exec.Command("node", script, sql)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("duckdb %q: %v: %s", sql, err, stderr.String())
	}
	var rows []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("duckdb output %q: %v", line, err)
		}
		rows = append(rows, r)
	}
	return rows
}

func scan(lake, table string) string {
	return fmt.Sprintf("read_parquet('%s/%s/**/*.parquet', hive_partitioning=true)", lake, table)
}

func num(v any) int64 {
	var n int64
	fmt.Sscan(fmt.Sprint(v), &n)
	return n
}

// copyTree copies the sample into a scratch folder that a test may change.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	return copyDir(t, src, "in")
}

// copyDir copies the folder src to a new folder name in a test's temporary
// space, keeping modification times (the ledger and id5's rebuild track
// files by them), and returns it.
func copyDir(t *testing.T, src, name string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), name)
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if err := os.WriteFile(target, data, 0o644); err != nil {
			return err
		}
		return os.Chtimes(target, info.ModTime(), info.ModTime())
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// treeHashes maps every file under root (relative path) to its sha256.
func treeHashes(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, _ := os.ReadFile(p)
		h := sha256.Sum256(data)
		rel, _ := filepath.Rel(root, p)
		out[rel] = hex.EncodeToString(h[:])
		return nil
	})
	return out
}

// tableHashes is treeHashes of the lake at root without the lake's own
// folder (_vendorlake/: ledger, reports, locks): the tables' files only.
func tableHashes(t *testing.T, root string) map[string]string {
	t.Helper()
	h := treeHashes(t, root)
	for k := range h {
		if strings.HasPrefix(k, lakestate.Folder+"/") {
			delete(h, k)
		}
	}
	return h
}

// assertNoTempInTables checks that no table folder holds anything but
// committed part files and _SUCCESS markers.
func assertNoTempInTables(t *testing.T, lake string) {
	t.Helper()
	for rel := range treeHashes(t, lake) {
		if strings.HasPrefix(rel, lakestate.Folder+"/") {
			continue
		}
		base := filepath.Base(rel)
		if strings.HasPrefix(rel, "didomi_proof_files/") && didomi.IsProofID(base) {
			continue // raw proof files keep their proof ID as name
		}
		if base != "_SUCCESS" && !(strings.HasPrefix(base, "part-") && strings.HasSuffix(base, ".parquet")) {
			t.Errorf("unexpected file in a table folder: %s", rel)
		}
	}
	if files := treeHashes(t, lakestate.LegacyTempRoot(lake)); len(files) != 0 {
		t.Errorf("temporary files left behind: %v", files)
	}
}

func TestDidomiSampleLakeMatchesGenerator(t *testing.T) {
	lake := t.TempDir()
	code, out, errs := vendorlake(t, "didomi", "--input=testdata/didomi", "--output="+lake, "--max-reject-ratio=0.1")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(out, "warning   1 unit not complete yet (no _SUCCESS marker)") || !strings.Contains(out, "export-id=exp-app/date=2024-03-03") {
		t.Errorf("summary does not report the incomplete partition:\n%s", out)
	}
	exp := loadExpected(t)
	users := map[string]int64{}
	for _, r := range duckdb(t, "SELECT export_id, CAST(date AS VARCHAR) AS d, count(*) AS n, sum(event_count) AS ev FROM "+scan(lake, "didomi_users")+" GROUP BY ALL") {
		users[fmt.Sprint(r["export_id"], "/", r["d"])] = num(r["n"])
		users["ev:"+fmt.Sprint(r["export_id"], "/", r["d"])] = num(r["ev"])
	}
	events := map[string]int64{}
	for _, r := range duckdb(t, "SELECT export_id, CAST(date AS VARCHAR) AS d, count(*) AS n FROM "+scan(lake, "didomi_events")+" GROUP BY ALL") {
		events[fmt.Sprint(r["export_id"], "/", r["d"])] = num(r["n"])
	}
	rejects := map[string]int64{}
	for _, r := range duckdb(t, "SELECT export_id, CAST(date AS VARCHAR) AS d, reason_code, count(*) AS n, count(event_index) AS ev FROM "+scan(lake, "didomi_rejects")+" GROUP BY ALL") {
		rejects[fmt.Sprint(r["export_id"], "/", r["d"], "/", r["reason_code"])] = num(r["n"])
		// Only a bad event is rejected alone (event_index set); every
		// other planted defect rejects its line.
		if code := fmt.Sprint(r["reason_code"]); (code == didomi.ReasonEventNotObject) != (num(r["ev"]) == num(r["n"])) || (code != didomi.ReasonEventNotObject && num(r["ev"]) != 0) {
			t.Errorf("%v/%v: %v rejects %s, %v with an event_index", r["export_id"], r["d"], r["n"], code, r["ev"])
		}
	}
	blankPlanted := map[string]int64{}
	plantedRejects := map[string]int64{}
	for _, p := range exp.Partitions {
		k := p.ExportID + "/" + p.Date
		for code, n := range p.RejectsByCode {
			if code != "empty_line" && p.Complete {
				plantedRejects[k+"/"+code] += n
			}
		}
		if p.ProofArchive != nil {
			for _, r := range p.ProofArchive.Rejects {
				plantedRejects[k+"/"+r.Code]++
			}
		}
		if !p.Complete {
			if users[k] != 0 || events[k] != 0 {
				t.Errorf("%s has no _SUCCESS but was read: %d users, %d events", k, users[k], events[k])
			}
			continue
		}
		// The generator counts a line with a non-object event as bad; the
		// pipeline rejects only that event (one per such line) and keeps
		// the user and its other events, which the generator does not
		// count: the lake has at least its events, and event_count sums
		// the events written and the events rejected.
		badEvents := p.RejectsByCode[didomi.ReasonEventNotObject]
		if users[k] != p.GoodLines+badEvents || events[k] < p.Events || users["ev:"+k] != events[k]+badEvents {
			t.Errorf("%s: lake has %d users / %d events (event_count sum %d), input has %d good lines (+%d with a bad event) / %d events",
				k, users[k], events[k], users["ev:"+k], p.GoodLines, badEvents, p.Events)
		}
		var rejected int64
		for code, n := range p.RejectsByCode {
			if code == "empty_line" {
				// The generator plants blank lines under this code: they
				// are skipped and counted (blank_lines), not rejected.
				blankPlanted[k] += n
				n = 0
			}
			if code != didomi.ReasonEventNotObject {
				rejected += n
			}
			if rejects[k+"/"+code] != n {
				t.Errorf("%s: %d rejects %s in the lake, %d planted", k, rejects[k+"/"+code], code, n)
			}
		}
		if users[k]+rejected+blankPlanted[k] != p.Lines {
			t.Errorf("%s: %d rows + %d rejects + %d blank lines != %d lines", k, users[k], rejected, blankPlanted[k], p.Lines)
		}
		// Spot values: ids, UTC timestamps with microseconds, offsets converted.
		for _, spot := range []struct{ id, want string }{{p.FirstUser.ID, p.FirstUser.CreatedAt}, {p.OffsetUser.ID, p.OffsetUser.CreatedAt}} {
			rows := duckdb(t, fmt.Sprintf("SELECT strftime(created_at AT TIME ZONE 'UTC', '%%Y-%%m-%%dT%%H:%%M:%%S.%%fZ') AS c, typeof(created_at) AS ty FROM %s WHERE id = '%s' AND export_id = '%s'", scan(lake, "didomi_users"), spot.id, p.ExportID))
			if len(rows) != 1 || rows[0]["c"] != spot.want || rows[0]["ty"] != "TIMESTAMP WITH TIME ZONE" {
				t.Errorf("%s user %s: created_at = %v, want %s as a UTC timestamp", k, spot.id, rows, spot.want)
			}
		}
		// Nested consents are queryable.
		// (the users of lines with a bad event are not among the generator's good lines)
		rows := duckdb(t, fmt.Sprintf("SELECT count(*) AS n FROM (SELECT unnest(consents.purposes) AS p FROM %s u WHERE export_id='%s' AND date='%s' "+
			"AND NOT EXISTS (SELECT 1 FROM %s r WHERE r.event_index IS NOT NULL AND r.source_file = u.source_file AND r.source_line = u.source_line))",
			scan(lake, "didomi_users"), p.ExportID, p.Date, scan(lake, "didomi_rejects")))
		if num(rows[0]["n"]) != p.UserPurposes {
			t.Errorf("%s: %v purposes unnested, want %d", k, rows[0]["n"], p.UserPurposes)
		}
	}
	// Every row of didomi_rejects was planted: lines, events, proof archive entries.
	if fmt.Sprint(rejects) != fmt.Sprint(plantedRejects) {
		t.Errorf("didomi_rejects by partition and code:\n%v\nplanted:\n%v", rejects, plantedRejects)
	}
	// Events belong to their user and carry lineage.
	rows := duckdb(t, "SELECT count(*) AS n FROM "+scan(lake, "didomi_events")+" e LEFT JOIN "+scan(lake, "didomi_users")+" u ON e.user_id = u.id AND e.source_file = u.source_file AND e.source_line = u.source_line WHERE u.id IS NULL")
	if num(rows[0]["n"]) != 0 {
		t.Errorf("%v events do not join their user row on user_id and lineage", rows[0]["n"])
	}
	assertNoTempInTables(t, lake)
	assertLakeUTF8(t, lake)
	// The run report: counters add up for every file.
	reports, _ := filepath.Glob(filepath.Join(lakestate.RunsDir(lake), "*.json"))
	if len(reports) != 1 {
		t.Fatalf("want one run report, got %v", reports)
	}
	var rep struct {
		Status string `json:"status"`
		Inputs []struct {
			Rel            string `json:"rel"`
			RecordsIn      int64  `json:"records_in"`
			RecordsOut     int64  `json:"records_out"`
			Rejected       int64  `json:"rejected"`
			BlankLines     *int64 `json:"blank_lines"`
			EventsIn       int64  `json:"events_in"`
			EventsOut      int64  `json:"events_out"`
			EventsRejected int64  `json:"events_rejected"`
		} `json:"inputs"`
		Totals struct {
			RecordsIn      int64 `json:"records_in"`
			Rejected       int64 `json:"rejected"`
			BlankLines     int64 `json:"blank_lines"`
			EventsIn       int64 `json:"events_in"`
			EventsOut      int64 `json:"events_out"`
			EventsRejected int64 `json:"events_rejected"`
		} `json:"totals"`
		RejectRatio float64 `json:"reject_ratio"`
		Attachments *struct {
			EntriesIn int64 `json:"entries_in"`
			Rejected  int64 `json:"rejected"`
		} `json:"attachments"`
	}
	data, _ := os.ReadFile(reports[0])
	json.Unmarshal(data, &rep)
	// 13 users files and the 2 proof archives of the complete partitions.
	if rep.Status != "committed" || len(rep.Inputs) != 15 {
		t.Fatalf("report status %q with %d inputs, want committed with 15", rep.Status, len(rep.Inputs))
	}
	for _, in := range rep.Inputs {
		if in.RecordsIn != in.RecordsOut+in.Rejected || in.RecordsIn == 0 {
			t.Errorf("%s: %d in != %d out + %d rejected", in.Rel, in.RecordsIn, in.RecordsOut, in.Rejected)
		}
		if in.EventsIn != in.EventsOut+in.EventsRejected {
			t.Errorf("%s: %d events in != %d out + %d rejected", in.Rel, in.EventsIn, in.EventsOut, in.EventsRejected)
		}
		if in.BlankLines == nil {
			t.Errorf("%s: the report has no blank_lines", in.Rel)
		}
	}
	// Blank lines: counted in the report, not rejected, not in the ratio.
	var planted int64
	for _, n := range blankPlanted {
		planted += n
	}
	if planted == 0 || rep.Totals.BlankLines != planted {
		t.Errorf("report counts %d blank lines, %d planted (want > 0)", rep.Totals.BlankLines, planted)
	}
	if !strings.Contains(out, fmt.Sprintf("%d blank lines skipped", planted)) {
		t.Errorf("the summary does not report the blank lines:\n%s", out)
	}
	// The ratio is over lines and events; proof archive entries (in the
	// totals, as attachments) have their own bound.
	if rep.Attachments == nil || rep.Attachments.EntriesIn == 0 {
		t.Fatalf("the report has no proof archive entries")
	}
	lines, rejected := rep.Totals.RecordsIn-rep.Attachments.EntriesIn, rep.Totals.Rejected-rep.Attachments.Rejected
	if want := float64(rejected+rep.Totals.EventsRejected) / float64(lines+rep.Totals.EventsIn); rep.RejectRatio != want {
		t.Errorf("reject ratio %v, want (%d rejected lines + %d events rejected) / (%d lines + %d events) (blank lines and proof entries excluded)", rep.RejectRatio, rejected, rep.Totals.EventsRejected, lines, rep.Totals.EventsIn)
	}
	var lakeEvents, eventRejects int64
	for k, n := range events {
		lakeEvents += n
		eventRejects += rejects[k+"/"+didomi.ReasonEventNotObject]
	}
	if rep.Totals.EventsOut != lakeEvents || rep.Totals.EventsRejected != eventRejects || eventRejects == 0 {
		t.Errorf("report: %d events out, %d rejected; the lake has %d events, %d event rejects", rep.Totals.EventsOut, rep.Totals.EventsRejected, lakeEvents, eventRejects)
	}
}

// volatileColumns are the columns that say when a run happened (the
// clock of ID5's base rebuild), which two runs of one input never share:
// sameTables leaves them out.
var volatileColumns = map[string]string{"id5_mapping_base_state": "built_at"}

// sameTables asserts two lakes hold the same rows (as multisets) in every
// table, volatileColumns aside.
func sameTables(t *testing.T, a, b string, tables ...string) {
	t.Helper()
	for _, table := range tables {
		cols := "*"
		if c := volatileColumns[table]; c != "" {
			cols = "* EXCLUDE (" + c + ")"
		}
		q := fmt.Sprintf("SELECT (SELECT count(*) FROM (SELECT %[3]s FROM %[1]s EXCEPT ALL SELECT %[3]s FROM %[2]s)) AS only_a, "+
			"(SELECT count(*) FROM (SELECT %[3]s FROM %[2]s EXCEPT ALL SELECT %[3]s FROM %[1]s)) AS only_b, (SELECT count(*) FROM %[1]s) AS n",
			scan(a, table), scan(b, table), cols)
		r := duckdb(t, q)[0]
		if num(r["only_a"]) != 0 || num(r["only_b"]) != 0 || num(r["n"]) == 0 {
			t.Errorf("%s differs: %v rows only in %s, %v only in %s (of %v)", table, r["only_a"], a, r["only_b"], b, r["n"])
		}
	}
}

func TestDidomiPrismEqualsDirect(t *testing.T) {
	direct, prism := t.TempDir(), t.TempDir()
	for _, run := range []struct{ lake, runner string }{{direct, "direct"}, {prism, "prism"}} {
		code, out, errs := vendorlake(t, "didomi", "--input=testdata/didomi", "--output="+run.lake, "--runner="+run.runner, "--max-reject-ratio=0.1")
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s\n%s", run.runner, code, out, errs)
		}
	}
	sameTables(t, direct, prism, "didomi_users", "didomi_events", "didomi_rejects")
}

func TestDidomiRerunIsIdempotentAndTouchesOnlyChangedPartitions(t *testing.T) {
	in := copyTree(t, "testdata/didomi")
	lake := t.TempDir()
	args := []string{"didomi", "--input=" + in, "--output=" + lake, "--max-reject-ratio=0.2"}
	if code, out, errs := vendorlake(t, args...); code != 0 {
		t.Fatalf("first run: exit %d\n%s\n%s", code, out, errs)
	}
	reference := t.TempDir()
	if code, _, errs := vendorlake(t, "didomi", "--input="+in, "--output="+reference, "--max-reject-ratio=0.1"); code != 0 {
		t.Fatal(errs)
	}
	tables := func() map[string]string {
		h := treeHashes(t, lake)
		for k := range h {
			if strings.HasPrefix(k, lakestate.Folder+"/") || strings.HasSuffix(k, "_SUCCESS") {
				delete(h, k)
			}
		}
		return h
	}
	before := tables()

	// A scheduled rerun with nothing new changes nothing.
	code, out, _ := vendorlake(t, args...)
	if code != 0 || !strings.Contains(out, "nothing to do") {
		t.Fatalf("second run: exit %d, want 'nothing to do':\n%s", code, out)
	}
	if after := tables(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("a run with nothing to do changed table files")
	}

	// --reprocess rewrites with the same rows, no duplicates.
	if code, out, errs := vendorlake(t, append(args, "--reprocess")...); code != 0 {
		t.Fatalf("reprocess: exit %d\n%s\n%s", code, out, errs)
	}
	sameTables(t, lake, reference, "didomi_users", "didomi_events", "didomi_rejects")
	before = tables()

	// One partition's input changes: only that partition is rewritten.
	changed := filepath.Join(in, "export-id=exp-web", "date=2024-03-01", "users")
	files, _ := filepath.Glob(filepath.Join(changed, "*.json.gz"))
	if err := os.Remove(files[0]); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := vendorlake(t, args...); code != 0 {
		t.Fatalf("run after change: exit %d\n%s\n%s", code, out, errs)
	}
	after := tables()
	for k, h := range before {
		inChanged := strings.Contains(k, "export_id=exp-web/date=2024-03-01/")
		if !inChanged && after[k] != h {
			t.Errorf("%s of an unchanged partition was rewritten", k)
		}
		// Proof files are named by proof ID: rewritten under the same name.
		if inChanged && after[k] == h && !strings.HasPrefix(k, "didomi_proof_files/") {
			t.Errorf("%s of the changed partition survived the rewrite", k)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok && !strings.Contains(k, "export_id=exp-web/date=2024-03-01/") {
			t.Errorf("new file %s outside the changed partition", k)
		}
	}
	rows := duckdb(t, "SELECT count(*) AS n, count(DISTINCT source_file) AS f FROM "+scan(lake, "didomi_users")+" WHERE export_id='exp-web' AND date='2024-03-01'")
	if num(rows[0]["f"]) != int64(len(files)-1) {
		t.Errorf("changed partition reads %v source files, want %d", rows[0]["f"], len(files)-1)
	}
	assertNoTempInTables(t, lake)
}
