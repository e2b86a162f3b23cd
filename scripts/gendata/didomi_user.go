package main

// Writing the user object of a line as JSON: its consents (shared with the
// events) and its planted defects.

func writeChannels(w *jw, cs []channel) {
	w.arr()
	for _, ch := range cs {
		w.obj()
		w.k("id")
		w.s(ch.id)
		w.k("enabled")
		w.bl(ch.enabled)
		w.k("metadata")
		if ch.meta == 1 {
			w.obj()
			w.k("verified")
			w.bl(true)
			w.endObj()
		} else {
			w.emptyObj()
		}
		w.endObj()
	}
	w.endArr()
}

var vendorKeys = [4]string{"enabled", "disabled", "enabled_li", "disabled_li"}

// writeConsents writes a consents object; badEnabled plants `"enabled":"yes"`
// in the first purpose (wrong_type).
func writeConsents(w *jw, c *consents, badEnabled bool) {
	w.obj()
	if c.hasPurposes {
		w.k("purposes")
		w.arr()
		for i := range c.purposes {
			p := &c.purposes[i]
			w.obj()
			w.k("id")
			w.s(p.id)
			w.k("enabled")
			if badEnabled && i == 0 {
				w.s("yes")
			} else {
				w.bl(p.enabled)
			}
			switch p.li {
			case 0:
				w.k("enabled_li")
				w.null()
			case 1, 2:
				w.k("enabled_li")
				w.bl(p.li == 1)
			}
			w.k("metadata")
			switch p.meta {
			case 1:
				w.obj()
				w.k("collected_by")
				w.s("cmp")
				w.endObj()
			case 2:
				w.obj()
				w.k("form")
				w.s("signup_v2")
				w.endObj()
			default:
				w.emptyObj()
			}
			w.k("values")
			w.obj()
			for _, v := range p.values {
				w.k(v.id)
				w.obj()
				w.k("value")
				w.s(v.value)
				w.endObj()
			}
			w.endObj()
			if p.channels != nil {
				w.k("channels")
				writeChannels(w, p.channels)
			}
			if p.prefs != nil {
				w.k("preferences")
				w.arr()
				for _, pr := range p.prefs {
					w.obj()
					w.k("id")
					w.s(pr.id)
					w.k("enabled")
					w.bl(true)
					w.k("metadata")
					w.emptyObj()
					w.endObj()
				}
				w.endArr()
			}
			w.endObj()
		}
		w.endArr()
	}
	if c.hasVendors {
		w.k("vendors")
		w.obj()
		for i, k := range vendorKeys {
			w.k(k)
			w.strs(c.vendors[i])
		}
		w.endObj()
	}
	if c.hasChannels {
		w.k("channels")
		writeChannels(w, c.channels)
	}
	switch c.tcfKind {
	case 0:
		w.k("tcfcs")
		w.s(c.tcfcs)
	case 1:
		w.k("tcfcs")
		w.null()
	}
	w.endObj()
}

func (g *gen) writeUserExtra() {
	w := &g.w
	u := &g.u
	switch unknownUserKeys[u.extraKind] {
	case "ab_test":
		w.k("ab_test")
		w.obj()
		w.k("bucket")
		w.s([]string{"A", "B"}[u.version%2])
		w.endObj()
	case "source_system":
		w.k("source_system")
		w.s("crm")
	case "import_batch":
		w.k("import_batch")
		w.i(int64(20240000 + u.version))
	}
}

// writeUser writes `"user":{...}` with an optional planted defect.
func (g *gen) writeUser(defect string, variant int, info *lineInfo) {
	w := &g.w
	u := &g.u
	w.k("user")
	w.obj()
	if defect == codeMissingUserID {
		switch variant % 3 {
		case 1:
			w.k("id")
			w.s("")
		case 2:
			w.k("id")
			w.null()
		}
	} else {
		w.k("id")
		w.s(u.id)
	}
	w.k("organization_id")
	w.s(g.org)
	switch u.ouidKind {
	case 0:
		w.k("organization_user_id")
		w.s(u.ouid)
	case 1:
		w.k("organization_user_id")
		w.null()
	}
	w.k("version")
	if defect == codeWrongType && variant%3 == 0 {
		w.s("three")
	} else {
		w.i(int64(u.version))
	}
	w.k("created_at")
	if defect == codeBadTimestamp {
		w.s([]string{"not-a-date", "2024-13-45T99:00:00Z"}[variant%2])
	} else {
		w.ts(u.created, u.createdFmt)
	}
	w.k("updated_at")
	w.ts(u.updated, u.updatedFmt)
	if u.createdFmt == tsOffset && defect != codeBadTimestamp {
		info.offsetTS++
	}
	if u.updatedFmt == tsOffset {
		info.offsetTS++
	}
	if u.extraKind >= 0 && !u.extraAtEnd {
		g.writeUserExtra()
	}
	w.k("metadata")
	w.raw(u.meta)
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
	w.k("consents")
	if defect == codeWrongType && variant%3 == 1 {
		w.arr()
		w.endArr()
	} else {
		writeConsents(w, &u.consents, defect == codeWrongType && variant%3 == 2)
	}
	if u.extraKind >= 0 && u.extraAtEnd {
		g.writeUserExtra()
	}
	w.endObj()
	info.userPurposes = len(u.consents.purposes)
	info.userExtra = u.extraKind >= 0
}
