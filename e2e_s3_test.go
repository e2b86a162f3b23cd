package main

// End-to-end tests on S3: the vendorlake command reading and writing a real
// S3-compatible server. scripts/test.sh builds and starts MinIO
// (scripts/minio.sh) and sets VLTEST_S3_ENDPOINT, the AWS_* credentials,
// VENDORLAKE_MINIO_SH (the script, with which a test that stops MinIO
// starts one of its own) and VENDORLAKE_REQUIRE_S3=1, so there these tests
// never skip. Lakes written to S3 are downloaded and compared with DuckDB
// to the lake of the same run on local disk.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/lakestate"
)

var didomiTables = []string{"didomi_users", "didomi_events", "didomi_rejects"}

// s3Endpoint returns the test server's endpoint, or skips (fails when
// VENDORLAKE_REQUIRE_S3 is set) when there is none.
func s3Endpoint(t *testing.T) string {
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
	return ep
}

func s3Flags(endpoint string) []string {
	return []string{"--s3-endpoint=" + endpoint, "--s3-path-style", "--s3-region=us-east-1"}
}

func s3FS(t *testing.T, endpoint string) lakefs.FS {
	t.Helper()
	fsys, err := lakefs.New(context.Background(), "s3://x", lakefs.Options{S3Endpoint: endpoint, S3PathStyle: true, S3Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	return fsys
}

// newBucket creates a bucket for one test and removes it afterwards.
func newBucket(t *testing.T, endpoint string) string {
	t.Helper()
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint = aws.String(endpoint); o.UsePathStyle = true })
	var b [4]byte
	rand.Read(b[:])
	bucket := "vl-e2e-" + hex.EncodeToString(b[:])
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	t.Cleanup(func() {
		if err := s3FS(t, endpoint).DeleteAll(ctx, "s3://"+bucket); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
	})
	return bucket
}

// uploadTree copies a local folder to an S3 prefix.
func uploadTree(t *testing.T, fsys lakefs.FS, dir, uri string) {
	t.Helper()
	ctx := context.Background()
	files, err := lakefs.Local{}.List(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		rel, _ := lakefs.Rel(dir, f.Path)
		data, err := os.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		if err := lakefs.WriteFile(ctx, fsys, lakefs.Join(uri, rel), data); err != nil {
			t.Fatal(err)
		}
	}
}

// downloadTree copies an S3 prefix to a new local folder and returns it.
func downloadTree(t *testing.T, fsys lakefs.FS, uri string) string {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	files, err := fsys.List(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		rel, _ := lakefs.Rel(uri, f.Path)
		data, err := lakefs.ReadFile(ctx, fsys, f.Path)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

var (
	refOnce sync.Once
	refLake string
	refErr  string
)

// referenceLake is the lake of the Didomi sample run local → local.
func referenceLake(t *testing.T) string {
	t.Helper()
	refOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vendorlake-ref-")
		if err != nil {
			refErr = err.Error()
			return
		}
		if code, out, errs := vendorlake(t, "didomi", "--input=testdata/didomi", "--output="+dir, "--max-reject-ratio=0.1"); code != 0 {
			refErr = fmt.Sprintf("reference run: exit %d\n%s\n%s", code, out, errs)
		}
		refLake = dir
	})
	if refErr != "" {
		t.Fatal(refErr)
	}
	return refLake
}

func TestMain(m *testing.M) {
	m.Run() // its result becomes the exit code when TestMain returns
	if refLake != "" {
		os.RemoveAll(refLake)
	}
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
}

// checkS3Lake asserts that the lake at uri holds the reference tables, no
// temporary object and no pending commit.
func checkS3Lake(t *testing.T, fsys lakefs.FS, uri string) {
	t.Helper()
	ctx := context.Background()
	for _, dir := range []string{lakestate.LegacyTempRoot(uri), lakestate.LegacyCommitsDir(uri)} {
		if left, err := fsys.List(ctx, dir); err != nil || len(left) != 0 {
			t.Errorf("%s: %d objects left (%v)", dir, len(left), err)
		}
	}
	local := downloadTree(t, fsys, uri)
	assertNoTempInTables(t, local)
	sameTables(t, referenceLake(t), local, didomiTables...)
}

