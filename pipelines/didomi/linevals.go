package didomi

import (
	"bytes"
	"fmt"

	"github.com/valyala/fastjson"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

// lineError is why a line is rejected: reason is at+msg, where at is the
// path of the offending value. Checks of a nested object return a path
// relative to that object; its caller prefixes the object's own path, so
// paths are only built for rejected lines.
type lineError struct{ code, at, msg string }

func (e *lineError) reason() string { return e.at + e.msg }

// under prefixes the path of e with prefix (nil stays nil).
func (e *lineError) under(prefix string) *lineError {
	if e != nil {
		e.at = prefix + e.at
	}
	return e
}

func rejectf(code, format string, args ...any) *lineError {
	return &lineError{code: code, msg: fmt.Sprintf(format, args...)}
}

// wrongType rejects the value at path at: ": want <want>, got <type>".
func wrongType(at, want string, v jval) *lineError {
	return &lineError{code: ReasonWrongType, at: at, msg: ": want " + want + ", got " + v.kind.String()}
}

// span is a part of lineVals.ext (the extra JSON of one object); empty when
// the object has no unmodelled key.
type span struct{ start, end int32 }

// member is a key of an object and its value, as read: where the key's
// text between its quotes is in the scanned bytes, and whether it holds a
// backslash (escapes).
type member struct {
	ks, ke int32
	esc    bool
	v      jval
}

// key returns the text of the key of m.
func (l *lineVals) key(m *member) []byte {
	return l.keyText(l.line[m.ks:m.ke], m.esc)
}

// purposeVals are the modelled values of one consents.purposes element
// (self, when an object).
type purposeVals struct {
	self                                     jval
	id, enabled, enabledLI, metadata, values jval // values: its members in lineVals.prefs
	extra                                    span
}

// channelVals are the modelled values of one consents.channels element
// (self, when an object).
type channelVals struct {
	self                  jval
	id, enabled, metadata jval
	extra                 span
}

// consentVals are the modelled values of a consents object. purposes and
// channels range over lineVals.purposes and lineVals.channels, the vendor
// lists over lineVals.items.
type consentVals struct {
	purposes, vendors, channels, tcfcs jval
	extra                              span
	vendorLists                        [4]jval
	vendorsExtra                       span
}

// vendorKeys are the lists of consents.vendors, in schema order.
var vendorKeys = [4]string{"enabled", "disabled", "enabled_li", "disabled_li"}

// userVals are the modelled values of the user object (consents: its
// index in lineVals.cons, when an object).
type userVals struct {
	id, orgID, orgUserID, version, createdAt, updatedAt, metadata, country, lastSeen, consents jval
	versionN, created, updated                                                                 int64
	extra                                                                                      span
	noZone                                                                                     int // timestamps without a zone
}

// eventVals are the values of one element of events (self), and the
// modelled ones when it is an object.
type eventVals struct {
	self                                                                                            jval
	id, orgID, createdAt, updatedAt, metadata, status, regulation, user, consents, proofs, delegate jval
	created, updated                                                                                int64
	extra                                                                                           span
	// user, when an object
	uID, uOrgUserID, uMetadata, uCountry, uLastSeen jval
	uExtra                                          span
	// delegate, when an object
	dID, dName, dMetadata jval
	dExtra                span
	index                 int  // in the line's events array
	noZone                int  // timestamps without a zone
	rejected              bool // by the checks (an eventError)
}

// eventError is why the index-th event of a line (raw) is rejected.
type eventError struct {
	index int
	raw   []byte
	err   *lineError
}

// lineVals is the scratch of one line, reused from line to line. Its
// values point into the line.
type lineVals struct {
	line     []byte   // the line read
	rec      jval     // the line's value
	top      []member // the members of the record, in order
	user     userVals
	u, ev    jval // the record's user and events
	evs      []eventVals
	evErrs   []eventError
	cons     []consentVals
	purposes []purposeVals
	channels []channelVals
	items    []jval   // the elements of string lists
	prefs    []member // the members of purposes' values objects
	recExtra span
	ext      []byte   // the extra JSON of every object of the line
	pending  []member // the unmodelled members of the objects being read
	unesc    []byte   // the unescaped strings of the line
	fj       fastjson.Parser
}

func (l *lineVals) reset() {
	l.line = nil
	l.rec, l.u, l.ev = jval{}, jval{}, jval{}
	l.top = l.top[:0]
	l.user = userVals{}
	l.evs = l.evs[:0]
	l.evErrs = l.evErrs[:0]
	l.cons = l.cons[:0]
	l.purposes = l.purposes[:0]
	l.channels = l.channels[:0]
	l.items = l.items[:0]
	l.prefs = l.prefs[:0]
	l.recExtra = span{}
	l.ext = l.ext[:0]
	l.pending = l.pending[:0]
	l.unesc = l.unesc[:0]
}

// unescape returns the text of the string (or key) whose JSON text between
// its quotes is raw, as fastjson reads it (escapes replaced best effort).
// fastjson itself does it, on the rare string with a backslash.
func (l *lineVals) unescape(raw []byte) []byte {
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw
	}
	start := len(l.unesc)
	l.unesc = append(l.unesc, '"')
	l.unesc = append(l.unesc, raw...)
	l.unesc = append(l.unesc, '"')
	v, err := l.fj.ParseBytes(l.unesc[start:])
	l.unesc = l.unesc[:start]
	if err != nil { // cannot happen: raw was read as a string
		return raw
	}
	// Earlier results keep the old array when this append moves it.
	l.unesc = append(l.unesc, v.GetStringBytes()...)
	return l.unesc[start:len(l.unesc):len(l.unesc)]
}

// keyText returns the text of a key.
func (l *lineVals) keyText(k []byte, esc bool) []byte {
	if !esc {
		return k
	}
	return l.unescape(k)
}

// text returns the text of the string v.
func (l *lineVals) text(v jval) []byte {
	raw := l.raw(v)
	return l.unescape(raw[1 : len(raw)-1])
}

// raw returns the JSON text of v.
func (l *lineVals) raw(v jval) []byte {
	return v.in(l.line)
}

// flushExtra ends the object whose unmodelled members start at
// l.pending[start]: it writes them to l.ext as one JSON object, and returns
// where.
func (l *lineVals) flushExtra(start int) span {
	if len(l.pending) == start {
		return span{}
	}
	from := len(l.ext)
	for i := range l.pending[start:] {
		m := &l.pending[start+i]
		if i == 0 {
			l.ext = append(l.ext, '{')
		} else {
			l.ext = append(l.ext, ',')
		}
		l.ext = lineparse.AppendJSONString(l.ext, l.key(m))
		l.ext = append(l.ext, ':')
		l.ext = appendCompact(l.ext, l.raw(m.v))
	}
	l.ext = append(l.ext, '}')
	l.pending = l.pending[:start]
	return span{int32(from), int32(len(l.ext))}
}

// bytes returns the JSON text of s, nil when empty.
func (l *lineVals) bytes(s span) []byte {
	if s.end == s.start {
		return nil
	}
	return l.ext[s.start:s.end]
}

// isNull reports a missing key or a JSON null.
func isNull(v jval) bool { return v.kind == kMissing || v.kind == kNull }
