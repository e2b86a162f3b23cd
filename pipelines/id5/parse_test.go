package id5

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParsePerPartnerRow(t *testing.T) {
	tests := []struct {
		line, uid, puid string
	}{
		{"550e8400-e29b-41d4-a716-446655440000|45|100000187421490458", "550e8400-e29b-41d4-a716-446655440000", "100000187421490458"},
		{`"550e8400"|"45"|"1000"`, "550e8400", "1000"},
		{`"550e8400"|45|1000`, "550e8400", "1000"},
		{"u|45|p\r\n", "u", "p"},
		{"u|45|p\n", "u", "p"},
		{"u|45|p\r", "u", "p"},
		{"\xEF\xBB\xBFu|45|p", "u", "p"}, // byte order mark
		{" u |45| p ", " u ", " p "},     // spaces are data
		{`" u "|45|"p"`, " u ", "p"},     // inside quotes too
		{"ü|45|é", "ü", "é"},             // UTF-8
		{`"a'b"|45|x`, "a'b", "x"},       // single quotes are data
	}
	for _, tt := range tests {
		in := []byte(tt.line)
		m, rej := ParsePerPartnerRow(in, 45)
		if rej != nil {
			t.Errorf("ParsePerPartnerRow(%q): %v", tt.line, *rej)
			continue
		}
		want := Mapping{UID: tt.uid, PartnerGVLID: 45, PartnerUID: tt.puid}
		if m != want {
			t.Errorf("ParsePerPartnerRow(%q) = %+v, want %+v", tt.line, m, want)
		}
		if string(in) != tt.line {
			t.Errorf("ParsePerPartnerRow modified its input: %q", in)
		}
	}
}

func TestParsePerPartnerRowRejects(t *testing.T) {
	tests := []struct {
		line string
		code string
	}{
		{"", ReasonEmptyLine},
		{"\n", ReasonEmptyLine},
		{"\r\n", ReasonEmptyLine},
		{"\xEF\xBB\xBF", ReasonEmptyLine},
		{"u|45", ReasonFieldCount},
		{"u", ReasonFieldCount},
		{" ", ReasonEmptyLine},
		{" \t \r", ReasonEmptyLine},
		{"u|45|p|x", ReasonFieldCount},
		{"u|45|p|", ReasonFieldCount},
		{"|||", ReasonFieldCount},
		{`"u|v"|45|p`, ReasonUnbalancedQuotes}, // quotes do not protect a pipe
		{`"u|45|p`, ReasonUnbalancedQuotes},
		{`u"|45|p`, ReasonUnbalancedQuotes},
		{`u|45|"p`, ReasonUnbalancedQuotes},
		{`u|45|p"`, ReasonUnbalancedQuotes},
		{`"|45|p`, ReasonUnbalancedQuotes},
		{`"u" |45|p`, ReasonUnbalancedQuotes},
		{`u|"45|p`, ReasonUnbalancedQuotes},
		{`u"v|45|p`, ReasonInnerQuote},
		{`"u"v"|45|p`, ReasonInnerQuote},
		{`"u""v"|45|p`, ReasonInnerQuote}, // no CSV-style escaping
		{`"""|45|p`, ReasonInnerQuote},
		{`u|4"5|p`, ReasonInnerQuote},
		{"u||p", ReasonBadGVLID},
		{`u|""|p`, ReasonBadGVLID},
		{"u|abc|p", ReasonBadGVLID},
		{"u|045|p", ReasonBadGVLID},
		{"u|0|p", ReasonBadGVLID},
		{"u|-45|p", ReasonBadGVLID},
		{"u|+45|p", ReasonBadGVLID},
		{"u| 45|p", ReasonBadGVLID},
		{"u|4.5|p", ReasonBadGVLID},
		{"u|2147483648|p", ReasonBadGVLID},
		{"u|99999999999|p", ReasonBadGVLID},
		{"u|matchpartner1GVLID|p", ReasonBadGVLID},
		{"u|46|p", ReasonGVLIDMismatch},
		{"u|2147483647|p", ReasonGVLIDMismatch},
		{"|45|p", ReasonEmptyUID},
		{`""|45|p`, ReasonEmptyUID},
		{"u|45|", ReasonEmptyPartnerUID},
		{`u|45|""`, ReasonEmptyPartnerUID},
		{"\xff|45|p", ReasonInvalidUTF8},
		{"u|45|p\xc3", ReasonInvalidUTF8},
	}
	for _, tt := range tests {
		m, rej := ParsePerPartnerRow([]byte(tt.line), 45)
		if rej == nil {
			t.Errorf("ParsePerPartnerRow(%q) = %+v, want reject %s", tt.line, m, tt.code)
			continue
		}
		if rej.Code != tt.code || rej.Reason == "" {
			t.Errorf("ParsePerPartnerRow(%q) rejected %v, want code %s", tt.line, *rej, tt.code)
		}
		if m != (Mapping{}) {
			t.Errorf("ParsePerPartnerRow(%q) returned %+v with a reject", tt.line, m)
		}
	}
}

