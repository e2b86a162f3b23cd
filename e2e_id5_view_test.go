package main

import (
	"os"
	"path/filepath"
	"testing"
)

// id5Held are the sample's incrementals delivered after its newest full
// extract: held back from a first run, they are the delta of the second.
var id5Held = []string{
	"incremental/109/20240303/160345.csv",
	"incremental/20240303/123613.csv",
	"incremental/45/20240303/162120.csv",
}

// holdBack moves the files rels of the input in out of it, into a new
// folder, and returns a func that puts them back.
func holdBack(t *testing.T, in string, rels []string) func() {
	t.Helper()
	held := t.TempDir()
	for _, rel := range rels {
		if err := os.Rename(filepath.Join(in, rel), filepath.Join(held, filepath.Base(filepath.Dir(rel))+"-"+filepath.Base(rel))); err != nil {
			t.Fatal(err)
		}
	}
	return func() {
		t.Helper()
		for _, rel := range rels {
			if err := os.Rename(filepath.Join(held, filepath.Base(filepath.Dir(rel))+"-"+filepath.Base(rel)), filepath.Join(in, rel)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// exportView writes the rows of a view that 'vendorlake ddl
// --dialect=duckdb' declares over lake into a Parquet file of a new folder
// DIR/VIEW/, and returns DIR, for sameTables.
func exportView(t *testing.T, lake, view string) string {
	t.Helper()
	code, ddl, errs := vendorlake(t, "ddl", "--dialect=duckdb", "--output="+lake)
	if code != 0 {
		t.Fatalf("ddl: exit %d: %s", code, errs)
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, view), 0o755); err != nil {
		t.Fatal(err)
	}
	duckdb(t, ddl+"\nCOPY (SELECT * FROM \""+view+"\") TO '"+filepath.Join(dir, view, "rows.parquet")+"' (FORMAT parquet);\nSELECT 1 AS done")
	return dir
}

// TestID5CurrentViewInDuckDB runs the view id5_mapping_current, as ddl
// declares it, in DuckDB: after a run that only ingested a delta (the base
// not rebuilt, --base-rebuild-share=1), its rows equal those of a lake
// whose base was built from everything (and so equal its base table).
func TestID5CurrentViewInDuckDB(t *testing.T) {
	requireDuckDB(t)
	in := copyTree(t, "testdata/id5/sample")
	restore := holdBack(t, in, id5Held)
	lake, ref := t.TempDir(), t.TempDir()
	args := []string{"id5", "--source-gvlid=35", "--max-reject-ratio=0.5", "--base-rebuild-share=1", "--input=" + in}
	if code, out, errs := vendorlake(t, append(args, "--output="+lake)...); code != 0 {
		t.Fatalf("first run: exit %d\n%s\n%s", code, out, errs)
	}
	restore()
	code, out, errs := vendorlake(t, append(args, "--output="+lake)...)
	if code != 0 {
		t.Fatalf("delta run: exit %d\n%s\n%s", code, out, errs)
	}
	if rep := id5RunReport(t, lake, out, "-id5_current"); len(rep.Partitions) != 0 || rep.Status != "nothing_to_do" {
		t.Fatalf("the delta run rebuilt the base (%s, %d partitions): the test would not test the view", rep.Status, len(rep.Partitions))
	}
	if code, out, errs := vendorlake(t, append(args, "--output="+ref)...); code != 0 {
		t.Fatalf("reference run: exit %d\n%s\n%s", code, out, errs)
	}
	got, want := exportView(t, lake, "id5_mapping_current"), exportView(t, ref, "id5_mapping_current")
	sameTables(t, got, want, "id5_mapping_current")
	// The reference's delta is empty: its view is its base.
	r := duckdb(t, "SELECT (SELECT count(*) FROM (SELECT uid, partner_uid, source_gvlid, updated_at, source_file, source_line, partner_gvlid::INTEGER FROM "+
		scan(ref, "id5_mapping_base")+" EXCEPT ALL SELECT uid, partner_uid, source_gvlid, updated_at, source_file, source_line, partner_gvlid::INTEGER FROM "+
		scan(want, "id5_mapping_current")+")) AS n, (SELECT count(*) FROM "+scan(want, "id5_mapping_current")+") AS rows")[0]
	if num(r["n"]) != 0 || num(r["rows"]) == 0 {
		t.Errorf("the reference's view differs from its base: %v rows of the base not in the view (of %v)", r["n"], r["rows"])
	}
}
