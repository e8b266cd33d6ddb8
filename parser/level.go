package parser

import (
	"github.com/traceship/shipper"
)

// parseLevel maps a raw JSON level value to a Level: a name in any case
// (with slog's "+n"/"-n" offsets ignored), a number (syslog severities 0–7,
// bunyan/pino levels 10–60) or a number in a string.
func parseLevel(value []byte) (shipper.Level, bool) {
	if len(value) == 0 {
		return shipper.LevelUnknown, false
	}
	s := value
	if value[0] == '"' {
		s = value[1 : len(value)-1]
	}
	return levelFromText(s)
}

func levelFromText(s []byte) (shipper.Level, bool) {
	for len(s) > 0 && s[0] == ' ' {
		s = s[1:]
	}
	for len(s) > 0 && s[len(s)-1] == ' ' {
		s = s[:len(s)-1]
	}
	if len(s) == 0 {
		return shipper.LevelUnknown, false
	}
	if isDigit(s[0]) {
		n, ok := digits(s)
		if !ok || len(s) > 3 {
			return shipper.LevelUnknown, false
		}
		return levelFromNumber(n)
	}
	// slog writes levels between the named ones as "INFO+2", "DEBUG-4".
	for i := 1; i < len(s); i++ {
		if (s[i] == '+' || s[i] == '-') && i+1 < len(s) && isDigit(s[i+1]) {
			if _, ok := digits(s[i+1:]); ok {
				s = s[:i]
			}
			break
		}
	}
	var buf [16]byte
	if len(s) > len(buf) {
		return shipper.LevelUnknown, false
	}
	for i, c := range s {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	switch string(buf[:len(s)]) {
	case "trace", "trc", "verbose", "vrb", "finest", "finer", "t":
		return shipper.LevelTrace, true
	case "debug", "dbg", "fine", "config", "d":
		return shipper.LevelDebug, true
	case "info", "inf", "information", "informational", "notice", "i":
		return shipper.LevelInfo, true
	case "warn", "warning", "wrn", "w":
		return shipper.LevelWarn, true
	case "error", "err", "eror", "erro", "severe", "e":
		return shipper.LevelError, true
	case "fatal", "ftl", "panic", "dpanic", "critical", "crit", "alert", "emerg", "emergency", "f":
		return shipper.LevelFatal, true
	}
	return shipper.LevelUnknown, false
}

// levelFromNumber maps syslog severities (0 emergency … 7 debug) and
// bunyan/pino levels (10 trace, 20 debug, 30 info, 40 warn, 50 error,
// 60 fatal, values in between rounded down).
func levelFromNumber(n int) (shipper.Level, bool) {
	switch {
	case n <= 2:
		return shipper.LevelFatal, true
	case n == 3:
		return shipper.LevelError, true
	case n == 4:
		return shipper.LevelWarn, true
	case n == 5 || n == 6:
		return shipper.LevelInfo, true
	case n == 7:
		return shipper.LevelDebug, true
	case n < 10:
		return shipper.LevelUnknown, false
	case n < 20:
		return shipper.LevelTrace, true
	case n < 30:
		return shipper.LevelDebug, true
	case n < 40:
		return shipper.LevelInfo, true
	case n < 50:
		return shipper.LevelWarn, true
	case n < 60:
		return shipper.LevelError, true
	case n <= 100:
		return shipper.LevelFatal, true
	}
	return shipper.LevelUnknown, false
}
