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

// ErrLocked is returned (wrapped) when another run holds the pipeline's
// lock, and when a run lost its lock to another run.
var ErrLocked = errors.New("output is locked by another run")

// ErrLockLost is returned (wrapped, and wrapping ErrLocked) when a run
// lost its lock: another run took it over (the run had stalled for a whole
// lease, or a person used --break-lock), or the run could not renew it for
// a whole lease. Such a run must not commit.
var ErrLockLost = fmt.Errorf("%w: the run lost its lock", ErrLocked)

// Default lease settings (--lock-lease, --lock-renew).
const (
	DefaultLockLease = 60 * time.Second
	DefaultLockRenew = 10 * time.Second
)

// LockInfo is the content of a lock (LockPath): JSON, rewritten by its
// holder every renewal.
type LockInfo struct {
	RunID    string `json:"run_id"`
	Pipeline string `json:"pipeline"`
	Host     string `json:"host"`
	PID      int    `json:"pid"`
	// RenewedAt is the holder's clock at its last renewal: for people only,
	// no reader trusts it (see AcquireLock).
	RenewedAt time.Time `json:"renewed_at"`
	// LeaseS is the lease in seconds: the holder renews well within it,
	// so a lock unchanged for that long is expired.
	LeaseS float64 `json:"lease_s"`
}

func (i LockInfo) String() string {
	return fmt.Sprintf("run %s (%s, pid %d on %s)", i.RunID, i.Pipeline, i.PID, i.Host)
}

func (i LockInfo) lease() time.Duration { return time.Duration(i.LeaseS * float64(time.Second)) }

// LockOptions configure AcquireLock.
type LockOptions struct {
	// Wait is how long to wait for a live holder's lock before giving up.
	Wait time.Duration
	// Lease and Renew: the lock is rewritten every Renew and counts as
	// expired when unchanged for Lease; zero means the defaults.
	Lease, Renew time.Duration
	// BreakLock takes any lock over at once (a person knows its run is
	// dead).
	BreakLock bool
	// OnTakeover, when set, is told of a lock taken over: its previous
	// holder and why.
	OnTakeover func(prev LockInfo, why string)
}

// Lock is a lock held by this process, renewed in the background until
// Release.
type Lock struct {
	fsys     lakefs.FS
	path     string
	info     LockInfo
	renew    time.Duration
	lostOnce sync.Once
	lost     chan struct{}
	lostErr  error
	stop     chan struct{}
	done     chan struct{}
	mu       sync.Mutex // guards version
	version  string
}

// AcquireLock takes the lock of pipeline on output (LockPath) for run
// runID, so that two runs of one pipeline never write its tables at once;
// runs of other pipelines have their own locks. The lock is a lease: a
// JSON LockInfo that the returned Lock rewrites every Renew.
//
// A free lock is taken with an exclusive create (O_EXCL locally, a
// conditional PUT on S3). A held lock is watched: it is expired when its
// content (its version: ETag on S3, inode and content locally) has not
// changed for its holder's lease, measured on this process's monotonic
// clock, so no host's clock is trusted. An expired lock is taken over,
// whatever host held it, with a conditional replace of the version judged
// expired (lakefs.ReplaceIf): of runs racing for one expired lock exactly
// one wins, and OnTakeover names the previous holder. A lock of this host
// whose process is gone is taken over at once, and so is any lock with
// BreakLock. A live holder (its lock changed while watched) is waited for
// up to Wait, then refused with an error wrapping ErrLocked that names it;
// so a run that finds a lock held waits at least until it sees it renewed
// (one Renew of the holder) or expire (one lease).
//
// The lock of the versions before the per-pipeline lock (LegacyLockPath)
// is honoured as those versions did: while a live run holds it (another
// host's, or a live process of this one) no pipeline's lock is taken; a
// stale one (its process gone from this host) or, with BreakLock, any one
// is removed.
func AcquireLock(ctx context.Context, fsys lakefs.FS, output, pipeline, runID string, o LockOptions) (*Lock, error) {
	// The run is this process's before any lock file names it: a racer of
	// this process that reads the lock between the write and hold would
	// otherwise find a run of a live pid that is not held here, take it for
	// a crashed one and take the lock over too (2 of 8 racers won).
	locksHeld.Store(runID, true)
	l, err := acquireLock(ctx, fsys, output, pipeline, runID, o)
	if err != nil {
		locksHeld.Delete(runID)
	}
	return l, err
}

