package parser

import (
	"strconv"
	"time"
)

// parseTimestamp reads a timestamp at the start of s: RFC 3339 and its
// relatives ("2006-01-02T15:04:05.999999999Z07:00" with 'T', 't' or ' '
// between date and time, '-' or '/' between date parts, '.' or ',' before
// the fraction, and a zone written Z, ±hh:mm, ±hhmm, ±hh, UTC or GMT,
// optionally after a space). A timestamp without a zone is in loc. It
// returns the time in UTC and the number of bytes read, or ok false.
//
// It is hand-written because time.Parse costs several times more, and it
// runs for almost every event.
func parseTimestamp(s []byte, loc *time.Location) (t time.Time, n int, ok bool) {
	if len(s) < 19 {
		return t, 0, false
	}
	sep := s[4]
	if (sep != '-' && sep != '/') || s[7] != sep || s[13] != ':' || s[16] != ':' {
		return t, 0, false
	}
	switch s[10] {
	case 'T', 't', ' ':
	default:
		return t, 0, false
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	hour, ok4 := digits(s[11:13])
	minute, ok5 := digits(s[14:16])
	sec, ok6 := digits(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) ||
		month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		hour > 23 || minute > 59 || sec > 59 {
		return t, 0, false
	}
	i := 19
	nsec := 0
	if i < len(s) && (s[i] == '.' || s[i] == ',') {
		i++
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if i-start < 9 {
				nsec = nsec*10 + int(s[i]-'0')
			}
			i++
		}
		if i == start {
			return t, 0, false
		}
		if d := i - start; d < 9 {
			nsec *= pow10[9-d]
		}
	}
	// The zone; text after the time that is not a zone is left unread.
	offset, zn, zoned := parseZone(s[i:])
	i += zn
	if !zoned && loc != time.UTC {
		return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc).UTC(), i, true
	}
	secs := daysSinceEpoch(year, month, day)*86400 + int64(hour*3600+minute*60+sec-offset)
	return time.Unix(secs, int64(nsec)).UTC(), i, true
}

// parseZone reads Z, ±hh:mm, ±hhmm, ±hh, UTC or GMT, optionally after one
// space, and returns the offset east of UTC in seconds and the bytes read.
func parseZone(s []byte) (offset, n int, ok bool) {
	j := 0
	if len(s) > 1 && s[0] == ' ' {
		j = 1
	}
	if j >= len(s) {
		return 0, 0, false
	}
	switch c := s[j]; {
	case c == 'Z' || (c == 'z' && j == 0):
		return 0, j + 1, true
	case c == '+' || c == '-':
		if j+3 > len(s) {
			return 0, 0, false
		}
		oh, okh := digits(s[j+1 : j+3])
		if !okh || oh > 23 {
			return 0, 0, false
		}
		k := j + 3
		om := 0
		switch {
		case k+3 <= len(s) && s[k] == ':' && isDigit(s[k+1]) && isDigit(s[k+2]):
			om, _ = digits(s[k+1 : k+3])
			k += 3
		case k+2 <= len(s) && isDigit(s[k]) && isDigit(s[k+1]):
			om, _ = digits(s[k : k+2])
			k += 2
		}
		if om > 59 {
			return 0, 0, false
		}
		offset = oh*3600 + om*60
		if c == '-' {
			offset = -offset
		}
		return offset, k, true
	case len(s)-j >= 3 && (string(s[j:j+3]) == "UTC" || string(s[j:j+3]) == "GMT"):
		return 0, j + 3, true
	}
	return 0, 0, false
}

