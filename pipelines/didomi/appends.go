package didomi

import (
	"bytes"
	"strconv"

	"github.com/valyala/fastjson"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
)

// Appending a line's rows to the column buffers (cols.go): the walk
// (walk.go) found the line valid and its values are in p.line.

func (p *parser) appendRecord(lineNo int64) {
	l, uv, c := &p.line, &p.line.user, &p.users
	l.addStr(&c.id, uv.id)
	l.addStr(&c.orgID, uv.orgID)
	l.addStr(&c.orgUserID, uv.orgUserID)
	if isNull(uv.version) {
		c.version.Null()
	} else {
		c.version.Add(uv.versionN)
	}
	addTime(&c.createdAt, uv.createdAt, uv.created)
	addTime(&c.updatedAt, uv.updatedAt, uv.updated)
	l.addStr(&c.country, uv.country)
	l.addStr(&c.lastSeen, uv.lastSeen)
	p.addJSON(&c.metadata, uv.metadata)
	p.addConsents(&c.consents, uv.consents)
	c.eventCount.Add(l.eventCount())
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
		c.extra.Add(p.scratch)
	} else {
		c.extra.AddOrNull(l.bytes(uv.extra))
	}
	c.sourceFile.Add(p.fileBytes)
	c.sourceLine.Add(lineNo)
	c.rows++
	p.nUsers++
	p.noZone += int64(uv.noZone)

	var userID []byte
	if uv.id.kind == kString {
		userID = l.text(uv.id)
	}
	for i := range l.evs {
		if ev := &l.evs[i]; !ev.rejected {
			p.appendEvent(ev, userID, lineNo)
		}
	}
}

func (p *parser) appendEvent(ev *eventVals, userID []byte, lineNo int64) {
	l, c := &p.line, &p.events
	l.addStr(&c.id, ev.id)
	c.userID.Add(userID)
	l.addStr(&c.orgID, ev.orgID)
	addTime(&c.createdAt, ev.createdAt, ev.created)
	addTime(&c.updatedAt, ev.updatedAt, ev.updated)
	l.addStr(&c.status, ev.status)
	if r := ev.regulation; r.kind == kString {
		c.regulation.Add(l.text(r))
	} else {
		c.regulation.AddString(DefaultRegulation)
	}
	p.addJSON(&c.metadata, ev.metadata)
	if ev.user.kind == kObject {
		cu := &c.user
		cu.valid.Add(true)
		l.addStr(&cu.id, ev.uID)
		l.addStr(&cu.orgUserID, ev.uOrgUserID)
		p.addJSON(&cu.metadata, ev.uMetadata)
		l.addStr(&cu.country, ev.uCountry)
		l.addStr(&cu.lastSeen, ev.uLastSeen)
		cu.extra.AddOrNull(l.bytes(ev.uExtra))
	} else {
		c.user.Null()
	}
	p.addConsents(&c.consents, ev.consents)
	l.addStrList(&c.proofs, ev.proofs)
	if ev.delegate.kind == kObject {
		cd := &c.delegate
		cd.valid.Add(true)
		l.addStr(&cd.id, ev.dID)
		l.addStr(&cd.name, ev.dName)
		p.addJSON(&cd.metadata, ev.dMetadata)
		cd.extra.AddOrNull(l.bytes(ev.dExtra))
	} else {
		c.delegate.Null()
	}
	c.extra.AddOrNull(l.bytes(ev.extra))
	c.sourceFile.Add(p.fileBytes)
	c.sourceLine.Add(lineNo)
	c.eventIndex.Add(int32(ev.index))
	c.rows++
	p.nEvents++
	p.noZone += int64(ev.noZone)
}

// eventCount is the number of events of the line (kept or not).
func (l *lineVals) eventCount() int32 {
	if l.ev.kind != kArray {
		return 0
	}
	return l.ev.hi - l.ev.lo
}

// addConsents adds a consents value: the one of l.cons for an object, else
// a null.
func (p *parser) addConsents(c *consentsCols, v jval) {
	if v.kind != kObject {
		c.Null()
		return
	}
	l := &p.line
	cv := &l.cons[v.lo]
	c.valid.Add(true)
	// purposes
	if ps := cv.purposes; ps.kind == kArray {
		pc := &c.purpose
		for i := ps.lo; i < ps.hi; i++ {
			pv := &l.purposes[i]
			pc.valid.Add(true)
			l.addStr(&pc.id, pv.id)
			addBool(&pc.enabled, pv.enabled)
			addBool(&pc.enabledLI, pv.enabledLI)
			p.addJSON(&pc.metadata, pv.metadata)
			if vs := pv.values; vs.kind == kObject {
				m := &pc.values
				for i := vs.lo; i < vs.hi; i++ {
					pref := &l.prefs[i]
					m.Add(l.key(pref))
					p.addPreference(m.Items(), pref.v)
				}
				m.End()
			} else {
				pc.values.Null()
			}
			pc.extra.AddOrNull(l.bytes(pv.extra))
		}
		c.purposes.Add(pc.valid.Len())
	} else {
		c.purposes.Null()
	}
	// vendors
	if cv.vendors.kind == kObject {
		c.vendors.valid.Add(true)
		for i, list := range cv.vendorLists {
			l.addStrList(&c.vendors.lists[i], list)
		}
		c.vendors.extra.AddOrNull(l.bytes(cv.vendorsExtra))
	} else {
		c.vendors.Null()
	}
	// channels
	if chs := cv.channels; chs.kind == kArray {
		cc := &c.channel
		for i := chs.lo; i < chs.hi; i++ {
			ch := &l.channels[i]
			cc.valid.Add(true)
			l.addStr(&cc.id, ch.id)
			addBool(&cc.enabled, ch.enabled)
			p.addJSON(&cc.metadata, ch.metadata)
			cc.extra.AddOrNull(l.bytes(ch.extra))
		}
		c.channels.Add(cc.valid.Len())
	} else {
		c.channels.Null()
	}
	l.addStr(&c.tcfcs, cv.tcfcs)
	c.extra.AddOrNull(l.bytes(cv.extra))
}

