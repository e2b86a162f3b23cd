package main

import (
	"slices"
	"time"
)

// Drawing the values of a user and its events from the file's random
// stream (gen.r); the order of the draws is part of the output.

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

func (g *gen) pick(s []string) string { return s[g.r.IntN(len(s))] }

func (g *gen) uuid() string {
	var b [36]byte
	hi, lo := g.r.Uint64(), g.r.Uint64()
	var raw [16]byte
	for i := 0; i < 8; i++ {
		raw[i] = byte(hi >> (8 * i))
		raw[8+i] = byte(lo >> (8 * i))
	}
	raw[6] = raw[6]&0x0f | 0x40
	raw[8] = raw[8]&0x3f | 0x80
	j := 0
	for i, c := range raw {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		b[j], b[j+1] = hexdigits[c>>4], hexdigits[c&0xf]
		j += 2
	}
	return string(b[:])
}

func (g *gen) hex(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = hexdigits[g.r.IntN(16)]
	}
	return string(b)
}

const b64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func (g *gen) tcfString() string {
	n := 40 + g.r.IntN(60)
	b := make([]byte, 0, n+20)
	b = append(b, 'C', 'P')
	for i := 0; i < n; i++ {
		b = append(b, b64url[g.r.IntN(64)])
	}
	switch g.r.IntN(3) {
	case 0:
		b = append(b, ".YAAAAAAAAAAA"...)
	case 1:
		b = append(b, ".IFoEUQQgAIQwgIwQABAEAAAAAAAA"...)
	}
	return string(b)
}

// subset returns k distinct elements of pool (order of the pool kept).
func (g *gen) subset(pool []string, k int) []string {
	if k <= 0 {
		return nil
	}
	if k > len(pool) {
		k = len(pool)
	}
	idx := g.r.Perm(len(pool))[:k]
	slices.Sort(idx)
	out := make([]string, k)
	for i, j := range idx {
		out[i] = pool[j]
	}
	return out
}

// tsFmt picks a timestamp format and truncates t accordingly.
func (g *gen) tsFmt(t time.Time) (time.Time, tsFormat) {
	x := g.r.IntN(100)
	switch {
	case x < 4:
		return t, tsOffset
	case x < 6:
		return t.Truncate(time.Second), tsSecondsZ
	}
	return t, tsMillisZ
}

func (g *gen) randIn(lo, hi time.Time) time.Time {
	d := hi.Sub(lo).Milliseconds()
	if d <= 0 {
		return lo
	}
	return lo.Add(time.Duration(g.r.Int64N(d)) * time.Millisecond)
}

func (g *gen) channels(max int) []channel {
	ids := g.subset(channelPool, 1+g.r.IntN(max))
	out := make([]channel, len(ids))
	for i, id := range ids {
		out[i] = channel{id: id, enabled: g.chance(0.6)}
		if g.chance(0.1) {
			out[i].meta = 1
		}
	}
	return out
}

func (g *gen) purposes(forceOne bool) []purpose {
	n := 1 + g.r.IntN(6)
	if !forceOne && g.chance(0.03) {
		n = 0
	}
	ids := g.subset(purposePool, n)
	out := make([]purpose, len(ids))
	for i, id := range ids {
		p := purpose{id: id, enabled: g.chance(0.7)}
		switch x := g.r.IntN(100); {
		case x < 40:
			p.li = 0
		case x < 65:
			p.li = 1
		case x < 95:
			p.li = 2
		default:
			p.li = 3
		}
		if g.chance(0.1) {
			p.meta = uint8(1 + g.r.IntN(2))
		}
		if g.chance(0.3) {
			k := 1 + g.r.IntN(2)
			for _, j := range g.r.Perm(len(prefPool))[:k] {
				pp := prefPool[j]
				p.values = append(p.values, pref{pp.id, pp.values[g.r.IntN(len(pp.values))]})
			}
		}
		if g.chance(0.08) {
			p.channels = g.channels(2)
		}
		if g.chance(0.05) {
			pp := prefPool[g.r.IntN(len(prefPool))]
			p.prefs = []pref{{pp.id, pp.values[0]}}
		}
		out[i] = p
	}
	return out
}

func (g *gen) email() string {
	b := make([]byte, 0, 48)
	b = append(b, g.pick(firstNames)...)
	b = append(b, '.')
	b = append(b, g.pick(lastNames)...)
	if g.chance(0.5) {
		b = appendInt(b, g.r.IntN(100))
	}
	b = append(b, '@')
	b = append(b, g.pick(emailDomains)...)
	return string(b)
}

func appendInt(b []byte, n int) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}

// userMeta renders a free-form user metadata object into g.tmp.
func (g *gen) userMeta() []byte {
	w := &g.tmp
	w.b = w.b[:0]
	x := g.r.IntN(100)
	switch {
	case x < 50:
		w.emptyObj()
	case x < 65:
		w.obj()
		w.k("source")
		w.s(g.pick(sources))
		w.endObj()
	case x < 75:
		w.obj()
		w.k("ip_country")
		w.s(g.pick(countries))
		w.k("user_agent")
		w.s(g.pick(userAgents))
		w.endObj()
	case x < 85:
		w.obj()
		w.k("campaign")
		w.obj()
		w.k("utm_source")
		w.s(g.pick(utmSources))
		w.k("utm_medium")
		w.s("email")
		w.k("utm_campaign")
		w.s("spring_2024")
		w.endObj()
		w.endObj()
	case x < 95:
		w.obj()
		w.k("score")
		w.f(float64(g.r.IntN(1000)) / 1000)
		w.k("tags")
		w.strs(g.subset([]string{"vip", "beta", "churn_risk", "b2b"}, 1+g.r.IntN(2)))
		w.k("opt_in_count")
		w.i(int64(g.r.IntN(12)))
		w.k("verified")
		w.bl(g.chance(0.5))
		w.endObj()
	case x < 98:
		w.obj()
		w.k("note")
		w.s("Zoë a dit \"oui\" — par téléphone\nrappel: 14h\t✓")
		w.k("lang")
		w.s("fr-FR")
		w.endObj()
	default:
		w.obj()
		w.k("legacy_id")
		w.null()
		w.k("crm")
		w.obj()
		w.k("segment")
		w.s("gold")
		w.k("since")
		w.s("2019-04-01")
		w.k("lifetime_value")
		w.f(1234.5)
		w.endObj()
		w.endObj()
	}
	return w.b
}

