package didomi

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/ledger"
	"github.com/vendorlake/vendorlake/io/splittar"
	"github.com/vendorlake/vendorlake/transforms"
)

// Selection narrows the partitions a run reads.
type Selection struct {
	// ExportID keeps only this export-id (empty: all).
	ExportID string
	// From and To keep dates in [From, To] (YYYY-MM-DD, inclusive; empty: open).
	From, To string
	// Reprocess ignores the ledger.
	Reprocess bool
	// Proofs also reads each selected partition's proof archive
	// (proofs.tar.gz.NN in the partition folder or in proofs/).
	Proofs bool
}

// partition is one export-id/date folder found in the input tree.
type partition struct {
	dir      string // relative folder of the partition, e.g. data/export-id=a/date=2024-03-01
	exportID string
	date     string
	success  bool
	files    []lakefs.FileInfo
	proofs   []lakefs.FileInfo
	others   []string
}

// Layout is the input layout Discover reads, as the run names it when
// nothing under the input matches.
const Layout = "export-id=ID/date=YYYY-MM-DD/users/*.json.gz (at any depth)"

// Discover lists the input tree and selects what a run reads: every
// *.json.gz file, whatever its name, in the partition folder or any
// sub-folder of it (users/ is the documented one; see isUsersFile for the
// helper folders left out) of every partition export-id=ID/date=YYYY-MM-DD
// (at any depth below input) that is complete (_SUCCESS in the partition
// folder or in users/), selected, and not already committed with the same
// files (per the ledger). Everything left out is listed in Skipped with the
// reason; Found holds what was there besides (the partitions, export-ids
// and dates, for the run to judge a selection of nothing). A complete
// partition is claimed even without a file: the commit keeps its previous
// contents, with a warning, when it yields no record
// (transforms.Unit.Claims), unless --allow-empty-partitions.
func Discover(ctx context.Context, fsys lakefs.FS, input string, sel Selection, led map[string]ledger.Entry) (transforms.Plan, error) {
	all, err := fsys.List(ctx, input)
	if err != nil {
		return transforms.Plan{}, err
	}
	parts := map[string]*partition{}
	var plan transforms.Plan
	for _, fi := range all {
		rel, ok := lakefs.Rel(input, fi.Path)
		if !ok {
			continue
		}
		dir, exportID, date, rest, ok := splitPartition(rel)
		if !ok {
			continue // not below a Didomi partition: other data in the bucket
		}
		p := parts[dir]
		if p == nil {
			p = &partition{dir: dir, exportID: exportID, date: date}
			parts[dir] = p
		}
		switch {
		case rest == "_SUCCESS" || rest == "users/_SUCCESS":
			p.success = true
		case isUsersFile(rest):
			p.files = append(p.files, fi)
		case sel.Proofs && isProofPart(rest):
			p.proofs = append(p.proofs, fi)
		default:
			p.others = append(p.others, rest)
		}
	}
	dirs := make([]string, 0, len(parts))
	for d := range parts {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	plan.Found.Layout = Layout
	exportIDs, dates, inRange := map[string]bool{}, map[string]bool{}, false
	for _, d := range dirs {
		p := parts[d]
		skip := func(reason string) {
			plan.Skipped = append(plan.Skipped, transforms.Skipped{What: p.dir, Reason: reason})
		}
		if _, err := time.Parse("2006-01-02", p.date); err != nil {
			skip(fmt.Sprintf("date %q is not YYYY-MM-DD", p.date))
			continue
		}
		if p.exportID == "" {
			skip("empty export-id")
			continue
		}
		plan.Found.Units++
		exportIDs[p.exportID] = true
		if sel.ExportID != "" && p.exportID != sel.ExportID {
			continue // not selected: not worth a line in the report
		}
		dates[p.date] = true
		if (sel.From != "" && p.date < sel.From) || (sel.To != "" && p.date > sel.To) {
			continue
		}
		inRange = true
		if !p.success {
			skip("incomplete: no _SUCCESS marker yet")
			continue
		}
		var inputs []ledger.Input
		var files []transforms.InputFile
		part, err := hiveparquet.PartitionPath([]string{"export_id", "date"}, p.exportID, p.date)
		if err != nil {
			return plan, err
		}
		for _, fi := range p.files {
			rel, _ := lakefs.Rel(input, fi.Path)
			in := transforms.InputFile{Path: fi.Path, Rel: rel, Size: fi.Size, ModTime: fi.ModTime.UnixMicro(), ETag: fi.ETag, Partition: part, Unit: p.dir}
			files = append(files, in)
			inputs = append(inputs, in.LedgerInput())
		}
		if sel.Proofs {
			archive, parts, ignored, err := proofArchive(input, p, part)
			if err != nil {
				return plan, err
			}
			plan.Skipped = append(plan.Skipped, ignored...)
			if archive != nil {
				files = append(files, *archive)
				inputs = append(inputs, parts...)
			}
		}
		if e, ok := led[p.dir]; ok && !sel.Reprocess && e.Same(inputs) {
			skip("unchanged since run " + e.RunID + " committed it")
			continue
		}
		for _, o := range p.others {
			if !strings.HasPrefix(path.Base(o), "proofs.tar.gz") && !strings.HasPrefix(o, "proofs/") {
				plan.Skipped = append(plan.Skipped, transforms.Skipped{What: path.Join(p.dir, o), Reason: "not a .json.gz file (or in a folder starting with _ or .)"})
			}
		}
		plan.Files = append(plan.Files, files...)
		var claims []hiveparquet.Claim
		for _, t := range []string{UsersTable, EventsTable, RejectsTable} {
			claims = append(claims, hiveparquet.Claim{Table: t, Partition: part})
		}
		if sel.Proofs {
			// Claimed even without an archive: proofs the vendor no longer
			// exports leave the lake too.
			for _, t := range []string{ProofsTable, ProofCheckTable, ProofFilesTable} {
				claims = append(claims, hiveparquet.Claim{Table: t, Partition: part})
			}
		}
		plan.Claims = append(plan.Claims, claims...)
		plan.Units = append(plan.Units, transforms.Unit{Key: p.dir, Inputs: inputs, Claims: claims})
	}
	if sel.ExportID != "" {
		plan.Found.Filters = append(plan.Found.Filters, transforms.ValueFilter("--export-id", sel.ExportID, "export-ids", exportIDs))
	}
	if sel.From != "" || sel.To != "" {
		plan.Found.Filters = append(plan.Found.Filters, transforms.DateFilter(sel.From, sel.To, dates, inRange))
	}
	return plan, nil
}

// splitPartition finds export-id=ID/date=D in rel and returns the partition
// folder, its values and the rest of the path below it.
func splitPartition(rel string) (dir, exportID, date, rest string, ok bool) {
	segs := strings.Split(rel, "/")
	for i := 0; i+1 < len(segs); i++ {
		if strings.HasPrefix(segs[i], "export-id=") && strings.HasPrefix(segs[i+1], "date=") && i+2 < len(segs) {
			return strings.Join(segs[:i+2], "/"), segs[i][len("export-id="):], segs[i+1][len("date="):], strings.Join(segs[i+2:], "/"), true
		}
	}
	return "", "", "", "", false
}

// isUsersFile reports whether rest (a path below a partition folder) is a
// users file to read: a name ending in .json.gz, in the partition folder or
// in any sub-folder, as the vendor asks to "read every .json.gz file in the
// partition folder". Files and folders whose name starts with '_' or '.'
// (_temporary/ of an unfinished copy, .hidden work files) are left out:
// they are not part of the export.
func isUsersFile(rest string) bool {
	if !strings.HasSuffix(rest, ".json.gz") {
		return false
	}
	for _, seg := range strings.Split(rest, "/") {
		if seg == "" || strings.HasPrefix(seg, "_") || strings.HasPrefix(seg, ".") {
			return false
		}
	}
	return true
}

// isProofPart reports whether rest (a path below a partition folder) is a
// part of the proof archive: proofs.tar.gz.NN, or the whole proofs.tar.gz,
// in the partition folder or in proofs/.
func isProofPart(rest string) bool {
	name := strings.TrimPrefix(rest, "proofs/")
	if name == joinedProofArchive {
		return true
	}
	if strings.Contains(name, "/") || !strings.HasPrefix(name, "proofs.tar.gz.") {
		return false
	}
	_, _, ok := splittar.PartNumber(name)
	return ok
}

// proofArchive returns the InputFile standing for the partition's proof
// archive (nil when it has none) and the ledger identities of its parts. A
// gap in the part numbers, or two archives in one partition, is an error
// naming the archive and the part.
func proofArchive(input string, p *partition, part string) (*transforms.InputFile, []ledger.Input, []transforms.Skipped, error) {
	if len(p.proofs) == 0 {
		return nil, nil, nil, nil
	}
	var parts, joined []splittar.Part
	byRel := map[string]lakefs.FileInfo{}
	for _, fi := range p.proofs {
		rel, _ := lakefs.Rel(input, fi.Path)
		sp := splittar.Part{Path: fi.Path, Rel: rel, Size: fi.Size}
		if path.Base(rel) == joinedProofArchive {
			joined = append(joined, sp)
		} else {
			parts = append(parts, sp)
		}
		byRel[rel] = fi
	}
	groups, skipped, err := proofGroups(p.dir, parts, joined)
	if err != nil {
		return nil, nil, nil, err
	}
	if len(groups) > 1 {
		return nil, nil, nil, fmt.Errorf("partition %s: two proof archives, %s and %s", p.dir, groups[0].Prefix, groups[1].Prefix)
	}
	g := groups[0]
	in := transforms.InputFile{Path: lakefs.Join(input, g.Prefix), Rel: g.Prefix, Partition: part, Unit: p.dir}
	var inputs []ledger.Input
	for _, sp := range g.Parts {
		fi := byRel[sp.Rel]
		in.Size += sp.Size
		if m := fi.ModTime.UnixMicro(); m > in.ModTime {
			in.ModTime = m
		}
		in.Parts = append(in.Parts, transforms.FilePart{Path: sp.Path, Rel: sp.Rel, Size: sp.Size})
		inputs = append(inputs, ledger.Input{Rel: sp.Rel, Size: sp.Size, ModTime: fi.ModTime.UnixMicro(), ETag: fi.ETag})
	}
	return &in, inputs, skipped, nil
}
