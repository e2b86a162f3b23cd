package hiveparquet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/vendorlake/vendorlake/io/lakefs"
)

// peakAllocator counts the bytes it has handed out and not had back, and
// the most at once.
type peakAllocator struct {
	mu        sync.Mutex
	go_       memory.GoAllocator
	cur, peak int
}

func (a *peakAllocator) add(n int) {
	a.mu.Lock()
	a.cur += n
	a.peak = max(a.peak, a.cur)
	a.mu.Unlock()
}

func (a *peakAllocator) Allocate(size int) []byte { a.add(size); return a.go_.Allocate(size) }

func (a *peakAllocator) Reallocate(size int, b []byte) []byte {
	a.add(size - len(b))
	return a.go_.Reallocate(size, b)
}

func (a *peakAllocator) Free(b []byte) { a.add(-len(b)); a.go_.Free(b) }

// spareBatch makes a batch of writeTestSchema with n rows (seq counting up
// from first, tag null) whose seq buffer has capacity spare bytes, as a
// parser's column buffer sized for a larger batch has.
func spareBatch(alloc memory.Allocator, table, partition string, first, n int64, spare int) Batch {
	vals := memory.NewResizableBuffer(alloc)
	vals.Reserve(spare)
	vals.ResizeNoShrink(int(n) * 8)
	seq := unsafe.Slice((*int64)(unsafe.Pointer(&vals.Bytes()[0])), n)
	for i := range seq {
		seq[i] = first + int64(i)
	}
	valid := memory.NewResizableBuffer(alloc)
	valid.Resize(int(n+7) / 8) // zeroed: every tag is null
	offs := memory.NewResizableBuffer(alloc)
	offs.Resize(int(n+1) * 4) // zeroed: every tag is empty
	cols := []arrow.ArrayData{
		array.NewData(arrow.PrimitiveTypes.Int64, int(n), []*memory.Buffer{nil, vals}, nil, 0, 0),
		array.NewData(arrow.BinaryTypes.String, int(n), []*memory.Buffer{valid, offs, nil}, nil, int(n), 0),
	}
	vals.Release()
	valid.Release()
	offs.Release()
	return Batch{Table: table, Partition: partition, Record: RecordFromData(writeTestSchema, cols, int(n))}
}

