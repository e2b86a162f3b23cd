package id5

// Compaction of id5_mapping_updates. The ingest writes one Parquet file per
// pushed incremental (48 a day per partner at 30-minute pushes); a year of
// them makes DuckDB's lookups 14 times slower than a compacted copy (see
// BENCHMARKS.md, issue 25). The rebuild of the base (Current), when it is
// due, also rewrites every closed day of id5_mapping_updates that holds at
// least CompactMinFiles files into a few files sorted by (partner, UID,
// delivery): same rows, in the same commit as the base, so readers see the
// per-push files or the compacted ones, never both.
//
// Why in the rebuild, not in a stage of its own: the rebuild records the
// files it read in its ledger entry, and the next run rebuilds the base when
// one of them is gone; a compaction on its own would make every such run
// rebuild. Riding on the rebuild, the compaction knows the names its files
// will have (the rebuild's run ID), records them as one input per day (a
// name prefix, compactedInput), and the next run knows them. A rebuild is
// never made due by the compaction; the small files of the days since the
// last rebuild (at most a week by default) stay until the next one.
//
// The rules that keep it exact:
//   - A compacted file is written with the idempotent-append source
//     compactSource(day), so its name starts with compactedPrefix(day);
//     the rows keep their own source_file and source_line.
//   - A closed day is a date= partition older than the newest one, so a
//     scheduled push does not land in a day being compacted (under the
//     pipeline's lock nothing lands during a run anyway); the compaction
//     claims the whole partition, which replaces every file it read.
//   - A re-pushed (or late) incremental whose day holds compacted files: the
//     ingest rewrites those files without the rows of every file it reads
//     into that day (rewriteFn), in the ingest's own commit, so the re-pushed
//     file's rows are replaced exactly, as in a day not compacted. A file the
//     commit holds back as unreadable keeps its old rows in the rewrite.
//   - The ingest's ledger keys by input file, not by lake file: its skip by
//     file name is untouched. A rewritten day has files of a new name that
//     the base's ledger entry does not know: the next rebuild check rebuilds,
//     as it does for any re-pushed file.

import (
	"context"
	"fmt"
	"path"
	"reflect"
	"sort"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/vendorlake/vendorlake/io/faults"
	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/ledger"
	"github.com/vendorlake/vendorlake/transforms"
)

const (
	// DefaultCompactMinFiles is the number of files from which a closed
	// day of id5_mapping_updates is compacted by a rebuild
	// (--compact-min-files).
	DefaultCompactMinFiles = 8
	// DefaultCompactMaxRows bounds the rows sorted in memory at once (about
	// 150 bytes each): a day with more is compacted in several groups of
	// whole files, each sorted on its own.
	DefaultCompactMaxRows = 1 << 20
)

// compactedSize marks a ledger input that names the compacted files of a
// day by their name prefix (compactedInput), not one file.
const compactedSize = -1

var compactTaskCoder = transforms.NewRowCoder[compactTask]()

func encodeCompactTask(t compactTask) ([]byte, error) { return compactTaskCoder.Encode(t) }
func decodeCompactTask(b []byte) (compactTask, error) { return compactTaskCoder.Decode(b) }

func init() {
	beam.RegisterCoder(reflect.TypeOf((*compactTask)(nil)).Elem(), encodeCompactTask, decodeCompactTask)
	register.DoFn3x1[context.Context, compactTask, func(hiveparquet.Batch), error](&compactFn{})
	register.DoFn4x1[context.Context, compactTask, func(*transforms.FileStats) bool, func(hiveparquet.Batch), error](&rewriteFn{})
	register.Iter1[*transforms.FileStats]()
}

// compactSource is the idempotent-append source of the compacted files of
// a partition of id5_mapping_updates (never an input's path: those are
// relative paths under incremental/).
func compactSource(partition string) string {
	return "vendorlake:compacted/" + UpdatesTable + "/" + partition
}

// compactedPrefix is the name prefix of the compacted files of partition.
func compactedPrefix(partition string) string {
	return "part-" + hiveparquet.SourceID(compactSource(partition)) + "-"
}

// isCompacted reports whether the lake file at rel (relative to the lake)
// is a compacted file of its id5_mapping_updates partition.
func isCompacted(rel string) bool {
	return strings.HasPrefix(path.Base(rel), compactedPrefix(path.Base(path.Dir(rel))))
}

// compactedInput is the ledger identity of the compacted files of the
// partition of rel that run runID writes: the prefix of their names
// (part-ID-RUNID-), which no other run writes, and compactedSize.
func compactedInput(partitionRel, runID string) ledger.Input {
	return ledger.Input{Rel: partitionRel + "/" + compactedPrefix(path.Base(partitionRel)) + runID + "-", Size: compactedSize}
}

