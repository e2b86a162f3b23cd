package didomi

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/valyala/fastjson"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/transforms"
)

// trickyLines exercise the corners where the single-walk parser could drift
// from the reference: escapes, duplicate keys, unmodelled keys at every
// level, preference values of every kind, numbers, timestamps, and lines
// with several problems (the first one checked must win).
var trickyLines = []string{
	goodLine,
	`{"user":{"id":"u"}}`,
	`{"user":{"id":"u"},"events":null}`,
	`{"events":[],"user":{"id":"u"}}`,
	`{"user":{"id":"u","metadata":"a\/b\u00e9\"q\""}}`,
	`{"user":{"id":"u","metadata":{"a\u0041":"\n","b":[1,{"c\"":"\/"}]}}}`,
	`{"user":{"id":"u","x\u0041":{"k\"":"v\/"},"metadata":null},"r\u00e9c":[1,"\u0001"],"z":null}`,
	`{"user":{"\u0069d":"escaped-id","c\u006funtry":"FR"}}`,
	`{"user":{"id":"u1","id":"u2","country":"FR","country":5}}`,
	`{"user":{"id":"u1","country":5,"country":"FR"}}`,
	`{"user":{"id":"u"},"x":1,"user":{"id":"v"},"events":[{"id":"a"}],"events":"no"}`,
	`{"user":{"id":"u","consents":{"purposes":[{"id":"p","values":{"a":{"value":{"b\u0041":1}},"b":{"nov":"x","n\u0041":2},"c":"str\/","d":null,"e":{"value":null},"f":[1,"\u00e9"],"g":{"value":"s\u00e9"},"h":{"value":[{"x\u0041":1}]},"i":7,"j":{"value":1.5e3,"value":"second"}}}]}}}`,
	`{"user":{"id":"u","consents":{"vendors":{"enabled":[1.5e3,-0,755,"a\/b"],"disabled":null,"x":{"y":1}},"extra\u0041":true,"tcfcs":null}}}`,
	`{"user":{"id":"u","consents":{"purposes":[],"channels":[],"vendors":{}}}}`,
	`{"user":{"id":"u","consents":{"purposes":null,"channels":null,"vendors":null}}}`,
	`{"user":{"id":"u","consents":{"purposes":[{"id":"p","enabled":true,"enabled_li":false,"metadata":"m","values":null,"extra":{"a":1}},{}],"channels":[{"id":"c","enabled":null,"metadata":{"v":true},"z":[]},{}]}}}`,
	`{"user":{"id":"u","version":3.0},"events":[{}]}`,
	`{"user":{"id":"u","version":1e2}}`,
	`{"user":{"id":"u","version":-5}}`,
	`{"user":{"id":"u","version":9223372036854775807}}`,
	`{"user":{"id":"u","version":9223372036854775808}}`,
	`{"user":{"id":"u","version":1e30}}`,
	`{"user":{"id":"u","version":1.5}}`,
	`{"user":{"id":"u","version":"3"}}`,
	`{"user":{"id":"u","version":{"a\u0041":"b\/"}}}`,
	`{"user":{"id":"u","version":null}}`,
	`{"user":{"id":"u","created_at":"2024-03-01T10:15:30.123456789123+02:00"}}`,
	`{"user":{"id":"u","created_at":"2024-02-29T00:00:00Z","updated_at":"2023-02-29T00:00:00Z"}}`,
	`{"user":{"id":"u","created_at":"2024-03-01T10:15:30,5Z"}}`,
	`{"user":{"id":"u","created_at":"2024-03-01T24:00:00Z"}}`,
	`{"user":{"id":"u","created_at":"0000-01-01T00:00:00Z"}}`,
	`{"user":{"id":"u","created_at":"9999-12-31T23:59:59.999999999-23:59"}}`,
	`{"user":{"id":"u","created_at":"1969-12-31T23:59:59.9999995Z"}}`,
	`{"user":{"id":"u","created_at":"2024-03-01T10:15:30.Z"}}`,
	`{"user":{"id":"u","created_at":"2024-03-01t10:15:30Z"}}`,
	`{"user":{"id":"u","created_at":"2024-03-01T10:15:30+0200"}}`,
	`{"user":{"id":"u","created_at":"2024-03-01T10:15:30+24:00"}}`,
	`{"user":{"id":"u","created_at":"2024-03-01T10:15:30\u002B02:00"}}`,
	`{"user":{"id":"u","created_at":null,"updated_at":"2024-03-01T10:15:30.1234567-00:30"}}`,
	`{"user":{"id":"u","country":1,"version":"x","created_at":"bad"}}`,
	`{"user":{"id":"u","version":"x","created_at":"bad"}}`,
	`{"user":{"id":"u","created_at":5,"updated_at":"bad"},"events":1}`,
	`{"user":{"id":"u","consents":{"tcfcs":1,"purposes":1}}}`,
	`{"user":{"id":"u","consents":{"purposes":[{"id":"p"},{"id":1}],"channels":[{"enabled":"x"}],"vendors":{"enabled":"x"}}}}`,
	`{"user":{"id":"u","consents":{"channels":[1],"vendors":{"enabled":"x"}}}}`,
	`{"user":{"id":"u","consents":{"vendors":{"enabled":["a"],"disabled":[{}],"enabled_li":"x"}}}}`,
	`{"user":{"id":"u","consents":{"purposes":[{"enabled_li":"x","values":1}]}}}`,
	`{"user":{"id":"u","consents":{"purposes":[{"values":1}]}}}`,
	`{"user":{"id":"u","consents":"x"}}`,
	`{"user":{"id":"u"},"events":[{"id":1,"user":"x"}]}`,
	`{"user":{"id":"u"},"events":[{"created_at":"x","user":{"id":1}}]}`,
	`{"user":{"id":"u"},"events":[{"user":{"id":1},"delegate":1}]}`,
	`{"user":{"id":"u"},"events":[{"user":{"country":[]},"delegate":{"name":1}}]}`,
	`{"user":{"id":"u"},"events":[{"delegate":{"name":1},"proofs_id":[1]}]}`,
	`{"user":{"id":"u"},"events":[{"proofs_id":[1],"consents":[]}]}`,
	`{"user":{"id":"u"},"events":[{"consents":{"purposes":[{"enabled":1}]}}]}`,
	`{"user":{"id":"u"},"events":[{},{"id":"e2","status":false}]}`,
	`{"user":{"id":"u"},"events":[{"id":"e1","status":false},2]}`,
	`{"user":{"id":"u"},"events":[{},2,{"id":1}]}`,
	`{"user":{"id":"u"},"events":[null]}`,
	`{"user":{"id":"u"},"events":[{"regulation":null},{"regulation":"ccpa"},{"regulation":"a\/b"}]}`,
	`{"user":{"id":"u"},"events":[{"user":null,"delegate":null,"proofs_id":null,"consents":null,"metadata":null}]}`,
	`{"user":{"id":"u"},"events":[{"user":{"id":"u","z\u0041":1,"metadata":"m\/"},"delegate":{"id":"d","q":[true]},"proofs_id":[],"x":{"y":"z"},"metadata":[1,2]}]}`,
	`{"user":{"id":5}}`,
	`{"user":{"id":""}}`,
	`{"user":{"id":"\u0000"}}`,
	`{"user":{"id":"u\u00e9\ud83d\ude00","organization_user_id":"a\"b"}}`,
	`{"user":[]}`,
	`{"user":null}`,
	`{}`,
	`[]`,
	`"s"`,
	`1`,
	`null`,
	`{"user":{"id":"u"}} trailing`,
	`{"user":{"id":"u"`,
	`  {"user":{"id":"u"}}  `,
	"{\"user\":{\"id\":\"u\",\"metadata\":{\"k\" : [ 1 , 2 ]}}}",
	`{"user":{"id":"u","metadata":{"big":123456789012345678901234567890,"neg":-1.5E-7}}}`,
}

