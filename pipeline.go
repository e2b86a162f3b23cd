package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vendorlake/vendorlake/pipelines/registry"
	"github.com/vendorlake/vendorlake/pipelines/run"
	"github.com/vendorlake/vendorlake/transforms"
)

// pipelineCommand is the command line of one registered pipeline: every
// pipeline's flags and the vendor's own.
type pipelineCommand struct {
	common
	vendor registry.Flags
}

// Validate checks the parsed flags: --runner first, then the vendor's, then
// every pipeline's.
func (c *pipelineCommand) Validate() error {
	if err := c.checkRunner(); err != nil {
		return err
	}
	if err := c.vendor.Validate(); err != nil {
		return err
	}
	return c.common.validate()
}

// runPipeline runs the pipeline of v with the command line args.
func runPipeline(ctx context.Context, v registry.Vendor, args []string, con console) int {
	c := pipelineCommand{vendor: v.Flags()}
	if err := parseFlags(strings.Join(v.CommandLine(), " "), args, con, &c.common, c.vendor.Register, v.Help); err != nil {
		return usageErr(con.stderr, err)
	}
	if err := c.Validate(); err != nil {
		return usageErr(con.stderr, c.envHint(err))
	}
	opts := c.options(con)
	p := c.vendor.Pipeline(&opts)
	return execute(ctx, p, opts, con)
}

// execute runs p, prints its summary and returns the exit code.
func execute(ctx context.Context, p run.Pipeline, opts run.Options, con console) int {
	// run.Execute hands the run ID to a pipeline that writes files of its
	// own (Didomi proofs, the ID5 rebuild's spill) through run.ForRunner.
	rep, err := run.Execute(ctx, p, opts)
	if rep.RunID != "" && rep.Status != "" {
		// An error is printed once: on the last line (stderr) when there
		// is one below, else in the summary (a tripped reject gate).
		printed := rep
		if err != nil && !errors.Is(err, run.ErrRejectRatio) {
			printed.Error = ""
		}
		run.PrintSummary(con.stdout, printed)
	}
	stderr := con.stderr
	var interrupted *interruptError
	switch {
	case errors.As(err, &interrupted):
		fmt.Fprintf(stderr, "vendorlake %s: %v\n", p.Name(), err)
		return interrupted.exitCode()
	case errors.Is(err, run.ErrRejectRatio):
		return exitRejectRatio
	case errors.Is(err, run.ErrRefused):
		fmt.Fprintf(stderr, "vendorlake %s: %v\n", p.Name(), err)
		return exitRejectRatio
	case errors.Is(err, run.ErrLocked):
		fmt.Fprintf(stderr, "vendorlake %s: %v\n", p.Name(), err)
		return exitLocked
	case errors.Is(err, run.ErrNothingMatched):
		fmt.Fprintf(stderr, "vendorlake %s: %v\n", p.Name(), err)
		return exitNothingMatched
	case errors.Is(err, run.ErrWaitExpired):
		fmt.Fprintf(stderr, "vendorlake %s: %v\n", p.Name(), err)
		return exitWaitExpired
	case err != nil:
		fmt.Fprintf(stderr, "vendorlake %s: %v\n", p.Name(), err)
		return exitFailed
	}
	if len(rep.HeldBack) > 0 {
		// One line per unit or partition held back, with its file and error.
		for _, h := range rep.HeldBack {
			fmt.Fprintf(stderr, "vendorlake %s: committed, but held back %s; the next run retries it\n", p.Name(), heldBackLine(rep, h))
		}
		return exitHeldBack
	}
	return exitOK
}

// heldBackLine says what h held back and why, in one line.
func heldBackLine(rep transforms.RunReport, h transforms.HeldBack) string {
	what := "unit " + h.Unit
	if len(h.Tables) > 0 {
		what = fmt.Sprintf("%s of %s", strings.Join(h.Tables, ", "), h.Partition)
	}
	switch {
	case h.Reason == transforms.HeldUnreadable && h.File != "":
		return fmt.Sprintf("%s (unreadable input %s: %s)", what, h.File, h.Error)
	case h.Reason == transforms.HeldUnreadable:
		return fmt.Sprintf("%s (%s)", what, h.Error)
	}
	kind := "attachment"
	if rep.Attachments != nil {
		kind = rep.Attachments.Kind
	}
	return fmt.Sprintf("%s (%d of %d %s entries rejected, over their bound)", what, h.Rejected, h.EntriesIn, kind)
}
