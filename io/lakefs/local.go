package lakefs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
)

// Local is the FS of the local disk.
//
// Reads (List, Open, OpenRange, Stat) take paths as given and follow
// symbolic links: an input tree may legitimately be made of links. Writes,
// renames and deletes (Create, Rename, Delete, DeleteAll, CreateExclusive,
// PruneEmptyDirs) are confined to Root when it is set: they go through an
// [os.Root] opened on Root, so a path outside Root, or one that a symbolic
// link inside Root leads out of, is refused with an error wrapping
// ErrOutsideLake, and nothing outside Root is created, replaced or
// removed. New sets Root to the URI it opens, so the FS a run writes its
// lake with cannot be turned against the rest of the machine by links or
// commit logs planted in the lake. The zero Local is not confined.
//
// A Local made by New opens its os.Root once, at its first write, rename
// or delete, and shares it with its copies (os.Root is safe for concurrent
// use); it also keeps open, through that root, the folders it created
// files in, so that writing many files into one folder costs a stat and an
// open each instead of a walk of the whole path, folder by folder. Before
// each use, the open lake (and a kept folder) is checked to still be what
// its path names (one stat): a lake folder removed or replaced is opened
// again, a kept folder that moved or went is walked to again, so a Local
// always sees the lake as it is now. What a kept folder's own root allows
// stays inside that folder, hence inside the lake; anything it refuses (a
// link to a sibling folder) takes the walk through the lake's root. Nothing
// is opened before the first operation, so such a value may be made on the
// driver and used on a worker; a Local without the handle (a literal, or a
// copy that went through a serialisation) opens an os.Root for each
// operation instead.
type Local struct {
	// Root confines every write, rename and delete to the tree below it;
	// empty means no confinement.
	Root string

	// h holds the open lake, shared by copies; nil opens an os.Root per
	// operation.
	h *rootCache
}

// rootCache is the open lake of a confined Local and of its copies.
type rootCache struct {
	mu sync.Mutex
	// root is the lake folder, nil until an operation needs it.
	root openDir
	// dirs are folders of the lake that files were created in (or moved
	// to), by path relative to the lake, opened through root.
	dirs map[string]openDir
	// walks counts the creations that walked the path from the lake's
	// root (tests check that a kept folder spares it).
	walks atomic.Int64
}

// openDir is an open folder and what it was when opened.
type openDir struct {
	r    *os.Root
	info fs.FileInfo
}

// is reports whether the folder is still what path names.
func (d openDir) is(path string) bool {
	now, err := os.Stat(path)
	return err == nil && os.SameFile(now, d.info)
}

// maxOpenDirs bounds rootCache.dirs; beyond it the kept folders are closed
// and the next creations open theirs again.
const maxOpenDirs = 64

// local returns the confined Local of root with its cache (nothing is
// opened yet).
func local(root string) Local { return Local{Root: root, h: &rootCache{}} }

// ErrOutsideLake is returned (wrapped) when a confined Local is asked to
// write, rename or delete a path outside its root, or one that a symbolic
// link leads out of it.
var ErrOutsideLake = errors.New("outside the lake")

// Within returns fsys with its local writes, renames and deletes confined to
// dir (see Local). A Local already confined to dir (with the folders it
// keeps open) or elsewhere, and other stores, are returned as they are.
func Within(fsys FS, dir string) FS {
	l, ok := fsys.(Local)
	if !ok || (Scheme(dir) != "" && Scheme(dir) != "file") {
		return fsys
	}
	if l.Root != "" {
		// A Local of dir itself stays as it is, with what it keeps open.
		if rel, err := l.rel(dir); err != nil || rel == "." {
			return fsys
		}
	}
	return Local{Root: localPath(dir)}
}

