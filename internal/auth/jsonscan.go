package auth

// A small strict JSON scanner. It validates syntax (RFC 8259, UTF-8 only)
// and hands back the byte spans of values, so that the payload is checked in
// a single pass with exact (case-sensitive) member names and duplicate
// detection, which encoding/json does not offer.

import (
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// maxDepth bounds object/array nesting inside a token.
const maxDepth = 64

// Value kinds reported by scanValue.
const (
	kindNull   = 'z'
	kindBool   = 'b'
	kindNumber = 'n'
	kindString = 's'
	kindObject = 'o'
	kindArray  = 'a'
)

var (
	errSyntax  = errors.New("syntax error")
	errUTF8    = errors.New("invalid UTF-8 in JSON string")
	errTooDeep = errors.New("JSON nested too deeply")
)

func skipWS(d []byte, i int) int {
	for i < len(d) {
		switch d[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// scanString scans the string starting at d[i] == '"'. It returns the index
// after the closing quote and whether the string contains escapes.
func scanString(d []byte, i int) (int, bool, error) {
	i++
	esc := false
	for i < len(d) {
		c := d[i]
		switch {
		case c == '"':
			return i + 1, esc, nil
		case c == '\\':
			esc = true
			if i+1 >= len(d) {
				return 0, false, errSyntax
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(d) || !isHex(d[i+2]) || !isHex(d[i+3]) || !isHex(d[i+4]) || !isHex(d[i+5]) {
					return 0, false, errSyntax
				}
				i += 6
			default:
				return 0, false, errSyntax
			}
		case c < 0x20:
			return 0, false, errSyntax
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && size == 1 {
				return 0, false, errUTF8
			}
			i += size
		}
	}
	return 0, false, errSyntax
}

// scanNumber scans the number starting at d[i]; it reports whether the number
// is an integer (no fraction, no exponent).
func scanNumber(d []byte, i int) (int, bool, error) {
	if i < len(d) && d[i] == '-' {
		i++
	}
	if i >= len(d) {
		return 0, false, errSyntax
	}
	switch {
	case d[i] == '0':
		i++
	case '1' <= d[i] && d[i] <= '9':
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
	default:
		return 0, false, errSyntax
	}
	isInt := true
	if i < len(d) && d[i] == '.' {
		isInt = false
		i++
		start := i
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
		if i == start {
			return 0, false, errSyntax
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		isInt = false
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		start := i
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
		if i == start {
			return 0, false, errSyntax
		}
	}
	return i, isInt, nil
}

func scanLiteral(d []byte, i int, lit string) (int, error) {
	if len(d)-i < len(lit) || string(d[i:i+len(lit)]) != lit {
		return 0, errSyntax
	}
	return i + len(lit), nil
}

// scanValue scans any JSON value starting at d[i] (no leading whitespace)
// and returns the index after it and its kind.
func scanValue(d []byte, i, depth int) (int, byte, error) {
	if i >= len(d) {
		return 0, 0, errSyntax
	}
	switch c := d[i]; {
	case c == '"':
		end, _, err := scanString(d, i)
		return end, kindString, err
	case c == '{':
		if depth >= maxDepth {
			return 0, 0, errTooDeep
		}
		r := objReader{d: d, i: i}
		for {
			_, _, more, err := r.next()
			if err != nil {
				return 0, 0, err
			}
			if !more {
				return r.i, kindObject, nil
			}
			if r.i, _, err = scanValue(d, r.i, depth+1); err != nil {
				return 0, 0, err
			}
		}
	case c == '[':
		if depth >= maxDepth {
			return 0, 0, errTooDeep
		}
		r := arrReader{d: d, i: i}
		for {
			more, err := r.next()
			if err != nil {
				return 0, 0, err
			}
			if !more {
				return r.i, kindArray, nil
			}
			if r.i, _, err = scanValue(d, r.i, depth+1); err != nil {
				return 0, 0, err
			}
		}
	case c == 't':
		end, err := scanLiteral(d, i, "true")
		return end, kindBool, err
	case c == 'f':
		end, err := scanLiteral(d, i, "false")
		return end, kindBool, err
	case c == 'n':
		end, err := scanLiteral(d, i, "null")
		return end, kindNull, err
	case c == '-' || '0' <= c && c <= '9':
		end, _, err := scanNumber(d, i)
		return end, kindNumber, err
	}
	return 0, 0, errSyntax
}

// objReader walks the members of an object starting at d[i] == '{'. After
// next reports a member, r.i is the start of its value and the caller must
// set r.i to the index just past that value before calling next again.
type objReader struct {
	d       []byte
	i       int
	started bool
}

// next reads the next member name. key is the raw name without quotes; esc
// says it contains escapes (see decodeKey). more is false at the closing '}'.
func (r *objReader) next() (key []byte, esc bool, more bool, err error) {
	d := r.d
	if !r.started {
		r.started = true
		if r.i >= len(d) || d[r.i] != '{' {
			return nil, false, false, errSyntax
		}
		r.i = skipWS(d, r.i+1)
		if r.i < len(d) && d[r.i] == '}' {
			r.i++
			return nil, false, false, nil
		}
	} else {
		r.i = skipWS(d, r.i)
		if r.i >= len(d) {
			return nil, false, false, errSyntax
		}
		switch d[r.i] {
		case '}':
			r.i++
			return nil, false, false, nil
		case ',':
			r.i = skipWS(d, r.i+1)
		default:
			return nil, false, false, errSyntax
		}
	}
	if r.i >= len(d) || d[r.i] != '"' {
		return nil, false, false, errSyntax
	}
	start := r.i
	end, esc, err := scanString(d, r.i)
	if err != nil {
		return nil, false, false, err
	}
	r.i = skipWS(d, end)
	if r.i >= len(d) || d[r.i] != ':' {
		return nil, false, false, errSyntax
	}
	r.i = skipWS(d, r.i+1)
	return d[start+1 : end-1], esc, true, nil
}

// arrReader walks the elements of an array starting at d[i] == '['; it is
// used like objReader.
type arrReader struct {
	d       []byte
	i       int
	started bool
}

// next positions r.i at the next element; more is false at the closing ']'.
func (r *arrReader) next() (more bool, err error) {
	d := r.d
	if !r.started {
		r.started = true
		if r.i >= len(d) || d[r.i] != '[' {
			return false, errSyntax
		}
		r.i = skipWS(d, r.i+1)
		if r.i < len(d) && d[r.i] == ']' {
			r.i++
			return false, nil
		}
		return true, nil
	}
	r.i = skipWS(d, r.i)
	if r.i >= len(d) {
		return false, errSyntax
	}
	switch d[r.i] {
	case ']':
		r.i++
		return false, nil
	case ',':
		r.i = skipWS(d, r.i+1)
		return true, nil
	}
	return false, errSyntax
}

// decodeKey returns a member name as a string, resolving escapes.
func decodeKey(key []byte, esc bool) string {
	if !esc {
		return string(key)
	}
	return unescape(key)
}

// unescape decodes the body of an already validated JSON string containing
// escapes. The rare escaped form is left to encoding/json.
func unescape(body []byte) string {
	q := make([]byte, 0, len(body)+2)
	q = append(q, '"')
	q = append(q, body...)
	q = append(q, '"')
	var s string
	if json.Unmarshal(q, &s) != nil {
		return string(body) // unreachable: body was validated by scanString
	}
	return s
}

// stringValue returns the content of the validated JSON string d[start:end].
func stringValue(raw []byte, esc bool) string {
	body := raw[1 : len(raw)-1]
	if !esc {
		return string(body)
	}
	return unescape(body)
}
