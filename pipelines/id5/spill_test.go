package id5

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/lakestate"
	"github.com/vendorlake/vendorlake/pipelines/run"
	"github.com/vendorlake/vendorlake/transforms"
)

func TestShardLayout(t *testing.T) {
	for _, c := range []struct {
		rows, shardRows  int64
		groups           int
		shards, perGroup int
	}{
		{rows: 0, shardRows: 100, groups: 4, shards: 1, perGroup: 1},
		{rows: 100, shardRows: 100, groups: 4, shards: 1, perGroup: 1},
		{rows: 101, shardRows: 100, groups: 4, shards: 2, perGroup: 1},
		{rows: 1000, shardRows: 100, groups: 4, shards: 10, perGroup: 3},
		{rows: 1000, shardRows: 100, groups: 10, shards: 10, perGroup: 1},
		{rows: 1000, shardRows: 100, groups: 0, shards: 10, perGroup: 1},
		{rows: 3 * DefaultShardRows, shardRows: 0, groups: 2, shards: 3, perGroup: 2},
		{rows: 1000 * DefaultShardRows, shardRows: 0, groups: 0, shards: 1000, perGroup: 4},
	} {
		shards, per := shardLayout(c.rows, c.shardRows, c.groups)
		if shards != c.shards || per != c.perGroup {
			t.Errorf("shardLayout(%d, %d, %d) = %d, %d; want %d, %d", c.rows, c.shardRows, c.groups, shards, per, c.shards, c.perGroup)
		}
		if groups := (shards + per - 1) / per; c.groups > 0 && groups > c.groups {
			t.Errorf("shardLayout(%d, %d, %d): %d groups", c.rows, c.shardRows, c.groups, groups)
		}
	}
}

func TestShardOf(t *testing.T) {
	const n, rows = 16, 32000
	counts := make([]int, n)
	for i := range rows {
		s := shardOf(int32(i%3+1), fmt.Sprintf("%08x-uid", i), n)
		if s < 0 || s >= n {
			t.Fatalf("shard %d of %d", s, n)
		}
		counts[s]++
	}
	for s, c := range counts {
		if c < rows/n*8/10 || c > rows/n*12/10 {
			t.Errorf("shard %d has %d of %d rows: %v", s, c, rows, counts)
		}
	}
	if a, b := shardOf(45, "abc", 1000), shardOf(45, "abc", 1000); a != b {
		t.Errorf("shardOf is not deterministic: %d, %d", a, b)
	}
}

// testCandidate is a candidate row of TestShardMerge.
type testCandidate struct {
	partner   int32
	uid, puid string
	gvlid     int32
	at        int64
	file      string
	line      int64
}

