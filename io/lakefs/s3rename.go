package lakefs

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// copyThreshold is the largest object CopyObject copies in one request (the
// S3 limit); bigger objects are copied part by part. A variable for tests.
var copyThreshold int64 = 5 << 30

// copyPartSize is the part size of a multipart copy (at least this, more
// when the object needs more than 10,000 parts). A variable for tests.
var copyPartSize int64 = 512 << 20

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
