package lakestate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/vendorlake/vendorlake/io/lakefs"
)

// ErrLocked is returned (wrapped) when another run holds the output's lock.
var ErrLocked = errors.New("output is locked by another run")

// lockInfo is the content of the lock file (LockPath).
type lockInfo struct {
	RunID     string    `json:"run_id"`
	Pipeline  string    `json:"pipeline"`
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	StartedAt time.Time `json:"started_at"`
}

// AcquireLock takes the output's lock for run runID of pipeline so that two
// runs never write the same tables at once: an exclusive create (O_EXCL
// locally, a conditional PUT on S3). A lock left by a crashed run on this
// host (its process is gone) is taken over, and so is any lock when
// breakLock is set (its holder is known to be dead); one held elsewhere is
// waited for up to wait, then refused with an error wrapping ErrLocked that
// names its holder. release removes the lock.
func AcquireLock(ctx context.Context, fsys lakefs.FS, output, runID, pipeline string, wait time.Duration, breakLock bool) (release func(), err error) {
	host, _ := os.Hostname()
	me := lockInfo{RunID: runID, Pipeline: pipeline, Host: host, PID: os.Getpid(), StartedAt: time.Now().UTC()}
	data, _ := json.Marshal(me)
	p := LockPath(output)
	deadline := time.Now().Add(wait)
	for {
		err := lakefs.CreateExclusive(ctx, fsys, p, data)
		if err == nil {
			locksHeld.Store(runID, true)
			return func() {
				locksHeld.Delete(runID)
				_ = fsys.Delete(context.WithoutCancel(ctx), p)
			}, nil
		}
		if !errors.Is(err, lakefs.ErrExist) {
			return nil, fmt.Errorf("take the lock %s: %w", p, err)
		}
		var held lockInfo
		raw, rerr := lakefs.ReadFile(ctx, fsys, p)
		if rerr == nil {
			_ = json.Unmarshal(raw, &held)
		}
		stale := held.Host == host && held.PID > 0 && (!processAlive(held.PID) ||
			(held.PID == me.PID && !heldHere(held.RunID)))
		if stale || breakLock {
			if err := fsys.Delete(ctx, p); err != nil {
				return nil, fmt.Errorf("remove the stale lock %s: %w", p, err)
			}
			breakLock = false
			continue
		}
		if time.Now().After(deadline) {
			age := time.Since(held.StartedAt).Round(time.Second)
			return nil, fmt.Errorf("%w: run %s (%s, pid %d on %s) has held %s for %s",
				ErrLocked, held.RunID, held.Pipeline, held.PID, held.Host, p, age)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for the lock %s: %w", p, context.Cause(ctx))
		case <-time.After(min(time.Second, time.Until(deadline)+time.Millisecond)):
		}
	}
}

// locksHeld records the runs of this process that hold a lock, so that a
// lock this process failed to remove (e.g. S3 was down when its run ended)
// is known to be stale to this process's next run. It is launcher
// bookkeeping, never touched by DoFns.
var locksHeld sync.Map

func heldHere(runID string) bool {
	_, ok := locksHeld.Load(runID)
	return ok
}

// processAlive reports whether a process of this host exists.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