// TestShardMerge spills candidates over several shards and spill files,
// merges every shard, and checks the winners against a brute-force latest
// candidate per (partner, UID): ties on time go to the greater file, then
// the greater line; UIDs share 8-byte prefixes or are prefixes of each
// other. Many shards and one shard must give the same rows; batches hold
// one partner and stay within the writer's bounds.
func TestShardMerge(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 9))
	uids := []string{"", "a", "ab", "abcdefgh", "abcdefgh1", "abcdefgh2", "abcdefgi", "zzzzzzzzzzzz"}
	for i := range 300 {
		uids = append(uids, fmt.Sprintf("%08d-%d", r.IntN(100), i%7))
	}
	files := []string{"full-extracts/x.csv", "incremental/a.csv", "incremental/b.csv"}
	var cands []testCandidate
	for i := range 3000 {
		cands = append(cands, testCandidate{
			partner: []int32{20, 45, 109}[r.IntN(3)], uid: uids[r.IntN(len(uids))], puid: "p" + strconv.Itoa(i),
			gvlid: int32(r.IntN(3)), at: int64(r.IntN(4)), file: files[r.IntN(len(files))], line: int64(r.IntN(5)),
		})
	}
	// The brute force: the latest (time, file, line) of each key; on a
	// complete tie, the first one seen (the merge's choice is then any of
	// them, which have the same key and order fields).
	type key struct {
		partner int32
		uid     string
	}
	latest := map[key]testCandidate{}
	for _, c := range cands {
		k := key{c.partner, c.uid}
		o, ok := latest[k]
		if !ok || c.at > o.at || (c.at == o.at && (c.file > o.file || (c.file == o.file && c.line > o.line))) {
			latest[k] = c
		}
	}
	var want []testCandidate
	for _, c := range latest {
		want = append(want, c)
	}
	order := func(a, b testCandidate) int {
		if a.partner != b.partner {
			return int(a.partner - b.partner)
		}
		switch {
		case a.uid < b.uid:
			return -1
		case a.uid > b.uid:
			return 1
		}
		return 0
	}
	slices.SortFunc(want, order)

	ctx := context.Background()
	for _, c := range []struct {
		name                  string
		shards, spills        int
		batchRows, bufferRows int
	}{
		{name: "one shard, one spill file", shards: 1, spills: 1, batchRows: currentBatchRows, bufferRows: currentBufferRows},
		{name: "3 shards, 2 spill files", shards: 3, spills: 2, batchRows: 100, bufferRows: 150},
		{name: "16 shards, 5 spill files", shards: 16, spills: 5, batchRows: 7, bufferRows: 10},
		{name: "64 shards, 1 spill file", shards: 64, spills: 1, batchRows: 1, bufferRows: 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			fsys := lakefs.Local{}
			// segs[shard] are the shard's segments over all spill files.
			segs := make([][]spillSegment, c.shards)
			per := (len(cands) + c.spills - 1) / c.spills
			for i := 0; i < c.spills; i++ {
				buf := newSpillBuffer(c.shards)
				for _, x := range cands[i*per : min((i+1)*per, len(cands))] {
					buf.add(x.partner, x.uid, x.puid, x.gvlid, x.at, buf.file(x.file), x.line)
				}
				p := filepath.Join(dir, fmt.Sprintf("spill-%d.arrows", i))
				offsets, lengths, rows, err := writeSpill(ctx, fsys, p, buf)
				buf.release()
				if err != nil {
					t.Fatal(err)
				}
				for s := range c.shards {
					if lengths[s] > 0 {
						segs[s] = append(segs[s], spillSegment{Path: p, Offset: offsets[s], Length: lengths[s], Rows: rows[s]})
					}
				}
			}
			var got []testCandidate
			batches := 0
			out := newCurrentWriter(func(b hiveparquet.Batch) {
				defer b.Record.Release()
				batches++
				if b.Table != BaseTable || int(b.Record.NumRows()) > c.batchRows {
					t.Errorf("batch of %s with %d rows (batches of at most %d)", b.Table, b.Record.NumRows(), c.batchRows)
				}
				p, err := strconv.ParseInt(b.Partition[len("partner_gvlid="):], 10, 32)
				if err != nil {
					t.Fatalf("partition %q", b.Partition)
				}
				rec := b.Record
				for i := 0; i < int(rec.NumRows()); i++ {
					got = append(got, testCandidate{partner: int32(p),
						uid:   rec.Column(0).(*array.String).Value(i),
						puid:  rec.Column(1).(*array.String).Value(i),
						gvlid: rec.Column(2).(*array.Int32).Value(i),
						at:    int64(rec.Column(3).(*array.Timestamp).Value(i)),
						file:  rec.Column(4).(*array.String).Value(i),
						line:  rec.Column(5).(*array.Int64).Value(i)})
				}
			})
			out.batchRows, out.bufferRows = c.batchRows, c.bufferRows
			fn := &mergeFn{lakeStore: lakeStore{fs: fsys}}
			for s := range c.shards {
				if err := fn.merge(ctx, segs[s], out); err != nil {
					t.Fatal(err)
				}
			}
			out.finish()
			out.release()
			slices.SortStableFunc(got, order)
			if len(got) != len(want) {
				t.Fatalf("%d winners, want %d", len(got), len(want))
			}
			for i := range want {
				g, w := got[i], want[i]
				if g.partner != w.partner || g.uid != w.uid || g.at != w.at || g.file != w.file || g.line != w.line {
					t.Fatalf("winner %d: got %+v, want %+v", i, g, w)
				}
				if g.puid != w.puid && !(g.at == w.at && g.file == w.file && g.line == w.line) {
					t.Fatalf("winner %d: got %+v, want %+v", i, g, w)
				}
			}
			if c.batchRows == 1 && batches != len(want) {
				t.Errorf("%d batches of one row for %d rows", batches, len(want))
			}
		})
	}
}

