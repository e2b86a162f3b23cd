// Package didomi is the Didomi batch export pipeline: users and their
// consent events, exported as Hive-partitioned gzip NDJSON
// (export-id=ID/date=YYYY-MM-DD/users/*.json.gz), become the didomi_users,
// didomi_events and didomi_rejects tables.
package didomi

import (
	"context"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/ledger"
	"github.com/vendorlake/vendorlake/transforms"
)

// Name is the pipeline's name (subcommand, ledger folder).
const Name = "didomi"

func init() {
	register.DoFn4x1[context.Context, transforms.InputFile, func(hiveparquet.Batch), func(transforms.FileStats), error](&readFn{})
	register.Emitter1[hiveparquet.Batch]()
	register.Emitter1[transforms.FileStats]()
}

// Pipeline is the Didomi users & events pipeline.
type Pipeline struct {
	// Selection narrows the partitions read.
	Selection Selection
}

// Name implements run.Pipeline.
func (Pipeline) Name() string { return Name }

// Tables implements run.Pipeline.
func (Pipeline) Tables() []hiveparquet.Table { return Tables() }

// Discover implements run.Pipeline.
func (p Pipeline) Discover(ctx context.Context, fsys lakefs.FS, input string, led map[string]ledger.Entry) (transforms.Plan, error) {
	return Discover(ctx, fsys, input, p.Selection, led)
}

// Read implements run.Pipeline: it reads the planned files in parallel
// and returns PCollection<hiveparquet.Batch> and PCollection<FileStats>.
func (Pipeline) Read(s beam.Scope, files beam.PCollection, input string, fsOpts lakefs.Options, lines transforms.LineOptions) (beam.PCollection, beam.PCollection) {
	s = s.Scope("didomi.Read")
	return beam.ParDo2(s, &readFn{Input: input, FS: fsOpts, Lines: lines}, files)
}

type readFn struct {
	Input string                 `json:"input"`
	FS    lakefs.Options         `json:"fs"`
	Lines transforms.LineOptions `json:"lines"`

	fs lakefs.FS
}

func (fn *readFn) Setup(ctx context.Context) error {
	var err error
	fn.fs, err = lakefs.New(ctx, fn.Input, fn.FS)
	return err
}

func (fn *readFn) ProcessElement(ctx context.Context, f transforms.InputFile, emit func(hiveparquet.Batch), emitStats func(transforms.FileStats)) error {
	st, err := transforms.ReadLines(ctx, fn.fs, f, RejectsTable, fn.Lines, nil,
		func() transforms.LineParser { return newParser(f.Rel, f.Partition) }, emit)
	if err != nil {
		return err
	}
	emitStats(st)
	return nil
}
