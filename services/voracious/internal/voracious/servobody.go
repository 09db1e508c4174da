package voracious

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"chaossuite.dev/voracious/internal/servo"
)

// parseServoBody reads a servo body in one pass: it checks that body is one JSON value (RFC
// 8259, as encoding/json accepts it, nesting at most 10000 deep) and takes from it what the
// original read, with the original's dict semantics: an object's keys are matched exactly and
// the last of a repeated key wins. It is the request path's decoder, where reflection-based
// decoding cost more than everything else voracious does per request; parseServoBodyRef in
// the tests is the same reading through encoding/json, and FuzzParseServoBody holds the two to
// the same answers.
//
// A body that is null decodes to the empty request (no event); any other value but an object
// is an error, as are an event that is neither a string nor null and a param that is neither
// an object nor null.
func parseServoBody(body []byte) (ServoRequest, error) {
	var req ServoRequest
	p := jsonScanner{b: body}
	p.space()
	if p.literal("null") {
		p.space()
		if p.i != len(p.b) {
			return req, p.fail("data after the value")
		}
		return req, nil
	}
	if !p.peek('{') {
		if err := p.value(0); err != nil {
			return req, err
		}
		return req, fmt.Errorf("the body must be a JSON object")
	}
	var progress []byte
	err := p.members(0, func(key []byte, escaped bool) error {
		switch {
		case p.keyIs(key, escaped, "event"):
			start := p.i
			if p.literal("null") {
				req.Event = "" // the original's pydantic refuses a null event: no event
				return nil
			}
			if !p.peek('"') {
				if err := p.value(1); err != nil {
					return err
				}
				return fmt.Errorf("event must be a string, got %s", clip(p.b[start:p.i]))
			}
			s, esc, err := p.str()
			if err != nil {
				return err
			}
			req.Event = eventName(&p, s, esc)
		case p.keyIs(key, escaped, "param"):
			if p.literal("null") {
				req.Param, progress = nil, nil
				return nil
			}
			if !p.peek('{') {
				start := p.i
				if err := p.value(1); err != nil {
					return err
				}
				return fmt.Errorf("param must be an object or null, got %s", clip(p.b[start:p.i]))
			}
			req.Param, progress = &ServoParam{}, nil
			return p.members(1, func(key []byte, escaped bool) error {
				start := p.i
				if err := p.value(2); err != nil {
					return err
				}
				if p.keyIs(key, escaped, "progress") {
					progress = p.b[start:p.i]
				}
				return nil
			})
		default:
			return p.value(1)
		}
		return nil
	})
	if err != nil {
		return req, err
	}
	p.space()
	if p.i != len(p.b) {
		return req, p.fail("data after the value")
	}
	if req.Param != nil && progress != nil {
		if v, ok := pyIntJSON(progress); ok {
			req.Param.Progress = Progress{Set: true, Value: v}
		}
	}
	return req, nil
}

func clip(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

// maxJSONDepth is encoding/json's nesting limit.
const maxJSONDepth = 10000

// jsonScanner checks JSON text byte by byte.
type jsonScanner struct {
	b []byte
	i int
}

func (p *jsonScanner) fail(what string) error {
	if p.i >= len(p.b) {
		return fmt.Errorf("%s at the end of the body", what)
	}
	return fmt.Errorf("%s at byte %d (%q)", what, p.i, p.b[p.i])
}

func (p *jsonScanner) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonScanner) peek(c byte) bool { return p.i < len(p.b) && p.b[p.i] == c }

// literal consumes lit if it comes next.
func (p *jsonScanner) literal(lit string) bool {
	if len(p.b)-p.i >= len(lit) && string(p.b[p.i:p.i+len(lit)]) == lit {
		p.i += len(lit)
		return true
	}
	return false
}

// text returns a string token's value: the bytes themselves when they hold no escape and are
// valid UTF-8, else what encoding/json makes of them (escapes resolved, bad bytes as U+FFFD).
func (p *jsonScanner) text(raw []byte, escaped bool) string {
	if !escaped && utf8.Valid(raw) {
		return string(raw)
	}
	var s string
	q := make([]byte, 0, len(raw)+2)
	q = append(append(append(q, '"'), raw...), '"')
	_ = json.Unmarshal(q, &s) // scanned already: cannot fail
	return s
}

