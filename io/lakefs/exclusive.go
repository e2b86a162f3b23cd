package lakefs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// ErrExist is returned (wrapped) by CreateExclusive when the file exists.
var ErrExist = fs.ErrExist

// CreateExclusive writes a small file only if nothing exists at p yet, as
// one atomic step: O_EXCL on local disk, a conditional PUT (If-None-Match:
// *) on S3. It is what locks are made of.
func CreateExclusive(ctx context.Context, fsys FS, p string, data []byte) error {
	switch f := fsys.(type) {
	case Local:
		if f.Root != "" {
			return f.createExclusive(p, data)
		}
		lp := localPath(p)
		if err := os.MkdirAll(filepath.Dir(lp), 0o755); err != nil {
			return fmt.Errorf("create %s: %w", p, err)
		}
		file, err := os.OpenFile(lp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return fmt.Errorf("create %s: %w", p, unwrapPathErr(err))
		}
		if _, err := file.Write(data); err != nil {
			file.Close()
			os.Remove(lp)
			return fmt.Errorf("write %s: %w", p, err)
		}
		if err := file.Close(); err != nil {
			os.Remove(lp)
			return fmt.Errorf("close %s: %w", p, err)
		}
		return nil
	case *S3:
		bucket, key, err := parseS3(p)
		if err != nil {
			return err
		}
		_, err = f.client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data),
			IfNoneMatch: aws.String("*"),
		})
		var ae smithy.APIError
		if errors.As(err, &ae) && (ae.ErrorCode() == "PreconditionFailed" || ae.ErrorCode() == "ConditionalRequestConflict") {
			return fmt.Errorf("create %s: %w", p, ErrExist)
		}
		if err != nil {
			return f.s3Error("create", p, err)
		}
		return nil
	}
	return fmt.Errorf("create %s: exclusive creation is not supported by %T", p, fsys)
}

// createExclusive is CreateExclusive of a confined Local.
func (l Local) createExclusive(p string, data []byte) error {
	err := l.inRoot(p, true, func(r *os.Root, rel string) error {
		if err := r.MkdirAll(filepath.Dir(rel), 0o755); err != nil {
			return err
		}
		file, err := r.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return err
		}
		if _, err := file.Write(data); err != nil {
			file.Close()
			r.Remove(rel)
			return fmt.Errorf("write: %w", err)
		}
		if err := file.Close(); err != nil {
			r.Remove(rel)
			return fmt.Errorf("close: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create %s: %w", p, err)
	}
	return nil
}
