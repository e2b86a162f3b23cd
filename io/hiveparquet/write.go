package hiveparquet

import (
	"container/list"
	"context"
	"fmt"
	"io"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/google/uuid"

	"github.com/vendorlake/vendorlake/io/faults"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/lakestate"
)

// FileDesc describes one Parquet file that a bundle finished in the
// temporary area. Only bundles that completed emit descriptors, so files of
// failed or retried bundles are never committed; cleanup deletes them.
type FileDesc struct {
	Table     string `json:"table"`
	Partition string `json:"partition"`
	Source    string `json:"source,omitempty"`
	TempPath  string `json:"temp_path"`
	Rows      int64  `json:"rows"`
	Bytes     int64  `json:"bytes"`
	// Name, for tables in Files mode, is the file's final name in its
	// partition folder, kept as it is (one path element).
	Name string `json:"name,omitempty"`
}

func init() {
	beam.RegisterType(reflect.TypeOf((*FileDesc)(nil)).Elem())
	register.DoFn3x1[context.Context, Batch, func(FileDesc), error](&writeFn{})
	register.Emitter1[FileDesc]()
}

// Write writes batches into Parquet files in the temporary area of run
// runID of pipeline (lakestate.TempDir), outside every table folder, and
// returns a PCollection<FileDesc> of the finished files for Commit.
//
// One writer is kept per (table, partition, source) per bundle, at most
// MaxOpenWriters at once (least recently used closed first); files roll at
// TargetFileBytes. The batches of a file are coalesced into row groups of
// RowGroupRows rows or RowGroupBytes uncompressed bytes, whichever comes
// first, so row-group sizes suit readers whatever the input batch sizes.
// Every open file is encoded on its own goroutine. A bundle holds at most
// maxHeldBytes of batches, queued or pending in a row group, counted by the
// memory they retain; beyond it the file holding the most writes what it
// holds as a smaller row group.
//
// Every batch must be of one of tables and have its schema: a batch of an
// unknown table or of another schema fails the step, naming both schemas.
func Write(s beam.Scope, tables []Table, output, pipeline, runID string, fsOpts lakefs.Options, opts WriteOptions, batches beam.PCollection) beam.PCollection {
	s = s.Scope("hiveparquet.Write")
	return beam.ParDo(s, &writeFn{Tables: TableSchemas(tables), Output: output, Pipeline: pipeline, RunID: runID, FS: fsOpts, Options: opts.withDefaults()}, batches)
}

type writeFn struct {
	Tables   map[string]TableSchema `json:"tables"`
	Output   string                 `json:"output"`
	Pipeline string                 `json:"pipeline"`
	RunID    string                 `json:"run_id"`
	FS       lakefs.Options         `json:"fs"`
	Options  WriteOptions           `json:"options"`

	fs      lakefs.FS
	bundle  string
	seq     int
	open    map[writerKey]*list.Element // of *openFile
	lru     *list.List
	done    []FileDesc
	budget  *byteBudget // the bytes held by the bundle's open files
	schemas schemaChecker
}

type writerKey struct{ table, partition, source string }

// openFile is one Parquet file being written. Its batches are encoded on
// its own goroutine (encode), fed in order through queue, so that the
// files of a bundle (users, events and rejects, say) are encoded in
// parallel with each other and with the parsing that feeds them, instead
// of all on the goroutine that emits the batches.
type openFile struct {
	key    writerKey
	path   string
	sink   *countingWriter
	w      *pqarrow.FileWriter
	schema *arrow.Schema
	rows   int64
	bytes  int64 // uncompressed bytes written

	rowGroupRows  int64          // rows of a row group
	rowGroupBytes int64          // uncompressed bytes that end a row group early
	pending       []arrow.Record // rows of the next row group, not written yet
	pendingRows   int64
	pendingBytes  int64

	queue  chan queuedBatch
	done   chan struct{} // closed when encode has returned
	err    error         // the first write error; read after done
	failed atomic.Bool   // err is set

	abandoned bool // set before the queue is closed: drop what is pending

	// budget counts the memory retained by the file's batches, queued or
	// pending (retainedBytes), from ProcessElement until they are written
	// or dropped; held is this file's share, flushAsked is set while a
	// flush request is in its queue.
	budget     *byteBudget
	held       atomic.Int64
	flushAsked atomic.Bool
}

// queuedBatch is a batch for the encoder, or, with a nil rec, a request to
// write all pending rows now (the bundle holds too much).
type queuedBatch struct {
	rec   arrow.Record
	bytes int64
}

