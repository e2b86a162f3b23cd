package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
)

type didomiConfig struct {
	Out               string
	Seed              uint64
	ExportIDs         []string
	Dates             []string
	FilesPerPartition int
	UsersPerFile      int
	TargetBytes       int64
	BadLines          bool
	BadLineRate       float64
	Incomplete        []string // "export-id/date"
	SuccessInUsers    []string // "export-id/date"
	Sample            bool
	ProofArchives     bool
	ProofPartSize     int64
	ProofShare        float64
	Workers           int
	GzipLevel         int
	Clean             bool
	Quiet             bool
}

const didomiUsage = `usage: gendata didomi --out=DIR [flags]
       gendata didomi --sample --out=testdata/didomi

Writes a Didomi batch export tree:
  DIR/export-id=ID/date=YYYY-MM-DD/users/*.json.gz   (NDJSON, gzip, one {"user":..,"events":[..]} per line)
  DIR/export-id=ID/date=YYYY-MM-DD/_SUCCESS          (or users/_SUCCESS; absent for --incomplete)
  DIR/export-id=ID/date=YYYY-MM-DD/proofs/proofs.tar.gz.NN
                                                     (--proof-archives: every proof the partition's
                                                     events reference, split tar.gz; --sample plants
                                                     two small archives of its own)
  DIR/EXPECTED.json                                  (per-partition truth: counts, rejects, spot values)
Output is byte-for-byte deterministic for a given seed and flags (any --workers).

flags:
`

