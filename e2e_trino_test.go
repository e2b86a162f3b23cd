package main

// Trino reads the lake: Trino 476 (the engine behind Athena engine v3),
// started by scripts/trino.sh with a Hive catalog over a file metastore,
// partition projection on, and the lake on the local disk. On the demo lake
// (every pipeline's samples: rejects, proofs, nested columns) it runs
//   - the Athena DDL (vendorlake ddl --dialect=athena), projection included,
//     translated statement by statement into what Athena's Glue catalog
//     would hold (translateAthena: the same columns, types and projection
//     properties, file:// as local://, ADD PARTITION as register_partition);
//   - the Trino DDL (--dialect=trino) as it is, through the Trino CLI;
// and checks, for every table in both schemas, that SELECT * LIMIT 10 and
// count(*) work without a filter, and that every row equals DuckDB's
// reading of the same files (through the --dialect=duckdb views): each
// engine renders each row as one canonical text (canonSQL: nested columns
// included, maps with sorted entries, timestamps in UTC to the microsecond) and
// Go compares the two multisets.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/pipelines/id5"
	"github.com/vendorlake/vendorlake/pipelines/registry"
)

// trinoServer returns the URL of the Trino that scripts/trino.sh started,
// or skips (fails when VENDORLAKE_REQUIRE_TRINO is set).
func trinoServer(t *testing.T) string {
	t.Helper()
	return serviceEnv(t, "VENDORLAKE_TRINO_SERVER", "VENDORLAKE_REQUIRE_TRINO", "scripts/test.sh starts Trino (or: source scripts/trino.sh; trino_start)")
}

// trinoQuery runs one statement through Trino's client REST protocol
// (POST /v1/statement, then follow nextUri) in catalog hive and schema,
// with the session in UTC, and returns its rows.
func trinoQuery(server, schema, sql string) ([][]any, error) {
	req, err := http.NewRequest("POST", server+"/v1/statement", strings.NewReader(sql))
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Trino-User", "vendorlake")
	req.Header.Set("X-Trino-Catalog", "hive")
	req.Header.Set("X-Trino-Time-Zone", "UTC")
	if schema != "" {
		req.Header.Set("X-Trino-Schema", schema)
	}
	client := &http.Client{Timeout: 2 * time.Minute}
	var rows [][]any
	for {
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		if resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("trino: HTTP %d: %s", resp.StatusCode, body)
		}
		var r struct {
			NextURI string  `json:"nextUri"`
			Data    [][]any `json:"data"`
			Error   *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(body, &r); err != nil {
			return nil, fmt.Errorf("trino: %w: %s", err, body)
		}
		if r.Error != nil {
			return nil, fmt.Errorf("trino: %s", r.Error.Message)
		}
		rows = append(rows, r.Data...)
		if r.NextURI == "" {
			return rows, nil
		}
		if req, err = http.NewRequest("GET", r.NextURI, nil); err != nil {
			return nil, err
		}
		req.Header.Set("X-Trino-User", "vendorlake")
	}
}

// sqlStatements splits a DDL script into its statements, without comments.
func sqlStatements(script string) []string {
	var lines []string
	for _, l := range strings.Split(script, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			lines = append(lines, l)
		}
	}
	var out []string
	for _, s := range strings.Split(strings.Join(lines, "\n"), ";\n") {
		if s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), ";")); s != "" {
			out = append(out, s)
		}
	}
	return out
}

var (
	athenaCreate   = regexp.MustCompile("(?s)^CREATE EXTERNAL TABLE IF NOT EXISTS `(\\w+)`\\.`(\\w+)` \\(\\n(.*)\\n\\)\\n(?:PARTITIONED BY \\((.*)\\)\\n)?STORED AS PARQUET\\nLOCATION '([^']*)'\\nTBLPROPERTIES \\(\\n(.*)\\n\\)$")
	athenaColumn   = regexp.MustCompile("^`(\\w+)` (.+)$")
	athenaProp     = regexp.MustCompile(`^'([^']*)'='([^']*)'$`)
	athenaAdd      = regexp.MustCompile("(?s)^ALTER TABLE `(\\w+)`\\.`(\\w+)` ADD IF NOT EXISTS\\n(.*)$")
	athenaPart     = regexp.MustCompile("^PARTITION \\((.*)\\) LOCATION '([^']*)'$")
	athenaPartSpec = regexp.MustCompile("`(\\w+)`=('((?:[^'\\\\]|\\\\.)*)'|\\d+)")
	hiveTypeToken  = regexp.MustCompile("`[^`]*`|[a-z]+|[<>,:]")
)

