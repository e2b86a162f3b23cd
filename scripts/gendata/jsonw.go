package main

import (
	"strconv"
	"time"
)

// jw is a tiny append-only JSON writer. It inserts commas automatically:
// a value or key written right after '{', '[' or ':' gets no comma, anything
// else does. Keys are written in a fixed order by the caller, so the output is
// byte-for-byte deterministic and free of reflection.
type jw struct{ b []byte }

func (w *jw) sep() {
	if n := len(w.b); n > 0 {
		switch w.b[n-1] {
		case '{', '[', ':':
		default:
			w.b = append(w.b, ',')
		}
	}
}

func (w *jw) obj()    { w.sep(); w.b = append(w.b, '{') }
func (w *jw) endObj() { w.b = append(w.b, '}') }
func (w *jw) arr()    { w.sep(); w.b = append(w.b, '[') }
func (w *jw) endArr() { w.b = append(w.b, ']') }
func (w *jw) null()   { w.sep(); w.b = append(w.b, "null"...) }
func (w *jw) emptyObj() {
	w.sep()
	w.b = append(w.b, '{', '}')
}

func (w *jw) k(key string) {
	w.sep()
	w.b = appendStr(w.b, key)
	w.b = append(w.b, ':')
}

func (w *jw) s(v string) { w.sep(); w.b = appendStr(w.b, v) }
func (w *jw) i(v int64)  { w.sep(); w.b = strconv.AppendInt(w.b, v, 10) }
func (w *jw) f(v float64) {
	w.sep()
	w.b = strconv.AppendFloat(w.b, v, 'f', -1, 64)
}
func (w *jw) bl(v bool) { w.sep(); w.b = strconv.AppendBool(w.b, v) }

// raw appends an already-encoded JSON value.
func (w *jw) raw(v []byte) { w.sep(); w.b = append(w.b, v...) }

// strs writes an array of strings.
func (w *jw) strs(v []string) {
	w.arr()
	for _, s := range v {
		w.s(s)
	}
	w.endArr()
}

// ts writes a timestamp string in one of the formats Didomi uses.
func (w *jw) ts(t time.Time, f tsFormat) {
	w.sep()
	w.b = appendTS(w.b, t, f)
}

type tsFormat uint8

const (
	tsMillisZ  tsFormat = iota // 2024-03-01T10:15:30.123Z (the norm)
	tsOffset                   // 2024-03-01T12:15:30.123+02:00 (same instant, local offset)
	tsSecondsZ                 // 2024-03-01T10:15:30Z (no fraction)
)

var offsetZones = []*time.Location{
	time.FixedZone("", 2*3600),
	time.FixedZone("", 1*3600),
	time.FixedZone("", -5*3600),
	time.FixedZone("", 5*3600+1800),
	time.FixedZone("", -3*3600-1800),
}

func appendTS(b []byte, t time.Time, f tsFormat) []byte {
	b = append(b, '"')
	switch f {
	case tsOffset:
		// The zone is picked from the instant so that no extra randomness is needed.
		z := offsetZones[(t.UnixMilli()/7)%int64(len(offsetZones))]
		b = t.In(z).AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	case tsSecondsZ:
		b = t.UTC().AppendFormat(b, "2006-01-02T15:04:05Z07:00")
	default:
		b = t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	}
	return append(b, '"')
}

const hexdigits = "0123456789abcdef"

func appendStr(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexdigits[c>>4], hexdigits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