// compactedKey returns the ledger key of a compacted file (see
// compactedInput): its relative path less the file number.
func compactedKey(rel string) (string, bool) {
	if !isCompacted(rel) {
		return "", false
	}
	i := strings.LastIndex(rel, "-")
	return rel[:i+1], true
}

// compactFile is one Parquet file of the lake to compact or rewrite.
type compactFile struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
}

// compactTask is the work of one compactFn or rewriteFn element: the files
// of one partition of id5_mapping_updates whose rows are written again,
// sorted, as compacted files; Drop lists the source files whose rows are
// left out (rewriteFn: the files the ingest reads again).
type compactTask struct {
	Partition string        `json:"partition"`
	Files     []compactFile `json:"files"`
	Drop      []string      `json:"drop,omitempty"`
}

// dayFiles is a partition of id5_mapping_updates and its files with their
// row counts.
type dayFiles struct {
	partition string
	files     []lakefs.FileInfo
	rows      []int64
}

// planCompaction picks the closed days of id5_mapping_updates to compact
// from its files (paths under lake) and their row counts: every partition
// older than the newest that holds at least minFiles files (minFiles <= 0:
// none). A day's files are split, in name order, into groups of at most
// maxRows rows (a file with more is a group of its own). It returns the
// tasks and the partitions they claim whole.
func planCompaction(lake string, files []lakefs.FileInfo, rows []int64, minFiles int, maxRows int64) ([]compactTask, []string, error) {
	if minFiles <= 0 || len(files) == 0 {
		return nil, nil, nil
	}
	if len(rows) != len(files) {
		return nil, nil, fmt.Errorf("id5 compaction: %d row counts for %d files", len(rows), len(files))
	}
	days := map[string]*dayFiles{}
	for i, fi := range files {
		rel, ok := lakefs.Rel(lakefs.Join(lake, UpdatesTable), fi.Path)
		if !ok || strings.Count(rel, "/") != 1 || !strings.HasPrefix(rel, datePartitions[0].Name+"=") {
			return nil, nil, fmt.Errorf("id5 compaction: %s is not a file of a %s partition of %s", fi.Path, datePartitions[0].Name, UpdatesTable)
		}
		part := path.Dir(rel)
		d := days[part]
		if d == nil {
			d = &dayFiles{partition: part}
			days[part] = d
		}
		d.files = append(d.files, fi)
		d.rows = append(d.rows, rows[i])
	}
	parts := make([]string, 0, len(days))
	for p := range days {
		parts = append(parts, p)
	}
	// date=YYYY-MM-DD sorts by day.
	sort.Strings(parts)
	var tasks []compactTask
	var claimed []string
	for _, p := range parts[:len(parts)-1] {
		d := days[p]
		if len(d.files) < minFiles {
			continue
		}
		idx := make([]int, len(d.files))
		for i := range idx {
			idx[i] = i
		}
		sort.Slice(idx, func(a, b int) bool { return d.files[idx[a]].Path < d.files[idx[b]].Path })
		var cur compactTask
		var n int64
		for _, i := range idx {
			if len(cur.Files) > 0 && n+d.rows[i] > maxRows {
				tasks = append(tasks, cur)
				cur, n = compactTask{}, 0
			}
			cur.Partition = p
			cur.Files = append(cur.Files, compactFile{Path: d.files[i].Path, Size: d.files[i].Size})
			n += d.rows[i]
		}
		tasks = append(tasks, cur)
		claimed = append(claimed, p)
	}
	return tasks, claimed, nil
}

// compactFn writes the rows of a task's files again, sorted, as compacted
// files of its partition (one element per group of a closed day).
type compactFn struct {
	lakeStore
}

func (fn *compactFn) ProcessElement(ctx context.Context, t compactTask, emit func(hiveparquet.Batch)) error {
	faults.Hit(ctx, "current.compact")
	return compactRows(ctx, fn.fs, t, nil, emit)
}

// lakeStore is the lake of a DoFn that reads or rewrites the lake's own
// files: Lake and FS travel with the DoFn, and Setup opens the store on the
// worker.
type lakeStore struct {
	Lake string         `json:"lake"`
	FS   lakefs.Options `json:"fs"`

	fs lakefs.FS
}

// Setup opens the store.
func (l *lakeStore) Setup(ctx context.Context) error {
	var err error
	l.fs, err = lakefs.New(ctx, l.Lake, l.FS)
	return err
}

// rewriteFn writes the compacted files of a partition again without the
// rows of the files the ingest reads again (Drop), unless the file turned
// out unreadable: the commit holds its unit back, and its old rows stay.
type rewriteFn struct {
	lakeStore
}

