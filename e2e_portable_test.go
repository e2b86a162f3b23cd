package main

// Tests of the portable path (a standalone prism job server, as a Flink job
// server would be used) and of the DDL the ddl command prints.

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/pipelines/registry"
)

// sampleRun is a run of one registered pipeline on its bundled sample.
type sampleRun struct {
	name   string
	args   []string
	tables []string
}

// portableRuns are the pipeline runs compared between the direct runner and
// a job server: every registered pipeline on its bundled sample (with
// --max-reject-ratio=0.5: the samples plant bad lines on purpose), and the
// tables it writes.
func portableRuns() []sampleRun {
	var runs []sampleRun
	for _, v := range registry.All() {
		if v.Sample.Dir == "" {
			continue
		}
		args := append(slices.Clone(v.CommandLine()), "--input=testdata/"+v.Sample.Dir)
		args = append(append(args, v.Sample.Args...), "--max-reject-ratio=0.5")
		var tables []string
		for _, t := range hiveparquet.Queryable(v.Tables()) {
			tables = append(tables, t.Name)
		}
		runs = append(runs, sampleRun{strings.Join(v.CommandLine(), " "), args, tables})
	}
	return runs
}

// splitInput returns the run's --input= value and its other arguments.
func (r sampleRun) splitInput() (input string, rest []string) {
	for _, a := range r.args {
		if v, ok := strings.CutPrefix(a, "--input="); ok {
			input = v
		} else {
			rest = append(rest, a)
		}
	}
	return input, rest
}

// portableRun is the run of portableRuns named name.
func portableRun(t *testing.T, name string) sampleRun {
	t.Helper()
	for _, r := range portableRuns() {
		if r.name == name {
			return r
		}
	}
	t.Fatalf("no registered pipeline %q with a sample", name)
	return sampleRun{}
}

// TestPortableJobServerEqualsDirect runs every pipeline through Beam's
// portable Job API against the standalone prism job server that
// scripts/test.sh starts on loopback (VENDORLAKE_PRISM_ENDPOINT), with
// LOOPBACK workers, and compares the tables with the direct runner's.
func TestPortableJobServerEqualsDirect(t *testing.T) {
	endpoint := serviceEnv(t, "VENDORLAKE_PRISM_ENDPOINT", "VENDORLAKE_REQUIRE_PRISM", "scripts/test.sh starts a prism job server")
	runnerEqualsDirect(t, "universal", "--endpoint="+endpoint, "--environment_type=LOOPBACK")
}

// runnerEqualsDirect runs every pipeline's sample (portableRuns) on the
// direct runner and on runner with flags, and compares their tables; the
// summary must name the runner, and the lake hold valid UTF-8 only.
func runnerEqualsDirect(t *testing.T, runner string, flags ...string) {
	t.Helper()
	runnerEqualsDirectAround(t, runner, nil, flags...)
}

// runnerEqualsDirectAround is runnerEqualsDirect with a hook around each
// run on runner: around is called before it, and the func it returns
// after it succeeded (the Flink test checks where the job's subtasks ran).
func runnerEqualsDirectAround(t *testing.T, runner string, around func(t *testing.T) (after func(t *testing.T)), flags ...string) {
	t.Helper()
	for _, r := range portableRuns() {
		t.Run(r.name, func(t *testing.T) {
			direct, lake := t.TempDir(), t.TempDir()
			if code, out, errs := vendorlake(t, append(r.args, "--output="+direct, "--runner=direct")...); code != 0 {
				t.Fatalf("direct: exit %d\n%s\n%s", code, out, errs)
			}
			var after func(*testing.T)
			if around != nil {
				after = around(t)
			}
			args := append(append(slices.Clone(r.args), "--output="+lake, "--runner="+runner), flags...)
			code, out, errs := vendorlake(t, args...)
			if code != 0 {
				t.Fatalf("%s: exit %d\n%s\n%s", runner, code, out, errs)
			}
			if !strings.Contains(out, "runner "+runner) {
				t.Errorf("summary does not name the runner:\n%s", out)
			}
			sameTables(t, direct, lake, r.tables...)
			assertLakeUTF8(t, lake)
			if after != nil {
				after(t)
			}
		})
	}
}

