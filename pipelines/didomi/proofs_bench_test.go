package didomi

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/transforms"
)

// BenchmarkReadProofs reads a proof archive of 200 files of 8 KiB into a
// lake's temporary area on local disk, as the proof check does (each file
// created through the lake's confined FS and made durable); ns/file is the
// cost per proof file.
func BenchmarkReadProofs(b *testing.B) {
	const files = 200
	ctx := context.Background()
	dir := b.TempDir()
	body := map[string][]byte{}
	var order []string
	for i := range files {
		id := fmt.Sprintf("%064x.pdf", i)
		body[id] = make([]byte, 8<<10)
		order = append(order, id)
	}
	data := tarGz(nil, body, order)
	p := filepath.Join(dir, "proofs.tar.gz")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		b.Fatal(err)
	}
	f := transforms.InputFile{Path: p, Rel: "proofs.tar.gz", Partition: "export_id=e/date=2024-03-01", Unit: "u",
		Parts: []transforms.FilePart{{Path: p, Rel: "proofs.tar.gz", Size: int64(len(data))}}}
	for i := 0; b.Loop(); i++ {
		lake := filepath.Join(dir, fmt.Sprintf("lake%d", i))
		out, err := lakefs.New(ctx, lake, lakefs.Options{})
		if err != nil {
			b.Fatal(err)
		}
		st, err := ReadProofs(ctx, lakefs.Local{}, out, lake, "r1", f, 0, func(b hiveparquet.Batch) { b.Record.Release() }, func(string) {})
		if err != nil || len(st.Files) != files {
			b.Fatalf("%d files, %v", len(st.Files), err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*files), "ns/file")
}
