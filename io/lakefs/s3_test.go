package lakefs

// S3 tests against a real S3-compatible server. scripts/test.sh builds and
// starts MinIO (scripts/minio.sh) and sets VLTEST_S3_ENDPOINT, the AWS_*
// credentials and VENDORLAKE_REQUIRE_S3=1, so there these tests never skip.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// s3TestOptions returns the options that reach the test server, or skips
// (fails when VENDORLAKE_REQUIRE_S3 is set) when there is none.
func s3TestOptions(t *testing.T) Options {
	t.Helper()
	ep := os.Getenv("VLTEST_S3_ENDPOINT")
	unavailable := func(why string) {
		t.Helper()
		if os.Getenv("VENDORLAKE_REQUIRE_S3") != "" {
			t.Fatalf("S3 is required (VENDORLAKE_REQUIRE_S3=1) but %s; scripts/test.sh starts MinIO", why)
		}
		t.Skipf("no S3 server (%s); run scripts/test.sh", why)
	}
	if ep == "" {
		unavailable("VLTEST_S3_ENDPOINT is not set")
	}
	u, err := url.Parse(ep)
	if err != nil || u.Host == "" {
		unavailable(fmt.Sprintf("VLTEST_S3_ENDPOINT=%q is not a URL", ep))
	}
	c, err := net.DialTimeout("tcp", u.Host, 3*time.Second)
	if err != nil {
		unavailable(fmt.Sprintf("%s is not reachable: %v", ep, err))
	}
	c.Close()
	return Options{S3Endpoint: ep, S3PathStyle: true}
}

// newTestS3 returns an S3 FS and a fresh bucket, removed after the test.
func newTestS3(t *testing.T, opts Options, hc *http.Client) (*S3, string) {
	t.Helper()
	ctx := context.Background()
	s, err := newS3(ctx, opts, hc)
	if err != nil {
		t.Fatal(err)
	}
	var b [4]byte
	rand.Read(b[:])
	bucket := "vl-lakefs-" + hex.EncodeToString(b[:])
	if _, err := s.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket %s: %v", bucket, err)
	}
	t.Cleanup(func() {
		if err := s.DeleteAll(ctx, "s3://"+bucket); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		s.client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
	})
	return s, bucket
}

func put(t *testing.T, fsys FS, p, data string) {
	t.Helper()
	if err := WriteFile(context.Background(), fsys, p, []byte(data)); err != nil {
		t.Fatal(err)
	}
}