// encode writes the queued batches in order until the queue is closed.
// After a write error it only releases what is still queued.
func (f *openFile) encode() {
	defer close(f.done)
	for q := range f.queue {
		if q.rec == nil { // flush request
			if f.err == nil {
				f.fail(f.finish())
			}
			if f.err != nil {
				f.release() // a failed file never writes what it holds: give it back
			}
			f.flushAsked.Store(false)
			f.unhold(0) // wakes ProcessElement even when nothing was pending
			continue
		}
		var dropped int64 // never pending: freed by the Release below
		if f.err == nil {
			f.fail(f.write(q.rec, q.bytes))
		} else {
			dropped = retainedBytes(q.rec)
		}
		q.rec.Release()
		if dropped > 0 {
			f.unhold(dropped)
		}
	}
	if f.err == nil && !f.abandoned {
		f.fail(f.finish())
	}
	f.release()
}

// fail records err (if not nil) as the file's write error; the encoder
// then only releases what is still queued.
func (f *openFile) fail(err error) {
	if err != nil {
		f.err = fmt.Errorf("write %s: %w", f.path, err)
		f.failed.Store(true)
	}
}

// write adds rec to the rows pending for the file's next row group and
// writes whole row groups once RowGroupRows rows or RowGroupBytes
// uncompressed bytes are pending; finish writes the rest. The pending rows
// are the Arrow batches already in memory, not a copy, unless they are many
// small batches (coalesce); a row group's columns are encoded in parallel
// (writeRowGroups).
func (f *openFile) write(rec arrow.Record, bytes int64) error {
	rec.Retain()
	f.pending = append(f.pending, rec)
	f.pendingRows += rec.NumRows()
	f.pendingBytes += bytes
	switch {
	case f.pendingBytes >= f.rowGroupBytes:
		return f.flush(f.pendingRows)
	case f.pendingRows >= f.rowGroupRows:
		return f.flush(f.pendingRows - f.pendingRows%f.rowGroupRows)
	}
	return nil
}

// finish writes the rows still pending.
func (f *openFile) finish() error { return f.flush(f.pendingRows) }

// flush writes the first n pending rows as row groups of at most
// rowGroupRows rows and keeps the rest pending.
func (f *openFile) flush(n int64) error {
	if n <= 0 {
		return nil
	}
	var take, keep []arrow.Record
	var freed int64 // retained by the records written whole; a split one's tail keeps its buffers
	left := n
	for _, r := range f.pending {
		switch {
		case left <= 0:
			keep = append(keep, r)
		case r.NumRows() <= left:
			take = append(take, r)
			freed += retainedBytes(r)
			left -= r.NumRows()
		default: // split r: its head is written, its tail stays pending
			take = append(take, r.NewSlice(0, left))
			keep = append(keep, r.NewSlice(left, r.NumRows()))
			r.Release()
			left = 0
		}
	}
	take, err := coalesce(f.schema, take)
	if err == nil {
		tbl := array.NewTableFromRecords(f.schema, take)
		err = writeRowGroups(f.w, tbl, f.rowGroupRows)
		tbl.Release()
	}
	for _, r := range take {
		r.Release()
	}
	f.unhold(freed)
	f.pending = keep
	f.pendingRows -= n
	if f.pendingRows == 0 {
		f.pendingBytes = 0
	} else {
		f.pendingBytes = f.pendingBytes * f.pendingRows / (f.pendingRows + n)
	}
	if err == nil {
		err = f.sink.err
	}
	return err
}

// release drops the rows still pending: none after finish, those of an
// abandoned or failed file otherwise.
func (f *openFile) release() {
	for _, r := range f.pending {
		n := retainedBytes(r)
		r.Release()
		f.unhold(n)
	}
	f.pending, f.pendingRows, f.pendingBytes = nil, 0, 0
}

// unhold returns n bytes of the file's batches to the bundle's budget.
func (f *openFile) unhold(n int64) {
	f.held.Add(-n)
	f.budget.release(n)
}

// maxHeldBytes bounds the memory retained by the batches a bundle has
// handed to its encoders and that are not written yet, queued or pending
// in a row group, over all its open files. Beyond it the emitting goroutine
// asks the file holding the most to write its pending rows (a smaller row
// group) and waits, so a slow disk or codec, or many partitions each with
// a row group under way, hold back parsing instead of growing the heap.
//
// It counts what the batches retain (their buffers' capacity: a parser's
// column buffers grow beyond the rows they end up holding), not their
// rows' bytes. Before it, each open file could hold RowGroupBytes of rows
// counted by length (DefaultMaxOpenWriters x 16 MiB = 256 MiB, more in
// capacity) plus 96 MiB queued. 192 MiB is 16 open files at 12 MiB each,
// or the few files a parser feeds at once (users, events, rejects of one
// partition) at their full 16 MiB row groups with room for the queue.
// Measured on the 1 GiB Didomi drop (direct runner, proof check on): the
// row groups are almost those of the unbounded sink (users 111 as before,
// events 270 against 262, none under 10,000 rows), the largest live heap
// (gctrace) 420 MB against 470 MB, CPU the same within noise; the peak RSS
// (800 MB) is the collector's pacing up to the 768 MiB soft limit, not
// held batches. A bound below what the few active files' row groups hold
// would cut every row group short.
const maxHeldBytes = 192 << 20

