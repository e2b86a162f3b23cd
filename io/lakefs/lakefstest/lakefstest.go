// Package lakefstest provides lakefs stores for tests, on the model of
// net/http/httptest and testing/fstest.
package lakefstest

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/vendorlake/vendorlake/io/lakefs"
)

// ErrDiskFull is the error of a Close that HeldFS fails on purpose.
var ErrDiskFull = errors.New("disk full")

// HeldFS is a local store whose files' Close waits (up to Wait, 300 ms when
// zero) for another Close to be under way, and records whether two ever
// overlapped: the store of a test that checks that code makes several files
// durable at once, and returns only when every one is closed. A Close of a
// path containing Fail (when Fail is set; the path as created, which may be
// a temporary name) closes the file, then fails with ErrDiskFull. The zero value holds no confinement (lakefs.Local{}).
type HeldFS struct {
	lakefs.Local
	// Fail, when set, is part of the paths whose Close fails.
	Fail string
	// Wait bounds how long a Close waits for another; 300 ms when zero.
	Wait time.Duration

	mu      sync.Mutex
	busy    int
	overlap bool
	others  chan struct{}
}

// Create creates p with the embedded Local; its Close is held (see HeldFS).
func (h *HeldFS) Create(ctx context.Context, p string) (io.WriteCloser, error) {
	w, err := h.Local.Create(ctx, p)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	if h.others == nil {
		h.others = make(chan struct{}, 64)
	}
	h.mu.Unlock()
	return &heldFile{WriteCloser: w, fs: h, path: p}, nil
}

// Closes reports how many Closes are under way now and whether two were
// ever under way at once.
func (h *HeldFS) Closes() (busy int, overlapped bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.busy, h.overlap
}

type heldFile struct {
	io.WriteCloser
	fs   *HeldFS
	path string
}

func (f *heldFile) Close() error {
	h := f.fs
	h.mu.Lock()
	h.busy++
	if h.busy > 1 {
		h.overlap = true
		select {
		case h.others <- struct{}{}:
		default:
		}
	}
	h.mu.Unlock()
	wait := h.Wait
	if wait == 0 {
		wait = 300 * time.Millisecond
	}
	select {
	case <-h.others:
	case <-time.After(wait):
	}
	err := f.WriteCloser.Close()
	h.mu.Lock()
	h.busy--
	h.mu.Unlock()
	if h.Fail != "" && strings.Contains(f.path, h.Fail) {
		return ErrDiskFull
	}
	return err
}
