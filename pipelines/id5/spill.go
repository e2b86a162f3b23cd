package id5

// The bounded-memory rebuild of id5_mapping_current (see Current): an
// external hash partition of the candidate rows through the run's temporary
// area, then an in-memory merge of one shard at a time.
//
// Shards and groups. A candidate belongs to shard hash(partner, UID) mod S;
// S is set from the lake's row counts so that a shard holds about ShardRows
// rows. Consecutive shards form groups (at most MergeGroups of them), the
// keys of the one GroupByKey: a group is merged by one DoFn call, shard
// after shard, so the merges in memory at once are at most the groups
// processed at once, and the references that go through the GroupByKey are
// one per spill file and group, not one per shard.
//
// Spill files. A spill DoFn buffers the candidates of its bundle, one Arrow
// builder per shard, up to BufferBytes; then it writes one spill file,
// BUNDLE-NNNNN.arrows, holding one Arrow IPC stream (a segment) per shard
// that has rows, in shard order, and emits (group, reference) for each
// group with rows: the file, where the group's first segment starts, and
// each shard's segment length and rows. Segments carry the source file as
// an index into a table kept in their schema metadata, so a row is a few
// fixed-width values and its two UIDs. Names are unique per bundle attempt:
// a retried bundle writes new files, and only the references of bundles
// that completed reach the merge (as with hiveparquet.Write), so a failed
// attempt's files are never read; they go with the run's temporary area
// like every other leftover.
//
// Merge. A shard's segments are read back whole (their Arrow buffers hold
// no Go pointers, so the garbage collector does not scan them), indexed by
// a 24-byte entry per row, sorted by (partner, UID, delivery order), and the
// last row of each (partner, UID) wins. Memory is the shard's rows, about
// 100 bytes each for ID5's UUIDs, plus the output batches, whatever the
// size of the lake.

import (
	"bufio"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/google/uuid"

	"github.com/vendorlake/vendorlake/io/faults"
	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/transforms"
)

// DefaultShardRows is the default of Current.ShardRows: about 30 MB of
// memory per shard being merged with ID5's UUIDs.
const DefaultShardRows = 256 << 10

// DefaultMergeGroups is the default of Current.MergeGroups.
const DefaultMergeGroups = 256

const (
	// spillBufferBytes bounds the candidates (their string bytes plus 40
	// bytes of fixed-width values and offsets each) that a spill DoFn
	// buffers before it writes a spill file.
	spillBufferBytes = 16 << 20
	// currentBufferRows bounds the output rows a merge buffers over all
	// partners; beyond it the partner with the most rows is flushed.
	currentBufferRows = 2 * currentBatchRows
	// spillDirName is the folder of the spill files in the run's
	// temporary area.
	spillDirName = "_id5_current"
	// spillFilesKey is the schema metadata key of a segment's table of
	// source files (a JSON array; the file column indexes it).
	spillFilesKey = "vendorlake.source_files"
	// footerReaders is how many Parquet footers Discover reads at once.
	footerReaders = 8
)

// spillRefCoder keeps spillRef (slice fields) opaque to Java runners; see
// transforms.RowCoder.
var spillRefCoder = transforms.NewRowCoder[spillRef]()

func encodeSpillRef(r spillRef) ([]byte, error) { return spillRefCoder.Encode(r) }
func decodeSpillRef(b []byte) (spillRef, error) { return spillRefCoder.Decode(b) }

func init() {
	beam.RegisterCoder(reflect.TypeOf((*spillRef)(nil)).Elem(), encodeSpillRef, decodeSpillRef)
	register.DoFn4x1[context.Context, transforms.InputFile, func(int, spillRef), func(transforms.FileStats), error](&spillFn{})
	register.Emitter2[int, spillRef]()
	register.Function1x2[int, int, spillRef](groupMarker)
	register.DoFn5x1[context.Context, int, func(*spillRef) bool, func(hiveparquet.Batch), func(int), error](&mergeFn{})
	register.Iter1[spillRef]()
	register.Emitter1[int]()
	register.DoFn3x1[transforms.FileStats, func(*int) bool, func(transforms.FileStats), error](&shardsDoneFn{})
	register.Iter1[int]()
}

