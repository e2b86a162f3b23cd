package lakefs

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkLocalSmallFile writes one small file into a deep folder of a
// lake, the way the Didomi proof check stages a proof file in the run's
// temporary area, and renames it into its table folder, the way the commit
// publishes it (per file: Create, Write, Close with its fsync, Rename).
func BenchmarkLocalSmallFile(b *testing.B) {
	ctx := context.Background()
	lake := filepath.Join(b.TempDir(), "lake")
	fsys, err := New(ctx, lake, Options{})
	if err != nil {
		b.Fatal(err)
	}
	tmp := filepath.Join(lake, "_vendorlake/tmp/r1/didomi_proof_files/export_id=e/date=2024-03-01")
	table := filepath.Join(lake, "didomi_proof_files/export_id=e/date=2024-03-01")
	data := make([]byte, 8<<10)
	b.SetBytes(int64(len(data)))
	for i := 0; b.Loop(); i++ {
		name := fmt.Sprintf("%064d.pdf", i)
		w, err := fsys.Create(ctx, filepath.Join(tmp, name))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		if err := fsys.Rename(ctx, filepath.Join(tmp, name), filepath.Join(table, name)); err != nil {
			b.Fatal(err)
		}
	}
}
