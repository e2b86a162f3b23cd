package run

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/vendorlake/vendorlake/io/ledger"
	"github.com/vendorlake/vendorlake/transforms"
)

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

// waitExpired is the error of a --wait-for-success that ended with units
// still incomplete (nil when none is): it names them and says whether the
// complete units were committed.
func waitExpired(plan transforms.Plan, wait time.Duration) error {
	var units []string
	for _, s := range plan.Skipped {
		if s.Incomplete() {
			units = append(units, s.What)
		}
	}
	if len(units) == 0 {
		return nil
	}
	committed := "nothing else to commit"
	switch n := len(plan.Units); {
	case n == 1:
		committed = "the complete unit is committed"
	case n > 1:
		committed = fmt.Sprintf("the %d complete units are committed", n)
	}
	return fmt.Errorf("%w after %s: %s still not complete (no _SUCCESS marker): %s; %s",
		ErrWaitExpired, wait, plural(len(units), "unit", "units"), some(units, maxValues), committed)
}

// nothingNew is the note of a run that selected nothing to read: every
// complete unit it found was already committed, the last time by the run
// that appears last in the ledger led (run IDs sort by time).
func nothingNew(led map[string]ledger.Entry) string {
	if len(led) == 0 {
		return ""
	}
	runs := make([]string, 0, len(led))
	for _, e := range led {
		runs = append(runs, e.RunID)
	}
	return "nothing new since run " + slices.Max(runs) + ": every complete unit selected is already committed"
}

// plural is "N one" or "N many" as n asks.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