func TestS3DidomiMatchesLocalRun(t *testing.T) {
	ep := s3Endpoint(t)
	fsys := s3FS(t, ep)
	bucket := newBucket(t, ep)
	in := "s3://" + bucket + "/vendor/didomi"
	uploadTree(t, fsys, "testdata/didomi", in)

	for _, c := range []struct{ name, input, output, runner string }{
		{"s3 to s3", in, "s3://" + bucket + "/lake-s3", "direct"},
		{"local to s3", "testdata/didomi", "s3://" + bucket + "/lake-local", "direct"},
		{"s3 to local", in, t.TempDir(), "direct"},
		// prism serialises the DoFns: the S3 options travel as JSON.
		{"s3 to s3 on prism", in, "s3://" + bucket + "/lake-prism", "prism"},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"didomi", "--input=" + c.input, "--output=" + c.output, "--max-reject-ratio=0.1", "--runner=" + c.runner}, s3Flags(ep)...)
			code, out, errs := vendorlake(t, args...)
			if code != 0 {
				t.Fatalf("exit %d\n%s\n%s", code, out, errs)
			}
			if !strings.Contains(out, "warning   1 unit not complete yet (no _SUCCESS marker)") || !strings.Contains(out, "export-id=exp-app/date=2024-03-03") {
				t.Errorf("summary does not report the incomplete partition:\n%s", out)
			}
			if lakefs.Scheme(c.output) == "s3" {
				checkS3Lake(t, fsys, c.output)
			} else {
				assertNoTempInTables(t, c.output)
				sameTables(t, referenceLake(t), c.output, didomiTables...)
			}
			// A rerun has nothing to do (the ledger knows the S3 ETags).
			code, out, errs = vendorlake(t, args...)
			if code != 0 || !strings.Contains(out, "nothing to do") {
				t.Errorf("rerun: exit %d, want 'nothing to do'\n%s\n%s", code, out, errs)
			}
		})
	}
}

// faultProxy forwards S3 requests to the test server; intercept may answer
// a request itself (return true) instead.
type faultProxy struct {
	URL string
	srv *http.Server
}

func startProxy(t *testing.T, target string, intercept func(p *faultProxy, w http.ResponseWriter, r *http.Request) bool) *faultProxy {
	t.Helper()
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u) // keeps the signed Host header
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{URL: "http://" + l.Addr().String()}
	p.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if intercept != nil && intercept(p, w, r) {
			return
		}
		rp.ServeHTTP(w, r)
	}), ErrorLog: nil}
	go p.srv.Serve(l)
	t.Cleanup(func() { p.srv.Close() })
	return p
}

// ownMinIO starts a MinIO server for this test alone (scripts/minio.sh with
// its own state folder), so that stopping it does not disturb the S3 tests
// of other packages running at the same time. It returns its endpoint and
// functions that stop and restart it (same port, same data).
func ownMinIO(t *testing.T) (endpoint string, stop, start func()) {
	t.Helper()
	script := os.Getenv("VENDORLAKE_MINIO_SH")
	if script == "" {
		if os.Getenv("VENDORLAKE_REQUIRE_S3") != "" {
			t.Fatal("VENDORLAKE_MINIO_SH is required (scripts/test.sh sets it to scripts/minio.sh)")
		}
		t.Skip("VENDORLAKE_MINIO_SH not set; run scripts/test.sh")
	}
	state := t.TempDir()
	run := func(cmd string) (string, error) {
		c := exec.Command(script, cmd)
		c.Env = append(os.Environ(), "VENDORLAKE_MINIO_STATE="+state,
			"MINIO_ROOT_USER="+os.Getenv("AWS_ACCESS_KEY_ID"), "MINIO_ROOT_PASSWORD="+os.Getenv("AWS_SECRET_ACCESS_KEY"))
		var stderr strings.Builder
		c.Stderr = &stderr
		out, err := c.Output()
		if err != nil {
			return "", fmt.Errorf("%s %s: %v: %s", script, cmd, err, stderr.String())
		}
		return string(out), nil
	}
	out, err := run("start")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "export VLTEST_S3_ENDPOINT="); ok {
			endpoint = v
		}
	}
	if endpoint == "" {
		t.Fatalf("%s start printed no endpoint: %q", script, out)
	}
	t.Cleanup(func() {
		if _, err := run("clean"); err != nil {
			t.Error(err)
		}
	})
	stop = func() {
		if _, err := run("stop"); err != nil {
			t.Error(err)
		}
	}
	start = func() {
		if _, err := run("start"); err != nil {
			t.Fatal(err)
		}
	}
	return endpoint, stop, start
}

