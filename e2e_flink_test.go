package main

// Every pipeline on Flink through Beam's Flink job server
// (scripts/flink.sh: a session cluster of two TaskManagers, parallelism 4),
// LOOPBACK and PROCESS workers: the tables must equal the direct runner's,
// and Flink's REST API must show every job's subtasks on both
// TaskManagers. A TaskManager killed while a job runs must leave the lake
// unchanged or exact, and exact after a rerun.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vendorlake/vendorlake/io/faults"
)

// flinkEndpoint returns the Flink job server's endpoint, or skips (fails
// when VENDORLAKE_REQUIRE_FLINK is set).
func flinkEndpoint(t *testing.T) string {
	t.Helper()
	return serviceEnv(t, "VENDORLAKE_FLINK_ENDPOINT", "VENDORLAKE_REQUIRE_FLINK", "scripts/flink.sh's flink_start starts a Flink job server")
}

// flinkREST returns the address of the session cluster's REST API
// (VENDORLAKE_FLINK_REST), or skips (an embedded cluster has none).
func flinkREST(t *testing.T) string {
	t.Helper()
	rest := os.Getenv("VENDORLAKE_FLINK_REST")
	if rest == "" {
		t.Skip("no Flink session cluster (VENDORLAKE_FLINK_REST); scripts/flink.sh starts one")
	}
	return rest
}

// flinkGet decodes the JSON answer of Flink's REST API to GET path.
func flinkGet(t *testing.T, rest, path string, v any) {
	t.Helper()
	resp, err := http.Get("http://" + rest + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v\n%s", path, resp.Status, err, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, body)
	}
}

// flinkJobs returns the session cluster's jobs: state by job ID.
func flinkJobs(t *testing.T, rest string) map[string]string {
	t.Helper()
	var overview struct {
		Jobs []struct {
			ID    string `json:"jid"`
			State string `json:"state"`
		} `json:"jobs"`
	}
	flinkGet(t, rest, "/jobs/overview", &overview)
	jobs := map[string]string{}
	for _, j := range overview.Jobs {
		jobs[j.ID] = j.State
	}
	return jobs
}

