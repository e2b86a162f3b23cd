package run

import (
	"context"
	"time"

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
