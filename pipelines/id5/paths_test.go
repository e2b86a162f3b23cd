package id5

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func utc(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
	return time.Date(y, mo, d, h, mi, s, ns, time.UTC)
}

func TestClassifyPath(t *testing.T) {
	tests := []struct {
		path    string
		kind    Kind
		gvlid   int32
		at      time.Time
		deliver string
	}{
		{"incremental/45/20221106/000000.csv", IncrementalPerPartner, 45, utc(2022, 11, 6, 0, 0, 0, 0), DeliveryPerPartner},
		{"incremental/45/20221107/233000.csv", IncrementalPerPartner, 45, utc(2022, 11, 7, 23, 30, 0, 0), DeliveryPerPartner},
		{"incremental/2147483647/20240229/235959.csv", IncrementalPerPartner, 2147483647, utc(2024, 2, 29, 23, 59, 59, 0), DeliveryPerPartner},
		// Four segments are per-partner even when the partner folder looks like a day.
		{"incremental/20221106/20221107/000000.csv", IncrementalPerPartner, 20221106, utc(2022, 11, 7, 0, 0, 0, 0), DeliveryPerPartner},
		{"incremental/20221106/000000.csv", IncrementalSingle, 0, utc(2022, 11, 6, 0, 0, 0, 0), DeliverySingleFile},
		{"incremental/20220305/003000.csv", IncrementalSingle, 0, utc(2022, 3, 5, 0, 30, 0, 0), DeliverySingleFile},
		{"full-extracts/45/20221106120000.csv", FullPerPartner, 45, utc(2022, 11, 6, 12, 0, 0, 0), DeliveryPerPartner},
		{"full-extracts/45/2022-11-06T12:00:00Z.csv", FullPerPartner, 45, utc(2022, 11, 6, 12, 0, 0, 0), DeliveryPerPartner},
		{"full-extracts/20221106_120000.csv", FullSingle, 0, utc(2022, 11, 6, 12, 0, 0, 0), DeliverySingleFile},
		{"full-extracts/20221106T120000Z.csv", FullSingle, 0, utc(2022, 11, 6, 12, 0, 0, 0), DeliverySingleFile},
		{"full-extracts/20221106.csv", FullSingle, 0, utc(2022, 11, 6, 0, 0, 0, 0), DeliverySingleFile},
	}
	for _, tt := range tests {
		f, err := ClassifyPath(tt.path)
		if err != nil {
			t.Errorf("ClassifyPath(%q): %v", tt.path, err)
			continue
		}
		want := File{Path: tt.path, Kind: tt.kind, PartnerGVLID: tt.gvlid, DeliveredAt: tt.at, Delivery: tt.deliver}
		if f != want {
			t.Errorf("ClassifyPath(%q) = %+v, want %+v", tt.path, f, want)
		}
		if f.DeliveredAt.Location() != time.UTC {
			t.Errorf("ClassifyPath(%q): DeliveredAt in %v, want UTC", tt.path, f.DeliveredAt.Location())
		}
	}
}