// newFlinkJobs returns the jobs of now that before does not have.
func newFlinkJobs(before, now map[string]string) []string {
	var ids []string
	for id := range now {
		if _, ok := before[id]; !ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// flinkSubtasks returns, per TaskManager ID, how many of the job's subtasks
// (every vertex's) it ran or runs, by status (RUNNING, FINISHED...).
func flinkSubtasks(t *testing.T, rest, job string) map[string]map[string]int {
	t.Helper()
	var detail struct {
		Vertices []struct {
			ID string `json:"id"`
		} `json:"vertices"`
	}
	flinkGet(t, rest, "/jobs/"+job, &detail)
	tms := map[string]map[string]int{}
	for _, v := range detail.Vertices {
		var vertex struct {
			TaskManagers []struct {
				ID     string         `json:"taskmanager-id"`
				Counts map[string]int `json:"status-counts"`
			} `json:"taskmanagers"`
		}
		flinkGet(t, rest, "/jobs/"+job+"/vertices/"+v.ID+"/taskmanagers", &vertex)
		for _, tm := range vertex.TaskManagers {
			if tms[tm.ID] == nil {
				tms[tm.ID] = map[string]int{}
			}
			for status, n := range tm.Counts {
				if n > 0 {
					tms[tm.ID][status] += n
				}
			}
		}
	}
	return tms
}

// checkBothTaskManagers fails unless every job of jobs ran subtasks on
// both TaskManagers of the session cluster (tm1 and tm2, scripts/flink.sh).
func checkBothTaskManagers(t *testing.T, rest string, jobs []string) {
	t.Helper()
	if len(jobs) == 0 {
		t.Fatal("no new Flink job in the REST API's job list")
	}
	for _, job := range jobs {
		tms := flinkSubtasks(t, rest, job)
		if len(tms["tm1"]) == 0 || len(tms["tm2"]) == 0 {
			t.Errorf("job %s: subtasks by TaskManager %v, want some on tm1 and on tm2", job, tms)
		}
	}
}

func TestFlinkEqualsDirect(t *testing.T) {
	endpoint := flinkEndpoint(t)
	rest := os.Getenv("VENDORLAKE_FLINK_REST") // "" on an embedded cluster
	var around func(t *testing.T) func(t *testing.T)
	if rest != "" {
		around = func(t *testing.T) func(t *testing.T) {
			before := flinkJobs(t, rest)
			return func(t *testing.T) {
				// Two TaskManagers, parallelism 4: every stage has
				// subtasks on both.
				checkBothTaskManagers(t, rest, newFlinkJobs(before, flinkJobs(t, rest)))
			}
		}
	}
	runnerEqualsDirectAround(t, "flink", around, "--endpoint="+endpoint, "--environment_type=LOOPBACK")
}

// TestFlinkTaskManagerKilled kills a TaskManager while a Didomi job runs
// (LOOPBACK workers, local lake): the run pauses before its commit
// (VENDORLAKE_FAULT=commit.begin:1:PAUSE), the test finds the job RUNNING
// in Flink's REST API and SIGKILLs a TaskManager running its subtasks, then
// waits for the run to end. Flink restarts no job here (no checkpointing,
// so no restart strategy): the run must fail and leave the lake without a
// table file, or, should it recover, commit tables equal to the direct
// runner's. The TaskManager is restarted and a plain rerun must then commit
// exactly the direct runner's tables.
func TestFlinkTaskManagerKilled(t *testing.T) {
	endpoint, rest := flinkEndpoint(t), flinkREST(t)
	state := os.Getenv("VENDORLAKE_FLINK_STATE")
	if state == "" {
		t.Fatal("VENDORLAKE_FLINK_STATE is not set: scripts/flink.sh's flink_start exports it")
	}
	r := portableRun(t, "didomi")
	direct, lake := t.TempDir(), t.TempDir()
	mustRun(t, append(slices.Clone(r.args), "--output="+direct)...)
	bin := buildVendorlake(t)

	before := flinkJobs(t, rest)
	cmd := exec.Command(bin, append(slices.Clone(r.args), "--output="+lake, "--runner=flink", "--endpoint="+endpoint, "--environment_type=LOOPBACK")...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, faults.Env+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, faults.Env+"=commit.begin:1:PAUSE")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderrPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	paused, scanned := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderrPipe)
		once := false
		for sc.Scan() {
			stderr.WriteString(sc.Text() + "\n")
			if !once && strings.Contains(sc.Text(), "fault commit.begin:1 paused") {
				once = true
				close(paused)
			}
		}
	}()
	exited := make(chan error, 1)
	go func() {
		<-scanned
		exited <- cmd.Wait()
	}()
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	}()
	select {
	case <-paused:
	case err := <-exited:
		t.Fatalf("the run ended (%v) before its commit paused\n%s\n%s", err, stdout.String(), stderr.String())
	case <-time.After(5 * time.Minute):
		t.Fatalf("the run did not reach its commit in 5 minutes\n%s", stderr.String())
	}

	// The job, RUNNING, and a TaskManager running some of its subtasks.
	var job string
	for deadline := time.Now().Add(time.Minute); job == ""; time.Sleep(200 * time.Millisecond) {
		for _, id := range newFlinkJobs(before, flinkJobs(t, rest)) {
			if flinkJobs(t, rest)[id] == "RUNNING" {
				job = id
			}
		}
		if job == "" && time.Now().After(deadline) {
			t.Fatalf("no new RUNNING job in Flink's REST API: %v", flinkJobs(t, rest))
		}
	}
	tms := flinkSubtasks(t, rest, job)
	victim := ""
	for _, tm := range []string{"tm1", "tm2"} {
		if tms[tm]["RUNNING"] > 0 && victim == "" {
			victim = tm
		}
	}
	if victim == "" {
		t.Fatalf("job %s: no TaskManager runs a subtask: %v", job, tms)
	}
	pidText, err := os.ReadFile(filepath.Join(state, "taskmanager-"+victim+".pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(pidText)))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("job %s RUNNING, subtasks by TaskManager %v: SIGKILL to %s (pid %d)", job, tms, victim, pid)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Whatever happens next, the cluster gets its two TaskManagers back
	// for the tests after this one.
	restarted := false
	restart := func() {
		if restarted {
			return
		}
		restarted = true
		restartTaskManager(t, rest, state, victim)
	}
	t.Cleanup(restart)

	var runErr error
	select {
	case runErr = <-exited:
	case <-time.After(5 * time.Minute):
		cmd.Process.Kill()
		<-exited
		t.Fatalf("the run did not end within 5 minutes of the TaskManager's death\n%s", stderr.String())
	}
	jobState := flinkJobs(t, rest)[job]
	t.Logf("run: %v; job %s: %s", runErr, job, jobState)
	if runErr == nil {
		// Recovered: the commit ran once, whole.
		sameTables(t, direct, lake, r.tables...)
	} else {
		if jobState == "FINISHED" {
			t.Errorf("the run failed (%v) but its job FINISHED", runErr)
		}
		if files := lakeTableFiles(t, lake); len(files) > 0 {
			t.Fatalf("the failed run left table files (a partial commit): %v\n%s", files, stderr.String())
		}
	}

	restart()
	before = flinkJobs(t, rest)
	code, out, errs := vendorlake(t, append(slices.Clone(r.args), "--output="+lake, "--runner=flink", "--endpoint="+endpoint, "--environment_type=LOOPBACK")...)
	if code != 0 {
		t.Fatalf("rerun: exit %d\n%s\n%s", code, out, errs)
	}
	sameTables(t, direct, lake, r.tables...)
	checkBothTaskManagers(t, rest, newFlinkJobs(before, flinkJobs(t, rest)))
}

// restartTaskManager starts TaskManager id again (scripts/flink.sh's
// taskmanager.sh) once the JobManager has counted it lost, and waits until
// the cluster has its 4 slots again.
func restartTaskManager(t *testing.T, rest, state, id string) {
	t.Helper()
	var overview struct {
		TaskManagers int `json:"taskmanagers"`
		Slots        int `json:"slots-total"`
	}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
		flinkGet(t, rest, "/overview", &overview)
		if overview.TaskManagers < 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the JobManager still counts %d TaskManagers 2 minutes after one was killed", overview.TaskManagers)
		}
	}
	if out, err := exec.Command(filepath.Join(state, "taskmanager.sh"), id).CombinedOutput(); err != nil {
		t.Fatalf("taskmanager.sh %s: %v\n%s", id, err, out)
	}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
		flinkGet(t, rest, "/overview", &overview)
		if overview.TaskManagers == 2 && overview.Slots == 4 {
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(state, "taskmanager-"+id+".log"))
			t.Fatalf("TaskManager %s did not register again in 2 minutes: %+v\n%s", id, overview, log)
		}
	}
}

// lakeTableFiles lists the Parquet files under lake's table folders (every
// folder but _vendorlake, which holds the runs' state and temporary files).
func lakeTableFiles(t *testing.T, lake string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(lake, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "_vendorlake" {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".parquet") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
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
	worker := buildVendorlake(t)
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
