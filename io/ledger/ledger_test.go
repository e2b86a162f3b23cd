package ledger

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/vendorlake/vendorlake/io/lakefs"
)

func TestLoadAndSame(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	fsys := lakefs.Local{}
	e := Entry{Pipeline: "p", Unit: "export-id=a/date=2024-01-01", RunID: "r1",
		Inputs: []Input{{Rel: "x/b.gz", Size: 2, ModTime: 5}, {Rel: "x/a.gz", Size: 1, ModTime: 4}}}
	data, _ := json.Marshal(e)
	if err := lakefs.WriteFile(ctx, fsys, Path(out, "p", e.Unit), data); err != nil {
		t.Fatal(err)
	}
	got, err := Load(ctx, fsys, out, "p")
	if err != nil {
		t.Fatal(err)
	}
	g, ok := got[e.Unit]
	if !ok || g.RunID != "r1" {
		t.Fatalf("Load = %+v", got)
	}
	tests := []struct {
		name   string
		inputs []Input
		want   bool
	}{
		{"same, other order", []Input{{Rel: "x/a.gz", Size: 1, ModTime: 4}, {Rel: "x/b.gz", Size: 2, ModTime: 5}}, true},
		{"size changed", []Input{{Rel: "x/a.gz", Size: 9, ModTime: 4}, {Rel: "x/b.gz", Size: 2, ModTime: 5}}, false},
		{"mtime changed", []Input{{Rel: "x/a.gz", Size: 1, ModTime: 7}, {Rel: "x/b.gz", Size: 2, ModTime: 5}}, false},
		{"file added", []Input{{Rel: "x/a.gz", Size: 1, ModTime: 4}, {Rel: "x/b.gz", Size: 2, ModTime: 5}, {Rel: "x/c.gz"}}, false},
		{"file removed", []Input{{Rel: "x/a.gz", Size: 1, ModTime: 4}}, false},
	}
	for _, tt := range tests {
		if got := g.Same(tt.inputs); got != tt.want {
			t.Errorf("%s: Same = %v, want %v", tt.name, got, tt.want)
		}
	}
	if other, _ := Load(ctx, fsys, out, "missing"); len(other) != 0 {
		t.Errorf("missing pipeline ledger = %v", other)
	}
}