func isCopy(r *http.Request) bool {
	return r.Method == http.MethodPut && r.Header.Get("X-Amz-Copy-Source") != ""
}

func isTempWrite(r *http.Request) bool {
	return (r.Method == http.MethodPut || r.Method == http.MethodPost) && strings.Contains(r.URL.Path, "/"+lakestate.LegacyTempRoot("")+"/")
}

func TestS3DidomiMinIOStoppedMidRun(t *testing.T) {
	s3Endpoint(t)
	for _, c := range []struct {
		name string
		// at says whether the request, the n-th seen of its kind, is where
		// MinIO stops.
		at func(r *http.Request, copies, temps int) bool
		// pendingCommit: the crash left a commit log for the rerun to finish.
		pendingCommit bool
	}{
		{"while writing temporary files", func(r *http.Request, _, temps int) bool { return isTempWrite(r) && temps == 1 }, false},
		{"while publishing the commit", func(r *http.Request, copies, _ int) bool { return isCopy(r) && copies == 4 }, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			ep, stop, start := ownMinIO(t)
			fsys := s3FS(t, ep)
			bucket := newBucket(t, ep)
			in, lake := "s3://"+bucket+"/vendor/didomi", "s3://"+bucket+"/lake"
			uploadTree(t, fsys, "testdata/didomi", in)

			var once sync.Once
			var copies, temps int
			var mu sync.Mutex
			proxy := startProxy(t, ep, func(p *faultProxy, w http.ResponseWriter, r *http.Request) bool {
				mu.Lock()
				if isCopy(r) {
					copies++
				}
				if isTempWrite(r) {
					temps++
				}
				hit := c.at(r, copies, temps)
				mu.Unlock()
				if !hit {
					return false
				}
				once.Do(func() {
					stop()
					p.srv.Close() // the endpoint is gone: connections refused from now on
				})
				panic(http.ErrAbortHandler)
			})
			args := []string{"didomi", "--input=" + in, "--output=" + lake, "--max-reject-ratio=0.1"}
			start0 := time.Now()
			code, out, errs := vendorlake(t, append(args, s3Flags(proxy.URL)...)...)
			if code != 1 {
				t.Fatalf("run with MinIO stopped: exit %d, want 1\n%s\n%s", code, out, errs)
			}
			t.Logf("failed after %.1fs: %s", time.Since(start0).Seconds(), strings.TrimSpace(errs))
			if !strings.Contains(errs, "cannot reach "+proxy.URL) || !strings.Contains(errs, "connection refused") ||
				!strings.Contains(errs, "s3://"+bucket+"/lake/") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
				t.Errorf("want one line that names the object and says S3 could not be reached:\n%s", errs)
			}
			start()
			logs, err := fsys.List(context.Background(), lakestate.LegacyCommitsDir(lake))
			if err != nil || (len(logs) == 1) != c.pendingCommit {
				t.Errorf("commit logs after the crash: %v, %v; want pending=%v", logs, err, c.pendingCommit)
			}
			code, out, errs = vendorlake(t, append(args, s3Flags(ep)...)...)
			if code != 0 {
				t.Fatalf("rerun after restart: exit %d\n%s\n%s", code, out, errs)
			}
			checkS3Lake(t, fsys, lake)
		})
	}
}

