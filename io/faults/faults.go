//go:build vendorlake_faults

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

// Enabled says whether this build has fault points (the build tag
// vendorlake_faults).
const Enabled = true

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
