package didomi

import (
	"bytes"
	"strings"

	"github.com/valyala/fastjson"
)

// The JSON scanner of the single-pass parser: it reads a line once, from
// left to right, and the walk (walk.go) sorts each value into the line's
// scratch as it is met, without building a tree first.
//
// Its grammar is fastjson's, exactly (fastjson's parser.go: the same
// whitespace, the same lenient numbers with inf and nan, strings that end
// at the first quote not escaped, escapes checked only when a string is
// read, the same depth limit), so that a line is invalid JSON for the
// scanner exactly when it was for fastjson (FuzzScanMatchesFastjson). The
// message of an invalid line is still fastjson's: the rare invalid line is
// parsed again by fastjson for it.

// kind is the JSON type of a value; kMissing is a key that is absent.
type kind uint8

const (
	kMissing kind = iota
	kNull
	kObject
	kArray
	kString
	kNumber
	kTrue
	kFalse
)

// String returns the name fastjson gives the type.
func (k kind) String() string {
	switch k {
	case kNull:
		return "null"
	case kObject:
		return "object"
	case kArray:
		return "array"
	case kString:
		return "string"
	case kNumber:
		return "number"
	case kTrue:
		return "true"
	case kFalse:
		return "false"
	}
	return "missing"
}

// jval is one value of a line: where its JSON text is in the scanned
// bytes (start to end, a string's with its quotes) and its kind. lo and hi
// are what the walk recorded of a value it sorted: for an array, the range
// of its elements in the line's scratch; for a consents object, its index
// in lineVals.cons. A jval holds no pointer: the line's scratch, made of
// them, is neither scanned by the garbage collector nor written with its
// write barriers.
type jval struct {
	start, end, lo, hi int32
	kind               kind
}

// in returns the JSON text of v in s, the bytes it was scanned from.
func (v jval) in(s []byte) []byte { return s[v.start:v.end] }

// scanner reads one line. After an error (bad set) every call returns at
// once; the caller checks bad at the end.
type scanner struct {
	s   []byte
	i   int
	bad bool
}

func (sc *scanner) fail() {
	sc.bad = true
	sc.i = len(sc.s)
}

// ws skips the whitespace fastjson skips.
func (sc *scanner) ws() {
	if sc.i < len(sc.s) && sc.s[sc.i] > ' ' {
		return // most often
	}
	for sc.i < len(sc.s) {
		switch sc.s[sc.i] {
		case ' ', '\n', '\t', '\r':
			sc.i++
		default:
			return
		}
	}
}

// deeper returns depth+1, failing beyond fastjson's limit.
func (sc *scanner) deeper(depth int) int {
	depth++
	if depth > fastjson.MaxDepth {
		sc.fail()
	}
	return depth
}

// value scans the value at the scanner (whitespace skipped), a member of
// a value at depth.
func (sc *scanner) value(depth int) jval {
	var v jval
	sc.valueTo(depth, &v)
	return v
}

// valueTo is value writing into *v. The walk's values are written where
// they belong, field by field: a value returned, written field by field
// and then copied whole, stalls the processor (the copy cannot be
// forwarded from the smaller stores), and made a first version of this
// walk 25 % slower than fastjson's.
func (sc *scanner) valueTo(depth int, v *jval) {
	v.lo, v.hi = 0, 0
	if sc.i >= len(sc.s) {
		sc.fail()
		return
	}
	if depth = sc.deeper(depth); sc.bad {
		return
	}
	start := sc.i
	var k kind
	switch c := sc.s[sc.i]; c {
	case '{':
		sc.i++
		sc.skipObject(depth)
		k = kObject
	case '[':
		sc.i++
		sc.skipArray(depth)
		k = kArray
	case '"':
		sc.i++
		sc.str()
		k = kString
	case 't':
		sc.literal("true")
		k = kTrue
	case 'f':
		sc.literal("false")
		k = kFalse
	case 'n':
		if bytes.HasPrefix(sc.s[sc.i:], []byte("null")) {
			sc.i += 4
			k = kNull
		} else if len(sc.s)-sc.i >= 3 && strings.EqualFold(string(sc.s[sc.i:sc.i+3]), "nan") {
			sc.i += 3
			k = kNumber
		} else {
			sc.fail()
		}
	default:
		sc.number()
		k = kNumber
	}
	if sc.bad {
		return
	}
	v.start, v.end, v.kind = int32(start), int32(sc.i), k
}

func (sc *scanner) literal(lit string) {
	if !bytes.HasPrefix(sc.s[sc.i:], []byte(lit)) {
		sc.fail()
		return
	}
	sc.i += len(lit)
}

