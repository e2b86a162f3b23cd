package id5

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"time"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/pipelines/registry"
	"github.com/vendorlake/vendorlake/pipelines/run"
)

// Vendor is the pipeline's registration with the vendorlake command.
var Vendor = registry.Vendor{
	Name:    Name,
	Summary: "ID5 Partner Graph files → id5_mapping_updates, id5_full_extracts, id5_mapping_base (view id5_mapping_current), id5_rejects",
	Help: "Reads INPUT/incremental/ and INPUT/full-extracts/ (per-partner and single-file layouts, plain or gzip),\n" +
		"new or changed files only (ledger), into id5_mapping_updates, id5_full_extracts, id5_extract_partners\n" +
		"and id5_rejects under OUTPUT, then rebuilds id5_mapping_base from those tables when it is due; the view\n" +
		"id5_mapping_current (vendorlake ddl) reads the base plus the incremental rows delivered after it.",
	Flags:  func() registry.Flags { return &flags{} },
	Tables: func() []hiveparquet.Table { return Tables() },
	Views:  Views,
	// The sample's UIDs belong to GVLID 35 (as in ID5's document).
	Sample: registry.Sample{Dir: "id5/sample", Args: []string{"--source-gvlid=35"}},
}

type flags struct {
	sel             Selection
	source, partner int
	maxShrink       float64
	rebuildShare    float64
	rebuildAge      time.Duration
	compactMinFiles int
}

func (f *flags) Register(fs *flag.FlagSet) {
	fs.Float64Var(&f.maxShrink, "max-extract-shrink", DefaultMaxExtractShrink,
		"largest share of a partner's current UIDs that a new full extract may lack and still commit (0..1; 1 also accepts an extract without a valid row for a partner it names)")
	fs.Float64Var(&f.rebuildShare, "base-rebuild-share", DefaultRebuildShare,
		"rebuild id5_mapping_base once the incremental rows delivered after it pass this share of its rows (0..1]; a new full extract, a late or re-pushed file always rebuild it")
	fs.DurationVar(&f.rebuildAge, "base-rebuild-age", DefaultRebuildAge,
		"rebuild id5_mapping_base when it is older than this and has incremental rows after it (0: never for its age)")
	fs.IntVar(&f.compactMinFiles, "compact-min-files", DefaultCompactMinFiles,
		"a rebuild of id5_mapping_base also rewrites every closed day of id5_mapping_updates with at least this many files into a few sorted files (0: never)")
	fs.IntVar(&f.source, "source-gvlid", 0, "GVLID of your UIDs, written as source_gvlid of per-partner rows (required)")
	fs.IntVar(&f.partner, "partner", 0, "read only the per-partner files of this partner GVLID (single-file deliveries are then not read)")
	fs.StringVar(&f.sel.From, "from", "", "first delivery day to read, YYYY-MM-DD (inclusive)")
	fs.StringVar(&f.sel.To, "to", "", "last delivery day to read, YYYY-MM-DD (inclusive)")
}

func (f *flags) Validate() error {
	if err := registry.CheckDates(f.sel.From, f.sel.To); err != nil {
		return err
	}
	if f.source <= 0 || f.source > math.MaxInt32 || f.partner < 0 || f.partner > math.MaxInt32 {
		return errors.New("--source-gvlid is required and, like --partner, must be a positive GVLID")
	}
	if f.maxShrink < 0 || f.maxShrink > 1 || math.IsNaN(f.maxShrink) {
		return fmt.Errorf("--max-extract-shrink=%g: want a number from 0 to 1", f.maxShrink)
	}
	if !(f.rebuildShare > 0 && f.rebuildShare <= 1) {
		return fmt.Errorf("--base-rebuild-share=%g: want a number above 0, at most 1", f.rebuildShare)
	}
	if f.compactMinFiles < 0 {
		return fmt.Errorf("--compact-min-files=%d: want 0 (never compact) or more", f.compactMinFiles)
	}
	if f.rebuildAge < 0 {
		return fmt.Errorf("--base-rebuild-age=%s: want a duration of 0 or more", f.rebuildAge)
	}
	return nil
}

func (f *flags) Pipeline(*run.Options) run.Pipeline {
	sel := f.sel
	sel.Partner = int32(f.partner)
	minFiles := f.compactMinFiles
	if minFiles == 0 {
		minFiles = -1 // the flag's 0 is "never"; the field's is the default
	}
	return Pipeline{SourceGVLID: int32(f.source), Selection: sel, MaxExtractShrink: f.maxShrink,
		RebuildShare: f.rebuildShare, RebuildAge: f.rebuildAge, CompactMinFiles: minFiles}
}
