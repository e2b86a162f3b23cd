package lakefs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every write, rename and delete of a lake's Local goes through os.Root: a
// symbolic link planted in the lake that points to another folder never
// lets the operation create, replace or remove anything there.
func TestLocalConfinedToTheLake(t *testing.T) {
	write := func(ctx context.Context, fsys FS, p string) error {
		w, err := fsys.Create(ctx, p)
		if err != nil {
			return err
		}
		if _, err := io.WriteString(w, "new"); err != nil {
			w.Close()
			return err
		}
		return w.Close()
	}
	tests := []struct {
		name string
		// links maps a path in the lake to its link target below outside
		// ("" for outside itself).
		links map[string]string
		// files are created in the lake first.
		files []string
		run   func(ctx context.Context, fsys FS, lake string) error
		// refused: the operation must fail with ErrOutsideLake; otherwise
		// it must succeed (and still leave outside alone).
		refused bool
	}{
		{
			name:  "create through a linked folder",
			links: map[string]string{"t/p=1": ""},
			run: func(ctx context.Context, fsys FS, lake string) error {
				return write(ctx, fsys, filepath.Join(lake, "t/p=1/canary"))
			},
			refused: true,
		},
		{
			name:  "create onto a linked file",
			links: map[string]string{"t/p=1/x": "canary"},
			run: func(ctx context.Context, fsys FS, lake string) error {
				return write(ctx, fsys, filepath.Join(lake, "t/p=1/x"))
			},
			refused: true,
		},
		{
			name:  "atomic write through a linked hidden sibling",
			links: map[string]string{"_vendorlake/runs/.r1.json.tmp": "canary"},
			run: func(ctx context.Context, fsys FS, lake string) error {
				return WriteFile(ctx, fsys, filepath.Join(lake, "_vendorlake/runs/r1.json"), []byte("{}"))
			},
			refused: true,
		},
		{
			name:  "rename into a linked folder",
			links: map[string]string{"t/p=1": ""},
			files: []string{"_vendorlake/tmp/r1/f"},
			run: func(ctx context.Context, fsys FS, lake string) error {
				return fsys.Rename(ctx, filepath.Join(lake, "_vendorlake/tmp/r1/f"), filepath.Join(lake, "t/p=1/canary"))
			},
			refused: true,
		},
		{
			name:  "rename out of a linked folder",
			links: map[string]string{"t/p=1": ""},
			run: func(ctx context.Context, fsys FS, lake string) error {
				return fsys.Rename(ctx, filepath.Join(lake, "t/p=1/canary"), filepath.Join(lake, "t/p=2/x"))
			},
			refused: true,
		},
		{
			// rename(2) replaces the link itself.
			name:  "rename onto a linked file",
			links: map[string]string{"t/p=1/x": "canary"},
			files: []string{"_vendorlake/tmp/r1/f"},
			run: func(ctx context.Context, fsys FS, lake string) error {
				return fsys.Rename(ctx, filepath.Join(lake, "_vendorlake/tmp/r1/f"), filepath.Join(lake, "t/p=1/x"))
			},
		},
		{
			name:  "delete through a linked folder",
			links: map[string]string{"t/p=1": ""},
			run: func(ctx context.Context, fsys FS, lake string) error {
				return fsys.Delete(ctx, filepath.Join(lake, "t/p=1/canary"))
			},
			refused: true,
		},
		{
			// The link is removed, not its target.
			name:  "delete a linked file",
			links: map[string]string{"t/p=1/x": "canary"},
			run: func(ctx context.Context, fsys FS, lake string) error {
				return fsys.Delete(ctx, filepath.Join(lake, "t/p=1/x"))
			},
		},
		{
			name: "delete a ../ path",
			run: func(ctx context.Context, fsys FS, lake string) error {
				return fsys.Delete(ctx, lake+"/../outside/canary")
			},
			refused: true,
		},
		{
			name: "delete an absolute path elsewhere",
			run: func(ctx context.Context, fsys FS, lake string) error {
				return fsys.Delete(ctx, filepath.Join(filepath.Dir(lake), "outside", "canary"))
			},
			refused: true,
		},
		{
			name:  "delete all through a linked folder",
			links: map[string]string{"_vendorlake": ""},
			run: func(ctx context.Context, fsys FS, lake string) error {
				return fsys.DeleteAll(ctx, filepath.Join(lake, "_vendorlake/sub"))
			},
			refused: true,
		},
		{
			name:  "delete all of a folder holding links",
			links: map[string]string{"_vendorlake/tmp/r1/dir": "", "_vendorlake/tmp/r1/file": "canary"},
			files: []string{"_vendorlake/tmp/r1/f"},
			run: func(ctx context.Context, fsys FS, lake string) error {
				if err := fsys.DeleteAll(ctx, filepath.Join(lake, "_vendorlake/tmp/r1")); err != nil {
					return err
				}
				if _, err := os.Lstat(filepath.Join(lake, "_vendorlake/tmp/r1")); !errors.Is(err, os.ErrNotExist) {
					return errors.New("the folder is still there")
				}
				return nil
			},
		},
		{
			name: "delete all of the lake itself",
			run: func(ctx context.Context, fsys FS, lake string) error {
				err := fsys.DeleteAll(ctx, lake+"/_vendorlake/..")
				if err == nil || !strings.Contains(err.Error(), "whole lake") {
					return errors.New("not refused")
				}
				return nil
			},
		},
		{
			name:  "lock in a linked folder",
			links: map[string]string{"_vendorlake": ""},
			run: func(ctx context.Context, fsys FS, lake string) error {
				return CreateExclusive(ctx, fsys, filepath.Join(lake, "_vendorlake/lock"), []byte("me"))
			},
			refused: true,
		},
		{
			// O_EXCL never writes through a link: the lock is held.
			name:  "lock that is a link",
			links: map[string]string{"_vendorlake/lock": "canary"},
			run: func(ctx context.Context, fsys FS, lake string) error {
				err := CreateExclusive(ctx, fsys, filepath.Join(lake, "_vendorlake/lock"), []byte("me"))
				if !errors.Is(err, ErrExist) {
					return errors.New("not reported as held")
				}
				return fsys.Delete(ctx, filepath.Join(lake, "_vendorlake/lock"))
			},
		},
		{
			name:  "prune empty folders through a linked folder",
			links: map[string]string{"t": ""},
			run: func(ctx context.Context, fsys FS, lake string) error {
				PruneEmptyDirs(filepath.Join(lake, "t/empty"), lake)
				return nil
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			base := t.TempDir()
			lake, outside := filepath.Join(base, "lake"), filepath.Join(base, "outside")
			for _, d := range []string{lake, filepath.Join(outside, "empty")} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(outside, "canary"), []byte("canary"), 0o644); err != nil {
				t.Fatal(err)
			}
			for p, target := range tt.links {
				p = filepath.Join(lake, p)
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.Symlink(filepath.Join(outside, target), p); err != nil {
					t.Fatal(err)
				}
			}
			for _, f := range tt.files {
				p := filepath.Join(lake, f)
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			fsys, err := New(ctx, lake, Options{})
			if err != nil {
				t.Fatal(err)
			}
			err = tt.run(ctx, fsys, lake)
			t.Logf("error: %v", err)
			if tt.refused {
				if !errors.Is(err, ErrOutsideLake) {
					t.Errorf("error = %v, want one wrapping %v", err, ErrOutsideLake)
				}
			} else if err != nil {
				t.Errorf("error = %v", err)
			}
			entries, _ := os.ReadDir(outside)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if got := strings.Join(names, ","); got != "canary,empty" {
				t.Errorf("outside holds %s, want canary,empty", got)
			}
			if b, _ := os.ReadFile(filepath.Join(outside, "canary")); string(b) != "canary" {
				t.Errorf("canary = %q", b)
			}
		})
	}
}

