package id5

// The merge of the rebuild of id5_mapping_current (see spill.go for the
// shards, the groups and the spill files).
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
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/vendorlake/vendorlake/io/faults"
	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/transforms"
)

func init() {
	register.DoFn5x1[context.Context, int, func(*spillRef) bool, func(hiveparquet.Batch), func(int), error](&mergeFn{})
	register.Iter1[spillRef]()
	register.Emitter1[int]()
	register.DoFn3x1[transforms.FileStats, func(*int) bool, func(transforms.FileStats), error](&shardsDoneFn{})
	register.Iter1[int]()
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
	w.emit(hiveparquet.Batch{Table: BaseTable, Partition: part, Record: pb.b.NewRecord()})
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
	lakeStore
	Dir      string `json:"dir"`
	Shards   int    `json:"shards"`
	PerGroup int    `json:"per_group"`
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