func (fn *rewriteFn) ProcessElement(ctx context.Context, t compactTask, stats func(*transforms.FileStats) bool, emit func(hiveparquet.Batch)) error {
	faults.Hit(ctx, "ingest.uncompact")
	held := map[string]bool{}
	var st transforms.FileStats
	for stats(&st) {
		if st.Unreadable != "" {
			held[st.Source] = true
		}
		st = transforms.FileStats{}
	}
	drop := map[string]bool{}
	for _, s := range t.Drop {
		if !held[s] {
			drop[s] = true
		}
	}
	return compactRows(ctx, fn.fs, t, drop, emit)
}

// rowRef is one row of the records a task read.
type rowRef struct {
	rec, row int32
}

// compactRows reads the rows of t's files, leaves out those whose
// source_file is in drop, and emits the rest sorted by (partner, UID,
// delivered_at, source_file, source_line) in batches of at most
// currentBatchRows rows, as the compacted source of t's partition.
func compactRows(ctx context.Context, fsys lakefs.FS, t compactTask, drop map[string]bool, emit func(hiveparquet.Batch)) error {
	schema := UpdatesSchema()
	var recs []arrow.Record
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	var refs []rowRef
	for _, f := range t.Files {
		err := readParquet(ctx, fsys, f.Path, f.Size, func(rec arrow.Record) error {
			if err := sameColumns(rec.Schema(), schema); err != nil {
				return fmt.Errorf("id5 compaction: %s: %w", f.Path, err)
			}
			rec.Retain()
			recs = append(recs, rec)
			src := rec.Column(colSourceFile).(*array.String)
			for i := 0; i < int(rec.NumRows()); i++ {
				if drop[src.Value(i)] {
					continue
				}
				refs = append(refs, rowRef{int32(len(recs) - 1), int32(i)})
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("id5 compaction of %s: %w", t.Partition, err)
		}
	}
	sortRows(recs, refs)
	source := compactSource(t.Partition)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for len(refs) > 0 {
		n := min(len(refs), currentBatchRows)
		for _, r := range refs[:n] {
			rec := recs[r.rec]
			for c := range schema.Fields() {
				if err := appendValue(b.Field(c), rec.Column(c), int(r.row)); err != nil {
					return fmt.Errorf("id5 compaction of %s: column %s: %w", t.Partition, schema.Field(c).Name, err)
				}
			}
		}
		refs = refs[n:]
		emit(hiveparquet.Batch{Table: UpdatesTable, Partition: t.Partition, Source: source, Record: b.NewRecord()})
	}
	return nil
}

// sortRows sorts refs by (partner, UID, delivered_at, source_file,
// source_line): a lookup by UID reads few row groups, and the order is
// CurrentMapping's within a UID.
func sortRows(recs []arrow.Record, refs []rowRef) {
	type cols struct {
		partner *array.Int32
		uid     *array.String
		at      *array.Timestamp
		file    *array.String
		line    *array.Int64
	}
	cs := make([]cols, len(recs))
	for i, r := range recs {
		cs[i] = cols{r.Column(colPartnerGVLID).(*array.Int32), r.Column(colUID).(*array.String),
			r.Column(colAt).(*array.Timestamp), r.Column(colSourceFile).(*array.String), r.Column(colSourceLine).(*array.Int64)}
	}
	sort.Slice(refs, func(i, j int) bool {
		a, b := cs[refs[i].rec], cs[refs[j].rec]
		x, y := int(refs[i].row), int(refs[j].row)
		if p, q := a.partner.Value(x), b.partner.Value(y); p != q {
			return p < q
		}
		if u, v := a.uid.Value(x), b.uid.Value(y); u != v {
			return u < v
		}
		if s, t := a.at.Value(x), b.at.Value(y); s != t {
			return s < t
		}
		if f, g := a.file.Value(x), b.file.Value(y); f != g {
			return f < g
		}
		return a.line.Value(x) < b.line.Value(y)
	})
}

// appendValue appends row i of arr to b (the types of UpdatesSchema).
func appendValue(b array.Builder, arr arrow.Array, i int) error {
	if arr.IsNull(i) {
		b.AppendNull()
		return nil
	}
	switch a := arr.(type) {
	case *array.String:
		b.(*array.StringBuilder).Append(a.Value(i))
	case *array.Int32:
		b.(*array.Int32Builder).Append(a.Value(i))
	case *array.Int64:
		b.(*array.Int64Builder).Append(a.Value(i))
	case *array.Timestamp:
		b.(*array.TimestampBuilder).Append(a.Value(i))
	default:
		return fmt.Errorf("unexpected type %s", arr.DataType())
	}
	return nil
}
