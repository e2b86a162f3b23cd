// Package faults is a test hook for crash-safety tests: named fault points
// in the code that kill the process with SIGKILL at a chosen moment, so that
// a test can check that a plain rerun recovers from a crash there.
//
// The fault points exist only in a build with the tag vendorlake_faults,
// which the tests pass when they build the command (go build -tags
// vendorlake_faults); in any other build, the shipped command included,
// Hit does nothing and Enabled is false, so no setting can make a
// production process kill itself.
//
// In a build with the tag, it is inert unless the environment variable
// VENDORLAKE_FAULT is set to "POINT:N" (e.g. "commit.move:2"): then the
// N-th call of Hit(ctx, POINT) in this process sends SIGKILL to the process
// itself. No other call does anything but compare a string.
//
// "POINT:N:INT" and "POINT:N:TERM" send SIGINT or SIGTERM instead, for the
// tests of an interrupted run: the N-th hit sends the signal to the process
// and then waits (up to 10 seconds) for ctx to be done, as the command's
// handler does on the signal, so that the run meets its cancellation
// right after that point; the run goes on from there.
//
// "POINT:N:PAUSE" pauses instead: the N-th hit prints "vendorlake: fault
// POINT:N paused" to stderr and blocks until ctx is done (at most 10
// minutes), so that a test can act on the run while it is held there (the
// Flink tests kill a TaskManager while a job waits before its commit; the
// process ends with the job, the paused call never returns).
//
// VENDORLAKE_FAULT=trace prints every hit ("fault NAME:N") to stderr instead:
// the way to choose N for a point, or to update a test's settings when a
// sample changes.
//
// The hit counter is a package-level variable, deliberately: a fault is a
// trigger for one whole process (one run of the command, which under the
// direct runner holds every DoFn), not pipeline state, so there is nothing
// to serialise to workers or to reset between bundles. It is atomic because
// fault points are hit from parallel goroutines (parse workers, bundles).
// The variable is read once per process.
package faults
