package transforms

import (
	"context"
	"runtime"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

// AheadMaxBytes is the largest input file (stored size) that a read step
// reads ahead (Ahead): a file this small is one chunk of lines or a few,
// parsed by one goroutine, so reading it alone leaves the other cores idle;
// a larger file is parsed on every core already.
const AheadMaxBytes = 1 << 20

// aheadChunkBytes bounds the chunks of lines of a file read ahead
// (lineparse.Options.ChunkBytes, 16 MiB by default): a small file needs no
// more, and each file in flight holds a chunk buffer or a few.
const aheadChunkBytes = 4 << 20

// aheadMaxFiles bounds the files in flight of one Ahead, whatever the
// number of cores: with aheadChunkBytes, what they hold stays under about
// 100 MB.
const aheadMaxFiles = 8

// ConcurrentReader is a FileReader whose ReadFile may run on several
// goroutines at once. The read step reads the small files of such a reader
// ahead (Ahead).
type ConcurrentReader interface {
	FileReader
	// ReadsConcurrently is a marker: it does nothing.
	ReadsConcurrently()
}

// ReadFunc reads one input file, emitting its batches (a FileReader's
// ReadFile with its store and options bound).
type ReadFunc func(ctx context.Context, f InputFile, lines lineparse.Options, emit func(hiveparquet.Batch)) (FileStats, error)

// FinishFunc takes the outcome of reading file f: its counters, or the
// error of its read (a read DoFn emits the counters or turns an unreadable
// file into counters; any other error fails the bundle).
type FinishFunc func(f InputFile, st FileStats, err error) error

// Ahead reads the small input files of a read DoFn's bundle on goroutines
// of their own, while the DoFn goes on to the next file: a drop of
// thousands of files of a few users each is otherwise read one file at a
// time, on one core. Everything a read produces is delivered on the DoFn's
// goroutine (Beam's emitters are not safe for concurrent use), in input
// order, by a later Read or by Flush, which the DoFn's FinishBundle calls:
// the output is the same as reading the files one after the other. A large
// file (over AheadMaxBytes) is read in place, after the reads ahead, its
// batches streamed as they come; only small files' batches are held.
//
// The zero Ahead reads up to GOMAXPROCS files at once (at most
// aheadMaxFiles). An Ahead serves one DoFn instance (one bundle at a
// time).
type Ahead struct {
	queue []*aheadRead
}

type aheadRead struct {
	f       InputFile
	done    chan struct{}
	batches []hiveparquet.Batch
	st      FileStats
	err     error
}

// Read reads f with read: ahead when f is small, else in place. It first
// delivers, with emit and finish, every read ahead that is over, and waits
// for the oldest when too many are under way.
func (a *Ahead) Read(ctx context.Context, f InputFile, lines lineparse.Options, read ReadFunc, emit func(hiveparquet.Batch), finish FinishFunc) error {
	limit := min(runtime.GOMAXPROCS(0), aheadMaxFiles)
	if f.Size > AheadMaxBytes || limit < 2 {
		if err := a.Flush(emit, finish); err != nil {
			return err
		}
		st, err := read(ctx, f, lines, emit)
		return finish(f, st, err)
	}
	for len(a.queue) >= limit {
		if err := a.deliver(emit, finish); err != nil {
			return err
		}
	}
	r := &aheadRead{f: f, done: make(chan struct{})}
	// A small file holds a chunk or a few: it does not take one of the
	// parse slots (lineparse.AcquireParseSlot), which bound the memory of
	// large files; the queue bounds these.
	lines.Ungated = true
	if lines.ChunkBytes <= 0 || lines.ChunkBytes > aheadChunkBytes {
		lines.ChunkBytes = aheadChunkBytes
	}
	go func() {
		defer close(r.done)
		r.st, r.err = read(ctx, f, lines, func(b hiveparquet.Batch) { r.batches = append(r.batches, b) })
	}()
	a.queue = append(a.queue, r)
	for len(a.queue) > 0 && isClosed(a.queue[0].done) {
		if err := a.deliver(emit, finish); err != nil {
			return err
		}
	}
	return nil
}

// Flush waits for every read ahead and delivers it, in order.
func (a *Ahead) Flush(emit func(hiveparquet.Batch), finish FinishFunc) error {
	for len(a.queue) > 0 {
		if err := a.deliver(emit, finish); err != nil {
			return err
		}
	}
	return nil
}

// deliver waits for the oldest read ahead and delivers it. After an
// error, the reads still queued are waited for and dropped: the bundle
// fails.
func (a *Ahead) deliver(emit func(hiveparquet.Batch), finish FinishFunc) error {
	r := a.queue[0]
	<-r.done
	a.queue[0] = nil
	a.queue = a.queue[1:]
	for _, b := range r.batches {
		emit(b)
	}
	r.batches = nil
	if err := finish(r.f, r.st, r.err); err != nil {
		a.drop()
		return err
	}
	return nil
}

// drop waits for the reads still queued and releases what they made.
func (a *Ahead) drop() {
	for _, r := range a.queue {
		<-r.done
		for _, b := range r.batches {
			b.Record.Release()
		}
	}
	a.queue = nil
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
