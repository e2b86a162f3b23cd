package arrowpatch

import (
	"sync"
	_ "unsafe" // go:linkname, see parquetBufferPool

	"github.com/apache/arrow/go/v15/arrow/memory"
)

// Arrow Go v15 writes the definition and repetition levels of every data
// page into PooledBufferWriters whose buffers come from the pool below. With
// data pages V1 the writer reserves a 4-byte length prefix (SetOffset(4)),
// and PooledBufferWriter.Reserve then asks for cap+4 bytes on every write
// that reaches the end of the buffer: memory.Buffer rounds that up to the
// next 64 bytes and reallocates, so a page's level buffer is copied again
// every 64 bytes, quadratic in the page's level bytes. It was a fifth of a
// Didomi run's CPU and half of the Audience Studio request pipeline's
// (parquet/internal/encoding/types.go, PooledBufferWriter.Reserve).
//
// The pool is unexported, so it is reached by go:linkname (like the codec
// registry in props.go), and its New function is replaced at init, before
// any writer runs, by one whose buffers grow geometrically: a reallocation
// gets at least twice the old capacity, so a level buffer is copied
// O(log n) times. The bytes written are the same; only the growth policy of
// the scratch buffers changes. A renamed or retyped pool would still link
// (a linkname to a variable does not check its target), so the New below
// counts its calls and Check (check.go) fails when Arrow's writer never
// calls it.
//
//go:linkname parquetBufferPool github.com/apache/arrow/go/v15/parquet/internal/encoding.bufferPool
var parquetBufferPool sync.Pool

func init() {
	parquetBufferPool.New = func() any {
		levelPoolNews.Add(1)
		return memory.NewResizableBuffer(doublingAllocator{})
	}
}

// doublingAllocator is memory.GoAllocator with geometric reallocation.
// memory.Buffer takes the length of the slice it gets as its capacity, so
// Reallocate returns exactly the size asked for but backs it with at least
// twice the old capacity: later requests that fit (the writer's creeping
// cap+4) only reslice, and a real growth copies O(log n) times in all.
type doublingAllocator struct{}

// minDoublingBytes is the smallest backing array doublingAllocator makes on
// reallocation.
const minDoublingBytes = 4 << 10

func (doublingAllocator) Allocate(size int) []byte {
	return memory.DefaultAllocator.Allocate(size)
}

func (doublingAllocator) Reallocate(size int, b []byte) []byte {
	if size <= cap(b) {
		return b[:size]
	}
	levelBufGrowths.Add(1)
	n := max(size, 2*cap(b), minDoublingBytes)
	nb := memory.DefaultAllocator.Allocate(n)
	copy(nb, b)
	return nb[:size]
}

func (doublingAllocator) Free(b []byte) { memory.DefaultAllocator.Free(b) }
