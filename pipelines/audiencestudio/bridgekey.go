package audiencestudio

import (
	"encoding/base64"
	"unicode"
	"unicode/utf8"
)

// Bridge keys in portability paths.
//
// The vendor drops a portability feed under
// .../portability/{requestID}/{date}/{data_source}/{bk}/{kuid}, where the
// {bk} segment is "the Base64 encoded Bridge Key (if request made at the
// bridge key level), otherwise this will contain the kuid". Nothing marks
// which of the two a segment holds, so DecodeBKPath decides by content.

// base64Encodings are tried in order. Strict decoding refuses non-zero
// padding bits, which an encoder never writes but random IDs often imply.
var base64Encodings = [...]*base64.Encoding{
	base64.StdEncoding.Strict(),
	base64.RawStdEncoding.Strict(),
	base64.URLEncoding.Strict(),
	base64.RawURLEncoding.Strict(),
}

// DecodeBKPath interprets the {bk} segment of a portability path. When the
// segment is the base64 (standard or URL-safe alphabet, padded or not) of
// printable text, it returns that text as bridgeKey and an empty kuidPath;
// otherwise it returns an empty bridgeKey and the segment as kuidPath.
//
// Printable text is non-empty, valid UTF-8, without U+FFFD, and made only of
// letters, marks, numbers, punctuation, symbols and the ASCII space
// (unicode.IsPrint), neither starting nor ending with a space.
//
// Guards against device IDs that happen to be valid base64 of printable
// bytes:
//   - a segment of at most 8 characters from the kuid alphabet
//     [A-Za-z0-9_-] stays a kuid: Audience Studio kuids look like
//     "LIDa_CtQ", and 8 characters decode to only 6 bytes, shorter than any
//     realistic bridge key;
//   - a segment shaped like a UUID (8-4-4-4-12 hex digits: IDFA, AAID)
//     stays a kuid;
//   - the decoded text must be at least 4 bytes long.
func DecodeBKPath(seg string) (bridgeKey, kuidPath string) {
	if seg == "" {
		return "", ""
	}
	if len(seg) <= 8 && isKUIDAlphabet(seg) || isUUID(seg) {
		return "", seg
	}
	if len(seg) > 4096 {
		return "", seg
	}
	var buf [3072]byte
	for _, enc := range base64Encodings {
		n, err := enc.Decode(buf[:], []byte(seg))
		if err != nil || n < 4 {
			continue
		}
		if isPrintableText(buf[:n]) {
			return string(buf[:n]), ""
		}
	}
	return "", seg
}

func isKUIDAlphabet(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

func isPrintableText(b []byte) bool {
	if len(b) == 0 || b[0] == ' ' || b[len(b)-1] == ' ' {
		return false
	}
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return false
		}
		b = b[size:]
	}
	return true
}
