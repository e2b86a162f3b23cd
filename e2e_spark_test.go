package main

// Spark reads the lake: PySpark (from PyPI, in the venv scripts/spark.sh
// caches) reads every Parquet table of the demo lake with partition
// discovery, and runs every statement of 'vendorlake ddl --dialect=spark'
// and --dialect=athena (Hive DDL, parsed by Spark's Hive support with a
// local Derby metastore). scripts/spark/read_lake.py reports what Spark
// saw; this test compares it with DuckDB.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/vendorlake/vendorlake/pipelines/registry"
)

// sparkReport is what scripts/spark/read_lake.py prints.
type sparkReport struct {
	Tables map[string]struct {
		Partitions   map[string]int64   `json:"partitions"`
		PathMismatch int64              `json:"path_mismatch"`
		Timestamps   map[string][]int64 `json:"timestamps"`
		Types        map[string]string  `json:"types"`
	} `json:"tables"`
	SparkDDL        map[string]int64 `json:"spark_ddl"`
	AthenaDDL       map[string]int64 `json:"athena_ddl"`
	SparkViews      map[string]int64 `json:"spark_views"`
	ExplodePurposes int64            `json:"explode_purposes"`
	MapKeys         int64            `json:"map_keys"`
}

// pysparkPython returns the Python of the PySpark venv, or skips (fails when
// VENDORLAKE_REQUIRE_SPARK is set).
func pysparkPython(t *testing.T) string {
	t.Helper()
	return serviceEnv(t, "VENDORLAKE_PYSPARK_PYTHON", "VENDORLAKE_REQUIRE_SPARK", "scripts/test.sh installs PySpark (export VENDORLAKE_PYSPARK_PYTHON=$(scripts/spark.sh install))")
}

