package audiencestudio

import (
	"strings"
	"testing"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
)

// TestTablesHaveDDL: every table's schema maps to Athena, Spark and DuckDB
// DDL (so "vendorlake ddl" can list them), with the STRUCT, MAP and TIMESTAMP types
// analysts query.
func TestTablesHaveDDL(t *testing.T) {
	tables := append(RequestsTables(), PortabilityTables()...)
	for _, d := range []string{hiveparquet.Athena, "spark", "duckdb"} {
		out, err := hiveparquet.DDL(tables, hiveparquet.DDLOptions{Dialect: d, Location: "s3://lake/x"})
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		for _, tb := range tables {
			if !strings.Contains(out, tb.Name) {
				t.Errorf("%s: no statement for %s", d, tb.Name)
			}
		}
		if d == hiveparquet.Athena {
			for _, want := range []string{"struct<`dc`:int,`al`:int,`tg`:int,`cd`:int,`sh`:int,`re`:int>", "map<string,string>", "array<string>", "timestamp"} {
				if !strings.Contains(strings.ToLower(out), want) {
					t.Errorf("athena DDL lacks %s:\n%s", want, out)
				}
			}
		}
	}
}
