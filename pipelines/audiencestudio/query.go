package audiencestudio

import (
	"strings"
	"unicode/utf8"
)

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