// A confined Local works on a normal lake as the unconfined one does,
// whichever way the lake and the paths are spelled.
func TestLocalConfinedNormalLake(t *testing.T) {
	ctx := context.Background()
	work := t.TempDir()
	t.Chdir(work)
	for _, tt := range []struct{ root, path string }{
		{"lake", "lake"},
		{"./lake/", filepath.Join(work, "lake")},
		{filepath.Join(work, "lake"), "lake"},
		{"file://" + filepath.Join(work, "lake"), filepath.Join(work, "lake")},
		{".", "."},
	} {
		fsys, err := New(ctx, tt.root, Options{})
		if err != nil {
			t.Fatal(err)
		}
		// A missing lake has nothing to delete; writes create it.
		if err := fsys.Delete(ctx, Join(tt.path, "x/y")); err != nil {
			t.Errorf("%s: delete in a missing lake: %v", tt.root, err)
		}
		if err := fsys.DeleteAll(ctx, Join(tt.path, "x")); err != nil {
			t.Errorf("%s: delete all in a missing lake: %v", tt.root, err)
		}
		if err := WriteFile(ctx, fsys, Join(tt.path, "_vendorlake/tmp/r1/a"), []byte("a")); err != nil {
			t.Fatalf("%s: %v", tt.root, err)
		}
		if err := fsys.Rename(ctx, Join(tt.path, "_vendorlake/tmp/r1/a"), Join(tt.path, "t/p=1/a")); err != nil {
			t.Fatalf("%s: %v", tt.root, err)
		}
		if b, err := ReadFile(ctx, fsys, Join(tt.path, "t/p=1/a")); err != nil || string(b) != "a" {
			t.Fatalf("%s: read back %q, %v", tt.root, b, err)
		}
		if err := fsys.Rename(ctx, Join(tt.path, "_vendorlake/tmp/r1/a"), Join(tt.path, "t/p=1/a")); !errors.Is(err, ErrNotExist) {
			t.Errorf("%s: second rename: %v, want ErrNotExist", tt.root, err)
		}
		if err := CreateExclusive(ctx, fsys, Join(tt.path, "_vendorlake/lock"), []byte("1")); err != nil {
			t.Fatalf("%s: lock: %v", tt.root, err)
		}
		if err := CreateExclusive(ctx, fsys, Join(tt.path, "_vendorlake/lock"), []byte("2")); !errors.Is(err, ErrExist) {
			t.Errorf("%s: second lock: %v, want ErrExist", tt.root, err)
		}
		// A link that stays inside the lake is followed.
		os.MkdirAll(filepath.Join(work, "lake", "t"), 0o755)
		os.Symlink("p=1", filepath.Join(work, "lake", "t", "alias"))
		if err := fsys.Delete(ctx, Join(tt.path, "t/alias/a")); err != nil {
			t.Errorf("%s: delete through an inner link: %v", tt.root, err)
		}
		if err := fsys.Delete(ctx, Join(tt.path, "t/alias")); err != nil {
			t.Errorf("%s: %v", tt.root, err)
		}
		PruneEmptyDirs(Join(tt.path, "t/p=1"), tt.path)
		if err := fsys.Delete(ctx, Join(tt.path, "_vendorlake/lock")); err != nil {
			t.Errorf("%s: unlock: %v", tt.root, err)
		}
		if err := fsys.DeleteAll(ctx, Join(tt.path, "_vendorlake")); err != nil {
			t.Errorf("%s: %v", tt.root, err)
		}
		if entries, _ := os.ReadDir(filepath.Join(work, "lake")); tt.root != "." && len(entries) != 0 {
			t.Errorf("%s: left %v", tt.root, entries)
		}
		os.RemoveAll(filepath.Join(work, "lake"))
	}
	// Paths outside the root are refused before anything is opened.
	fsys, _ := New(ctx, "lake", Options{})
	if err := WriteFile(ctx, fsys, "other/x", []byte("x")); !errors.Is(err, ErrOutsideLake) {
		t.Errorf("write outside: %v", err)
	}
	if _, err := os.Stat(filepath.Join(work, "other")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a folder outside the lake was made: %v", err)
	}
}

