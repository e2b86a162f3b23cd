package commit

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/transforms"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

// holdUnreadable drops from cfg the units with an unreadable record input
// (transforms.FileStats.Unreadable on an input that is not an attachment) and returns
// them: their claims and any file written for them (the unreadable file's
// rows up to its error, its rejects, the unit's other files) leave the
// commit, so their partitions keep their previous contents, and so do their
// ledger entries, so that the next run reads them again. What a unit
// replaces is the partitions of its inputs (or, for tables that append per
// input, its inputs' sources) and its transforms.Unit.Claims; a unit that replaces a
// partition of a held unit is held back with it (replacing the partition
// without the held unit's rows would lose them).
func holdUnreadable(cfg Config, files []hiveparquet.FileDesc, stats []transforms.FileStats) (Config, []hiveparquet.FileDesc, []transforms.HeldBack) {
	first := map[string]int{} // unit -> index in stats of its first unreadable input
	for i, st := range stats {
		if st.Unreadable == "" || st.AttachmentKind != "" {
			continue
		}
		if j, ok := first[st.Unit]; !ok || st.Rel < stats[j].Rel {
			first[st.Unit] = i
		}
	}
	if len(first) == 0 {
		return cfg, files, nil
	}
	parts := map[string][]string{}
	sources := map[string][]string{}
	for _, st := range stats {
		parts[st.Unit] = append(parts[st.Unit], st.Partition)
		if st.Source != "" {
			sources[st.Unit] = append(sources[st.Unit], st.Source)
		}
	}
	// Partitions replaced whole (claims without a source).
	whole := map[string]bool{}
	for _, c := range cfg.Claims {
		if c.Source == "" {
			whole[c.Partition] = true
		}
	}
	heldParts, heldSources := map[string]bool{}, map[string]bool{}
	drop := map[hiveparquet.Claim]bool{}
	var held []transforms.HeldBack
	hold := func(u transforms.Unit, h transforms.HeldBack) {
		held = append(held, h)
		for _, p := range parts[u.Key] {
			heldParts[p] = true
		}
		for _, src := range sources[u.Key] {
			heldSources[src] = true
		}
		for _, c := range u.Claims {
			drop[c] = true
		}
	}
	isHeld := map[string]bool{}
	for _, u := range cfg.Units {
		if i, ok := first[u.Key]; ok {
			st := stats[i]
			hold(u, transforms.HeldBack{Reason: transforms.HeldUnreadable, Unit: u.Key, Partition: st.Partition, File: st.Rel, Error: st.Unreadable})
			isHeld[u.Key] = true
		}
	}
	for changed := true; changed; {
		changed = false
		for _, u := range cfg.Units {
			if isHeld[u.Key] {
				continue
			}
			for _, p := range parts[u.Key] {
				if heldParts[p] && whole[p] {
					hold(u, transforms.HeldBack{Reason: transforms.HeldUnreadable, Unit: u.Key, Partition: p,
						Error: fmt.Sprintf("replaces partition %s with a unit held back", p)})
					isHeld[u.Key], changed = true, true
					break
				}
			}
		}
	}
	owned := func(partition, source string) bool {
		if source != "" {
			return heldSources[source]
		}
		return heldParts[partition]
	}
	var keptClaims []hiveparquet.Claim
	for _, c := range cfg.Claims {
		if !drop[c] && !owned(c.Partition, c.Source) {
			keptClaims = append(keptClaims, c)
		}
	}
	var keptFiles []hiveparquet.FileDesc
	for _, f := range files {
		if !drop[hiveparquet.Claim{Table: f.Table, Partition: f.Partition, Source: f.Source}] && !owned(f.Partition, f.Source) {
			keptFiles = append(keptFiles, f)
		}
	}
	var keptUnits []transforms.Unit
	for _, u := range cfg.Units {
		if !isHeld[u.Key] {
			keptUnits = append(keptUnits, u)
		}
	}
	cfg.Claims, cfg.Units = keptClaims, keptUnits
	return cfg, keptFiles, held
}

