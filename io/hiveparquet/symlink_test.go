package hiveparquet

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/lakestate"
)

// The lake's own files cannot be turned against the machine. Reported: a
// symbolic link planted inside the output plus a crafted commit log in
// the lake's commits folder made the next run delete a file outside the lake.
// Each case plants a link (or a crafted log) in a fresh lake that leads to
// a separate "outside" folder holding a canary; the operation must fail
// with an error that says the path leads outside the lake (or do its job
// inside the lake only), and the outside folder must be left exactly as it
// was.
func TestSymlinksCannotLeadOutOfTheLake(t *testing.T) {
	tests := []struct {
		name string
		// plant prepares the lake (links into outside); out is the lake,
		// outside the canary's folder.
		plant func(t *testing.T, out, outside string)
		// run is the lake operation under attack.
		run func(ctx context.Context, fsys lakefs.FS, out string) error
		// refused is true when run must fail with ErrOutsideLake; false
		// when it must succeed without touching outside.
		refused bool
	}{
		{
			// The reported attack: the next run's Recover deletes what the
			// crafted log names, through the link.
			name: "recovered delete through a linked partition",
			plant: func(t *testing.T, out, outside string) {
				link(t, outside, out, "t/p=1")
				writeLog(t, out, lakestate.CommitLog{Pipeline: "p", RunID: "r1", Output: out, Deletes: []string{filepath.Join(out, "t/p=1/canary.parquet")}})
			},
			run:     recoverRun,
			refused: true,
		},
		{
			name: "recovered delete through a linked table folder, lake spelled relative",
			plant: func(t *testing.T, out, outside string) {
				link(t, outside, out, "t")
				writeLog(t, out, lakestate.CommitLog{Pipeline: "p", RunID: "r1", Output: "lake", Deletes: []string{"lake/t/canary.parquet"}})
			},
			run:     recoverRun,
			refused: true,
		},
		{
			name: "recovered delete of a ../ path",
			plant: func(t *testing.T, out, outside string) {
				rel, _ := filepath.Rel(out, filepath.Join(outside, "canary.parquet"))
				writeLog(t, out, lakestate.CommitLog{Pipeline: "p", RunID: "r1", Output: out, Deletes: []string{out + "/" + rel}})
			},
			run:     recoverRun,
			refused: true,
		},
		{
			name: "recovered move out of the lake through a link",
			plant: func(t *testing.T, out, outside string) {
				link(t, outside, out, "t/p=1")
				touch(t, out, "t/p=2/part-r0-00001.parquet")
				writeLog(t, out, lakestate.CommitLog{Pipeline: "p", RunID: "r1", Output: out, Moves: []lakestate.Move{{From: filepath.Join(out, "t/p=2/part-r0-00001.parquet"), To: filepath.Join(out, "t/p=1/canary.parquet")}}})
			},
			run:     recoverRun,
			refused: true,
		},
		{
			name: "recovered move of an outside file into the lake through a link",
			plant: func(t *testing.T, out, outside string) {
				link(t, outside, out, "t/p=1")
				writeLog(t, out, lakestate.CommitLog{Pipeline: "p", RunID: "r1", Output: out, Moves: []lakestate.Move{{From: filepath.Join(out, "t/p=1/canary.parquet"), To: filepath.Join(out, "t/p=2/x.parquet")}}})
			},
			run:     recoverRun,
			refused: true,
		},
		{
			// A run ID of "../../.." makes the log's temporary area the
			// folder above the lake.
			name: "recovered temp cleanup of a crafted run ID",
			plant: func(t *testing.T, out, outside string) {
				writeLog(t, out, lakestate.CommitLog{Pipeline: "p", RunID: "../../..", Output: out})
			},
			run:     recoverRun,
			refused: true,
		},
		{
			name: "commit move into a linked partition",
			plant: func(t *testing.T, out, outside string) {
				link(t, outside, out, "t/p=1")
				touch(t, lakestate.TempDir(out, "p", "r1"), "t/p=1/b-1.parquet")
			},
			run: func(ctx context.Context, fsys lakefs.FS, out string) error {
				return commit(ctx, fsys, out, "r1", nil)
			},
			refused: true,
		},
		{
			// Refused before the log is recorded: no later run replays it.
			name:  "commit of a log naming a path outside the lake",
			plant: func(t *testing.T, out, outside string) {},
			run: func(ctx context.Context, fsys lakefs.FS, out string) error {
				log := &lakestate.CommitLog{Pipeline: "p", RunID: "r1", Output: out, Deletes: []string{filepath.Join(filepath.Dir(out), "outside", "canary.parquet")}}
				err := lakestate.Apply(ctx, fsys, log)
				if _, serr := os.Stat(lakestate.CommitLogPath(out, "p", "r1")); serr == nil {
					return errors.New("the log was recorded")
				}
				return err
			},
			refused: true,
		},
		{
			name: "commit _SUCCESS marker of a linked table",
			plant: func(t *testing.T, out, outside string) {
				link(t, outside, out, "t")
			},
			run: func(ctx context.Context, fsys lakefs.FS, out string) error {
				log := &lakestate.CommitLog{Pipeline: "p", RunID: "r1", Output: out, Tables: []string{"t"}}
				return lakestate.Apply(ctx, fsys, log)
			},
			refused: true,
		},
		{
			name: "commit ledger entry into a linked ledger folder",
			plant: func(t *testing.T, out, outside string) {
				link(t, outside, lakestate.LedgerDir(out, "p"), "")
				touch(t, lakestate.TempDir(out, "p", "r1"), "t/p=1/b-1.parquet")
			},
			run: func(ctx context.Context, fsys lakefs.FS, out string) error {
				return commit(ctx, fsys, out, "r1", []lakestate.SideWrite{{Path: lakestate.LedgerPath(out, "p", "u"), Data: []byte(`{}`)}})
			},
			refused: true,
		},
		{
			// A side write goes to a hidden sibling first: a link planted
			// there must not be written through.
			name: "commit run report through a linked temporary name",
			plant: func(t *testing.T, out, outside string) {
				link(t, filepath.Join(outside, "canary.parquet"), lakestate.RunsDir(out), ".r1.json.tmp")
				touch(t, lakestate.TempDir(out, "p", "r1"), "t/p=1/b-1.parquet")
			},
			run: func(ctx context.Context, fsys lakefs.FS, out string) error {
				return commit(ctx, fsys, out, "r1", []lakestate.SideWrite{{Path: lakestate.ReportPath(out, "r1"), Data: []byte(`{}`)}})
			},
			refused: true,
		},
		{
			name: "commit log recorded into a linked commits folder",
			plant: func(t *testing.T, out, outside string) {
				link(t, outside, lakestate.CommitsDir(out, "p"), "")
				touch(t, lakestate.TempDir(out, "p", "r1"), "t/p=1/b-1.parquet")
			},
			run: func(ctx context.Context, fsys lakefs.FS, out string) error {
				return commit(ctx, fsys, out, "r1", nil)
			},
			refused: true,
		},
		{
			// Not through a link: the link itself is what is replaced.
			name: "commit replaces a published name that is a link",
			plant: func(t *testing.T, out, outside string) {
				link(t, filepath.Join(outside, "canary.parquet"), out, "t/p=1/part-r1-00001.parquet")
				touch(t, lakestate.TempDir(out, "p", "r1"), "t/p=1/b-1.parquet")
			},
			run: func(ctx context.Context, fsys lakefs.FS, out string) error {
				return commit(ctx, fsys, out, "r1", nil)
			},
		},
		{
			name: "temp cleanup through a linked lake folder",
			plant: func(t *testing.T, out, outside string) {
				touch(t, outside, "tmp/p/r0/x.parquet")
				link(t, outside, lakestate.Dir(out), "")
			},
			run: func(ctx context.Context, fsys lakefs.FS, out string) error {
				return lakestate.CleanTemp(ctx, fsys, out, "p", "r1")
			},
			refused: true,
		},
		{
			// RemoveAll removes the link, never what it points to.
			name: "temp cleanup of a run folder holding a link",
			plant: func(t *testing.T, out, outside string) {
				touch(t, lakestate.TempDir(out, "p", "r0"), "x.parquet")
				link(t, outside, lakestate.TempDir(out, "p", "r0"), "out")
			},
			run: func(ctx context.Context, fsys lakefs.FS, out string) error {
				if err := lakestate.CleanTemp(ctx, fsys, out, "p", "r1"); err != nil {
					return err
				}
				if _, err := os.Lstat(lakestate.TempDir(out, "p", "r0")); !errors.Is(err, os.ErrNotExist) {
					return errors.New("the run's temporary folder is still there")
				}
				return nil
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			// The lake has a parent folder of its own: a crafted run ID
			// reaches above the lake into it, never further.
			out := filepath.Join(t.TempDir(), "a", "lake")
			if err := os.MkdirAll(out, 0o755); err != nil {
				t.Fatal(err)
			}
			outside := filepath.Join(filepath.Dir(out), "outside")
			touch(t, outside, "canary.parquet", "part-r1-00001.parquet", "tmp/r0/x.parquet")
			tt.plant(t, out, outside)
			before := snapshot(t, filepath.Dir(out), "lake")
			t.Chdir(filepath.Dir(out)) // for logs that spell the lake "lake"
			fsys, err := lakefs.New(ctx, out, lakefs.Options{})
			if err != nil {
				t.Fatal(err)
			}
			err = tt.run(ctx, fsys, out)
			t.Logf("error: %v", err)
			if tt.refused {
				if !errors.Is(err, lakefs.ErrOutsideLake) {
					t.Errorf("error = %v, want one wrapping %v", err, lakefs.ErrOutsideLake)
				}
			} else if err != nil {
				t.Errorf("error = %v", err)
			}
			if after := snapshot(t, filepath.Dir(out), "lake"); after != before {
				t.Errorf("the folder outside the lake changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

func recoverRun(ctx context.Context, fsys lakefs.FS, out string) error {
	_, err := lakestate.Recover(ctx, fsys, out, "p")
	return err
}

// commit plans and applies run runID's temporary files of table t.
func commit(ctx context.Context, fsys lakefs.FS, out, runID string, writes []lakestate.SideWrite) error {
	tmp := lakestate.TempDir(out, "p", runID)
	files, err := filepath.Glob(filepath.Join(tmp, "t", "*", "*.parquet"))
	if err != nil {
		return err
	}
	var descs []FileDesc
	for _, f := range files {
		descs = append(descs, FileDesc{Table: "t", Partition: filepath.Base(filepath.Dir(f)), TempPath: f})
	}
	log, err := Plan(ctx, fsys, out, runID, []TableSpec{{Name: "t", Mode: Overwrite}}, descs, nil)
	if err != nil {
		return err
	}
	log.Writes, log.Pipeline = writes, "p"
	return lakestate.Apply(ctx, fsys, log)
}

// link plants a symbolic link at root/rel that points to target.
func link(t *testing.T, target, root, rel string) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

func writeLog(t *testing.T, out string, log lakestate.CommitLog) {
	t.Helper()
	p := filepath.Join(lakestate.CommitsDir(out, "p"), "crafted.json")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, mustJSON(t, log), 0o644); err != nil {
		t.Fatal(err)
	}
}

// snapshot describes every entry below dir except skip (names, types,
// contents of files, targets of links), without following links.
func snapshot(t *testing.T, dir, skip string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == skip {
			return filepath.SkipDir
		}
		switch {
		case d.Type()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			b.WriteString(rel + "->" + target + ";")
		case d.IsDir():
			b.WriteString(rel + "/;")
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			b.WriteString(rel + "=" + string(data) + ";")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