func TestParseSingleHeader(t *testing.T) {
	tests := []struct {
		line string
		want Header
	}{
		{"35|20|45|109", Header{35, []int32{20, 45, 109}}},
		{"35|20|45|109\r\n", Header{35, []int32{20, 45, 109}}},
		{`"35"|"20"|45`, Header{35, []int32{20, 45}}},
		{"\xEF\xBB\xBF131|45", Header{131, []int32{45}}},
		{"131|109|20|45", Header{131, []int32{109, 20, 45}}}, // any order
		{"45|45", Header{45, []int32{45}}},                   // source may equal a partner
		{"2147483647|1", Header{2147483647, []int32{1}}},
	}
	for _, tt := range tests {
		h, err := ParseSingleHeader([]byte(tt.line))
		if err != nil {
			t.Errorf("ParseSingleHeader(%q): %v", tt.line, err)
			continue
		}
		if h.SourceGVLID != tt.want.SourceGVLID || !slices.Equal(h.Partners, tt.want.Partners) {
			t.Errorf("ParseSingleHeader(%q) = %+v, want %+v", tt.line, h, tt.want)
		}
	}
}

func TestParseSingleHeaderErrors(t *testing.T) {
	tests := []struct{ line, inErr string }{
		{"", "empty line"},
		{"\r\n", "empty line"},
		{" \t", "empty line"},
		{"35", "no match partner"},
		{"35|", "field 2"},
		{"|20", "field 1"},
		{"35|20|20", "appears twice"},
		{"35|20|45|20", "appears twice"},
		{`35|"20`, "without its pair"},
		{`35|2"0`, "inside its value"},
		{"35|abc", `field 2 "abc" is not a GVLID`},
		{"35|0", "not a GVLID"},
		{"35|020", "not a GVLID"},
		{"35|2147483648", "not a GVLID"},
		{"35|-20", "not a GVLID"},
		{"35|20 ", "not a GVLID"},
		{"35,20,45", "not a GVLID"},
		{`"AAAAAA"|"111111"`, "not a GVLID"}, // a data row where the header should be
		{"35|" + strings.Repeat("9", 100), "..."},
	}
	for _, tt := range tests {
		h, err := ParseSingleHeader([]byte(tt.line))
		if err == nil {
			t.Errorf("ParseSingleHeader(%q) = %+v, want error", tt.line, h)
			continue
		}
		if !errors.Is(err, ErrBadHeader) || !strings.Contains(err.Error(), tt.inErr) {
			t.Errorf("ParseSingleHeader(%q) error %q, want ErrBadHeader containing %q", tt.line, err, tt.inErr)
		}
	}
}

func TestParseSingleRow(t *testing.T) {
	h := Header{SourceGVLID: 35, Partners: []int32{20, 45, 109}}
	m := func(uid string, p int32, puid string) Mapping { return Mapping{uid, 35, p, puid} }
	tests := []struct {
		line string
		want []Mapping
	}{
		{`"AAAAAA"|"111111"|"222222"|"333333"`, []Mapping{m("AAAAAA", 20, "111111"), m("AAAAAA", 45, "222222"), m("AAAAAA", 109, "333333")}},
		{`"CCCCCC"|"777777"|""|"999999"`, []Mapping{m("CCCCCC", 20, "777777"), m("CCCCCC", 109, "999999")}},
		{`"DDDDDD"|""|""|""`, nil}, // no update at all: not a reject
		{`"DDDDDD"|||`, nil},
		{`DDDDDD|x||y`, []Mapping{m("DDDDDD", 20, "x"), m("DDDDDD", 109, "y")}}, // unquoted
		{"\"E\"|\"x\"|\"\"|\"\"\r\n", []Mapping{m("E", 20, "x")}},
		{`"F"|""|""|"z"`, []Mapping{m("F", 109, "z")}},
		{`" "|" "|""|""`, []Mapping{m(" ", 20, " ")}},
	}
	for _, tt := range tests {
		prefix := []Mapping{{UID: "keep"}}
		got, rej := ParseSingleRow([]byte(tt.line), h, prefix)
		if rej != nil {
			t.Errorf("ParseSingleRow(%q): %v", tt.line, *rej)
			continue
		}
		if got[0] != prefix[0] || !slices.Equal(got[1:], tt.want) {
			t.Errorf("ParseSingleRow(%q) = %+v, want %+v after the prefix", tt.line, got, tt.want)
		}
	}
}

