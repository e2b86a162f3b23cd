package main

// Every pipeline on Flink through Beam's Flink job server
// (scripts/flink.sh), LOOPBACK workers, local paths: the tables must equal
// the direct runner's.

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// flinkEndpoint returns the Flink job server's endpoint, or skips (fails
// when VENDORLAKE_REQUIRE_FLINK is set).
func flinkEndpoint(t *testing.T) string {
	t.Helper()
	endpoint := os.Getenv("VENDORLAKE_FLINK_ENDPOINT")
	if endpoint == "" {
		if os.Getenv("VENDORLAKE_REQUIRE_FLINK") != "" {
			t.Fatal("VENDORLAKE_FLINK_ENDPOINT is not set: scripts/flink.sh's flink_start starts a Flink job server")
		}
		t.Skip("no Flink job server; see scripts/flink.sh")
	}
	return endpoint
}

func TestFlinkEqualsDirect(t *testing.T) {
	endpoint := flinkEndpoint(t)
	for _, r := range portableRuns() {
		t.Run(r.name, func(t *testing.T) {
			direct, flink := t.TempDir(), t.TempDir()
			if code, out, errs := vendorlake(t, append(r.args, "--output="+direct, "--runner=direct")...); code != 0 {
				t.Fatalf("direct: exit %d\n%s\n%s", code, out, errs)
			}
			code, out, errs := vendorlake(t, append(r.args, "--output="+flink, "--runner=flink", "--endpoint="+endpoint, "--environment_type=LOOPBACK")...)
			if code != 0 {
				t.Fatalf("flink: exit %d\n%s\n%s", code, out, errs)
			}
			if !strings.Contains(out, "runner flink") {
				t.Errorf("summary does not name the runner:\n%s", out)
			}
			sameTables(t, direct, flink, r.tables...)
		})
	}
}

// TestFlinkProcessWorkersS3 runs every pipeline on Flink with workers
// that the runner starts (--environment_type=PROCESS: Beam's Go boot program,
// VENDORLAKE_BEAM_BOOT, runs the staged vendorlake binary), input and output
// on MinIO, and compares the tables with the direct runner's local run.
func TestFlinkProcessWorkersS3(t *testing.T) {
	processWorkersS3(t, "flink", flinkEndpoint(t), "PROCESS")
}

// TestFlinkExternalWorkersS3 is TestFlinkProcessWorkersS3 with an EXTERNAL
// worker pool (Beam's Go boot program with --worker_pool, which serves on
// port 50000 of every interface; VENDORLAKE_BEAM_WORKER_POOL names it).
func TestFlinkExternalWorkersS3(t *testing.T) {
	processWorkersS3(t, "flink", flinkEndpoint(t), "EXTERNAL", "didomi")
}

// processWorkersS3 runs the samples of the pipelines named only (every
// registered pipeline when none is named) s3→s3 on a job server with workers
// that the runner starts (environment PROCESS or EXTERNAL) and compares
// their tables with a local direct run.
func processWorkersS3(t *testing.T, runner, endpoint, environment string, only ...string) {
	var config []byte
	switch environment {
	case "PROCESS":
		boot := os.Getenv("VENDORLAKE_BEAM_BOOT")
		if boot == "" {
			if os.Getenv("VENDORLAKE_REQUIRE_FLINK") != "" {
				t.Fatal("VENDORLAKE_BEAM_BOOT is not set: scripts/test.sh builds Beam's Go boot program")
			}
			t.Skip("no Beam Go boot program (VENDORLAKE_BEAM_BOOT)")
		}
		// The workers' S3 credentials come from their own environment,
		// inherited from the process that starts them (Flink's TaskManager,
		// Spark's job server), which scripts/test.sh starts with MinIO's
		// AWS_* variables; never from pipeline options.
		var err error
		if config, err = json.Marshal(map[string]any{"command": boot}); err != nil {
			t.Fatal(err)
		}
	case "EXTERNAL":
		// The pool's workers inherit the pool's environment.
		pool := os.Getenv("VENDORLAKE_BEAM_WORKER_POOL")
		if pool == "" {
			t.Skip("no Beam Go worker pool (VENDORLAKE_BEAM_WORKER_POOL)")
		}
		config = []byte(pool)
	}
	ep := s3Endpoint(t)
	fsys := s3FS(t, ep)
	bucket := newBucket(t, ep)
	// The worker binary the SDK stages: this program, built for the workers.
	worker := filepath.Join(t.TempDir(), "vendorlake")
	if out, err := exec.Command("go", "build", "-o", worker, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	runs := portableRuns()
	if len(only) > 0 {
		runs = nil
		for _, name := range only {
			runs = append(runs, portableRun(t, name))
		}
	}
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			localIn, rest := r.splitInput()
			dir := strings.ReplaceAll(r.name, " ", "-")
			s3In, s3Out := "s3://"+bucket+"/vendor/"+dir, "s3://"+bucket+"/lake/"+runner+"/"+dir
			uploadTree(t, fsys, localIn, s3In)
			reference := t.TempDir()
			mustRun(t, append(slices.Clone(rest), "--input="+localIn, "--output="+reference)...)
			args := append(append(slices.Clone(rest), "--input="+s3In, "--output="+s3Out, "--runner="+runner, "--endpoint="+endpoint,
				"--environment_type="+environment, "--environment_config="+string(config), "--worker_binary="+worker), s3Flags(ep)...)
			mustRun(t, args...)
			sameTables(t, reference, downloadTree(t, fsys, s3Out), r.tables...)
		})
	}
}