func TestClassifyPathRejects(t *testing.T) {
	tests := []struct {
		path  string
		inErr string // a substring the error must contain
	}{
		{"", "not under"},
		{"_SUCCESS", "not under"},
		{"other/45/20221106/000000.csv", "not under"},
		{"Incremental/20221106/000000.csv", "not under"},
		{"/incremental/20221106/000000.csv", "not under"},
		{"incremental", "1 segment"},
		{"incremental/20221106", "does not end in .csv"},
		{"incremental/000000.csv", "segments"},
		{"incremental/45/20221106/extra/000000.csv", "segments"},
		{"incremental//20221106/000000.csv", "empty path segment"},
		{"incremental/20221106/", "empty path segment"},
		{"incremental/20221106/000000.txt", "does not end in .csv"},
		{"incremental/20221106/000000.CSV", "does not end in .csv"},
		{"incremental/20221106/000000.csv.gz", "does not end in .csv"},
		{"incremental/20221106/.csv", "does not end in .csv"},
		{"incremental/20221332/000000.csv", "month 13 out of range"},
		{"incremental/20221100/000000.csv", "day 00 out of range"},
		{"incremental/20230229/000000.csv", "day 29 out of range"},
		{"incremental/20221131/000000.csv", "day 31 out of range"},
		{"incremental/2022110/000000.csv", "not YYYYMMDD"},
		{"incremental/2022-11-06/000000.csv", "not YYYYMMDD"},
		{"incremental/45/000000.csv", "not YYYYMMDD"},
		{"incremental/20221106/250000.csv", "hour 25 out of range"},
		{"incremental/20221106/006000.csv", "minute 60 out of range"},
		{"incremental/20221106/000060.csv", "second 60 out of range"},
		{"incremental/20221106/00000.csv", "not HHMMSS"},
		{"incremental/20221106/0000000.csv", "not HHMMSS"},
		{"incremental/20221106/00:00:00.csv", "not HHMMSS"},
		{"incremental/0/20221106/000000.csv", "not a GVLID"},
		{"incremental/045/20221106/000000.csv", "not a GVLID"},
		{"incremental/-45/20221106/000000.csv", "not a GVLID"},
		{"incremental/+45/20221106/000000.csv", "not a GVLID"},
		{"incremental/2147483648/20221106/000000.csv", "not a GVLID"},
		{"incremental/abc/20221106/000000.csv", "not a GVLID"},
		{"incremental/45/20221106/250000.csv", "hour 25"},
		{"full-extracts", "1 segment"},
		{"full-extracts/45/20221106/000000.csv", "segments"},
		{"full-extracts/latest.csv", "extract datetime"},
		{"full-extracts/20221332120000.csv", "month 13"},
		{"full-extracts/45/2022-11-06T25:00:00Z.csv", "hour 25"},
		{"full-extracts/x/20221106120000.csv", "not a GVLID"},
		{"full-extracts/20221106/000000.csv", "extract datetime"}, // partner 20221106, datetime 000000
		{"full-extracts/20221106120000.parquet", "does not end in .csv"},
	}
	for _, tt := range tests {
		f, err := ClassifyPath(tt.path)
		if err == nil {
			t.Errorf("ClassifyPath(%q) = %+v, want error", tt.path, f)
			continue
		}
		if !strings.Contains(err.Error(), tt.inErr) || !strings.HasPrefix(err.Error(), "id5: path ") {
			t.Errorf("ClassifyPath(%q) error %q, want one containing %q", tt.path, err, tt.inErr)
		}
		if f != (File{}) {
			t.Errorf("ClassifyPath(%q) returned %+v with an error, want the zero File", tt.path, f)
		}
		if got, want := errors.Is(err, ErrNotID5Path), tt.inErr == "not under"; got != want {
			t.Errorf("ClassifyPath(%q): errors.Is(err, ErrNotID5Path) = %v, want %v", tt.path, got, want)
		}
	}
}

func TestKind(t *testing.T) {
	tests := []struct {
		k         Kind
		s         string
		full, per bool
		delivery  string
	}{
		{IncrementalPerPartner, "incremental_per_partner", false, true, DeliveryPerPartner},
		{IncrementalSingle, "incremental_single", false, false, DeliverySingleFile},
		{FullPerPartner, "full_per_partner", true, true, DeliveryPerPartner},
		{FullSingle, "full_single", true, false, DeliverySingleFile},
		{0, "Kind(0)", false, false, ""},
		{9, "Kind(9)", false, false, ""},
	}
	for _, tt := range tests {
		if tt.k.String() != tt.s || tt.k.Full() != tt.full || tt.k.PerPartner() != tt.per || tt.k.Delivery() != tt.delivery {
			t.Errorf("Kind %d: got %q full=%v per=%v delivery=%q, want %q %v %v %q",
				tt.k, tt.k, tt.k.Full(), tt.k.PerPartner(), tt.k.Delivery(), tt.s, tt.full, tt.per, tt.delivery)
		}
	}
}