// byteBudget is a counting semaphore over bytes. One acquisition larger
// than the whole budget is allowed when nothing else is held, so a huge
// batch still makes progress.
type byteBudget struct {
	mu    sync.Mutex
	cond  sync.Cond
	limit int64
	used  int64
}

func newByteBudget(limit int64) *byteBudget {
	b := &byteBudget{limit: limit}
	b.cond.L = &b.mu
	return b
}

// hold takes n bytes of the bundle's budget for a batch. While they do not
// fit, it asks the open file holding the most to write its pending rows,
// one file at a time (asking several at once would write smaller row
// groups than needed), and waits for bytes to be released.
func (fn *writeFn) hold(n int64) {
	b := fn.budget
	b.mu.Lock()
	for b.used > 0 && b.used+n > b.limit {
		var victim *openFile
		asked := false
		for e := fn.lru.Front(); e != nil; e = e.Next() {
			f := e.Value.(*openFile)
			asked = asked || f.flushAsked.Load()
			if f.held.Load() > 0 && (victim == nil || f.held.Load() > victim.held.Load()) {
				victim = f
			}
		}
		if asked || victim == nil {
			b.cond.Wait() // a flush under way, or bytes queued in no open file
			continue
		}
		victim.flushAsked.Store(true)
		b.mu.Unlock()
		victim.queue <- queuedBatch{} // the encoder drains its queue: no lock held
		b.mu.Lock()
	}
	b.used += n
	b.mu.Unlock()
}

func (b *byteBudget) release(n int64) {
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
	b.cond.Broadcast()
}

func (fn *writeFn) Setup(ctx context.Context) error {
	if err := CheckArrowPatches(); err != nil {
		return err
	}
	var err error
	if fn.fs, err = lakefs.New(ctx, fn.Output, fn.FS); err != nil {
		return err
	}
	fn.schemas = schemaChecker{tables: fn.Tables}
	return fn.Options.Check()
}

func (fn *writeFn) StartBundle(ctx context.Context, _ func(FileDesc)) {
	fn.abandon() // files a failed bundle left open
	fn.bundle = uuid.NewString()[:13]
	fn.seq = 0
	fn.open = map[writerKey]*list.Element{}
	fn.lru = list.New()
	fn.done = nil
	fn.budget = newByteBudget(maxHeldBytes)
}

func (fn *writeFn) ProcessElement(ctx context.Context, b Batch, _ func(FileDesc)) error {
	if b.Record.NumRows() == 0 {
		b.Record.Release()
		return nil
	}
	faults.Hit(ctx, "write.batch")
	if err := fn.schemas.check(b); err != nil {
		b.Record.Release()
		return err
	}
	key := writerKey{b.Table, b.Partition, b.Source}
	f, err := fn.writer(ctx, key, b.Record.Schema())
	if err != nil {
		b.Record.Release()
		return err
	}
	if f.failed.Load() {
		b.Record.Release()
		return fn.close(fn.open[key]) // returns the encoder's error
	}
	n := recordBytes(b.Record)
	held := retainedBytes(b.Record)
	fn.hold(held)
	f.held.Add(held)
	f.queue <- queuedBatch{rec: b.Record, bytes: n} // the encoder releases it
	f.rows += b.Record.NumRows()
	f.bytes += n
	if f.bytes >= fn.Options.TargetFileBytes {
		return fn.close(fn.open[key])
	}
	return nil
}