func acquireLock(ctx context.Context, fsys lakefs.FS, output, pipeline, runID string, o LockOptions) (*Lock, error) {
	if o.Lease <= 0 {
		o.Lease = DefaultLockLease
	}
	if o.Renew <= 0 {
		o.Renew = DefaultLockRenew
	}
	if o.Renew >= o.Lease {
		return nil, fmt.Errorf("take the lock: the renewal interval %s must be shorter than the lease %s", o.Renew, o.Lease)
	}
	host, _ := os.Hostname()
	me := LockInfo{RunID: runID, Pipeline: pipeline, Host: host, PID: os.Getpid(), LeaseS: o.Lease.Seconds()}
	p := LockPath(output, pipeline)
	deadline := time.Now().Add(o.Wait)
	poll := min(max(o.Renew/5, 20*time.Millisecond), time.Second)
	var seenVersion string
	var seenAt time.Time
	alive := false // the lock changed while watched
	for {
		legacy, err := legacyHolder(ctx, fsys, output, host, me.PID, o.BreakLock)
		if err != nil {
			return nil, err
		}
		var held LockInfo
		var version string
		if legacy == nil {
			me.RenewedAt = time.Now().UTC()
			data, _ := json.Marshal(me)
			v, err := lakefs.CreateVersion(ctx, fsys, p, data)
			if err == nil {
				return hold(fsys, p, me, v, o.Renew), nil
			}
			if !errors.Is(err, lakefs.ErrExist) {
				return nil, fmt.Errorf("take the lock %s: %w", p, err)
			}
			raw, v, err := lakefs.ReadVersion(ctx, fsys, p)
			if errors.Is(err, lakefs.ErrNotExist) {
				continue // released in between
			}
			if err != nil {
				return nil, fmt.Errorf("read the lock %s: %w", p, err)
			}
			version = v
			_ = json.Unmarshal(raw, &held)
			now := time.Now()
			if version != seenVersion {
				alive = seenVersion != ""
				seenVersion, seenAt = version, now
			}
			lease := held.lease()
			if lease <= 0 {
				lease = o.Lease
			}
			why := ""
			switch {
			case o.BreakLock:
				why = "--break-lock"
			case held.Host == host && held.PID > 0 && (!processAlive(held.PID) || (held.PID == me.PID && !heldHere(held.RunID))):
				why = "its process is gone from this host"
			case now.Sub(seenAt) >= lease:
				why = fmt.Sprintf("unchanged for its lease of %s", lease)
			}
			if why != "" {
				me.RenewedAt = time.Now().UTC()
				data, _ := json.Marshal(me)
				v, err := lakefs.ReplaceIf(ctx, fsys, p, version, data)
				if errors.Is(err, lakefs.ErrChanged) {
					continue // another run won it, or its holder renewed it
				}
				if err != nil {
					return nil, fmt.Errorf("take over the lock %s: %w", p, err)
				}
				if o.OnTakeover != nil {
					o.OnTakeover(held, why)
				}
				o.BreakLock = false
				return hold(fsys, p, me, v, o.Renew), nil
			}
			if !alive {
				// Watch until it is renewed or expires, whatever Wait says.
				if d := now.Add(poll); d.After(deadline) {
					deadline = d
				}
			}
		}
		if time.Now().After(deadline) {
			if legacy != nil {
				return nil, fmt.Errorf("%w: %s holds the lake-wide lock %s of an earlier vendorlake version since %s",
					ErrLocked, legacy.RunID, LegacyLockPath(output), legacy.StartedAt.Format(time.RFC3339))
			}
			return nil, fmt.Errorf("%w: %s holds %s and renews it (lease %s)", ErrLocked, held, p, held.lease())
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for the lock %s: %w", p, context.Cause(ctx))
		case <-time.After(min(poll, time.Until(deadline)+time.Millisecond)):
		}
	}
}

