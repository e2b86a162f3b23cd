package didomi

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/valyala/fastjson"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/transforms"
)

// Reject reason codes of the Didomi pipeline (besides the shared empty_line
// and line_too_long). A problem of the line or of its user rejects the line;
// a problem inside one element of events rejects only that event (a reject
// row with its event_index), and the user and its other events are kept.
const (
	ReasonInvalidJSON    = "invalid_json"
	ReasonNotObject      = "not_object"
	ReasonMissingUser    = "missing_user"
	ReasonUserNotObject  = "user_not_object"
	ReasonMissingUserID  = "missing_user_id"
	ReasonEventsNotArray = "events_not_array"
	ReasonEventNotObject = "event_not_object"
	ReasonWrongType      = "wrong_type"
	ReasonBadTimestamp   = "bad_timestamp"
	// ReasonInvalidUTF8: a key or string is not valid UTF-8 (Parquet
	// strings must be).
	ReasonInvalidUTF8 = "invalid_utf8"
)

// WarnTimestampWithoutZone counts timestamps written without a zone, taken
// as UTC.
const WarnTimestampWithoutZone = "timestamp_without_zone"

// DefaultRegulation is the regulation of events that carry none: Didomi's
// batch export associates historical consent with GDPR.
const DefaultRegulation = "gdpr"

// How a line is parsed (issue 10: the parser is most of the pipeline's CPU).
//
// fastjson parses the line into a tree; then one walk visits every object of
// the tree once (Object.Visit, dispatching on the key), in the order the
// checks have always run, so that a line with several problems is rejected
// for the same first one. The walk checks each value as it is found and
// records the values of the modelled keys, the parsed timestamps and the
// JSON text of the unmodelled keys (the extra columns) in per-line scratch
// structs (lineVals). Only once the whole line is known to be valid are its
// rows appended to the column buffers (cols.go), from the scratch, without
// looking anything up again; a rejected line leaves the columns untouched.
//
// Key lookup follows fastjson's Object.Get: the first of duplicate keys wins.
// One difference, for keys written with escapes: Get matches the raw key
// text first, Visit the unescaped key, so an object where a modelled key is
// written twice, once with a \u escape (e.g. "\u0069d" and "id"), now uses
// the first of the two where the former code could check one and store the
// other.

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
	l.ext = transforms.AppendJSONString(l.ext, k)
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

// parser turns Didomi export lines into didomi_users and didomi_events rows.
// One parser serves one goroutine; it reuses its JSON parser, column
// buffers and scratch.
type parser struct {
	file, partition string
	fileBytes       []byte
	p               fastjson.Parser
	usersSchema     *arrow.Schema
	eventsSchema    *arrow.Schema
	users           usersCols
	events          eventsCols
	line            lineVals
	scratch         []byte
	nUsers, nEvents int64
	eventsIn        int64 // events of the lines kept
	noZone          int64 // timestamps without a zone, in rows written
}

func newParser(file, partition string) *parser {
	return &parser{
		file: file, partition: partition, fileBytes: []byte(file),
		usersSchema: UsersSchema(), eventsSchema: EventsSchema(),
	}
}

// Parse implements transforms.LineParser.
func (p *parser) Parse(line []byte, lineNo int64, rej *transforms.Rejects) bool {
	v, err := p.p.ParseBytes(line)
	if err != nil {
		rej.Add(lineNo, ReasonInvalidJSON, "not valid JSON: "+err.Error(), line)
		return false
	}
	p.line.reset()
	// Only a line with invalid UTF-8 somewhere needs its strings checked
	// one by one (JSON escapes cannot make invalid UTF-8: fastjson keeps a
	// lone surrogate escape as its text).
	if e := p.line.record(v, !utf8.Valid(line)); e != nil {
		rej.Add(lineNo, e.code, e.reason(), line)
		return false
	}
	for _, ee := range p.line.evErrs {
		p.scratch = p.line.events[ee.index].MarshalTo(p.scratch[:0])
		rej.AddEvent(lineNo, ee.index, ee.err.code, ee.err.reason(), p.scratch)
	}
	p.eventsIn += int64(len(p.line.events))
	p.appendRecord(lineNo)
	return true
}

