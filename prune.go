package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/lakestate"
	"github.com/vendorlake/vendorlake/pipelines/registry"
	"github.com/vendorlake/vendorlake/pipelines/run"
)

// pruneCommand is the command line of `vendorlake prune`: what every run
// does at its start (--keep-reports), on demand.
type pruneCommand struct {
	common
	pipelines string
}

func (c *pruneCommand) register(fs *flag.FlagSet) {
	fs.StringVar(&c.output, "output", "", "output root of the lake: a local folder or s3://bucket/prefix (required)")
	fs.StringVar(&c.pipelines, "pipelines", "", "the pipelines whose reports to prune, comma-separated (default: every pipeline)")
	c.registerKeepReports(fs)
	fs.DurationVar(&c.lockWait, "lock-wait", 0, "wait this long for a pipeline's lock before giving up (exit 4)")
	fs.StringVar(&c.fs.S3Endpoint, "s3-endpoint", "", "S3 endpoint URL for S3-compatible stores (e.g. http://127.0.0.1:9000)")
	fs.StringVar(&c.fs.S3Region, "s3-region", "", "S3 region (default: from the AWS configuration)")
	fs.BoolVar(&c.fs.S3PathStyle, "s3-path-style", false, "use path-style S3 addressing (MinIO)")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format on stderr: text or json")
}

// prune removes the run reports (and kept rejects) of the lake's pipelines
// older than --keep-reports, each pipeline under its lock; the ledger stays.
func prune(ctx context.Context, args []string, con console) int {
	var c pruneCommand
	fs := flag.NewFlagSet("vendorlake prune", flag.ContinueOnError)
	fs.SetOutput(con.stderr)
	c.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(con.stderr, "Usage: vendorlake prune --output=LAKE [--keep-reports=720h] [--pipelines=NAME,...]\n\nRemoves the run reports (and the rejects they kept) older than --keep-reports; the ledger is never pruned.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := parseToolFlags(fs, args); err != nil {
		return usageErr(con.stderr, err)
	}
	names, err := c.chosen()
	if err != nil {
		return usageErr(con.stderr, err)
	}
	if err := checkLogFormat(c.logFormat); err != nil {
		return usageErr(con.stderr, err)
	}
	c.setupLogging(con.stderr)
	if c.keepReports == 0 {
		fmt.Fprintln(con.stdout, "vendorlake prune: --keep-reports=0 keeps every report; nothing removed")
		return exitOK
	}
	outFS, err := lakefs.New(ctx, c.output, c.fs)
	if err != nil {
		fmt.Fprintf(con.stderr, "vendorlake prune: %v\n", err)
		return exitFailed
	}
	runID := run.NewRunID() + "-prune"
	for _, v := range names {
		opts := run.Options{Output: c.output, FS: c.fs}
		p := v.Flags().Pipeline(&opts)
		lock, err := lakestate.AcquireLock(ctx, outFS, c.output, p.Name(), runID, lakestate.LockOptions{Wait: c.lockWait})
		if err != nil {
			fmt.Fprintf(con.stderr, "vendorlake prune: %s: %v\n", v.Name, err)
			if errors.Is(err, run.ErrLocked) {
				return exitLocked
			}
			return exitFailed
		}
		start := time.Now()
		pr, err := lakestate.PruneReports(ctx, outFS, c.output, run.PipelineNames(p, opts), start.Add(-c.keepReports))
		lock.Release()
		if err != nil {
			fmt.Fprintf(con.stderr, "vendorlake prune: %s: %v\n", v.Name, err)
			return exitFailed
		}
		line, _ := json.Marshal(pr)
		fmt.Fprintf(con.stdout, "vendorlake prune: %s: %d reports and %d reject files older than %s removed in %.1fs %s\n",
			v.Name, pr.Reports, pr.RejectFiles, c.keepReports, time.Since(start).Seconds(), line)
	}
	return exitOK
}

// chosen checks the flags and returns the pipelines to prune.
func (c *pruneCommand) chosen() ([]registry.Vendor, error) {
	if c.output == "" {
		return nil, errors.New("prune: --output is required")
	}
	if c.keepReports < 0 {
		return nil, fmt.Errorf("--keep-reports=%s: want a duration of 0 (keep every report) or more", c.keepReports)
	}
	if c.pipelines == "" {
		return registry.All(), nil
	}
	return registry.Choose(c.pipelines)
}
