package didomi

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/valyala/fastjson"
	"github.com/valyala/fastjson/fastfloat"
)

// The walk over a line, in two steps. read (one pass over the line's
// bytes, with the scanner of scan.go) sorts every value into the line's
// scratch as it meets it: the modelled values into their fields, the
// elements of the modelled arrays into the scratch's lists, the unmodelled
// members into their object's extra JSON. check then runs every check that
// can reject the line or one of its events, on the scratch, in the order
// the checks have always run, so that a line with several problems is
// rejected for the same first one. No check reads the line again, and a
// rejected line leaves the columns untouched.
//
// Key lookup is fastjson's Object.Visit: keys are compared unescaped, and
// the first of duplicate keys wins.

// read scans line into the scratch; false when it is not valid JSON.
// Values are written in place (see scanner.valueTo).
func (l *lineVals) read(line []byte) bool {
	l.line = line
	sc := scanner{s: line}
	sc.ws()
	if sc.i >= len(line) || line[sc.i] != '{' {
		sc.valueTo(0, &l.rec)
		sc.end()
		return !sc.bad
	}
	sc.i++
	start := len(l.pending)
	const depth = 1 // the record's, as fastjson counts
	if sc.open('}') {
		for {
			l.top = append(l.top, member{})
			m := &l.top[len(l.top)-1]
			if sc.key(m); sc.bad {
				break
			}
			switch string(l.key(m)) {
			case "user":
				if l.u.kind == kMissing {
					l.fieldTo(&sc, depth, nestUser, nil, &l.u)
					m.v = l.u
				} else {
					sc.valueTo(depth, &m.v)
				}
			case "events":
				if l.ev.kind == kMissing {
					l.fieldTo(&sc, depth, nestEvents, nil, &l.ev)
					m.v = l.ev
					m.ks = -1 // the events, checked event by event
				} else {
					sc.valueTo(depth, &m.v)
				}
			default:
				sc.valueTo(depth, &m.v)
				l.pending = append(l.pending, *m)
			}
			if sc.bad || !sc.more('}') {
				break
			}
		}
	}
	l.recExtra = l.flushExtra(start)
	l.rec.kind = kObject
	sc.end()
	return !sc.bad
}

// members reads the members of the object whose opening brace was read,
// a value at depth, into the fields of s, and returns its extra JSON.
func (l *lineVals) members(sc *scanner, depth int, s slots) span {
	start := len(l.pending)
	if sc.open('}') {
		var skip jval
		for {
			// Each key is read into a new pending member, taken back when
			// the key is modelled.
			l.pending = append(l.pending, member{})
			m := &l.pending[len(l.pending)-1]
			if sc.key(m); sc.bad {
				break
			}
			dst, n := s.slot(l.key(m))
			switch {
			case dst == nil:
				sc.valueTo(depth, &m.v)
			case dst.kind != kMissing:
				l.pending = l.pending[:len(l.pending)-1]
				sc.valueTo(depth, &skip) // a later duplicate: the first one wins
			default:
				l.pending = l.pending[:len(l.pending)-1]
				l.fieldTo(sc, depth, n, s, dst)
			}
			if sc.bad || !sc.more('}') {
				break
			}
		}
	}
	return l.flushExtra(start)
}

