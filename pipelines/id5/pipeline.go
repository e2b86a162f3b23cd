package id5

import (
	"context"
	"fmt"
	"runtime"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/ledger"
	"github.com/vendorlake/vendorlake/pipelines/run"
	"github.com/vendorlake/vendorlake/transforms"
)

// Name is the pipeline's name (subcommand, ledger folder of the ingest).
const Name = "id5"

func init() {
	register.DoFn4x1[context.Context, transforms.InputFile, func(hiveparquet.Batch), func(transforms.FileStats), error](&readFn{})
	register.Emitter1[hiveparquet.Batch]()
	register.Emitter1[transforms.FileStats]()
}

// Pipeline is the ID5 Partner Graph pipeline. Its ingest stage reads the
// new delivered files into id5_mapping_updates, id5_full_extracts,
// id5_extract_partners and id5_rejects (idempotent append, one source per
// file); run.Execute then runs its chained stage, Current, which rebuilds
// id5_mapping_current from those tables as committed in the lake.
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

	// guard carries the lake's partner states from Discover to Read; ForRun
	// sets it (nil: extracts are not checked).
	guard *guardState
}

// guardState is the lake's state that Discover finds for Read.
type guardState struct {
	lake   string
	fs     lakefs.Options
	states []PartnerState
}

// Name implements run.Pipeline.
func (Pipeline) Name() string { return Name }

// Tables implements run.Pipeline: the ingest stage's tables.
func (Pipeline) Tables() []hiveparquet.Table { return IngestTables() }

// Discover implements run.Pipeline.
func (p Pipeline) Discover(ctx context.Context, fsys lakefs.FS, input string, led map[string]ledger.Entry) (transforms.Plan, error) {
	if p.SourceGVLID <= 0 {
		return transforms.Plan{}, fmt.Errorf("id5: the source GVLID (--source-gvlid) must be a positive GVLID, got %d", p.SourceGVLID)
	}
	plan, err := Discover(ctx, fsys, input, p.Selection, led)
	if err != nil || p.guard == nil {
		return plan, err
	}
	// The lake may be on another store than the input (local and s3://
	// in any mix), so it is opened on its own.
	p.guard.states = nil
	for _, f := range plan.Files {
		if df, err := classifyRel(f.Rel); err == nil && df.Kind.Full() {
			lake, err := lakefs.New(ctx, p.guard.lake, p.guard.fs)
			if err != nil {
				return transforms.Plan{}, err
			}
			if p.guard.states, err = LoadPartnerStates(ctx, lake, p.guard.lake); err != nil {
				return transforms.Plan{}, err
			}
			break
		}
	}
	return plan, nil
}

// ForRun implements run.ForRunner: the run's full extracts are checked
// against the current mappings of the lake at output.
func (p Pipeline) ForRun(output, runID string, fs lakefs.Options) run.Pipeline {
	p.guard = &guardState{lake: output, fs: fs}
	return p
}

// Read implements run.Pipeline: it reads the planned files in parallel and
// returns their batches and FileStats.
func (p Pipeline) Read(s beam.Scope, files beam.PCollection, input string, fsOpts lakefs.Options, lines transforms.LineOptions) run.Outputs {
	s = s.Scope("id5.Read")
	fn := &readFn{Input: input, FS: fsOpts, Lines: lines, SourceGVLID: p.SourceGVLID}
	if p.guard != nil {
		fn.Guard = &ExtractGuard{States: p.guard.states, MaxExtractShrink: p.MaxExtractShrink, Lake: p.guard.lake}
	}
	batches, stats := beam.ParDo2(s, fn, files)
	return run.Outputs{Batches: []beam.PCollection{batches}, Stats: stats}
}

// Then implements run.Chained: after the ingest (committed or with nothing
// to do), id5_mapping_current is rebuilt from the lake at o.Output. On the
// runners that run in this process, the shards are spread over as many
// groups as there are CPUs, which bounds the merges in memory at once.
func (Pipeline) Then(o run.Options) run.Pipeline {
	c := &Current{Lake: o.Output, FS: o.FS}
	switch o.Runner {
	case "", "direct", "prism":
		c.MergeGroups = runtime.NumCPU()
	}
	return c
}

type readFn struct {
	Input       string                 `json:"input"`
	FS          lakefs.Options         `json:"fs"`
	Lines       transforms.LineOptions `json:"lines"`
	SourceGVLID int32                  `json:"source_gvlid"`
	Guard       *ExtractGuard          `json:"guard,omitempty"`

	fs lakefs.FS
}

func (fn *readFn) Setup(ctx context.Context) error {
	var err error
	if fn.fs, err = lakefs.New(ctx, fn.Input, fn.FS); err != nil {
		return err
	}
	if fn.Guard != nil && fn.Guard.Lake != "" {
		fn.Guard.lakeFS, err = lakefs.New(ctx, fn.Guard.Lake, fn.FS)
	}
	return err
}

func (fn *readFn) ProcessElement(ctx context.Context, f transforms.InputFile, emit func(hiveparquet.Batch), emitStats func(transforms.FileStats)) error {
	st, err := ReadFile(ctx, fn.fs, f, fn.SourceGVLID, fn.Lines, fn.Guard, emit)
	if err != nil {
		return err
	}
	emitStats(st)
	return nil
}
