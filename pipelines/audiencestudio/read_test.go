package audiencestudio

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/lzop"
	"github.com/vendorlake/vendorlake/transforms"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

// row is one output row of a request read, reduced to what tests compare.
type row struct {
	table, file string
	pos         int64
	text        string // id_value for requests, reason_code for rejects
}

// collect reads f with readRequests and returns its rows, sorted.
func collect(t *testing.T, f transforms.InputFile, opts lineparse.Options) ([]row, transforms.FileStats) {
	t.Helper()
	var rows []row
	emit := func(b hiveparquet.Batch) {
		defer b.Record.Release()
		rec := b.Record
		n := int(rec.NumRows())
		switch b.Table {
		case RequestsTable:
			ids := rec.Column(2).(*array.String)
			files := rec.Column(8).(*array.String)
			offs := rec.Column(9).(*array.Int64)
			for i := 0; i < n; i++ {
				rows = append(rows, row{b.Table, files.Value(i), offs.Value(i), ids.Value(i)})
			}
		case RequestsRejectsTable:
			files := rec.Column(0).(*array.String)
			offs := rec.Column(1).(*array.Int64)
			codes := rec.Column(2).(*array.String)
			for i := 0; i < n; i++ {
				rows = append(rows, row{b.Table, files.Value(i), offs.Value(i), codes.Value(i)})
			}
		default:
			t.Fatalf("batch for unexpected table %s", b.Table)
		}
	}
	st, err := readRequests(context.Background(), lakefs.Local{}, f, opts, emit)
	if err != nil {
		t.Fatal(err)
	}
	sortRows(rows)
	return rows, st
}

func sortRows(rows []row) {
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].pos != rows[j].pos {
			return rows[i].pos < rows[j].pos
		}
		return rows[i].table < rows[j].table
	})
}

// requestContent returns n request lines, some bad, and the offset of
// every line start.
func requestContent(seed uint64, n int) ([]byte, []int64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	var b bytes.Buffer
	var starts []int64
	for i := 0; i < n; i++ {
		starts = append(starts, int64(b.Len()))
		switch {
		case i%97 == 5:
			b.WriteString("garbage line without delimiters\n")
		case i%101 == 7:
			b.WriteString("\n")
		default:
			fmt.Fprintf(&b, "device^kxcookie^K%08d^set^gdpr^{\"dc\":%d,\"al\":1}^%d\n", i, rng.IntN(2), 1709251200000000+int64(i))
		}
	}
	return b.Bytes(), starts
}

func lzopTool(t *testing.T, content []byte, args ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath("lzop"); err != nil {
		t.Skip("lzop not installed (apt-get install lzop)")
	}
	cmd := exec.Command("lzop", append(args, "-c")...)
	cmd.Stdin = bytes.NewReader(content)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("lzop: %v: %s", err, errb.String())
	}
	return out.Bytes()
}