// hiveToTrino translates a Hive type (as Athena's DDL writes it) into
// Trino's spelling, one to one.
func hiveToTrino(hive string) (string, error) {
	toks := hiveTypeToken.FindAllString(hive, -1)
	var out strings.Builder
	for i, tok := range toks {
		switch tok {
		case "string":
			out.WriteString("varchar")
		case "int":
			out.WriteString("integer")
		case "float":
			out.WriteString("real")
		case "binary":
			out.WriteString("varbinary")
		case "timestamp":
			out.WriteString("timestamp(6)")
		case "bigint", "smallint", "double", "boolean", "date":
			out.WriteString(tok)
		case "array", "map":
			out.WriteString(tok)
		case "struct":
			out.WriteString("row")
		case "<":
			out.WriteString("(")
		case ">":
			out.WriteString(")")
		case ",":
			out.WriteString(", ")
		case ":":
			out.WriteString(" ")
		default:
			if !strings.HasPrefix(tok, "`") || i+1 >= len(toks) || toks[i+1] != ":" {
				return "", fmt.Errorf("hive type %q: unexpected %q", hive, tok)
			}
			out.WriteString(`"` + strings.Trim(tok, "`") + `"`)
		}
	}
	return out.String(), nil
}

// translateAthena turns the statements of an Athena DDL script into the
// Trino statements that declare the same tables in schema: what Athena's
// CREATE EXTERNAL TABLE stores in Glue (columns, partition columns, table
// parameters projection.*) is what Trino's CREATE TABLE with its
// partition_projection_* properties stores in the metastore; a registered
// partition becomes a register_partition call. ALTER TABLE SET
// TBLPROPERTIES repeats what CREATE declared, for tables made by older
// versions, and is skipped.
func translateAthena(script, schema string) ([]string, error) {
	local := func(loc string) string { return strings.Replace(loc, "file://", "local://", 1) }
	var out []string
	for _, stmt := range sqlStatements(script) {
		switch {
		case strings.HasPrefix(stmt, "ALTER TABLE") && strings.Contains(stmt, "SET TBLPROPERTIES"):
			continue
		case strings.HasPrefix(stmt, "CREATE OR REPLACE VIEW "):
			out = append(out, stmt) // Athena's views are Trino SQL already
		case athenaAdd.MatchString(stmt):
			m := athenaAdd.FindStringSubmatch(stmt)
			for _, line := range strings.Split(strings.TrimSpace(m[3]), "\n") {
				p := athenaPart.FindStringSubmatch(strings.TrimSpace(line))
				if p == nil {
					return nil, fmt.Errorf("unexpected partition %q", line)
				}
				var keys, values []string
				for _, kv := range athenaPartSpec.FindAllStringSubmatch(p[1], -1) {
					v := kv[2]
					if strings.HasPrefix(v, "'") {
						v = strings.NewReplacer(`\'`, `'`, `\\`, `\`).Replace(kv[3])
					}
					keys = append(keys, "'"+kv[1]+"'")
					values = append(values, "'"+strings.ReplaceAll(v, "'", "''")+"'")
				}
				out = append(out, fmt.Sprintf("CALL system.register_partition('%s', '%s', ARRAY[%s], ARRAY[%s], '%s')",
					schema, m[2], strings.Join(keys, ", "), strings.Join(values, ", "), local(p[2])))
			}
		case athenaCreate.MatchString(stmt):
			m := athenaCreate.FindStringSubmatch(stmt)
			props := map[string]string{}
			for _, line := range strings.Split(m[6], "\n") {
				p := athenaProp.FindStringSubmatch(strings.TrimSuffix(strings.TrimSpace(line), ","))
				if p == nil {
					return nil, fmt.Errorf("unexpected property %q", line)
				}
				props[p[1]] = p[2]
			}
			var cols []string
			for _, line := range strings.Split(m[3], "\n") {
				c := athenaColumn.FindStringSubmatch(strings.TrimSuffix(strings.TrimSpace(line), ","))
				if c == nil {
					return nil, fmt.Errorf("unexpected column %q", line)
				}
				ty, err := hiveToTrino(c[2])
				if err != nil {
					return nil, err
				}
				cols = append(cols, fmt.Sprintf("%q %s", c[1], ty))
			}
			var keys []string
			if m[4] != "" {
				for _, p := range strings.Split(m[4], ", ") {
					c := athenaColumn.FindStringSubmatch(p)
					ty, err := hiveToTrino(c[2])
					if err != nil {
						return nil, err
					}
					keys = append(keys, "'"+c[1]+"'")
					col := fmt.Sprintf("%q %s", c[1], ty)
					var cp []string
					pre := "projection." + c[1] + "."
					list := func(v string) string { return "ARRAY['" + strings.Join(strings.Split(v, ","), "', '") + "']" }
					for _, k := range []string{"type", "values", "range", "format", "interval", "interval.unit"} {
						v, ok := props[pre+k]
						if !ok {
							continue
						}
						switch k {
						case "values", "range":
							v = list(v)
						case "interval":
						default:
							v = "'" + v + "'"
						}
						cp = append(cp, "partition_projection_"+strings.ReplaceAll(k, ".", "_")+" = "+v)
					}
					if len(cp) > 0 {
						col += " WITH (" + strings.Join(cp, ", ") + ")"
					}
					cols = append(cols, col)
				}
			}
			with := []string{"external_location = '" + local(m[5]) + "'", "format = 'PARQUET'"}
			if len(keys) > 0 {
				with = append(with, "partitioned_by = ARRAY["+strings.Join(keys, ", ")+"]")
			}
			if props["projection.enabled"] == "true" {
				with = append(with, "partition_projection_enabled = true",
					"partition_projection_location_template = '"+local(props["storage.location.template"])+"'")
			}
			out = append(out, fmt.Sprintf("CREATE TABLE %q.%q (\n  %s\n) WITH (\n  %s\n)", schema, m[2], strings.Join(cols, ",\n  "), strings.Join(with, ",\n  ")))
		default:
			return nil, fmt.Errorf("a statement the translation does not know:\n%s", stmt)
		}
	}
	return out, nil
}

// canonSQL renders expr, a value of type ty, as one text that DuckDB
// (duck) and Trino (!duck) spell the same: null as ∅, timestamps as UTC
// wall-clock text to the microsecond, lists in order, maps as their entries sorted, structs field
// by field.
func canonSQL(expr string, ty arrow.DataType, duck bool) string {
	const null = "'∅'"
	var inner string
	switch tt := ty.(type) {
	case *arrow.TimestampType:
		// Trino: timestamp(6), the UTC wall clock; DuckDB: TIMESTAMPTZ.
		inner = fmt.Sprintf("CAST(%s AS VARCHAR)", expr)
		if duck {
			inner = fmt.Sprintf("strftime(timezone('UTC', %s), '%%Y-%%m-%%d %%H:%%M:%%S.%%f')", expr)
		}
	case *arrow.Float64Type, *arrow.Float32Type:
		inner = fmt.Sprintf("format('%%.9e', %s)", expr)
		if duck {
			inner = fmt.Sprintf("printf('%%.9e', %s)", expr)
		}
	case *arrow.BinaryType:
		inner = fmt.Sprintf("lower(to_hex(%s))", expr)
		if duck {
			inner = fmt.Sprintf("lower(hex(%s))", expr)
		}
	case *arrow.ListType:
		e := canonSQL("e", tt.Elem(), duck)
		inner = fmt.Sprintf("'[' || array_join(transform(%s, e -> %s), ',') || ']'", expr, e)
		if duck {
			inner = fmt.Sprintf("'[' || array_to_string(list_transform(%s, e -> %s), ',') || ']'", expr, e)
		}
	case *arrow.MapType:
		if duck {
			inner = fmt.Sprintf("'{' || array_to_string(list_sort(list_transform(map_entries(%s), e -> %s || ':' || %s)), ',') || '}'",
				expr, canonSQL("e.key", tt.KeyType(), duck), canonSQL("e.value", tt.ItemType(), duck))
		} else {
			inner = fmt.Sprintf("'{' || array_join(array_sort(transform(map_entries(%s), e -> %s || ':' || %s)), ',') || '}'",
				expr, canonSQL("e[1]", tt.KeyType(), duck), canonSQL("e[2]", tt.ItemType(), duck))
		}
	case *arrow.StructType:
		var parts []string
		for _, f := range tt.Fields() {
			parts = append(parts, canonSQL(fmt.Sprintf("%s.%q", expr, f.Name), f.Type, duck))
		}
		inner = "'(' || " + strings.Join(parts, " || ',' || ") + " || ')'"
		return fmt.Sprintf("CASE WHEN %s IS NULL THEN %s ELSE %s END", expr, null, inner)
	default:
		inner = fmt.Sprintf("CAST(%s AS VARCHAR)", expr)
	}
	return fmt.Sprintf("coalesce(%s, %s)", inner, null)
}

// canonRows is the query that renders every row of table (its columns,
// then its partition columns) as one canonical text r.
func canonRows(table hiveparquet.Table, from string, duck bool) string {
	var parts []string
	for _, f := range table.Schema.Fields() {
		parts = append(parts, canonSQL(fmt.Sprintf("%q", f.Name), f.Type, duck))
	}
	for _, p := range table.Partitions {
		parts = append(parts, fmt.Sprintf("coalesce(CAST(%q AS VARCHAR), '∅')", p.Name))
	}
	return fmt.Sprintf("SELECT %s AS r FROM %s", strings.Join(parts, " || '|' || "), from)
}

// sameRows compares two multisets of row texts and describes the first
// differences.
func sameRows(a, b []string) string {
	sort.Strings(a)
	sort.Strings(b)
	if strings.Join(a, "\n") == strings.Join(b, "\n") {
		return ""
	}
	count := map[string]int{}
	for _, r := range a {
		count[r]++
	}
	for _, r := range b {
		count[r]--
	}
	var diff []string
	for r, n := range count {
		if n != 0 && len(diff) < 3 {
			diff = append(diff, fmt.Sprintf("%+d × %s", n, r))
		}
	}
	sort.Strings(diff)
	return fmt.Sprintf("%d rows against %d; e.g. (+ only in the first, − only in the second)\n%s", len(a), len(b), strings.Join(diff, "\n"))
}

func TestTrinoReadsTheLake(t *testing.T) {
	server := trinoServer(t)
	lake := demoLake(t)
	ddl := func(dialect string, args ...string) string {
		code, out, errs := vendorlake(t, append([]string{"ddl", "--dialect=" + dialect, "--output=" + lake}, args...)...)
		if code != 0 {
			t.Fatalf("ddl --dialect=%s: exit %d: %s", dialect, code, errs)
		}
		return out
	}
	run := time.Now().UTC().Format("150405")
	athenaSchema, trinoSchema := "athena_"+run, "trino_"+run
	for _, s := range []string{athenaSchema, trinoSchema} {
		if _, err := trinoQuery(server, "", "CREATE SCHEMA "+s); err != nil {
			t.Fatal(err)
		}
	}

	// The Athena DDL, projection included.
	stmts, err := translateAthena(ddl("athena", "--database="+athenaSchema), athenaSchema)
	if err != nil {
		t.Fatalf("translate the Athena DDL: %v", err)
	}
	for _, s := range stmts {
		if _, err := trinoQuery(server, athenaSchema, s); err != nil {
			t.Fatalf("Athena DDL in Trino: %v\n%s", err, s)
		}
	}

	// The Trino DDL as a user runs it: the Trino CLI reads the file.
	trinoFile := filepath.Join(t.TempDir(), "trino.sql")
	if err := os.WriteFile(trinoFile, []byte(ddl("trino")), 0o644); err != nil {
		t.Fatal(err)
	}
	cli := exec.Command(os.Getenv("VENDORLAKE_TRINO_JAVA"), "-jar", os.Getenv("VENDORLAKE_TRINO_CLI"),
		"--server="+server, "--catalog=hive", "--schema="+trinoSchema, "--file="+trinoFile)
	var cliErr bytes.Buffer
	cli.Stderr = &cliErr
	if out, err := cli.Output(); err != nil {
		t.Fatalf("trino --file=%s: %v\n%s\n%s", trinoFile, err, out, cliErr.String())
	}

	duckDDL := ddl("duckdb")
	var tables int
	for _, table := range lakeTables() {
		if _, err := os.Stat(filepath.Join(lake, table.Name)); err != nil {
			continue // a table the samples do not produce
		}
		tables++
		var want []string
		for _, r := range duckdb(t, duckDDL+"\n"+canonRows(table, fmt.Sprintf("%q", table.Name), true)) {
			want = append(want, fmt.Sprint(r["r"]))
		}
		if len(want) == 0 {
			t.Errorf("%s: DuckDB reads no rows", table.Name)
		}
		for _, schema := range []string{athenaSchema, trinoSchema} {
			name := schema + "." + table.Name
			if rows, err := trinoQuery(server, schema, "SELECT * FROM "+table.Name+" LIMIT 10"); err != nil || len(rows) == 0 {
				t.Errorf("%s: SELECT * LIMIT 10: %d rows, %v", name, len(rows), err)
				continue
			}
			count, err := trinoQuery(server, schema, "SELECT count(*) FROM "+table.Name)
			if err != nil || len(count) != 1 || fmt.Sprint(count[0][0]) != fmt.Sprint(len(want)) {
				t.Errorf("%s: count(*) = %v (%v), DuckDB %d", name, count, err, len(want))
			}
			rows, err := trinoQuery(server, schema, canonRows(table, table.Name, false))
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			var got []string
			for _, r := range rows {
				got = append(got, fmt.Sprint(r[0]))
			}
			if d := sameRows(got, want); d != "" {
				t.Errorf("%s: Trino's rows differ from DuckDB's: %s", name, d)
			}
		}
	}
	// The views (ID5's id5_mapping_current over its base and updates), with
	// the columns of the table they stand for.
	for _, v := range registry.Views() {
		var like hiveparquet.Table
		for _, table := range lakeTables() {
			if table.Name == id5.BaseTable && v.Name == id5.CurrentTable {
				like = table
			}
		}
		if like.Schema == nil {
			t.Errorf("view %s: no table to take its columns from", v.Name)
			continue
		}
		like.Name = v.Name
		var want []string
		for _, r := range duckdb(t, duckDDL+"\n"+canonRows(like, fmt.Sprintf("%q", v.Name), true)) {
			want = append(want, fmt.Sprint(r["r"]))
		}
		for _, schema := range []string{athenaSchema, trinoSchema} {
			rows, err := trinoQuery(server, schema, canonRows(like, v.Name, false))
			if err != nil {
				t.Errorf("view %s.%s: %v", schema, v.Name, err)
				continue
			}
			var got []string
			for _, r := range rows {
				got = append(got, fmt.Sprint(r[0]))
			}
			if len(want) == 0 {
				t.Errorf("view %s: DuckDB reads no rows", v.Name)
			}
			if d := sameRows(got, want); d != "" {
				t.Errorf("view %s.%s: Trino's rows differ from DuckDB's: %s", schema, v.Name, d)
			}
		}
	}
	if tables < 10 {
		t.Errorf("the demo lake has %d tables, want every pipeline's", tables)
	}
}