// rel returns p relative to the root, refusing paths outside it. Both may be
// spelled relative to the working directory or absolute.
func (l Local) rel(p string) (string, error) {
	root, lp := filepath.Clean(localPath(l.Root)), filepath.Clean(localPath(p))
	r, err := filepath.Rel(root, lp)
	if err != nil || !filepath.IsLocal(r) {
		ar, err1 := filepath.Abs(root)
		ap, err2 := filepath.Abs(lp)
		if err1 == nil && err2 == nil {
			r, err = filepath.Rel(ar, ap)
		}
	}
	if err != nil || !filepath.IsLocal(r) {
		return "", fmt.Errorf("%w %s", ErrOutsideLake, l.Root)
	}
	return r, nil
}

// openRoot opens the os.Root of the lake; create makes the lake folder
// first when it is missing.
func (l Local) openRoot(create bool) (*os.Root, error) {
	dir := localPath(l.Root)
	r, err := os.OpenRoot(dir)
	if err != nil && create && errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		r, err = os.OpenRoot(dir)
	}
	return r, err
}

// inRoot runs fn with the lake's os.Root and p relative to it. A missing
// lake folder is created when create is set; otherwise fn is not run and
// the error wraps fs.ErrNotExist.
func (l Local) inRoot(p string, create bool, fn func(r *os.Root, rel string) error) error {
	rel, err := l.rel(p)
	if err != nil {
		return err
	}
	var r *os.Root
	if l.h == nil {
		if r, err = l.openRoot(create); err == nil {
			defer r.Close()
		}
	} else {
		r, err = l.lake(create)
	}
	if err != nil {
		return fmt.Errorf("open the lake %s: %w", l.Root, unwrapPathErr(err))
	}
	return l.rootErr(fn(r, rel))
}

// lake returns the kept os.Root of the lake, opening it on first use and
// again when the lake folder was removed or replaced since.
func (l Local) lake(create bool) (*os.Root, error) {
	l.h.mu.Lock()
	defer l.h.mu.Unlock()
	if l.h.root.r != nil {
		if l.h.root.is(localPath(l.Root)) {
			return l.h.root.r, nil
		}
		// An operation may still use the old root: the finalizer of
		// os.Root closes it afterwards.
		l.h.root = openDir{}
		l.closeDirs()
	}
	r, err := l.openRoot(create)
	if err != nil {
		return nil, err
	}
	info, err := r.Stat(".")
	if err != nil {
		r.Close()
		return nil, err
	}
	l.h.root = openDir{r: r, info: info}
	return r, nil
}

// closeDirs closes the kept folders; l.h.mu is held. An operation that
// still uses one fails with os.ErrClosed and takes the lake's root instead.
func (l Local) closeDirs() {
	for _, d := range l.h.dirs {
		d.r.Close()
	}
	l.h.dirs = nil
}

// dir returns the kept folder dir (relative to the lake) if it is still
// what its path names.
func (l Local) dir(dir string) (*os.Root, bool) {
	l.h.mu.Lock()
	d, ok := l.h.dirs[dir]
	l.h.mu.Unlock()
	if !ok {
		return nil, false
	}
	if !d.is(filepath.Join(localPath(l.Root), dir)) {
		l.forgetDir(dir, d.r)
		return nil, false
	}
	return d.r, true
}

// keepDir opens dir (relative to the lake, known to exist) through r, the
// lake's root, and keeps it for the next creations of files in it.
func (l Local) keepDir(r *os.Root, dir string) {
	l.h.mu.Lock()
	_, kept := l.h.dirs[dir]
	l.h.mu.Unlock()
	if kept {
		return
	}
	d, err := r.OpenRoot(dir)
	if err != nil {
		return
	}
	info, err := d.Stat(".")
	if err != nil {
		d.Close()
		return
	}
	l.h.mu.Lock()
	defer l.h.mu.Unlock()
	if _, kept := l.h.dirs[dir]; kept || l.h.root.r != r {
		d.Close()
		return
	}
	if len(l.h.dirs) >= maxOpenDirs {
		l.closeDirs()
	}
	if l.h.dirs == nil {
		l.h.dirs = map[string]openDir{}
	}
	l.h.dirs[dir] = openDir{r: d, info: info}
}

