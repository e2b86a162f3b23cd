package hiveparquet

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/vendorlake/vendorlake/io/lakefs"
)

// Dialects that DDL understands.
const (
	Athena = "athena"
	Spark  = "spark"
	Trino  = "trino"
	DuckDB = "duckdb"
	// Markdown documents the tables (the README's table reference).
	Markdown = "markdown"
)

// DDLOptions configure DDL.
type DDLOptions struct {
	// Dialect is athena, spark, trino, duckdb or markdown.
	Dialect string
	// Location is the lake root (the pipelines' --output). A local path
	// becomes absolute (file:// for Athena and Spark, local:// for Trino).
	Location string
	// Database qualifies the table names when set (Athena, Spark, Trino).
	Database string
	// DateRangeStart is the first date of Athena date projections; empty
	// means the earliest date found in the lake (2015-01-01 when Found does
	// not know). A date found before it moves it back: a projection never
	// hides data. The range ends at NOW.
	DateRangeStart string
	// Found maps a table's name to the partitions that hold its data, as
	// ScanLake returns them. nil means the lake was not listed (tables
	// declared before their first run): Athena then projects only tables
	// whose partition columns are all dates, and the script says when to
	// run ddl again.
	Found map[string][][]string
}

// DDL returns the statements that declare tables over a lake, derived from
// the same Arrow schemas the writers use, so they never drift: CREATE
// EXTERNAL TABLE for Athena (partition projection where every partition
// column is a date or has few values known from the lake, registered
// partitions otherwise: see athenaDDL), CREATE TABLE USING parquet plus MSCK
// REPAIR TABLE for Spark, CREATE TABLE WITH external_location plus
// sync_partition_metadata for Trino's Hive connector, views over
// read_parquet with hive_partitioning for DuckDB.
func DDL(tables []Table, o DDLOptions) (string, error) {
	if o.Location == "" && o.Dialect != Markdown {
		return "", fmt.Errorf("ddl: the lake location (--output) is required")
	}
	if o.Location != "" && !strings.Contains(o.Location, "://") {
		abs, err := filepath.Abs(o.Location)
		if err != nil {
			return "", fmt.Errorf("ddl: the lake location %s: %w", o.Location, err)
		}
		o.Location = filepath.ToSlash(abs)
	}
	tables = Queryable(tables)
	var b strings.Builder
	if o.Dialect == Trino && len(tables) > 0 {
		trinoHeader(&b, o)
	}
	for _, t := range tables {
		var err error
		switch o.Dialect {
		case Athena:
			err = athenaDDL(&b, t, o)
		case Spark:
			err = sparkDDL(&b, t, o)
		case Trino:
			err = trinoDDL(&b, t, o)
		case DuckDB:
			err = duckDBDDL(&b, t, o)
		case Markdown:
			err = markdownDoc(&b, t)
		default:
			return "", fmt.Errorf("ddl: unknown dialect %q (want athena, spark, trino, duckdb or markdown)", o.Dialect)
		}
		if err != nil {
			return "", fmt.Errorf("ddl for %s: %w", t.Name, err)
		}
		b.WriteString("\n")
	}
	return b.String(), nil
}

// Queryable returns the tables of tables that engines declare, in order:
// all but the tables of raw files (Files mode, Didomi's proof files), which
// are committed like tables but are not Parquet.
func Queryable(tables []Table) []Table {
	return slices.DeleteFunc(slices.Clone(tables), func(t Table) bool { return t.Mode == Files })
}