// TestWriteBoundsHeldBatches writes to many files at once batches of few
// rows whose buffers have much spare capacity (what a parser's grown column
// buffers hand over): the memory the bundle's pending and queued batches
// retain must stay within the bundle's budget, counted by capacity, not by
// the rows' bytes, and row groups must still span many batches.
func TestWriteBoundsHeldBatches(t *testing.T) {
	const (
		files, batches, rows = 12, 30, 100
		spare                = 64 << 10 // capacity of each batch's seq buffer
	)
	for _, tc := range []struct {
		name  string
		limit int64
		// wantGroups: the row groups per file; 0: checked by the bound.
		wantGroups int
	}{
		{"tight budget flushes the largest files early", 2 << 20, 0},
		{"budget that fits every batch keeps one row group per file", 64 << 20, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			alloc := &peakAllocator{}
			fn := &writeFn{Tables: testTables(writeTestSchema, "t"), Output: t.TempDir(), RunID: "r1", Options: WriteOptions{}.withDefaults()}
			if err := fn.Setup(ctx); err != nil {
				t.Fatal(err)
			}
			var descs []FileDesc
			emit := func(d FileDesc) { descs = append(descs, d) }
			fn.StartBundle(ctx, emit)
			fn.budget = newByteBudget(tc.limit)
			for i := int64(0); i < batches; i++ {
				for f := 0; f < files; f++ {
					b := spareBatch(alloc, "t", fmt.Sprintf("p=%02d", f), i*rows, rows, spare)
					if err := fn.ProcessElement(ctx, b, emit); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := fn.FinishBundle(ctx, emit); err != nil {
				t.Fatal(err)
			}
			if alloc.cur != 0 {
				t.Errorf("%d bytes of batches never released", alloc.cur)
			}
			// One batch more than the budget: the batch being handed over.
			oneBatch := int64(spare + 1024) // seq plus the tag's small buffers
			if bound := min(tc.limit, files*batches*oneBatch) + oneBatch; int64(alloc.peak) > bound {
				t.Errorf("batches retained %d bytes at once, want at most %d", alloc.peak, bound)
			}
			if len(descs) != files {
				t.Fatalf("%d files, want %d", len(descs), files)
			}
			groups := 0
			for _, d := range descs {
				seq := readSeq(t, d.TempPath)
				if len(seq) != batches*rows {
					t.Fatalf("%s: %d rows, want %d", d.Partition, len(seq), batches*rows)
				}
				for i, v := range seq {
					if v != int64(i) {
						t.Fatalf("%s: row %d has seq %d", d.Partition, i, v)
					}
				}
				g := rowGroupRows(t, d.TempPath)
				if tc.wantGroups > 0 && len(g) != tc.wantGroups {
					t.Errorf("%s: row groups %v, want %d", d.Partition, g, tc.wantGroups)
				}
				groups += len(g)
			}
			// Under the tight budget a flush writes what the file holding
			// the most holds: about limit/files bytes, several batches.
			if max := files * batches / 2; groups > max {
				t.Errorf("%d row groups for %d batches: want at most %d (batches coalesced)", groups, files*batches, max)
			}
		})
	}
}

// failingPartitionFS is a local lakefs whose files of one partition fail to
// write after limit bytes.
type failingPartitionFS struct {
	lakefs.FS
	partition string
	limit     int
}

func (f failingPartitionFS) Create(ctx context.Context, path string) (io.WriteCloser, error) {
	w, err := f.FS.Create(ctx, path)
	if err != nil || !strings.Contains(path, "/"+f.partition+"/") {
		return w, err
	}
	return &failingWriter{w: w, left: f.limit}, nil
}

// TestWriteBudgetSurvivesAFailedFile checks that a file whose write failed
// while it held the most of the bundle's budget gives it back: the other
// files go on (not wait for it forever), and the bundle fails with the
// file's error.
func TestWriteBudgetSurvivesAFailedFile(t *testing.T) {
	ctx := context.Background()
	alloc := &peakAllocator{}
	fn := &writeFn{Tables: testTables(writeTestSchema, "t"), Output: t.TempDir(), RunID: "r1", Options: WriteOptions{RowGroupRows: 1000}.withDefaults()}
	if err := fn.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	fn.fs = failingPartitionFS{FS: fn.fs, partition: "p=00", limit: 100}
	emit := func(FileDesc) {}
	fn.StartBundle(ctx, emit)
	fn.budget = newByteBudget(2 << 20)
	done := make(chan error, 1)
	go func() {
		// The failing file's first row group fails; the tail of its batch
		// (and its 1 MiB buffer) stays pending.
		if err := fn.ProcessElement(ctx, spareBatch(alloc, "t", "p=00", 0, 1500, 1<<20), emit); err != nil {
			done <- err
			return
		}
		for i := int64(0); i < 30; i++ {
			for f := 1; f < 8; f++ {
				if err := fn.ProcessElement(ctx, spareBatch(alloc, "t", fmt.Sprintf("p=%02d", f), i*100, 100, 64<<10), emit); err != nil {
					done <- err
					return
				}
			}
		}
		if err := fn.ProcessElement(ctx, spareBatch(alloc, "t", "p=00", 1500, 10, 0), emit); err != nil {
			done <- err
			return
		}
		done <- fn.FinishBundle(ctx, emit)
	}()
	select {
	case err := <-done:
		if !errors.Is(err, errDiskFull) || !strings.Contains(err.Error(), "p=00") {
			t.Fatalf("error = %v, want the failed file's disk-full error", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the bundle waits forever for the failed file's budget")
	}
	fn.Teardown()
	// Arrow keeps a reference to some arrays of a failed write (the small
	// tag buffers here); the failed file's 1 MiB buffer must be back.
	if alloc.cur >= 1<<20 {
		t.Errorf("%d bytes of batches never released", alloc.cur)
	}
}