// writeLzop writes content compressed by lzop(1) and its index into dir.
func writeLzop(t *testing.T, dir, name string, content []byte) (string, []int64) {
	t.Helper()
	data := lzopTool(t, content)
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	index, err := lzop.BuildIndex(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var ib bytes.Buffer
	lzop.WriteIndex(&ib, index)
	if err := os.WriteFile(p+IndexSuffix, ib.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p, index
}

func inputFile(t *testing.T, p string) transforms.InputFile {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return transforms.InputFile{Path: p, Rel: "uploads/consent-data/2024-03-01/" + filepath.Base(p), Size: fi.Size(), Partition: "upload_date=2024-03-01"}
}

// readSplits reads f as n splits and returns the union of their rows and
// the per-split stats.
func readSplits(t *testing.T, f transforms.InputFile, n int, opts lineparse.Options) ([]row, []transforms.FileStats) {
	t.Helper()
	var all []row
	var stats []transforms.FileStats
	for _, s := range splitFile(f, RequestsSelection{Splits: n}) {
		rows, st := collect(t, s, opts)
		all = append(all, rows...)
		stats = append(stats, st)
	}
	sortRows(all)
	return all, stats
}

// TestSplitsEqualWhole: an lzop file made by lzop(1), read whole and cut
// into 1..9 splits by its index, gives the same rows with the same
// positions, and every position is the line's decompressed byte offset.
func TestSplitsEqualWhole(t *testing.T) {
	content, starts := requestContent(1, 40000) // ~2.7 MB: 11 lzop blocks of 256 KiB
	dir := t.TempDir()
	p, index := writeLzop(t, dir, "big.lzo", content)
	if len(index) < 5 {
		t.Fatalf("want a multi-block file, got %d blocks", len(index))
	}
	f := inputFile(t, p)
	opts := lineparse.Options{ChunkBytes: 64 << 10}
	whole, wst := collect(t, f, opts)
	// Blank lines are skipped: every other line is a row or a reject.
	var records []int64
	for i, off := range starts {
		if content[off] != '\n' {
			records = append(records, starts[i])
		}
	}
	if len(whole) != len(records) {
		t.Fatalf("whole read: %d rows for %d records", len(whole), len(records))
	}
	for i, r := range whole {
		if r.pos != records[i] {
			t.Fatalf("row %d: position %d, want line offset %d", i, r.pos, records[i])
		}
	}
	if wst.Compression != "lzop" || wst.RecordsIn != int64(len(records)) || wst.BlankLines != int64(len(starts)-len(records)) || wst.BlankLines == 0 || wst.Rejected == 0 {
		t.Fatalf("whole stats: %+v", wst)
	}
	for _, n := range []int{1, 2, 3, 5, 9, 40} {
		rows, stats := readSplits(t, f, n, opts)
		if len(rows) != len(whole) {
			t.Fatalf("%d splits: %d rows, want %d", n, len(rows), len(whole))
		}
		for i := range rows {
			if rows[i] != whole[i] {
				t.Fatalf("%d splits: row %d = %+v, whole read has %+v", n, i, rows[i], whole[i])
			}
		}
		var in, out, rej, blank, bytesIn int64
		for _, st := range stats {
			if err := st.Check(); err != nil {
				t.Fatal(err)
			}
			in, out, rej, blank, bytesIn = in+st.RecordsIn, out+st.RecordsOut, rej+st.Rejected, blank+st.BlankLines, bytesIn+st.Bytes
		}
		if in != wst.RecordsIn || out != wst.RecordsOut || rej != wst.Rejected || blank != wst.BlankLines || bytesIn != f.Size {
			t.Fatalf("%d splits: counters %d/%d/%d (%d bytes), whole read %d/%d/%d (%d bytes)", n, in, out, rej, bytesIn, wst.RecordsIn, wst.RecordsOut, wst.Rejected, f.Size)
		}
	}
}

// TestSplitsOfVendorFixture reads the lzop(1) fixture of io/lzop (its index
// made by hadoop-lzo's rule) whole and split: same positions.
func TestSplitsOfVendorFixture(t *testing.T) {
	src := "../../testdata/audiencestudio/fixtures/lzop/multiblock.lzo"
	dir := t.TempDir()
	for _, ext := range []string{"", IndexSuffix} {
		data, err := os.ReadFile(src + ext)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "multiblock.lzo"+ext), data, 0o644)
	}
	f := inputFile(t, filepath.Join(dir, "multiblock.lzo"))
	whole, _ := collect(t, f, lineparse.Options{})
	for _, n := range []int{2, 3, 4} {
		rows, _ := readSplits(t, f, n, lineparse.Options{})
		if fmt.Sprint(rows) != fmt.Sprint(whole) {
			t.Fatalf("%d splits differ from the whole read", n)
		}
	}
}

// TestPlainGzipLzopSameRows: one content as plain, gzip, lzop(1) without
// index and lzop with index gives the same rows.
func TestPlainGzipLzopSameRows(t *testing.T) {
	content, _ := requestContent(2, 3000)
	dir := t.TempDir()
	plain := filepath.Join(dir, "a.txt")
	os.WriteFile(plain, content, 0o644)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(content)
	zw.Close()
	gzp := filepath.Join(dir, "b.gz")
	os.WriteFile(gzp, gz.Bytes(), 0o644)
	lzo := filepath.Join(dir, "c.lzo")
	os.WriteFile(lzo, lzopTool(t, content, "-1"), 0o644)
	// A .txt name with lzop content: detected by magic bytes.
	disguised := filepath.Join(dir, "d.txt")
	os.WriteFile(disguised, lzopTool(t, content, "-9"), 0o644)
	split, _ := writeLzop(t, dir, "e.lzo", content)

	strip := func(rows []row) string {
		var b strings.Builder
		for _, r := range rows {
			fmt.Fprintf(&b, "%s %d %s\n", r.table, r.pos, r.text)
		}
		return b.String()
	}
	ref, st := collect(t, inputFile(t, plain), lineparse.Options{})
	if st.Compression != "plain" {
		t.Fatalf("compression %q", st.Compression)
	}
	for _, c := range []struct {
		p, kind string
		splits  int
	}{{gzp, "gzip", 0}, {lzo, "lzop", 0}, {disguised, "lzop", 0}, {split, "lzop", 3}} {
		var rows []row
		f := inputFile(t, c.p)
		if c.splits > 0 {
			rows, _ = readSplits(t, f, c.splits, lineparse.Options{})
		} else {
			rows, st = collect(t, f, lineparse.Options{})
			if st.Compression != c.kind {
				t.Errorf("%s: compression %q, want %q", c.p, st.Compression, c.kind)
			}
		}
		if strip(rows) != strip(ref) {
			t.Errorf("%s: rows differ from the plain file's", c.p)
		}
	}
}