func TestParseExtractTime(t *testing.T) {
	noon := utc(2022, 11, 6, 14, 30, 0, 0)
	tests := []struct {
		name string
		want time.Time
	}{
		{"20221106143000", noon},                                                // YYYYMMDDHHMMSS
		{"20221106143000.csv", noon},                                            // .csv ignored
		{"20221106_143000", noon},                                               // YYYYMMDD_HHMMSS
		{"20221106T143000Z", noon},                                              // ISO 8601 basic
		{"20221106t143000z", noon},                                              // lower-case designators
		{"20221106T143000", noon},                                               // no zone: UTC
		{"20221106143000Z", noon},                                               // zone without separator
		{"2022-11-06T14:30:00Z", noon},                                          // RFC 3339
		{"2022-11-06T14:30:00", noon},                                           // no zone
		{"2022-11-06T14-30-00Z", noon},                                          // file-name-safe
		{"2022-11-06_14-30-00", noon},                                           // underscore, hyphens
		{"2022-11-06 14:30:00", noon},                                           // space separator
		{"20221106T14:30:00Z", noon},                                            // basic date, extended time
		{"2022-11-06T143000Z", noon},                                            // extended date, basic time
		{"2022-11-06T14:30:00.5Z", utc(2022, 11, 6, 14, 30, 0, 500000000)},      // fraction
		{"2022-11-06T14:30:00,25Z", utc(2022, 11, 6, 14, 30, 0, 250000000)},     // ISO decimal comma
		{"2022-11-06T14:30:00.123456Z", utc(2022, 11, 6, 14, 30, 0, 123456000)}, // micros
		{"2022-11-06T14:30:00.123456789", utc(2022, 11, 6, 14, 30, 0, 123456789)},
		{"20221106T143000.001Z", utc(2022, 11, 6, 14, 30, 0, 1000000)},
		{"2022-11-06T14:30:00+00:00", noon},
		{"2022-11-06T16:30:00+02:00", noon},
		{"2022-11-06T09:30:00-05:00", noon},
		{"2022-11-06T16:30:00+0200", noon},
		{"2022-11-06T16:30:00+02", noon},
		{"20221106T163000+0200", noon},
		{"2022-11-06T15:00:00+00:30", noon},
		{"2022-11-06T00:30:00.5+01:00", utc(2022, 11, 5, 23, 30, 0, 500000000)}, // day rolls back
		{"20221106", utc(2022, 11, 6, 0, 0, 0, 0)},
		{"2022-11-06", utc(2022, 11, 6, 0, 0, 0, 0)},
		{"20240229", utc(2024, 2, 29, 0, 0, 0, 0)},
		{"20000229000000", utc(2000, 2, 29, 0, 0, 0, 0)},
		{"2022-12-31T23:59:59Z", utc(2022, 12, 31, 23, 59, 59, 0)},
	}
	for _, tt := range tests {
		got, err := ParseExtractTime(tt.name)
		if err != nil {
			t.Errorf("ParseExtractTime(%q): %v", tt.name, err)
			continue
		}
		if !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("ParseExtractTime(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestParseExtractTimeRejects(t *testing.T) {
	for _, name := range []string{
		"", ".csv", "latest", "2022", "2022110", "202211061", "20221106 ",
		"20221332", "20221100", "20230229", "21000229", "2022-13-01", "2022-11-31", "2022-11-6",
		"2022/11/06", "2022-1106", "202211-06",
		"2022-11-06143000", // no separator after an extended date
		"20221106T", "20221106_", "20221106T1430", "20221106T14300", "20221106T1430000",
		"20221106T143000ZZ", "20221106T143000Z.csv.csv",
		"20221106250000", "20221106146000", "20221106143060", "20221106T240000Z",
		"2022-11-06T14:30:00.Z", "2022-11-06T14:30:00.1234567891Z",
		"2022-11-06T14:30:00+2", "2022-11-06T14:30:00+020", "2022-11-06T14:30:00+02:0",
		"2022-11-06T14:30:00+24:00", "2022-11-06T14:30:00+02:60", "2022-11-06T14:30:00 +02:00",
		"2022-11-06T14:30-00Z", "2022-11-06T14-30:00Z", "2022-11-06T14:3a:00Z",
		"2022-11-06T14:30:00UTC", "2022-11-06T14-30-00-00-00", "20221106X143000", "1667745000",
		"-2022-11-06", "+20221106", " 20221106",
	} {
		got, err := ParseExtractTime(name)
		if err == nil {
			t.Errorf("ParseExtractTime(%q) = %v, want error", name, got)
			continue
		}
		if !strings.HasPrefix(err.Error(), "extract datetime ") {
			t.Errorf("ParseExtractTime(%q) error %q lacks context", name, err)
		}
	}
}

// TestFixturePaths classifies every file of the committed fixture bucket.
func TestFixturePaths(t *testing.T) {
	root := filepath.Join("..", "..", "testdata", "id5", "fixtures")
	want := map[string]File{
		"incremental/45/20220305/000300.csv": {Kind: IncrementalPerPartner, PartnerGVLID: 45, DeliveredAt: utc(2022, 3, 5, 0, 3, 0, 0), Delivery: DeliveryPerPartner},
		"incremental/20220305/003000.csv":    {Kind: IncrementalSingle, DeliveredAt: utc(2022, 3, 5, 0, 30, 0, 0), Delivery: DeliverySingleFile},
	}
	seen := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		f, err := ClassifyPath(rel)
		if err != nil {
			t.Errorf("fixture %s: %v", rel, err)
			return nil
		}
		w, ok := want[rel]
		w.Path = rel
		if !ok || f != w {
			t.Errorf("fixture %s: got %+v, want %+v (known: %v)", rel, f, w, ok)
		}
		seen++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != len(want) {
		t.Errorf("found %d fixture files, want %d", seen, len(want))
	}
	if _, err := os.Stat(root); err != nil {
		t.Fatal(err)
	}
}