// newUser builds the next user. Times are derived from the partition date.
func (g *gen) newUser(nEvents int, forceOffset, forcePurpose bool) {
	u := &g.u
	u.id = g.uuid()
	switch x := g.r.IntN(100); {
	case x < 55:
		u.ouidKind, u.ouid = 0, g.email()
	case x < 75:
		u.ouidKind = 0
		if g.chance(0.5) {
			u.ouid = "crm-" + g.hex(8)
		} else {
			u.ouid = "003Dn0000" + g.hex(9)
		}
	case x < 95:
		u.ouidKind = 1
	default:
		u.ouidKind = 2
	}
	periodStart := g.day.Add(-24 * time.Hour)
	var created time.Time
	if g.chance(0.55) {
		created = g.randIn(periodStart, g.day)
	} else {
		created = g.randIn(periodStart.Add(-700*24*time.Hour), periodStart)
	}
	created, u.createdFmt = g.tsFmt(created)
	if forceOffset {
		u.createdFmt = tsOffset
	}
	u.created = created

	// Events happen inside the exported period, in order; a user created in
	// the period gets its first consent event at creation time.
	g.evs = g.evs[:0]
	lo := created
	if lo.Before(periodStart) {
		lo = periodStart
	}
	for i := 0; i < nEvents; i++ {
		var e evRec
		e.created = g.randIn(lo, g.day)
		g.evs = append(g.evs, e)
	}
	slices.SortFunc(g.evs, func(a, b evRec) int { return a.created.Compare(b.created) })
	if nEvents > 0 && !created.Before(periodStart) {
		g.evs[0].created = created
	}
	last := created
	for i := range g.evs {
		e := &g.evs[i]
		e.created, e.createdFmt = g.tsFmt(e.created)
		e.updated, e.updatedFmt = e.created, e.createdFmt
		if g.chance(0.2) {
			e.updated, e.updatedFmt = g.tsFmt(g.randIn(e.created, e.created.Add(2*time.Hour)))
		}
		if e.updated.After(last) {
			last = e.updated
		}
	}
	if nEvents == 0 && g.chance(0.5) {
		from := created
		if from.Before(periodStart) {
			from = periodStart
		}
		last = g.randIn(from, g.day)
	}
	u.updated, u.updatedFmt = g.tsFmt(last)
	if u.updated.Before(u.created) { // seconds truncation
		u.updated, u.updatedFmt = u.created, tsMillisZ
	}
	u.version = 1 + nEvents + g.r.IntN(5)
	u.meta = g.userMeta()
	u.country, u.lastSeen = "", ""
	if g.chance(0.9) {
		u.country = g.pick(countries)
	}
	if g.chance(0.8) {
		u.lastSeen = u.country
		if u.lastSeen == "" || g.chance(0.1) {
			u.lastSeen = g.pick(countries)
		}
	}

	c := &u.consents
	c.hasPurposes = true
	c.purposes = g.purposes(forcePurpose)
	c.hasVendors = true
	c.vendors[0] = g.subset(vendorPool, g.r.IntN(9))
	c.vendors[1] = g.subset(vendorPool, g.r.IntN(5))
	c.vendors[2] = g.subset(vendorPool, g.r.IntN(4))
	c.vendors[3] = g.subset(vendorPool, g.r.IntN(3))
	// A vendor is not both enabled and disabled.
	c.vendors[1] = slices.DeleteFunc(c.vendors[1], func(v string) bool { return slices.Contains(c.vendors[0], v) })
	c.vendors[3] = slices.DeleteFunc(c.vendors[3], func(v string) bool { return slices.Contains(c.vendors[2], v) })
	switch x := g.r.IntN(100); {
	case x < 10:
		c.hasChannels = false
	case x < 25:
		c.hasChannels, c.channels = true, nil
	default:
		c.hasChannels, c.channels = true, g.channels(3)
	}
	switch x := g.r.IntN(100); {
	case x < 70:
		c.tcfKind, c.tcfcs = 0, g.tcfString()
	case x < 85:
		c.tcfKind = 1
	default:
		c.tcfKind = 2
	}
	u.extraKind = -1
	if g.chance(0.05) {
		u.extraKind = g.r.IntN(len(unknownUserKeys))
		u.extraAtEnd = g.chance(0.5)
	}
	u.eventsFirst = g.chance(0.05)
	u.eventsKind = 0
	if nEvents == 0 {
		switch x := g.r.IntN(100); {
		case x < 15:
			u.eventsKind = 1
		case x < 30:
			u.eventsKind = 2
		}
	}
}

// nEvents draws a skewed number of events in [0, 30].
func (g *gen) nEvents() int {
	x := g.r.IntN(100)
	switch {
	case x < 30:
		return 0
	case x < 55:
		return 1
	case x < 70:
		return 2
	case x < 80:
		return 3
	case x < 97:
		return 4 + g.r.IntN(6)
	}
	return 10 + g.r.IntN(21)
}