// Events implements transforms.EventParser.
func (p *parser) Events() (in, out int64) { return p.eventsIn, p.nEvents }

// Warnings implements transforms.WarningParser.
func (p *parser) Warnings() []transforms.Count {
	if p.noZone == 0 {
		return nil
	}
	return []transforms.Count{{Name: WarnTimestampWithoutZone, N: p.noZone}}
}

// Flush implements transforms.LineParser.
func (p *parser) Flush(emit func(hiveparquet.Batch)) {
	if p.users.rows > 0 {
		emit(hiveparquet.Batch{Table: UsersTable, Partition: p.partition, Record: p.users.record(p.usersSchema)})
	}
	if p.events.rows > 0 {
		emit(hiveparquet.Batch{Table: EventsTable, Partition: p.partition, Record: p.events.record(p.eventsSchema)})
	}
}

// Rows implements transforms.LineParser.
func (p *parser) Rows() []transforms.Count {
	return []transforms.Count{{Name: UsersTable, N: p.nUsers}, {Name: EventsTable, N: p.nEvents}}
}

// Release implements transforms.LineParser. The column buffers are Go
// memory: dropping them is enough.
func (p *parser) Release() {
	p.users, p.events = usersCols{}, eventsCols{}
}

// ---- the walk: every check that can reject a line runs before any append,
// in this order.

// record checks a parsed line and fills l with its values. A problem of
// the line or its user is returned; a problem of one event is recorded in
// l.evErrs and the event left out of l.evs. With checkUTF8 (the line holds
// invalid UTF-8), every key and string is checked too.
func (l *lineVals) record(v *fastjson.Value, checkUTF8 bool) *lineError {
	if v.Type() != fastjson.TypeObject {
		return rejectf(ReasonNotObject, "line is a JSON %s, not an object", v.Type())
	}
	var u, ev *fastjson.Value
	var bad *lineError
	o, _ := v.Object()
	l.beginExtra()
	o.Visit(func(k []byte, x *fastjson.Value) {
		switch string(k) {
		case "user":
			first(&u, x)
		case "events":
			if ev == nil {
				ev = x
				return // checked event by event
			}
		default:
			l.addExtra(k, x)
		}
		if checkUTF8 && bad == nil {
			bad = invalidUTF8(k, x)
		}
	})
	l.recExtra = l.endExtra()
	if bad != nil {
		return bad
	}
	if isNull(u) {
		return rejectf(ReasonMissingUser, "record has no user")
	}
	if u.Type() != fastjson.TypeObject {
		return rejectf(ReasonUserNotObject, "user is a JSON %s, not an object", u.Type())
	}
	if e := l.userObject(u); e != nil {
		return e
	}
	if isNull(ev) {
		return nil
	}
	if ev.Type() != fastjson.TypeArray {
		return rejectf(ReasonEventsNotArray, "events is a JSON %s, not an array", ev.Type())
	}
	l.events, _ = ev.Array()
	for i, e := range l.events {
		var le *lineError
		if checkUTF8 {
			if p, bad := badUTF8(e); bad {
				le = &lineError{code: ReasonInvalidUTF8, at: "events[" + strconv.Itoa(i) + "]" + p, msg: ": not valid UTF-8"}
			}
		}
		if le == nil && e.Type() != fastjson.TypeObject {
			le = rejectf(ReasonEventNotObject, "events[%d] is a JSON %s, not an object", i, e.Type())
		}
		if le == nil {
			// A rejected event leaves nothing behind in the scratch.
			nEvs, nCons, nPurposes, nChannels, nExt := len(l.evs), len(l.cons), len(l.purposes), len(l.channels), len(l.ext)
			if le = l.event(e, i); le != nil {
				le = le.under("events[" + strconv.Itoa(i) + "]")
				l.evs, l.cons, l.purposes, l.channels, l.ext = l.evs[:nEvs], l.cons[:nCons], l.purposes[:nPurposes], l.channels[:nChannels], l.ext[:nExt]
			}
		}
		if le != nil {
			l.evErrs = append(l.evErrs, eventError{index: i, err: le})
		}
	}
	return nil
}

