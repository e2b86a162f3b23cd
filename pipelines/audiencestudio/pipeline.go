package audiencestudio

import (
	"context"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/ledger"
	"github.com/vendorlake/vendorlake/pipelines/run"
	"github.com/vendorlake/vendorlake/transforms"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

// Names of the pipelines (ledger folders); the command is
// "vendorlake audiencestudio requests|portability".
const (
	Command         = "audiencestudio"
	RequestsName    = "audiencestudio-requests"
	PortabilityName = "audiencestudio-portability"
)

// WarnUnknownDataSource counts feed files whose data source folder is not
// one of DataSources; they are read all the same.
const WarnUnknownDataSource = "unknown_data_source"

// WarnBridgeKeyNotText counts feed files whose {bk} folder is a bridge key
// (it differs from the kuid) that does not decode from Base64 to text; their
// records are read with bridge_key null and bk_raw set.
const WarnBridgeKeyNotText = "bridge_key_not_text"

// The pipelines' readers, for the generic read DoFn (transforms.Read).
func init() {
	beam.RegisterFunction(newRequestsReader)
	beam.RegisterFunction(newPortabilityReader)
}

// newRequestsReader builds the reader of consent request files.
func newRequestsReader(context.Context, []byte, lakefs.Options) (transforms.FileReader, error) {
	return transforms.FileReaderFunc(readRequests), nil
}

// newPortabilityReader builds the reader of portability feed files.
func newPortabilityReader(context.Context, []byte, lakefs.Options) (transforms.FileReader, error) {
	return transforms.FileReaderFunc(readPortability), nil
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
func (p RequestsPipeline) Discover(ctx context.Context, env run.Env, fsys lakefs.FS, led map[string]ledger.Entry) (transforms.Plan, error) {
	return DiscoverRequests(ctx, fsys, env.Input, p.Selection, led)
}

// Read implements run.Pipeline.
func (RequestsPipeline) Read(s beam.Scope, env run.Env, _ transforms.Plan, files beam.PCollection) run.Outputs {
	s = s.Scope("audiencestudio.ReadRequests")
	batches, stats := transforms.Read(s, newRequestsReader, nil, files, env.Input, env.FS, env.Lines)
	return run.Outputs{Batches: []beam.PCollection{batches}, Stats: stats}
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
func (p PortabilityPipeline) Discover(ctx context.Context, env run.Env, fsys lakefs.FS, led map[string]ledger.Entry) (transforms.Plan, error) {
	return DiscoverPortability(ctx, fsys, env.Input, p.Selection, led)
}

// Read implements run.Pipeline.
func (PortabilityPipeline) Read(s beam.Scope, env run.Env, _ transforms.Plan, files beam.PCollection) run.Outputs {
	s = s.Scope("audiencestudio.ReadPortability")
	batches, stats := transforms.Read(s, newPortabilityReader, nil, files, env.Input, env.FS, env.Lines)
	return run.Outputs{Batches: []beam.PCollection{batches}, Stats: stats}
}

// readPortability is the read step of one feed file.
func readPortability(ctx context.Context, fsys lakefs.FS, f transforms.InputFile, opts lineparse.Options, emit func(hiveparquet.Batch)) (transforms.FileStats, error) {
	meta := feedFileOf(f.Rel)
	st, err := transforms.ReadLines(ctx, fsys, f, PortabilityRejects(), opts, LzopOpener,
		func() lineparse.Parser { return newFeedParser(f.Rel, f.Partition, meta) }, emit)
	if err != nil {
		return st, err
	}
	if !KnownDataSource(meta.DataSource) {
		st.Warnings = append(st.Warnings, lineparse.Count{Name: WarnUnknownDataSource, N: 1})
	}
	if meta.BK.Undecoded() {
		st.Warnings = append(st.Warnings, lineparse.Count{Name: WarnBridgeKeyNotText, N: 1})
	}
	return st, nil
}
