package commit

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/lakestate"
	"github.com/vendorlake/vendorlake/transforms"
)

// Fail ends a run that failed before its commit with err: it writes the
// run's report, status failed (interrupted when ctx was cancelled and the
// commit log was not recorded), with the files the run was to read
// (planned: which files a failed Beam job had read is not known), and
// removes the run's temporary files, unless its commit log was recorded:
// the next run's recovery needs them. Both are best effort; Fail returns
// the report and err (wrapped when interrupted).
func Fail(ctx context.Context, fsys lakefs.FS, rep transforms.RunReport, planned []transforms.InputFile, err error) (transforms.RunReport, error) {
	rep.Status = transforms.StatusFailed
	// A file read in splits is one file.
	seen := map[string]bool{}
	rep.Totals.Files, rep.Totals.Bytes = 0, 0
	for _, f := range planned {
		if !seen[f.Path] {
			seen[f.Path] = true
			rep.Totals.Files++
			rep.Totals.Bytes += f.Size
		}
	}
	bg := context.WithoutCancel(ctx)
	pending := lakestate.CommitPending(bg, fsys, rep.Output, rep.Pipeline, rep.RunID)
	if cause := context.Cause(ctx); cause != nil && !pending {
		// What failed was cut short by the interruption (a read's
		// "context canceled"): say so, not blame an innocent file.
		rep.Status = transforms.StatusInterrupted
		err = fmt.Errorf("%w: nothing of the run committed", cause)
	}
	rep.Error = err.Error()
	finish(&rep)
	if !pending {
		_ = fsys.DeleteAll(bg, lakestate.TempDir(rep.Output, rep.Pipeline, rep.RunID))
	}
	_ = lakestate.WriteReport(bg, fsys, rep.Output, rep.RunID, rep)
	return rep, err
}

// Nothing ends a run whose plan selected nothing to read or replace: it
// writes the run's report, status nothing_to_do.
func Nothing(ctx context.Context, fsys lakefs.FS, rep transforms.RunReport) (transforms.RunReport, error) {
	rep.Status = transforms.StatusNothingToDo
	finish(&rep)
	return rep, lakestate.WriteReport(ctx, fsys, rep.Output, rep.RunID, rep)
}

// Result reads the report that the commit step of run runID wrote (Run,
// on whichever worker ran it). It is read even after an interruption: a
// commit whose log was recorded is finished (lakestate.Apply).
func Result(ctx context.Context, fsys lakefs.FS, output, runID string) (transforms.RunReport, error) {
	var rep transforms.RunReport
	if err := lakestate.ReadReport(context.WithoutCancel(ctx), fsys, output, runID, &rep); err != nil {
		return rep, fmt.Errorf("the pipeline finished but left no run report: %w", err)
	}
	return rep, nil
}

func finish(r *transforms.RunReport) {
	r.FinishedAt = time.Now().UTC()
	r.Seconds = r.FinishedAt.Sub(r.StartedAt).Seconds()
}

func partitionReports(moves []lakestate.Move) []transforms.PartitionReport {
	idx := map[string]int{}
	var out []transforms.PartitionReport
	for _, m := range moves {
		k := m.Table + "/" + m.Partition
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, transforms.PartitionReport{Table: m.Table, Partition: m.Partition})
		}
		out[i].Files++
		out[i].Rows += m.Rows
		out[i].Bytes += m.Bytes
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Table != out[j].Table {
			return out[i].Table < out[j].Table
		}
		return out[i].Partition < out[j].Partition
	})
	return out
}
