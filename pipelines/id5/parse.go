package id5

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// Mapping is one (UID, match partner) pair read from an ID5 file.
type Mapping struct {
	// UID is your user ID (or the ID5 ID) for the user.
	UID string
	// SourceGVLID is the GVLID of the UID's namespace: the single-file header's
	// first column, or 0 for per-partner files, which do not carry it (the
	// caller fills it from configuration).
	SourceGVLID int32
	// PartnerGVLID is the match partner's GVLID.
	PartnerGVLID int32
	// PartnerUID is the match partner's user ID for the user.
	PartnerUID string
}

// Reject says why a line yielded no mapping. Code is one of the Code
// constants, stable for grouping and alerting; Reason is for humans.
type Reject struct {
	Code   string
	Reason string
}

// String returns "code: reason".
func (r Reject) String() string { return r.Code + ": " + r.Reason }

// Reject codes.
const (
	// ReasonEmptyLine: the line is empty after removing the line terminator,
	// or holds only white space.
	ReasonEmptyLine = "empty_line"
	// ReasonFieldCount: the number of |-separated fields is not 3 (per-partner)
	// or 1 + the number of partners in the header (single-file).
	ReasonFieldCount = "field_count"
	// ReasonUnbalancedQuotes: a field starts with a double quote but does not
	// end with one, or ends with one but does not start with one.
	ReasonUnbalancedQuotes = "unbalanced_quotes"
	// ReasonInnerQuote: a double quote inside a field value. Quotes may only
	// wrap a whole field; there is no escaping ("" inside a value).
	ReasonInnerQuote = "inner_quote"
	// ReasonEmptyUID: the UID field is empty or "".
	ReasonEmptyUID = "empty_uid"
	// ReasonEmptyPartnerUID: the MatchPartnerUID of a per-partner row is empty.
	ReasonEmptyPartnerUID = "empty_partner_uid"
	// ReasonBadGVLID: the MatchPartnerGVLID of a per-partner row is not a
	// positive decimal integer that fits int32.
	ReasonBadGVLID = "bad_gvlid"
	// ReasonGVLIDMismatch: the MatchPartnerGVLID of a per-partner row differs
	// from the partner folder the file was delivered in.
	ReasonGVLIDMismatch = "gvlid_mismatch"
	// ReasonInvalidUTF8: the line is not valid UTF-8 (Parquet strings must be).
	ReasonInvalidUTF8 = "invalid_utf8"
)

// Codes lists every reject code, for reports and tests.
func Codes() []string {
	return []string{
		ReasonEmptyLine, ReasonFieldCount, ReasonUnbalancedQuotes, ReasonInnerQuote,
		ReasonEmptyUID, ReasonEmptyPartnerUID, ReasonBadGVLID, ReasonGVLIDMismatch,
		ReasonInvalidUTF8,
	}
}

// trimLine removes the line terminator and a byte order mark.
func trimLine(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if len(line) >= 3 && line[0] == 0xEF && line[1] == 0xBB && line[2] == 0xBF {
		line = line[3:]
	}
	return line
}

// isBlank reports whether line holds nothing but ASCII white space. Only
// reject paths call it.
func isBlank(line []byte) bool {
	for _, c := range line {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '\v' && c != '\f' {
			return false
		}
	}
	return true
}

// nextField returns the field that starts at line[start:]: [vs, ve) is its
// value without the quotes, end is the index of the '|' after it (or
// len(line)), and code is non-empty when the field breaks the quoting rule.
func nextField(line []byte, start int) (vs, ve, end int, code string) {
	end = bytes.IndexByte(line[start:], '|')
	if end < 0 {
		end = len(line)
	} else {
		end += start
	}
	f := line[start:end]
	q := bytes.IndexByte(f, '"')
	if q < 0 {
		return start, end, end, ""
	}
	if len(f) >= 2 && f[0] == '"' && f[len(f)-1] == '"' {
		if bytes.IndexByte(f[1:len(f)-1], '"') >= 0 {
			return 0, 0, end, ReasonInnerQuote
		}
		return start + 1, end - 1, end, ""
	}
	if q == 0 || f[len(f)-1] == '"' {
		return 0, 0, end, ReasonUnbalancedQuotes
	}
	return 0, 0, end, ReasonInnerQuote
}