// invalidUTF8 rejects a key of the record, and its value, when either holds
// invalid UTF-8.
func invalidUTF8(k []byte, v *fastjson.Value) *lineError {
	if !utf8.Valid(k) {
		return &lineError{code: ReasonInvalidUTF8, at: "key " + strconv.Quote(string(k)), msg: ": not valid UTF-8"}
	}
	if p, bad := badUTF8(v); bad {
		return &lineError{code: ReasonInvalidUTF8, at: string(k) + p, msg: ": not valid UTF-8"}
	}
	return nil
}

// badUTF8 reports whether a key or string inside v is not valid UTF-8, and
// the path to the first one (relative to v).
func badUTF8(v *fastjson.Value) (path string, bad bool) {
	switch v.Type() {
	case fastjson.TypeString:
		return "", !utf8.Valid(v.GetStringBytes())
	case fastjson.TypeArray:
		arr, _ := v.Array()
		for i, x := range arr {
			if p, bad := badUTF8(x); bad {
				return "[" + strconv.Itoa(i) + "]" + p, true
			}
		}
	case fastjson.TypeObject:
		o, _ := v.Object()
		o.Visit(func(k []byte, x *fastjson.Value) {
			if bad {
				return
			}
			if !utf8.Valid(k) {
				path, bad = " key "+strconv.Quote(string(k)), true
			} else if p, b := badUTF8(x); b {
				path, bad = "."+string(k)+p, true
			}
		})
	}
	return path, bad
}

func (l *lineVals) userObject(u *fastjson.Value) *lineError {
	uv := &l.user
	o, _ := u.Object()
	l.beginExtra()
	o.Visit(func(k []byte, x *fastjson.Value) {
		switch string(k) {
		case "id":
			first(&uv.id, x)
		case "organization_id":
			first(&uv.orgID, x)
		case "organization_user_id":
			first(&uv.orgUserID, x)
		case "version":
			first(&uv.version, x)
		case "created_at":
			first(&uv.createdAt, x)
		case "updated_at":
			first(&uv.updatedAt, x)
		case "metadata":
			first(&uv.metadata, x)
		case "country":
			first(&uv.country, x)
		case "last_seen_country":
			first(&uv.lastSeen, x)
		case "consents":
			first(&uv.consents, x)
		default:
			l.addExtra(k, x)
		}
	})
	uv.extra = l.endExtra()
	if isNull(uv.id) || (uv.id.Type() == fastjson.TypeString && len(uv.id.GetStringBytes()) == 0) {
		return rejectf(ReasonMissingUserID, "user has no id")
	}
	e := checkString(uv.id, "id")
	if e == nil {
		e = checkString(uv.orgID, "organization_id")
	}
	if e == nil {
		e = checkString(uv.orgUserID, "organization_user_id")
	}
	if e == nil {
		e = checkString(uv.country, "country")
	}
	if e == nil {
		e = checkString(uv.lastSeen, "last_seen_country")
	}
	if e != nil {
		return e.under("user")
	}
	if !isNull(uv.version) {
		n, ok := integer(uv.version)
		if !ok {
			return rejectf(ReasonWrongType, "user.version: want an integer number, got %s", uv.version)
		}
		uv.versionN = n
	}
	if e := checkTime(uv.createdAt, "created_at", &uv.created, &uv.noZone); e != nil {
		return e.under("user")
	}
	if e := checkTime(uv.updatedAt, "updated_at", &uv.updated, &uv.noZone); e != nil {
		return e.under("user")
	}
	var le *lineError
	uv.cons, le = l.consents(uv.consents)
	return le.under("user.consents")
}

