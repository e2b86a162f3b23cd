package id5

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/ledger"
	"github.com/vendorlake/vendorlake/transforms"
)

// Selection narrows the files a run reads.
type Selection struct {
	// Partner keeps only the per-partner files of this partner GVLID (0: all).
	// Single-file deliveries mix partners and are all-or-nothing per file,
	// so a run with a Partner does not read them.
	Partner int32
	// From and To keep files whose delivery (or extract) day is in
	// [From, To] (YYYY-MM-DD, UTC, inclusive; empty: open).
	From, To string
	// Reprocess ignores the ledger.
	Reprocess bool
}

// classifyRel classifies an input path; a ".gz" after the ".csv" is
// allowed (content is sniffed anyway) and kept in File.Path.
func classifyRel(rel string) (File, error) {
	f, err := ClassifyPath(strings.TrimSuffix(rel, ".gz"))
	if err != nil {
		return f, err
	}
	f.Path = rel
	return f, nil
}

// Layout is the input layout Discover reads, as the run names it when
// nothing under the input matches.
const Layout = "incremental/[PARTNER_GVLID/]YYYYMMDD/HHMMSS.csv or full-extracts/[PARTNER_GVLID/]DATETIME.csv (plain or .gz)"

// Discover lists the input tree and plans the ingest: every file of the
// four ID5 layouts (incremental/ and full-extracts/, per-partner and
// single-file, told apart by path shape) that is selected and not already
// committed with the same size, mtime and ETag. Each file is its own ledger
// unit and its own source in every idempotent-append table, so a re-pushed
// file replaces exactly its own rows. Paths under incremental/ or
// full-extracts/ that no layout matches (an extract name that cannot be
// dated, a stray file) are listed in Skipped with the reason; the rest of
// the bucket is ignored. Found holds the files, partners and days present,
// for the run to judge a selection of nothing.
func Discover(ctx context.Context, fsys lakefs.FS, input string, sel Selection, led map[string]ledger.Entry) (transforms.Plan, error) {
	all, err := fsys.List(ctx, input)
	if err != nil {
		return transforms.Plan{}, err
	}
	plan := transforms.Plan{Found: transforms.Found{Layout: Layout}}
	partners, days, inRange := map[string]bool{}, map[string]bool{}, false
	unchanged := 0
	for _, fi := range all {
		rel, ok := lakefs.Rel(input, fi.Path)
		if !ok {
			continue
		}
		df, err := classifyRel(rel)
		if errors.Is(err, ErrNotID5Path) {
			continue // other data in the bucket
		}
		if err != nil {
			why := err
			if inner := errors.Unwrap(err); inner != nil {
				why = inner // ClassifyPath's message without the path again
			}
			plan.Skipped = append(plan.Skipped, transforms.Skipped{What: rel, Reason: "not read, no ID5 layout matches: " + why.Error()})
			continue
		}
		plan.Found.Units++
		if df.PartnerGVLID != 0 {
			partners[strconv.Itoa(int(df.PartnerGVLID))] = true
		}
		if sel.Partner != 0 && df.PartnerGVLID != sel.Partner {
			continue // not selected: not worth a line in the report
		}
		day := df.DeliveredAt.Format("2006-01-02")
		days[day] = true
		if (sel.From != "" && day < sel.From) || (sel.To != "" && day > sel.To) {
			continue
		}
		inRange = true
		in := transforms.InputFile{Path: fi.Path, Rel: rel, Size: fi.Size, ModTime: fi.ModTime.UnixMicro(), ETag: fi.ETag,
			Partition: datePartition(datePartitions, day), Unit: rel, Source: rel}
		inputs := []ledger.Input{in.LedgerInput()}
		if e, ok := led[rel]; ok && !sel.Reprocess && e.Same(inputs) {
			unchanged++
			continue
		}
		plan.Files = append(plan.Files, in)
		plan.Units = append(plan.Units, transforms.Unit{Key: rel, Inputs: inputs})
		plan.Claims = append(plan.Claims, hiveparquet.Claim{Table: RejectsTable, Partition: in.Partition, Source: rel})
		if df.Kind.Full() {
			p := datePartition(extractDatePartitions, day)
			plan.Claims = append(plan.Claims,
				hiveparquet.Claim{Table: ExtractsTable, Partition: p, Source: rel},
				hiveparquet.Claim{Table: ExtractPartnersTable, Partition: p, Source: rel})
		} else {
			plan.Claims = append(plan.Claims, hiveparquet.Claim{Table: UpdatesTable, Partition: in.Partition, Source: rel})
		}
	}
	if unchanged > 0 {
		// One line, not one per file: a bucket holds thousands of them.
		plan.Skipped = append(plan.Skipped, transforms.Skipped{What: fmt.Sprintf("%d ID5 files", unchanged),
			Reason: "unchanged since the runs that committed them (see the ledger)"})
	}
	sort.Slice(plan.Files, func(i, j int) bool { return plan.Files[i].Rel < plan.Files[j].Rel })
	if sel.Partner != 0 {
		plan.Found.Filters = append(plan.Found.Filters,
			transforms.ValueFilter("--partner", strconv.Itoa(int(sel.Partner)), "per-partner GVLIDs", partners))
	}
	if sel.From != "" || sel.To != "" {
		plan.Found.Filters = append(plan.Found.Filters, transforms.DateFilter(sel.From, sel.To, days, inRange))
	}
	return plan, nil
}