// TestShardedRebuild rebuilds id5_mapping_current of a generated history
// with one shard and with many (one or several per group, small spill
// buffers, so many spill files; on prism too): the table is the same, and
// the model's, every time, and no spill file is left behind.
func TestShardedRebuild(t *testing.T) {
	files := genHistory(2)
	in, out := t.TempDir(), t.TempDir()
	for _, f := range files {
		if err := writeFile(filepath.Join(in, filepath.FromSlash(f.rel)), f.data); err != nil {
			t.Fatal(err)
		}
	}
	snappy := func(o *run.Options) { o.Write.Compression = "snappy" }
	execute(t, in, out, false, snappy)
	want := wantCurrent(t, in)
	if len(want) < 500 {
		t.Fatalf("only %d current rows: the history is too thin to test much", len(want))
	}
	ctx := context.Background()
	for _, c := range []struct {
		name       string
		runner     string
		shardRows  int64
		groups     int
		spillBytes int64
		minShards  int
	}{
		{name: "one shard", runner: "direct", shardRows: 1 << 40, groups: 1},
		{name: "many shards, one per group", runner: "direct", shardRows: 37, groups: 1000, minShards: 20},
		{name: "many shards, 3 groups", runner: "direct", shardRows: 37, groups: 3, minShards: 20},
		{name: "many shards and spill files", runner: "direct", shardRows: 50, groups: 4, spillBytes: 2 << 10, minShards: 20},
		{name: "prism", runner: "prism", shardRows: 100, groups: 2, spillBytes: 8 << 10, minShards: 5},
	} {
		t.Run(c.name, func(t *testing.T) {
			cur := &Current{Lake: out, ShardRows: c.shardRows, MergeGroups: c.groups, spillBytes: c.spillBytes}
			o := run.Options{Input: in, Output: out, Runner: c.runner, MaxRejectRatio: 1, Reprocess: true}
			snappy(&o)
			rep, err := run.Execute(ctx, cur, o)
			if err != nil || rep.Status != transforms.StatusCommitted {
				t.Fatalf("run.Execute: %v (status %s)", err, rep.Status)
			}
			var rows, candidates int64
			for _, st := range rep.Inputs {
				rows += st.RecordsIn
				for _, n := range st.Rows {
					if n.Name == "candidates" {
						candidates += n.N
					}
				}
			}
			if shards, _ := shardLayout(rows, c.shardRows, c.groups); shards < c.minShards {
				t.Fatalf("%d shards for %d rows, want at least %d", shards, rows, c.minShards)
			}
			if candidates < int64(len(want)) {
				t.Errorf("%d candidates for %d current rows", candidates, len(want))
			}
			got := currentRows(t, out)
			if !slices.EqualFunc(got, want, func(a, b CurrentRow) bool { return a.UpdatedAt.Equal(b.UpdatedAt) && sameButTime(a, b) }) {
				checkCurrentTable(t, in, out) // reports the differences
			}
			tmp, err := lakefs.Local{}.List(ctx, lakestate.TempRoot(out, CurrentName))
			if err != nil || len(tmp) != 0 {
				t.Errorf("left in the temporary area: %v %v", tmp, err)
			}
		})
	}
}

// TestCurrentNeedsRunID: without a run ID there is no place for the spill
// files; with one, they go into that run's temporary area.
func TestCurrentNeedsRunID(t *testing.T) {
	_, err := (&Current{Lake: t.TempDir()}).Discover(context.Background(), run.Env{}, nil, nil)
	if err == nil {
		t.Fatal("Discover without a run ID: no error")
	}
	c := &Current{Lake: "/lake"}
	if got := c.spillDir("R1"); got != filepath.Join(lakestate.TempDir("/lake", CurrentName, "R1"), spillDirName) {
		t.Errorf("spill folder %s", got)
	}
}

// TestSpillSegmentChecks: a reference whose rows do not match, or a file
// that is not a spill, is an error, not a wrong table.
func TestSpillSegmentChecks(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	buf := newSpillBuffer(1)
	buf.add(45, "u1", "p1", 35, 1, buf.file("f"), 2)
	p := filepath.Join(dir, "s.arrows")
	offsets, lengths, rows, err := writeSpill(ctx, lakefs.Local{}, p, buf)
	buf.release()
	if err != nil {
		t.Fatal(err)
	}
	seg := spillSegment{Path: p, Offset: offsets[0], Length: lengths[0], Rows: rows[0]}
	recs, err := readSegment(ctx, lakefs.Local{}, seg)
	if err != nil || len(recs) != 1 || recs[0].rec.NumRows() != 1 || recs[0].files[recs[0].file[0]] != "f" {
		t.Fatalf("readSegment: %v, %d records", err, len(recs))
	}
	for _, r := range recs {
		r.rec.Release()
	}
	bad := seg
	bad.Rows = 2
	if _, err := readSegment(ctx, lakefs.Local{}, bad); err == nil {
		t.Error("a segment with fewer rows than its reference: no error")
	}
	junk := filepath.Join(dir, "junk")
	if err := os.WriteFile(junk, []byte("not arrow at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readSegment(ctx, lakefs.Local{}, spillSegment{Path: junk, Length: 16, Rows: 1}); err == nil {
		t.Error("a file that is no spill: no error")
	}
}