func quoteReject(code string, field int) *Reject {
	if code == ReasonInnerQuote {
		return &Reject{code, fmt.Sprintf("field %d has a double quote inside its value", field)}
	}
	return &Reject{code, fmt.Sprintf("field %d has an opening or closing double quote without its pair", field)}
}

// ParsePerPartnerRow parses one line of a per-partner file (incremental or
// full extract): UID|MatchPartnerGVLID|MatchPartnerUID, no header, each field
// optionally wrapped in double quotes. folderGVLID is the partner folder the
// file was delivered in; the row's MatchPartnerGVLID must equal it. The
// returned Mapping has SourceGVLID 0. On success UID and PartnerUID share a
// single allocation (one string per line); line is not retained or modified.
//
// The line and field rules, shared with ParseSingleHeader and ParseSingleRow:
//
//   - One trailing "\n", then one trailing "\r", and a leading UTF-8 byte order
//     mark are removed; nothing else is trimmed, spaces are part of values. A
//     line that is then empty or all white space is rejected as empty_line.
//   - Fields are separated by every '|'. Quotes do not protect a '|': ID5 UIDs
//     never contain one, so `"a|b"` is two fields, `"a` and `b"`, and the line
//     is rejected as unbalanced_quotes rather than guessed at.
//   - A field is either wrapped in double quotes ("abc", value abc) or
//     contains no double quote at all (abc); "" is the empty value. Anything
//     else is unbalanced_quotes (an opening quote without a closing one, or
//     the reverse) or inner_quote (a quote inside the value; there is no
//     escaping by doubling).
//   - Checks run in this order, the first failure deciding the code:
//     empty_line, quoting (field by field), field_count, then the layout's
//     own checks, invalid_utf8 last.
func ParsePerPartnerRow(line []byte, folderGVLID int32) (Mapping, *Reject) {
	line = trimLine(line)
	if len(line) == 0 {
		return Mapping{}, &Reject{ReasonEmptyLine, "empty line"}
	}
	var span [3][2]int
	n := 0
	for start := 0; ; {
		vs, ve, end, code := nextField(line, start)
		if code != "" {
			return Mapping{}, quoteReject(code, n+1)
		}
		if n < len(span) {
			span[n] = [2]int{vs, ve}
		}
		n++
		if end == len(line) {
			break
		}
		start = end + 1
	}
	if n != 3 {
		if isBlank(line) {
			return Mapping{}, &Reject{ReasonEmptyLine, "blank line"}
		}
		return Mapping{}, &Reject{ReasonFieldCount, fmt.Sprintf("got %d fields, want 3 (UID|MatchPartnerGVLID|MatchPartnerUID)", n)}
	}
	gvlid, ok := parseGVLID(line[span[1][0]:span[1][1]])
	if !ok {
		return Mapping{}, &Reject{ReasonBadGVLID, "MatchPartnerGVLID is not a positive integer that fits int32"}
	}
	if gvlid != folderGVLID {
		return Mapping{}, &Reject{ReasonGVLIDMismatch, fmt.Sprintf("MatchPartnerGVLID %d differs from the partner folder %d", gvlid, folderGVLID)}
	}
	if span[0][0] == span[0][1] {
		return Mapping{}, &Reject{ReasonEmptyUID, "UID is empty"}
	}
	if span[2][0] == span[2][1] {
		return Mapping{}, &Reject{ReasonEmptyPartnerUID, "MatchPartnerUID is empty"}
	}
	if !utf8.Valid(line) {
		return Mapping{}, &Reject{ReasonInvalidUTF8, "line is not valid UTF-8"}
	}
	s := string(line)
	return Mapping{
		UID:          s[span[0][0]:span[0][1]],
		PartnerGVLID: gvlid,
		PartnerUID:   s[span[2][0]:span[2][1]],
	}, nil
}

// Header is the first line of a single-file delivery.
type Header struct {
	// SourceGVLID is the GVLID of the UIDs in the first column: yours, or
	// ID5's (131).
	SourceGVLID int32
	// Partners are the match partners' GVLIDs in column order: Partners[i]
	// names field i+2 of every row. They are distinct.
	Partners []int32
}

// ErrBadHeader is wrapped by ParseSingleHeader's errors. A single-file
// delivery with a bad header cannot be read at all.
var ErrBadHeader = errors.New("bad single-file header")

