package audiencestudio

import (
	"bytes"
	"unicode/utf8"
)

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
	f, bad := cutRequestLine(line)
	if bad != nil {
		return Request{}, bad
	}
	// One allocation for every string of the line.
	all := string(line)
	str := func(b []byte) string {
		off := cap(line) - cap(b) // b is a subslice of line
		return all[off : off+len(b)]
	}
	r := Request{IDKind: f.kind, IDType: str(f.idType), IDValue: str(f.idValue), Action: str(f.action)}
	if len(f.pr) > 0 {
		r.PolicyRegime = NullString{str(f.pr), true}
	}
	if len(f.flags) > 0 {
		raw := str(f.flags)
		r.FlagsRaw = NullString{raw, true}
		r.Flags, r.FlagsValid = ParseFlags(raw)
	}
	if f.atValid {
		r.RequestedAt = NullInt64{f.at, true}
	}
	return r, nil
}

// requestFields is a request line cut into its fields and checked by the
// rules of ParseRequestLine; the slices point into the line, and an empty
// optional field is an empty slice. The request reader appends them to its
// Arrow builders as they are: a line that becomes a row allocates nothing.
type requestFields struct {
	kind                               string // IDKindDevice or IDKindBridgeKey
	idType, idValue, action, pr, flags []byte
	at                                 int64 // TS in microseconds, when atValid
	atValid                            bool
}

// cutRequestLine cuts and checks one request line (see ParseRequestLine).
func cutRequestLine(line []byte) (requestFields, *Reject) {
	var r requestFields
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) == 0 {
		return r, reject(ReasonEmptyLine, "empty line")
	}
	if !utf8.Valid(line) {
		return r, reject(ReasonInvalidUTF8, "line is not valid UTF-8")
	}
	if n := bytes.Count(line, []byte{'^'}); n != 6 {
		return r, reject(ReasonFieldCount, "found "+itoa(int64(n))+" '^' delimiters, want 6")
	}
	var f [7][]byte
	s := line
	for i := 0; i < 6; i++ {
		j := bytes.IndexByte(s, '^')
		f[i], s = s[:j], s[j+1:]
	}
	f[6] = s
	switch {
	case string(f[0]) == IDKindDevice || bytes.EqualFold(f[0], []byte(IDKindDevice)):
		r.kind = IDKindDevice
	case string(f[0]) == IDKindBridgeKey || bytes.EqualFold(f[0], []byte(IDKindBridgeKey)):
		r.kind = IDKindBridgeKey
	default:
		return r, reject(ReasonBadIDKind, "idt "+quote(string(f[0]))+" is neither device nor bk")
	}
	r.idType, r.idValue, r.action, r.pr, r.flags = f[1], f[2], f[3], f[4], f[5]
	if len(r.idType) == 0 {
		return r, reject(ReasonEmptyIDType, "ID type is empty")
	}
	if len(r.idValue) == 0 {
		return r, reject(ReasonEmptyIDValue, "ID value is empty")
	}
	if n := hashHexLen(r.idType); n > 0 && (len(r.idValue) != n || !isHex(r.idValue)) {
		return r, reject(ReasonBadHash, "ID type "+string(r.idType)+" wants "+itoa(int64(n))+" hex digits, got "+quote(string(r.idValue)))
	}
	if len(r.action) == 0 {
		return r, reject(ReasonEmptyAction, "action is empty")
	}
	if ts := f[6]; len(ts) > 0 {
		v, ok := parseUint(ts)
		if !ok {
			return r, reject(ReasonBadTimestamp, "TS "+quote(string(ts))+" is not an unsigned decimal integer")
		}
		if v < MinMicros || v >= MaxMicros {
			return r, reject(ReasonTimestampOutRange, "TS "+string(ts)+" µs is outside 2000-01-01..2100-01-01")
		}
		r.at, r.atValid = v, true
	}
	if string(r.action) != ActionPortability && !bytes.EqualFold(r.action, []byte(ActionPortability)) {
		switch {
		case len(r.pr) == 0:
			return r, reject(ReasonMissingPolicyRegime, "action "+quote(string(r.action))+" requires a policy regime")
		case len(r.flags) == 0:
			return r, reject(ReasonMissingFlags, "action "+quote(string(r.action))+" requires flags")
		case !r.atValid:
			return r, reject(ReasonMissingTimestamp, "action "+quote(string(r.action))+" requires a timestamp")
		}
	}
	return r, nil
}

// hashHexLen returns the number of hex digits an ID of type t must have, or
// 0 when t is not a hashed type.
func hashHexLen(t []byte) int {
	for _, h := range [...]struct {
		suffix string
		n      int
	}{{"_sha256", 64}, {"_sha1", 40}, {"_md5", 32}} {
		if len(t) > len(h.suffix) && bytes.EqualFold(t[len(t)-len(h.suffix):], []byte(h.suffix)) {
			return h.n
		}
	}
	return 0
}

func isHex(s []byte) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
