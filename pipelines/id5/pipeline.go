package id5

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/ledger"
	"github.com/vendorlake/vendorlake/pipelines/run"
	"github.com/vendorlake/vendorlake/transforms"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

// Name is the pipeline's name (subcommand, ledger folder of the ingest).
const Name = "id5"

// The pipeline's reader, for the generic read DoFn (transforms.Read).
func init() {
	beam.RegisterFunction(newReader)
}

// Pipeline is the ID5 Partner Graph pipeline. Its ingest stage reads the
// new delivered files into id5_mapping_updates, id5_full_extracts,
// id5_extract_partners and id5_rejects (idempotent append, one source per
// file); run.Execute then runs its chained stage, Current, which rebuilds
// id5_mapping_base from those tables as committed in the lake when the
// rebuild is due (see base.go); the view id5_mapping_current reads the base
// plus the incremental rows delivered after it.
type Pipeline struct {
	// SourceGVLID is the GVLID of the UIDs of per-partner files (yours),
	// which those files do not carry. Required.
	SourceGVLID int32
	// Selection narrows the files read.
	Selection Selection
	// MaxExtractShrink is the largest share of a partner's current UIDs
	// (id5_mapping_current) that a new full extract may lack; beyond it,
	// or when the extract has no valid row for a partner it names, the run
	// commits nothing (transforms.StatusRefused). 1 accepts every extract.
	// The zero value refuses any extract that lacks a current UID; the
	// command's default is DefaultMaxExtractShrink.
	MaxExtractShrink float64
	// RebuildShare and RebuildAge are the rebuild policy of the base
	// (Current); zero values are the defaults.
	RebuildShare float64
	RebuildAge   time.Duration
	// CompactMinFiles and CompactMaxRows are the compaction policy of the
	// rebuild (see compact.go); zero values are the defaults, a negative
	// CompactMinFiles never compacts.
	CompactMinFiles int
	CompactMaxRows  int64
}

// guardState is the lake's state that Discover finds for Read (the plan's
// State): the run's full extracts are checked against the current
// mappings of the lake.
type guardState struct {
	lake   string
	fs     lakefs.Options
	states []PartnerState
	// rewrites are the compacted files that hold rows of the files the run
	// reads again (see compact.go).
	rewrites []compactTask
}

// Name implements run.Pipeline.
func (Pipeline) Name() string { return Name }

// Tables implements run.Pipeline: the ingest stage's tables.
func (Pipeline) Tables() []hiveparquet.Table { return IngestTables() }

// Discover implements run.Pipeline.
func (p Pipeline) Discover(ctx context.Context, env run.Env, fsys lakefs.FS, led map[string]ledger.Entry) (transforms.Plan, error) {
	if p.SourceGVLID <= 0 {
		return transforms.Plan{}, fmt.Errorf("id5: the source GVLID (--source-gvlid) must be a positive GVLID, got %d", p.SourceGVLID)
	}
	plan, err := Discover(ctx, fsys, env.Input, p.Selection, led)
	if err != nil || env.Output == "" {
		return plan, err
	}
	// The lake may be on another store than the input (local and s3://
	// in any mix), so it is opened on its own.
	guard := &guardState{lake: env.Output, fs: env.FS}
	plan.State = guard
	var lake lakefs.FS
	openLake := func() (lakefs.FS, error) {
		if lake == nil {
			lake, err = lakefs.New(ctx, guard.lake, guard.fs)
		}
		return lake, err
	}
	updateDays := map[string][]string{}
	loaded := false
	for _, f := range plan.Files {
		df, err := classifyRel(f.Rel)
		if err != nil {
			continue
		}
		if !df.Kind.Full() {
			updateDays[f.Partition] = append(updateDays[f.Partition], f.Source)
			continue
		}
		if !loaded {
			loaded = true
			lake, err := openLake()
			if err != nil {
				return transforms.Plan{}, err
			}
			if guard.states, err = LoadPartnerStates(ctx, lake, guard.lake); err != nil {
				return transforms.Plan{}, err
			}
		}
	}
	if len(updateDays) > 0 {
		lake, err := openLake()
		if err != nil {
			return transforms.Plan{}, err
		}
		if guard.rewrites, err = compactedRewrites(ctx, lake, guard.lake, updateDays); err != nil {
			return transforms.Plan{}, err
		}
		for _, t := range guard.rewrites {
			plan.Claims = append(plan.Claims, hiveparquet.Claim{Table: UpdatesTable, Partition: t.Partition, Source: compactSource(t.Partition)})
		}
	}
	return plan, nil
}