func (l *lineVals) event(e *fastjson.Value, index int) *lineError {
	l.evs = append(l.evs, eventVals{cons: -1, index: index})
	ev := &l.evs[len(l.evs)-1]
	o, _ := e.Object()
	l.beginExtra()
	o.Visit(func(k []byte, x *fastjson.Value) {
		switch string(k) {
		case "id":
			first(&ev.id, x)
		case "organization_id":
			first(&ev.orgID, x)
		case "created_at":
			first(&ev.createdAt, x)
		case "updated_at":
			first(&ev.updatedAt, x)
		case "metadata":
			first(&ev.metadata, x)
		case "status":
			first(&ev.status, x)
		case "regulation":
			first(&ev.regulation, x)
		case "user":
			first(&ev.user, x)
		case "consents":
			first(&ev.consents, x)
		case "proofs_id":
			first(&ev.proofs, x)
		case "delegate":
			first(&ev.delegate, x)
		default:
			l.addExtra(k, x)
		}
	})
	ev.extra = l.endExtra()
	le := checkString(ev.id, "id")
	if le == nil {
		le = checkString(ev.orgID, "organization_id")
	}
	if le == nil {
		le = checkString(ev.status, "status")
	}
	if le == nil {
		le = checkString(ev.regulation, "regulation")
	}
	if le == nil {
		le = checkTime(ev.createdAt, "created_at", &ev.created, &ev.noZone)
	}
	if le == nil {
		le = checkTime(ev.updatedAt, "updated_at", &ev.updated, &ev.noZone)
	}
	if le != nil {
		return le
	}
	if u := ev.user; !isNull(u) {
		if u.Type() != fastjson.TypeObject {
			return wrongType(".user", "an object", u)
		}
		o, _ := u.Object()
		l.beginExtra()
		o.Visit(func(k []byte, x *fastjson.Value) {
			switch string(k) {
			case "id":
				first(&ev.uID, x)
			case "organization_user_id":
				first(&ev.uOrgUserID, x)
			case "metadata":
				first(&ev.uMetadata, x)
			case "country":
				first(&ev.uCountry, x)
			case "last_seen_country":
				first(&ev.uLastSeen, x)
			default:
				l.addExtra(k, x)
			}
		})
		ev.uExtra = l.endExtra()
		le := checkString(ev.uID, "id")
		if le == nil {
			le = checkString(ev.uOrgUserID, "organization_user_id")
		}
		if le == nil {
			le = checkString(ev.uCountry, "country")
		}
		if le == nil {
			le = checkString(ev.uLastSeen, "last_seen_country")
		}
		if le != nil {
			return le.under(".user")
		}
	}
	if d := ev.delegate; !isNull(d) {
		if d.Type() != fastjson.TypeObject {
			return wrongType(".delegate", "an object", d)
		}
		o, _ := d.Object()
		l.beginExtra()
		o.Visit(func(k []byte, x *fastjson.Value) {
			switch string(k) {
			case "id":
				first(&ev.dID, x)
			case "name":
				first(&ev.dName, x)
			case "metadata":
				first(&ev.dMetadata, x)
			default:
				l.addExtra(k, x)
			}
		})
		ev.dExtra = l.endExtra()
		le := checkString(ev.dID, "id")
		if le == nil {
			le = checkString(ev.dName, "name")
		}
		if le != nil {
			return le.under(".delegate")
		}
	}
	if le := checkStringList(ev.proofs, false); le != nil {
		return le.under(".proofs_id")
	}
	// ev stays valid: consents appends to other slices only.
	var cons int
	cons, le = l.consents(ev.consents)
	ev.cons = cons
	return le.under(".consents")
}

