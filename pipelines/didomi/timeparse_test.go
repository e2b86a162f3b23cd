package didomi

import (
	"testing"
	"time"
)

// TestParseTimeMatchesTimeParse checks the fast timestamp path against its
// definition by time.Parse(time.RFC3339Nano) on valid and invalid forms.
func TestParseTimeMatchesTimeParse(t *testing.T) {
	for _, s := range timestampCases {
		t.Run(s, func(t *testing.T) { checkTimestamp(t, s) })
	}
}

var timestampCases = []string{
	"2024-03-01T10:15:30Z",
	"2024-03-01T10:15:30.1Z",
	"2024-03-01T10:15:30.123Z",
	"2024-03-01T10:15:30.123456Z",
	"2024-03-01T10:15:30.1234567Z",
	"2024-03-01T10:15:30.123456789Z",
	"2024-03-01T10:15:30.1234567891Z",
	"2024-03-01T10:15:30.123456789123456789Z",
	"2024-03-01T10:15:30.123456+02:00",
	"2024-03-01T10:15:30-23:59",
	"2024-03-01T10:15:30+24:00",
	"2024-03-01T10:15:30+02:60",
	"2024-03-01T10:15:30+0200",
	"2024-03-01T10:15:30+02",
	"2024-03-01T10:15:30",
	"2024-03-01T10:15:30.Z",
	"2024-03-01T10:15:30,5Z",
	"2024-03-01T10:15:30z",
	"2024-03-01t10:15:30Z",
	"2024-03-01 10:15:30Z",
	"2024-02-29T00:00:00Z",
	"2023-02-29T00:00:00Z",
	"1900-02-29T00:00:00Z",
	"2000-02-29T00:00:00Z",
	"2024-04-31T00:00:00Z",
	"2024-13-01T00:00:00Z",
	"2024-00-01T00:00:00Z",
	"2024-01-00T00:00:00Z",
	"2024-03-01T24:00:00Z",
	"2024-03-01T23:60:00Z",
	"2024-03-01T23:59:60Z",
	"0000-01-01T00:00:00Z",
	"0000-01-01T00:00:00+01:00",
	"0001-01-01T00:00:00Z",
	"1969-12-31T23:59:59.9999995Z",
	"1969-12-31T23:59:59.000001Z",
	"1583-10-15T00:00:00Z",
	"9999-12-31T23:59:59.999999999-23:59",
	"9999-12-31T23:59:59.999999999+00:00",
	"+2024-03-01T10:15:30Z",
	"2024-3-01T10:15:30Z",
	"2024-03-01T1:15:30Z",
	"２024-03-01T10:15:30Z",
	"",
	"not-a-date",
	"2024-03-01T10:15:30.123456Z ",
	"2024-03-01 10:15:30",
	"2024-03-01 10:15:30.5",
	"2024-03-01 10:15:30.123456789123456",
	"2024-03-01T10:15:30,5",
	"2024-03-01T10:15:30.",
	"2024-03-01T10:15",
	"2024-03-01",
	"2024-03-01  10:15:30",
	"2024-03-01 10:15:30 Z",
	"2024-03-01T24:00:00",
	"2024-03-01T10:15:30+02:00Z",
}

// checkTimestamp checks parseTime against its definition: what
// time.Parse(time.RFC3339Nano) accepts once a space between date and time
// is made a 'T', and, without a zone, once a 'Z' is appended (zoned false).
func checkTimestamp(t *testing.T, s string) {
	t.Helper()
	got, zoned, gotErr := parseTime([]byte(s))
	norm := s
	if len(norm) > 10 && norm[10] == ' ' {
		norm = norm[:10] + "T" + norm[11:]
	}
	want, wantErr := time.Parse(time.RFC3339Nano, norm)
	wantZoned := true
	if wantErr != nil {
		if w, err := time.Parse(time.RFC3339Nano, norm+"Z"); err == nil {
			want, wantErr, wantZoned = w, nil, false
		}
	}
	if (gotErr != nil) != (wantErr != nil) {
		t.Fatalf("parseTime(%q) error %v, time.Parse error %v", s, gotErr, wantErr)
	}
	if wantErr == nil && (got != want.UnixMicro() || zoned != wantZoned) {
		t.Fatalf("parseTime(%q) = %d (zoned %v), time.Parse gives %d (zoned %v)", s, got, zoned, want.UnixMicro(), wantZoned)
	}
}

// FuzzTimestamp checks parseTime against its definition (checkTimestamp).
func FuzzTimestamp(f *testing.F) {
	for _, s := range timestampCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkTimestamp(t, s) })
}
