package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/pipelines/registry"
)

// lakeTables lists every table that the registered pipelines write and
// engines declare (not the folders of raw files).
func lakeTables() []hiveparquet.Table { return hiveparquet.Queryable(registry.Tables()) }

// chooseTables returns the queryable tables of the pipelines named in
// names (registry.Choose: comma-separated, "all" for every one), in
// lakeTables' order.
func chooseTables(names string) ([]hiveparquet.Table, error) {
	vendors, err := registry.Choose(names)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, v := range vendors {
		for _, t := range v.Tables() {
			want[t.Name] = true
		}
	}
	var out []hiveparquet.Table
	for _, t := range lakeTables() {
		if want[t.Name] {
			out = append(out, t)
		}
	}
	return out, nil
}

// scanLake lists the lake at location: the tables of tables that hold
// data, and their partitions (hiveparquet.ScanLake). A local lake that does
// not exist is an error, and so is a lake that cannot be listed.
func scanLake(location string, o lakefs.Options, tables []hiveparquet.Table) ([]hiveparquet.Table, map[string][][]string, error) {
	if !strings.Contains(location, "://") {
		if _, err := os.Stat(location); err != nil {
			return nil, nil, fmt.Errorf("the lake %s: %w", location, err)
		}
	}
	ctx := context.Background()
	fsys, err := lakefs.New(ctx, location, o)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot list the lake %s: %w", location, err)
	}
	with, found, err := hiveparquet.ScanLake(ctx, fsys, location, tables)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot list the lake %s: %w", location, err)
	}
	return with, found, nil
}

// ddlCommand is the command line of ddl.
type ddlCommand struct {
	hiveparquet.DDLOptions
	pipelines string
	fs        lakefs.Options
}

func (c *ddlCommand) register(fs *flag.FlagSet) {
	fs.StringVar(&c.Location, "output", "", "the lake root the pipelines write to (local folder or s3://bucket/prefix) (required)")
	fs.StringVar(&c.Dialect, "dialect", hiveparquet.Athena, "athena, spark, trino, duckdb, or markdown (the README's table reference)")
	fs.StringVar(&c.Database, "database", "", "database (schema) to create the tables in (Athena, Spark, Trino)")
	fs.StringVar(&c.DateRangeStart, "date-range-start", "", "first date of Athena's date partition projections (default: the earliest date in the lake, else 2015-01-01; a date found earlier still moves it back)")
	var names []string
	for _, v := range registry.All() {
		names = append(names, v.Name)
	}
	fs.StringVar(&c.pipelines, "pipelines", "", "comma-separated pipelines whose tables to declare ("+strings.Join(names, ", ")+", or all); default: the tables of --output that hold Parquet files, or all when it cannot be listed")
	fs.StringVar(&c.fs.S3Endpoint, "s3-endpoint", "", "S3 endpoint URL for S3-compatible stores, to list an s3:// --output")
	fs.StringVar(&c.fs.S3Region, "s3-region", "", "S3 region (default: from the AWS configuration)")
	fs.BoolVar(&c.fs.S3PathStyle, "s3-path-style", false, "use path-style S3 addressing (MinIO)")
}

// Validate checks the parsed flags; the dialect is checked by
// hiveparquet.DDL.
func (c *ddlCommand) Validate() error {
	if c.pipelines != "" {
		_, err := chooseTables(c.pipelines)
		return err
	}
	return nil
}

// ddl prints CREATE statements for the tables of the lake, derived from the
// writers' own Arrow schemas: the tables of --pipelines when given, else
// those that hold at least one Parquet file. Without --pipelines, a lake
// that does not exist, holds no table or cannot be listed exits 1.
func ddl(args []string, con console) int {
	stdout, stderr := con.stdout, con.stderr
	fs := flag.NewFlagSet("vendorlake ddl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c ddlCommand
	c.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: vendorlake ddl --output=LAKE [--dialect=athena|spark|trino|duckdb] [--database=NAME] [--pipelines=NAME,...]\n\nPrints CREATE statements for the tables of the lake.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := parseToolFlags(fs, args); err != nil {
		return usageErr(stderr, err)
	}
	if err := c.Validate(); err != nil {
		return usageErr(stderr, err)
	}
	if c.DateRangeStart != "" {
		if _, err := time.Parse(time.DateOnly, c.DateRangeStart); err != nil {
			return usageErr(stderr, fmt.Errorf("--date-range-start=%s is not a date: want YYYY-MM-DD", c.DateRangeStart))
		}
	}
	tables := lakeTables()
	if c.pipelines != "" {
		tables, _ = chooseTables(c.pipelines)
	}
	if c.Dialect != hiveparquet.Markdown && c.Location != "" {
		with, found, err := scanLake(c.Location, c.fs, tables)
		switch {
		case err != nil && c.pipelines == "":
			fmt.Fprintf(stderr, "vendorlake ddl: %v (to declare tables without listing the lake, choose them with --pipelines=)\n", err)
			return exitFailed
		case err != nil:
			fmt.Fprintf(stderr, "vendorlake ddl: %v: the tables are declared without their partitions; run ddl again after the first run\n", err)
		case len(with) == 0 && c.pipelines == "":
			fmt.Fprintf(stderr, "vendorlake ddl: no table under %s holds a Parquet file yet; declare tables before their first run with --pipelines=\n", c.Location)
			return exitFailed
		case c.pipelines == "":
			tables = with
			c.Found = found
		default:
			c.Found = found
		}
	}
	out, err := hiveparquet.DDL(tables, c.DDLOptions)
	if err != nil {
		return usageErr(stderr, err)
	}
	fmt.Fprint(stdout, out)
	views, err := hiveparquet.ViewDDL(registry.Views(), tables, c.DDLOptions)
	if err != nil {
		return usageErr(stderr, err)
	}
	fmt.Fprint(stdout, views)
	return exitOK
}
