package estest

import (
	"strconv"
	"strings"
	"time"
)

// parseISODate parses Elasticsearch's strict_date_optional_time: a 4-digit
// year, then optionally -MM, -dd, and 'T' with HH[:mm[:ss[.fraction]]] and an
// optional offset (Z, ±HH, ±HHmm, ±HH:mm). A missing offset means UTC.
func parseISODate(s string) (time.Time, bool) {
	p := dateParser{s: s}
	year, ok := p.digits(4)
	if !ok {
		return time.Time{}, false
	}
	month, day := 1, 1
	hour, min, sec, nsec := 0, 0, 0, 0
	loc := time.UTC
	if p.eat('-') {
		if month, ok = p.digits(2); !ok || month < 1 || month > 12 {
			return time.Time{}, false
		}
		if p.eat('-') {
			if day, ok = p.digits(2); !ok || day < 1 || day > daysIn(year, month) {
				return time.Time{}, false
			}
			if p.eat('T') {
				if hour, ok = p.digits(2); !ok || hour > 23 {
					return time.Time{}, false
				}
				if p.eat(':') {
					if min, ok = p.digits(2); !ok || min > 59 {
						return time.Time{}, false
					}
					if p.eat(':') {
						if sec, ok = p.digits(2); !ok || sec > 59 {
							return time.Time{}, false
						}
						if p.eat('.') || p.eat(',') {
							n := 0
							for n < 9 && p.i < len(p.s) && isDigit(p.s[p.i]) {
								nsec = nsec*10 + int(p.s[p.i]-'0')
								p.i++
								n++
							}
							if n == 0 {
								return time.Time{}, false
							}
							for ; n < 9; n++ {
								nsec *= 10
							}
						}
					}
				}
				if l, ok := p.offset(); ok {
					loc = l
				} else {
					return time.Time{}, false
				}
			}
		}
	}
	if p.i != len(p.s) {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, min, sec, nsec, loc), true
}

type dateParser struct {
	s string
	i int
}

func (p *dateParser) digits(n int) (int, bool) {
	if p.i+n > len(p.s) {
		return 0, false
	}
	v := 0
	for k := 0; k < n; k++ {
		c := p.s[p.i+k]
		if !isDigit(c) {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	p.i += n
	return v, true
}

func (p *dateParser) eat(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *dateParser) offset() (*time.Location, bool) {
	if p.i == len(p.s) {
		return time.UTC, true
	}
	if p.eat('Z') {
		return time.UTC, true
	}
	sign := 1
	switch {
	case p.eat('+'):
	case p.eat('-'):
		sign = -1
	default:
		return nil, false
	}
	h, ok := p.digits(2)
	if !ok || h > 18 {
		return nil, false
	}
	m := 0
	if p.eat(':') {
		if m, ok = p.digits(2); !ok {
			return nil, false
		}
	} else if p.i+2 <= len(p.s) {
		if m, ok = p.digits(2); !ok {
			return nil, false
		}
	}
	if m > 59 {
		return nil, false
	}
	return time.FixedZone("", sign*(h*3600+m*60)), true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// parseSlashDate parses the second default dynamic date format,
// "yyyy/MM/dd HH:mm:ss Z||yyyy/MM/dd Z", with the time and zone optional as
// Elasticsearch accepts them ("2015/09/02" is detected as a date).
func parseSlashDate(s string) (time.Time, bool) {
	p := dateParser{s: s}
	y, ok1 := p.digits(4)
	ok2 := p.eat('/')
	mo, ok3 := p.digits(2)
	ok4 := p.eat('/')
	d, ok5 := p.digits(2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5) || mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) {
		return time.Time{}, false
	}
	h, mi, sec := 0, 0, 0
	if p.i < len(s) && s[p.i] == ' ' && p.i+3 < len(s) && s[p.i+3] == ':' {
		p.i++
		var ok bool
		if h, ok = p.digits(2); !ok || h > 23 || !p.eat(':') {
			return time.Time{}, false
		}
		if mi, ok = p.digits(2); !ok || mi > 59 || !p.eat(':') {
			return time.Time{}, false
		}
		if sec, ok = p.digits(2); !ok || sec > 59 {
			return time.Time{}, false
		}
	}
	loc := time.UTC
	if p.eat(' ') {
		l, ok := p.offset()
		if !ok {
			return time.Time{}, false
		}
		loc = l
	}
	if p.i != len(s) {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(mo), d, h, mi, sec, 0, loc), true
}

// parseEpoch parses epoch_millis / epoch_second text.
func parseEpoch(s string, unit time.Duration) (time.Time, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || strings.ContainsAny(s, "eE") || strings.TrimSpace(s) != s {
		return time.Time{}, false
	}
	return time.Unix(0, int64(f*float64(unit))).UTC(), true
}

// parseDate parses text with an Elasticsearch date format ("a||b"; empty
// means strict_date_optional_time||epoch_millis). known is false for
// formats the double does not implement (custom Java patterns): callers
// then accept the value rather than reject valid data.
func parseDate(format, text string, isString bool) (t time.Time, ok, known bool) {
	if format == "" {
		format = "strict_date_optional_time||epoch_millis"
	}
	known = true
	for _, f := range strings.Split(format, "||") {
		switch strings.TrimSpace(f) {
		case "strict_date_optional_time", "date_optional_time", "strict_date_optional_time_nanos", "iso8601",
			"strict_date_time", "date_time", "strict_date_time_no_millis", "date_time_no_millis", "strict_date", "date",
			"yyyy-MM-dd", "yyyy-MM-dd'T'HH:mm:ss.SSSZ", "yyyy-MM-dd'T'HH:mm:ssZ", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX":
			if isString {
				if t, ok := parseISODate(text); ok {
					return t, true, true
				}
			}
		case "epoch_millis":
			if t, ok := parseEpoch(text, time.Millisecond); ok {
				return t, true, true
			}
		case "epoch_second":
			if t, ok := parseEpoch(text, time.Second); ok {
				return t, true, true
			}
		case "yyyy/MM/dd HH:mm:ss Z", "yyyy/MM/dd Z", "yyyy/MM/dd HH:mm:ss", "yyyy/MM/dd":
			if t, ok := parseSlashDate(text); ok {
				return t, true, true
			}
		default:
			known = false
		}
	}
	return time.Time{}, false, known
}

func dateMatches(format, text string, isString bool) bool {
	_, ok, known := parseDate(format, text, isString)
	return ok || !known
}
