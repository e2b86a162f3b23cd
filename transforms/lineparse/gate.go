package lineparse

import (
	"context"
	"runtime"
)

// parseSlots bounds how many files this process parses at once, over all
// the bundles it runs. A runner may run many bundles of the read stage
// concurrently in one worker (prism runs up to eight), and each parse holds
// a few chunks of lines, their Arrow batches and the write queue: without
// a bound, peak memory grows with the runner's concurrency, not with what
// the cores can use. Every parse already uses all cores (Workers
// goroutines); one file's decompression keeps about four parse goroutines
// busy, so one slot per four cores keeps them fed and more only adds
// memory. It is a per-process limiter, like a connection pool: it holds no
// data.
var parseSlots = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/4))

// AcquireParseSlot waits for one of the process's parse slots and returns
// the function that gives it back. Parsers of whole files (Parse, the
// Audience Studio split reader) take one for the length of the file.
func AcquireParseSlot(ctx context.Context) (release func(), err error) {
	select {
	case parseSlots <- struct{}{}:
		return func() { <-parseSlots }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