func parseDidomiFlags(args []string, stderr io.Writer) (*didomiConfig, error) {
	cfg := &didomiConfig{}
	fs := flag.NewFlagSet("didomi", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), didomiUsage)
		fs.PrintDefaults()
	}
	var exportIDs, dates, incomplete, successInUsers, target string
	fs.StringVar(&cfg.Out, "out", "", "output root directory (required)")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "random seed")
	fs.StringVar(&exportIDs, "export-ids", "exp-web,exp-app", "comma-separated export ids")
	fs.StringVar(&dates, "dates", "2024-03-01,2024-03-02,2024-03-03", "comma-separated export dates YYYY-MM-DD")
	fs.IntVar(&cfg.FilesPerPartition, "files-per-partition", 3, "data files per partition")
	fs.IntVar(&cfg.UsersPerFile, "users-per-file", 1000, "good lines (users) per file; ignored with --target-bytes")
	fs.StringVar(&target, "target-bytes", "", "approximate total compressed size, e.g. 100MiB, 1GiB, 2MB, 500000 (files grow until their share is reached)")
	fs.BoolVar(&cfg.BadLines, "bad-lines", false, "plant one bad line per reason code, spread over the complete partitions")
	fs.Float64Var(&cfg.BadLineRate, "bad-line-rate", 0, "additionally plant bad lines (random codes) at this rate per line in every file")
	fs.StringVar(&incomplete, "incomplete", "", "comma-separated export-id/date partitions written without _SUCCESS")
	fs.StringVar(&successInUsers, "success-in-users", "", "comma-separated export-id/date partitions whose _SUCCESS is in users/")
	var partSize string
	fs.BoolVar(&cfg.ProofArchives, "proof-archives", false, "write a split proof archive (proofs/proofs.tar.gz.NN) for every complete partition, holding every proof its events reference; the users files are the same with or without it")
	fs.StringVar(&partSize, "proof-part-size", "64MiB", "size of each proof archive part with --proof-archives")
	fs.Float64Var(&cfg.ProofShare, "proof-share", 1, "share (0..1) of the events drawn to carry proofs (30% of all events) that keep them; below 1 the others get an empty proofs_id (real exports carry few proofs; each is a file in the lake)")
	fs.BoolVar(&cfg.Sample, "sample", false, "make the small committed sample (fixes export ids, dates, sizes, markers, bad lines)")
	fs.IntVar(&cfg.Workers, "workers", runtime.GOMAXPROCS(0), "files generated concurrently (does not change the output)")
	fs.IntVar(&cfg.GzipLevel, "gzip-level", 6, "gzip level 1..9")
	fs.BoolVar(&cfg.Clean, "clean", false, "remove existing export-id=* folders and EXPECTED.json under --out first (implied by --sample)")
	fs.BoolVar(&cfg.Quiet, "quiet", false, "no progress output")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if cfg.Out == "" {
		return nil, errors.New("--out is required")
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if cfg.Sample {
		for _, n := range []string{"export-ids", "dates", "files-per-partition", "users-per-file", "target-bytes", "bad-lines", "bad-line-rate", "incomplete", "success-in-users", "proof-archives", "proof-part-size", "proof-share"} {
			if set[n] {
				return nil, fmt.Errorf("--%s cannot be combined with --sample", n)
			}
		}
		exportIDs = "exp-web,exp-app"
		dates = "2024-03-01,2024-03-02,2024-03-03"
		incomplete = "exp-app/2024-03-03"
		successInUsers = "exp-web/2024-03-02"
		cfg.BadLines = true
		cfg.Clean = true
	}
	cfg.ExportIDs = splitList(exportIDs)
	cfg.Dates = splitList(dates)
	cfg.Incomplete = splitList(incomplete)
	cfg.SuccessInUsers = splitList(successInUsers)
	if len(cfg.ExportIDs) == 0 || len(cfg.Dates) == 0 {
		return nil, errors.New("need at least one export id and one date")
	}
	for _, id := range cfg.ExportIDs {
		if strings.ContainsAny(id, "/=\\") {
			return nil, fmt.Errorf("bad export id %q", id)
		}
	}
	for _, d := range cfg.Dates {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			return nil, fmt.Errorf("bad date %q: want YYYY-MM-DD", d)
		}
	}
	if hasDup(cfg.ExportIDs) || hasDup(cfg.Dates) {
		return nil, errors.New("duplicate export id or date")
	}
	for _, p := range append(slices.Clone(cfg.Incomplete), cfg.SuccessInUsers...) {
		e, d, ok := strings.Cut(p, "/")
		if !ok || !slices.Contains(cfg.ExportIDs, e) || !slices.Contains(cfg.Dates, d) {
			return nil, fmt.Errorf("partition %q is not export-id/date of a generated partition", p)
		}
	}
	n, err := parseSize(partSize)
	if err != nil {
		return nil, fmt.Errorf("--proof-part-size: %w", err)
	}
	cfg.ProofPartSize = n
	if target != "" {
		n, err := parseSize(target)
		if err != nil {
			return nil, err
		}
		cfg.TargetBytes = n
	}
	if cfg.FilesPerPartition < 1 || cfg.UsersPerFile < 0 || cfg.Workers < 1 || cfg.GzipLevel < 1 || cfg.GzipLevel > 9 || cfg.BadLineRate < 0 || cfg.BadLineRate >= 1 || cfg.ProofShare < 0 || cfg.ProofShare > 1 {
		return nil, errors.New("out-of-range numeric flag")
	}
	return cfg, nil
}

func hasDup(s []string) bool {
	c := slices.Clone(s)
	slices.Sort(c)
	return len(slices.Compact(c)) != len(s)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// parseSize parses 123, 10k/KB/KiB, 5M/MB/MiB, 1G/GB/GiB (k/M/G and *iB are
// binary, KB/MB/GB decimal).
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	v, err := strconv.ParseFloat(t[:i], 64)
	if err != nil {
		return 0, fmt.Errorf("bad size %q", s)
	}
	mult := map[string]float64{
		"": 1, "b": 1,
		"k": 1 << 10, "kib": 1 << 10, "kb": 1e3,
		"m": 1 << 20, "mib": 1 << 20, "mb": 1e6,
		"g": 1 << 30, "gib": 1 << 30, "gb": 1e9,
	}[strings.ToLower(strings.TrimSpace(t[i:]))]
	if mult == 0 || v <= 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return int64(v * mult), nil
}

// ---- plan ----

type partPlan struct {
	exportID, date string
	day            time.Time
	org            string
	complete       bool
	successInUsers bool
	files          []*fileJob // in creation (index) order
}

