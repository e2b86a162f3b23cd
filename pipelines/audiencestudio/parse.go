// Package audiencestudio is the Salesforce Audience Studio pipelines: consent
// request files (uploads/consent-data/YYYY-MM-DD/*, plain, gzip or lzop with
// an optional hadoop-lzo index for parallel splits) become
// audiencestudio_requests, and data portability feeds
// (portability/REQUEST_ID/YYYY-MM-DD/DATA_SOURCE/BK/KUID) become
// audiencestudio_portability_events, each with its rejects table. parse.go
// holds the pure record parsers, paths.go discovery, splitread.go the
// split-aware line reader, rows.go the Arrow row builders.
package audiencestudio

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fastjson"

	"github.com/vendorlake/vendorlake/transforms"
)

// Reject reason codes. Every record that does not become a row carries one of
// them; they are stable identifiers for the rejects table, and Reason says
// what exactly was wrong.
const (
	// Shared by request lines and feed records.
	RejectEmptyLine         = "empty_line"             // the line holds nothing but a line ending
	RejectInvalidUTF8       = "invalid_utf8"           // the line is not valid UTF-8
	RejectBadTimestamp      = "bad_timestamp"          // TS is not a decimal integer
	RejectTimestampOutRange = "timestamp_out_of_range" // TS is outside 2000-01-01..2100-01-01 in every plausible unit

	// Request lines (idt^dt^idv^ACTION^PR^{FLAGS}^TS).
	RejectFieldCount          = "field_count"           // not exactly six '^' delimiters
	RejectBadIDKind           = "bad_id_kind"           // idt is neither "device" nor "bk"
	RejectEmptyIDType         = "empty_id_type"         // dt (or bridge key type) is empty
	RejectEmptyIDValue        = "empty_id_value"        // idv is empty
	RejectBadHash             = "bad_hash"              // a *_sha256/*_sha1/*_md5 value is not hex of the right length
	RejectEmptyAction         = "empty_action"          // ACTION is empty
	RejectMissingPolicyRegime = "missing_policy_regime" // PR empty for an action other than portability
	RejectMissingFlags        = "missing_flags"         // FLAGS empty for an action other than portability
	RejectMissingTimestamp    = "missing_timestamp"     // TS empty for an action other than portability

	// Portability feed records (one JSON object per line).
	RejectNotJSON        = "not_json"        // the line is not JSON
	RejectNotObject      = "not_object"      // the JSON value is not an object
	RejectMissingTS      = "missing_ts"      // TS is absent, null or "-"
	RejectDuplicateField = "duplicate_field" // a modelled key appears twice
	RejectBadFieldType   = "bad_field_type"  // an object or array where a scalar belongs
	RejectBadResp        = "bad_resp"        // RESP is not an integer in 0..2^31-1
	RejectBadRT          = "bad_rt"          // RT is not an integer in 0..2^31-1
	RejectBadNewUser     = "bad_newuser"     // NEWUSER is not "0"/"1", 0/1 or a boolean
)

// Reject says why a record did not become a row.
type Reject struct {
	Code   string // one of the Reject* constants
	Reason string // human-readable detail
}

// Error implements error, so that a Reject can travel as one.
func (r *Reject) Error() string { return r.Code + ": " + r.Reason }

func reject(code, reason string) *Reject { return &Reject{Code: code, Reason: reason} }

// NullString is a string that may be null (Valid false).
type NullString struct {
	String string
	Valid  bool
}

// NullInt32 is an int32 that may be null (Valid false).
type NullInt32 struct {
	Int32 int32
	Valid bool
}

// NullInt64 is an int64 that may be null (Valid false).
type NullInt64 struct {
	Int64 int64
	Valid bool
}

// NullBool is a bool that may be null (Valid false).
type NullBool struct {
	Bool  bool
	Valid bool
}

// ID kinds of a request line's first field.
const (
	IDKindDevice    = "device" // the ID is a device ID; the second field names its type (kxcookie, idfa, ...)
	IDKindBridgeKey = "bk"     // the ID is a bridge key; the second field names its type (email_sha256, ...)
)