// Columns of a spill segment.
const (
	spPartner = iota
	spUID
	spPartnerUID
	spSourceGVLID
	spAt
	spFile
	spLine
)

// spillSchema is the schema of spill segments; md holds the table of
// source files.
func spillSchema(md *arrow.Metadata) *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "partner_gvlid", Type: i32},
		{Name: "uid", Type: str},
		{Name: "partner_uid", Type: str},
		{Name: "source_gvlid", Type: i32},
		{Name: "at_us", Type: i64},
		{Name: "file", Type: i32},
		{Name: "source_line", Type: i64},
	}, md)
}

// spillRef references the segments of one group's shards in the spill
// file Name (in the spill folder): the segment of the group's i-th shard is
// Lengths[i] bytes (0 when the shard has no rows) holding Rows[i] rows, and
// the segments follow each other from Offset. A reference without Name is
// a group's marker: it only makes sure that the group is merged.
type spillRef struct {
	Name    string  `json:"name"`
	Offset  int64   `json:"offset"`
	Lengths []int64 `json:"lengths"`
	Rows    []int64 `json:"rows"`
}

// groupMarker keys the empty reference of a group.
func groupMarker(group int) (int, spillRef) { return group, spillRef{} }

// spillSegment locates the rows of one shard in a spill file: an Arrow IPC
// stream of Length bytes at Offset.
type spillSegment struct {
	Path   string
	Offset int64
	Length int64
	Rows   int64
}

// shardLayout is the number of shards for rows candidate rows, about
// shardRows (DefaultShardRows when zero) each, and the number of shards per
// group so that there are at most groups (DefaultMergeGroups when zero)
// groups.
func shardLayout(rows, shardRows int64, groups int) (shards, perGroup int) {
	if shardRows <= 0 {
		shardRows = DefaultShardRows
	}
	if groups <= 0 {
		groups = DefaultMergeGroups
	}
	shards = int(min(max((rows+shardRows-1)/shardRows, 1), math.MaxInt32))
	groups = min(groups, shards)
	return shards, (shards + groups - 1) / groups
}

// shardOf returns the shard of (partner, uid) among n: FNV-1a over the UID
// and the partner, finished by MurmurHash3's mixer, then reduced to [0, n)
// by multiplication. It must never change within a run (every spill DoFn,
// on every worker, must agree).
func shardOf(partner int32, uid string, n int) int {
	h := uint64(14695981039346656037)
	for i := 0; i < len(uid); i++ {
		h ^= uint64(uid[i])
		h *= 1099511628211
	}
	h ^= uint64(uint32(partner))
	h *= 1099511628211
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return int((h >> 32) * uint64(n) >> 32)
}

// parquetRows sums the row counts in the footers of files, reading
// footerReaders of them at once.
func parquetRows(ctx context.Context, fsys lakefs.FS, files []lakefs.FileInfo) (int64, error) {
	counts := make([]int64, len(files))
	errs := make([]error, len(files))
	sem := make(chan struct{}, footerReaders)
	var wg sync.WaitGroup
	for i, fi := range files {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			pf, err := file.NewParquetReader(&rangeReader{ctx: ctx, fs: fsys, path: fi.Path, size: fi.Size})
			if err != nil {
				errs[i] = fmt.Errorf("read parquet footer %s: %w", fi.Path, err)
				return
			}
			counts[i] = pf.NumRows()
			pf.Close()
		}()
	}
	wg.Wait()
	var n int64
	for _, c := range counts {
		n += c
	}
	return n, errors.Join(errs...)
}