// fieldTo reads the value of a modelled key of the object owner (a value
// at depth) into *v: an object or array of the model is sorted into the
// scratch as n says; any other value is read as it is.
func (l *lineVals) fieldTo(sc *scanner, depth int, n nest, owner slots, v *jval) {
	if n == nestNone || sc.i >= len(sc.s) {
		sc.valueTo(depth, v)
		return
	}
	want := byte('{')
	switch n {
	case nestEvents, nestPurposes, nestChannels, nestList:
		want = '['
	}
	if sc.s[sc.i] != want {
		sc.valueTo(depth, v)
		return
	}
	if depth = sc.deeper(depth); sc.bad {
		return
	}
	start := sc.i
	sc.i++
	v.kind = kObject
	if want == '[' {
		v.kind = kArray
	}
	switch n {
	case nestUser:
		l.user.extra = l.members(sc, depth, &l.user)
	case nestEvents:
		v.lo = int32(len(l.evs))
		elements(l, sc, depth, &l.evs)
		v.hi = int32(len(l.evs))
	case nestConsents:
		v.lo = int32(len(l.cons))
		l.cons = append(l.cons, consentVals{})
		// No other consents can be read before this one ends: l.cons
		// stays where it is.
		extra := l.members(sc, depth, &l.cons[v.lo])
		l.cons[v.lo].extra = extra
	case nestEvUser:
		ev := owner.(*eventVals)
		ev.uExtra = l.members(sc, depth, (*eventUser)(ev))
	case nestDelegate:
		ev := owner.(*eventVals)
		ev.dExtra = l.members(sc, depth, (*eventDelegate)(ev))
	case nestVendors:
		cv := owner.(*consentVals)
		cv.vendorsExtra = l.members(sc, depth, (*consentVendors)(cv))
	case nestPurposes:
		v.lo = int32(len(l.purposes))
		elements(l, sc, depth, &l.purposes)
		v.hi = int32(len(l.purposes))
	case nestChannels:
		v.lo = int32(len(l.channels))
		elements(l, sc, depth, &l.channels)
		v.hi = int32(len(l.channels))
	case nestList:
		v.lo = int32(len(l.items))
		if sc.open(']') {
			for {
				sc.ws()
				l.items = append(l.items, jval{})
				if sc.valueTo(depth, &l.items[len(l.items)-1]); sc.bad || !sc.more(']') {
					break
				}
			}
		}
		v.hi = int32(len(l.items))
	case nestPrefs:
		v.lo = int32(len(l.prefs))
		if sc.open('}') {
			for {
				l.prefs = append(l.prefs, member{})
				m := &l.prefs[len(l.prefs)-1]
				if sc.key(m); sc.bad {
					break
				}
				if sc.valueTo(depth, &m.v); sc.bad || !sc.more('}') {
					break
				}
			}
		}
		v.hi = int32(len(l.prefs))
	}
	v.start, v.end = int32(start), int32(sc.i)
}

// element reads one element of a modelled array (a value at depth) into
// *self: an object's members go to the fields of s, and its extra JSON is
// returned.
func (l *lineVals) element(sc *scanner, depth int, s slots, self *jval) (extra span) {
	sc.ws()
	if sc.i >= len(sc.s) || sc.s[sc.i] != '{' {
		sc.valueTo(depth, self)
		return span{}
	}
	start := sc.i
	d := sc.deeper(depth)
	sc.i++
	if !sc.bad {
		extra = l.members(sc, d, s)
	}
	self.start, self.end, self.kind = int32(start), int32(sc.i), kObject
	return extra
}

// arrayElem is an element of a modelled array: at returns where its own
// value and its extra JSON go, and records its index when it keeps one.
type arrayElem interface {
	slots
	at(index int) (self *jval, extra *span)
}

func (ev *eventVals) at(i int) (*jval, *span) { ev.index = i; return &ev.self, &ev.extra }
func (pv *purposeVals) at(int) (*jval, *span) { return &pv.self, &pv.extra }
func (cv *channelVals) at(int) (*jval, *span) { return &cv.self, &cv.extra }

// elements reads the elements of a modelled array (a value at depth: the
// record's events, a consents' purposes or channels) into new items of
// *list.
func elements[T any, P interface {
	*T
	arrayElem
}](l *lineVals, sc *scanner, depth int, list *[]T) {
	if !sc.open(']') {
		return
	}
	for i := 0; ; i++ {
		var zero T
		*list = append(*list, zero)
		e := P(&(*list)[len(*list)-1])
		self, extra := e.at(i)
		*extra = l.element(sc, depth, e, self)
		if sc.bad || !sc.more(']') {
			return
		}
	}
}

