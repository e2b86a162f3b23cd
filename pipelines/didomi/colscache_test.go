package didomi

import (
	"runtime"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

// parseChunkBytes parses lines with p as one chunk (Parse, then Flush) and
// returns the bytes allocated meanwhile and the batches, as JSON rows.
func parseChunkBytes(t *testing.T, p *parser, lines [][]byte) (uint64, []string) {
	t.Helper()
	rej := lineparse.NewRejects(Rejects(), "export_id=x/date=2024-03-01", "", "f.json.gz", 0)
	defer rej.Release()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i, l := range lines {
		p.Parse(l, int64(i+1), rej)
	}
	var recs []hiveparquet.Batch
	p.Flush(func(b hiveparquet.Batch) { recs = append(recs, b) })
	runtime.ReadMemStats(&after)
	var rows []string
	for _, b := range recs {
		for i := 0; i < int(b.Record.NumCols()); i++ {
			js, err := b.Record.Column(i).MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			rows = append(rows, b.Table+"."+b.Record.ColumnName(i)+"="+string(js))
		}
		b.Record.Release()
	}
	rej.Flush(func(b hiveparquet.Batch) { b.Record.Release() })
	return after.TotalAlloc - before.TotalAlloc, rows
}

// TestColsCacheCarriesSizes: a parser made after a released one of the same
// reader starts with its column buffers sized like the last chunk, so its
// first chunk allocates far less than a fresh parser's (which grows every
// buffer from nothing), and makes the same rows.
func TestColsCacheCarriesSizes(t *testing.T) {
	lines, _ := benchChunk(t, 2<<20)
	var cache colsCache

	first := newCachedParser("f.json.gz", "export_id=x/date=2024-03-01", &cache)
	_, want := parseChunkBytes(t, first, lines)
	first.Release()
	if len(cache.free) != 1 {
		t.Fatalf("cache holds %d column sets after a release, want 1", len(cache.free))
	}

	fresh := newParser("f.json.gz", "export_id=x/date=2024-03-01")
	freshBytes, freshRows := parseChunkBytes(t, fresh, lines)
	fresh.Release()
	cached := newCachedParser("f.json.gz", "export_id=x/date=2024-03-01", &cache)
	if len(cache.free) != 0 {
		t.Fatalf("cache holds %d column sets after a get, want 0", len(cache.free))
	}
	cachedBytes, cachedRows := parseChunkBytes(t, cached, lines)
	cached.Release()

	t.Logf("first chunk: fresh parser %d bytes, cached %d bytes", freshBytes, cachedBytes)
	if cachedBytes*10 > freshBytes*7 {
		t.Errorf("cached parser allocated %d bytes on its first chunk, fresh one %d: want at most 70%%", cachedBytes, freshBytes)
	}
	for _, got := range [][]string{freshRows, cachedRows} {
		if len(got) != len(want) {
			t.Fatalf("got %d columns, want %d", len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("column %d differs:\n got %.200s\nwant %.200s", i, got[i], want[i])
			}
		}
	}
}

// TestColsCacheSkipsUnflushed: a parser released with rows not flushed
// (an aborted parse) does not hand its buffers on.
func TestColsCacheSkipsUnflushed(t *testing.T) {
	var cache colsCache
	p := newCachedParser("f", "p", &cache)
	rej := lineparse.NewRejects(Rejects(), "p", "", "f", 0)
	defer rej.Release()
	if !p.Parse([]byte(goodLine), 1, rej) {
		t.Fatal("good line rejected")
	}
	p.Release()
	if len(cache.free) != 0 {
		t.Fatalf("cache holds %d column sets of an unflushed parser, want 0", len(cache.free))
	}
	q := newCachedParser("f", "p", &cache)
	if !q.Parse([]byte(goodLine), 1, rej) {
		t.Fatal("good line rejected")
	}
	var n int64
	q.Flush(func(b hiveparquet.Batch) {
		if b.Table == UsersTable {
			n = b.Record.NumRows()
			if s := b.Record.Column(0).(*array.String).Value(0); s != "u1" {
				t.Errorf("user id %q, want u1", s)
			}
		}
		b.Record.Release()
	})
	if n != 1 {
		t.Errorf("%d user rows, want 1", n)
	}
	q.Release()
}
