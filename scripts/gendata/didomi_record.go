package main

import (
	"math/rand/v2"
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

// lineInfo describes a good line, for EXPECTED.json (of a bad line, only
// the proofs of the events a reader keeps).
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
			refs := info.proofRefs
			info = lineInfo{}
			if defect == codeEventNotObject {
				// A reader rejects only the bad event and keeps the
				// user and its other events: their proofs belong in
				// the partition's archive.
				info.proofRefs = refs
			}
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
