package audiencestudio

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vendorlake/vendorlake/io/decompress"
	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/ledger"
	"github.com/vendorlake/vendorlake/transforms"
)

// Path conventions (relative to the input root, which is the client's
// folder s3://krux-partners/client-NAME/):
//
//	uploads/consent-data/YYYY-MM-DD/ANY_NAME[.gz|.lzo]  consent request files
//	uploads/consent-data/YYYY-MM-DD/ANY_NAME.lzo.index  hadoop-lzo index of ANY_NAME.lzo
//	portability/REQUEST_ID/YYYY-MM-DD/DATA_SOURCE/BK/KUID  feed files (BK: one or more folders, see ParseBKFolder)
//	portability/REQUEST_ID/YYYY-MM-DD/_SUCCESS          the request/day is complete
//	portability/REQUEST_ID/_SUCCESS                     every day of the request is complete
//
// Names that begin with '_' are data like any other; only _SUCCESS,
// _temporary (Hadoop's markers) and dot-files are not (see notData).
const (
	RequestsDir    = "uploads/consent-data"
	PortabilityDir = "portability"
)

// The layouts the discoveries read, as the run names them when nothing
// under the input matches.
const (
	RequestsLayout    = RequestsDir + "/YYYY-MM-DD/FILE[.gz|.lzo]"
	PortabilityLayout = PortabilityDir + "/REQUEST_ID/YYYY-MM-DD/DATA_SOURCE/BK/KUID (with _SUCCESS)"
)

// DataSources are the portability data sources the vendor documents.
var DataSources = []string{"pixel.gif", "ad-impression.gif", "click", "event.gif", "segment.gif", "transaction.gif", "heartbeat.gif", "social.gif"}

// KnownDataSource reports whether ds is one of DataSources.
func KnownDataSource(ds string) bool {
	for _, d := range DataSources {
		if d == ds {
			return true
		}
	}
	return false
}

// DefaultSplitBytes is the compressed size of one split of an indexed lzop
// request file.
const DefaultSplitBytes = 64 << 20

// RequestsSelection narrows and tunes what the requests pipeline reads.
type RequestsSelection struct {
	// From and To keep upload dates in [From, To] (YYYY-MM-DD, inclusive; empty: open).
	From, To string
	// Splits, when > 0, cuts every indexed lzop file into this many splits
	// (tests, tuning); otherwise one split per SplitBytes.
	Splits int
	// SplitBytes is the compressed size per split (default DefaultSplitBytes).
	SplitBytes int64
}

// PortabilitySelection narrows what the portability pipeline reads.
type PortabilitySelection struct {
	// RequestID keeps only this request (empty: all).
	RequestID string
	// From and To keep dates in [From, To] (YYYY-MM-DD, inclusive; empty: open).
	From, To string
}

func validDate(d string) bool {
	_, err := time.Parse("2006-01-02", d)
	return err == nil
}

func inRange(d, from, to string) bool {
	return (from == "" || d >= from) && (to == "" || d <= to)
}

// notUTF8 is the reason a path that is not valid UTF-8 is skipped: its
// names would be written to string columns (source_file, bk_raw,
// kuid_file), which must be UTF-8. S3 keys always are; local names may not.
const notUTF8 = "path is not valid UTF-8"

// notData reports whether a file or folder name is not data: the markers
// _SUCCESS and _temporary of Hadoop-style writers, and dot-files. Other
// names that begin with '_' are data (kuids, in the file name and in the
// {bk} folder of a device-level request, may begin with '_').
func notData(name string) bool {
	return name == "_SUCCESS" || name == "_temporary" || strings.HasPrefix(name, ".")
}

