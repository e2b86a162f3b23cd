package audiencestudio

import (
	"encoding/base64"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bridge keys in portability paths.
//
// The vendor drops a portability feed under
// .../portability/{requestID}/{date}/{data_source}/{bk}/{kuid}, where {kuid}
// is the file and {bk} holds "Base64 encoded Bridge Key (if request made at
// the bridge key level), otherwise this will contain the kuid". The rule is
// applied as written, with no guess from the segment's content:
//
//   - {bk} is everything between the data source folder and the file; the
//     standard Base64 alphabet contains '/', so it may span several folders,
//     and the folders joined with '/' are the Base64 text;
//   - a {bk} equal to the kuid (the file name) is a device-level request;
//   - any other {bk} is a bridge key in Base64 (standard or URL-safe
//     alphabet, with or without '=' padding). It is kept as the decoded text
//     when that is text (see bridgeKeyText), and otherwise only raw, with a
//     warning (WarnBridgeKeyNotText).

// BKFolder is what the {bk} part of a portability path says.
type BKFolder struct {
	// Raw is {bk} exactly as in the path (its folders joined with '/').
	Raw string
	// DeviceLevel is set when Raw equals the kuid: no bridge key.
	DeviceLevel bool
	// BridgeKey is the decoded bridge key; empty when DeviceLevel or when
	// Raw does not decode to text.
	BridgeKey string
}

// Undecoded reports whether {bk} names a bridge key that could not be
// decoded to text.
func (b BKFolder) Undecoded() bool { return !b.DeviceLevel && b.BridgeKey == "" }

// ParseBKFolder applies the document's rule to the {bk} part raw of a path
// whose file (the kuid) is kuid.
func ParseBKFolder(raw, kuid string) BKFolder {
	b := BKFolder{Raw: raw}
	if raw == kuid {
		b.DeviceLevel = true
		return b
	}
	b.BridgeKey, _ = DecodeBridgeKey(raw)
	return b
}

// DecodeBridgeKey decodes the Base64 text s of a bridge key folder. The
// alphabet is standard unless s holds '-' or '_' (URL-safe); s is padded
// when it ends with '='. It returns the decoded text and true when s is
// Base64 of one alphabet and the result is text (see bridgeKeyText).
func DecodeBridgeKey(s string) (string, bool) {
	if s == "" || strings.ContainsAny(s, "\r\n") { // the decoders skip CR and LF
		return "", false
	}
	url := strings.ContainsAny(s, "-_")
	if url && strings.ContainsAny(s, "+/") {
		return "", false
	}
	var enc *base64.Encoding
	switch padded := strings.HasSuffix(s, "="); {
	case url && padded:
		enc = base64.URLEncoding
	case url:
		enc = base64.RawURLEncoding
	case padded:
		enc = base64.StdEncoding
	default:
		enc = base64.RawStdEncoding
	}
	b, err := enc.DecodeString(s)
	if err != nil || !bridgeKeyText(b) {
		return "", false
	}
	return string(b), true
}

// bridgeKeyText reports whether b is text that can be a bridge key:
// non-empty valid UTF-8 without control characters other than tab, line
// feed and carriage return (an encoder fed "key\n", as "echo key | base64"
// does, yields a key ending in a line feed; it is kept as decoded). Control
// characters (C0, DEL, C1) mark binary data, not an identifier.
func bridgeKeyText(b []byte) bool {
	if len(b) == 0 || !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
			return false
		}
	}
	return true
}
