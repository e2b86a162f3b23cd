package lakefs

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

// TestReplaceIf: versions change with every write; a replace of a stale
// version fails; of many callers replacing one version at once exactly one
// wins, on local disk and on S3 (If-Match; MinIO in the tests), and the
// file is never missing meanwhile.
func TestReplaceIf(t *testing.T) {
	stores := []struct {
		name string
		fs   func(t *testing.T) (FS, string)
	}{
		{"local", func(t *testing.T) (FS, string) { return Local{}, filepath.Join(t.TempDir(), "locks", "p") }},
		{"local confined", func(t *testing.T) (FS, string) {
			dir := t.TempDir()
			return Within(Local{}, dir), filepath.Join(dir, "locks", "p")
		}},
		{"s3", func(t *testing.T) (FS, string) {
			s, bucket := newTestS3(t, s3TestOptions(t), nil)
			return s, "s3://" + bucket + "/lake/_vendorlake/locks/p"
		}},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			ctx := context.Background()
			fsys, p := st.fs(t)
			if _, _, err := ReadVersion(ctx, fsys, p); !errors.Is(err, ErrNotExist) {
				t.Fatalf("ReadVersion of nothing: %v", err)
			}
			v0, err := CreateVersion(ctx, fsys, p, []byte("v0"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := CreateVersion(ctx, fsys, p, []byte("again")); !errors.Is(err, ErrExist) {
				t.Fatalf("second create: %v", err)
			}
			data, v, err := ReadVersion(ctx, fsys, p)
			if err != nil || string(data) != "v0" || v != v0 {
				t.Fatalf("ReadVersion = %q, %q, %v; want v0, %q", data, v, err, v0)
			}
			v1, err := ReplaceIf(ctx, fsys, p, v0, []byte("v1"))
			if err != nil || v1 == v0 {
				t.Fatalf("ReplaceIf = %q, %v", v1, err)
			}
			if _, err := ReplaceIf(ctx, fsys, p, v0, []byte("stale")); !errors.Is(err, ErrChanged) {
				t.Fatalf("ReplaceIf of a stale version: %v", err)
			}
			// Racers for one version.
			const n = 12
			var wins atomic.Int32
			var missing atomic.Bool
			stop := make(chan struct{})
			var watch sync.WaitGroup
			watch.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					if ok, _ := Exists(ctx, fsys, p); !ok {
						missing.Store(true)
					}
				}
			})
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					_, err := ReplaceIf(ctx, fsys, p, v1, fmt.Appendf(nil, "racer %d", i))
					switch {
					case err == nil:
						wins.Add(1)
					case !errors.Is(err, ErrChanged):
						t.Errorf("racer %d: %v", i, err)
					}
				})
			}
			wg.Wait()
			close(stop)
			watch.Wait()
			if wins.Load() != 1 {
				t.Errorf("%d racers won, want 1", wins.Load())
			}
			if missing.Load() {
				t.Error("the file was missing during the race")
			}
			_, v2, err := ReadVersion(ctx, fsys, p)
			if err != nil {
				t.Fatal(err)
			}
			if err := DeleteIf(ctx, fsys, p, v1); !errors.Is(err, ErrChanged) {
				t.Errorf("DeleteIf of a stale version: %v", err)
			}
			if err := DeleteIf(ctx, fsys, p, v2); err != nil {
				t.Errorf("DeleteIf: %v", err)
			}
			if ok, _ := Exists(ctx, fsys, p); ok {
				t.Error("DeleteIf left the file")
			}
		})
	}
}
