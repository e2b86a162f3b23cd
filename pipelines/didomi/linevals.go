package didomi

import (
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
func wrongType(at, want string, v *fastjson.Value) *lineError {
	return &lineError{code: ReasonWrongType, at: at, msg: ": want " + want + ", got " + v.Type().String()}
}

// span is a part of lineVals.ext (the extra JSON of one object); empty when
// the object has no unmodelled key.
type span struct{ start, end int32 }

// purposeVals are the modelled values of one consents.purposes element.
type purposeVals struct {
	id, enabled, enabledLI, metadata, values *fastjson.Value
	extra                                    span
}

// channelVals are the modelled values of one consents.channels element.
type channelVals struct {
	id, enabled, metadata *fastjson.Value
	extra                 span
}

// consentVals are the modelled values of a consents object.
type consentVals struct {
	purposes, vendors, channels, tcfcs *fastjson.Value
	extra                              span
	purpose0, purpose1                 int // purposes in lineVals.purposes, when an array
	channel0, channel1                 int // channels in lineVals.channels, when an array
	vendorLists                        [4]*fastjson.Value
	vendorsExtra                       span
}

// vendorKeys are the lists of consents.vendors, in schema order.
var vendorKeys = [4]string{"enabled", "disabled", "enabled_li", "disabled_li"}

// userVals are the modelled values of the user object.
type userVals struct {
	id, orgID, orgUserID, version, createdAt, updatedAt, metadata, country, lastSeen, consents *fastjson.Value
	versionN, created, updated                                                                 int64
	extra                                                                                      span
	cons                                                                                       int // in lineVals.cons, or -1
	noZone                                                                                     int // timestamps without a zone
}

// eventVals are the modelled values of one element of events.
type eventVals struct {
	id, orgID, createdAt, updatedAt, metadata, status, regulation, user, consents, proofs, delegate *fastjson.Value
	created, updated                                                                                int64
	extra                                                                                           span
	// user, when an object
	uID, uOrgUserID, uMetadata, uCountry, uLastSeen *fastjson.Value
	uExtra                                          span
	// delegate, when an object
	dID, dName, dMetadata *fastjson.Value
	dExtra                span
	cons                  int // in lineVals.cons, or -1
	index                 int // in the line's events array
	noZone                int // timestamps without a zone
}

// eventError is why the index-th event of a line is rejected.
type eventError struct {
	index int
	err   *lineError
}

// lineVals is the scratch of one line, reused from line to line. Its
// values point into the fastjson tree of the line.
type lineVals struct {
	user      userVals
	events    []*fastjson.Value
	evs       []eventVals // the events kept
	evErrs    []eventError
	cons      []consentVals
	purposes  []purposeVals
	channels  []channelVals
	recExtra  span
	ext       []byte // the extra JSON of every object of the line
	extStart  int    // where the object being visited starts its extra
	extFields int    // unmodelled keys of that object so far
}

func (l *lineVals) reset() {
	l.user = userVals{cons: -1}
	l.events = nil
	l.evs = l.evs[:0]
	l.evErrs = l.evErrs[:0]
	l.cons = l.cons[:0]
	l.purposes = l.purposes[:0]
	l.channels = l.channels[:0]
	l.recExtra = span{}
	l.ext = l.ext[:0]
}

// beginExtra starts the extra of an object about to be visited.
func (l *lineVals) beginExtra() {
	l.extStart = len(l.ext)
	l.extFields = 0
}

// addExtra adds an unmodelled key and its value (as JSON) to the extra of
// the object being visited.
func (l *lineVals) addExtra(k []byte, v *fastjson.Value) {
	if l.extFields == 0 {
		l.ext = append(l.ext, '{')
	} else {
		l.ext = append(l.ext, ',')
	}
	l.ext = lineparse.AppendJSONString(l.ext, k)
	l.ext = append(l.ext, ':')
	l.ext = v.MarshalTo(l.ext)
	l.extFields++
}

// endExtra closes the extra of the object visited and returns it.
func (l *lineVals) endExtra() span {
	if l.extFields == 0 {
		return span{}
	}
	l.ext = append(l.ext, '}')
	return span{int32(l.extStart), int32(len(l.ext))}
}

// bytes returns the JSON text of s, nil when empty.
func (l *lineVals) bytes(s span) []byte {
	if s.end == s.start {
		return nil
	}
	return l.ext[s.start:s.end]
}

// first keeps the first value of a key, as Object.Get finds it.
func first(dst **fastjson.Value, v *fastjson.Value) {
	if *dst == nil {
		*dst = v
	}
}

// isNull reports a missing key or a JSON null.
func isNull(v *fastjson.Value) bool { return v == nil || v.Type() == fastjson.TypeNull }