// bytesOf returns the bytes of s without copying them, for builders that
// copy what they are given; they must not be modified.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// spillShard is the builder of one shard's buffered candidates.
type spillShard struct {
	rb      *array.RecordBuilder
	partner *array.Int32Builder
	uid     *array.StringBuilder
	puid    *array.StringBuilder
	gvlid   *array.Int32Builder
	at      *array.Int64Builder
	file    *array.Int32Builder
	line    *array.Int64Builder
}

func newSpillShard() *spillShard {
	rb := array.NewRecordBuilder(memory.DefaultAllocator, spillSchema(nil))
	return &spillShard{rb: rb,
		partner: rb.Field(spPartner).(*array.Int32Builder),
		uid:     rb.Field(spUID).(*array.StringBuilder),
		puid:    rb.Field(spPartnerUID).(*array.StringBuilder),
		gvlid:   rb.Field(spSourceGVLID).(*array.Int32Builder),
		at:      rb.Field(spAt).(*array.Int64Builder),
		file:    rb.Field(spFile).(*array.Int32Builder),
		line:    rb.Field(spLine).(*array.Int64Builder),
	}
}

// spillBuffer holds a bundle's candidates until they are written out: one
// builder per shard, and the table of the source files they come from.
type spillBuffer struct {
	shards  []*spillShard // nil until the shard has a row
	files   []string
	fileIdx map[string]int32
	rows    int64
	bytes   int64
}

func newSpillBuffer(shards int) *spillBuffer {
	return &spillBuffer{shards: make([]*spillShard, shards), fileIdx: map[string]int32{}}
}

// file returns the index of the source file name in the buffer's table.
func (b *spillBuffer) file(name string) int32 {
	if i, ok := b.fileIdx[name]; ok {
		return i
	}
	name = strings.Clone(name)
	i := int32(len(b.files))
	b.files = append(b.files, name)
	b.fileIdx[name] = i
	return i
}

// add buffers one candidate; file is an index from b.file.
func (b *spillBuffer) add(partner int32, uid, puid string, gvlid int32, at int64, file int32, line int64) {
	shard := shardOf(partner, uid, len(b.shards))
	s := b.shards[shard]
	if s == nil {
		s = newSpillShard()
		b.shards[shard] = s
	}
	s.partner.Append(partner)
	s.uid.BinaryBuilder.Append(bytesOf(uid))
	s.puid.BinaryBuilder.Append(bytesOf(puid))
	s.gvlid.Append(gvlid)
	s.at.Append(at)
	s.file.Append(file)
	s.line.Append(line)
	b.rows++
	b.bytes += int64(len(uid)+len(puid)) + 40
}

// release frees the builders.
func (b *spillBuffer) release() {
	for _, s := range b.shards {
		if s != nil {
			s.rb.Release()
		}
	}
}

// countingWriter counts the bytes written through it; it has no Close, so
// that an IPC writer's Close cannot close the file under it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// writeSpill writes the buffer to a new spill file at p, one IPC stream per
// shard with rows, in shard order, and returns each shard's offset, length
// and rows (zero lengths for shards without rows). The file is complete
// (closed) when it returns without error.
func writeSpill(ctx context.Context, fsys lakefs.FS, p string, b *spillBuffer) (offsets, lengths, rows []int64, _ error) {
	filesJSON, err := json.Marshal(b.files)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("spill %s: %w", p, err)
	}
	md := arrow.NewMetadata([]string{spillFilesKey}, []string{string(filesJSON)})
	schema := spillSchema(&md)
	w, err := fsys.Create(ctx, p)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("spill: %w", err)
	}
	cw := &countingWriter{w: w}
	n := len(b.shards)
	offsets, lengths, rows = make([]int64, n), make([]int64, n), make([]int64, n)
	for shard, s := range b.shards {
		offsets[shard] = cw.n
		if s == nil || s.uid.Len() == 0 {
			continue
		}
		rec := s.rb.NewRecord()
		err := writeSegment(cw, schema, rec)
		rows[shard] = rec.NumRows()
		rec.Release()
		if err != nil {
			return nil, nil, nil, lakefs.Abort(w, fmt.Errorf("spill %s: shard %d: %w", p, shard, err))
		}
		lengths[shard] = cw.n - offsets[shard]
	}
	faults.Hit(ctx, "current.spill")
	if err := w.Close(); err != nil {
		return nil, nil, nil, fmt.Errorf("spill: %w", err)
	}
	return offsets, lengths, rows, nil
}