// parseWith runs lines through p in chunks of chunk lines (flushing after
// each, as ParseLines does) and returns the records, the rejects and what
// Parse returned.
func parseWith(t testing.TB, p transforms.LineParser, lines [][]byte, chunk int) (recs map[string][]arrow.Record, oks []bool) {
	t.Helper()
	rej := transforms.NewEventRejects(RejectsTable, "p", "", "f", 0)
	defer rej.Release()
	recs = map[string][]arrow.Record{}
	emit := func(b hiveparquet.Batch) { recs[b.Table] = append(recs[b.Table], b.Record) }
	for i, l := range lines {
		oks = append(oks, p.Parse(l, int64(i+1), rej))
		if (i+1)%chunk == 0 || i == len(lines)-1 {
			p.Flush(emit)
			rej.Flush(emit)
		}
	}
	return recs, oks
}

// rulesAgree reports whether the parser and the reference parser (the
// rules before issue 16) must agree on line: the reference rejects a whole
// line for a problem inside one event, for a timestamp with a space, no zone
// or more than nine fractional digits, and it lets invalid UTF-8 through;
// the parser rejects only the event, accepts those timestamps, and rejects
// invalid UTF-8. Lines where any of this happens are left out of the
// comparison (the parser's own tests cover them).
func rulesAgree(line []byte) bool {
	if !utf8.Valid(line) {
		return false
	}
	p := newParser("f", "p")
	defer p.Release()
	r := refNewParser("f", "p")
	defer r.Release()
	pr := transforms.NewEventRejects(RejectsTable, "p", "", "f", 0)
	defer pr.Release()
	rr := transforms.NewEventRejects(RejectsTable, "p", "", "f", 0)
	defer rr.Release()
	p.Parse(line, 1, pr)
	r.Parse(line, 1, rr)
	release := func(b hiveparquet.Batch) { b.Record.Release() }
	p.Flush(release)
	r.Flush(release)
	pr.Flush(release)
	rr.Flush(release)
	if pr.EventCount() > 0 || p.Warnings() != nil {
		return false
	}
	for _, c := range append(pr.ByReason(), rr.ByReason()...) {
		if c.Name == ReasonBadTimestamp || c.Name == ReasonInvalidUTF8 {
			return false
		}
	}
	return true
}

