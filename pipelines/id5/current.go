package id5

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"path"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/ledger"
	"github.com/vendorlake/vendorlake/transforms"
)

// CurrentName is the name of the compaction stage (its run reports and
// ledger folder).
const CurrentName = "id5_current"

// currentBatchRows bounds the rows of one id5_mapping_current batch (one
// Parquet row group).
const currentBatchRows = 128 << 10

func init() {
	beam.RegisterCoder(reflect.TypeOf((*candidate)(nil)).Elem(), encodeCandidate, decodeCandidate)
	beam.RegisterType(reflect.TypeOf((*ExtractRef)(nil)).Elem())
	register.DoFn4x1[context.Context, transforms.InputFile, func(string, candidate), func(transforms.FileStats), error](&lakeReadFn{})
	register.Emitter2[string, candidate]()
	register.Combiner1[candidate](&latestFn{})
	register.DoFn3x1[string, candidate, func(hiveparquet.Batch), error](&currentBatchFn{})
}

// ExtractRef names the newest full extract of a partner: the extract whose
// rows, plus the incrementals delivered after it, make the partner's
// current mapping.
type ExtractRef struct {
	Partner    int32  `json:"partner_gvlid"`
	At         int64  `json:"at_us"`
	SourceFile string `json:"source_file"`
}

// after reports whether e comes after o in delivery order (time, then path),
// the tie rule of CurrentMapping.
func (e ExtractRef) after(o ExtractRef) bool {
	if e.At != o.At {
		return e.At > o.At
	}
	return e.SourceFile > o.SourceFile
}

// Current is the compaction stage of the ID5 pipeline: it rebuilds
// id5_mapping_current from the tables the ingest committed in the lake, so
// that a scheduled run that read only new files still sees the whole
// history. It is a run.Pipeline whose "input" is the lake itself:
//
//  1. Discover (driver, small data): read id5_extract_partners (one row per
//     extract and partner) and pick each partner's newest extract; list the
//     Parquet files of id5_mapping_updates and of only those extracts in
//     id5_full_extracts. The newest-extract view (a few bytes per partner)
//     travels in the read DoFn's configuration, like a side input.
//  2. Read (one element per Parquet file): every row of partner P becomes a
//     candidate keyed "P|UID", unless it cannot win: an extract row not
//     from P's newest extract, or an incremental delivered at or before it.
//  3. CombinePerKey keeps the latest candidate of each (partner, UID) by
//     (delivery time, file, line): the newest extract's row, overridden by
//     any later incremental, exactly CurrentMapping's rules.
//  4. The winners are batched per partner into partner_gvlid=P partitions;
//     the run claims every partition, so the table is rewritten whole.
//
// Discover keeps the view in the Current value for Read, so run.Execute must
// be given a *Current.
type Current struct {
	// Lake is the output root holding the ID5 tables.
	Lake string
	// FS configures the store of Lake.
	FS lakefs.Options

	view []ExtractRef
}

// Name implements run.Pipeline.
func (*Current) Name() string { return CurrentName }

// Tables implements run.Pipeline.
func (*Current) Tables() []hiveparquet.Table { return CurrentTables() }

// tableFiles lists the published Parquet files of a table of the lake.
func tableFiles(ctx context.Context, fsys lakefs.FS, lake, table string) ([]lakefs.FileInfo, error) {
	all, err := fsys.List(ctx, lakefs.Join(lake, table))
	if err != nil {
		return nil, err
	}
	var out []lakefs.FileInfo
	for _, fi := range all {
		name := path.Base(fi.Path)
		if strings.HasPrefix(name, "part-") && strings.HasSuffix(name, ".parquet") {
			out = append(out, fi)
		}
	}
	return out, nil
}

