package didomi

import (
	"github.com/valyala/fastjson"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
)

// Appending a line's rows to the column buffers (cols.go): the walk
// (walk.go) found the line valid and its values are in p.line.

func (p *parser) appendRecord(lineNo int64) {
	l, uv, c := &p.line, &p.line.user, &p.users
	addStr(&c.id, uv.id)
	addStr(&c.orgID, uv.orgID)
	addStr(&c.orgUserID, uv.orgUserID)
	if isNull(uv.version) {
		c.version.Null()
	} else {
		c.version.Add(uv.versionN)
	}
	addTime(&c.createdAt, uv.createdAt, uv.created)
	addTime(&c.updatedAt, uv.updatedAt, uv.updated)
	addStr(&c.country, uv.country)
	addStr(&c.lastSeen, uv.lastSeen)
	p.addJSON(&c.metadata, uv.metadata)
	p.addConsents(&c.consents, uv.cons)
	c.eventCount.Add(int32(len(l.events)))
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
	c.userID.Add(userID)
	addStr(&c.orgID, ev.orgID)
	addTime(&c.createdAt, ev.createdAt, ev.created)
	addTime(&c.updatedAt, ev.updatedAt, ev.updated)
	addStr(&c.status, ev.status)
	if r := ev.regulation; r != nil && r.Type() == fastjson.TypeString {
		c.regulation.Add(r.GetStringBytes())
	} else {
		c.regulation.AddString(DefaultRegulation)
	}
	p.addJSON(&c.metadata, ev.metadata)
	if u := ev.user; u != nil && u.Type() == fastjson.TypeObject {
		cu := &c.user
		cu.valid.Add(true)
		addStr(&cu.id, ev.uID)
		addStr(&cu.orgUserID, ev.uOrgUserID)
		p.addJSON(&cu.metadata, ev.uMetadata)
		addStr(&cu.country, ev.uCountry)
		addStr(&cu.lastSeen, ev.uLastSeen)
		cu.extra.AddOrNull(l.bytes(ev.uExtra))
	} else {
		c.user.Null()
	}
	p.addConsents(&c.consents, ev.cons)
	addStrList(&c.proofs, ev.proofs)
	if d := ev.delegate; d != nil && d.Type() == fastjson.TypeObject {
		cd := &c.delegate
		cd.valid.Add(true)
		addStr(&cd.id, ev.dID)
		addStr(&cd.name, ev.dName)
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

func (p *parser) addConsents(c *consentsCols, idx int) {
	if idx < 0 {
		c.Null()
		return
	}
	l := &p.line
	cv := &l.cons[idx]
	c.valid.Add(true)
	// purposes
	if ps := cv.purposes; ps != nil && ps.Type() == fastjson.TypeArray {
		pc := &c.purpose
		for i := cv.purpose0; i < cv.purpose1; i++ {
			pv := &l.purposes[i]
			pc.valid.Add(true)
			addStr(&pc.id, pv.id)
			addBool(&pc.enabled, pv.enabled)
			addBool(&pc.enabledLI, pv.enabledLI)
			p.addJSON(&pc.metadata, pv.metadata)
			if vs := pv.values; vs != nil && vs.Type() == fastjson.TypeObject {
				m := &pc.values
				o, _ := vs.Object()
				o.Visit(func(k []byte, x *fastjson.Value) {
					m.Add(k)
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
						m.Items().Add(val.GetStringBytes())
					case fastjson.TypeNull:
						m.Items().Null()
					default:
						p.scratch = val.MarshalTo(p.scratch[:0])
						m.Items().Add(p.scratch)
					}
				})
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
	if vs := cv.vendors; vs != nil && vs.Type() == fastjson.TypeObject {
		c.vendors.valid.Add(true)
		for i, list := range cv.vendorLists {
			addStrList(&c.vendors.lists[i], list)
		}
		c.vendors.extra.AddOrNull(l.bytes(cv.vendorsExtra))
	} else {
		c.vendors.Null()
	}
	// channels
	if chs := cv.channels; chs != nil && chs.Type() == fastjson.TypeArray {
		cc := &c.channel
		for i := cv.channel0; i < cv.channel1; i++ {
			ch := &l.channels[i]
			cc.valid.Add(true)
			addStr(&cc.id, ch.id)
			addBool(&cc.enabled, ch.enabled)
			p.addJSON(&cc.metadata, ch.metadata)
			cc.extra.AddOrNull(l.bytes(ch.extra))
		}
		c.channels.Add(cc.valid.Len())
	} else {
		c.channels.Null()
	}
	addStr(&c.tcfcs, cv.tcfcs)
	c.extra.AddOrNull(l.bytes(cv.extra))
}

// addStr adds a string value, or a null for a missing or non-string one.
func addStr(c *hiveparquet.StringBuf, v *fastjson.Value) {
	if v == nil || v.Type() != fastjson.TypeString {
		c.Null()
		return
	}
	c.Add(v.GetStringBytes())
}

// addBool adds a boolean value, or a null for a missing or non-boolean one.
func addBool(c *hiveparquet.BoolBuf, v *fastjson.Value) {
	if v == nil {
		c.Null()
		return
	}
	switch v.Type() {
	case fastjson.TypeTrue:
		c.Add(true)
	case fastjson.TypeFalse:
		c.Add(false)
	default:
		c.Null()
	}
}

// addTime adds the time us parsed from v, or a null when v is missing or
// null.
func addTime(c *hiveparquet.FixedBuf[int64], v *fastjson.Value, us int64) {
	if v == nil || v.Type() != fastjson.TypeString {
		c.Null()
		return
	}
	c.Add(us)
}

// addStrList adds a list of strings (numbers as their JSON text), or a
// null for a missing or non-array value.
func addStrList(c *hiveparquet.StringListBuf, v *fastjson.Value) {
	if v == nil || v.Type() != fastjson.TypeArray {
		c.Null()
		return
	}
	arr, _ := v.Array()
	for _, x := range arr {
		switch x.Type() {
		case fastjson.TypeString:
			c.Elem().Add(x.GetStringBytes())
		case fastjson.TypeNumber:
			// A number's JSON text, as Value.String writes it.
			var num [32]byte
			c.Elem().Add(x.MarshalTo(num[:0]))
		default:
			c.Elem().Null()
		}
	}
	c.End()
}

// addJSON adds a free-form value as JSON text (null stays null).
func (p *parser) addJSON(c *hiveparquet.StringBuf, v *fastjson.Value) {
	if v == nil || v.Type() == fastjson.TypeNull {
		c.Null()
		return
	}
	p.scratch = v.MarshalTo(p.scratch[:0])
	c.Add(p.scratch)
}
