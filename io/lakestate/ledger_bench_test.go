package lakestate

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/ledger"
)

// BenchmarkLoadLedgerYear loads the ledger of a year of ID5 pushes for one
// partner: 17,000 entries (48 pushes a day), one file each, or compacted
// into the snapshot (CompactLedger) with LedgerCompactAt entry files
// written since, the most a run meets.
func BenchmarkLoadLedgerYear(b *testing.B) {
	b.Run("entry files", func(b *testing.B) { benchLoadLedger(b, false) })
	b.Run("snapshot", func(b *testing.B) { benchLoadLedger(b, true) })
}

func benchLoadLedger(b *testing.B, compact bool) {
	ctx := context.Background()
	out := b.TempDir()
	fsys := lakefs.Local{}
	day0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	const entries = 17000
	for i := 0; i < entries; i++ {
		if compact && i == entries-LedgerCompactAt+1 {
			if _, err := CompactLedger(ctx, fsys, out, "id5", 1); err != nil {
				b.Fatal(err)
			}
		}
		at := day0.Add(time.Duration(i) * 30 * time.Minute)
		rel := fmt.Sprintf("incremental/45/%s.csv", at.Format("20060102/150405"))
		e := ledger.Entry{Pipeline: "id5", Unit: rel, RunID: at.Format("20060102T150405Z") + "-abcdef", CommittedAt: at,
			Inputs: []ledger.Input{{Rel: rel, Size: 51234, ModTime: at.UnixMicro()}}}
		w, err := LedgerWrite(out, e)
		if err != nil {
			b.Fatal(err)
		}
		if err := lakefs.WriteFile(ctx, fsys, w.Path, w.Data); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		led, err := LoadLedger(ctx, fsys, out, "id5")
		if err != nil || len(led) != entries {
			b.Fatalf("%d entries, %v", len(led), err)
		}
	}
}
