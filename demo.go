package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/vendorlake/vendorlake/pipelines/audiencestudio"
	"github.com/vendorlake/vendorlake/pipelines/didomi"
	"github.com/vendorlake/vendorlake/pipelines/id5"
	"github.com/vendorlake/vendorlake/pipelines/run"
)

// demo runs every pipeline on the bundled samples into ./lake.
func demo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var c common
	err := parseFlags("demo", args, stderr, &c, nil, "Runs every pipeline on the bundled samples (testdata/) into ./lake.")
	if err != nil {
		return usageErr(stderr, err)
	}
	if c.input == "" {
		c.input = "testdata"
	}
	if c.output == "" {
		c.output = "lake"
	}
	if _, err := os.Stat(filepath.Join(c.input, "didomi")); err != nil && c.input == "testdata" {
		fmt.Fprintln(stderr, "vendorlake demo: run it from the root of a vendorlake checkout (it reads testdata/), or pass --input")
		return exitUsage
	}
	base, err := c.options()
	if err != nil {
		return usageErr(stderr, err)
	}
	steps := []struct {
		p   run.Pipeline
		dir string
	}{
		{didomi.Pipeline{Selection: didomi.Selection{Proofs: true}}, "didomi"},
		// Three splits show the indexed .lzo file read by parallel workers.
		{audiencestudio.RequestsPipeline{Selection: audiencestudio.RequestsSelection{Splits: 3}}, "audiencestudio/sample"},
		{audiencestudio.PortabilityPipeline{}, "audiencestudio/sample"},
		// The ID5 sample's UIDs belong to GVLID 35 (as in ID5's document).
		{id5.Pipeline{SourceGVLID: 35, MaxExtractShrink: id5.DefaultMaxExtractShrink}, "id5/sample"},
	}
	code := exitOK
	for _, s := range steps {
		o := base
		o.Input = filepath.Join(c.input, s.dir)
		// The samples plant a few bad lines on purpose.
		o.MaxRejectRatio = 0.5
		o.MaxAttachmentRejectRatio = 0.5
		if rc := execute(ctx, s.p, o, stdout, stderr); rc != exitOK {
			code = rc
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
