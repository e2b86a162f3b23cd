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
}

// partition is one export-id/date folder found in the input tree.
type partition struct {
	dir      string // relative folder of the partition, e.g. data/export-id=a/date=2024-03-01
	exportID string
	date     string
	success  bool
	files    []lakefs.FileInfo
	others   []string
}

// Discover lists the input tree and selects what a run reads: the users/
// files (every *.json.gz, whatever its name) of every partition
// export-id=ID/date=YYYY-MM-DD (at any depth below input) that is complete
// (_SUCCESS in the partition folder or in users/), selected, and not
// already committed with the same files (per the ledger). Everything left
// out is listed in Skipped with the reason.
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
		case strings.HasPrefix(rest, "users/") && strings.HasSuffix(rest, ".json.gz") && !strings.Contains(rest[len("users/"):], "/"):
			p.files = append(p.files, fi)
		default:
			p.others = append(p.others, rest)
		}
	}
	dirs := make([]string, 0, len(parts))
	for d := range parts {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
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
		if sel.ExportID != "" && p.exportID != sel.ExportID {
			continue // not selected: not worth a line in the report
		}
		if (sel.From != "" && p.date < sel.From) || (sel.To != "" && p.date > sel.To) {
			continue
		}
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
		if e, ok := led[p.dir]; ok && !sel.Reprocess && e.Same(inputs) {
			skip("unchanged since run " + e.RunID + " committed it")
			continue
		}
		for _, o := range p.others {
			if !strings.HasPrefix(path.Base(o), "proofs.tar.gz.") && !strings.HasPrefix(o, "proofs/") {
				plan.Skipped = append(plan.Skipped, transforms.Skipped{What: path.Join(p.dir, o), Reason: "not a users/*.json.gz file"})
			}
		}
		plan.Files = append(plan.Files, files...)
		plan.Units = append(plan.Units, transforms.Unit{Key: p.dir, Inputs: inputs})
		for _, t := range []string{UsersTable, EventsTable, RejectsTable} {
			plan.Claims = append(plan.Claims, hiveparquet.Claim{Table: t, Partition: part})
		}
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