// reader returns a function that reads what an Open call returned.
func reader(t *testing.T) func(io.ReadCloser, error) string {
	return func(r io.ReadCloser, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
}

func TestS3FileOperations(t *testing.T) {
	ctx := context.Background()
	s, bucket := newTestS3(t, s3TestOptions(t), nil)
	root := "s3://" + bucket + "/lake"
	readAll := reader(t)
	put(t, s, root+"/t/a=1/x.txt", "hello, world")
	put(t, s, root+"/t/a=2/y.txt", "0123456789")
	put(t, s, root+"/t/a=2/empty", "")
	put(t, s, root+"x/not-below-lake", "z") // shares the prefix "lake" but not the folder

	// List: recursive, sorted, with size and ETag; prefix is a folder.
	files, err := s.List(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, fmt.Sprintf("%s %d %t", f.Path, f.Size, f.ETag != "" && !strings.Contains(f.ETag, `"`)))
		if f.ModTime.IsZero() || time.Since(f.ModTime) > time.Hour {
			t.Errorf("%s: mtime %v", f.Path, f.ModTime)
		}
	}
	want := []string{root + "/t/a=1/x.txt 12 true", root + "/t/a=2/empty 0 true", root + "/t/a=2/y.txt 10 true"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("List:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if files, err := s.List(ctx, root+"/missing"); err != nil || len(files) != 0 {
		t.Errorf("List of a missing prefix: %v, %v; want empty, nil", files, err)
	}
	if g, err := Glob(ctx, s, root, "t/a=2/*.txt"); err != nil || len(g) != 1 || g[0].Path != root+"/t/a=2/y.txt" {
		t.Errorf("Glob: %v, %v", g, err)
	}

	// Open and OpenRange.
	if got := readAll(s.Open(ctx, root+"/t/a=1/x.txt")); got != "hello, world" {
		t.Errorf("Open: %q", got)
	}
	for _, c := range []struct {
		off, n int64
		want   string
	}{{2, 3, "234"}, {7, -1, "789"}, {0, 10, "0123456789"}, {8, 100, "89"}, {10, -1, ""}, {25, 4, ""}, {3, 0, ""}} {
		if got := readAll(s.OpenRange(ctx, root+"/t/a=2/y.txt", c.off, c.n)); got != c.want {
			t.Errorf("OpenRange(%d, %d) = %q, want %q", c.off, c.n, got, c.want)
		}
	}
	if got := readAll(s.Open(ctx, root+"/t/a=2/empty")); got != "" {
		t.Errorf("Open of an empty object: %q", got)
	}
	if _, err := s.Open(ctx, root+"/nope"); !errors.Is(err, ErrNotExist) || !strings.Contains(err.Error(), root+"/nope") {
		t.Errorf("Open of a missing object: %v; want ErrNotExist naming the URI", err)
	}

	// Stat.
	fi, err := s.Stat(ctx, root+"/t/a=2/y.txt")
	if err != nil || fi.Size != 10 || fi.ETag == "" || fi.Path != root+"/t/a=2/y.txt" {
		t.Errorf("Stat: %+v, %v", fi, err)
	}
	if _, err := s.Stat(ctx, root+"/nope"); !errors.Is(err, ErrNotExist) {
		t.Errorf("Stat of a missing object: %v; want ErrNotExist", err)
	}
	if ok, err := Exists(ctx, s, root+"/t/a=1/x.txt"); !ok || err != nil {
		t.Errorf("Exists: %v, %v", ok, err)
	}

	// Rename: copy + delete; replaces dst; missing src is ErrNotExist.
	put(t, s, root+"/t/a=3/old.txt", "old")
	if err := s.Rename(ctx, root+"/t/a=1/x.txt", root+"/t/a=3/old.txt"); err != nil {
		t.Fatal(err)
	}
	if got := readAll(s.Open(ctx, root+"/t/a=3/old.txt")); got != "hello, world" {
		t.Errorf("after Rename: %q", got)
	}
	if ok, _ := Exists(ctx, s, root+"/t/a=1/x.txt"); ok {
		t.Error("Rename left its source")
	}
	if err := s.Rename(ctx, root+"/t/a=1/x.txt", root+"/t/a=3/z.txt"); !errors.Is(err, ErrNotExist) {
		t.Errorf("Rename of a missing source: %v; want ErrNotExist", err)
	}
	// Keys that need escaping in x-amz-copy-source.
	put(t, s, root+"/t/a=b c+d/é %.txt", "odd")
	if err := s.Rename(ctx, root+"/t/a=b c+d/é %.txt", root+"/t/a=b c+d/ok.txt"); err != nil {
		t.Fatal(err)
	}

	// Delete: missing is fine.
	if err := s.Delete(ctx, root+"/t/a=2/y.txt"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, root+"/t/a=2/y.txt"); err != nil {
		t.Errorf("Delete of a missing object: %v", err)
	}
	if ok, _ := Exists(ctx, s, root+"/t/a=2/y.txt"); ok {
		t.Error("Delete left the object")
	}

	// DeleteAll: everything below the folder, nothing beside it.
	if err := s.DeleteAll(ctx, root); err != nil {
		t.Fatal(err)
	}
	if files, _ := s.List(ctx, root); len(files) != 0 {
		t.Errorf("DeleteAll left %v", files)
	}
	if ok, _ := Exists(ctx, s, root+"x/not-below-lake"); !ok {
		t.Error("DeleteAll removed an object beside the folder")
	}
	if err := s.DeleteAll(ctx, root+"/missing"); err != nil {
		t.Errorf("DeleteAll of a missing folder: %v", err)
	}
}

func TestS3DeleteAllBatchesAndListPages(t *testing.T) {
	ctx := context.Background()
	s, bucket := newTestS3(t, s3TestOptions(t), nil)
	dir := "s3://" + bucket + "/many"
	const n = 1234 // two ListObjectsV2 pages, two DeleteObjects batches
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 16)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			errs <- WriteFile(ctx, s, fmt.Sprintf("%s/f%05d", dir, i), []byte("x"))
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	files, err := s.List(ctx, dir)
	if err != nil || len(files) != n {
		t.Fatalf("List: %d files, %v; want %d", len(files), err, n)
	}
	if err := s.DeleteAll(ctx, dir); err != nil {
		t.Fatal(err)
	}
	if files, _ := s.List(ctx, dir); len(files) != 0 {
		t.Errorf("DeleteAll left %d objects", len(files))
	}
}

