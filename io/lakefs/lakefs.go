// Package lakefs is one filesystem interface over local disk and object stores,
// used for every read and write that vendorlake's pipelines and sinks do.
//
// Paths are URIs: a plain absolute or relative path (or file://...) is local
// disk; s3://bucket/key is Amazon S3 or an S3-compatible store. All listing is
// recursive and returns files only, sorted by path, so that callers behave the
// same whether the store has directories or only key prefixes.
package lakefs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"
)

// ErrNotExist is returned (wrapped) when a path does not exist.
var ErrNotExist = fs.ErrNotExist

// FileInfo describes one stored file (object).
type FileInfo struct {
	// Path is the full path or URI of the file, as accepted by the FS methods.
	Path string `json:"path"`
	// Size is the file size in bytes.
	Size int64 `json:"size"`
	// ModTime is the last modification time (UTC).
	ModTime time.Time `json:"mtime"`
	// ETag is the object's entity tag on object stores; empty on local disk.
	ETag string `json:"etag,omitempty"`
}

// FS is the filesystem interface. Implementations must be safe for concurrent
// use by multiple goroutines.
type FS interface {
	// List returns every file below dir (recursively), sorted by path. A
	// missing dir yields an empty list, not an error.
	List(ctx context.Context, dir string) ([]FileInfo, error)
	// Open opens a file for streaming reads.
	Open(ctx context.Context, path string) (io.ReadCloser, error)
	// OpenRange opens a file for reading length bytes from offset; length < 0
	// reads to the end.
	OpenRange(ctx context.Context, path string, offset, length int64) (io.ReadCloser, error)
	// Create creates (or truncates) a file for streaming writes, creating
	// parent directories as needed. The data is durable and visible under
	// path only after Close returns nil.
	Create(ctx context.Context, path string) (io.WriteCloser, error)
	// Rename moves src to dst, replacing dst.
	Rename(ctx context.Context, src, dst string) error
	// Delete removes a file; a missing file is not an error.
	Delete(ctx context.Context, path string) error
	// DeleteAll removes dir and everything below it; a missing dir is not an error.
	DeleteAll(ctx context.Context, dir string) error
	// Stat describes one file; a missing file yields an error wrapping ErrNotExist.
	Stat(ctx context.Context, path string) (FileInfo, error)
}

// Options configures how stores are reached. It is serialisable so that Beam
// DoFns can carry it to remote workers and open the same store there.
type Options struct {
	// S3Endpoint overrides the S3 endpoint URL (MinIO and other S3-compatible stores).
	S3Endpoint string `json:"s3_endpoint,omitempty"`
	// S3Region is the S3 region; empty uses the standard AWS configuration chain.
	S3Region string `json:"s3_region,omitempty"`
	// S3PathStyle selects path-style addressing (bucket in the path, not the host).
	S3PathStyle bool `json:"s3_path_style,omitempty"`
	// S3PartSizeMiB is the multipart upload part size (default 16, minimum 5).
	S3PartSizeMiB int `json:"s3_part_size_mib,omitempty"`
	// S3UploadConcurrency is how many parts of one object upload at once (default 2).
	S3UploadConcurrency int `json:"s3_upload_concurrency,omitempty"`
}

// New returns the FS that serves uri. On local disk its writes, renames and
// deletes are confined to uri (see Local): open the lake's FS with the lake's
// URI.
func New(ctx context.Context, uri string, opts Options) (FS, error) {
	switch Scheme(uri) {
	case "", "file":
		root := localPath(uri)
		if root == "" {
			root = "."
		}
		return local(root), nil
	case "s3":
		return NewS3(ctx, opts)
	default:
		return nil, fmt.Errorf("open %s: unsupported scheme %q (use a local path or s3://)", uri, Scheme(uri))
	}
}