// writer returns the open writer for key, opening one (and closing the least
// recently used one beyond the bound) when needed.
func (fn *writeFn) writer(ctx context.Context, key writerKey, schema *arrow.Schema) (*openFile, error) {
	if e, ok := fn.open[key]; ok {
		fn.lru.MoveToFront(e)
		f := e.Value.(*openFile)
		// The same schema value (a parser's, shared by its batches) is
		// equal without comparing field by field.
		if f.schema != schema && !f.schema.Equal(schema) {
			return nil, fmt.Errorf("write %s: batch schema differs from the file's schema", f.path)
		}
		return f, nil
	}
	for fn.lru.Len() >= fn.Options.MaxOpenWriters {
		if err := fn.close(fn.lru.Back()); err != nil {
			return nil, err
		}
	}
	fn.seq++
	name := fmt.Sprintf("%s-%05d.parquet", fn.bundle, fn.seq)
	p := lakefs.Join(lakestate.TempDir(fn.Output, fn.Pipeline, fn.RunID), key.table, key.partition, name)
	wc, err := fn.fs.Create(ctx, p)
	if err != nil {
		return nil, err
	}
	sink := &countingWriter{w: wc}
	props, aprops, err := writerProps(fn.Options, schema)
	if err != nil {
		wc.Close()
		return nil, err
	}
	w, err := pqarrow.NewFileWriter(schema, sink, props, aprops)
	if err != nil {
		wc.Close()
		return nil, fmt.Errorf("open parquet writer %s: %w", p, err)
	}
	f := &openFile{key: key, path: p, sink: sink, w: w, schema: schema,
		rowGroupRows: fn.Options.RowGroupRows, rowGroupBytes: fn.Options.RowGroupBytes,
		queue: make(chan queuedBatch, 8), done: make(chan struct{}), budget: fn.budget}
	go f.encode()
	fn.open[key] = fn.lru.PushFront(f)
	return f, nil
}

// close waits for the file's encoder to write what is queued, then closes
// the file and records its descriptor.
func (fn *writeFn) close(e *list.Element) error {
	f := e.Value.(*openFile)
	fn.lru.Remove(e)
	delete(fn.open, f.key)
	close(f.queue)
	<-f.done
	if f.err != nil {
		f.w.Close() // the write error is the one to report
		return f.err
	}
	faults.Hit(context.Background(), "write.close")
	if err := f.w.Close(); err != nil { // closes the sink too
		return fmt.Errorf("close %s: %w", f.path, err)
	}
	if f.sink.err != nil {
		return fmt.Errorf("write %s: %w", f.path, f.sink.err)
	}
	fn.done = append(fn.done, FileDesc{
		Table: f.key.table, Partition: f.key.partition, Source: f.key.source,
		TempPath: f.path, Rows: f.rows, Bytes: f.sink.n,
	})
	return nil
}

// abandon stops the encoders of files left open by a bundle that failed
// and closes their handles; the files stay in the temporary area, which
// cleanup deletes, and are never committed.
func (fn *writeFn) abandon() {
	if fn.lru == nil {
		return
	}
	for e := fn.lru.Back(); e != nil; e = fn.lru.Back() {
		f := e.Value.(*openFile)
		fn.lru.Remove(e)
		f.abandoned = true
		close(f.queue)
		<-f.done
		f.w.Close()
	}
	fn.open = nil
}

// Teardown releases what a failed last bundle left open.
func (fn *writeFn) Teardown() { fn.abandon() }

func (fn *writeFn) FinishBundle(ctx context.Context, emit func(FileDesc)) error {
	for fn.lru.Len() > 0 {
		if err := fn.close(fn.lru.Back()); err != nil {
			return err
		}
	}
	for _, d := range fn.done {
		emit(d)
	}
	fn.done = nil
	return nil
}

// countingWriter counts the bytes written through it; closing it closes the
// underlying writer once. Its first write error sticks: every later write
// fails with it, because Arrow drops the error of the row group it closes
// while starting the next one (FileWriter.NewRowGroup, which WriteTable
// calls for each row group), and a later small write that succeeded would
// leave a file with a hole.
type countingWriter struct {
	w      io.WriteCloser
	n      int64
	err    error
	closed bool
}

func (c *countingWriter) Write(b []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(b)
	c.n += int64(n)
	if err != nil {
		c.err = err
	}
	return n, err
}

func (c *countingWriter) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	return c.w.Close()
}

// recordBytes estimates the uncompressed size of a record from its buffers.
func recordBytes(rec arrow.Record) int64 {
	var n int64
	for _, col := range rec.Columns() {
		n += arrayBytes(col.Data())
	}
	return n
}

// retainedBytes is the memory a record's buffers keep alive: their
// capacity, which is more than their length when a buffer was grown or
// allocated for a larger batch. Slices of a record (the pending tail of a
// row group) retain the same buffers.
func retainedBytes(rec arrow.Record) int64 {
	var n int64
	for _, col := range rec.Columns() {
		n += arrayRetained(col.Data())
	}
	return n
}

func arrayRetained(d arrow.ArrayData) int64 {
	var n int64
	for _, b := range d.Buffers() {
		if b != nil {
			n += int64(cap(b.Buf()))
		}
	}
	for _, c := range d.Children() {
		n += arrayRetained(c)
	}
	return n
}

func arrayBytes(d arrow.ArrayData) int64 {
	var n int64
	for _, b := range d.Buffers() {
		if b != nil {
			n += int64(b.Len())
		}
	}
	for _, c := range d.Children() {
		n += arrayBytes(c)
	}
	return n
}
