package audiencestudio

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fastjson"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

// DataSourceClick is the portability data source whose TS is in milliseconds.
const DataSourceClick = "click"

// KCTPrefix starts the keys of click-tracking fields in click records.
const KCTPrefix = "KCT_"

// FeedRecord is one record of a data portability feed (pixel.gif,
// ad-impression.gif, click, event.gif, segment.gif, transaction.gif,
// heartbeat.gif, social.gif). The vendor writes "-" for a missing value;
// that, JSON null and an absent key all read as null (Valid false, nil
// slice). Nullable scalars are value+Valid pairs so that they append to Arrow
// builders without indirection. All strings of a record share one
// allocation.
type FeedRecord struct {
	TS          int64      // event time, microseconds since the epoch, UTC
	XFF         NullString // X-Forwarded-For as sent
	XFFChain    []string   // XFF split on ',' and trimmed, empty items dropped; nil when XFF is null
	IP          NullString // IP
	KUID        NullString // Krux user ID
	DNT         NullString // Do-Not-Track header
	UserAgent   NullString // UA
	Referrer    NullString // REF
	Host        NullString // HOST
	Path        NullString // PATH
	QueryString NullString // QS as sent, leading '?' included
	QueryParams []Param    // QS decoded (see ParseQuery); nil when QS is null
	Resp        NullInt32  // RESP, the HTTP status returned
	RT          NullInt32  // RT, the response time
	NewUser     NullBool   // NEWUSER
	Node        NullString // NODE, the beacon host that served the hit
	V           NullString // V, the log format version
	KCT         []Param    // KCT_* fields of click records, keys without the KCT_ prefix, in input order; nil when none
	Extra       NullString // JSON object of the keys not modelled above, in input order; null when none
}

// Indices of the modelled fields, for duplicate detection and collection.
const (
	fTS = iota
	fXFF
	fIP
	fKUID
	fDNT
	fUA
	fREF
	fHOST
	fPATH
	fQS
	fRESP
	fRT
	fNEWUSER
	fNODE
	fV
	numFields
)

var fieldNames = [numFields]string{"TS", "XFF", "IP", "KUID", "DNT", "UA", "REF", "HOST", "PATH", "QS", "RESP", "RT", "NEWUSER", "NODE", "V"}

func fieldIndex(key []byte) int {
	switch string(key) {
	case "TS":
		return fTS
	case "XFF":
		return fXFF
	case "IP":
		return fIP
	case "KUID":
		return fKUID
	case "DNT":
		return fDNT
	case "UA":
		return fUA
	case "REF":
		return fREF
	case "HOST":
		return fHOST
	case "PATH":
		return fPATH
	case "QS":
		return fQS
	case "RESP":
		return fRESP
	case "RT":
		return fRT
	case "NEWUSER":
		return fNEWUSER
	case "NODE":
		return fNODE
	case "V":
		return fV
	}
	return -1
}

// scalar is a JSON scalar reduced to text: the bytes of a string (unescaped),
// the literal of a number, or "true"/"false".
type scalar struct {
	text    []byte
	present bool // key seen with a non-null value
	number  bool // the JSON value was a number
}

// feedState collects a record's values during one Visit of the object.
type feedState struct {
	fields  [numFields]scalar
	seen    uint32
	nKCT    int
	kctLen  int
	extra   []byte // unmodelled keys, as JSON object members
	reject  *Reject
	kctKeys [][]byte // KCT keys (prefix stripped) and values, alternating; nil values are null
}

// toScalar reduces v to a scalar. ok is false for objects and arrays.
func (st *feedState) toScalar(v *fastjson.Value) (scalar, bool) {
	switch v.Type() {
	case fastjson.TypeString:
		b := v.GetStringBytes()
		if len(b) == 1 && b[0] == '-' {
			return scalar{}, true
		}
		return scalar{text: b, present: true}, true
	case fastjson.TypeNull:
		return scalar{}, true
	case fastjson.TypeNumber:
		return scalar{text: v.MarshalTo(nil), present: true, number: true}, true
	case fastjson.TypeTrue:
		return scalar{text: []byte("true"), present: true}, true
	case fastjson.TypeFalse:
		return scalar{text: []byte("false"), present: true}, true
	}
	return scalar{}, false
}

