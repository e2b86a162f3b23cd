package lakefs

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// ErrChanged is returned (wrapped) by ReplaceIf when the file is no longer
// the version the caller named (or is gone).
var ErrChanged = errors.New("changed since it was read")

// The functions here are what leases are made of: a small file read
// together with a version that changes whenever the file is written, and
// replaced only if it still holds the version read. A version is the ETag
// on S3, and on local disk the file's inode number with a hash of its
// content (every write of a lock makes a new inode and new content).

// ReadVersion reads the small file at p and returns it with its version.
func ReadVersion(ctx context.Context, fsys FS, p string) (data []byte, version string, err error) {
	switch f := fsys.(type) {
	case Local:
		err := f.lockRoot(p, false, func(r *os.Root, rel string) error {
			data, version, err = readLocalVersion(r, rel)
			return err
		})
		if err != nil {
			return nil, "", fmt.Errorf("read %s: %w", p, err)
		}
		return data, version, nil
	case *S3:
		bucket, key, err := parseS3(p)
		if err != nil {
			return nil, "", err
		}
		out, err := f.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			return nil, "", f.s3Error("read", p, err)
		}
		defer out.Body.Close()
		data, err := io.ReadAll(out.Body)
		if err != nil {
			return nil, "", fmt.Errorf("read %s: %w", p, err)
		}
		return data, trimETag(out.ETag), nil
	}
	return nil, "", fmt.Errorf("read %s: versions are not supported by %T", p, fsys)
}

// CreateVersion is CreateExclusive that also returns the version written.
func CreateVersion(ctx context.Context, fsys FS, p string, data []byte) (string, error) {
	switch f := fsys.(type) {
	case Local:
		var version string
		err := f.lockRoot(p, true, func(r *os.Root, rel string) error {
			tmp, err := writeTemp(r, rel, data)
			if err != nil {
				return err
			}
			defer r.Remove(tmp)
			if err := r.Link(tmp, rel); err != nil {
				return err
			}
			version, err = localVersion(r, tmp, data)
			return err
		})
		if err != nil {
			return "", fmt.Errorf("create %s: %w", p, unwrapPathErr(err))
		}
		return version, nil
	case *S3:
		bucket, key, err := parseS3(p)
		if err != nil {
			return "", err
		}
		out, err := f.client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data), IfNoneMatch: aws.String("*"),
		})
		if preconditionFailed(err) {
			return "", fmt.Errorf("create %s: %w", p, ErrExist)
		}
		if err != nil {
			return "", f.s3Error("create", p, err)
		}
		return trimETag(out.ETag), nil
	}
	return "", fmt.Errorf("create %s: exclusive creation is not supported by %T", p, fsys)
}

// ReplaceIf writes data at p only if p still holds version, and returns the
// new version; otherwise it fails with an error wrapping ErrChanged. Of any
// number of callers replacing one version at once, exactly one succeeds,
// and p is never missing meanwhile (a run waiting for a lock must never
// find it free while its owner lives).
//
// On S3 it is one conditional PUT (If-Match: the ETag). On local disk,
// which has no compare-and-swap, the check and the replace (a new file
// renamed over p) run under an exclusive flock(2) of a guard file beside p
// (.NAME.guard, never removed): the kernel drops the flock when its
// process dies, so a crash inside the check never blocks anyone.
func ReplaceIf(ctx context.Context, fsys FS, p, version string, data []byte) (string, error) {
	switch f := fsys.(type) {
	case Local:
		var newVersion string
		err := f.lockRoot(p, false, func(r *os.Root, rel string) error {
			return guarded(r, rel, func() error {
				if err := checkLocalVersion(r, rel, version); err != nil {
					return err
				}
				tmp, err := writeTemp(r, rel, data)
				if err != nil {
					return err
				}
				defer r.Remove(tmp)
				if newVersion, err = localVersion(r, tmp, data); err != nil {
					return err
				}
				// The inode, hence the version, moves with the rename.
				return r.Rename(tmp, rel)
			})
		})
		if err != nil {
			return "", fmt.Errorf("replace %s: %w", p, unwrapPathErr(err))
		}
		return newVersion, nil
	case *S3:
		bucket, key, err := parseS3(p)
		if err != nil {
			return "", err
		}
		out, err := f.client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data), IfMatch: aws.String(`"` + version + `"`),
		})
		var ae smithy.APIError
		if preconditionFailed(err) || (errors.As(err, &ae) && (ae.ErrorCode() == "NoSuchKey" || ae.ErrorCode() == "NotFound")) {
			return "", fmt.Errorf("replace %s: %w", p, ErrChanged)
		}
		if err != nil {
			return "", f.s3Error("replace", p, err)
		}
		return trimETag(out.ETag), nil
	}
	return "", fmt.Errorf("replace %s: versions are not supported by %T", p, fsys)
}

