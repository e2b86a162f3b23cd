package id5

// Base plus delta. The mapping in force is not rewritten by every run: the
// compaction stage (Current) rebuilds id5_mapping_base only when it pays,
// and readers see the mapping in force through the view id5_mapping_current
// (CurrentView): the latest row per (partner, UID) over the base and the
// incremental rows delivered after it.
//
// What "after it" means is written by the rebuild, in the same commit as
// the base, to id5_mapping_base_state: one row per partner with a full
// extract (the base's extract of that partner: incrementals delivered at or
// before it are ignored, CurrentMapping's tie rule) and one row, partition
// partner_gvlid=0, with the base's horizon: the latest delivered_at of the
// id5_mapping_updates rows it holds. An incremental row is the delta when
// it is delivered strictly after both cutoffs of its partner; every other
// row is in the base already, or ignored. The rules that keep this exact
// (Current.Discover):
//   - a new full extract (a new file of id5_extract_partners) rebuilds;
//   - a file the base was built from that is gone or changed (a re-pushed
//     incremental replaced its rows) rebuilds;
//   - a new incremental file with a row delivered at or before the horizon
//     (a late push) rebuilds, since the view would not see it;
//   - otherwise the new incrementals are the delta, and the base is rebuilt
//     only when their rows pass RebuildShare of the base's, or when the base
//     is older than RebuildAge.
// Every delta row is delivered after every base row of its partner, so the
// view's order (updated_at, source_file, source_line) is CurrentMapping's.
// The horizon only narrows the delta: without it (Athena's projection of
// partner_gvlid starts at 1 and so never reads partition 0) the view also
// reads incremental rows already in the base, the same rows, which lose or
// tie to themselves: the answer is the same.

import (
	"context"
	"errors"
	"fmt"
	"path"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/metadata"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/vendorlake/vendorlake/io/faults"
	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/ledger"
)

// Defaults of the rebuild policy (--base-rebuild-share, --base-rebuild-age).
const (
	// DefaultRebuildShare rebuilds the base once the delta's rows pass a
	// tenth of the base's.
	DefaultRebuildShare = 0.10
	// DefaultRebuildAge rebuilds a base older than a week that has a delta.
	DefaultRebuildAge = 7 * 24 * time.Hour
)

// horizonPartner is the partner_gvlid of the horizon row of
// id5_mapping_base_state (no GVLID is 0).
const horizonPartner = 0

func init() {
	register.DoFn2x1[[]byte, func(hiveparquet.Batch), error](&baseStateFn{})
	register.Emitter1[hiveparquet.Batch]()
	beam.RegisterType(reflect.TypeOf((*baseStateFn)(nil)).Elem())
}

// BaseState is what id5_mapping_base_state says of the base.
type BaseState struct {
	// Extracts holds the base's full extract of every partner that had one
	// (microseconds), by partner.
	Extracts map[int32]int64
	// Horizon is the latest delivered_at of the incremental rows in the
	// base (microseconds); HasHorizon is false when it has none.
	Horizon    int64
	HasHorizon bool
	// BuiltAt is when the base was built, by the clock of its rebuild.
	BuiltAt time.Time
}

// Cutoff returns the time after which partner p's incremental rows are the
// delta (ok false: all of them are).
func (s BaseState) Cutoff(p int32) (int64, bool) {
	at, ok := s.Extracts[p]
	if s.HasHorizon && (!ok || s.Horizon > at) {
		return s.Horizon, true
	}
	return at, ok
}

// LoadBaseState reads id5_mapping_base_state under lake (empty when there
// is no base yet).
func LoadBaseState(ctx context.Context, fsys lakefs.FS, lake string) (BaseState, error) {
	st := BaseState{Extracts: map[int32]int64{}}
	files, err := tableFiles(ctx, fsys, lake, BaseStateTable)
	if err != nil {
		return st, fmt.Errorf("id5: list %s: %w", BaseStateTable, err)
	}
	for _, fi := range files {
		p, ok, err := partnerOf(fi.Path)
		if err != nil || !ok {
			return st, fmt.Errorf("id5: %s: not in a partner_gvlid partition (%v)", fi.Path, err)
		}
		err = readParquet(ctx, fsys, fi.Path, fi.Size, func(rec arrow.Record) error {
			i, err := colIndex(rec, fi.Path, "cutoff")
			if err != nil {
				return err
			}
			at, ok := rec.Column(i).(*array.Timestamp)
			if !ok || at.Len() == 0 {
				return fmt.Errorf("read parquet %s: bad cutoff column", fi.Path)
			}
			v := int64(at.Value(0))
			if j := rec.Schema().FieldIndices("built_at"); len(j) == 1 {
				if b, ok := rec.Column(j[0]).(*array.Timestamp); ok && b.IsValid(0) {
					st.BuiltAt = time.UnixMicro(int64(b.Value(0))).UTC()
				}
			}
			if p == horizonPartner {
				st.Horizon, st.HasHorizon = v, true
			} else {
				st.Extracts[p] = v
			}
			return nil
		})
		if err != nil {
			return st, fmt.Errorf("id5: %w", err)
		}
	}
	return st, nil
}