func (st *feedState) visit(key []byte, v *fastjson.Value) {
	if st.reject != nil {
		return
	}
	if i := fieldIndex(key); i >= 0 {
		if st.seen&(1<<i) != 0 {
			st.reject = reject(ReasonDuplicateField, "key "+fieldNames[i]+" appears twice")
			return
		}
		st.seen |= 1 << i
		sc, ok := st.toScalar(v)
		if !ok {
			st.reject = reject(ReasonBadFieldType, fieldNames[i]+" is a JSON "+v.Type().String()+", want a string")
			return
		}
		st.fields[i] = sc
		return
	}
	if len(key) > len(KCTPrefix) && string(key[:len(KCTPrefix)]) == KCTPrefix {
		sc, ok := st.toScalar(v)
		if !ok {
			st.reject = reject(ReasonBadFieldType, quote(string(key))+" is a JSON "+v.Type().String()+", want a string")
			return
		}
		k := key[len(KCTPrefix):]
		for i := 0; i < len(st.kctKeys); i += 2 {
			if bytes.Equal(st.kctKeys[i], k) {
				st.reject = reject(ReasonDuplicateField, "key "+quote(string(key))+" appears twice")
				return
			}
		}
		val := sc.text
		if !sc.present {
			val = nil
		} else if val == nil {
			val = []byte{}
		}
		st.kctKeys = append(st.kctKeys, k, val)
		st.kctLen += len(k) + len(val)
		return
	}
	if len(st.extra) == 0 {
		st.extra = append(st.extra, '{')
	} else {
		st.extra = append(st.extra, ',')
	}
	st.extra = lineparse.AppendJSONString(st.extra, key)
	st.extra = append(st.extra, ':')
	st.extra = v.MarshalTo(st.extra)
}