// consents checks a consents value and records it; it returns its index in
// l.cons, or -1 for a missing or null one.
func (l *lineVals) consents(c *fastjson.Value) (int, *lineError) {
	if isNull(c) {
		return -1, nil
	}
	if c.Type() != fastjson.TypeObject {
		return -1, wrongType("", "an object", c)
	}
	var cv consentVals
	o, _ := c.Object()
	l.beginExtra()
	o.Visit(func(k []byte, x *fastjson.Value) {
		switch string(k) {
		case "purposes":
			first(&cv.purposes, x)
		case "vendors":
			first(&cv.vendors, x)
		case "channels":
			first(&cv.channels, x)
		case "tcfcs":
			first(&cv.tcfcs, x)
		default:
			l.addExtra(k, x)
		}
	})
	cv.extra = l.endExtra()
	if le := checkString(cv.tcfcs, "tcfcs"); le != nil {
		return -1, le
	}
	if ps := cv.purposes; !isNull(ps) {
		if ps.Type() != fastjson.TypeArray {
			return -1, wrongType(".purposes", "an array", ps)
		}
		arr, _ := ps.Array()
		cv.purpose0 = len(l.purposes)
		for i, pv := range arr {
			if le := l.purpose(pv); le != nil {
				return -1, le.under(".purposes[" + strconv.Itoa(i) + "]")
			}
		}
		cv.purpose1 = len(l.purposes)
	}
	if chs := cv.channels; !isNull(chs) {
		if chs.Type() != fastjson.TypeArray {
			return -1, wrongType(".channels", "an array", chs)
		}
		arr, _ := chs.Array()
		cv.channel0 = len(l.channels)
		for i, ch := range arr {
			if le := l.channel(ch); le != nil {
				return -1, le.under(".channels[" + strconv.Itoa(i) + "]")
			}
		}
		cv.channel1 = len(l.channels)
	}
	if vs := cv.vendors; !isNull(vs) {
		if vs.Type() != fastjson.TypeObject {
			return -1, wrongType(".vendors", "an object", vs)
		}
		o, _ := vs.Object()
		l.beginExtra()
		o.Visit(func(k []byte, x *fastjson.Value) {
			switch string(k) {
			case "enabled":
				first(&cv.vendorLists[0], x)
			case "disabled":
				first(&cv.vendorLists[1], x)
			case "enabled_li":
				first(&cv.vendorLists[2], x)
			case "disabled_li":
				first(&cv.vendorLists[3], x)
			default:
				l.addExtra(k, x)
			}
		})
		cv.vendorsExtra = l.endExtra()
		for i, list := range cv.vendorLists {
			// Vendor IDs are strings; IAB vendors may appear as numbers.
			if le := checkStringList(list, true); le != nil {
				return -1, le.under(".vendors." + vendorKeys[i])
			}
		}
	}
	l.cons = append(l.cons, cv)
	return len(l.cons) - 1, nil
}

func (l *lineVals) purpose(v *fastjson.Value) *lineError {
	if v.Type() != fastjson.TypeObject {
		return wrongType("", "an object", v)
	}
	var pv purposeVals
	o, _ := v.Object()
	l.beginExtra()
	o.Visit(func(k []byte, x *fastjson.Value) {
		switch string(k) {
		case "id":
			first(&pv.id, x)
		case "enabled":
			first(&pv.enabled, x)
		case "enabled_li":
			first(&pv.enabledLI, x)
		case "metadata":
			first(&pv.metadata, x)
		case "values":
			first(&pv.values, x)
		default:
			l.addExtra(k, x)
		}
	})
	pv.extra = l.endExtra()
	le := checkString(pv.id, "id")
	if le == nil {
		le = checkBool(pv.enabled, "enabled")
	}
	if le == nil {
		le = checkBool(pv.enabledLI, "enabled_li")
	}
	if le != nil {
		return le
	}
	if vs := pv.values; !isNull(vs) && vs.Type() != fastjson.TypeObject {
		return wrongType(".values", "an object", vs)
	}
	l.purposes = append(l.purposes, pv)
	return nil
}

