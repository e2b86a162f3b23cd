package lakestate

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vendorlake/vendorlake/io/lakefs"
)

// fast are lease settings short enough for tests.
var fast = LockOptions{Lease: 400 * time.Millisecond, Renew: 50 * time.Millisecond}

func with(o LockOptions, f func(*LockOptions)) LockOptions { f(&o); return o }

func TestLock(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	fsys := lakefs.Local{}
	l1, err := AcquireLock(ctx, fsys, out, "p", "r1", fast)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(LockPath(out, "p")); err != nil {
		t.Fatalf("no lock file: %v", err)
	}
	// Another pipeline has its own lock.
	lq, err := AcquireLock(ctx, fsys, out, "q", "rq", fast)
	if err != nil {
		t.Fatalf("another pipeline's lock: %v", err)
	}
	lq.Release()
	// Held and renewed by a live run: a second run waits, sees it
	// renewed, then fails, well before the lease.
	start := time.Now()
	if _, err := AcquireLock(ctx, fsys, out, "p", "r2", with(fast, func(o *LockOptions) { o.Wait = 50 * time.Millisecond })); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "run r1 (p, pid ") {
		t.Fatalf("second lock: %v", err)
	}
	if d := time.Since(start); d < 50*time.Millisecond || d > fast.Lease {
		t.Errorf("the second run gave up after %s", d)
	}
	if err := CheckLock(ctx, fsys, out, "p", "r1"); err != nil {
		t.Errorf("CheckLock of the holder: %v", err)
	}
	// --break-lock takes it over; the holder learns it has lost it.
	var prev LockInfo
	l3, err := AcquireLock(ctx, fsys, out, "p", "r3", with(fast, func(o *LockOptions) {
		o.BreakLock = true
		o.OnTakeover = func(p LockInfo, _ string) { prev = p }
	}))
	if err != nil {
		t.Fatalf("break the lock: %v", err)
	}
	if prev.RunID != "r1" {
		t.Errorf("takeover names %+v, want r1", prev)
	}
	select {
	case <-l1.Lost():
		if err := l1.Err(); !errors.Is(err, ErrLockLost) || !strings.Contains(err.Error(), "run r3") {
			t.Errorf("lost lock error: %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("r1 did not notice it lost its lock")
	}
	if err := CheckLock(ctx, fsys, out, "p", "r1"); !errors.Is(err, ErrLockLost) {
		t.Errorf("CheckLock of the lost lock: %v", err)
	}
	l1.Release() // harmless: it leaves r3's lock alone
	if err := CheckLock(ctx, fsys, out, "p", "r3"); err != nil {
		t.Errorf("r1's release removed r3's lock: %v", err)
	}
	l3.Release()
	if _, err := os.Stat(LockPath(out, "p")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("lock left after release: %v", err)
	}
}

// TestLockPlanted: locks planted as other runs left them.
func TestLockPlanted(t *testing.T) {
	host := hostname(t)
	info := func(host string, pid int, lease float64) string {
		data, _ := json.Marshal(LockInfo{RunID: "r0", Pipeline: "p", Host: host, PID: pid, LeaseS: lease,
			RenewedAt: time.Now().Add(-24 * time.Hour)}) // a clock far off: never trusted
		return string(data)
	}
	legacy := func(host string, pid int) string {
		return `{"run_id":"r0","pipeline":"didomi","host":"` + host + `","pid":` + itoa(pid) + `}`
	}
	tests := []struct {
		name     string
		path     func(out string) string
		content  string
		renewed  bool          // a goroutine keeps rewriting it
		wait     time.Duration // LockOptions.Wait
		taken    bool
		min, max time.Duration // how long AcquireLock takes
	}{
		{"other host, expired", lockP, info("elsewhere", 1, 0.3), false, 0, true, 300 * time.Millisecond, 2 * time.Second},
		{"other host, renewed", lockP, info("elsewhere", 1, 0.3), true, 0, false, 0, 300 * time.Millisecond},
		{"other host, renewed, waited for", lockP, info("elsewhere", 1, 0.3), true, 500 * time.Millisecond, false, 500 * time.Millisecond, 2 * time.Second},
		{"this host, process gone", lockP, info(host, 2147483646, 60), false, 0, true, 0, 200 * time.Millisecond},
		{"legacy, other host", LegacyLockPath, legacy("elsewhere", 1), false, 200 * time.Millisecond, false, 200 * time.Millisecond, 2 * time.Second},
		{"legacy, this host, process gone", LegacyLockPath, legacy(host, 2147483646), false, 0, true, 0, 200 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			out := t.TempDir()
			p := tt.path(out)
			if err := lakefs.WriteFile(ctx, lakefs.Local{}, p, []byte(tt.content)); err != nil {
				t.Fatal(err)
			}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			if tt.renewed {
				wg.Go(func() {
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						case <-time.After(50 * time.Millisecond):
						}
						var li LockInfo
						_ = json.Unmarshal([]byte(tt.content), &li)
						li.RenewedAt = li.RenewedAt.Add(time.Duration(i) * time.Second)
						data, _ := json.Marshal(li)
						_ = lakefs.WriteFile(ctx, lakefs.Local{}, p, data)
					}
				})
			}
			defer func() { close(stop); wg.Wait() }()
			var took []string
			start := time.Now()
			l, err := AcquireLock(ctx, lakefs.Local{}, out, "p", "r1", with(fast, func(o *LockOptions) {
				o.Wait = tt.wait
				o.OnTakeover = func(prev LockInfo, why string) { took = append(took, prev.Host+": "+why) }
			}))
			d := time.Since(start)
			if tt.taken != (err == nil) {
				t.Fatalf("taken: %v (%v), want %v", err == nil, err, tt.taken)
			}
			if err != nil && !errors.Is(err, ErrLocked) {
				t.Errorf("error %v does not wrap ErrLocked", err)
			}
			if err == nil {
				defer l.Release()
			}
			if d < tt.min || d > tt.max {
				t.Errorf("took %s, want %s to %s", d, tt.min, tt.max)
			}
			if tt.name == "other host, expired" && (len(took) != 1 || !strings.HasPrefix(took[0], "elsewhere: unchanged for its lease")) {
				t.Errorf("takeover warnings %q", took)
			}
		})
	}
}

func lockP(out string) string { return LockPath(out, "p") }

func itoa(i int) string { data, _ := json.Marshal(i); return string(data) }

// TestLockRace: runs racing for one expired lock: exactly one takes it.
func TestLockRace(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	stale, _ := json.Marshal(LockInfo{RunID: "r0", Pipeline: "p", Host: "elsewhere", PID: 1, LeaseS: 0.2})
	if err := lakefs.WriteFile(ctx, lakefs.Local{}, LockPath(out, "p"), stale); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var mu sync.Mutex
	var won []*Lock
	var lost int
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			l, err := AcquireLock(ctx, lakefs.Local{}, out, "p", "r"+itoa(i+1), with(fast, func(o *LockOptions) { o.Wait = 300 * time.Millisecond }))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if !errors.Is(err, ErrLocked) {
					t.Errorf("racer %d: %v", i, err)
				}
				lost++
				return
			}
			won = append(won, l)
		})
	}
	wg.Wait()
	if len(won) != 1 || lost != n-1 {
		t.Fatalf("%d won, %d lost; want 1 and %d", len(won), lost, n-1)
	}
	time.Sleep(2 * fast.Renew)
	if err := won[0].Err(); err != nil {
		t.Errorf("the winner lost its lock: %v", err)
	}
	won[0].Release()
}