// DeleteIf removes p only if it still holds version (ErrChanged
// otherwise). On local disk the check and the removal run under the guard
// of ReplaceIf; on S3 the version is checked, then the object deleted.
func DeleteIf(ctx context.Context, fsys FS, p, version string) error {
	if f, ok := fsys.(Local); ok {
		err := f.lockRoot(p, false, func(r *os.Root, rel string) error {
			return guarded(r, rel, func() error {
				if err := checkLocalVersion(r, rel, version); err != nil {
					return err
				}
				return r.Remove(rel)
			})
		})
		if err != nil {
			return fmt.Errorf("delete %s: %w", p, unwrapPathErr(err))
		}
		return nil
	}
	_, got, err := ReadVersion(ctx, fsys, p)
	if err != nil {
		return err
	}
	if got != version {
		return fmt.Errorf("delete %s: %w", p, ErrChanged)
	}
	return fsys.Delete(ctx, p)
}

// guarded runs fn holding an exclusive flock of rel's guard file.
// checkLocalVersion fails with ErrChanged unless rel exists and holds
// version; the caller holds the guard (guarded).
func checkLocalVersion(r *os.Root, rel, version string) error {
	_, got, err := readLocalVersion(r, rel)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && got != version) {
		return ErrChanged
	}
	return err
}

func guarded(r *os.Root, rel string, fn func() error) error {
	g, err := r.OpenFile(filepath.Join(filepath.Dir(rel), "."+filepath.Base(rel)+".guard"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer g.Close()
	for {
		err = syscall.Flock(int(g.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("flock: %w", err)
	}
	defer syscall.Flock(int(g.Fd()), syscall.LOCK_UN)
	return fn()
}

func preconditionFailed(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "PreconditionFailed" || ae.ErrorCode() == "ConditionalRequestConflict")
}

// lockRoot runs fn in an os.Root of the lake (or, for an unconfined Local,
// of p's folder), so that no symbolic link leads a lock out of it.
func (l Local) lockRoot(p string, create bool, fn func(r *os.Root, rel string) error) error {
	if l.Root == "" {
		dir := filepath.Dir(localPath(p))
		if create {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
		}
		l = Local{Root: dir}
	}
	return l.inRoot(p, create, func(r *os.Root, rel string) error {
		if create {
			if err := r.MkdirAll(filepath.Dir(rel), 0o755); err != nil {
				return err
			}
		}
		return fn(r, rel)
	})
}

// writeTemp writes data, synced, to a new hidden file beside rel and
// returns its name.
func writeTemp(r *os.Root, rel string, data []byte) (string, error) {
	var b [8]byte
	rand.Read(b[:])
	tmp := filepath.Join(filepath.Dir(rel), "."+filepath.Base(rel)+"."+hex.EncodeToString(b[:]))
	f, err := r.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		r.Remove(tmp)
		return "", err
	}
	return tmp, nil
}

func readLocalVersion(r *os.Root, rel string) ([]byte, string, error) {
	f, err := r.Open(rel)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, "", err
	}
	info, err := f.Stat()
	if err != nil {
		return nil, "", err
	}
	return data, versionOf(info, data), nil
}

func localVersion(r *os.Root, rel string, data []byte) (string, error) {
	info, err := r.Stat(rel)
	if err != nil {
		return "", err
	}
	return versionOf(info, data), nil
}

func versionOf(info fs.FileInfo, data []byte) string {
	var ino uint64
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		ino = st.Ino
	}
	h := sha256.Sum256(data)
	return fmt.Sprintf("%d-%s", ino, hex.EncodeToString(h[:8]))
}