func (p *partPlan) rel() string { return "export-id=" + p.exportID + "/date=" + p.date }

type fileJob struct {
	part        *partPlan
	idx         int
	name        string
	users       int   // good lines to write (fixed-count mode)
	target      int64 // compressed bytes to reach (target mode)
	badCodes    []string
	badRate     float64
	forceOffset bool
	stats       fileStats
	err         error
}

type fileStats struct {
	bytes, uncompressed int64
	lines, goodLines    int
	events              int
	userPurposes        int
	eventPurposes       int
	proofs              int
	proofRefs           []proofRefGen
	delegates           int
	usersExtra          int
	eventsExtra         int
	offsetTS            int
	rejects             []rejectLoc
	firstUser, lastUser *userSpot
	firstEvent          *eventSpot
	offsetUser          *offsetSpot
}

func streamID(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

func planDidomi(cfg *didomiConfig) []*partPlan {
	var parts []*partPlan
	var all []*fileJob
	for ei, exp := range cfg.ExportIDs {
		for _, d := range cfg.Dates {
			day, _ := time.Parse(time.DateOnly, d)
			key := exp + "/" + d
			p := &partPlan{
				exportID: exp, date: d, day: day.UTC(),
				org:            organizations[ei%len(organizations)],
				complete:       !slices.Contains(cfg.Incomplete, key),
				successInUsers: slices.Contains(cfg.SuccessInUsers, key),
			}
			if cfg.Sample {
				p.org = "acme-media"
			}
			r := rand.New(rand.NewPCG(cfg.Seed, streamID("partition", exp, d)))
			nfiles := cfg.FilesPerPartition
			if cfg.Sample {
				nfiles = 2 + r.IntN(2)
			}
			for fi := 0; fi < nfiles; fi++ {
				f := &fileJob{part: p, idx: fi, users: cfg.UsersPerFile, badRate: cfg.BadLineRate}
				if cfg.Sample {
					f.users = 5 + r.IntN(11)
					f.forceOffset = fi == 0
				}
				// File names are arbitrary; two styles so that readers
				// cannot rely on one.
				if ei%2 == 0 {
					f.name = fmt.Sprintf("part-%05d-%s-%s-%s-%s-%s-c000.json.gz", fi,
						hexN(r, 8), hexN(r, 4), hexN(r, 4), hexN(r, 4), hexN(r, 12))
				} else {
					f.name = fmt.Sprintf("users_%s_%d.json.gz", hexN(r, 16), fi)
				}
				p.files = append(p.files, f)
				all = append(all, f)
			}
			parts = append(parts, p)
		}
	}
	if cfg.TargetBytes > 0 {
		per := cfg.TargetBytes / int64(len(all))
		if per < 1 {
			per = 1
		}
		for _, f := range all {
			f.target = per
		}
	}
	if cfg.BadLines {
		r := rand.New(rand.NewPCG(cfg.Seed, streamID("bad-lines")))
		var complete []*partPlan
		for _, p := range parts {
			if p.complete {
				complete = append(complete, p)
			}
		}
		if len(complete) == 0 {
			complete = parts
		}
		codes := slices.Clone(reasonCodes)
		r.Shuffle(len(codes), func(i, j int) { codes[i], codes[j] = codes[j], codes[i] })
		for i, c := range codes {
			p := complete[i%len(complete)]
			f := p.files[r.IntN(len(p.files))]
			f.badCodes = append(f.badCodes, c)
		}
	}
	return parts
}

func hexN(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = hexdigits[r.IntN(16)]
	}
	return string(b)
}

