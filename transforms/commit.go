package transforms

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/ledger"
)

// Unit is a set of inputs committed together, with the ledger key they are
// recorded under.
type Unit struct {
	Key    string         `json:"key"`
	Inputs []ledger.Input `json:"inputs"`
}

// CommitConfig is everything the commit step needs besides the files and
// counters that flow into it. It is serialised into the DoFn, so it must
// stay small: file lists, not data.
type CommitConfig struct {
	Pipeline       string                  `json:"pipeline"`
	Runner         string                  `json:"runner"`
	Input          string                  `json:"input"`
	Output         string                  `json:"output"`
	RunID          string                  `json:"run_id"`
	FS             lakefs.Options          `json:"fs"`
	Tables         []hiveparquet.TableSpec `json:"tables"`
	Claims         []hiveparquet.Claim     `json:"claims"`
	Units          []Unit                  `json:"units"`
	Skipped        []Skipped               `json:"skipped"`
	Recovered      []string                `json:"recovered,omitempty"`
	MaxRejectRatio float64                 `json:"max_reject_ratio"`
	StartedAt      time.Time               `json:"started_at"`
	// ExpectedFiles is the number of input files; the commit refuses to run
	// when fewer file counters arrive (a lost bundle must never commit).
	ExpectedFiles int `json:"expected_files"`
}

func init() {
	register.DoFn4x1[context.Context, int, func(*hiveparquet.FileDesc) bool, func(*FileStats) bool, error](&commitFn{})
	register.Iter1[hiveparquet.FileDesc]()
	register.Iter1[FileStats]()
}

// Commit is the single finalize step of a run: after every write finished,
// it checks the per-file counters and the reject ratio, then publishes the
// run's files (hiveparquet.Plan/Apply) together with the ledger entries and
// the run report. files is a PCollection<hiveparquet.FileDesc>, stats a
// PCollection<FileStats>. Both are small (descriptors and counters, never
// rows), so grouping them on one key is cheap on every runner.
func Commit(s beam.Scope, cfg CommitConfig, files, stats beam.PCollection) {
	s = s.Scope("transforms.Commit")
	kf := beam.AddFixedKey(s, files)
	ks := beam.AddFixedKey(s, stats)
	grouped := beam.CoGroupByKey(s, kf, ks)
	beam.ParDo0(s, &commitFn{Config: cfg}, grouped)
}

type commitFn struct {
	Config CommitConfig `json:"config"`
}

func (fn *commitFn) ProcessElement(ctx context.Context, _ int, fileIter func(*hiveparquet.FileDesc) bool, statIter func(*FileStats) bool) error {
	cfg := fn.Config
	var files []hiveparquet.FileDesc
	var f hiveparquet.FileDesc
	for fileIter(&f) {
		files = append(files, f)
	}
	var stats []FileStats
	var st FileStats
	for statIter(&st) {
		stats = append(stats, st)
		st = FileStats{}
	}
	return CommitRun(ctx, cfg, files, stats)
}

// CommitRun is the commit step as a plain function, for the Commit DoFn and
// for runs whose plan has no input file to read (only partitions to empty).
func CommitRun(ctx context.Context, cfg CommitConfig, files []hiveparquet.FileDesc, stats []FileStats) error {
	fsys, err := lakefs.New(ctx, cfg.Output, cfg.FS)
	if err != nil {
		return err
	}
	if len(stats) != cfg.ExpectedFiles {
		return fmt.Errorf("commit: counters for %d input files arrived, %d expected; nothing committed", len(stats), cfg.ExpectedFiles)
	}
	// Raw files travel with their input's counters; the report keeps only the counters.
	for i := range stats {
		files = append(files, stats[i].Files...)
		stats[i].Files = nil
	}
	rep := RunReport{
		RunID: cfg.RunID, Pipeline: cfg.Pipeline, Runner: cfg.Runner, Input: cfg.Input, Output: cfg.Output,
		StartedAt: cfg.StartedAt, Inputs: stats, Skipped: cfg.Skipped, MaxRejectRatio: cfg.MaxRejectRatio,
		Recovered: cfg.Recovered,
	}
	rep.Totals = SumStats(stats)
	if rep.Totals.RecordsIn > 0 {
		rep.RejectRatio = float64(rep.Totals.Rejected) / float64(rep.Totals.RecordsIn)
	}
	var refused []string
	for _, st := range stats {
		for _, c := range st.Replaces {
			if c.Refused != "" {
				refused = append(refused, c.Refused)
			}
		}
	}
	if len(refused) > 0 {
		// Refuse to replace what the lake holds with much less.
		rep.Status = StatusRefused
		rep.Error = strings.Join(refused, "; ") + ": nothing committed"
		finish(&rep)
		if err := fsys.DeleteAll(ctx, hiveparquet.TempDir(cfg.Output, cfg.RunID)); err != nil {
			return err
		}
		return WriteReport(ctx, fsys, rep)
	}
	if rep.RejectRatio > cfg.MaxRejectRatio {
		// Refuse to replace good partitions with a mostly broken drop.
		rep.Status = StatusRejectRatioExceeded
		rep.Error = fmt.Sprintf("reject ratio %.4f exceeds --max-reject-ratio=%g: nothing committed", rep.RejectRatio, cfg.MaxRejectRatio)
		finish(&rep)
		if err := fsys.DeleteAll(ctx, hiveparquet.TempDir(cfg.Output, cfg.RunID)); err != nil {
			return err
		}
		return WriteReport(ctx, fsys, rep)
	}

	log, err := hiveparquet.Plan(ctx, fsys, cfg.Output, cfg.RunID, cfg.Tables, files, cfg.Claims)
	if err != nil {
		return err
	}
	rep.Status = StatusCommitted
	rep.Partitions = partitionReports(log.Moves)
	rep.FilesReplaced = len(log.Deletes)
	finish(&rep)
	now := time.Now().UTC()
	for _, u := range cfg.Units {
		data, err := json.Marshal(ledger.Entry{Pipeline: cfg.Pipeline, Unit: u.Key, Inputs: u.Inputs, RunID: cfg.RunID, CommittedAt: now})
		if err != nil {
			return err
		}
		log.Writes = append(log.Writes, hiveparquet.SideWrite{Path: ledger.Path(cfg.Output, cfg.Pipeline, u.Key), Data: data})
	}
	repData, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	log.Writes = append(log.Writes, hiveparquet.SideWrite{Path: ReportPath(cfg.Output, cfg.RunID), Data: repData})
	return hiveparquet.Apply(ctx, fsys, log)
}

func finish(r *RunReport) {
	r.FinishedAt = time.Now().UTC()
	r.Seconds = r.FinishedAt.Sub(r.StartedAt).Seconds()
}

func partitionReports(moves []hiveparquet.Move) []PartitionReport {
	idx := map[string]int{}
	var out []PartitionReport
	for _, m := range moves {
		k := m.Table + "/" + m.Partition
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, PartitionReport{Table: m.Table, Partition: m.Partition})
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

// Plan is what a run will read and replace, as decided by a pipeline's
// discovery step before the Beam graph is built.
type Plan struct {
	// Files are the input files to read.
	Files []InputFile `json:"files"`
	// Units are the ledger units the files belong to.
	Units []Unit `json:"units"`
	// Claims are the partitions (or sources) the run replaces.
	Claims []hiveparquet.Claim `json:"claims"`
	// Skipped are inputs left out, with the reason.
	Skipped []Skipped `json:"skipped"`
}