// hold starts the renewal of a lock just taken (AcquireLock has recorded
// its run in locksHeld).
func hold(fsys lakefs.FS, p string, info LockInfo, version string, renew time.Duration) *Lock {
	l := &Lock{fsys: fsys, path: p, info: info, version: version, renew: renew,
		lost: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	go l.renewLoop()
	return l
}

// Lost is closed when the lock is lost (Err says how).
func (l *Lock) Lost() <-chan struct{} { return l.lost }

// Err is nil while the lock is held, and an error wrapping ErrLockLost
// once it is lost.
func (l *Lock) Err() error {
	select {
	case <-l.lost:
		return l.lostErr
	default:
		return nil
	}
}

func (l *Lock) lose(err error) {
	l.lostOnce.Do(func() {
		l.lostErr = err
		close(l.lost)
	})
}

// renewLoop rewrites the lock every renew. A lock found changed is lost at
// once; renewals that fail (the store is down) are retried, and once none
// succeeded for a whole lease the lock is lost too (another run may take
// it over by now).
func (l *Lock) renewLoop() {
	defer close(l.done)
	lease := l.info.lease()
	lastOK := time.Now()
	t := time.NewTicker(l.renew)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), l.renew)
		err := l.renewOnce(ctx)
		cancel()
		switch {
		case err == nil:
			lastOK = time.Now()
		case errors.Is(err, lakefs.ErrChanged):
			l.lose(fmt.Errorf("%w %s: %s", ErrLockLost, l.path, l.holderNow()))
			return
		case time.Since(lastOK) >= lease:
			l.lose(fmt.Errorf("%w %s: not renewed for its lease of %s (%v)", ErrLockLost, l.path, lease, err))
			return
		}
	}
}

func (l *Lock) renewOnce(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	info := l.info
	info.RenewedAt = time.Now().UTC()
	data, _ := json.Marshal(info)
	v, err := lakefs.ReplaceIf(ctx, l.fsys, l.path, l.version, data)
	if err != nil {
		return err
	}
	l.version = v
	return nil
}

// holderNow says who holds the lock now, for the error of a lost lock.
func (l *Lock) holderNow() string {
	raw, _, err := lakefs.ReadVersion(context.Background(), l.fsys, l.path)
	if err != nil {
		return "it was removed (--break-lock?)"
	}
	var held LockInfo
	_ = json.Unmarshal(raw, &held)
	return held.String() + " took it over"
}

// Release stops the renewal and removes the lock if it still holds this
// run's version.
func (l *Lock) Release() {
	select {
	case <-l.stop:
		return
	default:
	}
	close(l.stop)
	<-l.done
	locksHeld.Delete(l.info.RunID)
	l.mu.Lock()
	defer l.mu.Unlock()
	ctx := context.Background()
	_ = lakefs.DeleteIf(ctx, l.fsys, l.path, l.version)
}

// CheckLock returns nil when run runID holds pipeline's lock on output,
// and otherwise an error wrapping ErrLockLost that names the holder. A run
// checks it right before it records its commit log, so that a run whose
// lock was taken over (it stalled for a whole lease) fails instead of
// committing. (A takeover between the check and the log is not excluded;
// it needs the run to stall for a whole lease in that instant.)
func CheckLock(ctx context.Context, fsys lakefs.FS, output, pipeline, runID string) error {
	p := LockPath(output, pipeline)
	raw, _, err := lakefs.ReadVersion(ctx, fsys, p)
	if errors.Is(err, lakefs.ErrNotExist) {
		return fmt.Errorf("%w %s: it was removed (--break-lock?): nothing committed", ErrLockLost, p)
	}
	if err != nil {
		return fmt.Errorf("check the lock %s: %w", p, err)
	}
	var held LockInfo
	if err := json.Unmarshal(raw, &held); err != nil || held.RunID != runID {
		return fmt.Errorf("%w %s: %s took it over: nothing committed", ErrLockLost, p, held)
	}
	return nil
}

// legacyLock is the content of the lock of the versions before the
// per-pipeline lock (LegacyLockPath).
type legacyLock struct {
	RunID     string    `json:"run_id"`
	Pipeline  string    `json:"pipeline"`
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	StartedAt time.Time `json:"started_at"`
}

// legacyHolder returns the holder of a live legacy lock, nil when there is
// none; a stale one is removed, and with breakLock any one.
func legacyHolder(ctx context.Context, fsys lakefs.FS, output, host string, pid int, breakLock bool) (*legacyLock, error) {
	p := LegacyLockPath(output)
	raw, err := lakefs.ReadFile(ctx, fsys, p)
	if errors.Is(err, lakefs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the lock %s: %w", p, err)
	}
	var held legacyLock
	_ = json.Unmarshal(raw, &held)
	stale := held.Host == host && held.PID > 0 && (!processAlive(held.PID) || (held.PID == pid && !heldHere(held.RunID)))
	if !stale && !breakLock {
		return &held, nil
	}
	if err := fsys.Delete(ctx, p); err != nil && !errors.Is(err, lakefs.ErrNotExist) {
		return nil, fmt.Errorf("remove the stale lock %s: %w", p, err)
	}
	return nil, nil
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