// number scans a number as fastjson's parseRawNumber does.
func (sc *scanner) number() {
	s := sc.s[sc.i:]
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == 'e' || ch == 'E' || ch == '+' {
			continue
		}
		if i == 0 || i == 1 && (s[0] == '-' || s[0] == '+') {
			if len(s[i:]) >= 3 {
				xs := string(s[i : i+3])
				if strings.EqualFold(xs, "inf") || strings.EqualFold(xs, "nan") {
					sc.i += i + 3
					return
				}
			}
			sc.fail()
			return
		}
		sc.i += i
		return
	}
	sc.i += len(s)
}

// str scans the rest of a string whose opening quote was read, as
// fastjson's parseRawString does: it ends at the first quote preceded by
// an even number of backslashes.
func (sc *scanner) str() {
	s := sc.s[sc.i:]
	off := 0
	for {
		n := bytes.IndexByte(s[off:], '"')
		if n < 0 {
			sc.fail()
			return
		}
		n += off
		i := n
		for i > 0 && s[i-1] == '\\' {
			i--
		}
		if (n-i)%2 == 0 {
			sc.i += n + 1
			return
		}
		off = n + 1
	}
}

// key scans an object key and its colon, and the whitespace after it: the
// key's text between its quotes (as a member with no value yet), and
// whether it holds a backslash.
func (sc *scanner) key(m *member) {
	sc.ws()
	if sc.i >= len(sc.s) || sc.s[sc.i] != '"' {
		sc.fail()
		return
	}
	sc.i++
	start := sc.i
	s := sc.s[start:]
	i := 0
	for ; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			break
		}
	}
	m.esc = false
	switch {
	case i == len(s):
		sc.fail()
		return
	case s[i] == '"':
		sc.i += i + 1
	default:
		m.esc = true
		sc.str()
		if sc.bad {
			return
		}
	}
	m.ks, m.ke = int32(start), int32(sc.i-1)
	sc.ws()
	if sc.i >= len(sc.s) || sc.s[sc.i] != ':' {
		sc.fail()
		return
	}
	sc.i++
	sc.ws()
}

// open reads the whitespace after an opening bracket and reports whether
// members follow: false for an empty object or array (its closing bracket
// read).
func (sc *scanner) open(closing byte) bool {
	sc.ws()
	if sc.i >= len(sc.s) {
		sc.fail()
		return false
	}
	if sc.s[sc.i] == closing {
		sc.i++
		return false
	}
	return true
}

// more reads the comma or the closing bracket after a member and reports
// whether another member follows.
func (sc *scanner) more(closing byte) bool {
	sc.ws()
	if sc.i >= len(sc.s) {
		sc.fail()
		return false
	}
	switch sc.s[sc.i] {
	case ',':
		sc.i++
		return true
	case closing:
		sc.i++
		return false
	}
	sc.fail()
	return false
}

func (sc *scanner) skipObject(depth int) {
	if !sc.open('}') {
		return
	}
	var m member
	for {
		if sc.key(&m); sc.bad {
			return
		}
		if sc.valueTo(depth, &m.v); sc.bad || !sc.more('}') {
			return
		}
	}
}

func (sc *scanner) skipArray(depth int) {
	if !sc.open(']') {
		return
	}
	var v jval
	for {
		sc.ws()
		if sc.valueTo(depth, &v); sc.bad || !sc.more(']') {
			return
		}
	}
}

// end reads the whitespace after the line's value; anything else left is
// an error, as in fastjson.
func (sc *scanner) end() {
	sc.ws()
	if sc.i < len(sc.s) {
		sc.fail()
	}
}

// appendCompact appends the JSON text raw (a value the scanner accepted)
// as fastjson's MarshalTo writes a parsed value: without the whitespace
// outside strings, strings and numbers as written.
func appendCompact(dst, raw []byte) []byte {
	for len(raw) > 0 {
		// Copy up to the next string or whitespace.
		i := 0
		for i < len(raw) {
			c := raw[i]
			if c == '"' || c == ' ' || c == '\n' || c == '\t' || c == '\r' {
				break
			}
			i++
		}
		dst = append(dst, raw[:i]...)
		raw = raw[i:]
		if len(raw) == 0 {
			break
		}
		if raw[0] != '"' {
			raw = raw[1:] // whitespace
			continue
		}
		sc := scanner{s: raw, i: 1}
		sc.str()
		if sc.bad { // not from the scanner: keep the rest as it is
			return append(dst, raw...)
		}
		dst = append(dst, raw[:sc.i]...)
		raw = raw[sc.i:]
	}
	return dst
}
