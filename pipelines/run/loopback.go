package run

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/container/tools"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/runtime/harness"
	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/options/jobopts"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/util/grpcx"
	"google.golang.org/grpc"
)

// loopbackPool is the worker pool of a LOOPBACK run on a job server
// (--runner=flink, spark or universal): the runner asks it, through Beam's
// external worker pool API, to start SDK workers, which run in this process
// and so see its local paths.
//
// Beam's Go SDK has a pool of its own for LOOPBACK (extworker.Loopback),
// which refuses a second worker with an ID it already runs. A runner with
// several JVMs gives out the same IDs in each of them: the Flink job server
// numbers the workers of a job "JOB-WORKER" per TaskManager, so on a
// cluster of two TaskManagers both ask for worker "1-1" and the job failed
// with `java.lang.RuntimeException: worker with ID "1-1" already exists`.
// This pool tells workers apart by ID and control endpoint (each
// TaskManager serves its own), and the runner talks to each worker only
// through that endpoint, so equal IDs do not meet.
type loopbackPool struct {
	fnpb.UnimplementedBeamFnExternalWorkerPoolServer

	lis    net.Listener
	srv    *grpc.Server
	root   context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	closed  bool
	workers map[string]*poolWorkers // by worker ID
}

// poolWorkers are the running workers of one ID, by control endpoint, and
// how many stop requests arrived for that ID.
type poolWorkers struct {
	byControl map[string]context.CancelFunc
	stops     int
}

// UsesJobServer says whether runner reaches a job server through Beam's
// universal runner (where LOOPBACK workers go through loopbackPool).
func UsesJobServer(runner string) bool {
	switch runner {
	case "flink", "spark", "universal":
		return true
	}
	return false
}

// startLoopbackPool serves a loopbackPool on a free loopback port.
func startLoopbackPool(ctx context.Context) (*loopbackPool, error) {
	lis, err := net.Listen("tcp", "localhost:0")
	if err != nil {
		return nil, fmt.Errorf("loopback worker pool: %w", err)
	}
	root, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p := &loopbackPool{lis: lis, srv: grpc.NewServer(), root: root, cancel: cancel, workers: map[string]*poolWorkers{}}
	fnpb.RegisterBeamFnExternalWorkerPoolServer(p.srv, p)
	go p.srv.Serve(lis)
	return p, nil
}

// Addr is the pool's address, the environment config of EXTERNAL workers.
func (p *loopbackPool) Addr() string {
	return fmt.Sprintf("localhost:%d", p.lis.Addr().(*net.TCPAddr).Port)
}

// StartWorker starts an SDK worker (Beam's Go harness) in this process,
// connected to the runner's control and logging endpoints.
func (p *loopbackPool) StartWorker(_ context.Context, req *fnpb.StartWorkerRequest) (*fnpb.StartWorkerResponse, error) {
	id, control := req.GetWorkerId(), req.GetControlEndpoint().GetUrl()
	switch {
	case req.GetLoggingEndpoint() == nil || control == "":
		return &fnpb.StartWorkerResponse{Error: fmt.Sprintf("worker %s: missing logging or control endpoint", id)}, nil
	case req.GetLoggingEndpoint().Authentication != nil || req.GetControlEndpoint().Authentication != nil:
		return &fnpb.StartWorkerResponse{Error: "secure endpoints are not supported (Beam issue BEAM-10610)"}, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return &fnpb.StartWorkerResponse{Error: "worker pool shutting down"}, nil
	}
	w := p.workers[id]
	if w == nil {
		w = &poolWorkers{byControl: map[string]context.CancelFunc{}}
		p.workers[id] = w
	}
	if _, ok := w.byControl[control]; ok {
		return &fnpb.StartWorkerResponse{Error: fmt.Sprintf("worker %s of %s already exists", id, control)}, nil
	}
	ctx, cancel := context.WithCancel(grpcx.WriteWorkerID(p.root, id))
	w.byControl[control] = cancel
	var opts harness.Options
	if endpoint := req.GetProvisionEndpoint().GetUrl(); endpoint != "" {
		if info, err := tools.ProvisionInfo(ctx, endpoint); err == nil {
			opts.StatusEndpoint = info.GetStatusEndpoint().GetUrl()
			opts.RunnerCapabilities = info.GetRunnerCapabilities()
		}
	}
	go harness.MainWithOptions(ctx, req.GetLoggingEndpoint().GetUrl(), control, opts)
	return &fnpb.StartWorkerResponse{}, nil
}

// StopWorker stops the workers of an ID. The request names no control
// endpoint: while more workers of the ID run than stop requests arrived,
// none is cancelled (a worker also ends when the runner closes its control
// stream); with a request for each, all are.
func (p *loopbackPool) StopWorker(_ context.Context, req *fnpb.StopWorkerRequest) (*fnpb.StopWorkerResponse, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	w := p.workers[req.GetWorkerId()]
	if p.closed || w == nil {
		return &fnpb.StopWorkerResponse{}, nil
	}
	w.stops++
	if w.stops >= len(w.byControl) {
		for _, cancel := range w.byControl {
			cancel()
		}
		delete(p.workers, req.GetWorkerId())
	}
	return &fnpb.StopWorkerResponse{}, nil
}

// stopGrace bounds how long Stop waits for the pool's RPCs to end.
const stopGrace = 100 * time.Millisecond

// Stop stops every worker and the server. It lets StopWorker calls in
// flight finish, for up to stopGrace, then closes every connection: a
// graceful stop alone also waits for the runner to close its connection to
// the pool, which Flink's TaskManagers did 1.0 s after the job (every run
// on Flink took a second longer, ID5's two jobs two).
func (p *loopbackPool) Stop() {
	p.mu.Lock()
	p.closed = true
	p.workers = nil
	p.cancel()
	p.mu.Unlock()
	// Outside the lock: GracefulStop waits for StopWorker calls.
	done := make(chan struct{})
	go func() {
		p.srv.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(stopGrace):
		p.srv.Stop()
		<-done
	}
}

// withLoopbackPool runs fn with the LOOPBACK workers of a run on a job
// server served by a loopbackPool: for fn, Beam's flags say EXTERNAL
// workers at the pool's address, and, unless --worker_binary is given, an
// empty worker binary (as Beam stages for LOOPBACK: the workers run in
// this process, the binary is never run). Other runs call fn as it is.
func withLoopbackPool(ctx context.Context, runner string, fn func() error) error {
	if !UsesJobServer(runner) || !jobopts.IsLoopback() {
		return fn()
	}
	pool, err := startLoopbackPool(ctx)
	if err != nil {
		return err
	}
	defer pool.Stop()
	env, config, worker := *jobopts.EnvironmentType, *jobopts.EnvironmentConfig, *jobopts.WorkerBinary
	defer func() {
		*jobopts.EnvironmentType, *jobopts.EnvironmentConfig, *jobopts.WorkerBinary = env, config, worker
	}()
	*jobopts.EnvironmentType, *jobopts.EnvironmentConfig = "EXTERNAL", pool.Addr()
	if worker == "" {
		f, err := os.CreateTemp("", "vendorlake-loopback-worker-*")
		if err != nil {
			return fmt.Errorf("loopback worker pool: %w", err)
		}
		f.Close()
		defer os.Remove(f.Name())
		*jobopts.WorkerBinary = f.Name()
	}
	return fn()
}
