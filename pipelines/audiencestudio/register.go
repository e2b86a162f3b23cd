package audiencestudio

import (
	"errors"
	"flag"

	"github.com/vendorlake/vendorlake/pipelines/registry"
	"github.com/vendorlake/vendorlake/pipelines/run"
)

// Requests is the request pipeline's registration with the vendorlake
// command ("vendorlake audiencestudio requests").
var Requests = registry.Vendor{
	Name:    RequestsName,
	Command: []string{Command, "requests"},
	Summary: "Audience Studio consent request files → audiencestudio_requests, audiencestudio_rejects",
	Help: "Reads INPUT/uploads/consent-data/YYYY-MM-DD/* (plain, gzip or lzop; an .lzo.index beside an .lzo file\n" +
		"splits it across workers) and writes audiencestudio_requests and audiencestudio_rejects under OUTPUT.",
	Flags:  func() registry.Flags { return &requestsFlags{} },
	Tables: RequestsTables,
	// Three splits show the indexed .lzo file read by parallel workers.
	Sample: registry.Sample{Dir: "audiencestudio/sample", Args: []string{"--lzo-splits=3"}},
}

// Portability is the portability pipeline's registration with the
// vendorlake command ("vendorlake audiencestudio portability").
var Portability = registry.Vendor{
	Name:    PortabilityName,
	Command: []string{Command, "portability"},
	Summary: "Audience Studio portability feeds → audiencestudio_portability_events, audiencestudio_portability_rejects",
	Help: "Reads INPUT/portability/REQUEST_ID/YYYY-MM-DD/DATA_SOURCE/BK/KUID from complete request days\n" +
		"(REQUEST_ID/YYYY-MM-DD/_SUCCESS or REQUEST_ID/_SUCCESS) and writes audiencestudio_portability_events and audiencestudio_portability_rejects under OUTPUT.",
	Flags:  func() registry.Flags { return &portabilityFlags{} },
	Tables: PortabilityTables,
	Sample: registry.Sample{Dir: "audiencestudio/sample"},
}

type requestsFlags struct {
	sel      RequestsSelection
	splitMiB int64
}

func (f *requestsFlags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.sel.From, "from", "", "first upload date to read, YYYY-MM-DD (inclusive)")
	fs.StringVar(&f.sel.To, "to", "", "last upload date to read, YYYY-MM-DD (inclusive)")
	fs.IntVar(&f.sel.Splits, "lzo-splits", 0, "cut every indexed .lzo file into this many parallel splits (0: one per --lzo-split-mib)")
	fs.Int64Var(&f.splitMiB, "lzo-split-mib", DefaultSplitBytes>>20, "compressed MiB per split of an indexed .lzo file")
}

func (f *requestsFlags) Validate() error {
	if err := registry.CheckDates(f.sel.From, f.sel.To); err != nil {
		return err
	}
	if f.sel.Splits < 0 || f.splitMiB <= 0 {
		return errors.New("--lzo-splits must be >= 0 and --lzo-split-mib > 0")
	}
	return nil
}

func (f *requestsFlags) Pipeline(*run.Options) run.Pipeline {
	sel := f.sel
	sel.SplitBytes = f.splitMiB << 20
	return RequestsPipeline{Selection: sel}
}

type portabilityFlags struct{ sel PortabilitySelection }

func (f *portabilityFlags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.sel.RequestID, "request-id", "", "read only this portability request")
	fs.StringVar(&f.sel.From, "from", "", "first date to read, YYYY-MM-DD (inclusive)")
	fs.StringVar(&f.sel.To, "to", "", "last date to read, YYYY-MM-DD (inclusive)")
}

func (f *portabilityFlags) Validate() error { return registry.CheckDates(f.sel.From, f.sel.To) }

func (f *portabilityFlags) Pipeline(*run.Options) run.Pipeline {
	return PortabilityPipeline{Selection: f.sel}
}