// writeSegment writes rec as one Arrow IPC stream with schema (rec's columns,
// schema's metadata).
func writeSegment(w io.Writer, schema *arrow.Schema, rec arrow.Record) error {
	out := array.NewRecord(schema, rec.Columns(), rec.NumRows())
	defer out.Release()
	iw := ipc.NewWriter(w, ipc.WithSchema(schema), ipc.WithLZ4())
	if err := iw.Write(out); err != nil {
		iw.Close()
		return err
	}
	return iw.Close()
}

// spillFn reads one Parquet file of id5_mapping_updates or
// id5_full_extracts and spills the rows that can still win, by shard (see
// the comment at the top of this file). It emits (group, reference) for
// every group of every spill file it wrote, and one FileStats per file.
type spillFn struct {
	Lake        string         `json:"lake"`
	FS          lakefs.Options `json:"fs"`
	View        []ExtractRef   `json:"view"`
	Dir         string         `json:"dir"`
	Shards      int            `json:"shards"`
	PerGroup    int            `json:"per_group"`
	BufferBytes int64          `json:"buffer_bytes"`

	fs     lakefs.FS
	newest map[int32]ExtractRef
	bundle string
	seq    int
	buf    *spillBuffer
}

func (fn *spillFn) Setup(ctx context.Context) error {
	var err error
	fn.fs, err = lakefs.New(ctx, fn.Lake, fn.FS)
	fn.newest = make(map[int32]ExtractRef, len(fn.View))
	for _, e := range fn.View {
		fn.newest[e.Partner] = e
	}
	return err
}

func (fn *spillFn) StartBundle(_ context.Context, _ func(int, spillRef), _ func(transforms.FileStats)) {
	fn.bundle = uuid.NewString()
	fn.seq = 0
	fn.buf = newSpillBuffer(max(fn.Shards, 1))
}

func (fn *spillFn) ProcessElement(ctx context.Context, f transforms.InputFile, emit func(int, spillRef), emitStats func(transforms.FileStats)) error {
	table, _, _ := strings.Cut(f.Rel, "/")
	full := table == ExtractsTable
	if !full && table != UpdatesTable {
		return fmt.Errorf("id5 current: %s is not a file of %s or %s", f.Rel, UpdatesTable, ExtractsTable)
	}
	want := UpdatesSchema()
	if full {
		want = ExtractsSchema()
	}
	var in, kept int64
	err := readParquet(ctx, fn.fs, f.Path, f.Size, func(rec arrow.Record) error {
		if err := sameColumns(rec.Schema(), want); err != nil {
			return fmt.Errorf("id5 current: %s: %w", f.Rel, err)
		}
		uid := rec.Column(colUID).(*array.String)
		src := rec.Column(colSourceGVLID).(*array.Int32)
		pg := rec.Column(colPartnerGVLID).(*array.Int32)
		puid := rec.Column(colPartnerUID).(*array.String)
		at := rec.Column(colAt).(*array.Timestamp)
		sf := rec.Column(colSourceFile).(*array.String)
		line := rec.Column(colSourceLine).(*array.Int64)
		lastFile, lastIdx := "", int32(-1)
		for i := 0; i < int(rec.NumRows()); i++ {
			in++
			p, t := pg.Value(i), int64(at.Value(i))
			e, hasExtract := fn.newest[p]
			if full {
				if !hasExtract || sf.Value(i) != e.SourceFile {
					continue // an older extract: replaced by the newest
				}
			} else if hasExtract && t <= e.At {
				continue // already contained in (or undone by) the newest extract
			}
			if name := sf.Value(i); lastIdx < 0 || name != lastFile {
				lastIdx = fn.buf.file(name)
				lastFile = fn.buf.files[lastIdx]
			}
			kept++
			fn.buf.add(p, uid.Value(i), puid.Value(i), src.Value(i), t, lastIdx, line.Value(i))
		}
		if fn.buf.bytes >= fn.BufferBytes {
			return fn.flush(ctx, emit)
		}
		return nil
	})
	if err != nil {
		return err
	}
	emitStats(transforms.FileStats{Rel: f.Rel, Unit: f.Unit, Compression: "parquet", Bytes: f.Size,
		RecordsIn: in, RecordsOut: in, Rows: []transforms.Count{{Name: "candidates", N: kept}}})
	return nil
}

