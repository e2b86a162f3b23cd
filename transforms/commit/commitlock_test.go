package commit

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/lakestate"
)

// TestCommitChecksTheLock: the commit step re-reads its pipeline's lock
// right before it records its commit log: a run whose lock another run
// took over commits nothing.
func TestCommitChecksTheLock(t *testing.T) {
	ctx := context.Background()
	opts := lakestate.LockOptions{Lease: time.Second, Renew: 100 * time.Millisecond}
	tests := []struct {
		name   string
		holder string // the run holding lock "p"; "" for none
		want   error
	}{
		{"held by the run", "r1", nil},
		{"taken over by another run", "r2", lakestate.ErrLockLost},
		{"removed", "", lakestate.ErrLockLost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := t.TempDir()
			if tt.holder != "" {
				l, err := lakestate.AcquireLock(ctx, lakefs.Local{}, out, "p", tt.holder, opts)
				if err != nil {
					t.Fatal(err)
				}
				defer l.Release()
			}
			cfg := Config{Pipeline: "p_next", LockPipeline: "p", LockRunID: "r1", Output: out, RunID: "r1-p_next", MaxRejectRatio: 1}
			err := Run(ctx, lakefs.Local{}, cfg, nil, nil)
			if !errors.Is(err, tt.want) && !(tt.want == nil && err == nil) {
				t.Fatalf("Run = %v, want %v", err, tt.want)
			}
			_, statErr := os.Stat(lakestate.ReportPath(out, cfg.RunID))
			if committed := statErr == nil; committed != (tt.want == nil) {
				t.Errorf("committed: %v (%v)", committed, err)
			}
		})
	}
}
