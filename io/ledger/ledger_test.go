package ledger

import "testing"

func TestSame(t *testing.T) {
	e := Entry{Pipeline: "p", Unit: "export-id=a/date=2024-01-01", RunID: "r1",
		Inputs: []Input{{Rel: "x/b.gz", Size: 2, ModTime: 5}, {Rel: "x/a.gz", Size: 1, ModTime: 4}}}
	tests := []struct {
		name   string
		inputs []Input
		want   bool
	}{
		{"same, other order", []Input{{Rel: "x/a.gz", Size: 1, ModTime: 4}, {Rel: "x/b.gz", Size: 2, ModTime: 5}}, true},
		{"size changed", []Input{{Rel: "x/a.gz", Size: 9, ModTime: 4}, {Rel: "x/b.gz", Size: 2, ModTime: 5}}, false},
		{"mtime changed", []Input{{Rel: "x/a.gz", Size: 1, ModTime: 7}, {Rel: "x/b.gz", Size: 2, ModTime: 5}}, false},
		{"etag changed", []Input{{Rel: "x/a.gz", Size: 1, ModTime: 4, ETag: "e"}, {Rel: "x/b.gz", Size: 2, ModTime: 5}}, false},
		{"file added", []Input{{Rel: "x/a.gz", Size: 1, ModTime: 4}, {Rel: "x/b.gz", Size: 2, ModTime: 5}, {Rel: "x/c.gz"}}, false},
		{"file removed", []Input{{Rel: "x/a.gz", Size: 1, ModTime: 4}}, false},
	}
	for _, tt := range tests {
		if got := e.Same(tt.inputs); got != tt.want {
			t.Errorf("%s: Same = %v, want %v", tt.name, got, tt.want)
		}
	}
}
