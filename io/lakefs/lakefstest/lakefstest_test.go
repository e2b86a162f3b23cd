package lakefstest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// HeldFS records whether Closes overlapped, fails the Close of a path
// ending in Fail after writing the file, and has no Close under way once
// every Close has returned.
func TestHeldFS(t *testing.T) {
	for _, tt := range []struct {
		name        string
		files       []string
		fail        string
		wantOverlap bool
		wantFailed  string
	}{
		{"one close", []string{"a"}, "", false, ""},
		{"closes at once", []string{"a", "b", "c"}, "", true, ""},
		{"a close fails", []string{"a", "b"}, "b.t", true, "b"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			h := &HeldFS{Fail: tt.fail, Wait: 500 * time.Millisecond}
			var wg sync.WaitGroup
			errs := make([]error, len(tt.files))
			for i, name := range tt.files {
				w, err := h.Create(ctx, filepath.Join(dir, name+".txt"))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := w.Write([]byte(name)); err != nil {
					t.Fatal(err)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[i] = w.Close()
				}()
			}
			wg.Wait()
			busy, overlapped := h.Closes()
			if busy != 0 || overlapped != tt.wantOverlap {
				t.Errorf("Closes() = %d, %v; want 0, %v", busy, overlapped, tt.wantOverlap)
			}
			for i, name := range tt.files {
				if failed := errors.Is(errs[i], ErrDiskFull); failed != (name == tt.wantFailed) {
					t.Errorf("%s: Close = %v", name, errs[i])
				}
				if b, err := os.ReadFile(filepath.Join(dir, name+".txt")); err != nil || string(b) != name {
					t.Errorf("%s: %q, %v", name, b, err)
				}
			}
		})
	}
}
