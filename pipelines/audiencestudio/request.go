package audiencestudio

import (
	"bytes"
	"strings"
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