// ParseFeedRecord parses one line of a portability feed of the given data
// source (the {data_source} path segment: "pixel.gif", "click", ...). The
// caller owns p and may reuse it for the next line; the returned record does
// not refer to p's memory.
//
// Values are JSON strings in the vendor's examples. Other JSON scalars are
// accepted: a number or boolean in a string field is kept as its JSON text,
// numbers are accepted in TS, RESP and RT, and booleans or 0/1 in NEWUSER.
// An object or array where a modelled scalar belongs is a reject; unmodelled
// keys go to Extra whatever their type.
//
// TS is a decimal integer. The vendor writes seconds for most sources and
// milliseconds for click; the unit is chosen by magnitude, trying the
// source's documented unit first: the value must fall in 2000..2100 as
// seconds, milliseconds or microseconds. Those three windows do not overlap,
// so a 13-digit click TS is read as milliseconds whatever the source, and a
// 10-digit one as seconds.
func ParseFeedRecord(p *fastjson.Parser, line []byte, dataSource string) (FeedRecord, *Reject) {
	line = bytes.TrimRight(line, "\r\n")
	if len(bytes.TrimSpace(line)) == 0 {
		return FeedRecord{}, reject(ReasonEmptyLine, "empty line")
	}
	if !utf8.Valid(line) {
		return FeedRecord{}, reject(ReasonInvalidUTF8, "line is not valid UTF-8")
	}
	v, err := p.ParseBytes(line)
	if err != nil {
		return FeedRecord{}, reject(ReasonNotJSON, err.Error())
	}
	o, err := v.Object()
	if err != nil {
		return FeedRecord{}, reject(ReasonNotObject, "JSON value is a "+v.Type().String()+", want an object")
	}
	var st feedState
	o.Visit(st.visit)
	if st.reject != nil {
		return FeedRecord{}, st.reject
	}
	var r FeedRecord

	// Numbers first: they reject without allocating.
	ts := st.fields[fTS]
	if !ts.present {
		return FeedRecord{}, reject(ReasonMissingTS, "TS is absent, null or \"-\"")
	}
	raw, ok := parseUint(ts.text)
	if !ok {
		return FeedRecord{}, reject(ReasonBadTimestamp, "TS "+quote(string(ts.text))+" is not an unsigned decimal integer")
	}
	if r.TS, ok = feedMicros(raw, isClick(dataSource)); !ok {
		return FeedRecord{}, reject(ReasonTimestampOutRange, "TS "+string(ts.text)+" is outside 2000-01-01..2100-01-01 as seconds, milliseconds or microseconds")
	}
	if r.Resp, ok = parseInt32(st.fields[fRESP]); !ok {
		return FeedRecord{}, reject(ReasonBadResp, "RESP "+quote(string(st.fields[fRESP].text))+" is not an integer in 0..2147483647")
	}
	if r.RT, ok = parseInt32(st.fields[fRT]); !ok {
		return FeedRecord{}, reject(ReasonBadRT, "RT "+quote(string(st.fields[fRT].text))+" is not an integer in 0..2147483647")
	}
	if nu := st.fields[fNEWUSER]; nu.present {
		switch string(nu.text) {
		case "1", "true":
			r.NewUser = NullBool{true, true}
		case "0", "false":
			r.NewUser = NullBool{false, true}
		default:
			return FeedRecord{}, reject(ReasonBadNewUser, "NEWUSER "+quote(string(nu.text))+" is not 0 or 1")
		}
	}

	// One arena for every string of the record. Decoded query parameters
	// are appended to it later; strings taken from it stay valid because a
	// strings.Builder never rewrites bytes it has handed out.
	strFields := [...]int{fXFF, fIP, fKUID, fDNT, fUA, fREF, fHOST, fPATH, fQS, fNODE, fV}
	size := st.kctLen
	for _, i := range strFields {
		size += len(st.fields[i].text)
	}
	size += len(st.fields[fQS].text) // room for decoded parameters
	var sb strings.Builder
	sb.Grow(size)
	var spans [numFields][2]int
	for _, i := range strFields {
		if st.fields[i].present {
			spans[i][0] = sb.Len()
			sb.Write(st.fields[i].text)
			spans[i][1] = sb.Len()
		}
	}
	kctStart := sb.Len()
	for i := 1; i < len(st.kctKeys); i += 2 {
		sb.Write(st.kctKeys[i-1])
		sb.Write(st.kctKeys[i])
	}
	all := sb.String()
	str := func(i int) NullString {
		if !st.fields[i].present {
			return NullString{}
		}
		return NullString{all[spans[i][0]:spans[i][1]], true}
	}
	r.XFF, r.IP, r.KUID, r.DNT = str(fXFF), str(fIP), str(fKUID), str(fDNT)
	r.UserAgent, r.Referrer, r.Host, r.Path = str(fUA), str(fREF), str(fHOST), str(fPATH)
	r.QueryString, r.Node, r.V = str(fQS), str(fNODE), str(fV)
	if r.XFF.Valid {
		r.XFFChain = splitXFF(r.XFF.String)
	}
	if n := len(st.kctKeys) / 2; n > 0 {
		r.KCT = make([]Param, n)
		pos := kctStart
		for i := range r.KCT {
			k, val := st.kctKeys[2*i], st.kctKeys[2*i+1]
			r.KCT[i].Key = all[pos : pos+len(k)]
			pos += len(k)
			r.KCT[i].Value = all[pos : pos+len(val)]
			r.KCT[i].Null = val == nil
			pos += len(val)
		}
	}
	if r.QueryString.Valid {
		r.QueryParams = parseQuery(r.QueryString.String, &sb)
	}
	if len(st.extra) > 0 {
		r.Extra = NullString{string(append(st.extra, '}')), true}
	}
	return r, nil
}

func isClick(dataSource string) bool {
	return strings.EqualFold(dataSource, DataSourceClick) || strings.EqualFold(dataSource, DataSourceClick+".gif")
}

// feedMicros converts a feed TS to microseconds, trying the source's unit
// first (milliseconds for click, else seconds), then the others.
func feedMicros(v int64, click bool) (int64, bool) {
	units := [3]int64{1_000_000, 1_000, 1}
	if click {
		units = [3]int64{1_000, 1_000_000, 1}
	}
	for _, m := range units {
		if v >= MinMicros/m && v < MaxMicros/m {
			return v * m, true
		}
	}
	return 0, false
}

// parseInt32 reads a non-negative int32 from a scalar; null stays null.
func parseInt32(s scalar) (NullInt32, bool) {
	if !s.present {
		return NullInt32{}, true
	}
	v, ok := parseUint(s.text)
	if !ok || v > 1<<31-1 {
		return NullInt32{}, false
	}
	return NullInt32{int32(v), true}, true
}

// splitXFF splits an X-Forwarded-For value into its hops.
func splitXFF(s string) []string {
	out := make([]string, 0, strings.Count(s, ",")+1)
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