// flush writes the buffer to a new spill file and emits its references.
func (fn *spillFn) flush(ctx context.Context, emit func(int, spillRef)) error {
	if fn.buf.rows == 0 {
		return nil
	}
	fn.seq++
	name := fmt.Sprintf("%s-%05d.arrows", fn.bundle, fn.seq)
	offsets, lengths, rows, err := writeSpill(ctx, fn.fs, lakefs.Join(fn.Dir, name), fn.buf)
	fn.buf.release()
	fn.buf = newSpillBuffer(max(fn.Shards, 1))
	if err != nil {
		return fmt.Errorf("id5 current: %w", err)
	}
	per := max(fn.PerGroup, 1)
	for first := 0; first < len(rows); first += per {
		end := min(first+per, len(rows))
		var n int64
		for _, r := range rows[first:end] {
			n += r
		}
		if n > 0 {
			emit(first/per, spillRef{Name: name, Offset: offsets[first], Lengths: lengths[first:end], Rows: rows[first:end]})
		}
	}
	return nil
}

func (fn *spillFn) FinishBundle(ctx context.Context, emit func(int, spillRef), _ func(transforms.FileStats)) error {
	return fn.flush(ctx, emit)
}

// spillRows is one record of a segment read back, with its columns typed.
type spillRows struct {
	rec     arrow.Record
	partner []int32
	uid     *array.String
	puid    *array.String
	gvlid   []int32
	at      []int64
	file    []int32
	line    []int64
	files   []string
}

// readSegment reads the records of one segment; the caller releases them.
func readSegment(ctx context.Context, fsys lakefs.FS, seg spillSegment) ([]spillRows, error) {
	rc, err := fsys.OpenRange(ctx, seg.Path, seg.Offset, seg.Length)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	rd, err := ipc.NewReader(bufio.NewReaderSize(rc, 1<<20), ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		return nil, fmt.Errorf("read spill segment %s@%d: %w", seg.Path, seg.Offset, err)
	}
	defer rd.Release()
	if err := sameColumns(rd.Schema(), spillSchema(nil)); err != nil {
		return nil, fmt.Errorf("read spill segment %s@%d: %w", seg.Path, seg.Offset, err)
	}
	var files []string
	md := rd.Schema().Metadata()
	if i := md.FindKey(spillFilesKey); i < 0 {
		return nil, fmt.Errorf("read spill segment %s@%d: no table of source files", seg.Path, seg.Offset)
	} else if err := json.Unmarshal([]byte(md.Values()[i]), &files); err != nil {
		return nil, fmt.Errorf("read spill segment %s@%d: table of source files: %w", seg.Path, seg.Offset, err)
	}
	var out []spillRows
	release := func() {
		for _, r := range out {
			r.rec.Release()
		}
	}
	var rows int64
	for rd.Next() {
		rec := rd.Record()
		rec.Retain()
		r := spillRows{rec: rec,
			partner: rec.Column(spPartner).(*array.Int32).Int32Values(),
			uid:     rec.Column(spUID).(*array.String),
			puid:    rec.Column(spPartnerUID).(*array.String),
			gvlid:   rec.Column(spSourceGVLID).(*array.Int32).Int32Values(),
			at:      rec.Column(spAt).(*array.Int64).Int64Values(),
			file:    rec.Column(spFile).(*array.Int32).Int32Values(),
			line:    rec.Column(spLine).(*array.Int64).Int64Values(),
			files:   files,
		}
		out = append(out, r)
		for _, f := range r.file {
			if f < 0 || int(f) >= len(files) {
				release()
				return nil, fmt.Errorf("read spill segment %s@%d: source file index %d out of range", seg.Path, seg.Offset, f)
			}
		}
		rows += rec.NumRows()
	}
	if err := rd.Err(); err != nil && !errors.Is(err, io.EOF) {
		release()
		return nil, fmt.Errorf("read spill segment %s@%d: %w", seg.Path, seg.Offset, err)
	}
	if rows != seg.Rows {
		release()
		return nil, fmt.Errorf("read spill segment %s@%d: %d rows, want %d", seg.Path, seg.Offset, rows, seg.Rows)
	}
	return out, nil
}

