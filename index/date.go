package index

import (
	"fmt"
	"time"
)

type tokKind uint8

const (
	tokLiteral tokKind = iota
	tokYear4
	tokYear2
	tokMonth
	tokDay
	tokHour
	tokWeekYear4
	tokWeekYear2
	tokWeek
)

type dateToken struct {
	kind tokKind
	lit  string
}

// dateTokens are the Joda-style tokens Logstash users write in index names.
// Joda's Y (year of era) equals y for every year the agent will see, and
// Logstash configurations use both.
var dateTokens = map[string]tokKind{
	"yyyy": tokYear4, "YYYY": tokYear4,
	"yy": tokYear2, "YY": tokYear2,
	"MM":   tokMonth,
	"dd":   tokDay,
	"HH":   tokHour,
	"xxxx": tokWeekYear4,
	"xx":   tokWeekYear2,
	"ww":   tokWeek,
}

var dateTokenNames = []string{"yyyy", "YYYY", "yy", "YY", "MM", "dd", "HH", "xxxx", "xx", "ww"}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// parseDate parses the FORMAT of %{+FORMAT}.
func parseDate(f string) ([]dateToken, error) {
	if f == "" {
		return nil, fmt.Errorf("empty date format %%{+}")
	}
	var toks []dateToken
	addLit := func(s string) {
		if n := len(toks); n > 0 && toks[n-1].kind == tokLiteral {
			toks[n-1].lit += s
			return
		}
		toks = append(toks, dateToken{kind: tokLiteral, lit: s})
	}
	for i := 0; i < len(f); {
		c := f[i]
		switch {
		case c == '\'':
			end := -1
			for j := i + 1; j < len(f); j++ {
				if f[j] == '\'' {
					end = j
					break
				}
			}
			if end < 0 {
				return nil, fmt.Errorf("date format %q: quote at byte %d is not closed", f, i)
			}
			if end == i+1 {
				addLit("'")
			} else {
				addLit(f[i+1 : end])
			}
			i = end + 1
		case isLetter(c):
			j := i
			for j < len(f) && f[j] == c {
				j++
			}
			k, ok := dateTokens[f[i:j]]
			if !ok {
				return nil, fmt.Errorf("date format %q: unknown token %q (allowed: %s; quote literal letters as 'T')", f, f[i:j], quoteList(dateTokenNames))
			}
			toks = append(toks, dateToken{kind: k})
			i = j
		default:
			addLit(f[i : i+1])
			i++
		}
	}
	return toks, nil
}

// dateWidth is the bytes a formatted date takes (years 1000-9999).
func dateWidth(toks []dateToken) int {
	n := 0
	for _, t := range toks {
		switch t.kind {
		case tokLiteral:
			n += len(t.lit)
		case tokYear4, tokWeekYear4:
			n += 4
		default:
			n += 2
		}
	}
	return n
}

func appendDate(dst []byte, t time.Time, toks []dateToken) []byte {
	for _, tk := range toks {
		switch tk.kind {
		case tokLiteral:
			dst = append(dst, tk.lit...)
		case tokYear4:
			dst = appendInt(dst, t.Year(), 4)
		case tokYear2:
			dst = appendInt(dst, t.Year()%100, 2)
		case tokMonth:
			dst = appendInt(dst, int(t.Month()), 2)
		case tokDay:
			dst = appendInt(dst, t.Day(), 2)
		case tokHour:
			dst = appendInt(dst, t.Hour(), 2)
		case tokWeekYear4:
			y, _ := t.ISOWeek()
			dst = appendInt(dst, y, 4)
		case tokWeekYear2:
			y, _ := t.ISOWeek()
			dst = appendInt(dst, y%100, 2)
		case tokWeek:
			_, w := t.ISOWeek()
			dst = appendInt(dst, w, 2)
		}
	}
	return dst
}

// appendInt appends v zero-padded to width digits.
func appendInt(dst []byte, v, width int) []byte {
	if v < 0 {
		dst = append(dst, '-')
		v = -v
	}
	var buf [20]byte
	i := len(buf)
	for v > 0 || i > len(buf)-width {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	return append(dst, buf[i:]...)
}