func TestSparkReadsTheLake(t *testing.T) {
	py := pysparkPython(t)
	lake := demoLake(t)
	tmp := t.TempDir()
	ddlFile := func(dialect, db string) string {
		code, ddl, errs := vendorlake(t, "ddl", "--dialect="+dialect, "--output="+lake, "--database="+db)
		if code != 0 {
			t.Fatalf("ddl --dialect=%s: exit %d: %s", dialect, code, errs)
		}
		p := filepath.Join(tmp, dialect+".sql")
		if err := os.WriteFile(p, []byte(ddl), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sparkSQL, athenaSQL := ddlFile("spark", "lake_spark"), ddlFile("athena", "lake_athena")
	scratch := filepath.Join(tmp, "spark")
	if err := os.Mkdir(scratch, 0o755); err != nil {
		t.Fatal(err)
	}
	script, _ := filepath.Abs("scripts/spark/read_lake.py")
	cmd := exec.Command(py, script, lake, sparkSQL, athenaSQL, scratch)
	cmd.Env = append(os.Environ(), "SPARK_LOCAL_IP=127.0.0.1") // every Spark service on loopback
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("Spark: %v\n%s", err, stderr.String())
	}
	var rep sparkReport
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("Spark's report %q: %v\n%s", out, err, stderr.String())
	}

	var read []string
	for _, table := range lakeTables() {
		if _, err := os.Stat(filepath.Join(lake, table.Name)); err != nil {
			continue // a table the samples do not produce
		}
		read = append(read, table.Name)
		got, ok := rep.Tables[table.Name]
		if !ok {
			t.Errorf("%s: Spark did not read it", table.Name)
			continue
		}
		scan := fmt.Sprintf("read_parquet('%s/%s/**/*.parquet', hive_partitioning=true, hive_types_autocast=false)", lake, table.Name)
		// Row counts per partition, the partition values as folder text.
		var key []string
		for _, p := range table.Partitions {
			key = append(key, fmt.Sprintf("'%[1]s=' || \"%[1]s\"", p.Name))
		}
		want := map[string]int64{}
		for _, r := range duckdb(t, fmt.Sprintf("SELECT %s AS k, count(*) AS n FROM %s GROUP BY ALL", strings.Join(key, " || '/' || "), scan)) {
			want[fmt.Sprint(r["k"])] = num(r["n"])
		}
		if fmt.Sprint(got.Partitions) != fmt.Sprint(want) {
			t.Errorf("%s: rows per partition\nSpark  %v\nDuckDB %v", table.Name, got.Partitions, want)
		}
		if got.PathMismatch != 0 {
			t.Errorf("%s: %d rows whose partition columns are not their file's folders", table.Name, got.PathMismatch)
		}
		for _, p := range table.Partitions {
			if got.Types[p.Name] != "string" {
				t.Errorf("%s: Spark found no partition column %s in the paths (types %v)", table.Name, p.Name, got.Types)
			}
		}
		// Timestamps: Spark TIMESTAMP, the same instants as DuckDB reads.
		for _, f := range table.Schema.Fields() {
			if f.Type.ID() != arrow.TIMESTAMP {
				continue
			}
			if got.Types[f.Name] != "timestamp" {
				t.Errorf("%s.%s: Spark reads %q, want timestamp", table.Name, f.Name, got.Types[f.Name])
				continue
			}
			var want []int64
			for _, r := range duckdb(t, fmt.Sprintf("SELECT epoch_us(\"%s\")::VARCHAR AS us FROM %s WHERE \"%[1]s\" IS NOT NULL", f.Name, scan)) {
				var us int64
				fmt.Sscan(fmt.Sprint(r["us"]), &us)
				want = append(want, us)
			}
			sort.Slice(want, func(i, j int) bool { return want[i] < want[j] })
			if len(want) == 0 || fmt.Sprint(got.Timestamps[f.Name]) != fmt.Sprint(want) {
				t.Errorf("%s.%s: instants differ (%d from Spark, %d from DuckDB)", table.Name, f.Name, len(got.Timestamps[f.Name]), len(want))
			}
		}
		// Every statement of both DDL dialects ran; the tables count the
		// same rows after MSCK REPAIR TABLE.
		total := duckdb(t, "SELECT count(*) AS n FROM "+scan)[0]["n"]
		for dialect, counts := range map[string]map[string]int64{"spark": rep.SparkDDL, "athena": rep.AthenaDDL} {
			if n, ok := counts[table.Name]; !ok || n != num(total) {
				t.Errorf("%s through --dialect=%s DDL: %d rows (declared: %v), DuckDB %v", table.Name, dialect, n, ok, total)
			}
		}
	}
	if len(rep.Tables) != len(read) || len(rep.SparkDDL) != len(read) || len(rep.AthenaDDL) != len(read) {
		t.Errorf("Spark read %d tables, ran DDL for %d (spark) and %d (athena); the lake has %d: %v", len(rep.Tables), len(rep.SparkDDL), len(rep.AthenaDDL), len(read), read)
	}

	// The views of --dialect=spark count the rows DuckDB's views count.
	code, duckDDL, errs := vendorlake(t, "ddl", "--dialect=duckdb", "--output="+lake)
	if code != 0 {
		t.Fatalf("ddl --dialect=duckdb: exit %d: %s", code, errs)
	}
	for _, v := range registry.Views() {
		if _, err := os.Stat(filepath.Join(lake, "id5_mapping_base")); v.Name == "id5_mapping_current" && err != nil {
			continue // no ID5 in this lake
		}
		want := duckdb(t, duckDDL+"\nSELECT count(*) AS n FROM \""+v.Name+"\"")[0]["n"]
		if n, ok := rep.SparkViews[v.Name]; !ok || n != num(want) || n == 0 {
			t.Errorf("view %s through --dialect=spark DDL: %d rows (declared: %v), DuckDB %v", v.Name, n, ok, want)
		}
	}

	purposes := duckdb(t, fmt.Sprintf("SELECT count(*) AS n FROM read_parquet('%s/didomi_users/**/*.parquet'), unnest(consents.purposes)", lake))[0]["n"]
	if rep.ExplodePurposes == 0 || rep.ExplodePurposes != num(purposes) {
		t.Errorf("explode(consents.purposes): Spark %d rows, DuckDB %v", rep.ExplodePurposes, purposes)
	}
	keys := duckdb(t, fmt.Sprintf("SELECT sum(len(map_keys(query_params))) AS n FROM read_parquet('%s/audiencestudio_portability_events/**/*.parquet')", lake))[0]["n"]
	if rep.MapKeys == 0 || rep.MapKeys != num(keys) {
		t.Errorf("map_keys(query_params): Spark %d keys, DuckDB %v", rep.MapKeys, keys)
	}
}
