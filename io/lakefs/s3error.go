package lakefs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// s3Error turns an SDK error into a one-line error that names the operation
// and the URI, classifies the usual failures, wraps ErrNotExist for missing
// objects, and carries no credentials (SDK errors name the operation, status
// and request ID; we never presign URLs).
func (s *S3) s3Error(op, uri string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s %s: %w", op, uri, err)
	}
	status := 0
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code, msg := ae.ErrorCode(), strings.TrimSpace(ae.ErrorMessage())
		switch {
		case code == "NoSuchBucket":
			b, _, _ := parseS3(uri)
			return &s3Err{msg: fmt.Sprintf("%s %s: bucket %q does not exist (NoSuchBucket)", op, uri, b), err: err}
		case code == "NoSuchKey" || code == "NotFound" || status == http.StatusNotFound:
			return &s3Err{msg: fmt.Sprintf("%s %s: %v", op, uri, ErrNotExist), err: err, notExist: true}
		case code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch" || code == "ExpiredToken" ||
			code == "InvalidToken" || code == "TokenRefreshRequired":
			return &s3Err{msg: fmt.Sprintf("%s %s: the S3 credentials were rejected (%s): check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or the role", op, uri, code), err: err}
		case code == "AccessDenied" || code == "Forbidden" || status == http.StatusForbidden:
			return &s3Err{msg: fmt.Sprintf("%s %s: access denied (%s): check the credentials and the bucket policy", op, uri, code), err: err}
		}
		if msg == "" {
			msg = http.StatusText(status)
		}
		return &s3Err{msg: fmt.Sprintf("%s %s: %s: %s (HTTP %d)", op, uri, code, oneLine(msg), status), err: err}
	}
	if msg := err.Error(); strings.Contains(msg, "get credentials: ") {
		detail := msg[strings.Index(msg, "get credentials: ")+len("get credentials: "):]
		return &s3Err{msg: fmt.Sprintf("%s %s: no usable AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run with an IAM role (%s)", op, uri, oneLine(detail)), err: err}
	}
	var ne net.Error
	var oe *net.OpError
	if errors.As(err, &oe) {
		return &s3Err{msg: fmt.Sprintf("%s %s: cannot reach %s: %v", op, uri, s.endpoint, oneLine(oe.Error())), err: err}
	}
	if errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &s3Err{msg: fmt.Sprintf("%s %s: connection to %s failed: %v", op, uri, s.endpoint, oneLine(innermost(err).Error())), err: err}
	}
	return &s3Err{msg: fmt.Sprintf("%s %s: %v", op, uri, oneLine(err.Error())), err: err}
}

// s3Err is an error with our own message that still unwraps to the SDK's
// error (and to ErrNotExist for a missing object).
type s3Err struct {
	msg      string
	err      error
	notExist bool
}

func (e *s3Err) Error() string { return e.msg }
func (e *s3Err) Unwrap() []error {
	if e.notExist {
		return []error{ErrNotExist, e.err}
	}
	return []error{e.err}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func innermost(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}