// ParseSingleHeader parses the first line of a single-file delivery
// (incremental or full extract): SOURCE_GVLID|GVLID1|GVLID2..., each a
// positive integer that fits int32, optionally wrapped in double quotes, under
// the same line rules as the rows. There must be at least one partner, and no
// partner twice. Partners may come in any order and change from file to file.
func ParseSingleHeader(line []byte) (Header, error) {
	line = trimLine(line)
	if isBlank(line) {
		return Header{}, fmt.Errorf("id5: %w: empty line", ErrBadHeader)
	}
	var h Header
	n := 0
	for start := 0; ; {
		vs, ve, end, code := nextField(line, start)
		n++
		if code != "" {
			return Header{}, fmt.Errorf("id5: %w: %s", ErrBadHeader, quoteReject(code, n).Reason)
		}
		g, ok := parseGVLID(line[vs:ve])
		if !ok {
			return Header{}, fmt.Errorf("id5: %w: field %d %q is not a GVLID (a positive integer that fits int32)", ErrBadHeader, n, truncate(line[start:end]))
		}
		if n == 1 {
			h.SourceGVLID = g
		} else {
			for _, p := range h.Partners {
				if p == g {
					return Header{}, fmt.Errorf("id5: %w: partner GVLID %d appears twice", ErrBadHeader, g)
				}
			}
			h.Partners = append(h.Partners, g)
		}
		if end == len(line) {
			break
		}
		start = end + 1
	}
	if len(h.Partners) == 0 {
		return Header{}, fmt.Errorf("id5: %w: no match partner column after the source GVLID", ErrBadHeader)
	}
	return h, nil
}

// ParseSingleRow parses one data line of a single-file delivery,
// "UID"|"P1UID"|"P2UID"..., against its header h, and appends one Mapping per
// non-empty partner field to out, returning the extended slice. An empty
// partner field ("") means "no update for that partner", never a deletion, so
// it yields nothing; a row whose partner fields are all empty yields nothing
// and is not a reject. Fields may also be unquoted. On a reject out is returned
// unchanged. On success all appended mappings share one string allocation.
// The line and field rules are those of ParsePerPartnerRow.
func ParseSingleRow(line []byte, h Header, out []Mapping) ([]Mapping, *Reject) {
	line = trimLine(line)
	if len(line) == 0 {
		return out, &Reject{ReasonEmptyLine, "empty line"}
	}
	// Pass 1 validates without allocating, pass 2 emits.
	n, hasValue := 0, false
	uidEmpty := false
	for start := 0; ; {
		vs, ve, end, code := nextField(line, start)
		if code != "" {
			return out, quoteReject(code, n+1)
		}
		if n == 0 {
			uidEmpty = vs == ve
		} else if vs != ve {
			hasValue = true
		}
		n++
		if end == len(line) {
			break
		}
		start = end + 1
	}
	if want := 1 + len(h.Partners); n != want {
		if isBlank(line) {
			return out, &Reject{ReasonEmptyLine, "blank line"}
		}
		return out, &Reject{ReasonFieldCount, fmt.Sprintf("got %d fields, want %d (UID and %d partners in the header)", n, want, len(h.Partners))}
	}
	if uidEmpty {
		return out, &Reject{ReasonEmptyUID, "UID is empty"}
	}
	if !utf8.Valid(line) {
		return out, &Reject{ReasonInvalidUTF8, "line is not valid UTF-8"}
	}
	if !hasValue {
		return out, nil
	}
	s := string(line)
	var uid string
	for start, i := 0, 0; ; i++ {
		vs, ve, end, _ := nextField(line, start)
		if i == 0 {
			uid = s[vs:ve]
		} else if vs != ve {
			out = append(out, Mapping{UID: uid, SourceGVLID: h.SourceGVLID, PartnerGVLID: h.Partners[i-1], PartnerUID: s[vs:ve]})
		}
		if end == len(line) {
			break
		}
		start = end + 1
	}
	return out, nil
}

// parseGVLID parses a positive decimal integer that fits int32, without sign,
// leading zeros or spaces.
func parseGVLID(b []byte) (int32, bool) {
	if len(b) == 0 || len(b) > 10 || b[0] == '0' {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if n > math.MaxInt32 {
		return 0, false
	}
	return int32(n), true
}

// truncate bounds a value quoted in an error message.
func truncate(b []byte) string {
	const max = 40
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}
