package audiencestudio

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Audience Studio's six consent flags, as named in the Consumer Rights
// Management glossary and in the JavaScript Consent Tag
// (Krux('consent:set', {dc: true, al: true, tg: true, cd: true, sh: true, re: true}, cb)).
const (
	FlagDataCollection   = "dc" // data collection
	FlagAnalytics        = "al" // analytics
	FlagTargeting        = "tg" // targeting / activation
	FlagCrossDevice      = "cd" // cross-device linking
	FlagDataSharing      = "sh" // sharing with third parties
	FlagReidentification = "re" // re-identification (PII-based matching)
)

// Flag is one consent flag of a request line: a key such as "dc" and its
// value, 1 (consent given) or 0 (refused).
type Flag struct {
	Key   string
	Value int32
}

// maxFlags bounds the number of flags ParseFlags accepts; the vendor defines
// six, so more than this is garbage.
const maxFlags = 64

// ParseFlags parses the {FLAGS} field of a request line. It accepts the JSON
// object form the vendor's braces suggest, {"dc":1,"al":0,...}, and the
// looser forms found in hand-made files:
//
//   - surrounding braces are optional;
//   - entries are separated by ',' ';' or '&', with optional blanks;
//   - an entry is key:value or key=value, the key optionally double-quoted,
//     made of ASCII letters, digits and '_';
//   - a value is 0 or 1, true or false (any case), optionally double-quoted.
//
// Keys are kept as given, in input order; keys outside the six documented
// ones are kept too. "{}" parses to zero flags. Anything else, or a key
// given twice, is unparseable: ParseFlags returns false and the caller keeps
// the raw text only.
func ParseFlags(s string) ([]Flag, bool) {
	var buf [maxFlags]flagOf[string]
	fs, ok := parseFlags(s, buf[:0])
	if !ok {
		return nil, false
	}
	flags := make([]Flag, len(fs))
	for i, f := range fs {
		flags[i] = Flag{Key: f.key, Value: f.val}
	}
	return flags, true
}

// flagOf is a parsed flag whose key points into the parsed text.
type flagOf[T string | []byte] struct {
	key T
	val int32
}

// parseFlags is ParseFlags over a string or the bytes of a line, appending
// to dst (of capacity maxFlags, so that it does not allocate).
func parseFlags[T string | []byte](s T, dst []flagOf[T]) ([]flagOf[T], bool) {
	s = trimSpace(s)
	if len(s) > 0 && s[0] == '{' {
		if s[len(s)-1] != '}' || len(s) < 2 {
			return nil, false
		}
		s = trimSpace(s[1 : len(s)-1])
	} else if len(s) == 0 {
		return nil, false
	}
	flags := dst[:0]
	for len(s) > 0 {
		end := indexSep(s, ',', ';', '&')
		entry := s
		if end >= 0 {
			entry, s = s[:end], s[end+1:]
			if len(trimSpace(s)) == 0 {
				return nil, false // trailing separator
			}
		} else {
			s = s[:0]
		}
		sep := indexSep(entry, ':', '=', ':')
		if sep < 0 {
			return nil, false
		}
		key, ok := unquote(trimSpace(entry[:sep]))
		if !ok || !isFlagKey(key) {
			return nil, false
		}
		val, ok := unquote(trimSpace(entry[sep+1:]))
		if !ok {
			return nil, false
		}
		var v int32
		switch {
		case len(val) == 1 && val[0] == '1' || strings.EqualFold(string(val), "true"):
			v = 1
		case len(val) == 1 && val[0] == '0' || strings.EqualFold(string(val), "false"):
			v = 0
		default:
			return nil, false
		}
		for _, f := range flags {
			if string(f.key) == string(key) {
				return nil, false
			}
		}
		if len(flags) == maxFlags {
			return nil, false
		}
		flags = append(flags, flagOf[T]{key: key, val: v})
	}
	return flags, true
}

// indexSep returns the index of the first of the three bytes in s, or -1.
func indexSep[T string | []byte](s T, a, b, c byte) int {
	for i := 0; i < len(s); i++ {
		if x := s[i]; x == a || x == b || x == c {
			return i
		}
	}
	return -1
}

// trimSpace is strings.TrimSpace for a string or bytes.
func trimSpace[T string | []byte](s T) T {
	i, j := 0, len(s)
	for i < j && isASCIISpace(s[i]) {
		i++
	}
	for j > i && isASCIISpace(s[j-1]) {
		j--
	}
	if i < j && (s[i] >= utf8.RuneSelf || s[j-1] >= utf8.RuneSelf) {
		// Unicode white space may follow or precede (U+0085, U+00A0, ...).
		str := string(s[i:j])
		t := strings.TrimLeftFunc(str, unicode.IsSpace)
		i += len(str) - len(t)
		j = i + len(strings.TrimRightFunc(t, unicode.IsSpace))
	}
	return s[i:j]
}

func isASCIISpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// unquote strips one pair of double quotes; a lone quote is an error.
func unquote[T string | []byte](s T) (T, bool) {
	q0, q1 := len(s) > 0 && s[0] == '"', len(s) > 0 && s[len(s)-1] == '"'
	if q0 || q1 {
		if len(s) < 2 || !q0 || !q1 {
			return s[:0], false
		}
		s = s[1 : len(s)-1]
		if indexSep(s, '"', '"', '"') >= 0 {
			return s[:0], false
		}
	}
	return s, true
}

func isFlagKey[T string | []byte](s T) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