// heldAttachments returns the partitions whose attachment tables the
// commit holds back, of the inputs in stats: those over their bound (att,
// transforms.HeldProofRejects) and those with an unreadable attachment input
// (transforms.HeldUnreadable), in partition order.
func heldAttachments(att *transforms.AttachmentTotals, stats []transforms.FileStats) []transforms.HeldBack {
	if att == nil {
		return nil
	}
	inStats := map[string]bool{}
	for _, st := range stats {
		inStats[st.Partition] = true
	}
	var held []transforms.HeldBack
	over := map[string]bool{}
	for _, h := range att.HeldBack {
		if inStats[h.Partition] {
			held = append(held, h)
			over[h.Partition] = true
		}
	}
	for _, st := range stats {
		if st.AttachmentKind == "" || st.Unreadable == "" || over[st.Partition] {
			continue
		}
		tables := append([]string(nil), st.AttachmentTables...)
		sort.Strings(tables)
		held = append(held, transforms.HeldBack{Reason: transforms.HeldUnreadable, Partition: st.Partition, Unit: st.Unit, Tables: tables,
			File: st.Rel, Error: st.Unreadable})
		over[st.Partition] = true
	}
	sort.SliceStable(held, func(i, j int) bool { return held[i].Partition < held[j].Partition })
	return held
}

// ReasonEmpty starts the reason of a unit that the commit skipped because
// its inputs yielded no record at all.
const ReasonEmpty = "empty: complete but yields no record"

// skipEmptyUnits drops from cfg the guarded units (transforms.Unit.Claims set) whose
// inputs yielded no record (RecordsOut+Rejected == 0 over all of them,
// attachments such as proof archives left out, or no input at all): their
// claims, their ledger entries and any file written into their partitions,
// so their previous contents stay and a corrected drop is read by the next
// run. Each is added to cfg.Skipped as a warning.
func skipEmptyUnits(cfg Config, files []hiveparquet.FileDesc, stats []transforms.FileStats) (Config, []hiveparquet.FileDesc) {
	records := map[string]int64{}
	for _, st := range stats {
		if st.AttachmentKind != "" {
			// A proof archive is not a record: a partition with an archive
			// but no users file must not replace its users with nothing.
			continue
		}
		records[st.Unit] += st.RecordsOut + st.Rejected
	}
	drop := map[hiveparquet.Claim]bool{}
	var units []transforms.Unit
	skipped := append([]transforms.Skipped(nil), cfg.Skipped...)
	for _, u := range cfg.Units {
		if len(u.Claims) == 0 || records[u.Key] > 0 {
			units = append(units, u)
			continue
		}
		for _, c := range u.Claims {
			drop[c] = true
		}
		why := "no input file"
		if len(u.Inputs) > 0 {
			why = fmt.Sprintf("its %d input files hold no record", len(u.Inputs))
		}
		skipped = append(skipped, transforms.Skipped{What: u.Key, Warning: true,
			Reason: fmt.Sprintf("%s (%s): not committed, its previous contents stay; --allow-empty-partitions commits it empty", ReasonEmpty, why)})
	}
	if len(drop) == 0 {
		return cfg, files
	}
	files, cfg.Claims = withoutPartitions(drop, files, cfg.Claims)
	cfg.Units, cfg.Skipped = units, skipped
	return cfg, files
}

// withoutPartitions returns files and claims less those of the table
// partitions in drop: their new files are not published and their
// previous files stay.
func withoutPartitions(drop map[hiveparquet.Claim]bool, files []hiveparquet.FileDesc, claims []hiveparquet.Claim) ([]hiveparquet.FileDesc, []hiveparquet.Claim) {
	var keptFiles []hiveparquet.FileDesc
	for _, f := range files {
		if !drop[hiveparquet.Claim{Table: f.Table, Partition: f.Partition}] {
			keptFiles = append(keptFiles, f)
		}
	}
	var keptClaims []hiveparquet.Claim
	for _, c := range claims {
		if !drop[c] {
			keptClaims = append(keptClaims, c)
		}
	}
	return keptFiles, keptClaims
}

