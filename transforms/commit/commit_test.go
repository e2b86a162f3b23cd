package commit

import (
	"github.com/vendorlake/vendorlake/transforms"
	"github.com/vendorlake/vendorlake/transforms/lineparse"

	"fmt"
	"strings"
	"testing"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/ledger"
)

func TestSkipEmptyUnits(t *testing.T) {
	claim := func(table, part string) hiveparquet.Claim { return hiveparquet.Claim{Table: table, Partition: part} }
	guarded := func(key, part string, inputs int) transforms.Unit {
		u := transforms.Unit{Key: key, Claims: []hiveparquet.Claim{claim("t", part), claim("t_rejects", part)}}
		for i := 0; i < inputs; i++ {
			u.Inputs = append(u.Inputs, ledger.Input{Rel: fmt.Sprintf("%s/f%d", key, i)})
		}
		return u
	}
	tests := []struct {
		name    string
		units   []transforms.Unit
		stats   []transforms.FileStats
		kept    []string // unit keys kept
		skipped []string // "key: reason substring"
	}{
		{
			name:  "rows",
			units: []transforms.Unit{guarded("a", "p=a", 1)},
			stats: []transforms.FileStats{{Unit: "a", Counts: lineparse.Counts{RecordsIn: 2, RecordsOut: 2}}},
			kept:  []string{"a"},
		},
		{
			name:  "rejects only are evidence, not empty",
			units: []transforms.Unit{guarded("a", "p=a", 1)},
			stats: []transforms.FileStats{{Unit: "a", Counts: lineparse.Counts{RecordsIn: 1, Rejected: 1}}},
			kept:  []string{"a"},
		},
		{
			name:    "no input file",
			units:   []transforms.Unit{guarded("a", "p=a", 0), guarded("b", "p=b", 1)},
			stats:   []transforms.FileStats{{Unit: "b", Counts: lineparse.Counts{RecordsIn: 1, RecordsOut: 1}}},
			kept:    []string{"b"},
			skipped: []string{"a: no input file"},
		},
		{
			name:  "files without records (blank lines do not count)",
			units: []transforms.Unit{guarded("a", "p=a", 2)},
			// RecordsIn counts lines; blank lines are neither out nor rejected.
			stats:   []transforms.FileStats{{Unit: "a", Counts: lineparse.Counts{RecordsIn: 3}}, {Unit: "a"}},
			skipped: []string{"a: its 2 input files hold no record"},
		},
		{
			name:    "a proof archive without users file is not a record",
			units:   []transforms.Unit{guarded("a", "p=a", 1)},
			stats:   []transforms.FileStats{{Unit: "a", Counts: lineparse.Counts{RecordsIn: 5, RecordsOut: 5}, AttachmentKind: "proofs"}},
			skipped: []string{"a: its 1 input files hold no record"},
		},
		{
			name:  "unguarded units are committed even when empty",
			units: []transforms.Unit{{Key: "a"}},
			kept:  []string{"a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Units: tt.units, Skipped: []transforms.Skipped{{What: "x", Reason: "incomplete"}}}
			for _, u := range tt.units {
				cfg.Claims = append(cfg.Claims, u.Claims...)
			}
			cfg.Claims = append(cfg.Claims, claim("other", "p=z"))
			files := []hiveparquet.FileDesc{{Table: "t", Partition: "p=a"}, {Table: "t", Partition: "p=b"}}
			got, gotFiles := skipEmptyUnits(cfg, files, tt.stats)
			var kept []string
			for _, u := range got.Units {
				kept = append(kept, u.Key)
			}
			if fmt.Sprint(kept) != fmt.Sprint(tt.kept) {
				t.Errorf("units kept %v, want %v", kept, tt.kept)
			}
			var warnings []string
			for _, s := range got.Skipped[1:] {
				if !s.Warning || !strings.HasPrefix(s.Reason, ReasonEmpty) {
					t.Errorf("skipped %+v: not an empty-partition warning", s)
				}
				warnings = append(warnings, s.What+": "+s.Reason)
			}
			if len(warnings) != len(tt.skipped) {
				t.Fatalf("warnings %q, want %q", warnings, tt.skipped)
			}
			for i, w := range tt.skipped {
				key, why, _ := strings.Cut(w, ": ")
				if !strings.HasPrefix(warnings[i], key+": ") || !strings.Contains(warnings[i], why) {
					t.Errorf("warning %q, want %q", warnings[i], w)
				}
			}
			// The skipped units' claims and files are gone, the others stay.
			skippedParts := map[string]bool{}
			for _, w := range tt.skipped {
				key, _, _ := strings.Cut(w, ": ")
				skippedParts["p="+key] = true
			}
			want := 1 // the unrelated claim
			for _, u := range tt.units {
				if len(u.Claims) > 0 && !skippedParts["p="+u.Key] {
					want += len(u.Claims)
				}
			}
			if len(got.Claims) != want {
				t.Errorf("%d claims left, want %d: %v", len(got.Claims), want, got.Claims)
			}
			for _, c := range got.Claims {
				if skippedParts[c.Partition] {
					t.Errorf("claim %v of a skipped unit left", c)
				}
			}
			for _, f := range gotFiles {
				if skippedParts[f.Partition] {
					t.Errorf("file %v of a skipped unit left", f)
				}
			}
			if len(gotFiles)+len(skippedParts) < len(files) {
				t.Errorf("files %v: too many dropped", gotFiles)
			}
		})
	}
}

