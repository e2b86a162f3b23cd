package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
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

// pipelineTables maps each pipeline's name (as its command registers it)
// to the Parquet tables it writes, for ddl's --pipelines.
func pipelineTables() map[string][]hiveparquet.Table {
	return map[string][]hiveparquet.Table{
		didomi.Name:                    append(didomi.Tables(), didomi.ProofTables()...),
		id5.Name:                       id5.Tables(),
		audiencestudio.RequestsName:    audiencestudio.RequestsTables(),
		audiencestudio.PortabilityName: audiencestudio.PortabilityTables(),
	}
}

// chooseTables returns the tables of the comma-separated pipeline names
// ("all" for every table), in lakeTables' order. "audiencestudio requests"
// (the command line's spelling) is accepted for audiencestudio-requests.
func chooseTables(names string) ([]hiveparquet.Table, error) {
	byPipeline := pipelineTables()
	want := map[string]bool{}
	for _, n := range strings.Split(names, ",") {
		n = strings.Join(strings.Fields(n), "-")
		switch {
		case n == "":
			continue
		case n == "all":
			return lakeTables(), nil
		case byPipeline[n] == nil:
			var known []string
			for k := range byPipeline {
				known = append(known, k)
			}
			sort.Strings(known)
			return nil, fmt.Errorf("--pipelines: unknown pipeline %q (want %s or all)", n, strings.Join(known, ", "))
		}
		for _, t := range byPipeline[n] {
			want[t.Name] = true
		}
	}
	if len(want) == 0 {
		return nil, fmt.Errorf("--pipelines=%q names no pipeline", names)
	}
	var out []hiveparquet.Table
	for _, t := range lakeTables() {
		if want[t.Name] {
			out = append(out, t)
		}
	}
	return out, nil
}

// ddl prints CREATE statements for the tables of the lake, derived from the
// writers' own Arrow schemas: the tables of --pipelines when given, else
// those that hold at least one Parquet file, or every table when the lake
// cannot be listed.
func ddl(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vendorlake ddl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o hiveparquet.DDLOptions
	fs.StringVar(&o.Location, "output", "", "the lake root the pipelines write to (local folder or s3://bucket/prefix) (required)")
	fs.StringVar(&o.Dialect, "dialect", hiveparquet.Athena, "athena, spark, duckdb, or markdown (the README's table reference)")
	fs.StringVar(&o.Database, "database", "", "database (schema) to create the tables in (Athena, Spark)")
	fs.StringVar(&o.DateRangeStart, "date-range-start", "2015-01-01", "first date of Athena's date partition projections")
	pipelines := fs.String("pipelines", "", "comma-separated pipelines whose tables to declare (didomi, audiencestudio-requests, audiencestudio-portability, id5, or all); default: the tables of --output that hold Parquet files, or all when it cannot be listed")
	var fsOpts lakefs.Options
	fs.StringVar(&fsOpts.S3Endpoint, "s3-endpoint", "", "S3 endpoint URL for S3-compatible stores, to list an s3:// --output")
	fs.StringVar(&fsOpts.S3Region, "s3-region", "", "S3 region (default: from the AWS configuration)")
	fs.BoolVar(&fsOpts.S3PathStyle, "s3-path-style", false, "use path-style S3 addressing (MinIO)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: vendorlake ddl --output=LAKE [--dialect=athena|spark|duckdb] [--database=NAME] [--pipelines=NAME,...]\n\nPrints CREATE statements for the tables of the lake.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return usageErr(stderr, err)
	}
	if fs.NArg() > 0 {
		return usageErr(stderr, fmt.Errorf("unexpected arguments %q", fs.Args()))
	}
	tables := lakeTables()
	switch {
	case *pipelines != "":
		var err error
		if tables, err = chooseTables(*pipelines); err != nil {
			return usageErr(stderr, err)
		}
	case o.Dialect != hiveparquet.Markdown && o.Location != "":
		ctx := context.Background()
		fsys, err := lakefs.New(ctx, o.Location, fsOpts)
		var with []hiveparquet.Table
		if err == nil {
			with, err = hiveparquet.TablesWithData(ctx, fsys, o.Location, tables)
		}
		switch {
		case err != nil:
			fmt.Fprintf(stderr, "vendorlake ddl: cannot list the lake, so every table is declared (choose with --pipelines=): %v\n", err)
		case len(with) == 0:
			fmt.Fprintf(stderr, "vendorlake ddl: no table under %s holds a Parquet file yet; declare tables before their first run with --pipelines=\n", o.Location)
			tables = nil
		default:
			tables = with
		}
	}
	out, err := hiveparquet.DDL(tables, o)
	if err != nil {
		return usageErr(stderr, err)
	}
	fmt.Fprint(stdout, out)
	return exitOK
}
