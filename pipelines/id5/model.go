package id5

import (
	"cmp"
	"slices"
	"time"
)

// This file is a reference model, not production code: it computes
// id5_mapping_current by brute force so that tests can check the pipeline
// against something obviously correct. It favours clarity over speed.

// DeliveredFile is one delivered file with its content, input to CurrentMapping.
type DeliveredFile struct {
	// File says where and when the file was delivered (see ClassifyPath).
	File File
	// Lines are the file's lines in order, without terminators. Lines[i] is
	// line number i+1; in single-file deliveries Lines[0] is the header.
	Lines []string
}

// CurrentRow is one row of id5_mapping_current: the partner UID in force for
// a (UID, PartnerGVLID) pair, and where it came from.
type CurrentRow struct {
	UID          string
	PartnerGVLID int32
	PartnerUID   string
	// SourceGVLID is as parsed: the header's for single-file rows, 0 for
	// per-partner rows (the pipeline fills it from configuration).
	SourceGVLID int32
	// UpdatedAt is the DeliveredAt of the winning file.
	UpdatedAt time.Time
	// SourceFile and SourceLine locate the winning row (lines count from 1).
	SourceFile string
	SourceLine int64
}

// CurrentMapping computes id5_mapping_current from every delivered file,
// partner by partner:
//
//  1. The partner's newest full extract (per-partner for that partner, or
//     single-file with the partner in its header) replaces everything known
//     for the partner: a UID absent from it, or whose field for the partner
//     is empty in a single-file extract, has no mapping.
//  2. Every incremental for the partner delivered strictly after that extract
//     then applies in delivery order (DeliveredAt, then path, then line); a
//     later row for the same UID overrides an earlier one. An empty
//     single-file field is "no update" and changes nothing. Incrementals
//     delivered before the extract, or at the same instant, are ignored.
//  3. Without any full extract, all of the partner's incrementals apply.
//
// Tie rules. An incremental with the same timestamp as the newest extract is
// ignored (the extract wins): an incremental named T carries the changes up to
// T, and a full extract named T is the table as of T, which already includes
// them; the extract is also the only file that can express a removal (opt-out,
// expiry), which an incremental at T must not resurrect. Between two extracts
// or two incrementals with the same timestamp the greater path is the later.
//
// Rejected rows contribute nothing. A single-file delivery with a bad header
// covers no partner (the file is rejected whole), so it neither is an extract
// nor applies; a per-partner extract with no valid rows still is an extract
// and empties its partner. The result is sorted by UID, then PartnerGVLID.
func CurrentMapping(files []DeliveredFile) []CurrentRow {
	parsed := make([]modelFile, 0, len(files))
	partners := map[int32]bool{}
	for _, f := range files {
		pf := parseModelFile(f)
		for _, p := range pf.covers {
			partners[p] = true
		}
		parsed = append(parsed, pf)
	}

	var out []CurrentRow
	for p := range partners {
		var extract *modelFile
		var incrementals []*modelFile
		for i := range parsed {
			f := &parsed[i]
			if !slices.Contains(f.covers, p) {
				continue
			}
			if f.file.Kind.Full() {
				if extract == nil || deliveredAfter(f.file, extract.file) {
					extract = f
				}
			} else {
				incrementals = append(incrementals, f)
			}
		}

		current := map[string]CurrentRow{}
		if extract != nil {
			apply(current, extract, p)
		}
		slices.SortFunc(incrementals, func(a, b *modelFile) int {
			return cmp.Or(a.file.DeliveredAt.Compare(b.file.DeliveredAt), cmp.Compare(a.file.Path, b.file.Path))
		})
		for _, f := range incrementals {
			if extract == nil || f.file.DeliveredAt.After(extract.file.DeliveredAt) {
				apply(current, f, p)
			}
		}
		for _, r := range current {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b CurrentRow) int {
		return cmp.Or(cmp.Compare(a.UID, b.UID), cmp.Compare(a.PartnerGVLID, b.PartnerGVLID))
	})
	return out
}

// modelFile is a DeliveredFile parsed once: the partners it covers and its
// valid mappings in line order.
type modelFile struct {
	file   File
	covers []int32
	rows   []modelRow
}

type modelRow struct {
	line int64
	m    Mapping
}

func parseModelFile(f DeliveredFile) modelFile {
	pf := modelFile{file: f.File}
	switch f.File.Kind {
	case IncrementalPerPartner, FullPerPartner:
		pf.covers = []int32{f.File.PartnerGVLID}
		for i, line := range f.Lines {
			if m, rej := ParsePerPartnerRow([]byte(line), f.File.PartnerGVLID); rej == nil {
				pf.rows = append(pf.rows, modelRow{int64(i + 1), m})
			}
		}
	case IncrementalSingle, FullSingle:
		if len(f.Lines) == 0 {
			return pf
		}
		h, err := ParseSingleHeader([]byte(f.Lines[0]))
		if err != nil {
			return pf
		}
		pf.covers = h.Partners
		for i, line := range f.Lines[1:] {
			ms, _ := ParseSingleRow([]byte(line), h, nil)
			for _, m := range ms {
				pf.rows = append(pf.rows, modelRow{int64(i + 2), m})
			}
		}
	}
	return pf
}

// apply writes f's mappings for partner p over current, in line order.
func apply(current map[string]CurrentRow, f *modelFile, p int32) {
	for _, r := range f.rows {
		if r.m.PartnerGVLID != p {
			continue
		}
		current[r.m.UID] = CurrentRow{
			UID:          r.m.UID,
			PartnerGVLID: p,
			PartnerUID:   r.m.PartnerUID,
			SourceGVLID:  r.m.SourceGVLID,
			UpdatedAt:    f.file.DeliveredAt,
			SourceFile:   f.file.Path,
			SourceLine:   r.line,
		}
	}
}

// deliveredAfter reports whether a comes after b in delivery order.
func deliveredAfter(a, b File) bool {
	if c := a.DeliveredAt.Compare(b.DeliveredAt); c != 0 {
		return c > 0
	}
	return a.Path > b.Path
}
