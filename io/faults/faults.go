// Package faults is a test hook for crash-safety tests: named fault points
// in the code that kill the process with SIGKILL at a chosen moment, so that
// a test can check that a plain rerun recovers from a crash there.
//
// It is inert unless the environment variable VENDORLAKE_FAULT is set to
// "POINT:N" (e.g. "commit.move:2"): then the N-th call of Hit(ctx, POINT) in
// this process sends SIGKILL to the process itself. No other call does
// anything but compare a string, so the hooks cost nothing in production.
//
// VENDORLAKE_FAULT=trace prints every hit ("fault NAME:N") to stderr instead:
// the way to choose N for a point, or to update a test's settings when a
// sample changes.
//
// The hit counter is a package-level variable, deliberately: a fault is a
// trigger for one whole process (one run of the command, which under the
// direct runner holds every DoFn), not pipeline state, so there is nothing
// to serialise to workers or to reset between bundles. It is atomic because
// fault points are hit from parallel goroutines (parse workers, bundles).
// The variable is read once per process.
package faults

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Env is the environment variable that arms a fault: "POINT:N".
const Env = "VENDORLAKE_FAULT"

var (
	once  sync.Once
	point string // armed point; "" when inert
	at    int64  // the hit of point that kills
	hits  atomic.Int64

	trace  bool
	mu     sync.Mutex
	traced map[string]int64
)

func load() {
	v := os.Getenv(Env)
	if v == "" {
		return
	}
	if v == "trace" {
		trace, traced = true, map[string]int64{}
		return
	}
	name, n, ok := strings.Cut(v, ":")
	k, err := strconv.ParseInt(n, 10, 64)
	if !ok || name == "" || err != nil || k < 1 {
		fmt.Fprintf(os.Stderr, "vendorlake: ignoring %s=%q: want POINT:N with N >= 1\n", Env, v)
		return
	}
	point, at = name, k
}

// Hit marks that execution reached the fault point name. When the process
// was started with VENDORLAKE_FAULT=name:N, the N-th hit kills the process
// with SIGKILL (no deferred function, no cleanup runs: a crash). ctx is
// unused for now; it keeps call sites ready for a per-run scope.
func Hit(ctx context.Context, name string) {
	once.Do(load)
	if trace {
		mu.Lock()
		traced[name]++
		fmt.Fprintf(os.Stderr, "fault %s:%d\n", name, traced[name])
		mu.Unlock()
		return
	}
	if point == "" || name != point {
		return
	}
	if hits.Add(1) != at {
		return
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGKILL); err != nil {
		panic(fmt.Sprintf("faults: SIGKILL at %s:%d: %v", name, at, err))
	}
	// The signal is delivered asynchronously to the other threads: let
	// nothing else happen on this goroutine meanwhile.
	for {
		time.Sleep(time.Hour)
	}
}
