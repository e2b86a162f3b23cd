// Package id5 is the ID5 Partner Graph file transfer pipeline. Incremental
// and full-extract files, per-partner or single-file
// (incremental/[PARTNER/]YYYYMMDD/HHMMSS.csv, full-extracts/[PARTNER/]DATETIME.csv),
// become id5_mapping_updates, id5_full_extracts, id5_extract_partners and
// id5_rejects (idempotent append, one source per file); a chained stage
// (Current) then rebuilds id5_mapping_current, the partner UID in force for
// every (UID, partner), from those tables. The package also holds the pure
// path and row parsers and CurrentMapping, the reference model of that table.
package id5

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Kind says which of the four ID5 layouts a delivered file belongs to.
type Kind uint8

// The four ID5 layouts. The zero Kind is not a layout.
const (
	// IncrementalPerPartner is incremental/PARTNER_GVLID/YYYYMMDD/HHMMSS.csv.
	IncrementalPerPartner Kind = iota + 1
	// IncrementalSingle is incremental/YYYYMMDD/HHMMSS.csv (deprecated by ID5).
	IncrementalSingle
	// FullPerPartner is full-extracts/PARTNER_GVLID/DATETIME.csv.
	FullPerPartner
	// FullSingle is full-extracts/DATETIME.csv.
	FullSingle
)

// Delivery labels, as written to the delivery partition/column.
const (
	DeliveryPerPartner = "per_partner"
	DeliverySingleFile = "single_file"
)

