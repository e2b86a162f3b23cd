package main

import (
	"slices"
	"strings"
)

// EXPECTED.json: the per-partition truth of a generated drop (counts,
// rejects, spot values) that the end-to-end tests check the lake against.

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