// compactedRewrites lists the compacted files of the partitions of
// id5_mapping_updates that the run writes into (days: partition to the
// sources read into it) and returns, per partition that has some, the task
// that writes them again without those sources' rows: a file read again
// replaces its rows exactly, compacted or not.
func compactedRewrites(ctx context.Context, lake lakefs.FS, root string, days map[string][]string) ([]compactTask, error) {
	parts := make([]string, 0, len(days))
	for d := range days {
		parts = append(parts, d)
	}
	sort.Strings(parts)
	var out []compactTask
	for _, d := range parts {
		all, err := lake.List(ctx, lakefs.Join(root, UpdatesTable, d))
		if err != nil {
			return nil, fmt.Errorf("id5: list the compacted files of %s/%s: %w", UpdatesTable, d, err)
		}
		t := compactTask{Partition: d, Drop: days[d]}
		for _, fi := range all {
			rel, ok := lakefs.Rel(root, fi.Path)
			if ok && strings.Count(rel, "/") == 2 && strings.HasSuffix(rel, ".parquet") && isCompacted(rel) {
				t.Files = append(t.Files, compactFile{Path: fi.Path, Size: fi.Size})
			}
		}
		if len(t.Files) > 0 {
			sort.Slice(t.Files, func(i, j int) bool { return t.Files[i].Path < t.Files[j].Path })
			sort.Strings(t.Drop)
			out = append(out, t)
		}
	}
	return out, nil
}

// Read implements run.Pipeline: it reads the planned files in parallel and
// returns their batches and FileStats.
func (p Pipeline) Read(s beam.Scope, env run.Env, plan transforms.Plan, files beam.PCollection) run.Outputs {
	s = s.Scope("id5.Read")
	cfg := readerConfig{SourceGVLID: p.SourceGVLID}
	guard, _ := plan.State.(*guardState)
	if guard != nil {
		cfg.Guard = &ExtractGuard{States: guard.states, MaxExtractShrink: p.MaxExtractShrink, Lake: guard.lake}
	}
	batches, stats := transforms.Read(s, newReader, cfg, files, env.Input, env.FS, env.Lines)
	out := run.Outputs{Batches: []beam.PCollection{batches}, Stats: stats}
	if guard != nil && len(guard.rewrites) > 0 {
		// After the reads: a file found unreadable keeps its rows.
		rw := beam.ParDo(s.Scope("uncompact"), &rewriteFn{lakeStore{Lake: guard.lake, FS: guard.fs}},
			beam.CreateList(s, guard.rewrites), beam.SideInput{Input: stats})
		out.Batches = append(out.Batches, rw)
	}
	return out
}

// Then implements run.Chained: after the ingest (committed or with nothing
// to do), id5_mapping_current is rebuilt from the lake at o.Output. On the
// runners that run in this process, the shards are spread over as many
// groups as there are CPUs, which bounds the merges in memory at once.
func (p Pipeline) Then(o run.Options) run.Pipeline {
	c := &Current{Lake: o.Output, FS: o.FS, RebuildShare: p.RebuildShare, RebuildAge: p.RebuildAge,
		CompactMinFiles: p.CompactMinFiles, CompactMaxRows: p.CompactMaxRows}
	switch o.Runner {
	case "", "direct", "prism":
		c.MergeGroups = runtime.NumCPU()
	}
	return c
}

// readerConfig configures the pipeline's reader on the workers.
type readerConfig struct {
	SourceGVLID int32         `json:"source_gvlid"`
	Guard       *ExtractGuard `json:"guard,omitempty"`
}

// reader is the pipeline's transforms.FileReader.
type reader struct{ readerConfig }

// newReader builds the reader from its configuration (transforms.NewFileReader),
// opening the lake that the extract guard compares with.
func newReader(ctx context.Context, config []byte, fs lakefs.Options) (transforms.FileReader, error) {
	var r reader
	if err := json.Unmarshal(config, &r.readerConfig); err != nil {
		return nil, fmt.Errorf("id5 reader configuration: %w", err)
	}
	if r.Guard != nil && r.Guard.Lake != "" {
		var err error
		if r.Guard.lakeFS, err = lakefs.New(ctx, r.Guard.Lake, fs); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// ReadFile implements transforms.FileReader.
func (r reader) ReadFile(ctx context.Context, fsys lakefs.FS, f transforms.InputFile, lines lineparse.Options, emit func(hiveparquet.Batch)) (transforms.FileStats, error) {
	return ReadFile(ctx, fsys, f, r.SourceGVLID, lines, r.Guard, emit)
}