// sumAttachments sums the attachment inputs of stats (nil when there are
// none) and decides which partitions are over bound.
func sumAttachments(stats []transforms.FileStats, bound float64) *transforms.AttachmentTotals {
	var att *transforms.AttachmentTotals
	byPart := map[string]*transforms.HeldBack{}
	var order []string
	for _, s := range stats {
		if s.AttachmentKind == "" {
			continue
		}
		if att == nil {
			att = &transforms.AttachmentTotals{Kind: s.AttachmentKind, MaxRejectRatio: bound}
		}
		att.Files++
		att.EntriesIn += s.RecordsIn
		att.EntriesOut += s.RecordsOut
		att.Rejected += s.Rejected
		att.RejectsByReason = lineparse.MergeCounts(att.RejectsByReason, s.RejectsByReason)
		h := byPart[s.Partition]
		if h == nil {
			h = &transforms.HeldBack{Reason: transforms.HeldProofRejects, Partition: s.Partition, Unit: s.Unit}
			byPart[s.Partition] = h
			order = append(order, s.Partition)
		}
		h.EntriesIn += s.RecordsIn
		h.Rejected += s.Rejected
		for _, t := range s.AttachmentTables {
			if !slices.Contains(h.Tables, t) {
				h.Tables = append(h.Tables, t)
			}
		}
	}
	if att == nil {
		return nil
	}
	sort.Slice(att.RejectsByReason, func(i, j int) bool { return att.RejectsByReason[i].Name < att.RejectsByReason[j].Name })
	sort.Strings(order)
	for _, p := range order {
		h := byPart[p]
		if h.EntriesIn > 0 {
			h.RejectRatio = float64(h.Rejected) / float64(h.EntriesIn)
		}
		if h.RejectRatio > bound {
			sort.Strings(h.Tables)
			att.HeldBack = append(att.HeldBack, *h)
		}
	}
	return att
}

// holdBack leaves the attachment tables of the held-back partitions out of
// the commit: their new files are not published (the temporary area is
// removed with the rest), their claims are dropped so that their previous
// files stay, and the attachment inputs leave the ledger entry of their
// unit, so that the next run reads the partition again.
func holdBack(held []transforms.HeldBack, stats []transforms.FileStats, files []hiveparquet.FileDesc, claims []hiveparquet.Claim, units []transforms.Unit) ([]hiveparquet.FileDesc, []hiveparquet.Claim, []transforms.Unit) {
	hold := map[hiveparquet.Claim]bool{}
	for _, h := range held {
		for _, t := range h.Tables {
			hold[hiveparquet.Claim{Table: t, Partition: h.Partition}] = true
		}
	}
	keptFiles, keptClaims := withoutPartitions(hold, files, claims)
	// An attachment input's ledger identities are its own name or, when
	// split, its parts' (NAME.00, NAME.01, ...).
	drop := map[string][]string{}
	for _, s := range stats {
		if s.AttachmentKind != "" && slices.ContainsFunc(held, func(h transforms.HeldBack) bool { return h.Partition == s.Partition }) {
			drop[s.Unit] = append(drop[s.Unit], s.Rel)
		}
	}
	keptUnits := make([]transforms.Unit, 0, len(units))
	for _, u := range units {
		rels := drop[u.Key]
		if len(rels) == 0 {
			keptUnits = append(keptUnits, u)
			continue
		}
		nu := u
		nu.Inputs = nil
		for _, in := range u.Inputs {
			if !slices.ContainsFunc(rels, func(r string) bool { return in.Rel == r || strings.HasPrefix(in.Rel, r+".") }) {
				nu.Inputs = append(nu.Inputs, in)
			}
		}
		keptUnits = append(keptUnits, nu)
	}
	return keptFiles, keptClaims, keptUnits
}