// check runs the checks of the line read. A problem of the line or its
// user is returned; a problem of one event is recorded in l.evErrs and the
// event marked rejected. With checkUTF8 (the line holds invalid UTF-8),
// every key and string is checked too.
func (l *lineVals) check(checkUTF8 bool) *lineError {
	if l.rec.kind != kObject {
		return rejectf(ReasonNotObject, "line is a JSON %s, not an object", l.rec.kind)
	}
	if checkUTF8 {
		for _, m := range l.top {
			if m.ks < 0 {
				continue // the events, checked event by event
			}
			if e := l.invalidUTF8(m); e != nil {
				return e
			}
		}
	}
	if isNull(l.u) {
		return rejectf(ReasonMissingUser, "record has no user")
	}
	if l.u.kind != kObject {
		return rejectf(ReasonUserNotObject, "user is a JSON %s, not an object", l.u.kind)
	}
	if e := l.userObject(); e != nil {
		return e
	}
	if isNull(l.ev) {
		return nil
	}
	if l.ev.kind != kArray {
		return rejectf(ReasonEventsNotArray, "events is a JSON %s, not an array", l.ev.kind)
	}
	for i := l.ev.lo; i < l.ev.hi; i++ {
		ev := &l.evs[i]
		var le *lineError
		if checkUTF8 {
			if p, bad := l.badUTF8(l.raw(ev.self)); bad {
				le = &lineError{code: ReasonInvalidUTF8, at: "events[" + strconv.Itoa(ev.index) + "]" + p, msg: ": not valid UTF-8"}
			}
		}
		if le == nil && ev.self.kind != kObject {
			le = rejectf(ReasonEventNotObject, "events[%d] is a JSON %s, not an object", ev.index, ev.self.kind)
		}
		if le == nil {
			le = l.event(ev).under("events[" + strconv.Itoa(ev.index) + "]")
		}
		if le != nil {
			ev.rejected = true
			l.evErrs = append(l.evErrs, eventError{index: ev.index, raw: l.raw(ev.self), err: le})
		}
	}
	return nil
}

// invalidUTF8 rejects a member of the record whose key or value holds
// invalid UTF-8.
func (l *lineVals) invalidUTF8(m member) *lineError {
	k := l.key(&m)
	if !utf8.Valid(k) {
		return &lineError{code: ReasonInvalidUTF8, at: "key " + strconv.Quote(string(k)), msg: ": not valid UTF-8"}
	}
	if p, bad := l.badUTF8(l.raw(m.v)); bad {
		return &lineError{code: ReasonInvalidUTF8, at: string(k) + p, msg: ": not valid UTF-8"}
	}
	return nil
}

// badUTF8 reports whether a key or string inside the JSON text raw (a
// value the scanner read) is not valid UTF-8, and the path to the first
// one. Only lines with invalid UTF-8 are checked: fastjson reads raw again
// for its tree.
func (l *lineVals) badUTF8(raw []byte) (path string, bad bool) {
	if utf8.Valid(raw) {
		return "", false
	}
	v, err := l.fj.ParseBytes(raw)
	if err != nil { // cannot happen: the scanner read it
		return "", true
	}
	return badUTF8Value(v)
}

// badUTF8Value is badUTF8 on a fastjson value: its path relative to v.
func badUTF8Value(v *fastjson.Value) (path string, bad bool) {
	switch v.Type() {
	case fastjson.TypeString:
		return "", !utf8.Valid(v.GetStringBytes())
	case fastjson.TypeArray:
		arr, _ := v.Array()
		for i, x := range arr {
			if p, bad := badUTF8Value(x); bad {
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
			} else if p, b := badUTF8Value(x); b {
				path, bad = "."+string(k)+p, true
			}
		})
	}
	return path, bad
}

func (l *lineVals) userObject() *lineError {
	uv := &l.user
	if isNull(uv.id) || (uv.id.kind == kString && uv.id.end-uv.id.start == 2) {
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
		n, ok := l.integer(uv.version)
		if !ok {
			return rejectf(ReasonWrongType, "user.version: want an integer number, got %s", l.appendJSON(nil, uv.version))
		}
		uv.versionN = n
	}
	if e := l.checkTime(uv.createdAt, "created_at", &uv.created, &uv.noZone); e != nil {
		return e.under("user")
	}
	if e := l.checkTime(uv.updatedAt, "updated_at", &uv.updated, &uv.noZone); e != nil {
		return e.under("user")
	}
	return l.consents(uv.consents).under("user.consents")
}

func (l *lineVals) event(ev *eventVals) *lineError {
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
		le = l.checkTime(ev.createdAt, "created_at", &ev.created, &ev.noZone)
	}
	if le == nil {
		le = l.checkTime(ev.updatedAt, "updated_at", &ev.updated, &ev.noZone)
	}
	if le != nil {
		return le
	}
	if u := ev.user; !isNull(u) {
		if u.kind != kObject {
			return wrongType(".user", "an object", u)
		}
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
		if d.kind != kObject {
			return wrongType(".delegate", "an object", d)
		}
		le := checkString(ev.dID, "id")
		if le == nil {
			le = checkString(ev.dName, "name")
		}
		if le != nil {
			return le.under(".delegate")
		}
	}
	if le := l.checkStringList(ev.proofs, false); le != nil {
		return le.under(".proofs_id")
	}
	return l.consents(ev.consents).under(".consents")
}