func TestSumAttachmentsAndHoldBack(t *testing.T) {
	proofTables := []string{"proofs", "proof_files"}
	stats := []transforms.FileStats{
		{Rel: "a/users.json.gz", Unit: "a", Partition: "p=a", Counts: lineparse.Counts{RecordsIn: 100, RecordsOut: 100}},
		{Rel: "a/proofs.tar.gz", Unit: "a", Partition: "p=a",
			Counts: lineparse.Counts{RecordsIn: 10, RecordsOut: 8, Rejected: 2, RejectsByReason: []lineparse.Count{{Name: "bad_name", N: 2}}}, AttachmentKind: "proofs", AttachmentTables: proofTables},
		{Rel: "b/proofs.tar.gz", Unit: "b", Partition: "p=b", Counts: lineparse.Counts{RecordsIn: 100, RecordsOut: 100}, AttachmentKind: "proofs", AttachmentTables: proofTables},
		{Rel: "c/proofs.tar.gz", Unit: "c", Partition: "p=c", AttachmentKind: "proofs", AttachmentTables: proofTables},
	}
	cases := []struct {
		bound    float64
		wantHeld string
	}{
		{0.5, "[]"},
		{0.2, "[]"}, // exactly at the bound still commits
		{0.19, "[p=a]"},
		{0, "[p=a]"}, // an empty archive is never over bound
	}
	for _, c := range cases {
		att := sumAttachments(stats, c.bound)
		var held []string
		for _, h := range att.HeldBack {
			held = append(held, h.Partition)
		}
		if fmt.Sprint(held) != c.wantHeld || att.EntriesIn != 110 || att.Rejected != 2 || att.Files != 3 {
			t.Errorf("bound %g: held %v (want %s), totals %+v", c.bound, held, c.wantHeld, att)
		}
	}
	if sumAttachments(stats[:1], 0) != nil {
		t.Error("no attachment inputs: want no attachment totals")
	}

	att := sumAttachments(stats, 0.01)
	files := []hiveparquet.FileDesc{
		{Table: "users", Partition: "p=a"}, {Table: "proofs", Partition: "p=a"}, {Table: "proof_files", Partition: "p=a", Name: "x.pdf"},
		{Table: "proofs", Partition: "p=b"}, {Table: "rejects", Partition: "p=a"},
	}
	claims := []hiveparquet.Claim{{Table: "users", Partition: "p=a"}, {Table: "proofs", Partition: "p=a"}, {Table: "proof_files", Partition: "p=a"},
		{Table: "proofs", Partition: "p=b"}, {Table: "rejects", Partition: "p=a"}}
	units := []transforms.Unit{
		{Key: "a", Inputs: []ledger.Input{{Rel: "a/users.json.gz"}, {Rel: "a/proofs.tar.gz.00"}, {Rel: "a/proofs.tar.gz.01"}}},
		{Key: "b", Inputs: []ledger.Input{{Rel: "b/proofs.tar.gz"}}},
	}
	f, cl, u := holdBack(att.HeldBack, stats, files, claims, units)
	if got := fmt.Sprint(f); got != fmt.Sprint([]hiveparquet.FileDesc{files[0], files[3], files[4]}) {
		t.Errorf("files %v", got)
	}
	if got := fmt.Sprint(cl); got != fmt.Sprint([]hiveparquet.Claim{claims[0], claims[3], claims[4]}) {
		t.Errorf("claims %v", got)
	}
	if got := fmt.Sprint(u); got != fmt.Sprint([]transforms.Unit{{Key: "a", Inputs: []ledger.Input{{Rel: "a/users.json.gz"}}}, units[1]}) {
		t.Errorf("units %v: the held-back archive's parts must leave the ledger entry", got)
	}
}

