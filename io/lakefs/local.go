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
)

// Local is the FS of the local disk. Its zero value is ready to use.
type Local struct{}

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
func (Local) Create(ctx context.Context, p string) (io.WriteCloser, error) {
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
func (Local) Rename(ctx context.Context, src, dst string) error {
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
func (Local) Delete(ctx context.Context, p string) error {
	lp := localPath(p)
	if err := os.Remove(lp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", p, unwrapPathErr(err))
	}
	return nil
}

// DeleteAll implements FS.
func (Local) DeleteAll(ctx context.Context, dir string) error {
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
// stop (exclusive). It is a no-op on object stores, which have no directories.
func PruneEmptyDirs(dir, stop string) {
	if Scheme(dir) != "" && Scheme(dir) != "file" {
		return
	}
	d, s := filepath.Clean(localPath(dir)), filepath.Clean(localPath(stop))
	for d != s && strings.HasPrefix(d, s+string(filepath.Separator)) {
		if err := os.Remove(d); err != nil {
			return
		}
		d = filepath.Dir(d)
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