func readErr(t *testing.T, f transforms.InputFile) error {
	t.Helper()
	_, err := readRequests(context.Background(), lakefs.Local{}, f, lineparse.Options{}, func(b hiveparquet.Batch) { b.Record.Release() })
	return err
}

// TestBadCompressedInputFails: corrupt lzop blocks, a truncated gzip and an
// index pointing outside the file fail the read with the file named.
func TestBadCompressedInputFails(t *testing.T) {
	content, _ := requestContent(3, 20000)
	dir := t.TempDir()
	p, index := writeLzop(t, dir, "x.lzo", content)
	data, _ := os.ReadFile(p)

	// Corrupt the data of the third block: whole and split reads fail.
	bad := append([]byte(nil), data...)
	for i := index[2] + 40; i < index[2]+200; i++ {
		bad[i] ^= 0x5a
	}
	os.WriteFile(p, bad, 0o644)
	f := inputFile(t, p)
	for _, s := range append([]transforms.InputFile{{Path: p, Rel: f.Rel, Size: f.Size}}, splitFile(f, RequestsSelection{Splits: 2})...) {
		if s.SplitEnd > 0 && s.SplitStart > index[2] {
			continue // the split after the damage does not read it
		}
		err := readErr(t, s)
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("corrupt lzop, split [%d,%d): error %v, want one naming %s", s.SplitStart, s.SplitEnd, err, p)
		}
	}

	// An index entry outside the file.
	os.WriteFile(p, data, 0o644)
	var ib bytes.Buffer
	lzop.WriteIndex(&ib, append(append([]int64(nil), index...), int64(len(data))+100))
	os.WriteFile(p+IndexSuffix, ib.Bytes(), 0o644)
	err := readErr(t, splitFile(f, RequestsSelection{Splits: 2})[1])
	if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "outside") {
		t.Errorf("index outside the file: error %v", err)
	}
	// An index entry inside the file that is not a block header.
	ib.Reset()
	lzop.WriteIndex(&ib, []int64{index[0], index[1] + 3, index[2]})
	os.WriteFile(p+IndexSuffix, ib.Bytes(), 0o644)
	err = readErr(t, splitFile(f, RequestsSelection{Splits: 2})[1])
	if err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("index off a block header: error %v", err)
	}

	// A truncated gzip file.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(content)
	zw.Close()
	gp := filepath.Join(dir, "y.gz")
	os.WriteFile(gp, gz.Bytes()[:gz.Len()/2], 0o644)
	if err := readErr(t, inputFile(t, gp)); err == nil || !strings.Contains(err.Error(), gp) {
		t.Errorf("truncated gzip: error %v, want one naming %s", err, gp)
	}
	// A truncated lzop file.
	lp := filepath.Join(dir, "z.lzo")
	os.WriteFile(lp, data[:len(data)/2], 0o644)
	if err := readErr(t, inputFile(t, lp)); err == nil || !strings.Contains(err.Error(), lp) {
		t.Errorf("truncated lzop: error %v, want one naming %s", err, lp)
	}
}

// TestBlocksBeforeChecksHeaders: the uncompressed length read at an index
// entry must be a plausible block length.
func TestBlocksBeforeChecksHeaders(t *testing.T) {
	var b [16]byte
	binary.BigEndian.PutUint32(b[4:], 0)
	if _, err := blocksBefore(bytes.NewReader(b[:]), 0, []int64{4}, 10); err == nil {
		t.Fatal("a zero block length passed")
	}
}

