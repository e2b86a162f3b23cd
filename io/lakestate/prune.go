package lakestate

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/vendorlake/vendorlake/io/lakefs"
)

// Pruned says what PruneReports removed.
type Pruned struct {
	// Reports is how many run reports were removed.
	Reports int `json:"reports"`
	// RejectFiles is how many files of kept rejects (RejectsDir) were removed.
	RejectFiles int `json:"reject_files"`
}

// runIDTime is the time at the start of a run ID (run.NewRunID).
const runIDTime = "20060102T150405Z"

// reportAge is when run runID started: from its name when it starts with
// the run's UTC time (every run ID vendorlake makes), else the report's
// modification time.
func reportAge(runID string, mtime time.Time) time.Time {
	if len(runID) >= len(runIDTime) {
		if t, err := time.Parse(runIDTime, runID[:len(runIDTime)]); err == nil {
			return t
		}
	}
	return mtime
}

// PruneReports removes, under output, the run reports of the pipelines
// started before cutoff, with the rejects they kept (RejectsDir). Reports
// of all pipelines share RunsDir: a report old enough is read to learn its
// pipeline (its "pipeline" field), so the cost follows what is removed, not
// what is kept; the age comes from the run ID in the name. The ledger is
// never touched. The caller holds the pipelines' lock.
func PruneReports(ctx context.Context, fsys lakefs.FS, output string, pipelines []string, cutoff time.Time) (Pruned, error) {
	var pr Pruned
	dir := RunsDir(output)
	files, err := fsys.List(ctx, dir)
	if err != nil {
		return pr, fmt.Errorf("prune reports: %w", err)
	}
	// The files of each run's kept rejects, by run ID.
	rejects := map[string][]string{}
	type report struct {
		runID string
		info  lakefs.FileInfo
	}
	var reports []report
	for _, f := range files {
		rel, ok := lakefs.Rel(dir, f.Path)
		if !ok {
			continue
		}
		if runID, rest, found := strings.Cut(rel, "/"); found {
			if rest != "" {
				rejects[runID] = append(rejects[runID], f.Path)
			}
			continue
		}
		if path.Ext(rel) == ".json" && !strings.HasPrefix(rel, ".") {
			reports = append(reports, report{strings.TrimSuffix(rel, ".json"), f})
		}
	}
	want := map[string]bool{}
	for _, p := range pipelines {
		want[p] = true
	}
	for _, r := range reports {
		if err := ctx.Err(); err != nil {
			return pr, err
		}
		if !reportAge(r.runID, r.info.ModTime).Before(cutoff) {
			continue
		}
		owner, err := reportPipeline(ctx, fsys, r.info.Path)
		if err != nil {
			return pr, err
		}
		if !want[owner] {
			continue
		}
		// The evidence first: a report whose rejects are gone is better
		// than rejects no report names.
		for _, p := range rejects[r.runID] {
			if err := fsys.Delete(ctx, p); err != nil {
				return pr, fmt.Errorf("prune reports: %w", err)
			}
			pr.RejectFiles++
		}
		if len(rejects[r.runID]) > 0 {
			_ = fsys.DeleteAll(ctx, RejectsDir(output, r.runID)) // the empty folders on local disk
		}
		if err := fsys.Delete(ctx, r.info.Path); err != nil {
			return pr, fmt.Errorf("prune reports: %w", err)
		}
		pr.Reports++
	}
	return pr, nil
}

// reportPipeline reads the pipeline of the report at p; a file that is not
// a JSON object has none.
func reportPipeline(ctx context.Context, fsys lakefs.FS, p string) (string, error) {
	data, err := lakefs.ReadFile(ctx, fsys, p)
	if err != nil {
		return "", fmt.Errorf("prune reports: %w", err)
	}
	var r struct {
		Pipeline string `json:"pipeline"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return "", nil // not a run report of ours: left alone
	}
	return r.Pipeline, nil
}
