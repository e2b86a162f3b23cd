package lakefs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
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
	// The SDK's own messages (e.g. "falling back to IMDSv1") go through
	// slog, so that a JSON log stays one JSON object per line.
	loads := []func(*config.LoadOptions) error{config.WithLogger(sdkLogger)}
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

// sdkLogger hands the AWS SDK's log messages to slog's default logger:
// warnings at Warn, the rest at Debug.
var sdkLogger = logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
	level := slog.LevelDebug
	if c == logging.Warn {
		level = slog.LevelWarn
	}
	slog.Log(context.Background(), level, "aws sdk: "+fmt.Sprintf(format, v...))
})
