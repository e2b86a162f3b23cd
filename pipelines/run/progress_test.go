package run

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/transforms"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

// TestProgressMarkersPerFlushNotPerFile: thousands of finished files leave
// a handful of markers (one per flush), and the reporter counts every file,
// byte and record flushed.
func TestProgressMarkersPerFlushNotPerFile(t *testing.T) {
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "lake")
	fn := &progressFn{Output: out, Pipeline: "p", RunID: "r1"}
	if err := fn.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	const files = 3000 // then one more
	for i := range files {
		if err := fn.ProcessElement(ctx, transforms.FileStats{Rel: "f" + string(rune('a'+i%26)), Bytes: 10, Counts: lineparse.Counts{RecordsIn: 2}}); err != nil {
			t.Fatal(err)
		}
	}
	// The next file after progressFlushEvery flushes everything pending.
	time.Sleep(progressFlushEvery + 50*time.Millisecond)
	if err := fn.ProcessElement(ctx, transforms.FileStats{Rel: "last", Bytes: 10, Counts: lineparse.Counts{RecordsIn: 2}}); err != nil {
		t.Fatal(err)
	}
	marks, err := fn.fs.List(ctx, progressDir(out, "p", "r1"))
	if err != nil {
		t.Fatal(err)
	}
	if len(marks) == 0 || len(marks) > 5 {
		t.Errorf("%d markers for %d files, want a few (one per flush)", len(marks), files)
	}

	var log bytes.Buffer
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		reportProgress(ctx, lakefs.Local{}, out, "p", "r1", files+1, (files+1)*10, 20*time.Millisecond, &bytes.Buffer{}, false, slog.New(slog.NewTextHandler(&log, nil)), stop)
		close(done)
	}()
	time.Sleep(150 * time.Millisecond)
	close(stop)
	<-done
	if !strings.Contains(log.String(), "files_done=3001 files=3001 bytes_done=30010") || !strings.Contains(log.String(), "records=6002") {
		t.Errorf("progress log does not count every file:\n%s", log.String())
	}
}