// agreed returns the lines of lines on which both rules agree.
func agreed(lines [][]byte) [][]byte {
	var out [][]byte
	for _, l := range lines {
		if rulesAgree(l) {
			out = append(out, l)
		}
	}
	return out
}

// compareWithReference fails when the parser and the reference parser
// differ on lines: accepted lines, rows, rejects (code, reason, raw). The
// caller passes only lines on which the rules agree (agreed).
func compareWithReference(t testing.TB, lines [][]byte, chunk int) {
	t.Helper()
	p := newParser("export-id=x/date=2024-03-01/users/part-00000-0123456789abcdef.json.gz", "export_id=x/date=2024-03-01")
	defer p.Release()
	r := refNewParser("export-id=x/date=2024-03-01/users/part-00000-0123456789abcdef.json.gz", "export_id=x/date=2024-03-01")
	defer r.Release()
	got, gotOK := parseWith(t, p, lines, chunk)
	want, wantOK := parseWith(t, r, lines, chunk)
	defer func() {
		for _, m := range []map[string][]arrow.Record{got, want} {
			for _, rs := range m {
				for _, rec := range rs {
					rec.Release()
				}
			}
		}
	}()
	for i := range lines {
		if gotOK[i] != wantOK[i] {
			t.Fatalf("line %d %q: accepted %v, reference %v", i+1, lines[i], gotOK[i], wantOK[i])
		}
	}
	for _, table := range []string{UsersTable, EventsTable, RejectsTable} {
		g, w := got[table], want[table]
		if len(g) != len(w) {
			t.Fatalf("%s: %d batches, reference %d", table, len(g), len(w))
		}
		for i := range g {
			if !array.RecordEqual(g[i], w[i]) {
				t.Fatalf("%s batch %d differs from the reference\n got: %v\nwant: %v", table, i, recordText(g[i]), recordText(w[i]))
			}
			// RecordEqual does not compare the JSON text of the columns'
			// values as strings compare them; the text form does.
			if gs, ws := recordText(g[i]), recordText(w[i]); gs != ws {
				t.Fatalf("%s batch %d differs from the reference\n got: %s\nwant: %s", table, i, gs, ws)
			}
		}
	}
	if g, w := fmt.Sprint(p.Rows()), fmt.Sprint(r.Rows()); g != w {
		t.Fatalf("Rows() = %s, reference %s", g, w)
	}
}

