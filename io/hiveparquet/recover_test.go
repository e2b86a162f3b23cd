package hiveparquet

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/lakestate"
)

// A commit log records paths as its run spelled --output. A crash found by
// the fault-injection tests (e2e_crash_test.go): a run started with a
// relative --output crashed mid-commit, and every later run given the same
// lake by another spelling (an absolute path, another working directory)
// failed in Recover ("publish: rename lake/TEMP_DIR/...: no such file or
// directory"), so the commit could never be finished. Recover now
// re-roots a log's paths onto the lake it found the log in.
func TestRecoverLogOfAnotherSpellingOfOutput(t *testing.T) {
	for _, rel := range []string{"lake", "./lake/", "."} {
		t.Run(rel, func(t *testing.T) {
			ctx := context.Background()
			fsys := lakefs.Local{}
			work := t.TempDir()
			abs := filepath.Join(work, "lake")
			if rel == "." {
				abs = work
			}
			touch(t, abs, "t/p=1/part-old-00001.parquet")
			t.Chdir(work)
			if rel == "." {
				t.Chdir(abs)
			}
			tmp := lakestate.TempDir(rel, "p", "r5")
			touch(t, tmp, "t/p=1/b-1.parquet", "t/p=1/b-2.parquet")
			log, err := Plan(ctx, fsys, rel, "r5", []TableSpec{{Name: "t", Mode: Overwrite}},
				[]FileDesc{{Table: "t", Partition: "p=1", TempPath: lakefs.Join(tmp, "t/p=1/b-1.parquet")}, {Table: "t", Partition: "p=1", TempPath: lakefs.Join(tmp, "t/p=1/b-2.parquet")}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			log.Writes = []lakestate.SideWrite{{Path: lakestate.LedgerPath(rel, "p", "x"), Data: []byte(`{}`)}}
			log.Pipeline = "p"
			// The crash: the log recorded, one file moved.
			if err := lakefs.WriteFile(ctx, fsys, lakestate.CommitLogPath(rel, "p", "r5"), mustJSON(t, log)); err != nil {
				t.Fatal(err)
			}
			if err := fsys.Rename(ctx, log.Moves[0].From, log.Moves[0].To); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(log.Moves[0].To, "t/") && !strings.HasPrefix(log.Moves[0].To, "lake/") {
				t.Fatalf("the log does not hold relative paths: %s", log.Moves[0].To)
			}
			// The rerun: another working directory, the absolute path.
			elsewhere := t.TempDir()
			t.Chdir(elsewhere)
			done, err := lakestate.Recover(ctx, fsys, abs, "p")
			if err != nil || len(done) != 1 || done[0] != "r5" {
				t.Fatalf("Recover = %v, %v", done, err)
			}
			want := []string{inLake(lakestate.LedgerPath(inLakeRoot, "p", "x")), "t/_SUCCESS", "t/p=1/part-r5-00001.parquet", "t/p=1/part-r5-00002.parquet"}
			if got := listTree(t, abs); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("after recovery: %v, want %v", got, want)
			}
			if left := listTree(t, elsewhere); len(left) != 0 {
				t.Fatalf("recovery wrote below the working directory: %v", left)
			}
		})
	}
}

func TestRecoverRefusesLogPathsOutsideItsOutput(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	// A file outside the lake (never a system path: without the check,
	// Recover deletes what the log names).
	victim := filepath.Join(t.TempDir(), "victim.parquet")
	touch(t, filepath.Dir(victim), filepath.Base(victim))
	log := lakestate.CommitLog{Pipeline: "p", RunID: "r6", Output: "elsewhere", Deletes: []string{victim}}
	if err := lakefs.WriteFile(ctx, lakefs.Local{}, lakestate.CommitLogPath(out, "p", "r6"), mustJSON(t, log)); err != nil {
		t.Fatal(err)
	}
	if _, err := lakestate.Recover(ctx, lakefs.Local{}, out, "p"); err == nil || !strings.Contains(err.Error(), "outside") {
		t.Fatalf("Recover of a log with a path outside its output: %v", err)
	}
	if got := listTree(t, filepath.Dir(victim)); len(got) != 1 {
		t.Fatalf("a file outside the lake was removed: %v", got)
	}
}