func TestWithin(t *testing.T) {
	tests := []struct {
		fsys FS
		dir  string
		want FS
	}{
		{Local{}, "/lake", Local{Root: "/lake"}},
		{Local{Root: "/lake"}, "/lake/sub", Local{Root: "/lake/sub"}},
		{Local{Root: "/lake"}, "/other", Local{Root: "/lake"}},
		{Local{}, "file:///lake", Local{Root: "/lake"}},
		{Local{}, "s3://b/lake", Local{}},
	}
	for _, tt := range tests {
		if got := Within(tt.fsys, tt.dir); got != tt.want {
			t.Errorf("Within(%#v, %q) = %#v, want %#v", tt.fsys, tt.dir, got, tt.want)
		}
	}
}

// A lake's Local keeps the folders it created files in open: the next
// files of a folder are created without walking the path from the lake's
// root again, while each one still lands where its path says now, and
// never outside the lake, whatever happened to the folders meanwhile.
func TestLocalKeptFolders(t *testing.T) {
	write := func(ctx context.Context, fsys FS, p, data string) error {
		w, err := fsys.Create(ctx, p)
		if err != nil {
			return err
		}
		if _, err := io.WriteString(w, data); err != nil {
			w.Close()
			return err
		}
		return w.Close()
	}
	tests := []struct {
		name string
		// between runs after the first file, lake/t/p=1/f0, is written.
		between func(t *testing.T, lake, outside string)
		// want is where lake/t/p=1/f1 must be found (relative to the
		// lake), or "" when its creation must be refused.
		want string
		// walks is the number of creations that walked from the root.
		walks int64
	}{
		{name: "nothing happened", want: "t/p=1/f1", walks: 1},
		{
			name: "folder moved away",
			between: func(t *testing.T, lake, _ string) {
				mustDo(t, os.Rename(filepath.Join(lake, "t/p=1"), filepath.Join(lake, "t/moved")))
			},
			want: "t/p=1/f1", walks: 2,
		},
		{
			name: "folder removed",
			between: func(t *testing.T, lake, _ string) {
				mustDo(t, os.RemoveAll(filepath.Join(lake, "t")))
			},
			want: "t/p=1/f1", walks: 2,
		},
		{
			name: "lake folder replaced",
			between: func(t *testing.T, lake, _ string) {
				mustDo(t, os.Rename(lake, lake+".old"))
				mustDo(t, os.Mkdir(lake, 0o755))
			},
			want: "t/p=1/f1", walks: 2,
		},
		{
			name: "folder replaced by a link out of the lake",
			between: func(t *testing.T, lake, outside string) {
				mustDo(t, os.Rename(filepath.Join(lake, "t/p=1"), filepath.Join(lake, "t/moved")))
				mustDo(t, os.Symlink(outside, filepath.Join(lake, "t/p=1")))
			},
			want: "", walks: 2,
		},
		{
			name: "file that is a link to a sibling folder",
			between: func(t *testing.T, lake, _ string) {
				mustDo(t, os.MkdirAll(filepath.Join(lake, "t/p=2"), 0o755))
				mustDo(t, os.Symlink("../p=2/f1", filepath.Join(lake, "t/p=1/f1")))
			},
			want: "t/p=2/f1", walks: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			base := t.TempDir()
			lake, outside := filepath.Join(base, "lake"), filepath.Join(base, "outside")
			mustDo(t, os.MkdirAll(outside, 0o755))
			fsys, err := New(ctx, lake, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := write(ctx, fsys, filepath.Join(lake, "t/p=1/f0"), "f0"); err != nil {
				t.Fatal(err)
			}
			if tt.between != nil {
				tt.between(t, lake, outside)
			}
			err = write(ctx, fsys, filepath.Join(lake, "t/p=1/f1"), "f1")
			if tt.want == "" {
				if !errors.Is(err, ErrOutsideLake) {
					t.Errorf("error = %v, want one wrapping %v", err, ErrOutsideLake)
				}
			} else if err != nil {
				t.Fatal(err)
			} else if b, err := os.ReadFile(filepath.Join(lake, tt.want)); err != nil || string(b) != "f1" {
				t.Errorf("%s holds %q, %v; want f1", tt.want, b, err)
			}
			if entries, _ := os.ReadDir(outside); len(entries) != 0 {
				t.Errorf("written outside the lake: %v", entries)
			}
			for i := 2; i < 10; i++ {
				if err := write(ctx, fsys, filepath.Join(lake, fmt.Sprintf("t/p=3/f%d", i)), "f"); err != nil {
					t.Fatal(err)
				}
			}
			// One more walk for t/p=3's first file, none for the others.
			if got := fsys.(Local).h.walks.Load(); got != tt.walks+1 {
				t.Errorf("%d creations walked from the lake's root, want %d", got, tt.walks+1)
			}
		})
	}
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Within keeps a lake's Local confined to the same folder as it is, with
// the folders it keeps open: the commit's renames go through it.
func TestWithinSameLake(t *testing.T) {
	ctx := context.Background()
	lake := filepath.Join(t.TempDir(), "lake")
	fsys, err := New(ctx, lake, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{lake, lake + "/", "file://" + lake} {
		got, ok := Within(fsys, dir).(Local)
		if !ok || got.h != fsys.(Local).h {
			t.Errorf("Within(New(%q), %q) = %#v, want the same Local", lake, dir, got)
		}
	}
}

func TestSmallWritesAtOnce(t *testing.T) {
	for _, tt := range []struct {
		uri  string
		want int
	}{
		{"/lake", 16},
		{"lake", 16},
		{"file:///lake", 16},
		{"s3://bucket/lake", 1},
	} {
		if got := SmallWritesAtOnce(tt.uri); got != tt.want {
			t.Errorf("SmallWritesAtOnce(%q) = %d, want %d", tt.uri, got, tt.want)
		}
	}
}
