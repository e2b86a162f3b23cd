package audiencestudio

import "strings"

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
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "{") {
		if !strings.HasSuffix(s, "}") {
			return nil, false
		}
		s = strings.TrimSpace(s[1 : len(s)-1])
	} else if s == "" {
		return nil, false
	}
	flags := make([]Flag, 0, 6)
	for s != "" {
		end := strings.IndexAny(s, ",;&")
		entry := s
		if end >= 0 {
			entry, s = s[:end], s[end+1:]
			if strings.TrimSpace(s) == "" {
				return nil, false // trailing separator
			}
		} else {
			s = ""
		}
		sep := strings.IndexAny(entry, ":=")
		if sep < 0 {
			return nil, false
		}
		key, ok := unquote(strings.TrimSpace(entry[:sep]))
		if !ok || !isFlagKey(key) {
			return nil, false
		}
		val, ok := unquote(strings.TrimSpace(entry[sep+1:]))
		if !ok {
			return nil, false
		}
		var v int32
		switch {
		case val == "1" || strings.EqualFold(val, "true"):
			v = 1
		case val == "0" || strings.EqualFold(val, "false"):
			v = 0
		default:
			return nil, false
		}
		for _, f := range flags {
			if f.Key == key {
				return nil, false
			}
		}
		if len(flags) == maxFlags {
			return nil, false
		}
		flags = append(flags, Flag{Key: key, Value: v})
	}
	return flags, true
}

// unquote strips one pair of double quotes; a lone quote is an error.
func unquote(s string) (string, bool) {
	if strings.HasPrefix(s, `"`) || strings.HasSuffix(s, `"`) {
		if len(s) < 2 || !strings.HasPrefix(s, `"`) || !strings.HasSuffix(s, `"`) {
			return "", false
		}
		s = s[1 : len(s)-1]
		if strings.Contains(s, `"`) {
			return "", false
		}
	}
	return s, true
}

func isFlagKey(s string) bool {
	if s == "" || len(s) > 32 {
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