func (l *lineVals) channel(v *fastjson.Value) *lineError {
	if v.Type() != fastjson.TypeObject {
		return wrongType("", "an object", v)
	}
	var cv channelVals
	o, _ := v.Object()
	l.beginExtra()
	o.Visit(func(k []byte, x *fastjson.Value) {
		switch string(k) {
		case "id":
			first(&cv.id, x)
		case "enabled":
			first(&cv.enabled, x)
		case "metadata":
			first(&cv.metadata, x)
		default:
			l.addExtra(k, x)
		}
	})
	cv.extra = l.endExtra()
	le := checkString(cv.id, "id")
	if le == nil {
		le = checkBool(cv.enabled, "enabled")
	}
	if le != nil {
		return le
	}
	l.channels = append(l.channels, cv)
	return nil
}

// checkString accepts a missing, null or string value of key.
func checkString(v *fastjson.Value, key string) *lineError {
	if v == nil {
		return nil
	}
	switch v.Type() {
	case fastjson.TypeNull, fastjson.TypeString:
		return nil
	}
	return wrongType("."+key, "a string", v)
}

// checkBool accepts a missing, null or boolean value of key.
func checkBool(v *fastjson.Value, key string) *lineError {
	if v == nil {
		return nil
	}
	switch v.Type() {
	case fastjson.TypeNull, fastjson.TypeTrue, fastjson.TypeFalse:
		return nil
	}
	return wrongType("."+key, "a boolean", v)
}

// checkStringList accepts a missing or null value, or an array of strings
// (and of numbers when numbersOK).
func checkStringList(v *fastjson.Value, numbersOK bool) *lineError {
	if isNull(v) {
		return nil
	}
	if v.Type() != fastjson.TypeArray {
		return wrongType("", "an array", v)
	}
	arr, _ := v.Array()
	for i, x := range arr {
		if t := x.Type(); t == fastjson.TypeString || (numbersOK && t == fastjson.TypeNumber) {
			continue
		}
		return wrongType("["+strconv.Itoa(i)+"]", "a string", x)
	}
	return nil
}

// checkTime accepts a missing or null value of key, or an ISO-8601 string
// (parseTime), whose time it stores in *us; a time without a zone adds one
// to *noZone.
func checkTime(v *fastjson.Value, key string, us *int64, noZone *int) *lineError {
	if isNull(v) {
		return nil
	}
	if v.Type() != fastjson.TypeString {
		return &lineError{code: ReasonWrongType, at: "." + key, msg: ": want an ISO-8601 string, got " + v.Type().String()}
	}
	b := v.GetStringBytes()
	t, zoned, err := parseTime(b)
	if err != nil {
		return &lineError{code: ReasonBadTimestamp, at: "." + key, msg: fmt.Sprintf(": %q is not an ISO-8601 timestamp", b)}
	}
	*us = t
	if !zoned {
		*noZone++
	}
	return nil
}

// integer returns the value of a JSON number that is an integer.
func integer(v *fastjson.Value) (int64, bool) {
	if v.Type() != fastjson.TypeNumber {
		return 0, false
	}
	if n, err := v.Int64(); err == nil {
		return n, true
	}
	f, err := v.Float64()
	if err != nil || f != float64(int64(f)) {
		return 0, false
	}
	return int64(f), true
}

// ---- appending: the line is valid and its values are in p.line.

