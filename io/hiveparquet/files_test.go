package hiveparquet

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/lakestate"
)

// Raw-file tables (Files mode): files keep their names, and a claim
// replaces every file of the partition folder.
func TestCommitFilesMode(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	fsys := lakefs.Local{}
	tables := []TableSpec{{Name: "raw", Mode: Files}}
	touch(t, out,
		"raw/p=1/old-a.pdf", "raw/p=1/same.pdf", // p=1 rewritten: old-a.pdf goes, same.pdf is replaced
		"raw/p=2/kept.pdf", // not claimed: kept
		"raw/p=3/gone.pdf", // claimed without files: emptied
	)
	tmp := lakestate.TempDir(out, "p", "r1")
	touch(t, tmp, "raw/p=1/same.pdf", "raw/p=1/new.pdf")
	os.WriteFile(filepath.Join(tmp, "raw/p=1/same.pdf"), []byte("from run r1"), 0o644)
	files := []FileDesc{
		{Table: "raw", Partition: "p=1", TempPath: filepath.Join(tmp, "raw/p=1/same.pdf"), Name: "same.pdf"},
		{Table: "raw", Partition: "p=1", TempPath: filepath.Join(tmp, "raw/p=1/new.pdf"), Name: "new.pdf"},
	}
	log, err := Plan(ctx, fsys, out, "r1", tables, files, []Claim{{Table: "raw", Partition: "p=3"}})
	if err != nil {
		t.Fatal(err)
	}
	log.Pipeline = "p"
	if err := lakestate.Apply(ctx, fsys, log); err != nil {
		t.Fatal(err)
	}
	want := []string{"raw/_SUCCESS", "raw/p=1/new.pdf", "raw/p=1/same.pdf", "raw/p=2/kept.pdf"}
	if got := listTree(t, out); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("lake after commit:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if data, _ := os.ReadFile(filepath.Join(out, "raw/p=1/same.pdf")); string(data) != "from run r1" {
		t.Errorf("same.pdf was not replaced by the run's file: %q", data)
	}
	// Unsafe or clashing names are refused before anything changes.
	for _, bad := range [][]FileDesc{
		{{Table: "raw", Partition: "p=1", TempPath: "x", Name: "../escape.pdf"}},
		{{Table: "raw", Partition: "p=1", TempPath: "x", Name: ""}},
		{{Table: "raw", Partition: "p=1", TempPath: "x", Name: "_SUCCESS"}},
		{{Table: "raw", Partition: "p=1", TempPath: "x", Name: "a.pdf"}, {Table: "raw", Partition: "p=1", TempPath: "y", Name: "a.pdf"}},
	} {
		if _, err := Plan(ctx, fsys, out, "r2", tables, bad, nil); err == nil {
			t.Errorf("Plan accepted %v", bad)
		}
	}
}
