package run

import (
	"context"
	"fmt"
	"time"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/lakestate"
	"github.com/vendorlake/vendorlake/io/ledger"
	"github.com/vendorlake/vendorlake/transforms"
	"github.com/vendorlake/vendorlake/transforms/commit"
)

// dryRun discovers what a run would do and reports it without changing
// anything: no recovery, no temporary files, no report written.
func dryRun(ctx context.Context, p Pipeline, o Options, inFS, outFS lakefs.FS, rep transforms.RunReport) (transforms.RunReport, error) {
	rep.PendingCommits = lakestate.PendingCommits(ctx, outFS, o.Output, p.Name())
	led := map[string]ledger.Entry{}
	if !o.Reprocess {
		var err error
		if led, err = lakestate.LoadLedger(ctx, outFS, o.Output, p.Name()); err != nil {
			return rep, err
		}
	}
	plan, err := p.Discover(ctx, o.Env(), inFS, led)
	if err != nil {
		return rep, fmt.Errorf("discover %s: %w", o.Input, err)
	}
	rep.Status = transforms.StatusDryRun
	rep.Skipped = plan.Skipped
	warnings, err := judge(ctx, inFS, o.Input, plan)
	if err != nil {
		rep.Error = err.Error()
		return rep, err
	}
	plan.Skipped = append(plan.Skipped, warnings...)
	if !o.AllowEmptyPartitions {
		plan = withoutEmptyUnits(plan)
	}
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
			Reason: commit.ReasonEmpty + " (no input file): would not be committed, its previous contents stay; --allow-empty-partitions commits it empty"})
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
