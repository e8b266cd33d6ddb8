package shipper

// A line cut at a size limit (tail.max_line_bytes, a container runtime's
// partial lines over partial_max_bytes) may be cut through a card number or
// a token. The part before the cut then escapes the redaction rules, which
// recognise whole tokens: the first 15 digits of a card fail its checksum.
// TrimCutEnd finds where such a part must end so that no fragment of a
// secret leaves unredacted.

// maxCutToken bounds what is dropped: a card number with separators is at
// most 23 bytes; a token much longer than that is not a card, and dropping
// more would hide too much of a line.
const maxCutToken = 64

// TrimCutEnd returns p, which was cut at its end, without the token the cut
// went through. Digits with single spaces, dashes or '+' between them
// count as one token ("4111 1111 1111 11"), also when the cut falls just
// after a separator, since the card may go on (a "%20" between groups is
// part of the token anyway). A token longer than maxCutToken is kept.
func TrimCutEnd(p []byte) []byte {
	i := len(p)
	for i > 0 && len(p)-i <= maxCutToken {
		c := p[i-1]
		if isDigitByte(c) || cardSep(c) && i >= 2 && isDigitByte(p[i-2]) && (i == len(p) || isDigitByte(p[i])) {
			i--
			continue
		}
		break
	}
	for i > 0 && len(p)-i <= maxCutToken && !cutBoundary(p[i-1]) {
		i--
	}
	if len(p)-i > maxCutToken {
		return p
	}
	return p[:i]
}

// cutBoundary reports whether c ends a token. Neither '"' nor '\\' does, so
// that trimming JSON-escaped text never splits an escape sequence.
func cutBoundary(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', ',', ';', '(', ')', '[', ']', '{', '}', '<', '>', '=', ':', '&', '?', '/', '|', '\'':
		return true
	}
	return false
}

func isDigitByte(c byte) bool { return c-'0' < 10 }

// cardSep reports whether c may stand between the digit groups of a card
// number, as the redact package reads them.
func cardSep(c byte) bool { return c == ' ' || c == '-' || c == '+' }
