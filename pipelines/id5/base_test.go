package id5

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vendorlake/vendorlake/pipelines/run"
	"github.com/vendorlake/vendorlake/transforms"
)

// TestBasePlusDelta delivers a generated history a few files per run, as a
// schedule does, with a rebuild policy that lets the delta grow (only a new
// extract, a late or re-pushed file, or the age rebuild), and checks after
// every run that the view's rows (currentRows) are CurrentMapping's.
func TestBasePlusDelta(t *testing.T) {
	files := genHistory(3)
	for _, c := range []struct {
		name  string
		share float64
		age   time.Duration
		// step is how far the clock moves per run.
		step time.Duration
	}{
		{"rebuild only when forced", 1, 0, 0},
		{"age", 1, 2 * time.Hour, time.Hour},
	} {
		t.Run(c.name, func(t *testing.T) {
			in, out := t.TempDir(), t.TempDir()
			now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
			p := Pipeline{SourceGVLID: testSourceGVLID, MaxExtractShrink: 1, RebuildShare: c.share, RebuildAge: c.age}
			runs, rebuilds := 0, 0
			deliver := func(fs []histFile) {
				t.Helper()
				for _, f := range fs {
					if err := writeFile(filepath.Join(in, filepath.FromSlash(f.rel)), f.data); err != nil {
						t.Fatal(err)
					}
				}
				o := run.Options{Input: in, Output: out, Runner: "direct", MaxRejectRatio: 1}
				o.Write.Compression = "snappy"
				rep, err := run.Execute(context.Background(), clocked{p, func() time.Time { return now }}, o)
				if err != nil {
					t.Fatalf("run %d: %v", runs, err)
				}
				if rep.Status != transforms.StatusCommitted {
					t.Fatalf("run %d: %s", runs, rep.Status)
				}
				runs++
				for _, pt := range rep.Partitions {
					if pt.Table == BaseStateTable {
						rebuilds++
						break
					}
				}
				now = now.Add(c.step)
				checkCurrentTable(t, in, out)
			}
			// A few incrementals arrive late (after later ones).
			var late []histFile
			batch := []histFile{}
			for i, f := range files {
				if i%23 == 7 && !strings.HasPrefix(f.rel, "full-") {
					late = append(late, f)
					continue
				}
				batch = append(batch, f)
				if len(batch) == 8 {
					deliver(batch)
					batch = nil
				}
				if i%61 == 60 && len(late) > 0 {
					deliver(late[:1])
					late = late[1:]
				}
			}
			deliver(append(batch, late...))
			// A re-pushed incremental, its content changed: its rows are
			// replaced, in the base or in the delta.
			for _, i := range []int{len(files) - 1, len(files) / 2} {
				f := files[i]
				for strings.HasPrefix(f.rel, "full-") {
					i--
					f = files[i]
				}
				if parts := strings.Split(f.rel, "/"); len(parts) == 4 {
					f.data = []byte("changed-uid|" + parts[1] + "|z\n") // per partner
				} else {
					f.data = []byte("35|45\n\"changed-uid\"|\"z\"\n") // single file
				}
				deliver([]histFile{f})
			}
			t.Logf("%d runs, %d rebuilt the base", runs, rebuilds)
			if c.share == 1 && c.age == 0 && rebuilds > runs*2/3 {
				t.Errorf("%d of %d runs rebuilt the base: the delta path is hardly tested", rebuilds, runs)
			}
			if c.age > 0 && (rebuilds < runs/3 || rebuilds == runs) {
				t.Errorf("only %d of %d runs rebuilt the base with an age of %s and an hour per run", rebuilds, runs, c.age)
			}
		})
	}
}

// clocked is a Pipeline whose compaction stage reads the given clock.
type clocked struct {
	Pipeline
	now func() time.Time
}

func (c clocked) Then(o run.Options) run.Pipeline {
	cur := c.Pipeline.Then(o).(*Current)
	cur.Now = c.now
	return cur
}
