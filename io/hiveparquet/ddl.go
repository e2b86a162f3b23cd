package hiveparquet

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/vendorlake/vendorlake/io/lakefs"
)

// Dialects that DDL understands.
const (
	Athena = "athena"
	Spark  = "spark"
	DuckDB = "duckdb"
	// Markdown documents the tables (the README's table reference).
	Markdown = "markdown"
)

// DDLOptions configure DDL.
type DDLOptions struct {
	// Dialect is athena, spark or duckdb.
	Dialect string
	// Location is the lake root (the pipelines' --output).
	Location string
	// Database qualifies the table names when set (Athena, Spark).
	Database string
	// DateRangeStart is the first date of Athena date projections
	// (default 2015-01-01; the range ends at NOW).
	DateRangeStart string
}

// DDL returns the statements that declare tables over a lake, derived from
// the same Arrow schemas the writers use, so they never drift: CREATE
// EXTERNAL TABLE with partition projection for Athena, CREATE TABLE USING
// parquet plus MSCK REPAIR TABLE for Spark, views over read_parquet with
// hive_partitioning for DuckDB.
func DDL(tables []Table, o DDLOptions) (string, error) {
	if o.Location == "" && o.Dialect != Markdown {
		return "", fmt.Errorf("ddl: the lake location (--output) is required")
	}
	if o.DateRangeStart == "" {
		o.DateRangeStart = "2015-01-01"
	}
	var b strings.Builder
	for _, t := range tables {
		var err error
		switch o.Dialect {
		case Athena:
			err = athenaDDL(&b, t, o)
		case Spark:
			err = sparkDDL(&b, t, o)
		case DuckDB:
			err = duckDBDDL(&b, t, o)
		case Markdown:
			err = markdownDoc(&b, t)
		default:
			return "", fmt.Errorf("ddl: unknown dialect %q (want athena, spark, duckdb or markdown)", o.Dialect)
		}
		if err != nil {
			return "", fmt.Errorf("ddl for %s: %w", t.Name, err)
		}
		b.WriteString("\n")
	}
	return b.String(), nil
}

// TablesWithData returns those of tables that hold at least one Parquet
// file below root (the lake the pipelines write to), in their order: a
// table folder that is missing, or holds only _SUCCESS or files below
// hidden folders ("_…", "."…, which Spark and Hive skip too), has no data.
// It lists every table folder; an error means the lake could not be listed.
func TablesWithData(ctx context.Context, fsys lakefs.FS, root string, tables []Table) ([]Table, error) {
	var out []Table
	for _, t := range tables {
		dir := lakefs.Join(root, t.Name)
		files, err := fsys.List(ctx, dir)
		if err != nil {
			return nil, fmt.Errorf("list table %s: %w", dir, err)
		}
		for _, f := range files {
			if rel, ok := lakefs.Rel(dir, f.Path); ok && dataFile(rel) {
				out = append(out, t)
				break
			}
		}
	}
	return out, nil
}

// dataFile reports whether rel, a path inside a table folder, is a Parquet
// data file that query engines read.
func dataFile(rel string) bool {
	if !strings.HasSuffix(rel, ".parquet") {
		return false
	}
	for _, part := range strings.Split(rel, "/") {
		if strings.HasPrefix(part, "_") || strings.HasPrefix(part, ".") {
			return false
		}
	}
	return true
}

func location(o DDLOptions, t Table) string {
	loc := strings.TrimSuffix(o.Location, "/") + "/" + t.Name
	if !strings.Contains(loc, "://") && o.Dialect != DuckDB {
		loc = "file://" + loc
	}
	return loc
}

func qualified(o DDLOptions, name string) string {
	if o.Database != "" {
		return "`" + o.Database + "`.`" + name + "`"
	}
	return "`" + name + "`"
}

