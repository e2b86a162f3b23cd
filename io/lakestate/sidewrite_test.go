package lakestate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vendorlake/vendorlake/io/lakefs/lakefstest"
)

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
			fsys := &lakefstest.HeldFS{Fail: tt.fail}
			log := &CommitLog{Pipeline: "p", RunID: "r1", Output: out, CreatedAt: time.Now().UTC()}
			for i := range 4 {
				log.Writes = append(log.Writes, SideWrite{Path: filepath.Join(out, fmt.Sprintf("_vendorlake/ledger/p/entry-%d.json", i)),
					Data: []byte(fmt.Sprintf(`{"n":%d}`, i))})
			}
			err := Apply(ctx, fsys, log)
			busy, overlap := fsys.Closes()
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
				if _, err := os.Stat(CommitLogPath(out, "p", "r1")); err != nil {
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