// ---- file generation ----

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func genFile(cfg *didomiConfig, f *fileJob, path string) (err error) {
	p := f.part
	g := &gen{
		r:      rand.New(rand.NewPCG(cfg.Seed, streamID("file", p.exportID, p.date, strconv.Itoa(f.idx)))),
		org:    p.org,
		day:    p.day,
		sample: cfg.Sample,

		proofDrop: 1 - cfg.ProofShare,
	}
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	bw := bufio.NewWriterSize(out, 256<<10)
	cw := &countWriter{w: bw}
	zw, err := gzip.NewWriterLevel(cw, cfg.GzipLevel)
	if err != nil {
		return err
	}
	zw.Name = ""
	zw.ModTime = time.Unix(0, 0) // mtime field 0 (klauspost writes ModTime.Unix() as is)

	st := &f.stats
	emit := func(defect string, forceOffset bool) error {
		info := g.line(defect, forceOffset)
		if _, err := zw.Write(g.w.b); err != nil {
			return err
		}
		st.lines++
		st.uncompressed += int64(len(g.w.b))
		if defect != "" {
			st.rejects = append(st.rejects, rejectLoc{File: f.name, Line: st.lines, Code: defect})
			return nil
		}
		st.goodLines++
		st.events += info.events
		st.userPurposes += info.userPurposes
		st.eventPurposes += info.eventPurposes
		st.proofs += info.proofs
		st.proofRefs = append(st.proofRefs, info.proofRefs...)
		st.delegates += info.delegates
		st.eventsExtra += info.eventsExtra
		st.offsetTS += info.offsetTS
		if info.userExtra {
			st.usersExtra++
		}
		u := &g.u
		spot := &userSpot{
			File: f.name, Line: st.lines, ID: u.id, CreatedAtRaw: string(appendTS(nil, u.created, u.createdFmt)),
			CreatedAt: normTS(u.created), UpdatedAt: normTS(u.updated), Version: u.version,
			Purposes: info.userPurposes, Events: info.events,
		}
		if u.country != "" {
			c := u.country
			spot.Country = &c
		}
		spot.CreatedAtRaw = strings.Trim(spot.CreatedAtRaw, `"`)
		if u.ouidKind == 0 {
			o := u.ouid
			spot.OrganizationUserID = &o
		}
		if st.firstUser == nil {
			st.firstUser = spot
		}
		st.lastUser = spot
		if st.firstEvent == nil && info.firstEvent != nil {
			info.firstEvent.File, info.firstEvent.Line = f.name, st.lines
			st.firstEvent = info.firstEvent
		}
		if st.offsetUser == nil && u.createdFmt == tsOffset {
			st.offsetUser = &offsetSpot{File: f.name, Line: st.lines, ID: u.id, CreatedAtRaw: spot.CreatedAtRaw, CreatedAt: spot.CreatedAt}
		}
		return nil
	}

	// Planted bad lines go before good line number pos (pos >= 1), so they
	// always sit between two good lines when the file has two or more users.
	type planted struct {
		pos  int
		code string
	}
	var plan []planted
	for _, c := range f.badCodes {
		var pos int
		switch {
		case f.target > 0:
			pos = 1 + g.r.IntN(50)
		case f.users >= 2:
			pos = 1 + g.r.IntN(f.users-1)
		default:
			pos = f.users
		}
		plan = append(plan, planted{pos, c})
	}
	slices.SortStableFunc(plan, func(a, b planted) int { return a.pos - b.pos })

	var lastC, lastU int64
	for good := 0; ; good++ {
		for len(plan) > 0 && plan[0].pos <= good {
			if err := emit(plan[0].code, false); err != nil {
				return err
			}
			plan = plan[1:]
		}
		if f.target > 0 {
			// Estimated compressed size: bytes already out of the
			// compressor plus the pending input at the ratio seen so far.
			if cw.n != lastC {
				lastC, lastU = cw.n, st.uncompressed
			}
			ratio := 0.15
			if lastU > 0 {
				ratio = float64(lastC) / float64(lastU)
			}
			est := cw.n + int64(float64(st.uncompressed-lastU)*ratio)
			if est >= f.target && len(plan) == 0 {
				break
			}
		} else if good >= f.users {
			break
		}
		if f.badRate > 0 && good > 0 && g.r.Float64() < f.badRate {
			if err := emit(reasonCodes[g.r.IntN(len(reasonCodes))], false); err != nil {
				return err
			}
		}
		if err := emit("", f.forceOffset && good == 1); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	st.bytes = cw.n
	return nil
}

// ---- EXPECTED.json ----

type rejectLoc struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Code string `json:"code"`
}

