package main

// Writing the events array of a line as JSON: each event's consents,
// proofs, delegate and planted defects.

// eventConsents derives an event's consents: usually a partial subset of the
// user's current state.
func (g *gen) eventConsents() consents {
	uc := &g.u.consents
	var c consents
	if len(uc.purposes) > 0 && g.chance(0.9) {
		c.hasPurposes = true
		for _, p := range uc.purposes {
			if g.chance(0.5) {
				c.purposes = append(c.purposes, p)
			}
		}
		if len(c.purposes) == 0 {
			c.purposes = append(c.purposes, uc.purposes[g.r.IntN(len(uc.purposes))])
		}
	} else if g.chance(0.5) {
		c.hasPurposes = true // "purposes": []
	}
	if g.chance(0.7) {
		c.hasVendors = true
		for i := range c.vendors {
			for _, v := range uc.vendors[i] {
				if g.chance(0.6) {
					c.vendors[i] = append(c.vendors[i], v)
				}
			}
		}
	}
	if uc.hasChannels && len(uc.channels) > 0 && g.chance(0.4) {
		c.hasChannels = true
		c.channels = uc.channels[:1+g.r.IntN(len(uc.channels))]
	}
	c.tcfKind = 2
	if uc.tcfKind == 0 && g.chance(0.3) {
		c.tcfKind, c.tcfcs = 0, uc.tcfcs
	}
	return c
}

func (g *gen) writeEvent(e *evRec, info *lineInfo, spot **eventSpot) {
	w := &g.w
	u := &g.u
	id := g.uuid()
	w.obj()
	w.k("id")
	w.s(id)
	w.k("organization_id")
	w.s(g.org)
	w.k("created_at")
	w.ts(e.created, e.createdFmt)
	w.k("updated_at")
	w.ts(e.updated, e.updatedFmt)
	if e.createdFmt == tsOffset {
		info.offsetTS++
	}
	if e.updatedFmt == tsOffset {
		info.offsetTS++
	}
	w.k("metadata")
	switch x := g.r.IntN(100); {
	case x < 70:
		w.emptyObj()
	case x < 85:
		w.obj()
		w.k("source")
		w.s("widget")
		w.endObj()
	default:
		w.obj()
		w.k("ip")
		w.s("203.0.113." + string(appendInt(nil, g.r.IntN(255))))
		w.k("user_agent")
		w.s(g.pick(userAgents))
		w.endObj()
	}
	status := "confirmed"
	if g.chance(0.08) {
		status = "pending_approval"
	}
	w.k("status")
	w.s(status)
	regulation := "gdpr"
	if g.chance(0.07) {
		regulation = "cpra"
	}
	w.k("regulation")
	w.s(regulation)
	w.k("user")
	w.obj()
	w.k("id")
	w.s(u.id)
	switch u.ouidKind {
	case 0:
		w.k("organization_user_id")
		w.s(u.ouid)
	case 1:
		w.k("organization_user_id")
		w.null()
	}
	w.k("metadata")
	if g.chance(0.7) {
		w.raw(u.meta)
	} else {
		w.emptyObj()
	}
	w.k("country")
	if u.country == "" {
		w.null()
	} else {
		w.s(u.country)
	}
	w.k("last_seen_country")
	if u.lastSeen == "" {
		w.null()
	} else {
		w.s(u.lastSeen)
	}
	w.endObj()
	c := g.eventConsents()
	w.k("consents")
	writeConsents(w, &c, false)
	info.eventPurposes += len(c.purposes)
	nproofs := 0
	x := g.r.IntN(100)
	if x >= 70 && g.proofDrop > 0 && g.r.Float64() < g.proofDrop {
		x = 30 // drawn to carry proofs, thinned out by --proof-share: an empty proofs_id
	}
	switch {
	case x < 30: // missing
	case x < 70:
		w.k("proofs_id")
		w.arr()
		w.endArr()
	default:
		nproofs = 1
		if x >= 95 {
			nproofs = 2
		}
		w.k("proofs_id")
		w.arr()
		for i := 0; i < nproofs; i++ {
			pid := g.hex(64) + "." + g.pick(proofExts)
			w.s(pid)
			info.proofRefs = append(info.proofRefs, proofRefGen{ProofID: pid, EventID: id, UserID: u.id})
		}
		w.endArr()
	}
	info.proofs += nproofs
	hasDelegate := g.chance(0.1)
	if hasDelegate {
		info.delegates++
		w.k("delegate")
		w.obj()
		w.k("id")
		w.s(g.uuid())
		w.k("name")
		w.s(g.pick(delegateNames))
		w.k("metadata")
		if g.chance(0.5) {
			w.obj()
			w.k("team")
			w.s("dpo")
			w.endObj()
		} else {
			w.emptyObj()
		}
		w.endObj()
	}
	if g.chance(0.03) {
		info.eventsExtra++
		switch g.pick(unknownEventKeys) {
		case "source":
			w.k("source")
			w.obj()
			w.k("type")
			w.s(g.pick([]string{"api", "widget", "sdk"}))
			w.k("domain")
			w.s(g.pick([]string{"example.com", "www.example.org", "app.example.net"}))
			w.endObj()
		case "sdk_version":
			w.k("sdk_version")
			w.s("2." + string(appendInt(nil, g.r.IntN(30))) + ".0")
		}
	}
	w.endObj()
	if *spot == nil {
		*spot = &eventSpot{
			ID: id, UserID: u.id, CreatedAt: normTS(e.created), Status: status,
			Regulation: regulation, Purposes: len(c.purposes), Proofs: nproofs, Delegate: hasDelegate,
		}
	}
}

func (g *gen) writeEvents(defect string, variant int, info *lineInfo) {
	w := &g.w
	u := &g.u
	switch defect {
	case codeEventsNotArray:
		w.k("events")
		if variant%2 == 0 {
			w.obj()
			w.k("a")
			w.i(1)
			w.endObj()
		} else {
			w.s("x")
		}
		return
	case codeEventNotObject:
		w.k("events")
		w.arr()
		if variant%2 == 0 {
			w.i(1)
		} else {
			var spot *eventSpot
			for i := range g.evs {
				g.writeEvent(&g.evs[i], info, &spot)
			}
			w.s("x")
		}
		w.endArr()
		return
	}
	if len(g.evs) == 0 {
		switch u.eventsKind {
		case 1:
			return
		case 2:
			w.k("events")
			w.null()
			return
		}
	}
	w.k("events")
	w.arr()
	for i := range g.evs {
		g.writeEvent(&g.evs[i], info, &info.firstEvent)
	}
	w.endArr()
	info.events = len(g.evs)
}
