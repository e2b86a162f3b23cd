package lakestate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vendorlake/vendorlake/io/lakefs"
)

// heldFS is a store whose files' Close waits (up to a moment) for another
// Close to be under way, and records whether two ever overlapped; a Close
// of a path ending in fail fails.
type heldFS struct {
	lakefs.Local
	fail    string
	mu      sync.Mutex
	busy    int
	overlap bool
	others  chan struct{}
}

type heldFile struct {
	io.WriteCloser
	fs   *heldFS
	path string
}

func (h *heldFS) Create(ctx context.Context, p string) (io.WriteCloser, error) {
	w, err := h.Local.Create(ctx, p)
	if err != nil {
		return nil, err
	}
	return &heldFile{w, h, p}, nil
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
	select {
	case <-h.others:
	case <-time.After(300 * time.Millisecond):
	}
	err := f.WriteCloser.Close()
	h.mu.Lock()
	h.busy--
	h.mu.Unlock()
	if h.fail != "" && strings.Contains(f.path, h.fail) {
		return errors.New("disk full")
	}
	return err
}

// A commit's side writes (one ledger entry per input file, the run report)
// are made durable several at once, all done before Apply returns; a
// failed one fails the commit, and the log stays for the next run.
func TestApplySideWritesTogether(t *testing.T) {
	for _, tt := range []struct {
		name, fail string
	}{
		{"every write succeeds", ""},
		{"a write fails", "entry-2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			out := t.TempDir()
			fsys := &heldFS{fail: tt.fail, others: make(chan struct{}, 16)}
			log := &CommitLog{RunID: "r1", Output: out, CreatedAt: time.Now().UTC()}
			for i := range 4 {
				log.Writes = append(log.Writes, SideWrite{Path: filepath.Join(out, fmt.Sprintf("_vendorlake/ledger/p/entry-%d.json", i)),
					Data: []byte(fmt.Sprintf(`{"n":%d}`, i))})
			}
			err := Apply(ctx, fsys, log)
			fsys.mu.Lock()
			busy, overlap := fsys.busy, fsys.overlap
			fsys.mu.Unlock()
			if busy != 0 {
				t.Errorf("Apply returned with %d writes under way", busy)
			}
			if !overlap {
				t.Errorf("the side writes were made durable one at a time")
			}
			if tt.fail != "" {
				if err == nil || !strings.Contains(err.Error(), "disk full") {
					t.Fatalf("Apply = %v, want the failed write's error", err)
				}
				if _, err := os.Stat(filepath.Join(out, "_vendorlake/commits/r1.json")); err != nil {
					t.Errorf("the commit log is gone after a failed commit: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range log.Writes {
				if b, err := os.ReadFile(w.Path); err != nil || string(b) != fmt.Sprintf(`{"n":%d}`, i) {
					t.Errorf("%s: %q, %v", w.Path, b, err)
				}
			}
		})
	}
}
