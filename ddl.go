package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/pipelines/audiencestudio"
	"github.com/vendorlake/vendorlake/pipelines/didomi"
	"github.com/vendorlake/vendorlake/pipelines/id5"
)

// lakeTables lists every table that vendorlake's pipelines write.
func lakeTables() []hiveparquet.Table {
	var ts []hiveparquet.Table
	ts = append(ts, didomi.Tables()...)
	ts = append(ts, didomi.ProofTables()...)
	ts = append(ts, id5.Tables()...)
	ts = append(ts, audiencestudio.RequestsTables()...)
	ts = append(ts, audiencestudio.PortabilityTables()...)
	return ts
}

// ddl prints CREATE statements for every table, derived from the writers'
// own Arrow schemas.
func ddl(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vendorlake ddl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o hiveparquet.DDLOptions
	fs.StringVar(&o.Location, "output", "", "the lake root the pipelines write to (local folder or s3://bucket/prefix) (required)")
	fs.StringVar(&o.Dialect, "dialect", hiveparquet.Athena, "athena, spark, duckdb, or markdown (the README's table reference)")
	fs.StringVar(&o.Database, "database", "", "database (schema) to create the tables in (Athena, Spark)")
	fs.StringVar(&o.DateRangeStart, "date-range-start", "2015-01-01", "first date of Athena's date partition projections")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: vendorlake ddl --output=LAKE [--dialect=athena|spark|duckdb] [--database=NAME]\n\nPrints CREATE statements for every vendorlake table.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return usageErr(stderr, err)
	}
	out, err := hiveparquet.DDL(lakeTables(), o)
	if err != nil {
		return usageErr(stderr, err)
	}
	fmt.Fprint(stdout, out)
	return exitOK
}
