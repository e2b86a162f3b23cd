package transforms

import (
	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/ledger"
)

// Plan is what a run will read and replace, as decided by a pipeline's
// discovery step before the Beam graph is built.
type Plan struct {
	// Files are the input files to read.
	Files []InputFile `json:"files"`
	// Units are the ledger units the files belong to.
	Units []Unit `json:"units"`
	// Claims are the partitions (or sources) the run replaces.
	Claims []hiveparquet.Claim `json:"claims"`
	// Skipped are inputs left out, with the reason.
	Skipped []Skipped `json:"skipped"`
	// Found is what discovery saw besides what it selected, for the run to
	// judge a plan that selects nothing (see Found).
	Found Found `json:"-"`
	// State is what the pipeline's discovery found that its Read needs
	// (ID5: the lake's partner states, the rebuild's shards); the runner
	// hands the plan to Read. Nil for most pipelines.
	State any `json:"-"`
}

// Unit is a set of inputs committed together, with the ledger key they are
// recorded under.
type Unit struct {
	Key    string         `json:"key"`
	Inputs []ledger.Input `json:"inputs"`
	// Claims, when set, are the partitions this unit replaces (they are
	// also in Plan.Claims), and guard them against a silent wipe: when the
	// unit's inputs yield no record at all (none written, none rejected;
	// blank lines do not count), the commit leaves these partitions and the
	// unit's ledger entry alone and lists the unit in the report's Skipped
	// as a warning, unless commit.Config.AllowEmpty.
	Claims []hiveparquet.Claim `json:"claims,omitempty"`
}