// String returns the kind in snake_case, e.g. "incremental_per_partner".
func (k Kind) String() string {
	switch k {
	case IncrementalPerPartner:
		return "incremental_per_partner"
	case IncrementalSingle:
		return "incremental_single"
	case FullPerPartner:
		return "full_per_partner"
	case FullSingle:
		return "full_single"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Full reports whether k is a full extract (a mapping table refresh).
func (k Kind) Full() bool { return k == FullPerPartner || k == FullSingle }

// PerPartner reports whether k is one of the per-partner layouts, whose rows
// are UID|MatchPartnerGVLID|MatchPartnerUID without a header.
func (k Kind) PerPartner() bool { return k == IncrementalPerPartner || k == FullPerPartner }

// Delivery returns DeliveryPerPartner or DeliverySingleFile, or "" for an invalid kind.
func (k Kind) Delivery() string {
	switch k {
	case IncrementalPerPartner, FullPerPartner:
		return DeliveryPerPartner
	case IncrementalSingle, FullSingle:
		return DeliverySingleFile
	}
	return ""
}

// File describes one delivered object, as derived from its path alone.
type File struct {
	// Path is the object path relative to the bucket root, as given to ClassifyPath.
	Path string
	// Kind is the layout the path belongs to.
	Kind Kind
	// PartnerGVLID is the match partner of a per-partner file, 0 for single-file.
	PartnerGVLID int32
	// DeliveredAt is the UTC time the path names: the day folder plus the
	// HHMMSS file name for incrementals, the DATETIME file name for extracts.
	DeliveredAt time.Time
	// Delivery is DeliveryPerPartner or DeliverySingleFile.
	Delivery string
}

// ErrNotID5Path is wrapped by ClassifyPath's error when the path is not under
// incremental/ or full-extracts/ at all (for example a marker file or an object
// of another feed), as opposed to a path of an ID5 layout with a bad part.
var ErrNotID5Path = errors.New("not under incremental/ or full-extracts/")

// ClassifyPath tells which layout rel (an object path relative to the bucket
// root, forward slashes, no leading slash) belongs to and decodes its parts:
//
//	incremental/PARTNER_GVLID/YYYYMMDD/HHMMSS.csv  IncrementalPerPartner
//	incremental/YYYYMMDD/HHMMSS.csv                IncrementalSingle
//	full-extracts/PARTNER_GVLID/DATETIME.csv       FullPerPartner
//	full-extracts/DATETIME.csv                     FullSingle
//
// Both delivery methods may share a bucket, so the layout is decided by the
// number of path segments, then checked by shape: under incremental/, three
// segments are the single-file layout and four the per-partner one, so
// incremental/20221106/000000.csv is a single-file incremental while
// incremental/45/20221106/000000.csv belongs to partner 45 (and
// incremental/20221106/20221107/000000.csv to partner 20221106). The day folder
// must be exactly 8 digits forming a valid date, the file name exactly 6 digits
// forming a valid time of day, then ".csv". Under full-extracts/, two segments
// are the single-file layout and three the per-partner one; DATETIME is any
// form ParseExtractTime accepts.
//
// A PARTNER_GVLID is a positive decimal integer that fits int32, without sign,
// leading zeros or spaces. Anything else (other segment counts, empty
// segments, another extension, a bad date or time) is an error that names the
// path and the offending part; errors for paths outside both folders wrap
// ErrNotID5Path.
func ClassifyPath(rel string) (File, error) {
	f, err := classify(rel)
	if err != nil {
		return File{}, fmt.Errorf("id5: path %q: %w", rel, err)
	}
	f.Path = rel
	f.Delivery = f.Kind.Delivery()
	return f, nil
}

func classify(rel string) (File, error) {
	root, rest, found := strings.Cut(rel, "/")
	if root != "incremental" && root != "full-extracts" {
		return File{}, ErrNotID5Path
	}
	if !found {
		return File{}, fmt.Errorf("path has 1 segment, want a file under %s/", root)
	}
	seg := strings.Split(rest, "/") // paths only, never rows: allocation is fine here
	for i, s := range seg {
		if s == "" {
			return File{}, fmt.Errorf("empty path segment %d", i+2)
		}
	}
	name := seg[len(seg)-1]
	stem, ok := strings.CutSuffix(name, ".csv")
	if !ok || stem == "" {
		return File{}, fmt.Errorf("file name %q does not end in .csv", name)
	}
	if root == "incremental" {
		switch len(seg) {
		case 2:
			at, err := incrementalTime(seg[0], stem)
			return File{Kind: IncrementalSingle, DeliveredAt: at}, err
		case 3:
			gvlid, ok := parseGVLID([]byte(seg[0]))
			if !ok {
				return File{}, fmt.Errorf("partner folder %q is not a GVLID (a positive integer that fits int32)", seg[0])
			}
			at, err := incrementalTime(seg[1], stem)
			return File{Kind: IncrementalPerPartner, PartnerGVLID: gvlid, DeliveredAt: at}, err
		}
		return File{}, fmt.Errorf("incremental path has %d segments, want incremental/YYYYMMDD/HHMMSS.csv or incremental/PARTNER_GVLID/YYYYMMDD/HHMMSS.csv", len(seg)+1)
	}
	switch len(seg) {
	case 1:
		at, err := ParseExtractTime(stem)
		return File{Kind: FullSingle, DeliveredAt: at}, err
	case 2:
		gvlid, ok := parseGVLID([]byte(seg[0]))
		if !ok {
			return File{}, fmt.Errorf("partner folder %q is not a GVLID (a positive integer that fits int32)", seg[0])
		}
		at, err := ParseExtractTime(stem)
		return File{Kind: FullPerPartner, PartnerGVLID: gvlid, DeliveredAt: at}, err
	}
	return File{}, fmt.Errorf("full-extracts path has %d segments, want full-extracts/DATETIME.csv or full-extracts/PARTNER_GVLID/DATETIME.csv", len(seg)+1)
}

// incrementalTime combines a YYYYMMDD day folder and an HHMMSS file stem.
func incrementalTime(day, hms string) (time.Time, error) {
	if len(day) != 8 || !allDigits(day) {
		return time.Time{}, fmt.Errorf("day folder %q is not YYYYMMDD", day)
	}
	y, m, d := atoi(day[0:4]), atoi(day[4:6]), atoi(day[6:8])
	if err := checkDate(y, m, d); err != nil {
		return time.Time{}, fmt.Errorf("day folder %q: %w", day, err)
	}
	if len(hms) != 6 || !allDigits(hms) {
		return time.Time{}, fmt.Errorf("file name %q is not HHMMSS.csv", hms+".csv")
	}
	hh, mm, ss := atoi(hms[0:2]), atoi(hms[2:4]), atoi(hms[4:6])
	if err := checkClock(hh, mm, ss); err != nil {
		return time.Time{}, fmt.Errorf("file name %q: %w", hms+".csv", err)
	}
	return time.Date(y, time.Month(m), d, hh, mm, ss, 0, time.UTC), nil
}

// ParseExtractTime decodes the DATETIME that names a full extract. name is the
// file name without its directory; a trailing ".csv" is ignored. ID5 leaves
// the exact form open, so the accepted grammar is
//
//	name = date [ sep clock [ frac ] [ zone ] ]
//	date = YYYYMMDD | YYYY-MM-DD
//	sep  = "T" | "t" | "_" | " " | ""   ("" only between YYYYMMDD and HHMMSS)
//	clock = HHMMSS | HH:MM:SS | HH-MM-SS
//	frac = ("." | ",") followed by 1 to 9 digits
//	zone = "Z" | "z" | ("+" | "-") HH [ [":"] MM ]
//
// which covers, for example:
//
//	20221106143000                 YYYYMMDDHHMMSS
//	20221106_143000                YYYYMMDD_HHMMSS
//	20221106T143000Z               ISO 8601 basic
//	20221106T143000                ISO 8601 basic, no zone
//	2022-11-06T14:30:00Z           ISO 8601 extended / RFC 3339
//	2022-11-06T14-30-00Z           the same with file-name-safe hyphens
//	2022-11-06T14:30:00.123456Z    fractional seconds (up to nanoseconds)
//	2022-11-06T16:30:00+02:00      offsets (±HH:MM, ±HHMM, ±HH), converted to UTC
//	2022-11-06 14:30:00            space separator
//	20221106, 2022-11-06           date only: midnight UTC
//
// A name without a zone is UTC, as are all ID5 times. The result is always in
// UTC. Fields are range-checked: month 01-12, a day that exists in that month
// (leap years included), hour 00-23, minute and second 00-59 (no leap second),
// offset hour 00-23 and minute 00-59. Anything else is an error.
func ParseExtractTime(name string) (time.Time, error) {
	t, err := parseDateTime(strings.TrimSuffix(name, ".csv"))
	if err != nil {
		return time.Time{}, fmt.Errorf("extract datetime %q: %w", name, err)
	}
	return t, nil
}

func parseDateTime(s string) (time.Time, error) {
	var y, mo, d int
	extended := len(s) >= 5 && s[4] == '-'
	switch {
	case extended:
		if len(s) < 10 || s[7] != '-' || !allDigits(s[0:4]) || !allDigits(s[5:7]) || !allDigits(s[8:10]) {
			return time.Time{}, errors.New("date is not YYYY-MM-DD")
		}
		y, mo, d = atoi(s[0:4]), atoi(s[5:7]), atoi(s[8:10])
		s = s[10:]
	case len(s) >= 8 && allDigits(s[0:8]):
		y, mo, d = atoi(s[0:4]), atoi(s[4:6]), atoi(s[6:8])
		s = s[8:]
	default:
		return time.Time{}, errors.New("does not start with YYYYMMDD or YYYY-MM-DD")
	}
	if err := checkDate(y, mo, d); err != nil {
		return time.Time{}, err
	}
	if s == "" {
		return time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC), nil
	}
	switch s[0] {
	case 'T', 't', '_', ' ':
		s = s[1:]
	default:
		if extended || !isDigit(s[0]) {
			return time.Time{}, fmt.Errorf("unexpected %q after the date", s[0])
		}
	}

	var hh, mm, ss int
	switch {
	case len(s) >= 8 && (s[2] == ':' || s[2] == '-'):
		if s[5] != s[2] || !allDigits(s[0:2]) || !allDigits(s[3:5]) || !allDigits(s[6:8]) {
			return time.Time{}, errors.New("time is not HH:MM:SS, HH-MM-SS or HHMMSS")
		}
		hh, mm, ss = atoi(s[0:2]), atoi(s[3:5]), atoi(s[6:8])
		s = s[8:]
	case len(s) >= 6 && allDigits(s[0:6]):
		hh, mm, ss = atoi(s[0:2]), atoi(s[2:4]), atoi(s[4:6])
		s = s[6:]
	default:
		return time.Time{}, errors.New("time is not HH:MM:SS, HH-MM-SS or HHMMSS")
	}
	if err := checkClock(hh, mm, ss); err != nil {
		return time.Time{}, err
	}

	nsec := 0
	if s != "" && (s[0] == '.' || s[0] == ',') {
		n := 1
		for n < len(s) && isDigit(s[n]) {
			n++
		}
		digits := s[1:n]
		if len(digits) == 0 || len(digits) > 9 {
			return time.Time{}, errors.New("fractional seconds must have 1 to 9 digits")
		}
		nsec = atoi(digits)
		for i := len(digits); i < 9; i++ {
			nsec *= 10
		}
		s = s[n:]
	}

	offset := 0 // seconds east of UTC
	switch {
	case s == "":
	case s == "Z" || s == "z":
		s = ""
	case s[0] == '+' || s[0] == '-':
		z := s[1:]
		var oh, om int
		switch {
		case len(z) == 2 && allDigits(z):
			oh = atoi(z)
		case len(z) == 4 && allDigits(z):
			oh, om = atoi(z[0:2]), atoi(z[2:4])
		case len(z) == 5 && z[2] == ':' && allDigits(z[0:2]) && allDigits(z[3:5]):
			oh, om = atoi(z[0:2]), atoi(z[3:5])
		default:
			return time.Time{}, fmt.Errorf("zone offset %q is not ±HH, ±HHMM or ±HH:MM", s)
		}
		if oh > 23 || om > 59 {
			return time.Time{}, fmt.Errorf("zone offset %q out of range", s)
		}
		offset = oh*3600 + om*60
		if s[0] == '-' {
			offset = -offset
		}
		s = ""
	default:
		return time.Time{}, fmt.Errorf("unexpected %q after the time", s)
	}
	t := time.Date(y, time.Month(mo), d, hh, mm, ss, nsec, time.UTC)
	return t.Add(-time.Duration(offset) * time.Second), nil
}

func checkDate(y, m, d int) error {
	if m < 1 || m > 12 {
		return fmt.Errorf("month %02d out of range", m)
	}
	if d < 1 || d > daysIn(y, m) {
		return fmt.Errorf("day %02d out of range for %04d-%02d", d, y, m)
	}
	return nil
}

func checkClock(hh, mm, ss int) error {
	switch {
	case hh > 23:
		return fmt.Errorf("hour %02d out of range", hh)
	case mm > 59:
		return fmt.Errorf("minute %02d out of range", mm)
	case ss > 59:
		return fmt.Errorf("second %02d out of range", ss)
	}
	return nil
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// atoi converts a short all-digit string; callers check allDigits first.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
