package lakefs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Create implements FS: a streaming multipart upload. The object appears only
// when Close returns nil; Abort (or an error in Close) aborts the upload, and
// no object appears.
func (s *S3) Create(ctx context.Context, p string) (io.WriteCloser, error) {
	bucket, key, err := parseS3(p)
	if err != nil {
		return nil, fmt.Errorf("create: %w", err)
	}
	if key == "" || strings.HasSuffix(key, "/") {
		return nil, fmt.Errorf("create %s: not an object key", p)
	}
	up := manager.NewUploader(s.client, func(u *manager.Uploader) {
		u.PartSize = s.partSize
		u.Concurrency = s.concurrency
		u.LeavePartsOnError = false
	})
	pr, pw := io.Pipe()
	w := &s3Writer{uri: p, pw: pw, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		_, err := up.Upload(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: pr})
		if err != nil {
			err = s.s3Error("upload", p, err)
		}
		w.err = err
		if err == nil {
			err = errors.New("upload finished")
		}
		pr.CloseWithError(err) // unblocks a writer still writing
	}()
	return w, nil
}

// s3Writer feeds an upload through a pipe: memory stays bounded by the
// uploader's part buffers, whatever the object's size.
type s3Writer struct {
	uri     string
	pw      *io.PipeWriter
	done    chan struct{}
	err     error // the upload's outcome, set before done closes
	aborted error
	once    sync.Once
	result  error
}

func (w *s3Writer) Write(b []byte) (int, error) {
	n, err := w.pw.Write(b)
	if err != nil {
		<-w.done
		if w.err != nil {
			return n, w.err
		}
		return n, fmt.Errorf("write %s: %w", w.uri, err)
	}
	return n, nil
}

// Close completes the upload and returns its error.
func (w *s3Writer) Close() error {
	w.once.Do(func() {
		w.pw.Close()
		<-w.done
		w.result = w.err
	})
	return w.result
}

// Abort abandons the upload: parts already sent are discarded and no object
// appears. It returns cause (wrapped).
func (w *s3Writer) Abort(cause error) error {
	if cause == nil {
		cause = errors.New("aborted")
	}
	w.once.Do(func() {
		w.aborted = fmt.Errorf("upload %s aborted: %w", w.uri, cause)
		w.pw.CloseWithError(w.aborted)
		<-w.done
		w.result = w.aborted
	})
	return w.result
}