// ScanLake lists the table folders below root (the lake the pipelines
// write to) and returns those of tables that hold at least one Parquet data
// file, in their order, and for each the partitions that hold one: the
// partition values (unescaped, in the table's partition column order) of
// every such folder, distinct and sorted. A table folder that is missing, or
// holds only _SUCCESS or files below hidden folders ("_…", "."…, which
// Spark and Hive skip too), has no data; a data file in a folder that is
// not the table's partition layout counts as data but names no partition.
// It lists every table folder; an error means the lake could not be listed.
func ScanLake(ctx context.Context, fsys lakefs.FS, root string, tables []Table) ([]Table, map[string][][]string, error) {
	var out []Table
	found := map[string][][]string{}
	for _, t := range tables {
		dir := lakefs.Join(root, t.Name)
		files, err := fsys.List(ctx, dir)
		if err != nil {
			return nil, nil, fmt.Errorf("list table %s: %w", dir, err)
		}
		seen := map[string]bool{}
		has := false
		var parts [][]string
		for _, f := range files {
			rel, ok := lakefs.Rel(dir, f.Path)
			if !ok || !dataFile(rel) {
				continue
			}
			has = true
			folder := path.Dir(rel)
			if len(t.Partitions) == 0 || seen[folder] {
				continue
			}
			seen[folder] = true
			if values, ok := partitionValues(t, folder); ok {
				parts = append(parts, values)
			}
		}
		if !has {
			continue
		}
		sort.Slice(parts, func(i, j int) bool { return strings.Join(parts[i], "\x00") < strings.Join(parts[j], "\x00") })
		out = append(out, t)
		found[t.Name] = parts
	}
	return out, found, nil
}

// partitionValues returns the partition values of folder (relative to the
// table) when it is exactly the table's partition layout.
func partitionValues(t Table, folder string) ([]string, bool) {
	keys, values, err := ParsePartitionPath(folder)
	if err != nil || len(keys) != len(t.Partitions) {
		return nil, false
	}
	for i, k := range keys {
		if k != t.Partitions[i].Name {
			return nil, false
		}
	}
	return values, true
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

// location is the absolute URI of table t's folder in dialect o.Dialect.
func location(o DDLOptions, t Table) string {
	loc := strings.TrimSuffix(o.Location, "/") + "/" + t.Name
	if !strings.Contains(loc, "://") {
		switch o.Dialect {
		case Trino:
			loc = "local://" + loc // Trino's native local file system
		case DuckDB:
		default:
			loc = "file://" + loc
		}
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

// AfterNewPartitions says, for the README, what each engine's user runs
// after new partitions of t arrive, following the Athena plan that a
// listed lake gets (planAthena).
func AfterNewPartitions(t Table) string {
	var enums []string
	athena := "nothing (dates projected)"
	for _, p := range t.Partitions {
		switch {
		case p.Type == "date":
		case p.Type == "string" && !p.PerDelivery:
			enums = append(enums, "`"+p.Name+"`")
		default:
			athena = "`vendorlake ddl` and its script again (partitions registered), or `MSCK REPAIR TABLE`"
			enums = nil
		}
		if strings.HasPrefix(athena, "`vendorlake") {
			break
		}
	}
	if len(enums) > 0 {
		athena = "nothing for new dates; a new " + strings.Join(enums, " or ") + " value needs `vendorlake ddl` and its script again (projected as an enum of the values found)"
	}
	return "After new partitions: Athena " + athena + "; Spark `MSCK REPAIR TABLE`; Trino `CALL system.sync_partition_metadata`; DuckDB nothing."
}

func markdownDoc(b *strings.Builder, t Table) error {
	var parts []string
	for _, p := range t.Partitions {
		parts = append(parts, "`"+p.Name+"` ("+p.Type+")")
	}
	fmt.Fprintf(b, "**`%s`** — %s Partitioned by %s; %s mode. %s\n\n| column | type |\n|---|---|\n", t.Name, t.Doc, strings.Join(parts, ", "), t.Mode, AfterNewPartitions(t))
	for _, f := range t.Schema.Fields() {
		ty, err := HiveType(f.Type)
		if err != nil {
			return err
		}
		fmt.Fprintf(b, "| `%s` | `%s` |\n", f.Name, strings.ReplaceAll(ty, "`", ""))
	}
	return nil
}