func TestClusterRunRefusesLocalPaths(t *testing.T) {
	code, _, errs := vendorlake(t, "didomi", "--input=testdata/didomi", "--output="+t.TempDir(), "--runner=flink", "--environment_type=DOCKER")
	if code != 2 || !strings.Contains(errs, "cannot see the local path") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
}

// demoLake runs every pipeline's sample into a fresh lake.
func demoLake(t *testing.T) string {
	t.Helper()
	lake := t.TempDir()
	for _, r := range portableRuns() {
		if code, out, errs := vendorlake(t, append(r.args, "--output="+lake, "--runner=direct")...); code != 0 {
			t.Fatalf("%s: exit %d\n%s\n%s", r.name, code, out, errs)
		}
	}
	assertLakeUTF8(t, lake)
	return lake
}

// TestDDLDuckDB runs the DuckDB dialect's DDL in DuckDB against the lake and
// checks that every column of every table is there with its declared type.
func TestDDLDuckDB(t *testing.T) {
	lake := demoLake(t)
	code, ddl, errs := vendorlake(t, "ddl", "--dialect=duckdb", "--output="+lake)
	if code != 0 {
		t.Fatal(errs)
	}
	for _, table := range lakeTables() {
		if _, err := os.Stat(lake + "/" + table.Name); err != nil {
			continue // a table the samples do not produce
		}
		rows := duckdb(t, ddl+fmt.Sprintf("\nSELECT column_name AS c, column_type AS ty FROM (DESCRIBE SELECT * FROM \"%s\")", table.Name))
		got := map[string]string{}
		for _, r := range rows {
			got[fmt.Sprint(r["c"])] = fmt.Sprint(r["ty"])
		}
		want := map[string]string{}
		for _, f := range table.Schema.Fields() {
			ty, err := hiveparquet.DuckDBType(f.Type)
			if err != nil {
				t.Fatal(err)
			}
			want[f.Name] = ty
		}
		for _, p := range table.Partitions {
			want[p.Name] = map[string]string{"date": "DATE", "int": "INTEGER"}[p.Type]
			if want[p.Name] == "" {
				want[p.Name] = "VARCHAR"
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s through the DuckDB view:\n got %v\nwant %v", table.Name, got, want)
		}
		n := duckdb(t, ddl+fmt.Sprintf("\nSELECT count(*) AS n FROM \"%s\"", table.Name))
		if num(n[0]["n"]) == 0 {
			t.Errorf("%s: the view reads no rows", table.Name)
		}
	}
}

var ddlColumn = regexp.MustCompile("(?m)^  `([a-z_0-9]+)` (.+?),?$")

// TestDDLAthenaSparkMatchParquet checks that the Athena and Spark DDL
// declare exactly the columns and types of the Parquet files, as DuckDB
// reads them (an independent reader of the schema).
func TestDDLAthenaSparkMatchParquet(t *testing.T) {
	lake := demoLake(t)
	for _, dialect := range []string{"athena", "spark"} {
		code, ddl, errs := vendorlake(t, "ddl", "--dialect="+dialect, "--output="+lake, "--database=lake")
		if code != 0 {
			t.Fatal(errs)
		}
		for _, stmt := range strings.Split(ddl, "\n\n") {
			m := regexp.MustCompile("CREATE (?:EXTERNAL )?TABLE IF NOT EXISTS `lake`.`([a-z_0-9]+)`").FindStringSubmatch(stmt)
			if m == nil {
				continue
			}
			table := m[1]
			if _, err := os.Stat(lake + "/" + table); err != nil {
				continue
			}
			declared := map[string]string{}
			for _, c := range ddlColumn.FindAllStringSubmatch(stmt, -1) {
				declared[c[1]] = c[2]
			}
			parquet := map[string]string{}
			for _, r := range duckdb(t, fmt.Sprintf("SELECT column_name AS c, column_type AS ty FROM (DESCRIBE SELECT * FROM read_parquet('%s/%s/**/*.parquet', hive_partitioning=false))", lake, table)) {
				parquet[fmt.Sprint(r["c"])] = duckToHive(t, fmt.Sprint(r["ty"]))
			}
			if dialect == "spark" {
				for _, p := range lakeTablePartitions(table) {
					parquet[p.Name] = map[string]string{"date": "date", "int": "int"}[p.Type]
					if parquet[p.Name] == "" {
						parquet[p.Name] = "string"
					}
				}
			}
			if fmt.Sprint(declared) != fmt.Sprint(parquet) {
				t.Errorf("%s %s:\ndeclared %v\nparquet  %v", dialect, table, declared, parquet)
			}
			// Athena: projected partitions, or registered ones (every
			// partition of the lake named).
			if dialect == "athena" && (!strings.Contains(stmt, "STORED AS PARQUET") ||
				!strings.Contains(stmt, "'projection.enabled'='true'") && !strings.Contains(stmt, "ADD IF NOT EXISTS\n  PARTITION (")) {
				t.Errorf("athena %s lacks STORED AS PARQUET, or partition projection or registered partitions", table)
			}
			if dialect == "spark" && !strings.Contains(stmt, "MSCK REPAIR TABLE `lake`.`"+table+"`") {
				t.Errorf("spark %s lacks MSCK REPAIR TABLE", table)
			}
		}
	}
}

func lakeTablePartitions(name string) []hiveparquet.PartitionColumn {
	for _, t := range lakeTables() {
		if t.Name == name {
			return t.Partitions
		}
	}
	return nil
}

// duckToHive converts a DuckDB type name to the Hive/Athena/Spark one.
func duckToHive(t *testing.T, ty string) string {
	t.Helper()
	ty = strings.TrimSpace(ty)
	switch {
	case strings.HasSuffix(ty, "[]"):
		return "array<" + duckToHive(t, ty[:len(ty)-2]) + ">"
	case strings.HasPrefix(ty, "MAP(") && strings.HasSuffix(ty, ")"):
		parts := splitTop(ty[4 : len(ty)-1])
		return "map<" + duckToHive(t, parts[0]) + "," + duckToHive(t, parts[1]) + ">"
	case strings.HasPrefix(ty, "STRUCT(") && strings.HasSuffix(ty, ")"):
		var fields []string
		for _, f := range splitTop(ty[7 : len(ty)-1]) {
			f = strings.TrimSpace(f)
			var name, rest string
			if strings.HasPrefix(f, `"`) {
				end := strings.Index(f[1:], `"`) + 1
				name, rest = f[1:end], f[end+1:]
			} else {
				name, rest, _ = strings.Cut(f, " ")
			}
			fields = append(fields, "`"+name+"`:"+duckToHive(t, rest))
		}
		return "struct<" + strings.Join(fields, ",") + ">"
	}
	m := map[string]string{"VARCHAR": "string", "BIGINT": "bigint", "INTEGER": "int", "BOOLEAN": "boolean",
		"TIMESTAMP WITH TIME ZONE": "timestamp", "DOUBLE": "double", "DATE": "date", "BLOB": "binary", "SMALLINT": "smallint"}
	if h, ok := m[ty]; ok {
		return h
	}
	t.Fatalf("no Hive type for DuckDB type %q", ty)
	return ""
}

// splitTop splits s on commas outside parentheses.
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// TestReadmeTableReference keeps the README's table reference equal to the
// schemas the writers use.
func TestReadmeTableReference(t *testing.T) {
	code, want, errs := vendorlake(t, "ddl", "--dialect=markdown")
	if code != 0 {
		t.Fatal(errs)
	}
	if got := readmeBlock(t, "tables"); got != want {
		t.Errorf("README.md's table reference is stale: regenerate it with 'go run . ddl --dialect=markdown'")
	}
}