// NewestExtracts reads id5_extract_partners under lake and returns the
// newest extract of every partner that has one, by partner.
func NewestExtracts(ctx context.Context, fsys lakefs.FS, lake string) ([]ExtractRef, []lakefs.FileInfo, error) {
	files, err := tableFiles(ctx, fsys, lake, ExtractPartnersTable)
	if err != nil {
		return nil, nil, err
	}
	newest := map[int32]ExtractRef{}
	for _, fi := range files {
		err := readParquet(ctx, fsys, fi.Path, fi.Size, func(rec arrow.Record) error {
			var idx [3]int
			for i, name := range []string{"partner_gvlid", "extracted_at", "source_file"} {
				var err error
				if idx[i], err = colIndex(rec, fi.Path, name); err != nil {
					return err
				}
			}
			pg := rec.Column(idx[0]).(*array.Int32)
			at := rec.Column(idx[1]).(*array.Timestamp)
			sf := rec.Column(idx[2]).(*array.String)
			for i := 0; i < int(rec.NumRows()); i++ {
				e := ExtractRef{Partner: pg.Value(i), At: int64(at.Value(i)), SourceFile: strings.Clone(sf.Value(i))}
				if old, ok := newest[e.Partner]; !ok || e.after(old) {
					newest[e.Partner] = e
				}
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	out := make([]ExtractRef, 0, len(newest))
	for _, e := range newest {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Partner < out[j].Partner })
	return out, files, nil
}

// Discover implements run.Pipeline; the vendor input is not read, only the
// lake. The whole rebuild is one ledger unit whose inputs are the Parquet
// files it depends on, so a run whose ingest changed nothing has nothing
// to do here either, and a rebuild that failed is redone by the next run.
func (c *Current) Discover(ctx context.Context, _ lakefs.FS, _ string, led map[string]ledger.Entry) (transforms.Plan, error) {
	fsys, err := lakefs.New(ctx, c.Lake, c.FS)
	if err != nil {
		return transforms.Plan{}, err
	}
	view, markFiles, err := NewestExtracts(ctx, fsys, c.Lake)
	if err != nil {
		return transforms.Plan{}, err
	}
	c.view = view
	wanted := map[string]bool{}
	for _, e := range view {
		wanted[hiveparquet.SourceID(e.SourceFile)] = true
	}
	extracts, err := tableFiles(ctx, fsys, c.Lake, ExtractsTable)
	if err != nil {
		return transforms.Plan{}, err
	}
	updates, err := tableFiles(ctx, fsys, c.Lake, UpdatesTable)
	if err != nil {
		return transforms.Plan{}, err
	}
	var read []lakefs.FileInfo
	for _, fi := range extracts {
		// part-SOURCEID-RUNID-NNNNN.parquet: skip extracts that are no
		// partner's newest without opening them.
		name := path.Base(fi.Path)
		if len(name) > 21 && name[21] == '-' && !wanted[name[5:21]] {
			continue
		}
		read = append(read, fi)
	}
	read = append(read, updates...)

	var plan transforms.Plan
	// The ledger records one digest of every file the rebuild depends on,
	// not the list: the tables grow by a file per delivered file.
	h := sha256.New()
	var size, newest int64
	digest := func(fi lakefs.FileInfo) {
		rel, _ := lakefs.Rel(c.Lake, fi.Path)
		fmt.Fprintf(h, "%s\x00%d\x00%d\x00%s\n", rel, fi.Size, fi.ModTime.UnixMicro(), fi.ETag)
		size += fi.Size
		newest = max(newest, fi.ModTime.UnixMicro())
	}
	for _, fi := range markFiles {
		digest(fi)
	}
	for _, fi := range read {
		digest(fi)
		rel, _ := lakefs.Rel(c.Lake, fi.Path)
		plan.Files = append(plan.Files, transforms.InputFile{Path: fi.Path, Rel: rel, Size: fi.Size, ModTime: fi.ModTime.UnixMicro(), ETag: fi.ETag, Unit: CurrentTable})
	}
	inputs := []ledger.Input{{Rel: fmt.Sprintf("%s, %s (%d files)", ExtractPartnersTable, strings.Join([]string{ExtractsTable, UpdatesTable}, ", "), len(markFiles)+len(read)),
		Size: size, ModTime: newest, ETag: "sha256:" + hex.EncodeToString(h.Sum(nil))}}
	if e, ok := led[CurrentTable]; ok && e.Same(inputs) {
		plan.Files = nil
		plan.Skipped = append(plan.Skipped, transforms.Skipped{What: CurrentTable,
			Reason: "its inputs are unchanged since run " + e.RunID + " rebuilt it"})
		return plan, nil
	}
	plan.Units = []transforms.Unit{{Key: CurrentTable, Inputs: inputs}}
	plan.Claims = []hiveparquet.Claim{{Table: CurrentTable, Partition: hiveparquet.AllPartitions}}
	return plan, nil
}

// Read implements run.Pipeline: files are Parquet files of the lake; it
// returns the id5_mapping_current batches and one FileStats per file.
func (c *Current) Read(s beam.Scope, files beam.PCollection, _ string, _ lakefs.Options, _ transforms.LineOptions) (beam.PCollection, beam.PCollection) {
	s = s.Scope("id5.Current")
	cands, stats := beam.ParDo2(s, &lakeReadFn{Lake: c.Lake, FS: c.FS, View: c.view}, files)
	latest := beam.CombinePerKey(s, &latestFn{}, cands)
	return beam.ParDo(s, &currentBatchFn{}, latest), stats
}

// candidate is one row that may be the current mapping of its (partner,
// UID) key.
type candidate struct {
	PartnerUID  string
	SourceGVLID int32
	At          int64 // delivery time, Unix microseconds
	SourceFile  string
	SourceLine  int64
}

// later reports whether a comes after b in delivery order: time, file, line.
func (a candidate) later(b candidate) bool {
	if a.At != b.At {
		return a.At > b.At
	}
	if a.SourceFile != b.SourceFile {
		return a.SourceFile > b.SourceFile
	}
	return a.SourceLine > b.SourceLine
}

// encodeCandidate is candidate's compact coder (no reflection per element).
func encodeCandidate(c candidate) ([]byte, error) {
	b := make([]byte, 0, len(c.PartnerUID)+len(c.SourceFile)+24)
	b = binary.AppendUvarint(b, uint64(len(c.PartnerUID)))
	b = append(b, c.PartnerUID...)
	b = binary.AppendVarint(b, int64(c.SourceGVLID))
	b = binary.AppendVarint(b, c.At)
	b = binary.AppendUvarint(b, uint64(len(c.SourceFile)))
	b = append(b, c.SourceFile...)
	b = binary.AppendVarint(b, c.SourceLine)
	return b, nil
}

func decodeCandidate(data []byte) (candidate, error) {
	r := bytes.NewReader(data)
	var c candidate
	str := func() (string, error) {
		n, err := binary.ReadUvarint(r)
		if err != nil || n > uint64(r.Len()) {
			return "", fmt.Errorf("decode candidate: bad string")
		}
		s := make([]byte, n)
		r.Read(s)
		return string(s), nil
	}
	var err error
	if c.PartnerUID, err = str(); err != nil {
		return c, err
	}
	g, err := binary.ReadVarint(r)
	if err != nil {
		return c, fmt.Errorf("decode candidate: %w", err)
	}
	c.SourceGVLID = int32(g)
	if c.At, err = binary.ReadVarint(r); err != nil {
		return c, fmt.Errorf("decode candidate: %w", err)
	}
	if c.SourceFile, err = str(); err != nil {
		return c, err
	}
	if c.SourceLine, err = binary.ReadVarint(r); err != nil {
		return c, fmt.Errorf("decode candidate: %w", err)
	}
	return c, nil
}

// candidateKey is "PARTNER|UID": UIDs never hold a '|' (it separates fields).
func candidateKey(partner int32, uid string) string {
	return strconv.FormatInt(int64(partner), 10) + "|" + uid
}

// lakeReadFn reads one Parquet file of id5_mapping_updates or
// id5_full_extracts and emits the rows that can still win, keyed by
// (partner, UID).
type lakeReadFn struct {
	Lake string         `json:"lake"`
	FS   lakefs.Options `json:"fs"`
	View []ExtractRef   `json:"view"`

	fs     lakefs.FS
	newest map[int32]ExtractRef
}

func (fn *lakeReadFn) Setup(ctx context.Context) error {
	var err error
	fn.fs, err = lakefs.New(ctx, fn.Lake, fn.FS)
	fn.newest = make(map[int32]ExtractRef, len(fn.View))
	for _, e := range fn.View {
		fn.newest[e.Partner] = e
	}
	return err
}

func (fn *lakeReadFn) ProcessElement(ctx context.Context, f transforms.InputFile, emit func(string, candidate), emitStats func(transforms.FileStats)) error {
	table, _, _ := strings.Cut(f.Rel, "/")
	full := table == ExtractsTable
	if !full && table != UpdatesTable {
		return fmt.Errorf("id5 current: %s is not a file of %s or %s", f.Rel, UpdatesTable, ExtractsTable)
	}
	var in, kept int64
	sources := map[string]string{} // one string per source file, shared by its rows
	want := UpdatesSchema()
	if full {
		want = ExtractsSchema()
	}
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
			file, ok := sources[sf.Value(i)]
			if !ok {
				file = strings.Clone(sf.Value(i))
				sources[file] = file
			}
			kept++
			emit(candidateKey(p, uid.Value(i)), candidate{
				PartnerUID: strings.Clone(puid.Value(i)), SourceGVLID: src.Value(i), At: t,
				SourceFile: file, SourceLine: line.Value(i),
			})
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

// sameColumns checks that got has want's column names and types, in order
// (field metadata, which the Parquet round trip adds, is ignored).
func sameColumns(got, want *arrow.Schema) error {
	if got.NumFields() != want.NumFields() {
		return fmt.Errorf("%d columns, want %d", got.NumFields(), want.NumFields())
	}
	for i, w := range want.Fields() {
		if g := got.Field(i); g.Name != w.Name || !arrow.TypeEqual(g.Type, w.Type) {
			return fmt.Errorf("column %d is %s %s, want %s %s", i, g.Name, g.Type, w.Name, w.Type)
		}
	}
	return nil
}

// latestFn keeps the latest candidate of a key.
type latestFn struct{}

func (*latestFn) MergeAccumulators(a, b candidate) candidate {
	if b.later(a) {
		return b
	}
	return a
}

// currentBatchFn turns the winners into id5_mapping_current batches, one
// builder per partner, flushed at currentBatchRows and at the end of the
// bundle.
type currentBatchFn struct {
	builders map[int32]*array.RecordBuilder
}

func (fn *currentBatchFn) StartBundle(_ func(hiveparquet.Batch)) {
	fn.builders = map[int32]*array.RecordBuilder{}
}

func (fn *currentBatchFn) ProcessElement(key string, c candidate, emit func(hiveparquet.Batch)) error {
	ps, uid, ok := strings.Cut(key, "|")
	p, err := strconv.ParseInt(ps, 10, 32)
	if !ok || err != nil {
		return fmt.Errorf("id5 current: bad key %q", key)
	}
	partner := int32(p)
	b := fn.builders[partner]
	if b == nil {
		b = array.NewRecordBuilder(memory.DefaultAllocator, CurrentSchema())
		fn.builders[partner] = b
	}
	b.Field(0).(*array.StringBuilder).Append(uid)
	b.Field(1).(*array.StringBuilder).Append(c.PartnerUID)
	b.Field(2).(*array.Int32Builder).Append(c.SourceGVLID)
	b.Field(3).(*array.TimestampBuilder).Append(arrow.Timestamp(c.At))
	b.Field(4).(*array.StringBuilder).Append(c.SourceFile)
	b.Field(5).(*array.Int64Builder).Append(c.SourceLine)
	if b.Field(0).Len() >= currentBatchRows {
		fn.flush(partner, emit)
	}
	return nil
}

func (fn *currentBatchFn) flush(partner int32, emit func(hiveparquet.Batch)) {
	b := fn.builders[partner]
	delete(fn.builders, partner)
	defer b.Release()
	if b.Field(0).Len() == 0 {
		return
	}
	part, _ := hiveparquet.PartitionPath([]string{partnerPartitions[0].Name}, strconv.FormatInt(int64(partner), 10))
	emit(hiveparquet.Batch{Table: CurrentTable, Partition: part, Record: b.NewRecord()})
}

func (fn *currentBatchFn) FinishBundle(emit func(hiveparquet.Batch)) error {
	partners := make([]int32, 0, len(fn.builders))
	for p := range fn.builders {
		partners = append(partners, p)
	}
	sort.Slice(partners, func(i, j int) bool { return partners[i] < partners[j] })
	for _, p := range partners {
		fn.flush(p, emit)
	}
	return nil
}
