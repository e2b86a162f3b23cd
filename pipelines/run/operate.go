package run

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/lakestate"
	"github.com/vendorlake/vendorlake/io/ledger"
	"github.com/vendorlake/vendorlake/transforms"
)

// ErrLocked is returned (wrapped) when another run holds the output's lock
// (see lakestate.AcquireLock).
var ErrLocked = lakestate.ErrLocked

// waitForComplete rediscovers until no selected input is incomplete (its
// vendor's _SUCCESS marker missing) or the wait is over.
func waitForComplete(ctx context.Context, plan transforms.Plan, wait time.Duration, rediscover func() (transforms.Plan, error)) (transforms.Plan, error) {
	deadline := time.Now().Add(wait)
	for incomplete(plan) > 0 && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return plan, ctx.Err()
		case <-time.After(min(5*time.Second, time.Until(deadline))):
		}
		var err error
		if plan, err = rediscover(); err != nil {
			return plan, err
		}
	}
	return plan, nil
}

func incomplete(plan transforms.Plan) int {
	n := 0
	for _, s := range plan.Skipped {
		if s.Incomplete() {
			n++
		}
	}
	return n
}

// ---- progress: each finished input file leaves a small marker in the
// run's temporary area; the launching process lists them. This works the
// same whether workers are goroutines of this process or hosts of a cluster.

func init() {
	register.DoFn2x1[context.Context, transforms.FileStats, error](&progressFn{})
	beam.RegisterType(reflect.TypeOf((*progressFn)(nil)).Elem())
}

func progressDir(output, runID string) string {
	return lakefs.Join(lakestate.TempDir(output, runID), "_progress")
}

type progressFn struct {
	Output string         `json:"output"`
	RunID  string         `json:"run_id"`
	FS     lakefs.Options `json:"fs"`

	fs lakefs.FS
}

func (fn *progressFn) Setup(ctx context.Context) error {
	var err error
	fn.fs, err = lakefs.New(ctx, fn.Output, fn.FS)
	return err
}

func (fn *progressFn) ProcessElement(ctx context.Context, st transforms.FileStats) error {
	data, err := json.Marshal(progressMark{Rel: st.Rel, Bytes: st.Bytes, Records: st.RecordsIn})
	if err != nil {
		return err
	}
	h := sha256.Sum256(data)
	return lakefs.WriteFile(ctx, fn.fs, lakefs.Join(progressDir(fn.Output, fn.RunID), hex.EncodeToString(h[:12])+".json"), data)
}

type progressMark struct {
	Rel     string `json:"rel"`
	Bytes   int64  `json:"bytes"`
	Records int64  `json:"records"`
}

// reportProgress prints, every interval until stop is closed, how many
// input files are done, bytes and records, the rate and an ETA. On a
// terminal it redraws one line; otherwise it writes log lines.
func reportProgress(ctx context.Context, fsys lakefs.FS, output, runID string, files int, totalBytes int64, interval time.Duration, w io.Writer, terminal bool, log *slog.Logger, stop <-chan struct{}) {
	start := time.Now()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	last := ""
	for {
		select {
		case <-stop:
			if terminal && last != "" {
				fmt.Fprintln(w)
			}
			return
		case <-tick.C:
		}
		marks, err := fsys.List(ctx, progressDir(output, runID))
		if err != nil {
			continue
		}
		var done, records int64
		for _, m := range marks {
			raw, err := lakefs.ReadFile(ctx, fsys, m.Path)
			if err != nil {
				continue
			}
			var pm progressMark
			if json.Unmarshal(raw, &pm) == nil {
				done += pm.Bytes
				records += pm.Records
			}
		}
		el := time.Since(start).Seconds()
		rate := float64(done) / el
		eta := "?"
		if rate > 0 && totalBytes > done {
			eta = (time.Duration(float64(totalBytes-done)/rate) * time.Second).Round(time.Second).String()
		} else if totalBytes <= done && len(marks) > 0 {
			eta = "committing"
		}
		line := fmt.Sprintf("progress: %d/%d files, %s/%s, %d records, %s/s, ETA %s",
			len(marks), files, human(done), human(totalBytes), records, human(int64(rate)), eta)
		if terminal {
			fmt.Fprintf(w, "\r%-100s", line)
		} else if line != last {
			log.Info("progress", "run_id", runID, "files_done", len(marks), "files", files, "bytes_done", done, "bytes", totalBytes,
				"records", records, "bytes_per_s", int64(rate), "eta", eta)
		}
		last = line
	}
}

// dryRun discovers what a run would do and reports it without changing
// anything: no recovery, no temporary files, no report written.
func dryRun(ctx context.Context, p Pipeline, o Options, inFS, outFS lakefs.FS, rep transforms.RunReport) (transforms.RunReport, error) {
	rep.PendingCommits = lakestate.PendingCommits(ctx, outFS, o.Output)
	led := map[string]ledger.Entry{}
	if !o.Reprocess {
		var err error
		if led, err = lakestate.LoadLedger(ctx, outFS, o.Output, p.Name()); err != nil {
			return rep, err
		}
	}
	plan, err := p.Discover(ctx, inFS, o.Input, led)
	if err != nil {
		return rep, fmt.Errorf("discover %s: %w", o.Input, err)
	}
	if !o.AllowEmptyPartitions {
		plan = withoutEmptyUnits(plan)
	}
	rep.Status = transforms.StatusDryRun
	rep.Plan = &plan
	rep.Skipped = plan.Skipped
	for _, f := range plan.Files {
		rep.Totals.Files++
		rep.Totals.Bytes += f.Size
	}
	rep.FinishedAt = time.Now().UTC()
	rep.Seconds = rep.FinishedAt.Sub(rep.StartedAt).Seconds()
	return rep, nil
}

// withoutEmptyUnits is plan as a dry run shows it: the guarded units
// (Unit.Claims) without any input file, which the real run would skip, move
// with their claims from the plan to Skipped as warnings. (A unit whose files
// hold no record is only known after reading them.)
func withoutEmptyUnits(plan transforms.Plan) transforms.Plan {
	files := map[string]bool{}
	for _, f := range plan.Files {
		files[f.Unit] = true
	}
	drop := map[hiveparquet.Claim]bool{}
	var units []transforms.Unit
	skipped := append([]transforms.Skipped(nil), plan.Skipped...)
	for _, u := range plan.Units {
		if len(u.Claims) == 0 || files[u.Key] {
			units = append(units, u)
			continue
		}
		for _, c := range u.Claims {
			drop[c] = true
		}
		skipped = append(skipped, transforms.Skipped{What: u.Key, Warning: true,
			Reason: transforms.ReasonEmpty + " (no input file): would not be committed, its previous contents stay; --allow-empty-partitions commits it empty"})
	}
	var claims []hiveparquet.Claim
	for _, c := range plan.Claims {
		if !drop[c] {
			claims = append(claims, c)
		}
	}
	plan.Units, plan.Claims, plan.Skipped = units, claims, skipped
	return plan
}