// BenchmarkReadRequests measures the read step (decompress, split lines,
// parse, build Arrow records) on an lzop file made by lzop(1), whole.
func BenchmarkReadRequests(b *testing.B) {
	t := &testing.T{}
	content, _ := requestContent(4, 200000)
	dir := b.TempDir()
	p, _ := writeLzop(t, dir, "bench.lzo", content)
	fi, _ := os.Stat(p)
	f := transforms.InputFile{Path: p, Rel: "bench.lzo", Size: fi.Size(), Partition: "upload_date=2024-03-01"}
	b.SetBytes(int64(len(content)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, err := readRequests(context.Background(), lakefs.Local{}, f, lineparse.Options{}, func(b hiveparquet.Batch) { b.Record.Release() })
		if err != nil {
			b.Fatal(err)
		}
	}
}

// noRandomAccess hides the *os.File of local opens, as an object store would.
type noRandomAccess struct{ lakefs.Local }

func (n noRandomAccess) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	rc, err := n.Local.Open(ctx, p)
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{rc, rc}, nil
}

// TestSplitsWithoutRandomAccess: splits read through ranged reads (object
// stores) give the same rows as local random access.
func TestSplitsWithoutRandomAccess(t *testing.T) {
	content, _ := requestContent(5, 20000)
	p, _ := writeLzop(t, t.TempDir(), "s3like.lzo", content)
	f := inputFile(t, p)
	for _, s := range splitFile(f, RequestsSelection{Splits: 3}) {
		local, _ := collect(t, s, lineparse.Options{})
		var remote []row
		_, err := readRequests(context.Background(), noRandomAccess{}, s, lineparse.Options{}, func(b hiveparquet.Batch) {
			defer b.Record.Release()
			if b.Table != RequestsTable {
				return
			}
			ids := b.Record.Column(2).(*array.String)
			offs := b.Record.Column(9).(*array.Int64)
			for i := 0; i < ids.Len(); i++ {
				remote = append(remote, row{b.Table, f.Rel, offs.Value(i), ids.Value(i)})
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		var localRows []row
		for _, r := range local {
			if r.table == RequestsTable {
				localRows = append(localRows, r)
			}
		}
		sortRows(remote)
		if fmt.Sprint(remote) != fmt.Sprint(localRows) || len(remote) == 0 {
			t.Fatalf("split [%d, %d): %d rows through ranged reads, %d locally", s.SplitStart, s.SplitEnd, len(remote), len(localRows))
		}
	}
}

// TestFeedTruncatedGzipFails: a truncated feed file fails its read, named.
func TestFeedTruncatedGzipFails(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(zw, "{\"TS\":\"%d\",\"KUID\":\"LIDa_CtQ\",\"QS\":\"?_kpid=%d\"}\n", 1518036361+i, i)
	}
	zw.Close()
	root := t.TempDir()
	rel := "portability/R1/2024-03-02/pixel.gif/LIDa_CtQ/LIDa_CtQ"
	p := filepath.Join(root, filepath.FromSlash(rel))
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.WriteFile(p, gz.Bytes()[:gz.Len()*2/3], 0o644)
	f := transforms.InputFile{Path: p, Rel: rel, Size: int64(gz.Len() * 2 / 3), Partition: "x=1"}
	_, err := readPortability(context.Background(), lakefs.Local{}, f, lineparse.Options{}, func(b hiveparquet.Batch) { b.Record.Release() })
	if err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("error %v, want one naming %s", err, p)
	}
}

// TestRequestFileWithBOM: a UTF-8 byte-order mark at the start of a request
// file (spreadsheet exports write one) is dropped, in plain, gzip and lzop
// files made by Debian's gzip and lzop, and in lzop splits: the first line
// is a row at offset 0, not a reject, and every other offset is unchanged.
func TestRequestFileWithBOM(t *testing.T) {
	const fixtures = "../../testdata/audiencestudio/fixtures/bom"
	want := fmt.Sprint([]row{
		{RequestsTable, "", 0, "abcdef123"},
		{RequestsTable, "", 66, "6D92078A-8246-4BA4-AE5B-76104861E7DC"},
		{RequestsTable, "", 130, "f660ab912ec121d1b1e928a0bb4bc61b15f5ad44d5efdc4e1c92a25e99b8e44a"},
	})
	for _, c := range []struct{ name, kind string }{
		{"requests-bom.txt", "plain"}, {"requests-bom.txt.gz", "gzip"}, {"requests-bom.lzo", "lzop"},
	} {
		rows, st := collect(t, inputFile(t, filepath.Join(fixtures, c.name)), lineparse.Options{})
		for i := range rows {
			rows[i].file = ""
		}
		if got := fmt.Sprint(rows); got != want || st.Compression != c.kind {
			t.Errorf("%s (%s):\n%s\nwant (%s)\n%s", c.name, st.Compression, got, c.kind, want)
		}
	}

	// Splits: only the split at offset 0 sees the mark.
	content, _ := requestContent(3, 12000) // ~0.8 MB: 3 lzop blocks of 256 KiB
	bom := append([]byte{0xEF, 0xBB, 0xBF}, content...)
	dir := t.TempDir()
	p, index := writeLzop(t, dir, "bom.lzo", bom)
	if len(index) < 3 {
		t.Fatalf("%d lzop blocks, want several", len(index))
	}
	rows, _ := readSplits(t, inputFile(t, p), 3, lineparse.Options{})
	if len(rows) == 0 || rows[0].table != RequestsTable || rows[0].pos != 0 || rows[0].text != "K00000000" {
		t.Fatalf("first row of the split read: %+v", rows[:min(len(rows), 1)])
	}
	whole, _ := collect(t, inputFile(t, p), lineparse.Options{})
	if fmt.Sprint(rows) != fmt.Sprint(whole) {
		t.Errorf("split read differs from the whole read")
	}
	// A mark anywhere else is data: a line that starts with one is rejected.
	later := append(append([]byte(goodRequest+"\n"), 0xEF, 0xBB, 0xBF), []byte(goodRequest+"\n")...)
	lp := filepath.Join(dir, "later.txt")
	if err := os.WriteFile(lp, later, 0o644); err != nil {
		t.Fatal(err)
	}
	rows, _ = collect(t, inputFile(t, lp), lineparse.Options{})
	if len(rows) != 2 || rows[0].table != RequestsTable || rows[1].table != RequestsRejectsTable || rows[1].pos != int64(len(goodRequest)+1) {
		t.Errorf("mark after the first line: %+v", rows)
	}
}

// TestFeedBKColumns: the {bk} of a feed file's path lands in bridge_key,
// bk_raw and kuid_path by the document's rule, and a bridge key that does
// not decode to text keeps its records, with a warning.
func TestFeedBKColumns(t *testing.T) {
	root := t.TempDir()
	for _, c := range []struct {
		bk, kuid                   string
		bridgeKey, bkRaw, kuidPath string
		warnings                   string
	}{
		{"LIDa_CtQ", "LIDa_CtQ", "<null>", "LIDa_CtQ", "LIDa_CtQ", "[]"},
		{"Pz8/Pj4+", "LIDa_CtQ", "???>>>", "Pz8/Pj4+", "<null>", "[]"},
		{"c29tZW9uZUBleGFtcGxlLmNvbQ", "LIDa_CtQ", "someone@example.com", "c29tZW9uZUBleGFtcGxlLmNvbQ", "<null>", "[]"},
		{"Lx14Qph3", "LIDa_CtQ", "<null>", "Lx14Qph3", "<null>", "[{bridge_key_not_text 1}]"},
	} {
		rel := "portability/R1/2024-03-02/pixel.gif/" + c.bk + "/" + c.kuid
		p := filepath.Join(root, filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(goodFeed+"\n"+goodFeed+"\n"), 0o644)
		f := transforms.InputFile{Path: p, Rel: rel, Size: int64(2*len(goodFeed) + 2), Partition: "x=1"}
		var got []string
		emit := func(b hiveparquet.Batch) {
			defer b.Record.Release()
			if b.Table != PortabilityTable {
				t.Errorf("%s: batch for %s", rel, b.Table)
				return
			}
			col := func(name string) string {
				idx := b.Record.Schema().FieldIndices(name)
				a := b.Record.Column(idx[0]).(*array.String)
				if a.IsNull(0) {
					return "<null>"
				}
				return a.Value(0)
			}
			got = append(got, col("bridge_key"), col("bk_raw"), col("kuid_path"), col("kuid_file"))
		}
		st, err := readPortability(context.Background(), lakefs.Local{}, f, lineparse.Options{}, emit)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{c.bridgeKey, c.bkRaw, c.kuidPath, c.kuid}
		if fmt.Sprint(got) != fmt.Sprint(want) || st.RecordsOut != 2 || fmt.Sprint(st.Warnings) != c.warnings {
			t.Errorf("%s: columns %q, %d rows, warnings %v; want %q, 2 rows, %s", rel, got, st.RecordsOut, st.Warnings, want, c.warnings)
		}
	}
}
