package lakefs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// Open implements FS: a streaming GetObject that resumes after a broken
// connection.
func (s *S3) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	return s.OpenRange(ctx, p, 0, -1)
}

// OpenRange implements FS.
func (s *S3) OpenRange(ctx context.Context, p string, offset, length int64) (io.ReadCloser, error) {
	bucket, key, err := parseS3(p)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	if offset < 0 {
		return nil, fmt.Errorf("open %s: negative offset %d", p, offset)
	}
	r := &s3Reader{s: s, ctx: ctx, bucket: bucket, key: key, uri: p, pos: offset, end: -1}
	if length == 0 {
		// Still check that the object exists.
		if _, err := s.Stat(ctx, p); err != nil {
			return nil, err
		}
		return io.NopCloser(strings.NewReader("")), nil
	}
	if length > 0 {
		r.end = offset + length
	}
	if err := r.connect(); err != nil {
		return nil, err
	}
	return r, nil
}

// s3Reader streams [pos, end) of an object, reconnecting with a Range
// request from the next unread byte when the body breaks.
type s3Reader struct {
	s           *S3
	ctx         context.Context
	bucket, key string
	uri         string
	body        io.ReadCloser
	pos, end    int64 // next byte; exclusive end (-1 until known)
	etag        string
	failures    int // consecutive reconnections without progress
	resumes     int // reconnections in all (for tests and logs)
	closed      bool
}

func (r *s3Reader) connect() error {
	in := &s3.GetObjectInput{Bucket: aws.String(r.bucket), Key: aws.String(r.key)}
	switch {
	case r.end >= 0:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", r.pos, r.end-1))
	case r.pos > 0:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", r.pos))
	}
	if r.etag != "" {
		in.IfMatch = aws.String(`"` + r.etag + `"`)
	}
	out, err := r.s.client.GetObject(r.ctx, in)
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) {
			switch ae.ErrorCode() {
			case "InvalidRange":
				// Reading at or past the end (or an empty object): nothing to read.
				r.body, r.end = io.NopCloser(strings.NewReader("")), r.pos
				return nil
			case "PreconditionFailed":
				return fmt.Errorf("read %s: the object changed while it was being read", r.uri)
			}
		}
		return r.s.s3Error("open", r.uri, err)
	}
	r.body = out.Body
	if r.etag == "" {
		r.etag = trimETag(out.ETag)
	}
	if out.ContentLength == nil {
		out.Body.Close()
		return fmt.Errorf("read %s: the response has no Content-Length", r.uri)
	}
	if n := aws.ToInt64(out.ContentLength); r.end < 0 || r.pos+n < r.end {
		r.end = r.pos + n
	}
	return nil
}

func (r *s3Reader) Read(p []byte) (int, error) {
	if r.closed {
		return 0, fmt.Errorf("read %s: reader closed", r.uri)
	}
	for {
		if r.pos >= r.end {
			return 0, io.EOF
		}
		if int64(len(p)) > r.end-r.pos {
			p = p[:r.end-r.pos]
		}
		n, err := r.body.Read(p)
		r.pos += int64(n)
		if n > 0 {
			r.failures = 0
		}
		if err == nil || (err == io.EOF && r.pos >= r.end) {
			if err == io.EOF && n > 0 {
				err = nil
			}
			return n, err
		}
		// The body ended early or the connection broke.
		if cerr := r.ctx.Err(); cerr != nil {
			return n, fmt.Errorf("read %s: %w", r.uri, cerr)
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if rerr := r.reconnect(err); rerr != nil {
			return n, rerr
		}
		if n > 0 {
			return n, nil
		}
	}
}

// reconnect reopens the object at r.pos after cause broke the body, with
// bounded attempts and a short backoff.
func (r *s3Reader) reconnect(cause error) error {
	r.body.Close()
	for {
		r.failures++
		if r.failures > s3ReadAttempts {
			return fmt.Errorf("read %s: connection broken at byte %d, %d reconnections failed: %v", r.uri, r.pos, s3ReadAttempts, oneLine(cause.Error()))
		}
		r.resumes++
		if r.failures > 1 {
			select {
			case <-time.After(time.Duration(r.failures-1) * 200 * time.Millisecond):
			case <-r.ctx.Done():
				return fmt.Errorf("read %s: %w", r.uri, r.ctx.Err())
			}
		}
		err := r.connect()
		if err == nil {
			return nil
		}
		if !transient(err) {
			return err // reconnecting will not help
		}
		cause = err
	}
}

// transient reports whether err is a broken or refused connection or a
// server-side 5xx: worth another attempt.
func transient(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode() >= 500
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE)
}

func (r *s3Reader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	if r.body != nil {
		return r.body.Close()
	}
	return nil
}
