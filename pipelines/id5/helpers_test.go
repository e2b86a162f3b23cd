package id5

import (
	"bufio"
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/direct"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"

	"github.com/vendorlake/vendorlake/io/decompress"
	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/pipelines/run"
	"github.com/vendorlake/vendorlake/transforms"
)

func TestMain(m *testing.M) {
	flag.Parse()
	beam.Init()
	beamlog.SetLogger(quietLogger{})
	os.Exit(m.Run())
}

// quietLogger keeps the direct runner's plan dumps out of test output.
type quietLogger struct{}

func (quietLogger) Log(ctx context.Context, sev beamlog.Severity, _ int, msg string) {
	if sev >= beamlog.SevWarn {
		fmt.Fprintln(os.Stderr, "beam:", msg)
	}
}

// testSourceGVLID is the --source-gvlid of the tests (the vendor document's example).
const testSourceGVLID = 35

// execute runs the ID5 pipeline (ingest, then id5_mapping_current) on the
// direct runner in-process.
func execute(t *testing.T, input, output string, reprocess bool, mutate ...func(*run.Options)) transforms.RunReport {
	t.Helper()
	o := run.Options{Input: input, Output: output, Runner: "direct", MaxRejectRatio: 1, Reprocess: reprocess}
	for _, m := range mutate {
		m(&o)
	}
	rep, err := run.Execute(context.Background(), Pipeline{SourceGVLID: testSourceGVLID, MaxExtractShrink: 1}, o)
	if err != nil {
		t.Fatalf("run.Execute: %v (report %+v)", err, rep)
	}
	for _, st := range rep.Inputs {
		if err := st.Check(); err != nil {
			t.Errorf("report: %v", err)
		}
	}
	return rep
}

// lakeRow is one row read back from a table: its columns and partition
// values by name, timestamps as time.Time (UTC).
type lakeRow map[string]any

func (r lakeRow) str(k string) string { s, _ := r[k].(string); return s }

func (r lakeRow) i64(k string) int64 {
	switch v := r[k].(type) {
	case int64:
		return v
	case int32:
		return int64(v)
	case string: // a partition value
		n, _ := strconv.ParseInt(v, 10, 64)
		return n
	}
	return 0
}