// keyIs reports whether a string token's value is want, without a copy when it has no escape.
func (p *jsonScanner) keyIs(raw []byte, escaped bool, want string) bool {
	if !escaped {
		return string(raw) == want
	}
	return p.text(raw, true) == want
}

// eventName is an event string's value, the protocol's own constant when it names an event.
func eventName(p *jsonScanner, raw []byte, escaped bool) string {
	if !escaped {
		if e := servo.ParseEvent(string(raw)); e != servo.EventOther {
			return e.String()
		}
	}
	return p.text(raw, escaped)
}

// members scans the object at p.i, whose parent container sits at depth, calling member with
// each key (the bytes between the quotes) once the colon is read; member consumes the value.
func (p *jsonScanner) members(depth int, member func(key []byte, escaped bool) error) error {
	if depth+1 > maxJSONDepth {
		return p.fail("nested too deep")
	}
	p.i++ // {
	p.space()
	if p.peek('}') {
		p.i++
		return nil
	}
	for {
		if !p.peek('"') {
			return p.fail("want a string key")
		}
		k, esc, err := p.str()
		if err != nil {
			return err
		}
		p.space()
		if !p.peek(':') {
			return p.fail("want a colon")
		}
		p.i++
		p.space()
		if err := member(k, esc); err != nil {
			return err
		}
		p.space()
		switch {
		case p.peek(','):
			p.i++
			p.space()
		case p.peek('}'):
			p.i++
			return nil
		default:
			return p.fail("want a comma or a closing brace")
		}
	}
}

// value scans any value whose container sits at depth.
func (p *jsonScanner) value(depth int) error {
	if p.i >= len(p.b) {
		return p.fail("want a value")
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return p.members(depth, func([]byte, bool) error { return p.value(depth + 1) })
	case c == '[':
		if depth+1 > maxJSONDepth {
			return p.fail("nested too deep")
		}
		p.i++
		p.space()
		if p.peek(']') {
			p.i++
			return nil
		}
		for {
			if err := p.value(depth + 1); err != nil {
				return err
			}
			p.space()
			switch {
			case p.peek(','):
				p.i++
				p.space()
			case p.peek(']'):
				p.i++
				return nil
			default:
				return p.fail("want a comma or a closing bracket")
			}
		}
	case c == '"':
		_, _, err := p.str()
		return err
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case p.literal("true"), p.literal("false"), p.literal("null"):
		return nil
	}
	return p.fail("want a value")
}

// str scans a string token and returns the bytes between its quotes and whether they hold an
// escape.
func (p *jsonScanner) str() ([]byte, bool, error) {
	p.i++ // "
	start := p.i
	escaped := false
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := p.b[start:p.i]
			p.i++
			return s, escaped, nil
		case c == '\\':
			escaped = true
			p.i++
			if p.i >= len(p.b) {
				return nil, false, p.fail("unfinished escape")
			}
			switch p.b[p.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.i++
			case 'u':
				p.i++
				for range 4 {
					if p.i >= len(p.b) || !isHex(p.b[p.i]) {
						return nil, false, p.fail("bad \\u escape")
					}
					p.i++
				}
			default:
				return nil, false, p.fail("bad escape")
			}
		case c < 0x20:
			return nil, false, p.fail("control character in a string")
		default:
			p.i++
		}
	}
	return nil, false, p.fail("unfinished string")
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *jsonScanner) number() error {
	if p.peek('-') {
		p.i++
	}
	switch {
	case p.peek('0'):
		p.i++
	case p.i < len(p.b) && p.b[p.i] >= '1' && p.b[p.i] <= '9':
		p.digits()
	default:
		return p.fail("bad number")
	}
	if p.peek('.') {
		p.i++
		if p.digits() == 0 {
			return p.fail("want a digit after the decimal point")
		}
	}
	if p.peek('e') || p.peek('E') {
		p.i++
		if p.peek('+') || p.peek('-') {
			p.i++
		}
		if p.digits() == 0 {
			return p.fail("want a digit in the exponent")
		}
	}
	return nil
}

func (p *jsonScanner) digits() int {
	n := 0
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
		n++
	}
	return n
}
