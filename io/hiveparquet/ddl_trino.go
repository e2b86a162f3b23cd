package hiveparquet

import (
	"fmt"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
)

// trinoHeader says what the Trino script expects of the catalog it runs in.
func trinoHeader(b *strings.Builder, o DDLOptions) {
	b.WriteString("-- Trino (and Starburst) Hive connector: run in the Hive catalog, e.g. trino --catalog=hive --file=THIS.\n")
	if !strings.Contains(o.Location, "://") || strings.HasPrefix(o.Location, "file://") {
		b.WriteString("-- The lake is on the local disk: the catalog needs fs.native-local.enabled=true and local.location=/.\n")
	}
	b.WriteString("-- Timestamps are timestamp(6), microseconds in UTC: the catalog needs hive.timestamp-precision=MICROSECONDS.\n")
	b.WriteString("-- New partitions: run the CALL system.sync_partition_metadata lines again.\n\n")
}

// trinoQuote quotes a Trino identifier.
func trinoQuote(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// trinoString quotes s as a Trino string literal.
func trinoString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// TrinoType is the Trino type of an Arrow type, as the Hive connector
// declares it. Timestamps are timestamp(6), the microseconds the lake
// holds: the Hive connector accepts that precision only when the catalog
// says hive.timestamp-precision=MICROSECONDS (else CREATE TABLE fails,
// naming the setting), so no instant is silently truncated.
func TrinoType(t arrow.DataType) (string, error) {
	switch tt := t.(type) {
	case *arrow.StringType, *arrow.LargeStringType:
		return "varchar", nil
	case *arrow.BinaryType:
		return "varbinary", nil
	case *arrow.Int64Type:
		return "bigint", nil
	case *arrow.Int32Type:
		return "integer", nil
	case *arrow.Int16Type:
		return "smallint", nil
	case *arrow.Float64Type:
		return "double", nil
	case *arrow.Float32Type:
		return "real", nil
	case *arrow.BooleanType:
		return "boolean", nil
	case *arrow.TimestampType:
		return "timestamp(6)", nil
	case *arrow.Date32Type:
		return "date", nil
	case *arrow.ListType:
		e, err := TrinoType(tt.Elem())
		return "array(" + e + ")", err
	case *arrow.MapType:
		k, err := TrinoType(tt.KeyType())
		if err != nil {
			return "", err
		}
		v, err := TrinoType(tt.ItemType())
		return "map(" + k + ", " + v + ")", err
	case *arrow.StructType:
		parts := make([]string, 0, tt.NumFields())
		for _, f := range tt.Fields() {
			ft, err := TrinoType(f.Type)
			if err != nil {
				return "", err
			}
			parts = append(parts, trinoQuote(f.Name)+" "+ft)
		}
		return "row(" + strings.Join(parts, ", ") + ")", nil
	}
	return "", fmt.Errorf("no Trino type for Arrow type %s", t)
}

func trinoPartitionType(p PartitionColumn) string {
	switch p.Type {
	case "int":
		return "integer"
	case "date":
		return "date"
	}
	return "varchar"
}

// trinoDDL declares t for Trino's Hive connector: CREATE TABLE over the
// table folder, then sync_partition_metadata registers the partition
// folders it finds (and drops those gone: FULL).
func trinoDDL(b *strings.Builder, t Table, o DDLOptions) error {
	name := trinoQuote(t.Name)
	schema := "CURRENT_SCHEMA"
	if o.Database != "" {
		name = trinoQuote(o.Database) + "." + name
		schema = trinoString(o.Database)
	}
	fmt.Fprintf(b, "-- %s\nCREATE TABLE IF NOT EXISTS %s (\n", t.Doc, name)
	var cols []string
	for _, f := range t.Schema.Fields() {
		ty, err := TrinoType(f.Type)
		if err != nil {
			return err
		}
		cols = append(cols, "  "+trinoQuote(f.Name)+" "+ty)
	}
	var keys []string
	for _, p := range t.Partitions {
		cols = append(cols, "  "+trinoQuote(p.Name)+" "+trinoPartitionType(p))
		keys = append(keys, trinoString(p.Name))
	}
	b.WriteString(strings.Join(cols, ",\n"))
	fmt.Fprintf(b, "\n)\nWITH (\n  external_location = %s,\n  format = 'PARQUET'", trinoString(location(o, t)))
	if len(keys) > 0 {
		fmt.Fprintf(b, ",\n  partitioned_by = ARRAY[%s]", strings.Join(keys, ", "))
	}
	b.WriteString("\n);\n")
	if len(keys) > 0 {
		fmt.Fprintf(b, "CALL system.sync_partition_metadata(schema_name => %s, table_name => %s, mode => 'FULL');\n", schema, trinoString(t.Name))
	}
	return nil
}