// mergeEntry indexes one candidate of a shard for sorting: prefix is the
// first 8 bytes of the UID (big-endian, zero-padded), which orders most
// pairs of UIDs without reading them.
type mergeEntry struct {
	prefix  uint64
	partner int32
	rec     uint32
	row     uint32
}

func uidPrefix(uid string) uint64 {
	var b [8]byte
	copy(b[:], uid)
	return binary.BigEndian.Uint64(b[:])
}

// shardMerge keeps the latest candidate of every (partner, UID) of a shard.
type shardMerge struct {
	recs []spillRows
}

// compareKey orders entries by (partner, UID).
func (m *shardMerge) compareKey(a, b mergeEntry) int {
	if a.partner != b.partner {
		return cmp.Compare(a.partner, b.partner)
	}
	if a.prefix != b.prefix {
		return cmp.Compare(a.prefix, b.prefix)
	}
	return strings.Compare(m.recs[a.rec].uid.Value(int(a.row)), m.recs[b.rec].uid.Value(int(b.row)))
}

// compare orders entries by (partner, UID), then in delivery order (time,
// file, line), the order in which CurrentMapping applies rows.
func (m *shardMerge) compare(a, b mergeEntry) int {
	if c := m.compareKey(a, b); c != 0 {
		return c
	}
	ra, rb := &m.recs[a.rec], &m.recs[b.rec]
	if c := cmp.Compare(ra.at[a.row], rb.at[b.row]); c != 0 {
		return c
	}
	if c := strings.Compare(ra.files[ra.file[a.row]], rb.files[rb.file[b.row]]); c != 0 {
		return c
	}
	return cmp.Compare(ra.line[a.row], rb.line[b.row])
}

// run sorts the shard's candidates and passes the winner of every
// (partner, UID), in that order, to out; it returns the number of winners.
func (m *shardMerge) run(out *currentWriter) (int64, error) {
	var n int64
	for _, r := range m.recs {
		n += r.rec.NumRows()
	}
	if n > math.MaxUint32 || len(m.recs) > math.MaxUint32 {
		return 0, fmt.Errorf("%d rows in %d records: too many for one shard", n, len(m.recs))
	}
	entries := make([]mergeEntry, 0, n)
	for ri, r := range m.recs {
		for i := range r.partner {
			entries = append(entries, mergeEntry{prefix: uidPrefix(r.uid.Value(i)), partner: r.partner[i], rec: uint32(ri), row: uint32(i)})
		}
	}
	slices.SortFunc(entries, m.compare)
	var winners int64
	for i := 0; i < len(entries); {
		j := i
		for j+1 < len(entries) && m.compareKey(entries[i], entries[j+1]) == 0 {
			j++
		}
		e := entries[j]
		r := &m.recs[e.rec]
		out.add(e.partner, r.uid.Value(int(e.row)), r.puid.Value(int(e.row)), r.gvlid[e.row], r.at[e.row], r.files[r.file[e.row]], r.line[e.row])
		winners++
		i = j + 1
	}
	return winners, nil
}