// readTable reads every published Parquet file of a table back with pqarrow.
func readTable(t *testing.T, output, table string) []lakeRow {
	t.Helper()
	root := filepath.Join(output, table)
	var rows []lakeRow
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if os.IsNotExist(err) && p == root {
			return filepath.SkipDir
		}
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".parquet") {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(p))
		parts := map[string]string{}
		if rel != "." {
			_, values, err := hiveparquet.ParsePartitionPath(filepath.ToSlash(rel))
			if err != nil {
				return err
			}
			keys, _, _ := hiveparquet.ParsePartitionPath(filepath.ToSlash(rel))
			for i, k := range keys {
				parts[k] = values[i]
			}
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		tbl, err := pqarrow.ReadTable(context.Background(), f, nil, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		defer tbl.Release()
		tr := array.NewTableReader(tbl, 0)
		defer tr.Release()
		for tr.Next() {
			rec := tr.Record()
			for i := 0; i < int(rec.NumRows()); i++ {
				row := lakeRow{}
				for k, v := range parts {
					row[k] = v
				}
				for c, col := range rec.Columns() {
					name := rec.ColumnName(c)
					switch a := col.(type) {
					case *array.String:
						row[name] = a.Value(i)
					case *array.Int32:
						row[name] = a.Value(i)
					case *array.Int64:
						row[name] = a.Value(i)
					case *array.Boolean:
						row[name] = a.Value(i)
					case *array.Timestamp:
						row[name] = a.Value(i).ToTime(arrow.Microsecond).UTC()
					default:
						return fmt.Errorf("%s: column %s: unexpected type %s", p, name, col.DataType())
					}
				}
				rows = append(rows, row)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// currentRows reads id5_mapping_current as CurrentRows, sorted like
// CurrentMapping's result: the view's rows, computed here in Go over
// id5_mapping_base, id5_mapping_base_state and id5_mapping_updates (the
// DuckDB end-to-end test runs the view's SQL itself).
func currentRows(t *testing.T, output string) []CurrentRow {
	t.Helper()
	cut := map[int64]time.Time{}
	for _, r := range readTable(t, output, BaseStateTable) {
		cut[r.i64("partner_gvlid")] = r["cutoff"].(time.Time)
	}
	latest := map[[2]string]CurrentRow{}
	put := func(c CurrentRow) {
		k := [2]string{c.UID, fmt.Sprint(c.PartnerGVLID)}
		old, ok := latest[k]
		if !ok || cmp.Or(c.UpdatedAt.Compare(old.UpdatedAt), cmp.Compare(c.SourceFile, old.SourceFile), cmp.Compare(c.SourceLine, old.SourceLine)) > 0 {
			latest[k] = c
		}
	}
	for _, r := range readTable(t, output, BaseTable) {
		put(CurrentRow{UID: r.str("uid"), PartnerGVLID: int32(r.i64("partner_gvlid")), PartnerUID: r.str("partner_uid"),
			SourceGVLID: int32(r.i64("source_gvlid")), UpdatedAt: r["updated_at"].(time.Time),
			SourceFile: r.str("source_file"), SourceLine: r.i64("source_line")})
	}
	for _, r := range readTable(t, output, UpdatesTable) {
		at := r["delivered_at"].(time.Time)
		if e, ok := cut[r.i64("partner_gvlid")]; ok && !at.After(e) {
			continue
		}
		if h, ok := cut[horizonPartner]; ok && !at.After(h) {
			continue
		}
		put(CurrentRow{UID: r.str("uid"), PartnerGVLID: int32(r.i64("partner_gvlid")), PartnerUID: r.str("partner_uid"),
			SourceGVLID: int32(r.i64("source_gvlid")), UpdatedAt: at, SourceFile: r.str("source_file"), SourceLine: r.i64("source_line")})
	}
	var out []CurrentRow
	for _, c := range latest {
		out = append(out, c)
	}
	sortCurrent(out)
	return out
}

func sortCurrent(rows []CurrentRow) {
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].UID != rows[j].UID {
			return rows[i].UID < rows[j].UID
		}
		return rows[i].PartnerGVLID < rows[j].PartnerGVLID
	})
}

// loadDelivered reads every ID5 file under input (decompressed) for the model.
func loadDelivered(t *testing.T, input string) []DeliveredFile {
	t.Helper()
	var files []DeliveredFile
	err := filepath.WalkDir(input, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(input, p)
		df, err := classifyRel(filepath.ToSlash(rel))
		if err != nil {
			return nil // not an ID5 file: the pipeline skips it too
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		r, _, err := decompress.NewReader(f, p, nil)
		if err != nil {
			return err
		}
		data, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		var lines []string
		sc := bufio.NewScanner(strings.NewReader(string(data)))
		sc.Buffer(nil, 1<<30)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		files = append(files, DeliveredFile{File: df, Lines: lines})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// wantCurrent is CurrentMapping over the files under input, as the lake
// stores it: per-partner rows carry the configured source GVLID, times are
// microseconds.
func wantCurrent(t *testing.T, input string) []CurrentRow {
	t.Helper()
	want := CurrentMapping(loadDelivered(t, input))
	for i := range want {
		if want[i].SourceGVLID == 0 {
			want[i].SourceGVLID = testSourceGVLID
		}
		want[i].UpdatedAt = want[i].UpdatedAt.Truncate(time.Microsecond)
	}
	sortCurrent(want)
	return want
}

// checkCurrentTable compares id5_mapping_current with the reference model, row by row.
func checkCurrentTable(t *testing.T, input, output string) {
	t.Helper()
	got, want := currentRows(t, output), wantCurrent(t, input)
	if slices.EqualFunc(got, want, func(a, b CurrentRow) bool { return a == b || (a.UpdatedAt.Equal(b.UpdatedAt) && sameButTime(a, b)) }) {
		return
	}
	n := 0
	for i := 0; i < max(len(got), len(want)) && n < 10; i++ {
		var g, w CurrentRow
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("id5_mapping_current row %d:\n got %s\nwant %s", i, dump([]CurrentRow{g}), dump([]CurrentRow{w}))
			n++
		}
	}
	t.Fatalf("id5_mapping_current: %d rows, model: %d rows", len(got), len(want))
}

func sameButTime(a, b CurrentRow) bool {
	a.UpdatedAt, b.UpdatedAt = time.Time{}, time.Time{}
	return a == b
}

// copyTree copies the files below src into dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return writeFile(filepath.Join(dst, rel), data)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func writeFile(p string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, data, 0o644)
}

// put writes a file of lines below root.
func put(t *testing.T, root, rel string, lines ...string) {
	t.Helper()
	data := ""
	for _, l := range lines {
		data += l + "\n"
	}
	if err := writeFile(filepath.Join(root, filepath.FromSlash(rel)), []byte(data)); err != nil {
		t.Fatal(err)
	}
}

// countBy counts rows by the value of column k.
func countBy(rows []lakeRow, k string) map[string]int {
	m := map[string]int{}
	for _, r := range rows {
		m[fmt.Sprint(r[k])]++
	}
	return m
}