func (p *parser) appendRecord(lineNo int64) {
	l, uv, c := &p.line, &p.line.user, &p.users
	addStr(&c.id, uv.id)
	addStr(&c.orgID, uv.orgID)
	addStr(&c.orgUserID, uv.orgUserID)
	if isNull(uv.version) {
		c.version.null()
	} else {
		c.version.add(uv.versionN)
	}
	addTime(&c.createdAt, uv.createdAt, uv.created)
	addTime(&c.updatedAt, uv.updatedAt, uv.updated)
	addStr(&c.country, uv.country)
	addStr(&c.lastSeen, uv.lastSeen)
	p.addJSON(&c.metadata, uv.metadata)
	p.addConsents(&c.consents, uv.cons)
	c.eventCount.add(int32(len(l.events)))
	// extra: unknown user keys, plus unknown top-level keys under "$record".
	if rec := l.bytes(l.recExtra); rec != nil {
		p.scratch = p.scratch[:0]
		if ux := l.bytes(uv.extra); ux != nil {
			p.scratch = append(p.scratch, ux[:len(ux)-1]...)
			p.scratch = append(p.scratch, ',')
		} else {
			p.scratch = append(p.scratch, '{')
		}
		p.scratch = append(p.scratch, `"$record":`...)
		p.scratch = append(p.scratch, rec...)
		p.scratch = append(p.scratch, '}')
		c.extra.add(p.scratch)
	} else {
		c.extra.addOrNull(l.bytes(uv.extra))
	}
	c.sourceFile.add(p.fileBytes)
	c.sourceLine.add(lineNo)
	c.rows++
	p.nUsers++
	p.noZone += int64(uv.noZone)

	var userID []byte
	if uv.id.Type() == fastjson.TypeString {
		userID = uv.id.GetStringBytes()
	}
	for i := range l.evs {
		p.appendEvent(&l.evs[i], userID, lineNo)
	}
}

func (p *parser) appendEvent(ev *eventVals, userID []byte, lineNo int64) {
	l, c := &p.line, &p.events
	addStr(&c.id, ev.id)
	c.userID.add(userID)
	addStr(&c.orgID, ev.orgID)
	addTime(&c.createdAt, ev.createdAt, ev.created)
	addTime(&c.updatedAt, ev.updatedAt, ev.updated)
	addStr(&c.status, ev.status)
	if r := ev.regulation; r != nil && r.Type() == fastjson.TypeString {
		c.regulation.add(r.GetStringBytes())
	} else {
		c.regulation.addString(DefaultRegulation)
	}
	p.addJSON(&c.metadata, ev.metadata)
	if u := ev.user; u != nil && u.Type() == fastjson.TypeObject {
		cu := &c.user
		cu.valid.add(true)
		addStr(&cu.id, ev.uID)
		addStr(&cu.orgUserID, ev.uOrgUserID)
		p.addJSON(&cu.metadata, ev.uMetadata)
		addStr(&cu.country, ev.uCountry)
		addStr(&cu.lastSeen, ev.uLastSeen)
		cu.extra.addOrNull(l.bytes(ev.uExtra))
	} else {
		c.user.null()
	}
	p.addConsents(&c.consents, ev.cons)
	addStrList(&c.proofs, ev.proofs)
	if d := ev.delegate; d != nil && d.Type() == fastjson.TypeObject {
		cd := &c.delegate
		cd.valid.add(true)
		addStr(&cd.id, ev.dID)
		addStr(&cd.name, ev.dName)
		p.addJSON(&cd.metadata, ev.dMetadata)
		cd.extra.addOrNull(l.bytes(ev.dExtra))
	} else {
		c.delegate.null()
	}
	c.extra.addOrNull(l.bytes(ev.extra))
	c.sourceFile.add(p.fileBytes)
	c.sourceLine.add(lineNo)
	c.eventIndex.add(int32(ev.index))
	c.rows++
	p.nEvents++
	p.noZone += int64(ev.noZone)
}

