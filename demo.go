package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vendorlake/vendorlake/pipelines/registry"
)

// demoCommand is the command line of demo: every pipeline's flags, with
// --input and --output defaulting to testdata and lake.
type demoCommand struct{ common }

// Validate checks the parsed flags after their defaults are applied.
func (c *demoCommand) Validate() error {
	if c.input == "" {
		c.input = "testdata"
	}
	if c.output == "" {
		c.output = "lake"
	}
	return c.common.validate()
}

// demo runs every registered pipeline on its bundled sample into ./lake.
func demo(ctx context.Context, args []string, con console) int {
	stdout, stderr := con.stdout, con.stderr
	var c demoCommand
	err := parseFlags("demo", args, con, &c.common, nil, "Runs every pipeline on the bundled samples (testdata/) into ./lake.")
	if err != nil {
		return usageErr(stderr, err)
	}
	if err := c.Validate(); err != nil {
		return usageErr(stderr, err)
	}
	vendors := registry.All()
	if len(vendors) > 0 && c.input == "testdata" {
		if _, err := os.Stat(filepath.Join(c.input, vendors[0].Sample.Dir)); err != nil {
			fmt.Fprintln(stderr, "vendorlake demo: run it from the root of a vendorlake checkout (it reads testdata/), or pass --input")
			return exitUsage
		}
	}
	base := c.options(con)
	code := exitOK
	for _, v := range vendors {
		if v.Sample.Dir == "" {
			continue
		}
		o := base
		p, err := v.Pipeline(v.Sample.Args, &o)
		if err != nil {
			return usageErr(stderr, errors.New("demo: "+err.Error()))
		}
		o.Input = filepath.Join(c.input, v.Sample.Dir)
		// The samples plant a few bad lines on purpose.
		o.MaxRejectRatio = 0.5
		o.MaxAttachmentRejectRatio = 0.5
		if rc := execute(ctx, p, o, con); rc != exitOK {
			code = rc
		}
		if ctx.Err() != nil {
			return code // interrupted: no other pipeline starts
		}
		fmt.Fprintln(stdout)
	}
	abs, _ := filepath.Abs(c.output)
	fmt.Fprintf(stdout, "The lake is in %s. Try it with DuckDB:\n\n", abs)
	fmt.Fprintf(stdout, "  SELECT export_id, date, count(*) AS users, sum(event_count) AS events\n"+
		"  FROM read_parquet('%s/didomi_users/**/*.parquet', hive_partitioning=true)\n"+
		"  GROUP BY ALL ORDER BY ALL;\n", abs)
	return code
}