func TestParseSingleRowRejects(t *testing.T) {
	h := Header{SourceGVLID: 35, Partners: []int32{20, 45, 109}}
	tests := []struct{ line, code string }{
		{"", ReasonEmptyLine},
		{"\r\n", ReasonEmptyLine},
		{"  \t", ReasonEmptyLine},
		{`"AAAAAA"|"111111"|"222222"`, ReasonFieldCount},
		{`"AAAAAA"|"111111"|"222222"|"333333"|"444444"`, ReasonFieldCount},
		{`"AAAAAA"|"111111"|"222222"|"333333"|`, ReasonFieldCount},
		{`"AAAAAA"`, ReasonFieldCount},
		{`"AAAAAA"|"111|111"|"222222"`, ReasonUnbalancedQuotes}, // would be 4 fields if quotes protected pipes
		{`"AAAAAA|"111111"|"222222"|"333333"`, ReasonUnbalancedQuotes},
		{`"AAAAAA"|"111111|"222222"|"333333"`, ReasonUnbalancedQuotes},
		{`"AAAAAA"|"111111"|"222222"|"333333`, ReasonUnbalancedQuotes},
		{`"AAAAAA"|"111111"|"222222"|"`, ReasonUnbalancedQuotes},
		{`"AAAAAA"|"111111" |"222222"|"333333"`, ReasonUnbalancedQuotes},
		{`"AA"AA"|"111111"|"222222"|"333333"`, ReasonInnerQuote},
		{`"AAAAAA"|"11""11"|"222222"|"333333"`, ReasonInnerQuote},
		{`""|"111111"|"222222"|"333333"`, ReasonEmptyUID},
		{`|"111111"|"222222"|"333333"`, ReasonEmptyUID},
		{`""|""|""|""`, ReasonEmptyUID},
		{"\"A\xff\"|\"1\"|\"2\"|\"3\"", ReasonInvalidUTF8},
		{"\"A\"|\"1\"|\"\xe2\x82\"|\"3\"", ReasonInvalidUTF8},
	}
	for _, tt := range tests {
		prefix := []Mapping{{UID: "keep"}}
		got, rej := ParseSingleRow([]byte(tt.line), h, prefix)
		if rej == nil {
			t.Errorf("ParseSingleRow(%q) = %+v, want reject %s", tt.line, got, tt.code)
			continue
		}
		if rej.Code != tt.code || rej.Reason == "" {
			t.Errorf("ParseSingleRow(%q) rejected %v, want code %s", tt.line, *rej, tt.code)
		}
		if len(got) != 1 || got[0] != prefix[0] {
			t.Errorf("ParseSingleRow(%q) changed out on a reject: %+v", tt.line, got)
		}
	}
}

// TestEveryCodeTested checks that the reject tables above exercise every code.
func TestEveryCodeTested(t *testing.T) {
	seen := map[string]bool{}
	probe := func(line string, gvlid int32) {
		if _, rej := ParsePerPartnerRow([]byte(line), gvlid); rej != nil {
			seen[rej.Code] = true
		}
	}
	for _, l := range []string{"", "u", `"u|45|p`, `u"v|45|p`, "u|x|p", "u|46|p", "|45|p", "u|45|", "\xff|45|p"} {
		probe(l, 45)
	}
	for _, c := range Codes() {
		if !seen[c] {
			t.Errorf("code %s is never produced", c)
		}
	}
	if len(Codes()) != len(seen) {
		t.Errorf("Codes() = %v, produced %v", Codes(), seen)
	}
}

func TestRejectString(t *testing.T) {
	if got := (Reject{ReasonEmptyUID, "UID is empty"}).String(); got != "empty_uid: UID is empty" {
		t.Errorf("Reject.String() = %q", got)
	}
}

