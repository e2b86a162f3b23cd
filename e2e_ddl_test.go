package main

// Tests of the ddl command on a lake where only some pipelines have run.

import (
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/pipelines/registry"
)

var ddlTableName = regexp.MustCompile("(?m)^(?:CREATE (?:EXTERNAL )?TABLE IF NOT EXISTS `(?:lake`\\.`)?|CREATE OR REPLACE VIEW [`\"](?:lake[`\"]\\.[`\"])?)([a-z_0-9]+)[`\"]")

// declaredTables returns the sorted names of the tables a DDL script creates.
func declaredTables(ddl string) []string {
	var names []string
	for _, m := range ddlTableName.FindAllStringSubmatch(ddl, -1) {
		names = append(names, m[1])
	}
	sort.Strings(names)
	return names
}

// tableNames returns the tables, and the views over them, of pipelines,
// sorted: what ddl declares for them.
func tableNames(pipelines ...string) []string {
	var names []string
	for _, p := range pipelines {
		v, ok := registry.Lookup(p)
		if !ok {
			continue
		}
		for _, t := range hiveparquet.Queryable(v.Tables()) {
			names = append(names, t.Name)
		}
		if v.Views != nil {
			for _, view := range v.Views() {
				names = append(names, view.Name)
			}
		}
	}
	sort.Strings(names)
	return names
}

// registeredPipelines returns the names of every registered pipeline.
func registeredPipelines() []string {
	var names []string
	for _, v := range registry.All() {
		names = append(names, v.Name)
	}
	return names
}

// TestDDLDeclaresTheTablesTheLakeHas runs only the Didomi pipeline and
// checks that every dialect declares just its tables, so DuckDB can run the
// whole script; --pipelines chooses explicitly, whatever the lake holds.
func TestDDLDeclaresTheTablesTheLakeHas(t *testing.T) {
	lake := t.TempDir()
	if code, out, errs := vendorlake(t, "didomi", "--input=testdata/didomi", "--output="+lake, "--max-reject-ratio=0.5"); code != 0 {
		t.Fatalf("didomi: exit %d\n%s\n%s", code, out, errs)
	}
	didomiTables := tableNames("didomi")
	for _, dialect := range []string{"athena", "spark", "duckdb"} {
		code, ddl, errs := vendorlake(t, "ddl", "--dialect="+dialect, "--output="+lake, "--database=lake")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", dialect, code, errs)
		}
		if got := declaredTables(ddl); strings.Join(got, " ") != strings.Join(didomiTables, " ") {
			t.Errorf("%s declares %v, want the Didomi tables %v", dialect, got, didomiTables)
		}
		if dialect == "duckdb" {
			// Before, the script declared every table and DuckDB failed on
			// the first view over a folder without Parquet files.
			r := duckdb(t, ddl+"\nSELECT count(*) AS n FROM didomi_users")
			if num(r[0]["n"]) == 0 {
				t.Error("the didomi_users view reads no rows")
			}
		}
	}

	code, ddl, errs := vendorlake(t, "ddl", "--dialect=athena", "--output="+lake, "--pipelines=id5, audiencestudio requests")
	if code != 0 {
		t.Fatalf("--pipelines: exit %d: %s", code, errs)
	}
	if got, want := declaredTables(ddl), tableNames("id5", "audiencestudio-requests"); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("--pipelines=id5,audiencestudio requests declares %v, want %v", got, want)
	}
	code, ddl, _ = vendorlake(t, "ddl", "--dialect=spark", "--output="+lake, "--pipelines=all")
	if got, want := declaredTables(ddl), tableNames(registeredPipelines()...); code != 0 || strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("--pipelines=all: exit %d, declares %v, want %v", code, got, want)
	}
	if code, _, errs := vendorlake(t, "ddl", "--output="+lake, "--pipelines=didomi,acme"); code != exitUsage || !strings.Contains(errs, `unknown pipeline "acme"`) {
		t.Errorf("--pipelines=didomi,acme: exit %d, stderr %q", code, errs)
	}

	// A lake with nothing to declare is a mistake (a typo in --output, say),
	// not an empty success.
	empty := t.TempDir()
	code, ddl, errs = vendorlake(t, "ddl", "--dialect=duckdb", "--output="+empty)
	if code != exitFailed || strings.TrimSpace(ddl) != "" || !strings.Contains(errs, "no table under") {
		t.Errorf("an empty lake: exit %d, ddl %q, stderr %q", code, ddl, errs)
	}
	missing := filepath.Join(empty, "nonexistent")
	code, ddl, errs = vendorlake(t, "ddl", "--output="+missing)
	if code != exitFailed || strings.TrimSpace(ddl) != "" || !strings.Contains(errs, "no such file") {
		t.Errorf("a lake that does not exist: exit %d, ddl %q, stderr %q", code, ddl, errs)
	}
	// With --pipelines the tables are declared before the first run, as
	// before.
	code, ddl, errs = vendorlake(t, "ddl", "--output="+missing, "--pipelines=didomi")
	if got := declaredTables(ddl); code != 0 || strings.Join(got, " ") != strings.Join(didomiTables, " ") {
		t.Errorf("--pipelines on a lake that does not exist: exit %d, declares %v: %s", code, got, errs)
	}
	if !strings.Contains(ddl, "none is known yet") {
		t.Errorf("the Athena DDL before the first run does not say when to run ddl again:\n%s", ddl)
	}
}

