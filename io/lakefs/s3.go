package lakefs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// S3 defaults.
const (
	// DefaultS3PartSizeMiB is the multipart upload part size.
	DefaultS3PartSizeMiB = 16
	// DefaultS3UploadConcurrency is how many parts of one object upload at once.
	DefaultS3UploadConcurrency = 2
	// s3DeleteBatch is the most keys one DeleteObjects request takes.
	s3DeleteBatch = 1000
	// s3ReadAttempts bounds the reconnections of a reader that make no progress.
	s3ReadAttempts = 5
)

// copyThreshold is the largest object CopyObject copies in one request (the
// S3 limit); bigger objects are copied part by part. A variable for tests.
var copyThreshold int64 = 5 << 30

// copyPartSize is the part size of a multipart copy (at least this, more
// when the object needs more than 10,000 parts). A variable for tests.
var copyPartSize int64 = 512 << 20

// S3 is the FS of Amazon S3 and S3-compatible stores (MinIO). Credentials come
// from the standard AWS chain: environment (AWS_ACCESS_KEY_ID...), shared
// config and credentials files (AWS_PROFILE), web identity, container and
// instance roles. Paths are s3://bucket/key.
//
// Memory: an open writer holds at most part size × (concurrency + 2) bytes.
// A reader streams; when its connection breaks mid-body it reconnects and
// resumes at the next byte with a Range request (the object must keep its
// ETag meanwhile).
//
// Rename is a server-side copy then a delete (S3 has no rename), so it costs
// time in proportion to the object's size, inside S3, without moving data
// through this process. The sink's commit (io/hiveparquet) stays
// copy-then-delete on S3, rather than writing final objects under their
// final names as DESIGN.md suggests, because it is correct and crash-safe
// as it is: the commit log is recorded first, every step is idempotent
// (a copy whose source is gone counts as done when its target exists) and
// a crashed commit is redone by the next run; temp objects live outside
// the table folders, so readers never see uncommitted data, and the window
// in which a reader may see both the new and the superseded files of a
// partition is the same as on local disk: from the first publish to the
// last delete of the commit. Writing under final names would widen that
// window to the whole run (readers would see new files before the commit)
// and would need the final names decided before the writes.
type S3 struct {
	client      *s3.Client
	partSize    int64
	concurrency int
	endpoint    string // for error messages: the endpoint we failed to reach
}

// NewS3 returns the FS of S3 configured by opts.
func NewS3(ctx context.Context, opts Options) (*S3, error) {
	return newS3(ctx, opts, nil)
}

// newS3 is NewS3 with an optional HTTP client (tests inject faults).
func newS3(ctx context.Context, opts Options, hc *http.Client) (*S3, error) {
	var loads []func(*config.LoadOptions) error
	if opts.S3Region != "" {
		loads = append(loads, config.WithRegion(opts.S3Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loads...)
	if err != nil {
		// The message names the file or setting at fault, never a secret.
		return nil, fmt.Errorf("s3: load AWS configuration: %v", err)
	}
	if cfg.Region == "" {
		if opts.S3Endpoint == "" {
			return nil, errors.New("s3: no AWS region: set --s3-region, AWS_REGION or a region in the AWS profile")
		}
		// S3-compatible stores mostly ignore the region but SigV4 needs one.
		cfg.Region = "us-east-1"
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if opts.S3Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.S3Endpoint)
			// S3-compatible stores do not all support the SDK's default
			// CRC trailers; send and check checksums only where required.
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
		o.UsePathStyle = opts.S3PathStyle
		if hc != nil {
			o.HTTPClient = hc
		}
	})
	part := int64(opts.S3PartSizeMiB) << 20
	if part <= 0 {
		part = DefaultS3PartSizeMiB << 20
	}
	if part < manager.MinUploadPartSize {
		return nil, fmt.Errorf("s3: part size %d MiB is below the S3 minimum of 5 MiB", opts.S3PartSizeMiB)
	}
	conc := opts.S3UploadConcurrency
	if conc <= 0 {
		conc = DefaultS3UploadConcurrency
	}
	endpoint := opts.S3Endpoint
	if u, err := url.Parse(endpoint); err == nil && u.User != nil {
		u.User = nil // never repeat credentials embedded in the URL
		endpoint = u.String()
	}
	if endpoint == "" {
		endpoint = "S3 (" + cfg.Region + ")"
	}
	return &S3{client: client, partSize: part, concurrency: conc, endpoint: endpoint}, nil
}

// parseS3 splits s3://bucket/key.
func parseS3(uri string) (bucket, key string, err error) {
	if Scheme(uri) != "s3" {
		return "", "", fmt.Errorf("%s: not an s3:// URI", uri)
	}
	rest := uri[len("s3://"):]
	bucket, key, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("%s: no bucket in the URI", uri)
	}
	return bucket, key, nil
}

func s3URI(bucket, key string) string { return "s3://" + bucket + "/" + key }

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

// List implements FS with ListObjectsV2, page by page.
func (s *S3) List(ctx context.Context, dir string) ([]FileInfo, error) {
	bucket, prefix, err := parseS3(dir)
	if err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	var out []FileInfo
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, s.s3Error("list", dir, err)
		}
		for _, o := range page.Contents {
			k := aws.ToString(o.Key)
			if strings.HasSuffix(k, "/") {
				continue // a "folder" marker made by consoles
			}
			out = append(out, FileInfo{Path: s3URI(bucket, k), Size: aws.ToInt64(o.Size),
				ModTime: aws.ToTime(o.LastModified).UTC(), ETag: trimETag(o.ETag)})
		}
	}
	sortInfos(out)
	return out, nil
}