// SmallWritesAtOnce is how many small files a caller may have being
// written and closed at once under uri. On local disk a Close waits for its
// fsync, and the file system commits concurrent ones together, so several
// at once cost little more than one; on object stores an upload holds a
// part buffer (Options.S3PartSizeMiB) until it completes, so they go one
// after the other.
func SmallWritesAtOnce(uri string) int {
	switch Scheme(uri) {
	case "", "file":
		return 16
	}
	return 1
}

// Scheme returns the URI scheme of p ("s3", "file"), or "" for a plain path.
func Scheme(p string) string {
	i := strings.Index(p, "://")
	if i <= 0 {
		return ""
	}
	return strings.ToLower(p[:i])
}

// Join joins path elements onto base, keeping base's scheme and bucket.
func Join(base string, elem ...string) string {
	if s := Scheme(base); s != "" {
		rest := base[len(s)+3:]
		parts := append([]string{rest}, elem...)
		return s + "://" + strings.TrimPrefix(path.Join(parts...), "/")
	}
	return path.Join(append([]string{base}, elem...)...)
}

// Rel returns target relative to base, with forward slashes; ok is false when
// target is not below base.
func Rel(base, target string) (rel string, ok bool) {
	b := strings.TrimSuffix(Clean(base), "/")
	t := Clean(target)
	if t == b {
		return "", true
	}
	if !strings.HasPrefix(t, b+"/") {
		return "", false
	}
	return t[len(b)+1:], true
}

// Clean returns p with redundant separators and dot elements removed, keeping
// its scheme.
func Clean(p string) string {
	if s := Scheme(p); s != "" {
		return s + "://" + strings.TrimPrefix(path.Clean("/"+p[len(s)+3:]), "/")
	}
	return path.Clean(p)
}

// Contains reports whether inner is the same as or lies below outer (both
// cleaned, same scheme).
func Contains(outer, inner string) bool {
	_, ok := Rel(outer, inner)
	return ok
}

// Glob lists the files below dir whose path relative to dir matches pattern
// (path.Match syntax, applied to the whole relative path).
func Glob(ctx context.Context, fsys FS, dir, pattern string) ([]FileInfo, error) {
	if _, err := path.Match(pattern, ""); err != nil {
		return nil, fmt.Errorf("glob %q: %w", pattern, err)
	}
	all, err := fsys.List(ctx, dir)
	if err != nil {
		return nil, err
	}
	var out []FileInfo
	for _, f := range all {
		rel, ok := Rel(dir, f.Path)
		if !ok {
			continue
		}
		if m, _ := path.Match(pattern, rel); m {
			out = append(out, f)
		}
	}
	return out, nil
}

// WriteFile writes data to path atomically: readers see either the old
// content or the new one, never a partial file.
func WriteFile(ctx context.Context, fsys FS, p string, data []byte) error {
	if Scheme(p) == "" {
		// Local disk: write a hidden sibling, then rename over the target.
		tmp := Join(path.Dir(p), "."+path.Base(p)+".tmp")
		if err := writeAll(ctx, fsys, tmp, data); err != nil {
			return err
		}
		return fsys.Rename(ctx, tmp, p)
	}
	// Object stores make a PUT visible atomically.
	return writeAll(ctx, fsys, p, data)
}

func writeAll(ctx context.Context, fsys FS, p string, data []byte) error {
	w, err := fsys.Create(ctx, p)
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		w.Close()
		return fmt.Errorf("write %s: %w", p, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("close %s: %w", p, err)
	}
	return nil
}

// ReadFile reads a whole (small) file.
func ReadFile(ctx context.Context, fsys FS, p string) ([]byte, error) {
	r, err := fsys.Open(ctx, p)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	return b, nil
}

// Exists reports whether p exists.
func Exists(ctx context.Context, fsys FS, p string) (bool, error) {
	_, err := fsys.Stat(ctx, p)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, ErrNotExist) {
		return false, nil
	}
	return false, err
}

func sortInfos(fis []FileInfo) {
	sort.Slice(fis, func(i, j int) bool { return fis[i].Path < fis[j].Path })
}