// TestDDLLocationsAreAbsolute: a relative --output gives absolute
// locations (Spark and Athena read file://lake/x as a host named lake).
func TestDDLLocationsAreAbsolute(t *testing.T) {
	dir := t.TempDir()
	lake := filepath.Join(dir, "lake")
	if code, out, errs := vendorlake(t, "didomi", "--input=testdata/didomi", "--output="+lake, "--max-reject-ratio=0.5"); code != 0 {
		t.Fatalf("didomi: exit %d\n%s\n%s", code, out, errs)
	}
	t.Chdir(dir)
	for dialect, want := range map[string]string{
		"athena": "LOCATION 'file://" + lake + "/didomi_users/'",
		"spark":  "LOCATION 'file://" + lake + "/didomi_users'",
		"trino":  "external_location = 'local://" + lake + "/didomi_users'",
		"duckdb": "read_parquet('" + lake + "/didomi_users/**/*.parquet'",
	} {
		code, ddl, errs := vendorlake(t, "ddl", "--dialect="+dialect, "--output=lake")
		if code != 0 || !strings.Contains(ddl, want) {
			t.Errorf("%s, --output=lake: exit %d, want %q in\n%.600s\n%s", dialect, code, want, ddl, errs)
		}
	}
}

// TestDDLOnALakeThatCannotBeListed: an S3 lake that cannot be listed
// (here: nothing listens at the endpoint) exits 1 naming the cause; with
// --pipelines its tables are declared, with a warning, without partitions.
func TestDDLOnALakeThatCannotBeListed(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "x")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "x")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	s3 := []string{"ddl", "--dialect=athena", "--output=s3://lake/vendors", "--s3-endpoint=http://127.0.0.1:1", "--s3-path-style", "--s3-region=us-east-1"}
	code, ddl, errs := vendorlake(t, s3...)
	if code != exitFailed || strings.TrimSpace(ddl) != "" || !strings.Contains(errs, "cannot list the lake") || !strings.Contains(errs, "--pipelines") {
		t.Errorf("without --pipelines: exit %d, ddl %q, stderr %q", code, ddl, errs)
	}
	code, ddl, errs = vendorlake(t, append(s3, "--pipelines=all")...)
	if code != 0 {
		t.Fatalf("--pipelines=all: exit %d: %s", code, errs)
	}
	if got, want := declaredTables(ddl), tableNames(registeredPipelines()...); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("declares %v, want every table %v", got, want)
	}
	if !strings.Contains(errs, "cannot list the lake") {
		t.Errorf("no warning on stderr: %q", errs)
	}
}