func trimETag(e *string) string { return strings.Trim(aws.ToString(e), `"`) }

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

// Rename implements FS: a server-side copy (multipart beyond 5 GiB), then a
// delete of src. A crash between the two leaves both objects; renaming again
// redoes the copy and the delete.
func (s *S3) Rename(ctx context.Context, src, dst string) error {
	sb, sk, err := parseS3(src)
	if err != nil {
		return fmt.Errorf("rename: %w", err)
	}
	db, dk, err := parseS3(dst)
	if err != nil {
		return fmt.Errorf("rename: %w", err)
	}
	op := "rename " + src + " to"
	head, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(sb), Key: aws.String(sk)})
	if err != nil {
		return s.s3Error("rename", src, err)
	}
	source := url.PathEscape(sb) + "/" + escapeKey(sk)
	size, etag := aws.ToInt64(head.ContentLength), aws.ToString(head.ETag)
	if size > copyThreshold {
		if err := s.multipartCopy(ctx, source, etag, size, db, dk); err != nil {
			return s.s3Error(op, dst, err)
		}
	} else {
		_, err := s.client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(db), Key: aws.String(dk),
			CopySource: aws.String(source), CopySourceIfMatch: aws.String(etag)})
		if err != nil {
			return s.s3Error(op, dst, err)
		}
	}
	if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(sb), Key: aws.String(sk)}); err != nil {
		return s.s3Error("rename: delete source", src, err)
	}
	return nil
}

// escapeKey URL-encodes a key for x-amz-copy-source, keeping the slashes.
func escapeKey(k string) string {
	segs := strings.Split(k, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

func (s *S3) multipartCopy(ctx context.Context, source, etag string, size int64, bucket, key string) error {
	part := copyPartSize
	if min := (size + 9999) / 10000; part < min {
		part = min
	}
	cr, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return err
	}
	abort := func(err error) error {
		s.client.AbortMultipartUpload(context.WithoutCancel(ctx), &s3.AbortMultipartUploadInput{
			Bucket: aws.String(bucket), Key: aws.String(key), UploadId: cr.UploadId})
		return err
	}
	var parts []types.CompletedPart
	for off, n := int64(0), int32(1); off < size; off, n = off+part, n+1 {
		last := min(off+part, size) - 1
		out, err := s.client.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String(bucket), Key: aws.String(key),
			UploadId: cr.UploadId, PartNumber: aws.Int32(n), CopySource: aws.String(source), CopySourceIfMatch: aws.String(etag),
			CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", off, last))})
		if err != nil {
			return abort(err)
		}
		parts = append(parts, types.CompletedPart{ETag: out.CopyPartResult.ETag, PartNumber: aws.Int32(n)})
	}
	_, err = s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key),
		UploadId: cr.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	if err != nil {
		return abort(err)
	}
	return nil
}

// Delete implements FS; a missing object is not an error.
func (s *S3) Delete(ctx context.Context, p string) error {
	bucket, key, err := parseS3(p)
	if err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	// S3 answers 204 for a missing key: only a real failure is an error.
	_, err = s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	return s.s3Error("delete", p, err)
}

func isNoSuchBucket(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "NoSuchBucket"
}

// DeleteAll implements FS: every object below dir, in batches of 1000.
func (s *S3) DeleteAll(ctx context.Context, dir string) error {
	bucket, _, err := parseS3(dir)
	if err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	files, err := s.List(ctx, dir)
	if err != nil {
		if isNoSuchBucket(err) {
			return nil // nothing to delete
		}
		return err
	}
	for i := 0; i < len(files); i += s3DeleteBatch {
		batch := files[i:min(i+s3DeleteBatch, len(files))]
		ids := make([]types.ObjectIdentifier, len(batch))
		for j, f := range batch {
			_, k, _ := parseS3(f.Path)
			ids[j] = types.ObjectIdentifier{Key: aws.String(k)}
		}
		out, err := s.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket),
			Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)}})
		if err != nil {
			return s.s3Error("delete", dir, err)
		}
		for _, e := range out.Errors {
			if aws.ToString(e.Code) == "NoSuchKey" {
				continue
			}
			return fmt.Errorf("delete %s: %s: %s (%s)", dir, s3URI(bucket, aws.ToString(e.Key)), oneLine(aws.ToString(e.Message)), aws.ToString(e.Code))
		}
	}
	return nil
}

// Stat implements FS with HeadObject.
func (s *S3) Stat(ctx context.Context, p string) (FileInfo, error) {
	bucket, key, err := parseS3(p)
	if err != nil {
		return FileInfo{}, fmt.Errorf("stat: %w", err)
	}
	if key == "" {
		return FileInfo{}, fmt.Errorf("stat %s: %w", p, ErrNotExist)
	}
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return FileInfo{}, s.s3Error("stat", p, err)
	}
	return FileInfo{Path: p, Size: aws.ToInt64(out.ContentLength), ModTime: aws.ToTime(out.LastModified).UTC(), ETag: trimETag(out.ETag)}, nil
}