type userSpot struct {
	File               string  `json:"file"`
	Line               int     `json:"line"`
	ID                 string  `json:"id"`
	OrganizationUserID *string `json:"organization_user_id"`
	CreatedAtRaw       string  `json:"created_at_raw"`
	CreatedAt          string  `json:"created_at"`
	UpdatedAt          string  `json:"updated_at"`
	Version            int     `json:"version"`
	Country            *string `json:"country"`
	Purposes           int     `json:"purposes"`
	Events             int     `json:"events"`
}

type offsetSpot struct {
	File         string `json:"file"`
	Line         int    `json:"line"`
	ID           string `json:"id"`
	CreatedAtRaw string `json:"created_at_raw"`
	CreatedAt    string `json:"created_at"`
}

type fileExpected struct {
	Name              string `json:"name"`
	Bytes             int64  `json:"bytes"`
	UncompressedBytes int64  `json:"uncompressed_bytes"`
	Lines             int    `json:"lines"`
	GoodLines         int    `json:"good_lines"`
	Events            int    `json:"events"`
	Rejects           int    `json:"rejects"`
}

type partExpected struct {
	ExportID           string                `json:"export_id"`
	Date               string                `json:"date"`
	Path               string                `json:"path"`
	Complete           bool                  `json:"complete"`
	SuccessMarker      string                `json:"success_marker"`
	Organization       string                `json:"organization_id"`
	Files              []string              `json:"files"`
	Lines              int                   `json:"lines"`
	GoodLines          int                   `json:"good_lines"`
	Events             int                   `json:"events"`
	RejectsByCode      map[string]int        `json:"rejects_by_code"`
	Rejects            []rejectLoc           `json:"rejects"`
	UserPurposes       int                   `json:"user_purposes"`
	EventPurposes      int                   `json:"event_purposes"`
	Proofs             int                   `json:"proofs"`
	EventsWithDelegate int                   `json:"events_with_delegate"`
	UsersWithExtra     int                   `json:"users_with_extra"`
	EventsWithExtra    int                   `json:"events_with_extra"`
	OffsetTimestamps   int                   `json:"offset_timestamps"`
	FirstUser          *userSpot             `json:"first_user"`
	LastUser           *userSpot             `json:"last_user"`
	FirstEvent         *eventSpot            `json:"first_event"`
	OffsetUser         *offsetSpot           `json:"offset_user"`
	FileStats          []fileExpected        `json:"file_stats"`
	ProofArchive       *proofArchiveExpected `json:"proof_archive,omitempty"`
}

type totalsExpected struct {
	Partitions         int            `json:"partitions"`
	CompletePartitions int            `json:"complete_partitions"`
	Files              int            `json:"files"`
	Bytes              int64          `json:"bytes"`
	UncompressedBytes  int64          `json:"uncompressed_bytes"`
	Lines              int            `json:"lines"`
	GoodLines          int            `json:"good_lines"`
	Events             int            `json:"events"`
	RejectsByCode      map[string]int `json:"rejects_by_code"`
	// Only partitions with _SUCCESS: what a pipeline run should ingest.
	CompleteGoodLines     int            `json:"complete_good_lines"`
	CompleteEvents        int            `json:"complete_events"`
	CompleteRejectsByCode map[string]int `json:"complete_rejects_by_code"`
}

type didomiExpected struct {
	Generator   string         `json:"generator"`
	Seed        uint64         `json:"seed"`
	Options     map[string]any `json:"options"`
	Notes       []string       `json:"notes"`
	ReasonCodes []string       `json:"reason_codes"`
	Totals      totalsExpected `json:"totals"`
	Partitions  []partExpected `json:"partitions"`
}