// partnerOf parses the partner_gvlid=P folder of a file of a table
// partitioned by partner.
func partnerOf(p string) (int32, bool, error) {
	v, ok := strings.CutPrefix(path.Base(path.Dir(p)), partnerPartitions[0].Name+"=")
	if !ok {
		return 0, false, nil
	}
	var n int32
	_, err := fmt.Sscanf(v, "%d", &n)
	return n, err == nil, err
}

// footer is what the footer of a Parquet file of id5_mapping_updates says.
type footer struct {
	rows int64
	// minAt, maxAt bound its delivered_at (valid when rows > 0).
	minAt, maxAt int64
}

// readFooters reads the footers of files of id5_mapping_updates,
// footerReaders at once: row counts and the delivered_at statistics.
func readFooters(ctx context.Context, fsys lakefs.FS, files []lakefs.FileInfo) ([]footer, error) {
	out := make([]footer, len(files))
	err := eachFooter(ctx, fsys, files, func(i int, pf *file.Reader) (err error) {
		out[i], err = updatesFooter(pf)
		return err
	})
	return out, err
}

// eachFooter opens the footer of every file of files, footerReaders at
// once, and hands it to fn with the file's index; an error names its file.
func eachFooter(ctx context.Context, fsys lakefs.FS, files []lakefs.FileInfo, fn func(i int, pf *file.Reader) error) error {
	errs := make([]error, len(files))
	sem := make(chan struct{}, footerReaders)
	var wg sync.WaitGroup
	for i, fi := range files {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			pf, err := file.NewParquetReader(&rangeReader{ctx: ctx, fs: fsys, path: fi.Path, size: fi.Size})
			if err == nil {
				err = fn(i, pf)
				pf.Close()
			}
			if err != nil {
				errs[i] = fmt.Errorf("read parquet footer %s: %w", fi.Path, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// updatesFooter reads the row count and the delivered_at bounds of a file
// of id5_mapping_updates from its footer.
func updatesFooter(pf *file.Reader) (footer, error) {
	md := pf.MetaData()
	f := footer{rows: md.NumRows}
	col := md.Schema.ColumnIndexByName("delivered_at")
	if col < 0 {
		return footer{}, errors.New("no delivered_at column")
	}
	first := true
	for g := 0; g < pf.NumRowGroups(); g++ {
		rg := md.RowGroup(g)
		if rg.NumRows() == 0 {
			continue
		}
		cc, err := rg.ColumnChunk(col)
		if err != nil {
			return footer{}, err
		}
		st, err := cc.Statistics()
		if err != nil {
			return footer{}, err
		}
		s, ok := st.(*metadata.Int64Statistics)
		if !ok || !s.HasMinMax() {
			return footer{}, errors.New("no delivered_at statistics")
		}
		if first || s.Min() < f.minAt {
			f.minAt = s.Min()
		}
		if first || s.Max() > f.maxAt {
			f.maxAt = s.Max()
		}
		first = false
	}
	return f, nil
}

// fileInput is the ledger identity of a Parquet file of the lake.
func fileInput(lake string, fi lakefs.FileInfo) ledger.Input {
	rel, _ := lakefs.Rel(lake, fi.Path)
	return ledger.Input{Rel: rel, Size: fi.Size, ModTime: fi.ModTime.UnixMicro(), ETag: fi.ETag}
}

// rebuildCheck is what Current.Discover knows when it decides whether the
// base must be rebuilt.
type rebuildCheck struct {
	// prev is the ledger entry of the last rebuild: its inputs are the files
	// the base was built from.
	prev ledger.Entry
	// marks and extracts are the files of id5_extract_partners and the
	// newest extracts' files of id5_full_extracts; updates every file of
	// id5_mapping_updates.
	marks, extracts, updates []lakefs.FileInfo
	now                      time.Time
	share                    float64
	age                      time.Duration
}

// due decides: it returns whether the base must be rebuilt and why (or why
// not), reading the footers of the new incremental files, the base state
// and the base's footers only when the listing alone does not decide.
func (c *Current) rebuildDue(ctx context.Context, fsys lakefs.FS, r rebuildCheck) (bool, string, error) {
	built := map[string]ledger.Input{}
	for _, in := range r.prev.Inputs {
		built[in.Rel] = in
	}
	// Compacted files are known by their names' prefix (compactedInput),
	// which several files share: their entries are dropped at the end.
	prefixes := map[string]bool{}
	same := func(fi lakefs.FileInfo) (known, changed bool) {
		in := fileInput(c.Lake, fi)
		old, ok := built[in.Rel]
		if !ok {
			if key, isC := compactedKey(in.Rel); isC {
				if old, ok := built[key]; ok && old.Size == compactedSize {
					prefixes[key] = true
					return true, false
				}
			}
		}
		delete(built, in.Rel)
		return ok, ok && old != in
	}
	for _, group := range [][]lakefs.FileInfo{r.marks, r.extracts} {
		for _, fi := range group {
			if known, changed := same(fi); !known || changed {
				return true, "a new full extract", nil
			}
		}
	}
	var delta []lakefs.FileInfo
	for _, fi := range r.updates {
		known, changed := same(fi)
		if changed {
			return true, "a file of the base changed: " + fi.Path, nil
		}
		if !known {
			delta = append(delta, fi)
		}
	}
	for key := range prefixes {
		delete(built, key)
	}
	if len(built) > 0 {
		for rel := range built {
			return true, fmt.Sprintf("%d files of the base were replaced or removed (%s…)", len(built), rel), nil
		}
	}
	if len(delta) == 0 {
		return false, "nothing new since the base was built by run " + r.prev.RunID, nil
	}
	st, err := LoadBaseState(ctx, fsys, c.Lake)
	if err != nil {
		return false, "", err
	}
	faults.Hit(ctx, "current.check")
	if age := r.now.Sub(st.BuiltAt); r.age > 0 && age > r.age {
		return true, fmt.Sprintf("the base is %s old (--base-rebuild-age=%s)", age.Round(time.Minute), r.age), nil
	}
	foot, err := readFooters(ctx, fsys, delta)
	if err != nil {
		return false, "", fmt.Errorf("id5 current: %w", err)
	}
	var rows int64
	for i, f := range foot {
		if f.rows > 0 && st.HasHorizon && f.minAt <= st.Horizon {
			return true, "a late incremental, delivered before the base's horizon: " + delta[i].Path, nil
		}
		rows += f.rows
	}
	baseFiles, err := tableFiles(ctx, fsys, c.Lake, BaseTable)
	if err != nil {
		return false, "", err
	}
	base, err := parquetRows(ctx, fsys, baseFiles)
	if err != nil {
		return false, "", fmt.Errorf("id5 current: %w", err)
	}
	if float64(rows) > r.share*float64(base) {
		return true, fmt.Sprintf("the delta has %d rows, over %g of the base's %d (--base-rebuild-share)", rows, r.share, base), nil
	}
	return false, fmt.Sprintf("the delta (%d files, %d rows) stays under %g of the base's %d rows: id5_mapping_current reads it through the view", len(delta), rows, r.share, base), nil
}

// baseStateFn writes id5_mapping_base_state: its one input element is
// ignored; the rows are its configuration.
type baseStateFn struct {
	Extracts   []ExtractRef `json:"extracts"`
	Horizon    int64        `json:"horizon_us"`
	HasHorizon bool         `json:"has_horizon"`
	BuiltAt    int64        `json:"built_at_us"`
}

func (fn *baseStateFn) ProcessElement(_ []byte, emit func(hiveparquet.Batch)) error {
	row := func(partner int32, cutoff int64, file string) {
		b := array.NewRecordBuilder(memory.DefaultAllocator, BaseStateSchema())
		defer b.Release()
		b.Field(0).(*array.TimestampBuilder).Append(arrow.Timestamp(cutoff))
		b.Field(1).(*array.StringBuilder).Append(file)
		b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(fn.BuiltAt))
		part, _ := hiveparquet.PartitionPath([]string{partnerPartitions[0].Name}, fmt.Sprint(partner))
		emit(hiveparquet.Batch{Table: BaseStateTable, Partition: part, Record: b.NewRecord()})
	}
	if fn.HasHorizon {
		row(horizonPartner, fn.Horizon, "")
	}
	for _, e := range fn.Extracts {
		row(e.Partner, e.At, e.SourceFile)
	}
	return nil
}