// HiveType is the Hive/Athena/Spark SQL type of an Arrow type.
func HiveType(t arrow.DataType) (string, error) {
	switch tt := t.(type) {
	case *arrow.StringType, *arrow.LargeStringType:
		return "string", nil
	case *arrow.BinaryType:
		return "binary", nil
	case *arrow.Int64Type:
		return "bigint", nil
	case *arrow.Int32Type:
		return "int", nil
	case *arrow.Int16Type:
		return "smallint", nil
	case *arrow.Float64Type:
		return "double", nil
	case *arrow.Float32Type:
		return "float", nil
	case *arrow.BooleanType:
		return "boolean", nil
	case *arrow.TimestampType:
		return "timestamp", nil
	case *arrow.Date32Type:
		return "date", nil
	case *arrow.ListType:
		e, err := HiveType(tt.Elem())
		return "array<" + e + ">", err
	case *arrow.MapType:
		k, err := HiveType(tt.KeyType())
		if err != nil {
			return "", err
		}
		v, err := HiveType(tt.ItemType())
		return "map<" + k + "," + v + ">", err
	case *arrow.StructType:
		parts := make([]string, 0, tt.NumFields())
		for _, f := range tt.Fields() {
			ft, err := HiveType(f.Type)
			if err != nil {
				return "", err
			}
			parts = append(parts, "`"+f.Name+"`:"+ft)
		}
		return "struct<" + strings.Join(parts, ",") + ">", nil
	}
	return "", fmt.Errorf("no SQL type for Arrow type %s", t)
}

// DuckDBType is the DuckDB type name of an Arrow type, as DESCRIBE prints it.
func DuckDBType(t arrow.DataType) (string, error) {
	switch tt := t.(type) {
	case *arrow.StringType, *arrow.LargeStringType:
		return "VARCHAR", nil
	case *arrow.BinaryType:
		return "BLOB", nil
	case *arrow.Int64Type:
		return "BIGINT", nil
	case *arrow.Int32Type:
		return "INTEGER", nil
	case *arrow.Int16Type:
		return "SMALLINT", nil
	case *arrow.Float64Type:
		return "DOUBLE", nil
	case *arrow.Float32Type:
		return "FLOAT", nil
	case *arrow.BooleanType:
		return "BOOLEAN", nil
	case *arrow.TimestampType:
		if tt.TimeZone != "" {
			return "TIMESTAMP WITH TIME ZONE", nil
		}
		return "TIMESTAMP", nil
	case *arrow.Date32Type:
		return "DATE", nil
	case *arrow.ListType:
		e, err := DuckDBType(tt.Elem())
		return e + "[]", err
	case *arrow.MapType:
		k, err := DuckDBType(tt.KeyType())
		if err != nil {
			return "", err
		}
		v, err := DuckDBType(tt.ItemType())
		return "MAP(" + k + ", " + v + ")", err
	case *arrow.StructType:
		parts := make([]string, 0, tt.NumFields())
		for _, f := range tt.Fields() {
			ft, err := DuckDBType(f.Type)
			if err != nil {
				return "", err
			}
			parts = append(parts, duckIdent(f.Name)+" "+ft)
		}
		return "STRUCT(" + strings.Join(parts, ", ") + ")", nil
	}
	return "", fmt.Errorf("no DuckDB type for Arrow type %s", t)
}

// duckIdent quotes a struct field name the way DuckDB prints it.
func duckIdent(name string) string {
	switch strings.ToLower(name) {
	case "values", "name", "key", "value", "order", "group", "date", "time", "user":
		return `"` + name + `"`
	}
	return name
}

func partitionHiveType(p PartitionColumn) string {
	switch p.Type {
	case "int":
		return "int"
	case "date":
		return "date"
	}
	return "string"
}

func columns(b *strings.Builder, t Table, extra []string) error {
	b.WriteString("(\n")
	n := len(t.Schema.Fields())
	for i, f := range t.Schema.Fields() {
		ty, err := HiveType(f.Type)
		if err != nil {
			return err
		}
		sep := ","
		if i == n-1 && len(extra) == 0 {
			sep = ""
		}
		fmt.Fprintf(b, "  `%s` %s%s\n", f.Name, ty, sep)
	}
	for i, e := range extra {
		sep := ","
		if i == len(extra)-1 {
			sep = ""
		}
		fmt.Fprintf(b, "  %s%s\n", e, sep)
	}
	b.WriteString(")\n")
	return nil
}

