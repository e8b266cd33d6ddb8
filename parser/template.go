package parser

import (
	"github.com/traceship/shipper"
	"github.com/traceship/shipper/internal/jsonscan"
)

// renderTemplate renders a Serilog message template (the raw JSON string
// tmpl, from @mt) with the event's top-level properties, as Serilog does:
// "{Name}", "{@Name}", "{$Name}", "{Name:format}", "{Name,width}"; a string
// property appears in double quotes unless its format is "l"; "{{" and "}}"
// are literal braces; a hole without a property stays as written. It
// returns the rendered message as a JSON string in the batch's memory.
// At most maxHoles holes are filled, and filling stops once the message is
// twice the line's size: the rest of the template is kept as written.
func (s *state) renderTemplate(ms []shipper.Member, tmpl []byte) []byte {
	var buf [512]byte
	out := append(buf[:0], '"')
	t := tmpl[1 : len(tmpl)-1] // escaped contents
	holes := 0
	limit := 2*len(s.ev.Raw) + 64
	for i := 0; i < len(t); {
		if holes == maxHoles || len(out) > limit {
			// Each hole is a lookup among the members and a copy of a
			// value: bound the work and memory a hostile template can
			// cause. The rest stays as written.
			out = append(out, t[i:]...)
			break
		}
		c := t[i]
		switch {
		case c == '{' && i+1 < len(t) && t[i+1] == '{':
			out = append(out, '{')
			i += 2
			continue
		case c == '}' && i+1 < len(t) && t[i+1] == '}':
			out = append(out, '}')
			i += 2
			continue
		case c != '{':
			out = append(out, c)
			if c == '\\' && i+1 < len(t) {
				out = append(out, t[i+1])
				i++
			}
			i++
			continue
		}
		end := i + 1
		for end < len(t) && t[end] != '}' && t[end] != '{' && t[end] != '"' && t[end] != '\\' {
			end++
		}
		if end >= len(t) || t[end] != '}' {
			out = append(out, c)
			i++
			continue
		}
		hole := t[i+1 : end]
		name, format := hole, []byte(nil)
		if len(name) > 0 && (name[0] == '@' || name[0] == '$') {
			name = name[1:]
		}
		for j, hc := range name {
			if hc == ':' || hc == ',' {
				if hc == ':' {
					format = name[j+1:]
				}
				name = name[:j]
				break
			}
		}
		holes++
		v, ok := lookupMember(ms, name)
		if !ok {
			out = append(out, t[i:end+1]...)
			i = end + 1
			continue
		}
		if jsonscan.IsString(v) {
			if string(format) == "l" {
				out = append(out, v[1:len(v)-1]...)
			} else {
				out = append(out, '\\', '"')
				out = append(out, v[1:len(v)-1]...)
				out = append(out, '\\', '"')
			}
		} else {
			out = jsonscan.AppendEscaped(out, v)
		}
		i = end + 1
	}
	out = append(out, '"')
	return s.b.Append(out)
}

// maxHoles is the number of template holes rendered; real templates have a
// handful.
const maxHoles = 64

func lookupMember(ms []shipper.Member, name []byte) ([]byte, bool) {
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].Key != nil && string(ms[i].Key) == string(name) {
			return ms[i].Value, true
		}
	}
	return nil, false
}