func buildExpected(cfg *didomiConfig, parts []*partPlan) *didomiExpected {
	ex := &didomiExpected{
		Generator: "go run ./scripts/gendata didomi",
		Seed:      cfg.Seed,
		Options: map[string]any{
			"sample": cfg.Sample, "export_ids": cfg.ExportIDs, "dates": cfg.Dates,
			"files_per_partition": cfg.FilesPerPartition, "users_per_file": cfg.UsersPerFile,
			"target_bytes": cfg.TargetBytes, "bad_lines": cfg.BadLines, "bad_line_rate": cfg.BadLineRate,
			"incomplete": nonNil(cfg.Incomplete), "success_in_users": nonNil(cfg.SuccessInUsers), "gzip_level": cfg.GzipLevel,
		},
		Notes: []string{
			"files are listed in name order; first_user/last_user/first_event follow that order, then line order",
			"line numbers are 1-based and count every newline-terminated line, including empty ones",
			"lines = good_lines + sum(rejects_by_code); every good line is one user; events counts events of good lines only",
			"timestamps: *_raw as written in the file; others normalised to RFC 3339 UTC with microseconds",
			"offset_timestamps counts user and event created_at/updated_at values written with a +hh:mm/-hh:mm offset instead of Z",
		},
		ReasonCodes: reasonCodes,
	}
	// Only when set: the committed sample's EXPECTED.json stays as it is.
	if cfg.ProofArchives {
		ex.Options["proof_archives"] = true
	}
	if cfg.ProofShare < 1 {
		ex.Options["proof_share"] = cfg.ProofShare
	}
	t := &ex.Totals
	t.RejectsByCode = map[string]int{}
	t.CompleteRejectsByCode = map[string]int{}
	for _, p := range parts {
		pe := partExpected{
			ExportID: p.exportID, Date: p.date, Path: p.rel(), Complete: p.complete,
			Organization: p.org, RejectsByCode: map[string]int{}, Rejects: []rejectLoc{},
		}
		if p.complete {
			pe.SuccessMarker = "_SUCCESS"
			if p.successInUsers {
				pe.SuccessMarker = "users/_SUCCESS"
			}
		}
		files := slices.Clone(p.files)
		slices.SortFunc(files, func(a, b *fileJob) int { return strings.Compare(a.name, b.name) })
		for _, f := range files {
			s := &f.stats
			pe.Files = append(pe.Files, f.name)
			pe.Lines += s.lines
			pe.GoodLines += s.goodLines
			pe.Events += s.events
			pe.UserPurposes += s.userPurposes
			pe.EventPurposes += s.eventPurposes
			pe.Proofs += s.proofs
			pe.EventsWithDelegate += s.delegates
			pe.UsersWithExtra += s.usersExtra
			pe.EventsWithExtra += s.eventsExtra
			pe.OffsetTimestamps += s.offsetTS
			for _, r := range s.rejects {
				pe.RejectsByCode[r.Code]++
				pe.Rejects = append(pe.Rejects, r)
			}
			if pe.FirstUser == nil {
				pe.FirstUser = s.firstUser
			}
			if s.lastUser != nil {
				pe.LastUser = s.lastUser
			}
			if pe.FirstEvent == nil {
				pe.FirstEvent = s.firstEvent
			}
			if pe.OffsetUser == nil {
				pe.OffsetUser = s.offsetUser
			}
			pe.FileStats = append(pe.FileStats, fileExpected{
				Name: f.name, Bytes: s.bytes, UncompressedBytes: s.uncompressed, Lines: s.lines,
				GoodLines: s.goodLines, Events: s.events, Rejects: len(s.rejects),
			})
			t.Files++
			t.Bytes += s.bytes
			t.UncompressedBytes += s.uncompressed
		}
		t.Partitions++
		t.Lines += pe.Lines
		t.GoodLines += pe.GoodLines
		t.Events += pe.Events
		for c, n := range pe.RejectsByCode {
			t.RejectsByCode[c] += n
		}
		if p.complete {
			t.CompletePartitions++
			t.CompleteGoodLines += pe.GoodLines
			t.CompleteEvents += pe.Events
			for c, n := range pe.RejectsByCode {
				t.CompleteRejectsByCode[c] += n
			}
		}
		ex.Partitions = append(ex.Partitions, pe)
	}
	return ex
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ---- driver ----

func runDidomi(args []string, stdout io.Writer) error {
	cfg, err := parseDidomiFlags(args, os.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if cfg.Quiet {
		stdout = io.Discard
	}
	start := time.Now() // progress report only; never in the data
	ex, err := generateDidomi(cfg)
	if err != nil {
		return err
	}
	el := time.Since(start).Seconds()
	t := ex.Totals
	fmt.Fprintf(stdout, "didomi: %d partitions (%d complete), %d files, %d lines (%d good, %d events), %.1f MiB gzip / %.1f MiB NDJSON in %.2fs (%.1f MB/s gzip, %.1f MB/s NDJSON) -> %s\n",
		t.Partitions, t.CompletePartitions, t.Files, t.Lines, t.GoodLines, t.Events,
		float64(t.Bytes)/(1<<20), float64(t.UncompressedBytes)/(1<<20), el,
		float64(t.Bytes)/1e6/el, float64(t.UncompressedBytes)/1e6/el, cfg.Out)
	return nil
}

// generateDidomi writes the whole tree and EXPECTED.json and returns the latter.
func generateDidomi(cfg *didomiConfig) (*didomiExpected, error) {
	if err := prepareOut(cfg); err != nil {
		return nil, err
	}
	parts := planDidomi(cfg)
	var jobs []*fileJob
	for _, p := range parts {
		if err := os.MkdirAll(filepath.Join(cfg.Out, filepath.FromSlash(p.rel()), "users"), 0o755); err != nil {
			return nil, err
		}
		jobs = append(jobs, p.files...)
	}
	ch := make(chan *fileJob)
	var wg sync.WaitGroup
	for w := 0; w < min(cfg.Workers, len(jobs)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range ch {
				path := filepath.Join(cfg.Out, filepath.FromSlash(f.part.rel()), "users", f.name)
				f.err = genFile(cfg, f, path)
			}
		}()
	}
	for _, f := range jobs {
		ch <- f
	}
	close(ch)
	wg.Wait()
	for _, f := range jobs {
		if f.err != nil {
			return nil, fmt.Errorf("%s/users/%s: %w", f.part.rel(), f.name, f.err)
		}
	}
	archives, err := writeProofArchives(cfg, parts)
	if err != nil {
		return nil, err
	}
	// _SUCCESS last, once every file of the partition is written.
	for _, p := range parts {
		if !p.complete {
			continue
		}
		dir := filepath.Join(cfg.Out, filepath.FromSlash(p.rel()))
		if p.successInUsers {
			dir = filepath.Join(dir, "users")
		}
		if err := os.WriteFile(filepath.Join(dir, "_SUCCESS"), nil, 0o644); err != nil {
			return nil, err
		}
	}
	ex := buildExpected(cfg, parts)
	for i := range ex.Partitions {
		ex.Partitions[i].ProofArchive = archives[ex.Partitions[i].Path]
	}
	b, err := json.MarshalIndent(ex, "", "  ")
	if err != nil {
		return nil, err
	}
	b = append(b, '\n')
	if err := os.WriteFile(filepath.Join(cfg.Out, "EXPECTED.json"), b, 0o644); err != nil {
		return nil, err
	}
	return ex, nil
}

// prepareOut creates --out and, with --clean, removes what an earlier run
// wrote there (export-id=* folders, EXPECTED.json) and nothing else.
func prepareOut(cfg *didomiConfig) error {
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return err
	}
	old, err := filepath.Glob(filepath.Join(cfg.Out, "export-id=*"))
	if err != nil {
		return err
	}
	if len(old) > 0 && !cfg.Clean {
		return fmt.Errorf("%s already holds export-id=* folders; use --clean to replace them", cfg.Out)
	}
	if cfg.Clean {
		for _, o := range old {
			if err := os.RemoveAll(o); err != nil {
				return err
			}
		}
		if err := os.Remove(filepath.Join(cfg.Out, "EXPECTED.json")); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}