func athenaDDL(b *strings.Builder, t Table, o DDLOptions) error {
	fmt.Fprintf(b, "-- %s\nCREATE EXTERNAL TABLE IF NOT EXISTS %s ", t.Doc, qualified(o, t.Name))
	if err := columns(b, t, nil); err != nil {
		return err
	}
	if len(t.Partitions) > 0 {
		var parts []string
		for _, p := range t.Partitions {
			ty := partitionHiveType(p)
			if p.Type == "date" {
				ty = "string" // date projection works on the folder text
			}
			parts = append(parts, fmt.Sprintf("`%s` %s", p.Name, ty))
		}
		fmt.Fprintf(b, "PARTITIONED BY (%s)\n", strings.Join(parts, ", "))
	}
	fmt.Fprintf(b, "STORED AS PARQUET\nLOCATION '%s/'\n", location(o, t))
	props := [][2]string{{"parquet.compression", "ZSTD"}}
	if len(t.Partitions) > 0 {
		props = append(props, [2]string{"projection.enabled", "true"})
		tmpl := location(o, t)
		for _, p := range t.Partitions {
			tmpl += "/" + p.Name + "=${" + p.Name + "}"
			key := "projection." + p.Name
			switch p.Type {
			case "date":
				props = append(props,
					[2]string{key + ".type", "date"},
					[2]string{key + ".format", "yyyy-MM-dd"},
					[2]string{key + ".range", o.DateRangeStart + ",NOW"},
					[2]string{key + ".interval", "1"},
					[2]string{key + ".interval.unit", "DAYS"})
			case "int":
				props = append(props,
					[2]string{key + ".type", "integer"},
					[2]string{key + ".range", "1,100000"})
			default:
				// Ids (export_id, request_id...): any value, given in the
				// query's WHERE clause.
				props = append(props, [2]string{key + ".type", "injected"})
			}
		}
		props = append(props, [2]string{"storage.location.template", tmpl + "/"})
	}
	b.WriteString("TBLPROPERTIES (\n")
	for i, p := range props {
		sep := ","
		if i == len(props)-1 {
			sep = ""
		}
		fmt.Fprintf(b, "  '%s'='%s'%s\n", p[0], p[1], sep)
	}
	b.WriteString(");\n")
	return nil
}

func sparkDDL(b *strings.Builder, t Table, o DDLOptions) error {
	fmt.Fprintf(b, "-- %s\nCREATE TABLE IF NOT EXISTS %s ", t.Doc, qualified(o, t.Name))
	var extra, names []string
	for _, p := range t.Partitions {
		extra = append(extra, fmt.Sprintf("`%s` %s", p.Name, partitionHiveType(p)))
		names = append(names, "`"+p.Name+"`")
	}
	if err := columns(b, t, extra); err != nil {
		return err
	}
	b.WriteString("USING parquet\n")
	if len(names) > 0 {
		fmt.Fprintf(b, "PARTITIONED BY (%s)\n", strings.Join(names, ", "))
	}
	fmt.Fprintf(b, "LOCATION '%s';\n", location(o, t))
	if len(names) > 0 {
		fmt.Fprintf(b, "MSCK REPAIR TABLE %s;\n", qualified(o, t.Name))
	}
	return nil
}

func duckDBDDL(b *strings.Builder, t Table, o DDLOptions) error {
	var hive []string
	for _, p := range t.Partitions {
		ty := "VARCHAR"
		switch p.Type {
		case "date":
			ty = "DATE"
		case "int":
			ty = "INTEGER"
		}
		hive = append(hive, fmt.Sprintf("'%s': %s", p.Name, ty))
	}
	sort.Strings(hive)
	fmt.Fprintf(b, "-- %s\nCREATE OR REPLACE VIEW \"%s\" AS SELECT * FROM read_parquet('%s/**/*.parquet', hive_partitioning = true, hive_types = {%s}, union_by_name = true);\n",
		t.Doc, t.Name, location(o, t), strings.Join(hive, ", "))
	return nil
}

func markdownDoc(b *strings.Builder, t Table) error {
	var parts []string
	for _, p := range t.Partitions {
		parts = append(parts, "`"+p.Name+"` ("+p.Type+")")
	}
	fmt.Fprintf(b, "**`%s`** — %s Partitioned by %s; %s mode.\n\n| column | type |\n|---|---|\n", t.Name, t.Doc, strings.Join(parts, ", "), t.Mode)
	for _, f := range t.Schema.Fields() {
		ty, err := HiveType(f.Type)
		if err != nil {
			return err
		}
		fmt.Fprintf(b, "| `%s` | `%s` |\n", f.Name, strings.ReplaceAll(ty, "`", ""))
	}
	return nil
}
