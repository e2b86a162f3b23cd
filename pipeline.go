package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/vendorlake/vendorlake/io/lakefs"
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
	con.summaryJSON, con.reportFile = c.summary == "json", c.reportFile
	p := c.vendor.Pipeline(&opts)
	return execute(ctx, p, opts, con)
}

// execute runs p, prints its summary and returns the exit code.
func execute(ctx context.Context, p run.Pipeline, opts run.Options, con console) int {
	// run.Execute hands the run's environment (run.Env: input, output, run
	// ID) to the pipeline's Discover and Read: Didomi's proofs and the ID5
	// rebuild's spill write into the run's temporary area.
	rep, err := run.Execute(ctx, p, opts)
	code, lines := outcome(p, rep, err)
	if con.reportFile != "" && rep.RunID != "" {
		if werr := writeReportFile(ctx, con.reportFile, opts, rep); werr != nil {
			lines = append(lines, fmt.Sprintf("vendorlake %s: --report-file: %v", p.Name(), werr))
			if code == exitOK {
				code = exitFailed
			}
		}
	}
	if con.summaryJSON {
		// One JSON object on stdout, whatever happened: the run report
		// (or what is known without one) and the exit code.
		if rep.RunID == "" {
			rep.Pipeline, rep.Status, rep.Input, rep.Output, rep.OrchestratorRunID = p.Name(), transforms.StatusFailed, opts.Input, opts.Output, opts.Label
			rep.Version, rep.Runner = opts.Version, opts.Runner
			if err != nil {
				rep.Error = err.Error()
			}
		}
		printJSONSummary(con.stdout, rep, code)
	} else if rep.RunID != "" && rep.Status != "" {
		// An error is printed once: on the last line (stderr) when there
		// is one below, else in the summary (a tripped reject gate).
		printed := rep
		if err != nil && !errors.Is(err, run.ErrRejectRatio) {
			printed.Error = ""
		}
		run.PrintSummary(con.stdout, printed)
	}
	for _, l := range lines {
		fmt.Fprintln(con.stderr, l)
	}
	return code
}

// outcome is the exit code of a run that returned rep and err, and the
// lines that say why on stderr.
func outcome(p run.Pipeline, rep transforms.RunReport, err error) (int, []string) {
	var interrupted *interruptError
	line := func() []string { return []string{fmt.Sprintf("vendorlake %s: %v", p.Name(), err)} }
	switch {
	case errors.As(err, &interrupted):
		return interrupted.exitCode(), line()
	case errors.Is(err, run.ErrRejectRatio):
		return exitRejectRatio, nil
	case errors.Is(err, run.ErrRefused):
		return exitRejectRatio, line()
	case errors.Is(err, run.ErrLocked):
		return exitLocked, line()
	case errors.Is(err, run.ErrNothingMatched):
		return exitNothingMatched, line()
	case errors.Is(err, run.ErrWaitExpired):
		return exitWaitExpired, line()
	case err != nil:
		return exitFailed, line()
	}
	if len(rep.HeldBack) > 0 {
		// One line per unit or partition held back, with its file and error.
		var lines []string
		for _, h := range rep.HeldBack {
			lines = append(lines, fmt.Sprintf("vendorlake %s: committed, but held back %s; the next run retries it", p.Name(), heldBackLine(rep, h)))
		}
		return exitHeldBack, lines
	}
	return exitOK, nil
}

// jsonSummary is the summary of --summary=json: the run report and the
// command's exit code.
type jsonSummary struct {
	transforms.RunReport
	ExitCode int `json:"exit_code"`
}

// printJSONSummary writes rep and code as one line of JSON.
func printJSONSummary(w io.Writer, rep transforms.RunReport, code int) {
	data, err := json.Marshal(jsonSummary{rep, code})
	if err != nil {
		data, _ = json.Marshal(map[string]any{"pipeline": rep.Pipeline, "error": err.Error(), "exit_code": code})
	}
	fmt.Fprintf(w, "%s\n", data)
}

// writeReportFile writes rep, indented, to path (local or s3://), as
// --report-file asks.
func writeReportFile(ctx context.Context, path string, opts run.Options, rep transforms.RunReport) error {
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	root := path
	if lakefs.Scheme(path) == "" {
		if root, err = filepath.Abs(filepath.Dir(path)); err != nil {
			return err
		}
		path = filepath.Join(root, filepath.Base(path))
	}
	fsys, err := lakefs.New(context.WithoutCancel(ctx), root, opts.FS)
	if err != nil {
		return err
	}
	return lakefs.WriteFile(context.WithoutCancel(ctx), fsys, path, data)
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