var pow10 = [...]int{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func digits(p []byte) (int, bool) {
	n := 0
	for _, c := range p {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

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

// daysSinceEpoch is the number of days from 1970-01-01 to the date (the
// proleptic Gregorian calendar; Howard Hinnant's days_from_civil).
func daysSinceEpoch(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// epochUnit is the unit of a numeric timestamp.
type epochUnit uint8

const (
	unitGuess epochUnit = iota // by the number of integer digits
	unitS
	unitMs
	unitUs
	unitNs
)

// parseEpoch reads a whole number, or a number with a fraction, as a time
// since the Unix epoch. With unitGuess the unit follows from the number of
// integer digits: 9–10 seconds, 12–13 milliseconds, 15–16 microseconds,
// 18–19 nanoseconds (1973 to 2286); other lengths are not taken as times,
// so a duration or a counter in a "time" field is not mistaken for one.
func parseEpoch(s []byte, unit epochUnit) (time.Time, bool) {
	if len(s) == 0 {
		return time.Time{}, false
	}
	neg := false
	i := 0
	if s[0] == '-' {
		if unit == unitGuess {
			return time.Time{}, false
		}
		neg = true
		i++
	}
	start := i
	var whole int64
	for i < len(s) && isDigit(s[i]) {
		if i-start >= 19 {
			return time.Time{}, false
		}
		whole = whole*10 + int64(s[i]-'0')
		i++
	}
	nd := i - start
	if nd == 0 {
		return time.Time{}, false
	}
	var frac int64 // nanoseconds of the unit, scaled to 1e9
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && isDigit(s[i]) {
			if i-fs < 9 {
				frac = frac*10 + int64(s[i]-'0')
			}
			i++
		}
		if i == fs {
			return time.Time{}, false
		}
		if d := i - fs; d < 9 {
			frac *= int64(pow10[9-d])
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		return parseEpochFloat(s, unit)
	}
	if i != len(s) {
		return time.Time{}, false
	}
	if unit == unitGuess {
		switch nd {
		case 9, 10:
			unit = unitS
		case 12, 13:
			unit = unitMs
		case 15, 16:
			unit = unitUs
		case 18, 19:
			unit = unitNs
		default:
			return time.Time{}, false
		}
	}
	if neg {
		whole, frac = -whole, -frac
	}
	var sec, nsec int64
	switch unit {
	case unitS:
		sec, nsec = whole, frac
	case unitMs:
		sec, nsec = whole/1000, (whole%1000)*1e6+frac/1e3
	case unitUs:
		sec, nsec = whole/1e6, (whole%1e6)*1e3+frac/1e6
	case unitNs:
		sec, nsec = whole/1e9, whole%1e9
	}
	return time.Unix(sec, nsec).UTC(), true
}

// parseEpochFloat handles numbers in exponent notation (1.7322696e9),
// rare enough for strconv.
func parseEpochFloat(s []byte, unit epochUnit) (time.Time, bool) {
	f, err := strconv.ParseFloat(string(s), 64)
	if err != nil || f != f {
		return time.Time{}, false
	}
	if unit == unitGuess {
		switch {
		case f >= 1e8 && f < 1e10:
			unit = unitS
		case f >= 1e11 && f < 1e13:
			unit = unitMs
		case f >= 1e14 && f < 1e16:
			unit = unitUs
		case f >= 1e17 && f < 1e19:
			unit = unitNs
		default:
			return time.Time{}, false
		}
	}
	var ns float64
	switch unit {
	case unitS:
		ns = f * 1e9
	case unitMs:
		ns = f * 1e6
	case unitUs:
		ns = f * 1e3
	default:
		ns = f
	}
	if ns >= 9.2e18 || ns <= -9.2e18 {
		return time.Time{}, false
	}
	return time.Unix(0, int64(ns)).UTC(), true
}

// fallbackLayouts are tried, in order, on a string value the fast path did
// not read. They cost a time.Parse each, so only lines in these rarer
// formats pay for them.
var fallbackLayouts = []string{
	"02/Jan/2006:15:04:05 -0700", // common log format
	time.RFC1123Z,
	time.RFC1123,
	time.RFC850,
	time.UnixDate,
	time.RubyDate,
	time.ANSIC,
	"Jan _2 15:04:05.000000", // syslog (no year)
	"Jan _2 15:04:05.000",
	"Jan _2 15:04:05",
	"2006-01-02",
	"20060102T150405Z0700",
	"20060102T150405.999999999Z0700",
}

// parseTimeString reads the text of a string value with the fast path,
// then as an epoch number, then with the fallback layouts. A layout without
// a year takes the year of ref (the read time), or the year before when
// that would put the time more than a day in the future.
func parseTimeString(s []byte, loc *time.Location, ref time.Time) (time.Time, bool) {
	if t, n, ok := parseTimestamp(s, loc); ok && n == len(s) {
		return t, true
	}
	if len(s) > 0 && isDigit(s[0]) {
		if t, ok := parseEpoch(s, unitGuess); ok {
			return t, true
		}
	}
	if len(s) < 8 || len(s) > 64 {
		return time.Time{}, false
	}
	str := string(s)
	for _, layout := range fallbackLayouts {
		t, err := time.ParseInLocation(layout, str, loc)
		if err != nil {
			continue
		}
		return fixYear(t, loc, ref), true
	}
	return time.Time{}, false
}

func fixYear(t time.Time, loc *time.Location, ref time.Time) time.Time {
	if t.Year() != 0 {
		return t.UTC()
	}
	if ref.IsZero() {
		ref = time.Now()
	}
	y := ref.In(loc).Year()
	t2 := time.Date(y, t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
	if t2.After(ref.Add(24 * time.Hour)) {
		t2 = t2.AddDate(-1, 0, 0)
	}
	return t2.UTC()
}
