package lakestate

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/ledger"
)

func TestCompactLedger(t *testing.T) {
	ctx := context.Background()
	fsys := lakefs.Local{}
	write := func(out string, unit, run string) {
		t.Helper()
		w, err := LedgerWrite(out, ledger.Entry{Pipeline: "p", Unit: unit, RunID: run, Inputs: []ledger.Input{{Rel: unit, Size: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := lakefs.WriteFile(ctx, fsys, w.Path, w.Data); err != nil {
			t.Fatal(err)
		}
	}
	entryFiles := func(out string) int {
		t.Helper()
		files, err := fsys.List(ctx, LedgerDir(out, "p"))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, f := range files {
			if ledgerEntryFile(f.Path) {
				n++
			}
		}
		return n
	}
	for _, c := range []struct {
		name          string
		entries, at   int
		folded, files int
	}{
		{"below the bound", 5, 6, 0, 5},
		{"at the bound", 6, 6, 6, 0},
		{"twice", 20, 3, 20, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := t.TempDir()
			for i := 0; i < c.entries; i++ {
				write(out, fmt.Sprintf("u%02d", i), "r1")
			}
			n, err := CompactLedger(ctx, fsys, out, "p", c.at)
			if err != nil || n != c.folded || entryFiles(out) != c.files {
				t.Fatalf("folded %d (%v), %d entry files left; want %d, %d", n, err, entryFiles(out), c.folded, c.files)
			}
			// An entry written after the snapshot wins over its entry.
			write(out, "u01", "r2")
			led, err := LoadLedger(ctx, fsys, out, "p")
			if err != nil || len(led) != c.entries || led["u01"].RunID != "r2" || led["u00"].RunID != "r1" {
				t.Fatalf("after compaction: %d entries (%v), u01 by %s", len(led), err, led["u01"].RunID)
			}
			// A second compaction keeps the newer entry.
			if _, err := CompactLedger(ctx, fsys, out, "p", 1); err != nil {
				t.Fatal(err)
			}
			if led, err := LoadLedger(ctx, fsys, out, "p"); err != nil || len(led) != c.entries || led["u01"].RunID != "r2" {
				t.Fatalf("after a second compaction: %d entries (%v), u01 by %s", len(led), err, led["u01"].RunID)
			}
		})
	}
	t.Run("crash after the snapshot", func(t *testing.T) {
		// The snapshot was written, the entry files not yet removed: the
		// same entries twice, read once.
		out := t.TempDir()
		for i := 0; i < 4; i++ {
			write(out, fmt.Sprintf("u%d", i), "r1")
		}
		if _, err := CompactLedger(ctx, fsys, out, "p", 1); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 4; i++ {
			write(out, fmt.Sprintf("u%d", i), "r1")
		}
		led, err := LoadLedger(ctx, fsys, out, "p")
		if err != nil || len(led) != 4 {
			t.Fatalf("%d entries, %v", len(led), err)
		}
	})
	t.Run("a bad snapshot is an error", func(t *testing.T) {
		out := t.TempDir()
		write(out, "u", "r1")
		if err := os.WriteFile(LedgerDir(out, "p")+"/"+LedgerSnapshotName, []byte("{\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadLedger(ctx, fsys, out, "p"); err == nil {
			t.Fatal("a corrupt snapshot was read")
		}
	})
}