// ActionPortability is the request action that asks for a data portability feed.
const ActionPortability = "portability"

// Timestamp bounds, in microseconds since the Unix epoch: 2000-01-01T00:00:00Z
// inclusive to 2100-01-01T00:00:00Z exclusive. Anything outside is a unit
// mistake or garbage, not a consent request or beacon hit.
const (
	MinMicros int64 = 946684800_000000
	MaxMicros int64 = 4102444800_000000
)

// Request is one line of a consent request file, in the vendor's device form
// (device^kxcookie^abcdef123^portability^global^^1515471711277000) or
// bridge-key form (bk^email_sha256^<64 hex>^portability^^^).
//
// An empty optional field is null. Strings share one allocation per line.
type Request struct {
	IDKind       string     // IDKindDevice or IDKindBridgeKey, normalised to lower case
	IDType       string     // device ID type or bridge key type, as given
	IDValue      string     // the ID, as given
	Action       string     // as given (portability, set, remove, ...); compared case-insensitively
	PolicyRegime NullString // PR, e.g. "global", "gdpr"
	FlagsRaw     NullString // {FLAGS} exactly as given
	Flags        []Flag     // parsed flags, in input order; meaningful only when FlagsValid
	FlagsValid   bool       // FlagsRaw was present and parsed (see ParseFlags)
	RequestedAt  NullInt64  // TS, microseconds since the epoch, UTC
}

// ParseRequestLine parses one line of a consent request file. A trailing
// "\n" or "\r\n" is ignored; fields are not otherwise trimmed.
//
// The vendor's rules: exactly seven '^'-separated fields; idt is "device" or
// "bk" (accepted in any case); the ID type and value are non-empty; the
// action is non-empty and kept as given (unknown actions are accepted). For
// the portability action PR, FLAGS and TS are optional; for any other
// action the vendor makes them required, so an empty one is a reject.
// ID types ending in _sha256, _sha1 or _md5 must carry 64, 40 or 32 hex
// digits. TS is microseconds since the epoch, an unsigned decimal integer in
// [MinMicros, MaxMicros). FLAGS that ParseFlags cannot read are kept raw with
// FlagsValid false, not rejected: the vendor documents their format only by
// reference, and the raw text loses nothing.
func ParseRequestLine(line []byte) (Request, *Reject) {
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) == 0 {
		return Request{}, reject(RejectEmptyLine, "empty line")
	}
	if !utf8.Valid(line) {
		return Request{}, reject(RejectInvalidUTF8, "line is not valid UTF-8")
	}
	if n := bytes.Count(line, []byte{'^'}); n != 6 {
		return Request{}, reject(RejectFieldCount, "found "+itoa(int64(n))+" '^' delimiters, want 6")
	}
	s := string(line)
	var f [7]string
	for i := 0; i < 6; i++ {
		j := strings.IndexByte(s, '^')
		f[i], s = s[:j], s[j+1:]
	}
	f[6] = s

	var r Request
	switch {
	case strings.EqualFold(f[0], IDKindDevice):
		r.IDKind = IDKindDevice
	case strings.EqualFold(f[0], IDKindBridgeKey):
		r.IDKind = IDKindBridgeKey
	default:
		return Request{}, reject(RejectBadIDKind, "idt "+quote(f[0])+" is neither device nor bk")
	}
	r.IDType, r.IDValue, r.Action = f[1], f[2], f[3]
	if r.IDType == "" {
		return Request{}, reject(RejectEmptyIDType, "ID type is empty")
	}
	if r.IDValue == "" {
		return Request{}, reject(RejectEmptyIDValue, "ID value is empty")
	}
	if n := hashHexLen(r.IDType); n > 0 && (len(r.IDValue) != n || !isHex(r.IDValue)) {
		return Request{}, reject(RejectBadHash, "ID type "+r.IDType+" wants "+itoa(int64(n))+" hex digits, got "+quote(r.IDValue))
	}
	if r.Action == "" {
		return Request{}, reject(RejectEmptyAction, "action is empty")
	}
	if f[4] != "" {
		r.PolicyRegime = NullString{f[4], true}
	}
	if f[5] != "" {
		r.FlagsRaw = NullString{f[5], true}
		r.Flags, r.FlagsValid = ParseFlags(f[5])
	}
	if f[6] != "" {
		v, ok := parseUint(f[6])
		if !ok {
			return Request{}, reject(RejectBadTimestamp, "TS "+quote(f[6])+" is not an unsigned decimal integer")
		}
		if v < MinMicros || v >= MaxMicros {
			return Request{}, reject(RejectTimestampOutRange, "TS "+f[6]+" µs is outside 2000-01-01..2100-01-01")
		}
		r.RequestedAt = NullInt64{v, true}
	}
	if !strings.EqualFold(r.Action, ActionPortability) {
		switch {
		case !r.PolicyRegime.Valid:
			return Request{}, reject(RejectMissingPolicyRegime, "action "+quote(r.Action)+" requires a policy regime")
		case !r.FlagsRaw.Valid:
			return Request{}, reject(RejectMissingFlags, "action "+quote(r.Action)+" requires flags")
		case !r.RequestedAt.Valid:
			return Request{}, reject(RejectMissingTimestamp, "action "+quote(r.Action)+" requires a timestamp")
		}
	}
	return r, nil
}