// keptDir reports whether dir (relative to the lake) is a kept folder that
// its path still names.
func (l Local) keptDir(dir string) bool {
	if l.h == nil {
		return false
	}
	_, ok := l.dir(dir)
	return ok
}

// forgetDir closes and drops the kept folder dir if it is still d.
func (l Local) forgetDir(dir string, d *os.Root) {
	l.h.mu.Lock()
	defer l.h.mu.Unlock()
	if k, ok := l.h.dirs[dir]; ok && k.r == d {
		delete(l.h.dirs, dir)
		d.Close()
	}
}

// rootErr explains an os.Root refusal: a path that a symbolic link (or a
// "..") leads out of the lake.
func (l Local) rootErr(err error) error {
	if err == nil {
		return nil
	}
	// os does not export its "path escapes from parent" error.
	for e := err; e != nil; e = errors.Unwrap(e) {
		if e.Error() == "path escapes from parent" {
			return fmt.Errorf("a symbolic link leads %w %s", ErrOutsideLake, l.Root)
		}
	}
	return unwrapPathErr(err)
}

func localPath(p string) string {
	return strings.TrimPrefix(p, "file://")
}

// List implements FS.
func (Local) List(ctx context.Context, dir string) ([]FileInfo, error) {
	root := localPath(dir)
	var out []FileInfo
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == root {
				return filepath.SkipDir
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, FileInfo{Path: p, Size: info.Size(), ModTime: info.ModTime().UTC()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	sortInfos(out)
	return out, nil
}

// Open implements FS.
func (Local) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	f, err := os.Open(localPath(p))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", p, unwrapPathErr(err))
	}
	return f, nil
}

// OpenRange implements FS.
func (Local) OpenRange(ctx context.Context, p string, offset, length int64) (io.ReadCloser, error) {
	f, err := os.Open(localPath(p))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", p, unwrapPathErr(err))
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("seek %s: %w", p, err)
	}
	if length < 0 {
		return f, nil
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(f, length), f}, nil
}

// Create implements FS.
func (l Local) Create(ctx context.Context, p string) (io.WriteCloser, error) {
	if l.Root != "" {
		f, err := l.create(p)
		if err != nil {
			return nil, fmt.Errorf("create %s: %w", p, err)
		}
		return &localWriter{f: f, w: bufio.NewWriterSize(f, 1<<20), path: p}, nil
	}
	lp := localPath(p)
	if err := os.MkdirAll(filepath.Dir(lp), 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", p, err)
	}
	f, err := os.Create(lp)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", p, unwrapPathErr(err))
	}
	return &localWriter{f: f, w: bufio.NewWriterSize(f, 1<<20), path: p}, nil
}

// create creates (or truncates) p in the lake, creating its folders.
func (l Local) create(p string) (*os.File, error) {
	const flags = os.O_RDWR | os.O_CREATE | os.O_TRUNC
	var dir string
	if l.h != nil {
		rel, err := l.rel(p)
		if err != nil {
			return nil, err
		}
		dir = filepath.Dir(rel)
		if d, ok := l.dir(dir); ok {
			// What the folder's own root allows is inside the folder,
			// hence inside the lake; anything else (a link to a
			// sibling folder) takes the walk through the lake's root.
			if f, err := d.OpenFile(filepath.Base(rel), flags, 0o666); err == nil {
				return f, nil
			}
		}
	}
	if l.h != nil {
		l.h.walks.Add(1)
	}
	var f *os.File
	err := l.inRoot(p, true, func(r *os.Root, rel string) error {
		if err := r.MkdirAll(filepath.Dir(rel), 0o755); err != nil {
			return err
		}
		var err error
		if f, err = r.OpenFile(rel, flags, 0o666); err == nil && l.h != nil {
			l.keepDir(r, dir)
		}
		return err
	})
	return f, err
}

type localWriter struct {
	f      *os.File
	w      *bufio.Writer
	path   string
	closed bool
}

func (w *localWriter) Write(b []byte) (int, error) { return w.w.Write(b) }

