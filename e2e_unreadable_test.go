package main

// One unreadable input file (a truncated or corrupt gzip, lzop or tar)
// holds back its unit, not the whole run: the other units commit, the run
// exits 5 naming the unit, the file and the error, and the next run
// retries the unit. Errors of the store still fail the run.

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/klauspost/compress/gzip"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/lakestate"
	"github.com/vendorlake/vendorlake/io/ledger"
	"github.com/vendorlake/vendorlake/pipelines/registry"
	"github.com/vendorlake/vendorlake/pipelines/run"
	"github.com/vendorlake/vendorlake/transforms"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

// reportOf reads the run report named on the summary's "report" line.
func reportOf(t *testing.T, out string) transforms.RunReport {
	t.Helper()
	var r transforms.RunReport
	readReport(t, out, &r)
	return r
}

// ledgerOf returns the ledger of pipeline in lake.
func ledgerOf(t *testing.T, lake, pipeline string) map[string]ledger.Entry {
	t.Helper()
	fsys, err := lakefs.New(context.Background(), lake, lakefs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	led, err := lakestate.LoadLedger(context.Background(), fsys, lake, pipeline)
	if err != nil {
		t.Fatal(err)
	}
	return led
}

// partFilesAll returns the hashes of the table files of the lake whose
// path holds partition (folder "k=v/k=v"), of every table.
func partFilesAll(t *testing.T, lake, partition string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for rel, h := range treeHashes(t, lake) {
		if !strings.HasPrefix(rel, lakestate.Folder+"/") && strings.Contains(rel, "/"+partition+"/") {
			out[rel] = h
		}
	}
	return out
}

// parquetRows opens every Parquet file under dir and sums their rows.
func parquetRows(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	files := 0
	for rel := range treeHashes(t, dir) {
		if !strings.HasSuffix(rel, ".parquet") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		pf, err := file.NewParquetReader(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("read parquet %s: %v", rel, err)
		}
		n += pf.NumRows()
		pf.Close()
		files++
	}
	if files == 0 {
		t.Fatalf("no Parquet file under %s", dir)
	}
	return n
}

// reportRows sums the rows a report says it committed into table's
// partition.
func reportRows(r transforms.RunReport, table, partition string) (int64, bool) {
	for _, p := range r.Partitions {
		if p.Table == table && p.Partition == partition {
			return p.Rows, true
		}
	}
	return 0, false
}

// touch gives p a new modification time: the ledger then sees a new delivery.
func touch(t *testing.T, p string) {
	t.Helper()
	now := time.Now().Add(time.Second)
	if err := os.Chtimes(p, now, now); err != nil {
		t.Fatal(err)
	}
}

func TestDidomiTruncatedGzipHoldsBackItsPartition(t *testing.T) {
	in := copyTree(t, "testdata/didomi")
	lake := t.TempDir()
	args := []string{"didomi", "--input=" + in, "--output=" + lake, "--max-reject-ratio=0.1"}
	code, out, errs := vendorlake(t, args...)
	if code != 0 {
		t.Fatalf("first run: exit %d\n%s\n%s", code, out, errs)
	}
	first := reportOf(t, out)
	const (
		unitA, partA = "export-id=exp-app/date=2024-03-01", "export_id=exp-app/date=2024-03-01"
		unitB, partB = "export-id=exp-app/date=2024-03-02", "export_id=exp-app/date=2024-03-02"
	)
	beforeA, beforeB := partFilesAll(t, lake, partA), partFilesAll(t, lake, partB)
	rowsB, ok := reportRows(first, "didomi_users", partB)
	if !ok || len(beforeB) == 0 || len(beforeA) == 0 {
		t.Fatalf("first run committed no %s or %s", partA, partB)
	}

	// A is delivered again (unchanged bytes, new time); one users file of B
	// is cut in half.
	filesA, _ := filepath.Glob(filepath.Join(in, unitA, "users", "*.json.gz"))
	touch(t, filesA[0])
	filesB, _ := filepath.Glob(filepath.Join(in, unitB, "users", "*.json.gz"))
	sort.Strings(filesB)
	good, _ := os.ReadFile(filesB[0])
	if err := os.WriteFile(filesB[0], good[:len(good)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	badRel := unitB + "/users/" + filepath.Base(filesB[0])

	code, out, errs = vendorlake(t, args...)
	if code != 5 {
		t.Fatalf("truncated input: exit %d, want 5\n%s\n%s", code, out, errs)
	}
	second := reportOf(t, out)
	// One line names the unit, the file and the error.
	line := ""
	for _, l := range strings.Split(errs, "\n") {
		if strings.Contains(l, "held back") {
			line = l
		}
	}
	if !strings.Contains(line, unitB) || !strings.Contains(line, badRel) || !strings.Contains(line, "gzip stream is truncated") {
		t.Errorf("stderr has no line naming %s, %s and the error:\n%s", unitB, badRel, errs)
	}
	if !strings.Contains(out, "held back "+unitB) || !strings.Contains(out, "input    ") {
		t.Errorf("summary does not name the unit held back:\n%s", out)
	}
	if second.Status != transforms.StatusCommitted || len(second.HeldBack) != 1 {
		t.Fatalf("report: status %s, held back %+v", second.Status, second.HeldBack)
	}
	if h := second.HeldBack[0]; h.Reason != transforms.HeldUnreadable || h.Unit != unitB || h.File != badRel || !strings.Contains(h.Error, "truncated") {
		t.Errorf("held back %+v", h)
	}
	if second.Totals.Files == 0 || second.Totals.Bytes == 0 {
		t.Errorf("the input counts %d files, %d bytes", second.Totals.Files, second.Totals.Bytes)
	}
	// B keeps its previous contents (users, events, rejects, proofs); A is
	// committed again, readable.
	if after := partFilesAll(t, lake, partB); fmt.Sprint(after) != fmt.Sprint(beforeB) {
		t.Errorf("the held-back partition %s changed:\nbefore %v\nafter  %v", partB, beforeB, after)
	}
	if after := partFilesAll(t, lake, partA); fmt.Sprint(after) == fmt.Sprint(beforeA) {
		t.Errorf("partition %s was not committed again", partA)
	}
	if n, ok := reportRows(second, "didomi_users", partA); !ok || n == 0 || parquetRows(t, filepath.Join(lake, "didomi_users", partA)) != n {
		t.Errorf("partition %s: %d rows committed (%v), not as readable", partA, n, ok)
	}
	for _, p := range second.Partitions {
		if p.Partition == partB {
			t.Errorf("the run committed %s/%s", p.Table, p.Partition)
		}
	}
	// No ledger entry of this run for B: the next run reads it again.
	led := ledgerOf(t, lake, "didomi")
	if led[unitB].RunID != first.RunID || led[unitA].RunID != second.RunID {
		t.Errorf("ledger: %s by %s (want %s's), %s by %s (want %s's)", unitB, led[unitB].RunID, first.RunID, unitA, led[unitA].RunID, second.RunID)
	}
	assertNoTempInTables(t, lake)

	// The vendor delivers B again, whole: the next run commits it, exit 0.
	if err := os.WriteFile(filesB[0], good, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs = vendorlake(t, args...)
	if code != 0 {
		t.Fatalf("fixed input: exit %d\n%s\n%s", code, out, errs)
	}
	third := reportOf(t, out)
	if n, ok := reportRows(third, "didomi_users", partB); !ok || n != rowsB || parquetRows(t, filepath.Join(lake, "didomi_users", partB)) != rowsB {
		t.Errorf("fixed partition %s: %d rows (%v), want %d", partB, n, ok, rowsB)
	}
	if led := ledgerOf(t, lake, "didomi"); led[unitB].RunID != third.RunID {
		t.Errorf("ledger: %s by %s, want %s", unitB, led[unitB].RunID, third.RunID)
	}
	assertNoTempInTables(t, lake)
}

// gzipped returns s gzip-compressed.
func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// An ID5 file whose gzip is truncated holds back that file (its unit) only;
// a file that decompresses but whose header does not parse stays a reject,
// committed and recorded in the ledger, as retrying it would never succeed.
func TestID5TruncatedGzipHoldsBackItsFile(t *testing.T) {
	in, lake := t.TempDir(), filepath.Join(t.TempDir(), "lake")
	args := []string{"id5", "--input=" + in, "--output=" + lake, "--source-gvlid=35", "--max-reject-ratio=0.5"}
	const (
		good     = "incremental/20240301/000000.csv"
		bad      = "incremental/20240301/010000.csv"
		noHeader = "incremental/20240301/020000.csv"
	)
	putInput(t, in, good, "35|20\n\"uid-1\"|\"a1\"\n\"uid-2\"|\"a2\"\n")
	big := "35|20\n" + strings.Repeat("\"uid-3\"|\"a3\"\n", 50000)
	whole := gzipped(t, big)
	putInput(t, in, bad, string(whole[:len(whole)/2]))
	putInput(t, in, noHeader, string(gzipped(t, "this is not a header\n\"uid-4\"|\"a4\"\n")))

	code, out, errs := vendorlake(t, args...)
	if code != 5 {
		t.Fatalf("exit %d, want 5\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(errs, "held back unit "+bad) || !strings.Contains(errs, "gzip stream is truncated") || strings.Contains(errs, good) {
		t.Errorf("stderr must name %s and its error only:\n%s", bad, errs)
	}
	rep := reportOf(t, out)
	if len(rep.HeldBack) != 1 || rep.HeldBack[0].Unit != bad || rep.HeldBack[0].Reason != transforms.HeldUnreadable {
		t.Errorf("held back %+v", rep.HeldBack)
	}
	var rows int64
	for _, p := range rep.Partitions {
		if p.Table == "id5_mapping_updates" {
			rows += p.Rows
		}
	}
	if rows != 2 {
		t.Errorf("%d update rows committed, want the good file's 2", rows)
	}
	rejectedWhole := false
	for _, st := range rep.Inputs {
		if st.Rel == noHeader && st.Error != "" && st.Unreadable == "" {
			rejectedWhole = true
		}
	}
	if !rejectedWhole {
		t.Errorf("%s is not rejected whole: %+v", noHeader, rep.Inputs)
	}
	led := ledgerOf(t, lake, "id5")
	if _, ok := led[bad]; ok {
		t.Errorf("the ledger records %s", bad)
	}
	if led[good].RunID != rep.RunID || led[noHeader].RunID != rep.RunID {
		t.Errorf("the ledger does not record %s and %s: %v", good, noHeader, led)
	}
	assertNoTempInTables(t, lake)

	// Delivered whole, the file is read by the next run, which reads
	// nothing else.
	putInput(t, in, bad, string(whole))
	code, out, errs = vendorlake(t, args...)
	if code != 0 {
		t.Fatalf("fixed input: exit %d\n%s\n%s", code, out, errs)
	}
	rep = reportOf(t, out)
	if len(rep.Inputs) != 1 || rep.Inputs[0].Rel != bad || rep.Inputs[0].RecordsOut != 50000 {
		t.Errorf("the rerun read %+v, want %s whole", rep.Inputs, bad)
	}
	if led := ledgerOf(t, lake, "id5"); led[bad].RunID != rep.RunID {
		t.Errorf("the ledger does not record %s", bad)
	}
}

// The acme-cut vendor is acme (e2e_plugin_test.go) read through a store
// whose downloads break halfway with "connection reset by peer".
const acmeCutName = "acme-cut"

type acmeCutStore struct{ lakefs.FS }

func (s acmeCutStore) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	rc, err := s.FS.Open(ctx, p)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return nil, err
	}
	return io.NopCloser(io.MultiReader(bytes.NewReader(data[:len(data)/2]), iotest.ErrReader(errors.New("connection reset by peer")))), nil
}

type acmeCutFlags struct{}

func (acmeCutFlags) Register(*flag.FlagSet)             {}
func (acmeCutFlags) Validate() error                    { return nil }
func (acmeCutFlags) Pipeline(*run.Options) run.Pipeline { return acmeCutPipeline{} }

type acmeCutPipeline struct{ acmePipeline }

func (acmeCutPipeline) Name() string { return acmeCutName }

func (acmeCutPipeline) Read(s beam.Scope, env run.Env, _ transforms.Plan, files beam.PCollection) run.Outputs {
	batches, stats := transforms.Read(s, newAcmeCutReader, acmeConfig{Case: "keep"}, files, env.Input, env.FS, env.Lines)
	return run.Outputs{Batches: []beam.PCollection{batches}, Stats: stats}
}

func init() {
	beam.RegisterFunction(newAcmeCutReader)
}

// A store error in the middle of a gzip file (the connection reset, not
// the file's content) still fails the run (exit 1) and commits nothing;
// the summary's input line counts the files of the run, not 0.
func TestStoreErrorStillFailsTheRun(t *testing.T) {
	t.Cleanup(registry.Register(registry.Vendor{Name: acmeCutName, Summary: "acme through a broken store",
		Flags: func() registry.Flags { return acmeCutFlags{} }, Tables: acmeTables}))
	in, lake := t.TempDir(), filepath.Join(t.TempDir(), "lake")
	pairs := strings.Repeat("k=v\n", 20000)
	for rel, data := range map[string][]byte{
		"day=2024-01-01/a.txt":            gzipped(t, pairs),
		"day=2024-01-02/broken-store.txt": gzipped(t, pairs),
	} {
		os.MkdirAll(filepath.Join(in, filepath.Dir(rel)), 0o755)
		if err := os.WriteFile(filepath.Join(in, rel), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errs := vendorlake(t, acmeCutName, "--input="+in, "--output="+lake)
	if code != 1 || !strings.Contains(errs, "connection reset by peer") {
		t.Fatalf("exit %d, want 1 with the store's error\n%s\n%s", code, out, errs)
	}
	if !regexp.MustCompile(`(?m)^  input +\S+: 2 files, \S+ \S+ planned`).MatchString(out) {
		t.Errorf("the input line does not count the run's 2 files:\n%s", out)
	}
	for rel := range treeHashes(t, lake) {
		if !strings.HasPrefix(rel, lakestate.Folder+"/") {
			t.Errorf("the failed run committed %s", rel)
		}
	}
	if len(ledgerOf(t, lake, acmeCutName)) != 0 {
		t.Errorf("the failed run wrote ledger entries")
	}
}

// newAcmeCutReader is acme's reader, with its input store cut for the
// files named broken-store.
func newAcmeCutReader(ctx context.Context, config []byte, fs lakefs.Options) (transforms.FileReader, error) {
	r, err := newAcmeReader(ctx, config, fs)
	if err != nil {
		return nil, err
	}
	return transforms.FileReaderFunc(func(ctx context.Context, fsys lakefs.FS, f transforms.InputFile, lines lineparse.Options, emit func(hiveparquet.Batch)) (transforms.FileStats, error) {
		if strings.Contains(f.Rel, "broken-store") {
			fsys = acmeCutStore{fsys}
		}
		return r.ReadFile(ctx, fsys, f, lines, emit)
	}), nil
}