// partnerBatch is the builder of one partner's id5_mapping_current rows.
type partnerBatch struct {
	partner int32
	b       *array.RecordBuilder
	uid     *array.StringBuilder
	puid    *array.StringBuilder
	gvlid   *array.Int32Builder
	at      *array.TimestampBuilder
	file    *array.StringBuilder
	line    *array.Int64Builder
}

// currentWriter batches id5_mapping_current rows per partner: a batch (one
// Parquet row group) is flushed at currentBatchRows, and when the rows
// buffered over all partners reach currentBufferRows the partner with the
// most rows is flushed, so that memory does not grow with the number of
// partners.
type currentWriter struct {
	emit func(hiveparquet.Batch)
	// batchRows and bufferRows are currentBatchRows and currentBufferRows
	// (tests lower them).
	batchRows, bufferRows int
	partners              map[int32]*partnerBatch
	last                  *partnerBatch
	rows                  int
}

func newCurrentWriter(emit func(hiveparquet.Batch)) *currentWriter {
	return &currentWriter{emit: emit, batchRows: currentBatchRows, bufferRows: currentBufferRows, partners: map[int32]*partnerBatch{}}
}

func (w *currentWriter) add(partner int32, uid, puid string, gvlid int32, at int64, file string, line int64) {
	pb := w.last
	if pb == nil || pb.partner != partner {
		if pb = w.partners[partner]; pb == nil {
			b := array.NewRecordBuilder(memory.DefaultAllocator, CurrentSchema())
			pb = &partnerBatch{partner: partner, b: b,
				uid:   b.Field(0).(*array.StringBuilder),
				puid:  b.Field(1).(*array.StringBuilder),
				gvlid: b.Field(2).(*array.Int32Builder),
				at:    b.Field(3).(*array.TimestampBuilder),
				file:  b.Field(4).(*array.StringBuilder),
				line:  b.Field(5).(*array.Int64Builder),
			}
			w.partners[partner] = pb
		}
		w.last = pb
	}
	pb.uid.BinaryBuilder.Append(bytesOf(uid))
	pb.puid.BinaryBuilder.Append(bytesOf(puid))
	pb.gvlid.Append(gvlid)
	pb.at.Append(arrow.Timestamp(at))
	pb.file.BinaryBuilder.Append(bytesOf(file))
	pb.line.Append(line)
	w.rows++
	switch {
	case pb.uid.Len() >= w.batchRows:
		w.flush(pb)
	case w.rows >= w.bufferRows:
		var big *partnerBatch
		for _, p := range w.partners {
			if big == nil || p.uid.Len() > big.uid.Len() {
				big = p
			}
		}
		w.flush(big)
	}
}

// flush emits the buffered rows of one partner as one batch.
func (w *currentWriter) flush(pb *partnerBatch) {
	n := pb.uid.Len()
	if n == 0 {
		return
	}
	part, _ := hiveparquet.PartitionPath([]string{partnerPartitions[0].Name}, strconv.FormatInt(int64(pb.partner), 10))
	w.emit(hiveparquet.Batch{Table: CurrentTable, Partition: part, Record: pb.b.NewRecord()})
	w.rows -= n
}

// finish flushes every partner, in partner order.
func (w *currentWriter) finish() {
	partners := make([]int32, 0, len(w.partners))
	for p := range w.partners {
		partners = append(partners, p)
	}
	slices.Sort(partners)
	for _, p := range partners {
		w.flush(w.partners[p])
	}
}

// release frees the builders.
func (w *currentWriter) release() {
	for _, pb := range w.partners {
		pb.b.Release()
	}
}