func readFixture(t *testing.T, rel string) [][]byte {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "testdata", "id5", "fixtures", filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines [][]byte
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, bytes.Clone(sc.Bytes()))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// TestFixtureSingleFile parses the vendor document's single-file example.
func TestFixtureSingleFile(t *testing.T) {
	const rel = "incremental/20220305/003000.csv"
	file, err := ClassifyPath(rel)
	if err != nil || file.Kind != IncrementalSingle {
		t.Fatalf("ClassifyPath(%q) = %+v, %v", rel, file, err)
	}
	lines := readFixture(t, rel)
	h, err := ParseSingleHeader(lines[0])
	if err != nil {
		t.Fatal(err)
	}
	var got []Mapping
	for _, l := range lines[1:] {
		var rej *Reject
		if got, rej = ParseSingleRow(l, h, got); rej != nil {
			t.Fatalf("ParseSingleRow(%q): %v", l, *rej)
		}
	}
	m := func(uid string, p int32, puid string) Mapping { return Mapping{uid, 35, p, puid} }
	want := []Mapping{
		m("AAAAAA", 20, "111111"), m("AAAAAA", 45, "222222"), m("AAAAAA", 109, "333333"),
		m("BBBBBB", 20, "444444"), m("BBBBBB", 45, "555555"), m("BBBBBB", 109, "666666"),
		m("CCCCCC", 20, "777777"), m("CCCCCC", 109, "999999"), // "" for 45: no update
	}
	if len(got) != 8 || !slices.Equal(got, want) {
		t.Errorf("single-file example yields %d mappings %+v, want 8: %+v", len(got), got, want)
	}
}

// TestFixturePerPartner parses the vendor document's per-partner example.
func TestFixturePerPartner(t *testing.T) {
	const rel = "incremental/45/20220305/000300.csv"
	file, err := ClassifyPath(rel)
	if err != nil || file.Kind != IncrementalPerPartner {
		t.Fatalf("ClassifyPath(%q) = %+v, %v", rel, file, err)
	}
	var got []Mapping
	for _, l := range readFixture(t, rel) {
		m, rej := ParsePerPartnerRow(l, file.PartnerGVLID)
		if rej != nil {
			t.Fatalf("ParsePerPartnerRow(%q): %v", l, *rej)
		}
		got = append(got, m)
	}
	want := []Mapping{
		{UID: "550e8400-e29b-41d4-a716-446655440000", PartnerGVLID: 45, PartnerUID: "100000187421490458"},
		{UID: "d2a8378f-fe56-4ec2-96d1-3c05df02bb48", PartnerGVLID: 45, PartnerUID: "1000002629570693845"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("per-partner example = %+v, want %+v", got, want)
	}
	// The same rows in another partner's folder are mismatches.
	if _, rej := ParsePerPartnerRow(readFixture(t, rel)[0], 46); rej == nil || rej.Code != ReasonGVLIDMismatch {
		t.Errorf("row in folder 46: reject %v, want %s", rej, ReasonGVLIDMismatch)
	}
}

// TestAllocs pins the hot paths to one allocation per accepted line (the
// string the values share) and none for a row without updates.
func TestAllocs(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("allocation counts differ under coverage")
	}
	per := []byte("550e8400-e29b-41d4-a716-446655440000|45|100000187421490458\r\n")
	if n := testing.AllocsPerRun(100, func() { ParsePerPartnerRow(per, 45) }); n != 1 {
		t.Errorf("ParsePerPartnerRow: %v allocs per row, want 1", n)
	}
	h := Header{SourceGVLID: 35, Partners: []int32{20, 45, 109}}
	out := make([]Mapping, 0, 16)
	row := []byte(`"AAAAAA"|"111111"|"222222"|"333333"`)
	if n := testing.AllocsPerRun(100, func() { out, _ = ParseSingleRow(row, h, out[:0]) }); n != 1 {
		t.Errorf("ParseSingleRow: %v allocs per row, want 1", n)
	}
	empty := []byte(`"AAAAAA"|""|""|""`)
	if n := testing.AllocsPerRun(100, func() { out, _ = ParseSingleRow(empty, h, out[:0]) }); n != 0 {
		t.Errorf("ParseSingleRow without updates: %v allocs per row, want 0", n)
	}
}

func BenchmarkParsePerPartnerRow(b *testing.B) {
	line := []byte("550e8400-e29b-41d4-a716-446655440000|45|100000187421490458")
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		ParsePerPartnerRow(line, 45)
	}
}

func BenchmarkParseSingleRow(b *testing.B) {
	h := Header{SourceGVLID: 35, Partners: []int32{20, 45, 109}}
	line := []byte(`"550e8400-e29b-41d4-a716-446655440000"|"111111"|""|"1000002629570693845"`)
	out := make([]Mapping, 0, 8)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		out, _ = ParseSingleRow(line, h, out[:0])
	}
}