// A commit that fails while S3 is up (every copy refused after a few) keeps
// its temporary files for the next run, which finishes the commit.
func TestS3DidomiCommitFailureIsFinishedByTheNextRun(t *testing.T) {
	ep := s3Endpoint(t)
	fsys := s3FS(t, ep)
	bucket := newBucket(t, ep)
	in, lake := "s3://"+bucket+"/vendor/didomi", "s3://"+bucket+"/lake"
	uploadTree(t, fsys, "testdata/didomi", in)
	var copies atomic.Int32
	proxy := startProxy(t, ep, func(_ *faultProxy, w http.ResponseWriter, r *http.Request) bool {
		if !isCopy(r) || copies.Add(1) <= 3 {
			return false
		}
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`)
		return true
	})
	args := []string{"didomi", "--input=" + in, "--output=" + lake, "--max-reject-ratio=0.1"}
	code, out, errs := vendorlake(t, append(args, s3Flags(proxy.URL)...)...)
	if code != 1 || !strings.Contains(errs, "SlowDown") {
		t.Fatalf("run with failing copies: exit %d, want 1 and SlowDown\n%s\n%s", code, out, errs)
	}
	code, out, errs = vendorlake(t, append(args, s3Flags(ep)...)...)
	if code != 0 {
		t.Fatalf("next run: exit %d\n%s\n%s", code, out, errs)
	}
	checkS3Lake(t, fsys, lake)
}

func TestS3ClearErrors(t *testing.T) {
	ep := s3Endpoint(t)
	fsys := s3FS(t, ep)
	bucket := newBucket(t, ep)
	in := "s3://" + bucket + "/vendor/didomi"
	uploadTree(t, fsys, "testdata/didomi", in)
	lake := "s3://" + bucket + "/lake"

	for _, c := range []struct {
		name          string
		input, output string
		env           map[string]string
		want          []string
	}{
		{"wrong secret key", in, lake, map[string]string{"AWS_SECRET_ACCESS_KEY": "not-the-secret"},
			[]string{"credentials were rejected", "SignatureDoesNotMatch"}},
		{"unknown access key", in, lake, map[string]string{"AWS_ACCESS_KEY_ID": "NOSUCHKEY"},
			[]string{"credentials were rejected", "InvalidAccessKeyId"}},
		{"no credentials", in, lake, map[string]string{"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "",
			"AWS_PROFILE": "", "AWS_CONFIG_FILE": "/nonexistent/config", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
			"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
			"AWS_WEB_IDENTITY_TOKEN_FILE": ""},
			[]string{"no usable AWS credentials"}},
		{"missing input bucket", "s3://" + bucket + "-missing/didomi", lake, nil,
			[]string{`bucket "` + bucket + `-missing" does not exist (NoSuchBucket)`}},
		{"missing output bucket", in, "s3://" + bucket + "-missing/lake", nil,
			[]string{`bucket "` + bucket + `-missing" does not exist (NoSuchBucket)`}},
		{"missing input prefix", "s3://" + bucket + "/vendor/no-such-prefix", lake, nil,
			[]string{"nothing matched: no file under s3://" + bucket + "/vendor/no-such-prefix", "check --input"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			args := append([]string{"didomi", "--input=" + c.input, "--output=" + c.output}, s3Flags(ep)...)
			code, out, errs := vendorlake(t, args...)
			want := exitFailed
			if c.name == "missing input prefix" { // S3 cannot tell it from an empty one
				want = exitNothingMatched
			}
			if code != want {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, want, out, errs)
			}
			line := strings.TrimSpace(errs)
			if strings.Contains(line, "\n") {
				t.Errorf("error spans several lines:\n%s", errs)
			}
			for _, w := range c.want {
				if !strings.Contains(line, w) {
					t.Errorf("error %q does not say %q", line, w)
				}
			}
			if s := c.env["AWS_SECRET_ACCESS_KEY"]; s != "" && strings.Contains(out+errs, s) {
				t.Errorf("the output reveals the secret key")
			}
		})
	}
	// Nothing was written into the input.
	files, _ := fsys.List(context.Background(), in)
	for _, f := range files {
		if strings.Contains(f.Path, "/lake/") || strings.Contains(f.Path, lakestate.Folder) {
			t.Errorf("a failed run wrote into the input: %s", f.Path)
		}
	}
}
