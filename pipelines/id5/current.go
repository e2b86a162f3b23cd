package id5

import (
	"context"
	"fmt"
	"path"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/lakestate"
	"github.com/vendorlake/vendorlake/io/ledger"
	"github.com/vendorlake/vendorlake/pipelines/run"
	"github.com/vendorlake/vendorlake/transforms"
)

// CurrentName is the name of the compaction stage (its run reports and
// ledger folder).
const CurrentName = "id5_current"

// currentBatchRows bounds the rows of one id5_mapping_current batch (one
// Parquet row group).
const currentBatchRows = 128 << 10

func init() {
	beam.RegisterType(reflect.TypeOf((*ExtractRef)(nil)).Elem())
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
// history. It is a run.Pipeline whose "input" is the lake itself, and its
// memory is bounded by the size of a shard, not by the size of the lake:
//
//  1. Discover (driver, small data): read id5_extract_partners (one row per
//     extract and partner) and pick each partner's newest extract; list the
//     Parquet files of id5_mapping_updates and of only those extracts in
//     id5_full_extracts. The newest-extract view (a few bytes per partner)
//     travels in the spill DoFn's configuration, like a side input. The
//     row counts in the footers of those files set the number of shards,
//     about ShardRows rows each.
//  2. Spill (one element per Parquet file): every row of partner P is a
//     candidate unless it cannot win: an extract row not from P's newest
//     extract, or an incremental delivered at or before it. A candidate
//     goes to shard hash(P, UID) mod shards; a bounded buffer of them is
//     written out, shard by shard, as Arrow IPC segments of a spill file
//     in the run's temporary area (see spill.go). Only references to the
//     segments (file, offsets, lengths) go through Beam.
//  3. GroupByKey on the group of the shards (at most MergeGroups keys; one
//     small reference per spill file and group), then merge the group's
//     shards one after the other: read the shard's segments, sort them by
//     (partner, UID, delivery order) and keep the last row of every
//     (partner, UID): the newest extract's row, overridden by any later
//     incremental, exactly CurrentMapping's rules. The winners are batched
//     per partner into partner_gvlid=P partitions; the run claims every
//     partition, so the table is rewritten whole.
//  4. The input files' counters reach the commit only once every shard
//     was merged, so a lost shard can never commit a partial table.
//
// Spill files live in the run's temporary area (lakestate.TempDir), so
// the commit removes them, and a crashed run's are removed by the next
// run's CleanTemp. Discover hands the view, the number of shards and the
// compaction tasks to Read in the plan's State (rebuild).
type Current struct {
	// Lake is the output root holding the ID5 tables.
	Lake string
	// FS configures the store of Lake.
	FS lakefs.Options
	// ShardRows is the number of candidate rows one shard should hold at
	// most (about 100 bytes of memory each while it is merged); zero means
	// DefaultShardRows.
	ShardRows int64
	// MergeGroups bounds the groups of shards, the keys of the
	// GroupByKey, hence the merges that can run at once; zero means
	// DefaultMergeGroups. Pipeline.Then sets it to the number of CPUs on
	// the runners that run in this process (direct, prism), which would
	// otherwise hold up to one shard per bundle they run at once.
	MergeGroups int

	// RebuildShare and RebuildAge are the rebuild policy (see base.go):
	// the base is rebuilt when the delta's rows pass RebuildShare of the
	// base's (zero: DefaultRebuildShare), or when it is older than
	// RebuildAge and has a delta (zero: never for its age).
	RebuildShare float64
	RebuildAge   time.Duration
	// Now is the clock of the age rule; nil is time.Now.
	Now func() time.Time
	// CompactMinFiles is the number of files from which a rebuild compacts
	// a closed day of id5_mapping_updates (see compact.go); zero means
	// DefaultCompactMinFiles, a negative value never compacts.
	CompactMinFiles int
	// CompactMaxRows bounds the rows one compaction sorts in memory; zero
	// means DefaultCompactMaxRows.
	CompactMaxRows int64

	// spillBytes bounds the spill buffer of one bundle; zero means
	// spillBufferBytes (tests set it low to get many segments).
	spillBytes int64
}

// Name implements run.Pipeline.
func (*Current) Name() string { return CurrentName }

// Tables implements run.Pipeline: the base's tables, and
// id5_mapping_updates, whose closed days a rebuild compacts.
func (*Current) Tables() []hiveparquet.Table { return append(CurrentTables(), IngestTables()[0]) }

// rebuild is what Discover finds for Read (the plan's State): the
// newest-extract view, the shard layout, the base's state row and the
// compaction tasks of one rebuild.
type rebuild struct {
	// runID places the spill files in the run's temporary area.
	runID   string
	view    []ExtractRef
	horizon int64
	builtAt int64
	// hasHorizon is false when the rebuild reads no incremental row.
	hasHorizon bool
	shards     int
	perGroup   int
	// compact are the compaction tasks of the rebuild.
	compact []compactTask
}

// spillDir is the folder of the run's spill files.
func (c *Current) spillDir(runID string) string {
	return lakefs.Join(lakestate.TempDir(c.Lake, CurrentName, runID), spillDirName)
}

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
func (c *Current) Discover(ctx context.Context, env run.Env, _ lakefs.FS, led map[string]ledger.Entry) (transforms.Plan, error) {
	if env.RunID == "" {
		return transforms.Plan{}, fmt.Errorf("id5 current: no run ID for the spill files")
	}
	r := &rebuild{runID: env.RunID}
	fsys, err := lakefs.New(ctx, c.Lake, c.FS)
	if err != nil {
		return transforms.Plan{}, err
	}
	view, markFiles, err := NewestExtracts(ctx, fsys, c.Lake)
	if err != nil {
		return transforms.Plan{}, err
	}
	r.view = view
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

	plan := transforms.Plan{State: r}
	// The ledger entry of a rebuild records every file it read: the next
	// runs tell the delta (new incremental files) from the base by it.
	var inputs []ledger.Input
	for _, fi := range markFiles {
		inputs = append(inputs, fileInput(c.Lake, fi))
	}
	for _, fi := range read {
		in := fileInput(c.Lake, fi)
		inputs = append(inputs, in)
		plan.Files = append(plan.Files, transforms.InputFile{Path: fi.Path, Rel: in.Rel, Size: fi.Size, ModTime: in.ModTime, ETag: fi.ETag, Unit: CurrentTable})
	}
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	r.builtAt = now.UnixMicro()
	if e, ok := led[CurrentTable]; ok {
		due, why, err := c.rebuildDue(ctx, fsys, rebuildCheck{prev: e, marks: markFiles, extracts: read[:len(read)-len(updates)],
			updates: updates, now: now, share: c.share(), age: c.RebuildAge})
		if err != nil {
			return transforms.Plan{}, err
		}
		if !due {
			plan.Files = nil
			plan.Skipped = append(plan.Skipped, transforms.Skipped{What: BaseTable, Reason: why})
			return plan, nil
		}
	}
	rows, err := parquetRows(ctx, fsys, read[:len(read)-len(updates)])
	if err != nil {
		return transforms.Plan{}, fmt.Errorf("id5 current: %w", err)
	}
	foot, err := readFooters(ctx, fsys, updates)
	if err != nil {
		return transforms.Plan{}, fmt.Errorf("id5 current: %w", err)
	}
	for _, f := range foot {
		rows += f.rows
		if f.rows > 0 && (!r.hasHorizon || f.maxAt > r.horizon) {
			r.horizon, r.hasHorizon = f.maxAt, true
		}
	}
	r.shards, r.perGroup = shardLayout(rows, c.ShardRows, c.MergeGroups)
	plan.Claims = []hiveparquet.Claim{{Table: BaseTable, Partition: hiveparquet.AllPartitions}, {Table: BaseStateTable, Partition: hiveparquet.AllPartitions}}
	// The closed days to compact, in the same commit: their files are
	// known to the next run by their names' prefix (compactedInput).
	counts := make([]int64, len(foot))
	for i, f := range foot {
		counts[i] = f.rows
	}
	minFiles := c.CompactMinFiles
	if minFiles == 0 {
		minFiles = DefaultCompactMinFiles
	}
	maxRows := c.CompactMaxRows
	if maxRows <= 0 {
		maxRows = DefaultCompactMaxRows
	}
	var days []string
	r.compact, days, err = planCompaction(c.Lake, updates, counts, minFiles, maxRows)
	if err != nil {
		return transforms.Plan{}, err
	}
	if len(days) > 0 {
		compacted := map[string]bool{}
		for _, d := range days {
			rel := UpdatesTable + "/" + d
			compacted[rel] = true
			plan.Claims = append(plan.Claims, hiveparquet.Claim{Table: UpdatesTable, Partition: d})
		}
		kept := inputs[:0:0]
		for _, in := range inputs {
			if !compacted[path.Dir(in.Rel)] {
				kept = append(kept, in)
			}
		}
		for _, d := range days {
			kept = append(kept, compactedInput(UpdatesTable+"/"+d, env.RunID))
		}
		inputs = kept
	}
	plan.Units = []transforms.Unit{{Key: CurrentTable, Inputs: inputs}}
	return plan, nil
}

// share is the rebuild share in force.
func (c *Current) share() float64 {
	if c.RebuildShare <= 0 {
		return DefaultRebuildShare
	}
	return c.RebuildShare
}

// Read implements run.Pipeline: files are Parquet files of the lake; it
// returns the id5_mapping_current batches and one FileStats per file (see
// Current for the stages).
func (c *Current) Read(s beam.Scope, env run.Env, plan transforms.Plan, files beam.PCollection) run.Outputs {
	s = s.Scope("id5.Current")
	r, _ := plan.State.(*rebuild)
	if r == nil {
		r = &rebuild{runID: env.RunID}
	}
	shards, per := max(r.shards, 1), max(r.perGroup, 1)
	spillBytes := c.spillBytes
	if spillBytes <= 0 {
		spillBytes = spillBufferBytes
	}
	dir := c.spillDir(r.runID)
	refs, stats := beam.ParDo2(s, &spillFn{lakeStore: lakeStore{Lake: c.Lake, FS: c.FS}, View: r.view, Dir: dir,
		Shards: shards, PerGroup: per, BufferBytes: spillBytes}, files)
	// One empty reference per group, so that every group is merged (and
	// reports its shards done), rows or not.
	groups := make([]int, (shards+per-1)/per)
	for i := range groups {
		groups[i] = i
	}
	markers := beam.ParDo(s, groupMarker, beam.CreateList(s, groups))
	grouped := beam.GroupByKey(s, beam.Flatten(s, refs, markers))
	batches, done := beam.ParDo2(s, &mergeFn{lakeStore: lakeStore{Lake: c.Lake, FS: c.FS}, Dir: dir, Shards: shards, PerGroup: per}, grouped)
	stats = beam.ParDo(s, &shardsDoneFn{Shards: shards}, stats, beam.SideInput{Input: done})
	state := beam.ParDo(s, &baseStateFn{Extracts: r.view, Horizon: r.horizon, HasHorizon: r.hasHorizon, BuiltAt: r.builtAt}, beam.Impulse(s))
	out := run.Outputs{Batches: []beam.PCollection{batches, state}, Stats: stats}
	if len(r.compact) > 0 {
		out.Batches = append(out.Batches, beam.ParDo(s.Scope("compact"), &compactFn{lakeStore{Lake: c.Lake, FS: c.FS}}, beam.CreateList(s, r.compact)))
	}
	return out
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