// DiscoverRequests selects the consent request files: every file directly in
// a day folder uploads/consent-data/YYYY-MM-DD/ (index files and names that
// are not data, see notData, excepted). The ledger unit is the day folder:
// when any of its files (index files included) is new or changed, the whole
// day is read again and its partition replaced. An lzop file with an index
// beside it becomes one InputFile per split.
func DiscoverRequests(ctx context.Context, fsys lakefs.FS, input string, sel RequestsSelection, led map[string]ledger.Entry) (transforms.Plan, error) {
	plan := transforms.Plan{Found: transforms.Found{Layout: RequestsLayout}}
	all, err := fsys.List(ctx, lakefs.Join(input, RequestsDir))
	if err != nil {
		return plan, err
	}
	found := map[string]bool{} // day folders holding data, selected or not
	type day struct {
		files, indexes []lakefs.FileInfo
	}
	days := map[string]*day{}
	var order []string
	for _, fi := range all {
		rel, ok := lakefs.Rel(input, fi.Path)
		if !ok {
			continue
		}
		if !utf8.ValidString(rel) {
			plan.Skipped = append(plan.Skipped, transforms.Skipped{What: strings.ToValidUTF8(rel, "\uFFFD"), Reason: notUTF8})
			continue
		}
		rest := strings.TrimPrefix(rel, RequestsDir+"/")
		d, name, ok := strings.Cut(rest, "/")
		if !ok {
			plan.Skipped = append(plan.Skipped, transforms.Skipped{What: rel, Reason: "not in a day folder " + RequestsDir + "/YYYY-MM-DD/"})
			continue
		}
		if !validDate(d) {
			plan.Skipped = append(plan.Skipped, transforms.Skipped{What: rel, Reason: fmt.Sprintf("folder %q is not a date YYYY-MM-DD", d)})
			continue
		}
		if !strings.Contains(name, "/") && !notData(name) {
			found[d] = true
		}
		if !inRange(d, sel.From, sel.To) {
			continue
		}
		if strings.Contains(name, "/") {
			plan.Skipped = append(plan.Skipped, transforms.Skipped{What: rel, Reason: "in a subfolder of the day folder"})
			continue
		}
		if notData(name) {
			if name != "_SUCCESS" {
				plan.Skipped = append(plan.Skipped, transforms.Skipped{What: rel, Reason: "hidden file (dot-file or _temporary)"})
			}
			continue
		}
		dd := days[d]
		if dd == nil {
			dd = &day{}
			days[d] = dd
			order = append(order, d)
		}
		if strings.HasSuffix(name, IndexSuffix) {
			dd.indexes = append(dd.indexes, fi)
		} else {
			dd.files = append(dd.files, fi)
		}
	}
	sort.Strings(order)
	for _, d := range order {
		dd := days[d]
		unit := RequestsDir + "/" + d
		part, err := hiveparquet.PartitionPath([]string{"upload_date"}, d)
		if err != nil {
			return plan, err
		}
		indexOf := map[string]lakefs.FileInfo{}
		for _, ix := range dd.indexes {
			indexOf[strings.TrimSuffix(ix.Path, IndexSuffix)] = ix
		}
		var inputs []ledger.Input
		var files []transforms.InputFile
		var notes []transforms.Skipped
		for _, fi := range dd.files {
			rel, _ := lakefs.Rel(input, fi.Path)
			in := transforms.InputFile{Path: fi.Path, Rel: rel, Size: fi.Size, ModTime: fi.ModTime.UnixMicro(), ETag: fi.ETag, Partition: part, Unit: unit}
			inputs = append(inputs, in.LedgerInput())
			ix, indexed := indexOf[fi.Path]
			if !indexed {
				files = append(files, in)
				continue
			}
			delete(indexOf, fi.Path)
			ixRel, _ := lakefs.Rel(input, ix.Path)
			inputs = append(inputs, ledger.Input{Rel: ixRel, Size: ix.Size, ModTime: ix.ModTime.UnixMicro(), ETag: ix.ETag})
			kind, err := sniff(ctx, fsys, fi.Path)
			if err != nil {
				return plan, err
			}
			if kind != decompress.Lzop {
				notes = append(notes, transforms.Skipped{What: ixRel, Reason: fmt.Sprintf("index ignored: %s holds %s content, not lzop", rel, kind)})
				files = append(files, in)
				continue
			}
			files = append(files, splitFile(in, sel)...)
		}
		for _, ix := range indexOf {
			rel, _ := lakefs.Rel(input, ix.Path)
			notes = append(notes, transforms.Skipped{What: rel, Reason: "index without its data file"})
		}
		sort.Slice(notes, func(i, j int) bool { return notes[i].What < notes[j].What })
		if e, ok := led[unit]; ok && e.Same(inputs) {
			plan.Skipped = append(plan.Skipped, transforms.Skipped{What: unit, Reason: "unchanged since run " + e.RunID + " committed it"})
			continue
		}
		plan.Skipped = append(plan.Skipped, notes...)
		plan.Files = append(plan.Files, files...)
		plan.Units = append(plan.Units, transforms.Unit{Key: unit, Inputs: inputs})
		for _, t := range []string{RequestsTable, RequestsRejectsTable} {
			plan.Claims = append(plan.Claims, hiveparquet.Claim{Table: t, Partition: part})
		}
	}
	plan.Found.Units = len(found)
	if sel.From != "" || sel.To != "" {
		plan.Found.Filters = append(plan.Found.Filters, transforms.DateFilter(sel.From, sel.To, found, len(days) > 0))
	}
	return plan, nil
}