// consents checks a consents value (missing, null or an object).
func (l *lineVals) consents(c jval) *lineError {
	if isNull(c) {
		return nil
	}
	if c.kind != kObject {
		return wrongType("", "an object", c)
	}
	cv := &l.cons[c.lo]
	if le := checkString(cv.tcfcs, "tcfcs"); le != nil {
		return le
	}
	if ps := cv.purposes; !isNull(ps) {
		if ps.kind != kArray {
			return wrongType(".purposes", "an array", ps)
		}
		for i := ps.lo; i < ps.hi; i++ {
			if le := purpose(&l.purposes[i]); le != nil {
				return le.under(".purposes[" + strconv.Itoa(int(i-ps.lo)) + "]")
			}
		}
	}
	if chs := cv.channels; !isNull(chs) {
		if chs.kind != kArray {
			return wrongType(".channels", "an array", chs)
		}
		for i := chs.lo; i < chs.hi; i++ {
			if le := channel(&l.channels[i]); le != nil {
				return le.under(".channels[" + strconv.Itoa(int(i-chs.lo)) + "]")
			}
		}
	}
	if vs := cv.vendors; !isNull(vs) {
		if vs.kind != kObject {
			return wrongType(".vendors", "an object", vs)
		}
		for i, list := range cv.vendorLists {
			// Vendor IDs are strings; IAB vendors may appear as numbers.
			if le := l.checkStringList(list, true); le != nil {
				return le.under(".vendors." + vendorKeys[i])
			}
		}
	}
	return nil
}

func purpose(pv *purposeVals) *lineError {
	if pv.self.kind != kObject {
		return wrongType("", "an object", pv.self)
	}
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
	if vs := pv.values; !isNull(vs) && vs.kind != kObject {
		return wrongType(".values", "an object", vs)
	}
	return nil
}

func channel(cv *channelVals) *lineError {
	if cv.self.kind != kObject {
		return wrongType("", "an object", cv.self)
	}
	le := checkString(cv.id, "id")
	if le == nil {
		le = checkBool(cv.enabled, "enabled")
	}
	return le
}

// checkString accepts a missing, null or string value of key.
func checkString(v jval, key string) *lineError {
	switch v.kind {
	case kMissing, kNull, kString:
		return nil
	}
	return wrongType("."+key, "a string", v)
}

// checkBool accepts a missing, null or boolean value of key.
func checkBool(v jval, key string) *lineError {
	switch v.kind {
	case kMissing, kNull, kTrue, kFalse:
		return nil
	}
	return wrongType("."+key, "a boolean", v)
}

// checkStringList accepts a missing or null value, or an array of strings
// (and of numbers when numbersOK).
func (l *lineVals) checkStringList(v jval, numbersOK bool) *lineError {
	if isNull(v) {
		return nil
	}
	if v.kind != kArray {
		return wrongType("", "an array", v)
	}
	for i, x := range l.items[v.lo:v.hi] {
		if x.kind == kString || (numbersOK && x.kind == kNumber) {
			continue
		}
		return wrongType("["+strconv.Itoa(i)+"]", "a string", x)
	}
	return nil
}

// checkTime accepts a missing or null value of key, or an ISO-8601 string
// (parseTime), whose time it stores in *us; a time without a zone adds one
// to *noZone.
func (l *lineVals) checkTime(v jval, key string, us *int64, noZone *int) *lineError {
	if isNull(v) {
		return nil
	}
	if v.kind != kString {
		return &lineError{code: ReasonWrongType, at: "." + key, msg: ": want an ISO-8601 string, got " + v.kind.String()}
	}
	b := l.text(v)
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

// integer returns the value of a JSON number that is an integer, as
// fastjson's Value.Int64 and Float64 read it.
func (l *lineVals) integer(v jval) (int64, bool) {
	if v.kind != kNumber {
		return 0, false
	}
	s := string(l.raw(v))
	if n, err := fastfloat.ParseInt64(s); err == nil {
		return n, true
	}
	f, err := fastfloat.Parse(s)
	if err != nil || f != float64(int64(f)) {
		return 0, false
	}
	return int64(f), true
}