// addPreference adds the value of one preference of a purpose's values: a
// preference is {"value": ...}; its value is kept (a string as is,
// anything else as JSON), or the whole preference when it is not an
// object with a value.
func (p *parser) addPreference(items *hiveparquet.StringBuf, x jval) {
	l := &p.line
	val := x
	if x.kind == kObject {
		raw := l.raw(x)
		inner, found, plain := innerValue(raw)
		if !plain {
			p.addPreferenceFJ(items, raw)
			return
		}
		if found { // inner is in raw: make it a value of the line
			inner.start += x.start
			inner.end += x.start
			val = inner
		}
	}
	switch val.kind {
	case kString:
		items.Add(l.text(val))
	case kNull:
		items.Null()
	default:
		p.scratch = appendCompact(p.scratch[:0], l.raw(val))
		items.Add(p.scratch)
	}
}

// innerValue finds the member "value" of the object raw (a value the
// scanner read), the first one whose key is written as is, as fastjson's
// Object.Get does first. plain is false when the object has a key fastjson
// would unescape or write quoted (a backslash or a control character in
// it): addPreferenceFJ then reads it.
func innerValue(raw []byte) (v jval, found, plain bool) {
	sc := scanner{s: raw, i: 1}
	if !sc.open('}') {
		return jval{}, false, true
	}
	for {
		var m member
		sc.key(&m)
		k := raw[m.ks:m.ke]
		if sc.bad || m.esc || hasControl(k) {
			return jval{}, false, false
		}
		x := sc.value(1)
		if !found && string(k) == "value" {
			v, found = x, true
		}
		if sc.bad || !sc.more('}') {
			return v, found, !sc.bad
		}
	}
}

func hasControl(k []byte) bool {
	for _, c := range k {
		if c < 0x20 {
			return true
		}
	}
	return false
}

// addPreferenceFJ is addPreference of an object preference with unusual
// keys, read by fastjson as before the single-pass walk: Object.Get
// unescapes the keys of an object without a plain "value" key, and
// MarshalTo then writes them quoted.
func (p *parser) addPreferenceFJ(items *hiveparquet.StringBuf, raw []byte) {
	x, err := p.line.fj.ParseBytes(raw)
	if err != nil { // cannot happen: the scanner read it
		items.Add(bytes.Clone(raw))
		return
	}
	val := x
	if inner := x.Get("value"); inner != nil {
		val = inner
	}
	switch val.Type() {
	case fastjson.TypeString:
		items.Add(val.GetStringBytes())
	case fastjson.TypeNull:
		items.Null()
	default:
		p.scratch = val.MarshalTo(p.scratch[:0])
		items.Add(p.scratch)
	}
}

// addStr adds a string value, or a null for a missing or non-string one.
func (l *lineVals) addStr(c *hiveparquet.StringBuf, v jval) {
	if v.kind != kString {
		c.Null()
		return
	}
	c.Add(l.text(v))
}

// addBool adds a boolean value, or a null for a missing or non-boolean one.
func addBool(c *hiveparquet.BoolBuf, v jval) {
	switch v.kind {
	case kTrue:
		c.Add(true)
	case kFalse:
		c.Add(false)
	default:
		c.Null()
	}
}

// addTime adds the time us parsed from v, or a null when v is missing or
// null.
func addTime(c *hiveparquet.FixedBuf[int64], v jval, us int64) {
	if v.kind != kString {
		c.Null()
		return
	}
	c.Add(us)
}

// addStrList adds a list of strings (numbers as their JSON text), or a
// null for a missing or non-array value.
func (l *lineVals) addStrList(c *hiveparquet.StringListBuf, v jval) {
	if v.kind != kArray {
		c.Null()
		return
	}
	for _, x := range l.items[v.lo:v.hi] {
		switch x.kind {
		case kString:
			c.Elem().Add(l.text(x))
		case kNumber:
			c.Elem().Add(l.raw(x))
		default:
			c.Elem().Null()
		}
	}
	c.End()
}

// addJSON adds a free-form value as JSON text (null stays null).
func (p *parser) addJSON(c *hiveparquet.StringBuf, v jval) {
	if isNull(v) {
		c.Null()
		return
	}
	p.scratch = p.line.appendJSON(p.scratch[:0], v)
	c.Add(p.scratch)
}

// appendJSON appends the JSON text of v as fastjson wrote a value whose
// type it had been asked: a string unescaped and quoted again (by
// strconv.AppendQuote when it has a quote, backslash or control
// character), anything else as written, without whitespace.
func (l *lineVals) appendJSON(dst []byte, v jval) []byte {
	if v.kind != kString {
		return appendCompact(dst, l.raw(v))
	}
	s := l.text(v)
	if bytes.IndexByte(s, '"') < 0 && bytes.IndexByte(s, '\\') < 0 && !hasControl(s) {
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"')
	}
	return strconv.AppendQuote(dst, string(s))
}