// mergeFn merges the shards of one group (the group's spill references,
// grouped by group) into id5_mapping_current batches, one shard at a time,
// and emits each shard's number once it is merged.
type mergeFn struct {
	Lake     string         `json:"lake"`
	FS       lakefs.Options `json:"fs"`
	Dir      string         `json:"dir"`
	Shards   int            `json:"shards"`
	PerGroup int            `json:"per_group"`

	fs lakefs.FS
}

func (fn *mergeFn) Setup(ctx context.Context) error {
	var err error
	fn.fs, err = lakefs.New(ctx, fn.Lake, fn.FS)
	return err
}

func (fn *mergeFn) ProcessElement(ctx context.Context, group int, iter func(*spillRef) bool, emit func(hiveparquet.Batch), done func(int)) error {
	per := max(fn.PerGroup, 1)
	first := group * per
	n := min(per, fn.Shards-first)
	if group < 0 || n <= 0 {
		return fmt.Errorf("id5 current: group %d of %d shards by %d", group, fn.Shards, per)
	}
	var refs []spillRef
	var ref spillRef
	for iter(&ref) {
		if ref.Name == "" {
			continue
		}
		if len(ref.Lengths) != n || len(ref.Rows) != n {
			return fmt.Errorf("id5 current: group %d: reference to %s has %d lengths and %d row counts, want %d", group, ref.Name, len(ref.Lengths), len(ref.Rows), n)
		}
		refs = append(refs, ref)
		ref = spillRef{}
	}
	// A fixed order, whatever the runner's: the same output for the same
	// spill, retried or not.
	slices.SortFunc(refs, func(a, b spillRef) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), cmp.Compare(a.Offset, b.Offset))
	})
	out := newCurrentWriter(emit)
	defer out.release()
	offsets := make([]int64, len(refs))
	for j, r := range refs {
		offsets[j] = r.Offset
	}
	for i := 0; i < n; i++ {
		var segs []spillSegment
		for j, r := range refs {
			if r.Lengths[i] > 0 {
				segs = append(segs, spillSegment{Path: lakefs.Join(fn.Dir, r.Name), Offset: offsets[j], Length: r.Lengths[i], Rows: r.Rows[i]})
			}
			offsets[j] += r.Lengths[i]
		}
		if err := fn.merge(ctx, segs, out); err != nil {
			return fmt.Errorf("id5 current: shard %d: %w", first+i, err)
		}
		done(first + i)
	}
	out.finish()
	return nil
}

// merge reads the segments of one shard and passes its winners to out.
func (fn *mergeFn) merge(ctx context.Context, segs []spillSegment, out *currentWriter) error {
	m := &shardMerge{}
	defer func() {
		for _, r := range m.recs {
			r.rec.Release()
		}
	}()
	for _, s := range segs {
		recs, err := readSegment(ctx, fn.fs, s)
		if err != nil {
			return err
		}
		m.recs = append(m.recs, recs...)
	}
	faults.Hit(ctx, "current.merge")
	_, err := m.run(out)
	return err
}

// shardsDoneFn passes the input files' counters on once every shard was
// merged (its side input holds the numbers of the merged shards), so that
// the commit, which needs every file's counters, cannot run on a partial
// table.
type shardsDoneFn struct {
	Shards int `json:"shards"`

	checked bool
}

func (fn *shardsDoneFn) ProcessElement(st transforms.FileStats, done func(*int) bool, emit func(transforms.FileStats)) error {
	if !fn.checked {
		seen := make([]bool, fn.Shards)
		n := 0
		var s int
		for done(&s) {
			if s < 0 || s >= fn.Shards {
				return fmt.Errorf("id5 current: merged shard %d of %d", s, fn.Shards)
			}
			if !seen[s] {
				seen[s] = true
				n++
			}
		}
		if n != fn.Shards {
			return fmt.Errorf("id5 current: %d of %d shards merged; nothing may be committed", n, fn.Shards)
		}
		fn.checked = true
	}
	emit(st)
	return nil
}