// hashHexLen returns the number of hex digits an ID of type t must have, or
// 0 when t is not a hashed type.
func hashHexLen(t string) int {
	for _, h := range [...]struct {
		suffix string
		n      int
	}{{"_sha256", 64}, {"_sha1", 40}, {"_md5", 32}} {
		if len(t) > len(h.suffix) && strings.EqualFold(t[len(t)-len(h.suffix):], h.suffix) {
			return h.n
		}
	}
	return 0
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// parseUint parses an unsigned decimal integer of at most 18 digits (so it
// cannot overflow int64).
func parseUint[T string | []byte](s T) (int64, bool) {
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	var v int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}

// itoa formats a non-negative or negative int64 in decimal (for reasons only).
func itoa(v int64) string {
	var b [20]byte
	i := len(b)
	neg := v < 0
	u := uint64(v)
	if neg {
		u = uint64(-v)
	}
	for {
		i--
		b[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			break
		}
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// quote returns s as a Go string literal, shortened to 80 bytes, for reasons.
func quote(s string) string {
	const max = 80
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "…"
	}
	return strconv.Quote(s)
}

// DataSourceClick is the portability data source whose TS is in milliseconds.
const DataSourceClick = "click"

// KCTPrefix starts the keys of click-tracking fields in click records.
const KCTPrefix = "KCT_"

// Param is one key/value pair of a record's query string or click-tracking
// fields. Null is set when the vendor sent "-" or JSON null as the value.
type Param struct {
	Key   string
	Value string
	Null  bool
}

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
			st.reject = reject(RejectDuplicateField, "key "+fieldNames[i]+" appears twice")
			return
		}
		st.seen |= 1 << i
		sc, ok := st.toScalar(v)
		if !ok {
			st.reject = reject(RejectBadFieldType, fieldNames[i]+" is a JSON "+v.Type().String()+", want a string")
			return
		}
		st.fields[i] = sc
		return
	}
	if len(key) > len(KCTPrefix) && string(key[:len(KCTPrefix)]) == KCTPrefix {
		sc, ok := st.toScalar(v)
		if !ok {
			st.reject = reject(RejectBadFieldType, quote(string(key))+" is a JSON "+v.Type().String()+", want a string")
			return
		}
		k := key[len(KCTPrefix):]
		for i := 0; i < len(st.kctKeys); i += 2 {
			if bytes.Equal(st.kctKeys[i], k) {
				st.reject = reject(RejectDuplicateField, "key "+quote(string(key))+" appears twice")
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
	st.extra = transforms.AppendJSONString(st.extra, key)
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
		return FeedRecord{}, reject(RejectEmptyLine, "empty line")
	}
	if !utf8.Valid(line) {
		return FeedRecord{}, reject(RejectInvalidUTF8, "line is not valid UTF-8")
	}
	v, err := p.ParseBytes(line)
	if err != nil {
		return FeedRecord{}, reject(RejectNotJSON, err.Error())
	}
	o, err := v.Object()
	if err != nil {
		return FeedRecord{}, reject(RejectNotObject, "JSON value is a "+v.Type().String()+", want an object")
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
		return FeedRecord{}, reject(RejectMissingTS, "TS is absent, null or \"-\"")
	}
	raw, ok := parseUint(ts.text)
	if !ok {
		return FeedRecord{}, reject(RejectBadTimestamp, "TS "+quote(string(ts.text))+" is not an unsigned decimal integer")
	}
	if r.TS, ok = feedMicros(raw, isClick(dataSource)); !ok {
		return FeedRecord{}, reject(RejectTimestampOutRange, "TS "+string(ts.text)+" is outside 2000-01-01..2100-01-01 as seconds, milliseconds or microseconds")
	}
	if r.Resp, ok = parseInt32(st.fields[fRESP]); !ok {
		return FeedRecord{}, reject(RejectBadResp, "RESP "+quote(string(st.fields[fRESP].text))+" is not an integer in 0..2147483647")
	}
	if r.RT, ok = parseInt32(st.fields[fRT]); !ok {
		return FeedRecord{}, reject(RejectBadRT, "RT "+quote(string(st.fields[fRT].text))+" is not an integer in 0..2147483647")
	}
	if nu := st.fields[fNEWUSER]; nu.present {
		switch string(nu.text) {
		case "1", "true":
			r.NewUser = NullBool{true, true}
		case "0", "false":
			r.NewUser = NullBool{false, true}
		default:
			return FeedRecord{}, reject(RejectBadNewUser, "NEWUSER "+quote(string(nu.text))+" is not 0 or 1")
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

// ParseQuery decodes a beacon query string into parameters, in order:
//
//   - a leading '?' is dropped; pairs are separated by '&' (not ';');
//   - empty pairs (from "&&" or a trailing '&') and pairs with an empty key
//     are skipped; a pair without '=' has the value "";
//   - keys and values are form-decoded ('+' is a space, %XX a byte); a key or
//     value whose percent-encoding is malformed, or decodes to invalid UTF-8,
//     is kept exactly as sent;
//   - when a key repeats, the first value wins (as in Go's url.Values.Get and
//     the servlet getParameter); the raw query string keeps every value.
//     Unique keys keep the result a valid MAP for Athena and Spark.
func ParseQuery(qs string) []Param {
	var sb strings.Builder
	return parseQuery(qs, &sb)
}

func parseQuery(qs string, sb *strings.Builder) []Param {
	qs = strings.TrimPrefix(qs, "?")
	out := make([]Param, 0, strings.Count(qs, "&")+1)
	var seen map[string]struct{} // used once there are many keys
	for pair := range strings.SplitSeq(qs, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, v = formDecode(k, sb), formDecode(v, sb)
		if k == "" {
			continue
		}
		dup := false
		if seen != nil {
			_, dup = seen[k]
		} else {
			for i := range out {
				if out[i].Key == k {
					dup = true
					break
				}
			}
		}
		if dup {
			continue
		}
		out = append(out, Param{Key: k, Value: v})
		if seen != nil {
			seen[k] = struct{}{}
		} else if len(out) == 32 {
			seen = make(map[string]struct{}, 64)
			for i := range out {
				seen[out[i].Key] = struct{}{}
			}
		}
	}
	return out
}

// formDecode decodes s (application/x-www-form-urlencoded) into sb and
// returns the decoded string, or s itself when nothing needs decoding or the
// encoding is malformed.
func formDecode(s string, sb *strings.Builder) string {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s
	}
	start := sb.Len()
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			sb.WriteByte(' ')
		case '%':
			if i+2 >= len(s) || unhex(s[i+1]) < 0 || unhex(s[i+2]) < 0 {
				return s
			}
			sb.WriteByte(byte(unhex(s[i+1])<<4 | unhex(s[i+2])))
			i += 2
		default:
			sb.WriteByte(c)
		}
	}
	out := sb.String()[start:]
	if !utf8.ValidString(out) {
		return s
	}
	return out
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}
