// Package faults is a test hook for crash-safety tests: named fault points
// in the code that kill the process with SIGKILL at a chosen moment, so that
// a test can check that a plain rerun recovers from a crash there.
//
// It is inert unless the environment variable VENDORLAKE_FAULT is set to
// "POINT:N" (e.g. "commit.move:2"): then the N-th call of Hit(ctx, POINT) in
// this process sends SIGKILL to the process itself. No other call does
// anything but compare a string, so the hooks cost nothing in production.
//
// "POINT:N:INT" and "POINT:N:TERM" send SIGINT or SIGTERM instead, for the
// tests of an interrupted run: the N-th hit sends the signal to the process
// and then waits (up to 10 seconds) for ctx to be done, as the command's
// handler does on the signal, so that the run meets its cancellation
// right after that point; the run goes on from there.
//
// "POINT:N:PAUSE" pauses instead: the N-th hit prints "vendorlake: fault
// POINT:N paused" to stderr and blocks until ctx is done (at most 10
// minutes), so that a test can act on the run while it is held there (the
// Flink tests kill a TaskManager while a job waits before its commit; the
// process ends with the job, the paused call never returns).
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
	point string         // armed point; "" when inert
	at    int64          // the hit of point that fires
	sig   syscall.Signal // what it sends: SIGKILL, SIGINT or SIGTERM
	pause bool           // pause instead of a signal
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
	n, signame, _ := strings.Cut(n, ":")
	k, err := strconv.ParseInt(n, 10, 64)
	s, known := map[string]syscall.Signal{"": syscall.SIGKILL, "INT": syscall.SIGINT, "TERM": syscall.SIGTERM, "PAUSE": 0}[signame]
	if !ok || name == "" || err != nil || k < 1 || !known {
		fmt.Fprintf(os.Stderr, "vendorlake: ignoring %s=%q: want POINT:N or POINT:N:INT, POINT:N:TERM or POINT:N:PAUSE, with N >= 1\n", Env, v)
		return
	}
	point, at, sig, pause = name, k, s, signame == "PAUSE"
}

// Hit marks that execution reached the fault point name. When the process
// was started with VENDORLAKE_FAULT=name:N, the N-th hit kills the process
// with SIGKILL (no deferred function, no cleanup runs: a crash). With
// name:N:INT or name:N:TERM it sends SIGINT or SIGTERM, then waits for ctx
// to be done (at most 10 seconds) and returns.
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
	if pause {
		fmt.Fprintf(os.Stderr, "vendorlake: fault %s:%d paused\n", name, at)
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Minute):
		}
		return
	}
	if err := syscall.Kill(os.Getpid(), sig); err != nil {
		panic(fmt.Sprintf("faults: %v at %s:%d: %v", sig, name, at, err))
	}
	if sig != syscall.SIGKILL {
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Second):
		}
		return
	}
	// The signal is delivered asynchronously to the other threads: let
	// nothing else happen on this goroutine meanwhile.
	for {
		time.Sleep(time.Hour)
	}
}