// recordText renders every column of rec, values and nulls.
func recordText(rec arrow.Record) string {
	var sb strings.Builder
	for i, c := range rec.Columns() {
		fmt.Fprintf(&sb, "%s=%v\n", rec.ColumnName(i), c)
	}
	return sb.String()
}

// TestParseMatchesReference checks the parser against the reference
// (validate-then-append) parser on the tricky lines and on the committed
// sample export, in one chunk and in chunks of a few lines (the builders
// are reserved from one chunk to the next).
func TestParseMatchesReference(t *testing.T) {
	var tricky [][]byte
	for _, l := range trickyLines {
		tricky = append(tricky, []byte(l))
	}
	sample := sampleLines(t)
	// The comparison stays meaningful: most lines are still compared.
	nt, ns := len(tricky), len(sample)
	tricky, sample = agreed(tricky), agreed(sample)
	t.Logf("compared %d of %d tricky lines, %d of %d sample lines", len(tricky), nt, len(sample), ns)
	if len(tricky) < nt*2/3 || len(sample) < ns-5 {
		t.Fatalf("only %d of %d tricky lines and %d of %d sample lines are compared", len(tricky), nt, len(sample), ns)
	}
	tests := []struct {
		name  string
		lines [][]byte
		chunk int
	}{
		{"tricky lines one by one", tricky, 1},
		{"tricky lines in one chunk", tricky, len(tricky)},
		{"sample in one chunk", sample, len(sample)},
		{"sample in chunks of 7", sample, 7},
		{"sample and tricky lines interleaved", interleave(sample, tricky), 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			compareWithReference(t, tt.lines, tt.chunk)
		})
	}
}

func interleave(a, b [][]byte) [][]byte {
	var out [][]byte
	for i := 0; i < len(a) || i < len(b); i++ {
		if i < len(a) {
			out = append(out, a[i])
		}
		if i < len(b) {
			out = append(out, b[i])
		}
	}
	return out
}

// hasEscapedDuplicateKey reports a line with an object whose keys repeat
// once unescaped while the line has escapes: there the parser takes the
// first of the keys and the reference may take another (see parse.go).
func hasEscapedDuplicateKey(line []byte) bool {
	if !bytes.Contains(line, []byte{'\\'}) {
		return false
	}
	var p fastjson.Parser
	v, err := p.ParseBytes(line)
	if err != nil {
		return false
	}
	var dup func(v *fastjson.Value) bool
	dup = func(v *fastjson.Value) bool {
		switch v.Type() {
		case fastjson.TypeObject:
			o, _ := v.Object()
			seen, found := map[string]bool{}, false
			o.Visit(func(k []byte, x *fastjson.Value) {
				if seen[string(k)] || dup(x) {
					found = true
				}
				seen[string(k)] = true
			})
			return found
		case fastjson.TypeArray:
			arr, _ := v.Array()
			for _, x := range arr {
				if dup(x) {
					return true
				}
			}
		}
		return false
	}
	return dup(v)
}

// TestEscapedDuplicateKeyUsesFirst pins the one documented difference from
// the reference: of two spellings of a modelled key, the first is used.
func TestEscapedDuplicateKeyUsesFirst(t *testing.T) {
	users, _, rej, ok := parseOne(t, `{"user":{"\u0069d":"first","id":"second"}}`)
	if !ok || rej != nil {
		t.Fatalf("rejected: %v", rej)
	}
	if got := col(users, "id").(*array.String).Value(0); got != "first" {
		t.Errorf("id = %q, want first", got)
	}
}

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
