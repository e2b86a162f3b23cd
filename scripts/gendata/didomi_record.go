package main

import (
	"math/rand/v2"
	"slices"
	"time"
)

// Reason codes of bad lines, in the order a validator checks them.
const (
	codeEmptyLine      = "empty_line"
	codeInvalidJSON    = "invalid_json"
	codeNotObject      = "not_object"
	codeMissingUser    = "missing_user"
	codeUserNotObject  = "user_not_object"
	codeMissingUserID  = "missing_user_id"
	codeEventsNotArray = "events_not_array"
	codeEventNotObject = "event_not_object"
	codeWrongType      = "wrong_type"
	codeBadTimestamp   = "bad_timestamp"
)

var reasonCodes = []string{
	codeEmptyLine, codeInvalidJSON, codeNotObject, codeMissingUser,
	codeUserNotObject, codeMissingUserID, codeEventsNotArray,
	codeEventNotObject, codeWrongType, codeBadTimestamp,
}

// gen produces the lines of one file. All randomness comes from r, which is
// seeded from (seed, export id, date, file index), so a file's bytes do not
// depend on which goroutine writes it or in which order.
type gen struct {
	r      *rand.Rand
	org    string
	day    time.Time // partition date, 00:00 UTC; the export covers [day-24h, day)
	w      jw        // the current line
	tmp    jw        // scratch (metadata of the current user)
	u      userRec
	evs    []evRec
	sample bool
	// proofDrop is 1 - --proof-share: the share of the events drawn to
	// carry proofs (30% of events) that lose them; 0 (the default) draws
	// nothing more, so the output is the same as without the flag.
	proofDrop float64
}

type channel struct {
	id      string
	enabled bool
	meta    uint8 // 0 {}, 1 {"verified":true}
}

type pref struct {
	id, value string
}

type purpose struct {
	id       string
	enabled  bool
	li       uint8 // 0 null, 1 true, 2 false, 3 missing
	meta     uint8
	values   []pref
	channels []channel // deprecated, nil = absent
	prefs    []pref    // deprecated preferences[], nil = absent
}

type consents struct {
	hasPurposes bool
	purposes    []purpose
	hasVendors  bool
	vendors     [4][]string // enabled, disabled, enabled_li, disabled_li
	hasChannels bool
	channels    []channel
	tcfKind     uint8 // 0 value, 1 null, 2 missing
	tcfcs       string
}

type userRec struct {
	id          string
	ouid        string
	ouidKind    uint8 // 0 value, 1 null, 2 missing
	version     int
	created     time.Time
	createdFmt  tsFormat
	updated     time.Time
	updatedFmt  tsFormat
	meta        []byte
	country     string // "" = null
	lastSeen    string // "" = null
	consents    consents
	extraKind   int // -1 none, else index in unknownUserKeys
	extraAtEnd  bool
	eventsFirst bool
	eventsKind  uint8 // when 0 events: 0 [], 1 missing, 2 null
}

type evRec struct {
	created, updated time.Time
	createdFmt       tsFormat
	updatedFmt       tsFormat
}

// lineInfo describes a good line, for EXPECTED.json.
type lineInfo struct {
	userPurposes  int
	events        int
	eventPurposes int
	proofs        int
	proofRefs     []proofRefGen
	delegates     int
	userExtra     bool
	eventsExtra   int
	offsetTS      int
	firstEvent    *eventSpot
}

type eventSpot struct {
	File       string `json:"file"`
	Line       int    `json:"line"`
	ID         string `json:"id"`
	UserID     string `json:"user_id"`
	CreatedAt  string `json:"created_at"`
	Status     string `json:"status"`
	Regulation string `json:"regulation"`
	Purposes   int    `json:"purposes"`
	Proofs     int    `json:"proofs"`
	Delegate   bool   `json:"delegate"`
}

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

// line renders one line (with its trailing newline) into g.w.b.
// defect is "" for a good line, else one of reasonCodes.
func (g *gen) line(defect string, forceOffset bool) lineInfo {
	var info lineInfo
	w := &g.w
	w.b = w.b[:0]
	variant := g.r.IntN(6)
	switch defect {
	case codeEmptyLine:
	case codeInvalidJSON:
		switch variant % 3 {
		case 0: // a real record cut short, at a character boundary
			g.newUser(g.nEvents(), false, false)
			g.record("", 0, &info)
			cut := len(w.b)/4 + g.r.IntN(len(w.b)/2)
			for cut > 1 && w.b[cut]&0xC0 == 0x80 {
				cut--
			}
			w.b = w.b[:cut]
		case 1:
			w.b = append(w.b, "not json at all"...)
		case 2:
			w.b = append(w.b, `{"user": {"id": "x"`...)
		}
		info = lineInfo{}
	case codeNotObject:
		w.b = append(w.b, []string{`[1,2,3]`, `"str"`, `42`, `true`, `null`, `[{"user":{"id":"a"}}]`}[variant]...)
	case codeMissingUser:
		switch variant % 3 {
		case 0:
			w.b = append(w.b, `{"events":[]}`...)
		case 1:
			w.b = append(w.b, `{}`...)
		case 2:
			g.newUser(1+g.r.IntN(2), false, false)
			w.obj()
			g.writeEvents("", 0, &info)
			w.endObj()
			info = lineInfo{}
		}
	case codeUserNotObject:
		w.b = append(w.b, []string{`{"user":"abc","events":[]}`, `{"user":[1,2],"events":[]}`, `{"user":42}`}[variant%3]...)
	default:
		g.newUser(g.nEvents(), forceOffset, defect == codeWrongType)
		g.record(defect, variant, &info)
		if defect != "" {
			info = lineInfo{}
		}
	}
	w.b = append(w.b, '\n')
	return info
}

func (g *gen) record(defect string, variant int, info *lineInfo) {
	w := &g.w
	w.obj()
	if g.u.eventsFirst {
		g.writeEvents(defect, variant, info)
		g.writeUser(defect, variant, info)
	} else {
		g.writeUser(defect, variant, info)
		g.writeEvents(defect, variant, info)
	}
	w.endObj()
}

// normTS is the form EXPECTED.json uses: RFC 3339, UTC, microseconds.
func normTS(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000Z")
}