func (p *parser) addConsents(c *consentsCols, idx int) {
	if idx < 0 {
		c.null()
		return
	}
	l := &p.line
	cv := &l.cons[idx]
	c.valid.add(true)
	// purposes
	if ps := cv.purposes; ps != nil && ps.Type() == fastjson.TypeArray {
		pc := &c.purpose
		for i := cv.purpose0; i < cv.purpose1; i++ {
			pv := &l.purposes[i]
			pc.valid.add(true)
			addStr(&pc.id, pv.id)
			addBool(&pc.enabled, pv.enabled)
			addBool(&pc.enabledLI, pv.enabledLI)
			p.addJSON(&pc.metadata, pv.metadata)
			if vs := pv.values; vs != nil && vs.Type() == fastjson.TypeObject {
				m := &pc.values
				o, _ := vs.Object()
				o.Visit(func(k []byte, x *fastjson.Value) {
					m.add(k)
					// A preference value is {"value": ...}: keep the
					// value (a string as is, anything else as JSON).
					val := x
					if x.Type() == fastjson.TypeObject {
						if inner := x.Get("value"); inner != nil {
							val = inner
						}
					}
					switch val.Type() {
					case fastjson.TypeString:
						m.items.add(val.GetStringBytes())
					case fastjson.TypeNull:
						m.items.null()
					default:
						p.scratch = val.MarshalTo(p.scratch[:0])
						m.items.add(p.scratch)
					}
				})
				m.end()
			} else {
				pc.values.null()
			}
			pc.extra.addOrNull(l.bytes(pv.extra))
		}
		c.purposes.add(pc.valid.n)
	} else {
		c.purposes.null()
	}
	// vendors
	if vs := cv.vendors; vs != nil && vs.Type() == fastjson.TypeObject {
		c.vendors.valid.add(true)
		for i, list := range cv.vendorLists {
			addStrList(&c.vendors.lists[i], list)
		}
		c.vendors.extra.addOrNull(l.bytes(cv.vendorsExtra))
	} else {
		c.vendors.null()
	}
	// channels
	if chs := cv.channels; chs != nil && chs.Type() == fastjson.TypeArray {
		cc := &c.channel
		for i := cv.channel0; i < cv.channel1; i++ {
			ch := &l.channels[i]
			cc.valid.add(true)
			addStr(&cc.id, ch.id)
			addBool(&cc.enabled, ch.enabled)
			p.addJSON(&cc.metadata, ch.metadata)
			cc.extra.addOrNull(l.bytes(ch.extra))
		}
		c.channels.add(cc.valid.n)
	} else {
		c.channels.null()
	}
	addStr(&c.tcfcs, cv.tcfcs)
	c.extra.addOrNull(l.bytes(cv.extra))
}

// addStr adds a string value, or a null for a missing or non-string one.
func addStr(c *strCol, v *fastjson.Value) {
	if v == nil || v.Type() != fastjson.TypeString {
		c.null()
		return
	}
	c.add(v.GetStringBytes())
}

// addBool adds a boolean value, or a null for a missing or non-boolean one.
func addBool(c *boolCol, v *fastjson.Value) {
	if v == nil {
		c.null()
		return
	}
	switch v.Type() {
	case fastjson.TypeTrue:
		c.add(true)
	case fastjson.TypeFalse:
		c.add(false)
	default:
		c.null()
	}
}

// addTime adds the time us parsed from v, or a null when v is missing or
// null.
func addTime(c *fixedCol[int64], v *fastjson.Value, us int64) {
	if v == nil || v.Type() != fastjson.TypeString {
		c.null()
		return
	}
	c.add(us)
}

// addStrList adds a list of strings (numbers as their JSON text), or a
// null for a missing or non-array value.
func addStrList(c *strListCol, v *fastjson.Value) {
	if v == nil || v.Type() != fastjson.TypeArray {
		c.null()
		return
	}
	arr, _ := v.Array()
	for _, x := range arr {
		switch x.Type() {
		case fastjson.TypeString:
			c.elem.add(x.GetStringBytes())
		case fastjson.TypeNumber:
			// A number's JSON text, as Value.String writes it.
			var num [32]byte
			c.elem.add(x.MarshalTo(num[:0]))
		default:
			c.elem.null()
		}
	}
	c.end()
}

// addJSON adds a free-form value as JSON text (null stays null).
func (p *parser) addJSON(c *strCol, v *fastjson.Value) {
	if v == nil || v.Type() == fastjson.TypeNull {
		c.null()
		return
	}
	p.scratch = v.MarshalTo(p.scratch[:0])
	c.add(p.scratch)
}