// splitFile cuts an indexed lzop file into splits (see RequestsSelection).
func splitFile(in transforms.InputFile, sel RequestsSelection) []transforms.InputFile {
	n := sel.Splits
	if n <= 0 {
		sb := sel.SplitBytes
		if sb <= 0 {
			sb = DefaultSplitBytes
		}
		n = int((in.Size + sb - 1) / sb)
	}
	if n < 1 {
		n = 1
	}
	var out []transforms.InputFile
	for _, r := range lzopSplitRanges(in.Size, n) {
		s := in
		s.SplitStart, s.SplitEnd = r[0], r[1]
		out = append(out, s)
	}
	return out
}

// sniff returns the compression of the file at p from its first bytes.
func sniff(ctx context.Context, fsys lakefs.FS, p string) (decompress.Kind, error) {
	rc, err := fsys.OpenRange(ctx, p, 0, 16)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, rc); err != nil {
		return "", fmt.Errorf("read %s: %w", p, err)
	}
	return decompress.Detect(buf.Bytes()), nil
}

// DiscoverPortability selects the feed files of every complete request/day
// (portability/REQUEST_ID/YYYY-MM-DD/_SUCCESS present, or
// portability/REQUEST_ID/_SUCCESS, which completes every day of the request). The ledger unit is
// the request/day folder; a run claims the partitions of every documented
// data source of the request/day (and of any other source found), so a
// source that disappeared from a redelivered day is emptied too. A
// request/day that yields no record at all (no feed file, or only empty
// ones) is not committed unless --allow-empty-partitions (Unit.Claims).
func DiscoverPortability(ctx context.Context, fsys lakefs.FS, input string, sel PortabilitySelection, led map[string]ledger.Entry) (transforms.Plan, error) {
	plan := transforms.Plan{Found: transforms.Found{Layout: PortabilityLayout}}
	all, err := fsys.List(ctx, lakefs.Join(input, PortabilityDir))
	if err != nil {
		return plan, err
	}
	// The request/days found, selected or not, their requests, and the
	// dates of the selected request.
	found, requests, dates := map[string]bool{}, map[string]bool{}, map[string]bool{}
	type reqDay struct {
		req, date string
		success   bool
		files     []lakefs.FileInfo
		others    []string
	}
	units := map[string]*reqDay{}
	requestDone := map[string]bool{} // portability/REQUEST_ID/_SUCCESS
	var order []string
	for _, fi := range all {
		rel, ok := lakefs.Rel(input, fi.Path)
		if !ok {
			continue
		}
		if !utf8.ValidString(rel) {
			plan.Skipped = append(plan.Skipped, transforms.Skipped{What: strings.ToValidUTF8(rel, "\uFFFD"), Reason: notUTF8})
			continue
		}
		segs := strings.Split(rel, "/")
		if len(segs) == 3 && segs[2] == "_SUCCESS" {
			requestDone[segs[1]] = true
			continue
		}
		if len(segs) < 4 {
			plan.Skipped = append(plan.Skipped, transforms.Skipped{What: rel, Reason: "not below " + PortabilityDir + "/REQUEST_ID/YYYY-MM-DD/"})
			continue
		}
		req, date := segs[1], segs[2]
		if validDate(date) {
			found[req+"/"+date] = true
			requests[req] = true
			if sel.RequestID == "" || req == sel.RequestID {
				dates[date] = true
			}
		}
		if sel.RequestID != "" && req != sel.RequestID {
			continue
		}
		if !validDate(date) {
			plan.Skipped = append(plan.Skipped, transforms.Skipped{What: rel, Reason: fmt.Sprintf("folder %q is not a date YYYY-MM-DD", date)})
			continue
		}
		if !inRange(date, sel.From, sel.To) {
			continue
		}
		key := strings.Join(segs[:3], "/")
		u := units[key]
		if u == nil {
			u = &reqDay{req: req, date: date}
			units[key] = u
			order = append(order, key)
		}
		switch {
		case len(segs) == 4 && segs[3] == "_SUCCESS":
			u.success = true
		case isFeedPath(segs[3:]):
			u.files = append(u.files, fi)
		default:
			u.others = append(u.others, rel)
		}
	}
	sort.Strings(order)
	for _, key := range order {
		u := units[key]
		if !u.success && !requestDone[u.req] {
			plan.Skipped = append(plan.Skipped, transforms.Skipped{What: key, Reason: "incomplete: no _SUCCESS marker yet"})
			continue
		}
		var inputs []ledger.Input
		var files []transforms.InputFile
		sources := append([]string(nil), DataSources...)
		for _, fi := range u.files {
			rel, _ := lakefs.Rel(input, fi.Path)
			ds := strings.Split(rel, "/")[3]
			if !KnownDataSource(ds) && !contains(sources, ds) {
				sources = append(sources, ds)
			}
			part, err := hiveparquet.PartitionPath([]string{"request_id", "date", "data_source"}, u.req, u.date, ds)
			if err != nil {
				return plan, err
			}
			in := transforms.InputFile{Path: fi.Path, Rel: rel, Size: fi.Size, ModTime: fi.ModTime.UnixMicro(), ETag: fi.ETag, Partition: part, Unit: key}
			files = append(files, in)
			inputs = append(inputs, in.LedgerInput())
		}
		if e, ok := led[key]; ok && e.Same(inputs) {
			plan.Skipped = append(plan.Skipped, transforms.Skipped{What: key, Reason: "unchanged since run " + e.RunID + " committed it"})
			continue
		}
		for _, o := range u.others {
			plan.Skipped = append(plan.Skipped, transforms.Skipped{What: o, Reason: "not a feed file (DATA_SOURCE/BK/KUID below the day folder; _SUCCESS, _temporary and dot-files are not data)"})
		}
		plan.Files = append(plan.Files, files...)
		first := len(plan.Claims)
		for _, ds := range sources {
			part, err := hiveparquet.PartitionPath([]string{"request_id", "date", "data_source"}, u.req, u.date, ds)
			if err != nil {
				return plan, err
			}
			for _, t := range []string{PortabilityTable, PortabilityRejectsTable} {
				plan.Claims = append(plan.Claims, hiveparquet.Claim{Table: t, Partition: part})
			}
		}
		// The claims guard the request/day: without a feed file or a record
		// the commit keeps its previous contents (--allow-empty-partitions).
		plan.Units = append(plan.Units, transforms.Unit{Key: key, Inputs: inputs, Claims: plan.Claims[first:len(plan.Claims):len(plan.Claims)]})
	}
	plan.Found.Units = len(found)
	if sel.RequestID != "" {
		plan.Found.Filters = append(plan.Found.Filters, transforms.ValueFilter("--request-id", sel.RequestID, "request IDs", requests))
	}
	if sel.From != "" || sel.To != "" {
		plan.Found.Filters = append(plan.Found.Filters, transforms.DateFilter(sel.From, sel.To, dates, len(units) > 0))
	}
	return plan, nil
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// isFeedPath reports whether segs, the path below a day folder, is
// DATA_SOURCE/BK.../KUID: at least three names, a data source, a kuid and a
// non-empty {bk} (which may span several folders), none of them a name that
// is not data (notData).
func isFeedPath(segs []string) bool {
	if len(segs) < 3 || segs[0] == "" || segs[len(segs)-1] == "" || strings.Join(segs[1:len(segs)-1], "/") == "" {
		return false
	}
	for _, s := range segs {
		if notData(s) {
			return false
		}
	}
	return true
}

// feedFileOf reads the path of a feed file (relative to the input root):
// portability/REQUEST_ID/DATE/DATA_SOURCE/BK.../KUID.
func feedFileOf(rel string) feedFile {
	segs := strings.Split(rel, "/")
	if len(segs) < 6 {
		return feedFile{KUIDFile: path.Base(rel)}
	}
	kuid := segs[len(segs)-1]
	return feedFile{DataSource: segs[3], KUIDFile: kuid, BK: ParseBKFolder(strings.Join(segs[4:len(segs)-1], "/"), kuid)}
}