func (w *localWriter) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	if err := w.w.Flush(); err != nil {
		w.f.Close()
		return fmt.Errorf("write %s: %w", w.path, err)
	}
	if err := w.f.Sync(); err != nil {
		w.f.Close()
		return fmt.Errorf("sync %s: %w", w.path, err)
	}
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", w.path, err)
	}
	return nil
}

// Rename implements FS.
func (l Local) Rename(ctx context.Context, src, dst string) error {
	if l.Root != "" {
		srel, err := l.rel(src)
		if err != nil {
			return fmt.Errorf("rename %s to %s: %w", src, dst, err)
		}
		err = l.inRoot(dst, true, func(r *os.Root, drel string) error {
			ddir := filepath.Dir(drel)
			// A kept folder existed a moment ago: try without making it
			// first (a folder removed since fails with ErrNotExist).
			if !l.keptDir(ddir) || r.Rename(srel, drel) != nil {
				if err := r.MkdirAll(ddir, 0o755); err != nil {
					return err
				}
				if err := r.Rename(srel, drel); err != nil {
					return err
				}
			}
			if l.h != nil {
				l.keepDir(r, ddir)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("rename %s to %s: %w", src, dst, err)
		}
		return nil
	}
	d := localPath(dst)
	if err := os.MkdirAll(filepath.Dir(d), 0o755); err != nil {
		return fmt.Errorf("rename %s to %s: %w", src, dst, err)
	}
	if err := os.Rename(localPath(src), d); err != nil {
		return fmt.Errorf("rename %s to %s: %w", src, dst, unwrapPathErr(err))
	}
	return nil
}

// Delete implements FS.
func (l Local) Delete(ctx context.Context, p string) error {
	if l.Root != "" {
		err := l.inRoot(p, false, func(r *os.Root, rel string) error {
			if rel == "." {
				return errors.New("refused: it is the whole lake")
			}
			return r.Remove(rel)
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("delete %s: %w", p, err)
		}
		return nil
	}
	lp := localPath(p)
	if err := os.Remove(lp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", p, unwrapPathErr(err))
	}
	return nil
}

// DeleteAll implements FS.
func (l Local) DeleteAll(ctx context.Context, dir string) error {
	if l.Root != "" {
		// os.Root.RemoveAll removes links, never what they point to.
		err := l.inRoot(dir, false, func(r *os.Root, rel string) error {
			if rel == "." {
				return errors.New("refused: it is the whole lake")
			}
			return r.RemoveAll(rel)
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("delete %s: %w", dir, err)
		}
		return nil
	}
	if err := os.RemoveAll(localPath(dir)); err != nil {
		return fmt.Errorf("delete %s: %w", dir, err)
	}
	return nil
}

// Stat implements FS.
func (Local) Stat(ctx context.Context, p string) (FileInfo, error) {
	info, err := os.Stat(localPath(p))
	if err != nil {
		return FileInfo{}, fmt.Errorf("stat %s: %w", p, unwrapPathErr(err))
	}
	if info.IsDir() {
		return FileInfo{}, fmt.Errorf("stat %s: is a directory", p)
	}
	return FileInfo{Path: p, Size: info.Size(), ModTime: info.ModTime().UTC()}, nil
}

// PruneEmptyDirs removes dir and its parents while they are empty, stopping at
// stop (exclusive). Removals go through an os.Root opened on stop, so no
// symbolic link leads them out of it. It is a no-op on object stores, which
// have no directories.
func PruneEmptyDirs(dir, stop string) {
	if Scheme(dir) != "" && Scheme(dir) != "file" {
		return
	}
	l := Local{Root: stop}
	rel, err := l.rel(dir)
	if err != nil {
		return
	}
	r, err := l.openRoot(false)
	if err != nil {
		return
	}
	defer r.Close()
	for rel != "." {
		if err := r.Remove(rel); err != nil {
			return
		}
		rel = filepath.Dir(rel)
	}
}

// unwrapPathErr drops the *PathError layer (whose message repeats the path)
// while keeping errors.Is checks working.
func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
