package didomi

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// The walk over a parsed line: every check that can reject a line runs
// here, in this order, before any append (appends.go).

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
	uv.extra = l.object(u, uv)
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
	ev.extra = l.object(e, ev)
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
		ev.uExtra = l.object(u, (*eventUser)(ev))
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
		ev.dExtra = l.object(d, (*eventDelegate)(ev))
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
	// The consents' values go straight into their place in l.cons (a
	// local value would escape to the heap through the visitor), which an
	// error takes back.
	n := len(l.cons)
	l.cons = append(l.cons, consentVals{})
	if le := l.consent(c, &l.cons[n]); le != nil {
		l.cons = l.cons[:n]
		return -1, le
	}
	return n, nil
}

// consent checks the consents object c into cv.
func (l *lineVals) consent(c *fastjson.Value, cv *consentVals) *lineError {
	cv.extra = l.object(c, cv)
	if le := checkString(cv.tcfcs, "tcfcs"); le != nil {
		return le
	}
	if ps := cv.purposes; !isNull(ps) {
		if ps.Type() != fastjson.TypeArray {
			return wrongType(".purposes", "an array", ps)
		}
		arr, _ := ps.Array()
		cv.purpose0 = len(l.purposes)
		for i, pv := range arr {
			if le := l.purpose(pv); le != nil {
				return le.under(".purposes[" + strconv.Itoa(i) + "]")
			}
		}
		cv.purpose1 = len(l.purposes)
	}
	if chs := cv.channels; !isNull(chs) {
		if chs.Type() != fastjson.TypeArray {
			return wrongType(".channels", "an array", chs)
		}
		arr, _ := chs.Array()
		cv.channel0 = len(l.channels)
		for i, ch := range arr {
			if le := l.channel(ch); le != nil {
				return le.under(".channels[" + strconv.Itoa(i) + "]")
			}
		}
		cv.channel1 = len(l.channels)
	}
	if vs := cv.vendors; !isNull(vs) {
		if vs.Type() != fastjson.TypeObject {
			return wrongType(".vendors", "an object", vs)
		}
		cv.vendorsExtra = l.object(vs, (*consentVendors)(cv))
		for i, list := range cv.vendorLists {
			// Vendor IDs are strings; IAB vendors may appear as numbers.
			if le := checkStringList(list, true); le != nil {
				return le.under(".vendors." + vendorKeys[i])
			}
		}
	}
	return nil
}

func (l *lineVals) purpose(v *fastjson.Value) *lineError {
	if v.Type() != fastjson.TypeObject {
		return wrongType("", "an object", v)
	}
	n := len(l.purposes)
	l.purposes = append(l.purposes, purposeVals{})
	if le := l.purposeInto(v, &l.purposes[n]); le != nil {
		l.purposes = l.purposes[:n]
		return le
	}
	return nil
}

// purposeInto checks the purpose object v into pv.
func (l *lineVals) purposeInto(v *fastjson.Value, pv *purposeVals) *lineError {
	pv.extra = l.object(v, pv)
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
	return nil
}

func (l *lineVals) channel(v *fastjson.Value) *lineError {
	if v.Type() != fastjson.TypeObject {
		return wrongType("", "an object", v)
	}
	n := len(l.channels)
	l.channels = append(l.channels, channelVals{})
	if le := l.channelInto(v, &l.channels[n]); le != nil {
		l.channels = l.channels[:n]
		return le
	}
	return nil
}

// channelInto checks the channel object v into cv.
func (l *lineVals) channelInto(v *fastjson.Value, cv *channelVals) *lineError {
	cv.extra = l.object(v, cv)
	le := checkString(cv.id, "id")
	if le == nil {
		le = checkBool(cv.enabled, "enabled")
	}
	return le
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
