package didomi

import (
	"time"
)

// parseTime parses an ISO-8601 timestamp as vendors write it and returns
// it in Unix microseconds (UTC), and whether it had a zone. Accepted:
// RFC 3339 (what time.Parse(time.RFC3339Nano, ...) accepts: a zone Z or
// ±HH:MM, a fraction after '.' or ','), with a space instead of the 'T',
// any number of fractional digits (digits beyond microseconds truncated),
// and no zone at all (taken as UTC; zoned is false). The common forms are
// read here without allocating; anything else goes to time.Parse.
func parseTime(b []byte) (us int64, zoned bool, err error) {
	if us, zoned, ok := parseRFC3339Micros(b); ok {
		return us, zoned, nil
	}
	s := string(b)
	if len(s) > 10 && s[10] == ' ' {
		s = s[:10] + "T" + s[11:]
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err == nil {
		return t.UnixMicro(), true, nil
	}
	if t, err2 := time.Parse(time.RFC3339Nano, s+"Z"); err2 == nil {
		return t.UnixMicro(), false, nil
	}
	return 0, false, err
}

// parseRFC3339Micros is the fast path of parseTime, on the model of Go's
// parseRFC3339: YYYY-MM-DD(T| )HH:MM:SS[(.|,)digits][Z|±HH:MM], returning
// Unix microseconds. ok is false for anything it does not read; parseTime's
// slow path then decides.
func parseRFC3339Micros(s []byte) (us int64, zoned, ok bool) {
	if len(s) < len("2006-01-02T15:04:05") ||
		s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':' {
		return 0, false, false
	}
	ok = true
	num := func(b []byte, lo, hi int) int {
		x := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				ok = false
				return lo
			}
			x = x*10 + int(c-'0')
		}
		if x < lo || x > hi {
			ok = false
			return lo
		}
		return x
	}
	year := num(s[0:4], 0, 9999)
	month := num(s[5:7], 1, 12)
	day := num(s[8:10], 1, daysIn(month, year))
	hour := num(s[11:13], 0, 23)
	minute := num(s[14:16], 0, 59)
	sec := num(s[17:19], 0, 59)
	if !ok {
		return 0, false, false
	}
	s = s[19:]
	usec := 0
	if len(s) >= 2 && (s[0] == '.' || s[0] == ',') && isDigit(s[1]) {
		n := 1
		for n < len(s) && isDigit(s[n]) {
			n++
		}
		// Microseconds: the first six digits, the rest truncated.
		for i := 1; i <= 6; i++ {
			usec *= 10
			if i < n {
				usec += int(s[i] - '0')
			}
		}
		s = s[n:]
	}
	offset := 0
	zoned = true
	switch {
	case len(s) == 0:
		zoned = false
	case len(s) == 1 && s[0] == 'Z':
	case len(s) == len("+07:00") && (s[0] == '+' || s[0] == '-') && s[3] == ':':
		hh := num(s[1:3], 0, 23)
		mm := num(s[4:6], 0, 59)
		if !ok {
			return 0, false, false
		}
		offset = (hh*60 + mm) * 60
		if s[0] == '-' {
			offset = -offset
		}
	default:
		return 0, false, false
	}
	secs := daysSinceEpoch(year, month, day)*86400 + int64(hour*3600+minute*60+sec) - int64(offset)
	return secs*1_000_000 + int64(usec), zoned, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isLeap(year int) bool { return year%4 == 0 && (year%100 != 0 || year%400 == 0) }

// daysIn is the number of days of month (1-12) in year.
func daysIn(month, year int) int {
	switch month {
	case 2:
		if isLeap(year) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysSinceEpoch is the number of days from 1970-01-01 to the given date of
// the proleptic Gregorian calendar (negative before it).
func daysSinceEpoch(year, month, day int) int64 {
	// Howard Hinnant's days_from_civil.
	y := int64(year)
	if month <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	m := int64(month)
	var doy int64
	if m > 2 {
		doy = (153*(m-3)+2)/5 + int64(day) - 1
	} else {
		doy = (153*(m+9)+2)/5 + int64(day) - 1
	}
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}
