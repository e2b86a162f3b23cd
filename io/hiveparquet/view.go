package hiveparquet

import (
	"fmt"
	"strings"
)

// View is a SQL view over tables of the lake that DDL's caller declares
// after the tables (ViewDDL): what readers query when a table alone is not
// the answer (ID5's mapping in force, a base plus a delta).
type View struct {
	// Name is the view's name; Doc one sentence on what a row is.
	Name, Doc string
	// Query returns the view's SELECT in the dialect's quoting: ident
	// quotes (and qualifies) a table name, declared reports whether a
	// table is declared by the same script. An empty query declares no
	// view (its tables are not there).
	Query func(ident func(table string) string, declared func(table string) bool) string
}

// ViewDDL returns CREATE OR REPLACE VIEW statements for views over the
// declared tables, in the dialect of o: Athena and Trino (double quotes),
// Spark (backticks), DuckDB (double quotes, no database); Markdown
// documents them.
func ViewDDL(views []View, declared []Table, o DDLOptions) (string, error) {
	has := map[string]bool{}
	for _, t := range declared {
		has[t.Name] = true
	}
	var ident func(string) string
	switch o.Dialect {
	case Athena, Trino:
		ident = func(n string) string {
			if o.Database != "" {
				return `"` + o.Database + `"."` + n + `"`
			}
			return `"` + n + `"`
		}
	case Spark:
		ident = func(n string) string { return qualified(o, n) }
	case DuckDB:
		ident = func(n string) string { return `"` + n + `"` }
	case Markdown:
	default:
		return "", fmt.Errorf("ddl: unknown dialect %q for views", o.Dialect)
	}
	var b strings.Builder
	for _, v := range views {
		if o.Dialect == Markdown {
			fmt.Fprintf(&b, "**`%s`** (view) — %s\n\n", v.Name, v.Doc)
			continue
		}
		q := v.Query(ident, func(t string) bool { return has[t] })
		if q == "" {
			continue
		}
		fmt.Fprintf(&b, "-- %s\nCREATE OR REPLACE VIEW %s AS\n%s;\n\n", v.Doc, ident(v.Name), q)
	}
	return b.String(), nil
}
