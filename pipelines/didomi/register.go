package didomi

import (
	"flag"
	"fmt"

	"github.com/vendorlake/vendorlake/pipelines/registry"
	"github.com/vendorlake/vendorlake/pipelines/run"
)

// Vendor is the pipeline's registration with the vendorlake command.
var Vendor = registry.Vendor{
	Name:    Name,
	Summary: "Didomi batch export (users, events, proofs) → didomi_users, didomi_events, didomi_rejects, didomi_proofs, didomi_proof_check, didomi_proof_files/",
	Help: "Reads INPUT/export-id=ID/date=YYYY-MM-DD/users/*.json.gz (and proofs.tar.gz.NN) from complete partitions (_SUCCESS)\n" +
		"and writes didomi_users, didomi_events, didomi_rejects and the proof tables under OUTPUT.",
	Flags:  func() registry.Flags { return &flags{} },
	Tables: Tables,
	Sample: registry.Sample{Dir: "didomi"},
}

// flags are the command's own flags.
type flags struct {
	sel             Selection
	maxProofRejects float64
}

func (f *flags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.sel.ExportID, "export-id", "", "read only this export-id")
	fs.StringVar(&f.sel.From, "from", "", "first date to read, YYYY-MM-DD (inclusive)")
	fs.StringVar(&f.sel.To, "to", "", "last date to read, YYYY-MM-DD (inclusive)")
	fs.BoolVar(&f.sel.Proofs, "proofs", true, "also read the proof archives (proofs.tar.gz.NN) into didomi_proof_files, didomi_proofs and didomi_proof_check")
	fs.Float64Var(&f.maxProofRejects, "max-proof-reject-ratio", 0.01, "largest share of rejected entries in a partition's proof archive that still commits its proof tables (0..1); over it, the partition's users and events are committed, its proof tables keep their previous contents, and the run exits 5")
}

func (f *flags) Validate() error {
	if err := registry.CheckDates(f.sel.From, f.sel.To); err != nil {
		return err
	}
	if f.maxProofRejects < 0 || f.maxProofRejects > 1 {
		return fmt.Errorf("--max-proof-reject-ratio=%g: want a number from 0 to 1", f.maxProofRejects)
	}
	return nil
}

func (f *flags) Pipeline(o *run.Options) run.Pipeline {
	o.MaxAttachmentRejectRatio = f.maxProofRejects
	return Pipeline{Selection: f.sel}
}
