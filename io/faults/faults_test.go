//go:build vendorlake_faults

package faults

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestHelperProcess is the child of TestHitKillsOnNthHit: it hits the
// points it is told to and exits 0 if it survives.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("FAULTS_HELPER") == "" {
		t.Skip("helper process")
	}
	ctx := context.Background()
	if os.Getenv("FAULTS_HELPER") == "pause" {
		// Pauses at the armed hit until ctx ends, then goes on.
		ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		for i := 1; i <= 3; i++ {
			Hit(ctx, "p")
		}
		fmt.Printf("3 hits, paused %v", time.Since(start) >= 300*time.Millisecond)
		os.Exit(0)
	}
	if os.Getenv("FAULTS_HELPER") == "signal" {
		// Counts the hits until the signal cancelled ctx.
		ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		for i := 1; i <= 10; i++ {
			Hit(ctx, "p")
			if ctx.Err() != nil {
				fmt.Printf("%v after hit %d", context.Cause(ctx), i)
				break
			}
		}
		os.Exit(0)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				Hit(ctx, "other")
				Hit(ctx, "p")
			}
		}()
	}
	wg.Wait()
	os.Exit(0)
}

func runHelper(t *testing.T, fault string) error {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "FAULTS_HELPER=1", Env+"="+fault)
	return cmd.Run()
}

// TestHitPause: POINT:N:PAUSE says so on stderr at the N-th hit and blocks
// until the context is done.
func TestHitPause(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "FAULTS_HELPER=pause", Env+"=p:2:PAUSE")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || string(out) != "3 hits, paused true" || stderr.String() != "vendorlake: fault p:2 paused\n" {
		t.Errorf("p:2:PAUSE: stdout %q, stderr %q (%v)", out, stderr.String(), err)
	}
}

// TestHitSignals: POINT:N:INT and POINT:N:TERM send the signal at the N-th
// hit and return once the handler cancelled the context.
func TestHitSignals(t *testing.T) {
	for fault, want := range map[string]string{
		"p:3:INT":  "interrupt signal received after hit 3",
		"p:1:TERM": "terminated signal received after hit 1",
		"p:3:HUP":  "", // not a signal it sends: inert
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
		cmd.Env = append(os.Environ(), "FAULTS_HELPER=signal", Env+"="+fault)
		out, err := cmd.Output()
		if err != nil || string(out) != want {
			t.Errorf("%s=%q: %q (%v), want %q", Env, fault, out, err, want)
		}
	}
}

func killed(err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

func TestHitKillsOnNthHit(t *testing.T) {
	// 100 hits of "p" from 4 goroutines: the 1st and the 100th kill, the
	// 101st never comes, and a malformed or absent setting is inert.
	for _, c := range []struct {
		fault string
		kill  bool
	}{{"p:1", true}, {"p:100", true}, {"p:101", false}, {"q:1", false}, {"p", false}, {"p:0", false}, {"", false}} {
		err := runHelper(t, c.fault)
		if got := killed(err); got != c.kill {
			t.Errorf("%s=%q: killed %v (%v), want %v", Env, c.fault, got, err, c.kill)
		}
		if !c.kill && err != nil {
			t.Errorf("%s=%q: %v", Env, c.fault, err)
		}
	}
}

func TestInertWithoutVariable(t *testing.T) {
	if os.Getenv(Env) != "" {
		t.Skip(Env + " is set")
	}
	for i := 0; i < 1000; i++ {
		Hit(context.Background(), "p")
	}
}