// patternReader yields n deterministic pseudo-random bytes.
func patternReader(seed uint64, n int64) io.Reader {
	return io.LimitReader(mrand.NewChaCha8([32]byte{byte(seed)}), n)
}

func sha(t *testing.T, r io.Reader) string {
	t.Helper()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// heapPeak samples the heap while it runs and returns the peak above the
// starting point.
func heapPeak() (stop func() uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > base && ms.HeapAlloc-base > peak.Load() {
				peak.Store(ms.HeapAlloc - base)
			}
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	return func() uint64 { close(done); <-finished; return peak.Load() }
}

func TestS3MultipartUploadStreamsWithBoundedMemory(t *testing.T) {
	ctx := context.Background()
	opts := s3TestOptions(t)
	opts.S3PartSizeMiB, opts.S3UploadConcurrency = 5, 2
	s, bucket := newTestS3(t, opts, nil)
	p := "s3://" + bucket + "/big/object.bin"
	const size = 12<<20 + 12345 // three parts
	want := sha(t, patternReader(1, size))

	stop := heapPeak()
	w, err := s.Create(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyBuffer(w, patternReader(1, size), make([]byte, 64<<10)); err != nil {
		t.Fatal(err)
	}
	if ok, _ := Exists(ctx, s, p); ok {
		t.Error("the object is visible before Close")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	peak := stop()
	// The uploader holds the first part plus concurrency+1 pooled parts.
	bound := uint64(5<<20*2*2 + 16<<20)
	t.Logf("upload of %d MiB with 5 MiB parts × 2: heap peak +%.1f MiB (bound %d MiB)", size>>20, float64(peak)/(1<<20), bound>>20)
	if peak > bound {
		t.Errorf("heap grew by %d MiB during the upload; want at most %d MiB", peak>>20, bound>>20)
	}
	fi, err := s.Stat(ctx, p)
	if err != nil || fi.Size != size {
		t.Fatalf("Stat: %+v, %v", fi, err)
	}
	if !strings.HasSuffix(fi.ETag, "-3") {
		t.Errorf("ETag %q: want a three-part multipart upload", fi.ETag)
	}
	r, err := s.Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := sha(t, r); got != want {
		t.Error("content read back differs")
	}
	// A range across a part boundary.
	rr, err := s.OpenRange(ctx, p, 5<<20-100, 200)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Close()
	gotRange, _ := io.ReadAll(rr)
	wantRange, _ := io.ReadAll(io.LimitReader(skip(patternReader(1, size), 5<<20-100), 200))
	if !bytes.Equal(gotRange, wantRange) {
		t.Error("OpenRange across a part boundary differs")
	}
	assertNoUploads(t, s, bucket)
}

func skip(r io.Reader, n int64) io.Reader {
	io.CopyN(io.Discard, r, n)
	return r
}

func assertNoUploads(t *testing.T, s *S3, bucket string) {
	t.Helper()
	out, err := s.client.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Uploads) != 0 {
		t.Errorf("%d multipart uploads left pending", len(out.Uploads))
	}
}

func TestS3AbortedUploadLeavesNoObject(t *testing.T) {
	ctx := context.Background()
	opts := s3TestOptions(t)
	opts.S3PartSizeMiB = 5
	s, bucket := newTestS3(t, opts, nil)
	for _, size := range []int64{1000, 12 << 20} {
		p := fmt.Sprintf("s3://%s/aborted-%d", bucket, size)
		w, err := s.Create(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(w, patternReader(2, size)); err != nil {
			t.Fatal(err)
		}
		cause := errors.New("parquet encoder failed")
		if err := Abort(w, cause); err != cause {
			t.Errorf("Abort returned %v", err)
		}
		if err := w.Close(); err == nil || !errors.Is(err, cause) {
			t.Errorf("Close after Abort: %v; want the abort's cause", err)
		}
		if _, err := w.Write([]byte("more")); err == nil {
			t.Error("Write after Abort succeeded")
		}
		if _, err := s.Stat(ctx, p); !errors.Is(err, ErrNotExist) {
			t.Errorf("%d bytes: an aborted upload left an object (%v)", size, err)
		}
	}
	assertNoUploads(t, s, bucket)

	// A failing upload: Close returns the error and no object appears.
	missing := "s3://" + bucket + "-missing/x"
	w, err := s.Create(ctx, missing)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(w, patternReader(3, 1000))
	err = w.Close()
	if err == nil || !strings.Contains(err.Error(), "NoSuchBucket") || !strings.Contains(err.Error(), missing) {
		t.Errorf("Close of an upload into a missing bucket: %v", err)
	}
	// The same with parts in flight: Write or Close fails.
	w, _ = s.Create(ctx, missing)
	_, werr := io.Copy(w, patternReader(3, 12<<20))
	if cerr := w.Close(); werr == nil && cerr == nil {
		t.Error("a multipart upload into a missing bucket succeeded")
	}
}

func TestS3RenameUsesMultipartCopyForBigObjects(t *testing.T) {
	ctx := context.Background()
	s, bucket := newTestS3(t, s3TestOptions(t), nil)
	defer func(th, ps int64) { copyThreshold, copyPartSize = th, ps }(copyThreshold, copyPartSize)
	copyThreshold, copyPartSize = 5<<20, 5<<20
	src, dst := "s3://"+bucket+"/tmp/big", "s3://"+bucket+"/t/p=1/big"
	const size = 12<<20 + 7
	w, _ := s.Create(ctx, src)
	io.Copy(w, patternReader(4, size))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Rename(ctx, src, dst); err != nil {
		t.Fatal(err)
	}
	fi, err := s.Stat(ctx, dst)
	if err != nil || fi.Size != size || !strings.HasSuffix(fi.ETag, "-3") {
		t.Fatalf("after a multipart copy: %+v, %v", fi, err)
	}
	r, _ := s.Open(ctx, dst)
	defer r.Close()
	if sha(t, r) != sha(t, patternReader(4, size)) {
		t.Error("the copy differs")
	}
	if ok, _ := Exists(ctx, s, src); ok {
		t.Error("the source is still there")
	}
	assertNoUploads(t, s, bucket)
}

// cuttingTransport breaks the bodies of the first `cuts` GET responses for
// paths ending in suffix after `after` bytes, the way a reset connection does.
type cuttingTransport struct {
	base   http.RoundTripper
	suffix string
	after  int64
	cuts   atomic.Int32
	ranges []string
	mu     sync.Mutex
}

func (c *cuttingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(req)
	if err != nil || req.Method != http.MethodGet || !strings.HasSuffix(req.URL.Path, c.suffix) {
		return resp, err
	}
	c.mu.Lock()
	c.ranges = append(c.ranges, req.Header.Get("Range"))
	c.mu.Unlock()
	if c.cuts.Add(-1) >= 0 {
		resp.Body = &cutBody{rc: resp.Body, left: c.after, err: &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}}
	}
	return resp, nil
}

type cutBody struct {
	rc   io.ReadCloser
	left int64
	err  error
}

func (b *cutBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		b.rc.Close()
		return 0, b.err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *cutBody) Close() error { return b.rc.Close() }

func TestS3ReadResumesAfterBrokenConnection(t *testing.T) {
	ctx := context.Background()
	opts := s3TestOptions(t)
	ct := &cuttingTransport{base: http.DefaultTransport.(*http.Transport).Clone(), suffix: "/cut.bin", after: 700 << 10}
	s, bucket := newTestS3(t, opts, &http.Client{Transport: ct})
	p := "s3://" + bucket + "/cut.bin"
	const size = 3<<20 + 5
	w, _ := s.Create(ctx, p)
	io.Copy(w, patternReader(5, size))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := sha(t, patternReader(5, size))

	// Whole object: cut three times, resumed three times.
	ct.cuts.Store(3)
	r, err := s.Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if got := sha(t, r); got != want {
		t.Error("the resumed read differs from the object")
	}
	r.Close()
	if n := r.(*s3Reader).resumes; n != 3 {
		t.Errorf("%d resumes, want 3", n)
	}
	wantRanges := []string{"", "bytes=716800-3145732", "bytes=1433600-3145732", "bytes=2150400-3145732"}
	if strings.Join(ct.ranges, ",") != strings.Join(wantRanges, ",") {
		t.Errorf("requests' ranges %q, want %q", ct.ranges, wantRanges)
	}

	// A range, cut once: the resume keeps the range's end.
	ct.ranges = nil
	ct.cuts.Store(1)
	rr, err := s.OpenRange(ctx, p, 1000, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rr)
	rr.Close()
	wantRange, _ := io.ReadAll(io.LimitReader(skip(patternReader(5, size), 1000), 1<<20))
	if err != nil || !bytes.Equal(got, wantRange) {
		t.Errorf("resumed range: %d bytes, %v; want %d bytes equal", len(got), err, len(wantRange))
	}
	if want := []string{"bytes=1000-1049575", "bytes=717800-1049575"}; strings.Join(ct.ranges, ",") != strings.Join(want, ",") {
		t.Errorf("range requests %q, want %q", ct.ranges, want)
	}

	// A connection that keeps breaking before any byte: bounded attempts.
	ct.after = 0
	ct.cuts.Store(100)
	r, err = s.Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(r)
	r.Close()
	if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "reconnections failed") {
		t.Errorf("endlessly broken connection: %v; want a bounded failure naming the object", err)
	}
}

func TestS3ErrorsAreClearAndCarryNoSecrets(t *testing.T) {
	ctx := context.Background()
	opts := s3TestOptions(t)
	_, bucket := newTestS3(t, opts, nil)
	secret := os.Getenv("AWS_SECRET_ACCESS_KEY")

	check := func(name string, err error, wants ...string) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: no error", name)
			return
		}
		msg := err.Error()
		for _, w := range wants {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: %q does not say %q", name, msg, w)
			}
		}
		if strings.Contains(msg, "\n") {
			t.Errorf("%s: error spans lines: %q", name, msg)
		}
		for _, s := range []string{secret, "wrong-secret-value", "X-Amz-Signature", "X-Amz-Credential"} {
			if s != "" && strings.Contains(msg, s) {
				t.Errorf("%s: error reveals a secret: %q", name, msg)
			}
		}
	}

	s, _ := newS3(ctx, opts, nil)
	_, err := s.List(ctx, "s3://"+bucket+"-nope/in")
	check("missing bucket", err, "s3://"+bucket+"-nope/in", "does not exist", "NoSuchBucket")

	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-value")
	s, _ = newS3(ctx, opts, nil)
	_, err = s.List(ctx, "s3://"+bucket+"/in")
	check("wrong secret", err, "s3://"+bucket+"/in", "credentials were rejected", "SignatureDoesNotMatch")

	t.Setenv("AWS_ACCESS_KEY_ID", "NOSUCHKEY")
	s, _ = newS3(ctx, opts, nil)
	_, err = s.Stat(ctx, "s3://"+bucket+"/x")
	check("wrong key id (HEAD)", err, "s3://"+bucket+"/x", "access denied")
	_, err = s.Open(ctx, "s3://"+bucket+"/x")
	check("wrong key id", err, "s3://"+bucket+"/x", "credentials were rejected", "InvalidAccessKeyId")

	// An endpoint with nothing listening.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + l.Addr().String()
	l.Close()
	s, _ = newS3(ctx, Options{S3Endpoint: dead, S3PathStyle: true}, nil)
	_, err = s.List(ctx, "s3://"+bucket+"/in")
	check("unreachable endpoint", err, "cannot reach", "connection refused")
}
