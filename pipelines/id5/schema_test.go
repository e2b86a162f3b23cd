package id5

import (
	"strings"
	"testing"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
)

// TestDDL: every ID5 table has a DDL in every dialect (the schemas use only
// types the lake's engines read).
func TestDDL(t *testing.T) {
	for _, d := range []string{"athena", "spark", "duckdb"} {
		ddl, err := hiveparquet.DDL(Tables(), hiveparquet.DDLOptions{Dialect: d, Location: "s3://lake/root"})
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		for _, tb := range Tables() {
			if !strings.Contains(ddl, tb.Name) {
				t.Errorf("%s: no DDL for %s", d, tb.Name)
			}
		}
	}
}