// holdUnreadable leaves out of the commit every unit with an unreadable
// record input: its claims, its files and its ledger entry, by partition
// (tables replaced whole) or by source (tables that append per input), and
// any unit that replaces a partition of a held unit.
func TestHoldUnreadable(t *testing.T) {
	tests := []struct {
		name      string
		stats     []transforms.FileStats
		units     []transforms.Unit
		claims    []hiveparquet.Claim
		files     []hiveparquet.FileDesc
		wantHeld  string // units held back
		wantUnits string
		wantFiles string // tables/partitions/sources of the files kept
		wantClaim string
	}{
		{
			name: "partition units",
			stats: []transforms.FileStats{
				{Rel: "a/1.gz", Unit: "a", Partition: "p=a"}, {Rel: "a/2.gz", Unit: "a", Partition: "p=a", Unreadable: "truncated"},
				{Rel: "b/1.gz", Unit: "b", Partition: "p=b"},
			},
			units:     []transforms.Unit{{Key: "a"}, {Key: "b"}},
			claims:    []hiveparquet.Claim{{Table: "t", Partition: "p=a"}, {Table: "r", Partition: "p=a"}, {Table: "t", Partition: "p=b"}},
			files:     []hiveparquet.FileDesc{{Table: "t", Partition: "p=a"}, {Table: "r", Partition: "p=a"}, {Table: "t", Partition: "p=b"}},
			wantHeld:  "[a]",
			wantUnits: "[b]",
			wantFiles: "[t/p=b/]",
			wantClaim: "[t/p=b/]",
		},
		{
			name: "per-input sources in a shared partition",
			stats: []transforms.FileStats{
				{Rel: "x.csv", Unit: "x.csv", Partition: "d=1", Source: "x.csv", Unreadable: "corrupt"},
				{Rel: "y.csv", Unit: "y.csv", Partition: "d=1", Source: "y.csv"},
			},
			units:     []transforms.Unit{{Key: "x.csv"}, {Key: "y.csv"}},
			claims:    []hiveparquet.Claim{{Table: "u", Partition: "d=1", Source: "x.csv"}, {Table: "e", Partition: "e=9", Source: "x.csv"}, {Table: "u", Partition: "d=1", Source: "y.csv"}},
			files:     []hiveparquet.FileDesc{{Table: "u", Partition: "d=1", Source: "x.csv"}, {Table: "u", Partition: "d=1", Source: "y.csv"}},
			wantHeld:  "[x.csv]",
			wantUnits: "[y.csv]",
			wantFiles: "[u/d=1/y.csv]",
			wantClaim: "[u/d=1/y.csv]",
		},
		{
			name: "a unit replacing a held partition",
			stats: []transforms.FileStats{
				{Rel: "a/1.gz", Unit: "a", Partition: "p=s", Unreadable: "truncated"},
				{Rel: "b/1.gz", Unit: "b", Partition: "p=s"}, {Rel: "c/1.gz", Unit: "c", Partition: "p=c"},
			},
			units:     []transforms.Unit{{Key: "a"}, {Key: "b"}, {Key: "c"}},
			claims:    []hiveparquet.Claim{{Table: "t", Partition: "p=s"}, {Table: "t", Partition: "p=c"}},
			files:     []hiveparquet.FileDesc{{Table: "t", Partition: "p=s"}, {Table: "t", Partition: "p=c"}},
			wantHeld:  "[a b]",
			wantUnits: "[c]",
			wantFiles: "[t/p=c/]",
			wantClaim: "[t/p=c/]",
		},
		{
			name: "an unreadable attachment is not a unit's",
			stats: []transforms.FileStats{
				{Rel: "a/1.gz", Unit: "a", Partition: "p=a"},
				{Rel: "a/proofs.tar.gz", Unit: "a", Partition: "p=a", Unreadable: "corrupt", AttachmentKind: "proofs", AttachmentTables: []string{"proofs"}},
			},
			units:     []transforms.Unit{{Key: "a"}},
			claims:    []hiveparquet.Claim{{Table: "t", Partition: "p=a"}},
			files:     []hiveparquet.FileDesc{{Table: "t", Partition: "p=a"}},
			wantHeld:  "[]",
			wantUnits: "[a]",
			wantFiles: "[t/p=a/]",
			wantClaim: "[t/p=a/]",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, files, held := holdUnreadable(Config{Units: tt.units, Claims: tt.claims}, tt.files, tt.stats)
			var heldUnits, units, kept, claims []string
			for _, h := range held {
				if h.Reason != transforms.HeldUnreadable || h.Error == "" {
					t.Errorf("held back %+v", h)
				}
				heldUnits = append(heldUnits, h.Unit)
			}
			for _, u := range cfg.Units {
				units = append(units, u.Key)
			}
			for _, f := range files {
				kept = append(kept, f.Table+"/"+f.Partition+"/"+f.Source)
			}
			for _, c := range cfg.Claims {
				claims = append(claims, c.Table+"/"+c.Partition+"/"+c.Source)
			}
			for _, c := range []struct{ what, got, want string }{
				{"held", fmt.Sprint(heldUnits), tt.wantHeld}, {"units", fmt.Sprint(units), tt.wantUnits},
				{"files", fmt.Sprint(kept), tt.wantFiles}, {"claims", fmt.Sprint(claims), tt.wantClaim},
			} {
				if c.got != c.want {
					t.Errorf("%s %s, want %s", c.what, c.got, c.want)
				}
			}
		})
	}
}
