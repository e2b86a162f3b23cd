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
// Merge: see merge.go.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"reflect"
	"strings"
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
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/transforms"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
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
	err := eachFooter(ctx, fsys, files, func(i int, pf *file.Reader) error {
		counts[i] = pf.NumRows()
		return nil
	})
	var n int64
	for _, c := range counts {
		n += c
	}
	return n, err
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
	lakeStore
	View        []ExtractRef `json:"view"`
	Dir         string       `json:"dir"`
	Shards      int          `json:"shards"`
	PerGroup    int          `json:"per_group"`
	BufferBytes int64        `json:"buffer_bytes"`

	newest map[int32]ExtractRef
	bundle string
	seq    int
	buf    *spillBuffer
}

func (fn *spillFn) Setup(ctx context.Context) error {
	err := fn.lakeStore.Setup(ctx)
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
		Counts: lineparse.Counts{RecordsIn: in, RecordsOut: in, Rows: []lineparse.Count{{Name: "candidates", N: kept}}}})
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
