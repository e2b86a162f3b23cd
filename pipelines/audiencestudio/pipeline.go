package audiencestudio

import (
	"context"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/ledger"
	"github.com/vendorlake/vendorlake/pipelines/run"
	"github.com/vendorlake/vendorlake/transforms"
)

// Names of the pipelines (ledger folders); the command is
// "vendorlake audiencestudio requests|portability".
const (
	Command         = "audiencestudio"
	RequestsName    = "audiencestudio-requests"
	PortabilityName = "audiencestudio-portability"
)

// WarningUnknownDataSource counts feed files whose data source folder is not
// one of DataSources; they are read all the same.
const WarningUnknownDataSource = "unknown_data_source"

// WarningBridgeKeyNotText counts feed files whose {bk} folder is a bridge key
// (it differs from the kuid) that does not decode from Base64 to text; their
// records are read with bridge_key null and bk_raw set.
const WarningBridgeKeyNotText = "bridge_key_not_text"

func init() {
	register.DoFn4x1[context.Context, transforms.InputFile, func(hiveparquet.Batch), func(transforms.FileStats), error](&requestsReadFn{})
	register.DoFn4x1[context.Context, transforms.InputFile, func(hiveparquet.Batch), func(transforms.FileStats), error](&portabilityReadFn{})
	register.Emitter1[hiveparquet.Batch]()
	register.Emitter1[transforms.FileStats]()
}

// RequestsPipeline reads consent request files into audiencestudio_requests
// and audiencestudio_rejects.
type RequestsPipeline struct {
	Selection RequestsSelection
}

// Name implements run.Pipeline.
func (RequestsPipeline) Name() string { return RequestsName }

// Tables implements run.Pipeline.
func (RequestsPipeline) Tables() []hiveparquet.Table { return RequestsTables() }

// Discover implements run.Pipeline.
func (p RequestsPipeline) Discover(ctx context.Context, fsys lakefs.FS, input string, led map[string]ledger.Entry) (transforms.Plan, error) {
	return DiscoverRequests(ctx, fsys, input, p.Selection, led)
}

// Read implements run.Pipeline.
func (RequestsPipeline) Read(s beam.Scope, files beam.PCollection, input string, fsOpts lakefs.Options, lines transforms.LineOptions) run.Outputs {
	s = s.Scope("audiencestudio.ReadRequests")
	batches, stats := beam.ParDo2(s, &requestsReadFn{Input: input, FS: fsOpts, Lines: lines}, files)
	return run.Outputs{Batches: []beam.PCollection{batches}, Stats: stats}
}

type requestsReadFn struct {
	Input string                 `json:"input"`
	FS    lakefs.Options         `json:"fs"`
	Lines transforms.LineOptions `json:"lines"`

	fs lakefs.FS
}

func (fn *requestsReadFn) Setup(ctx context.Context) error {
	var err error
	fn.fs, err = lakefs.New(ctx, fn.Input, fn.FS)
	return err
}

func (fn *requestsReadFn) ProcessElement(ctx context.Context, f transforms.InputFile, emit func(hiveparquet.Batch), emitStats func(transforms.FileStats)) error {
	st, err := readRequests(ctx, fn.fs, f, fn.Lines, emit)
	if err != nil {
		return err
	}
	emitStats(st)
	return nil
}

// PortabilityPipeline reads data portability feeds into
// audiencestudio_portability_events and audiencestudio_portability_rejects.
type PortabilityPipeline struct {
	Selection PortabilitySelection
}

// Name implements run.Pipeline.
func (PortabilityPipeline) Name() string { return PortabilityName }

// Tables implements run.Pipeline.
func (PortabilityPipeline) Tables() []hiveparquet.Table { return PortabilityTables() }

// Discover implements run.Pipeline.
func (p PortabilityPipeline) Discover(ctx context.Context, fsys lakefs.FS, input string, led map[string]ledger.Entry) (transforms.Plan, error) {
	return DiscoverPortability(ctx, fsys, input, p.Selection, led)
}

// Read implements run.Pipeline.
func (PortabilityPipeline) Read(s beam.Scope, files beam.PCollection, input string, fsOpts lakefs.Options, lines transforms.LineOptions) run.Outputs {
	s = s.Scope("audiencestudio.ReadPortability")
	batches, stats := beam.ParDo2(s, &portabilityReadFn{Input: input, FS: fsOpts, Lines: lines}, files)
	return run.Outputs{Batches: []beam.PCollection{batches}, Stats: stats}
}

type portabilityReadFn struct {
	Input string                 `json:"input"`
	FS    lakefs.Options         `json:"fs"`
	Lines transforms.LineOptions `json:"lines"`

	fs lakefs.FS
}

func (fn *portabilityReadFn) Setup(ctx context.Context) error {
	var err error
	fn.fs, err = lakefs.New(ctx, fn.Input, fn.FS)
	return err
}

func (fn *portabilityReadFn) ProcessElement(ctx context.Context, f transforms.InputFile, emit func(hiveparquet.Batch), emitStats func(transforms.FileStats)) error {
	st, err := readPortability(ctx, fn.fs, f, fn.Lines, emit)
	if err != nil {
		return err
	}
	emitStats(st)
	return nil
}

// readPortability is the read step of one feed file.
func readPortability(ctx context.Context, fsys lakefs.FS, f transforms.InputFile, opts transforms.LineOptions, emit func(hiveparquet.Batch)) (transforms.FileStats, error) {
	meta := feedFileOf(f.Rel)
	st, err := transforms.ReadLines(ctx, fsys, f, PortabilityRejectsTable, opts, LzopOpener,
		func() transforms.LineParser { return newFeedParser(f.Rel, f.Partition, meta) }, emit)
	if err != nil {
		return st, err
	}
	if !KnownDataSource(meta.DataSource) {
		st.Warnings = append(st.Warnings, transforms.Count{Name: WarningUnknownDataSource, N: 1})
	}
	if meta.BK.Undecoded() {
		st.Warnings = append(st.Warnings, transforms.Count{Name: WarningBridgeKeyNotText, N: 1})
	}
	return st, nil
}
