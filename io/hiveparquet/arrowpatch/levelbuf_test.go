package arrowpatch

import (
	"testing"

	"github.com/apache/arrow/go/v15/arrow/memory"
)

// TestLevelBufferPoolGrowsGeometrically checks that the init hook reached
// Arrow's pool: a buffer from it that is asked again and again for 4 bytes
// more than its capacity (what PooledBufferWriter.Reserve does with V1
// pages) is copied a logarithmic number of times, not once per request.
func TestLevelBufferPoolGrowsGeometrically(t *testing.T) {
	buf, ok := parquetBufferPool.Get().(*memory.Buffer)
	if !ok {
		t.Fatal("pool does not return *memory.Buffer")
	}
	buf.Reserve(256)
	copies := 0
	for i := 0; i < 10000; i++ {
		before := &buf.Buf()[0]
		buf.Reserve(buf.Cap() + 4)
		if &buf.Buf()[0] != before {
			copies++
		}
	}
	// 10000 requests of +64 bytes reach 640 KB: about 8 doublings from 4 KiB.
	if copies > 12 {
		t.Fatalf("10000 growing Reserve calls moved the buffer %d times, want at most 12", copies)
	}
	if buf.Cap() < 10000*4 {
		t.Fatalf("capacity %d after 10000 growing Reserve calls", buf.Cap())
	}
}

func TestDoublingAllocator(t *testing.T) {
	var a doublingAllocator
	for _, tc := range []struct{ old, want, minCap int }{
		{0, 10, minDoublingBytes},
		{64, 128, minDoublingBytes},
		{8192, 8196, 16384},
		{8192, 100000, 100000},
		{8192, 100, 8192},
	} {
		b := a.Allocate(tc.old)
		for i := range b {
			b[i] = byte(i)
		}
		nb := a.Reallocate(tc.want, b)
		if len(nb) != tc.want || cap(nb) < tc.minCap {
			t.Errorf("Reallocate(%d) of %d bytes: len %d cap %d, want len %d cap >= %d", tc.want, tc.old, len(nb), cap(nb), tc.want, tc.minCap)
		}
		for i := 0; i < min(tc.old, tc.want); i++ {
			if nb[i] != byte(i) {
				t.Fatalf("Reallocate(%d) of %d bytes lost byte %d", tc.want, tc.old, i)
			}
		}
	}
}
