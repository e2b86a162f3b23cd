// Package audiencestudio is the Salesforce Audience Studio pipelines: consent
// request files (uploads/consent-data/YYYY-MM-DD/*, plain, gzip or lzop with
// an optional hadoop-lzo index for parallel splits) become
// audiencestudio_requests, and data portability feeds
// (portability/REQUEST_ID/YYYY-MM-DD/DATA_SOURCE/BK/KUID) become
// audiencestudio_portability_events, each with its rejects table. The pure
// record parsers are request.go and flags.go (request lines), feed.go (feed
// records) and query.go (their query strings), with the reject codes and
// shared helpers here; paths.go is discovery, splitread.go the split-aware
// request reader, rows.go the Arrow row builders.
package audiencestudio

import (
	"strconv"
	"unicode/utf8"
)

// Reject reason codes. Every record that does not become a row carries one of
// them; they are stable identifiers for the rejects table, and Reason says
// what exactly was wrong.
const (
	// Shared by request lines and feed records.
	ReasonEmptyLine         = "empty_line"             // the line holds nothing but a line ending
	ReasonInvalidUTF8       = "invalid_utf8"           // the line is not valid UTF-8
	ReasonBadTimestamp      = "bad_timestamp"          // TS is not a decimal integer
	ReasonTimestampOutRange = "timestamp_out_of_range" // TS is outside 2000-01-01..2100-01-01 in every plausible unit

	// Request lines (idt^dt^idv^ACTION^PR^{FLAGS}^TS).
	ReasonFieldCount          = "field_count"           // not exactly six '^' delimiters
	ReasonBadIDKind           = "bad_id_kind"           // idt is neither "device" nor "bk"
	ReasonEmptyIDType         = "empty_id_type"         // dt (or bridge key type) is empty
	ReasonEmptyIDValue        = "empty_id_value"        // idv is empty
	ReasonBadHash             = "bad_hash"              // a *_sha256/*_sha1/*_md5 value is not hex of the right length
	ReasonEmptyAction         = "empty_action"          // ACTION is empty
	ReasonMissingPolicyRegime = "missing_policy_regime" // PR empty for an action other than portability
	ReasonMissingFlags        = "missing_flags"         // FLAGS empty for an action other than portability
	ReasonMissingTimestamp    = "missing_timestamp"     // TS empty for an action other than portability

	// Portability feed records (one JSON object per line).
	ReasonNotJSON        = "not_json"        // the line is not JSON
	ReasonNotObject      = "not_object"      // the JSON value is not an object
	ReasonMissingTS      = "missing_ts"      // TS is absent, null or "-"
	ReasonDuplicateField = "duplicate_field" // a modelled key appears twice
	ReasonBadFieldType   = "bad_field_type"  // an object or array where a scalar belongs
	ReasonBadResp        = "bad_resp"        // RESP is not an integer in 0..2^31-1
	ReasonBadRT          = "bad_rt"          // RT is not an integer in 0..2^31-1
	ReasonBadNewUser     = "bad_newuser"     // NEWUSER is not "0"/"1", 0/1 or a boolean
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

// Param is one key/value pair of a record's query string or click-tracking
// fields. Null is set when the vendor sent "-" or JSON null as the value.
type Param struct {
	Key   string
	Value string
	Null  bool
}
