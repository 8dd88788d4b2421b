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

func skipWS(d string, i int) int {
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

// plainASCII marks the bytes a JSON string may hold without further
// checks: printable ASCII other than '"' and '\\'.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanString scans the string starting at d[i] == '"'. It returns the index
// after the closing quote and whether the string contains escapes.
func scanString(d string, i int) (int, bool, error) {
	i++
	esc := false
	for {
		for i < len(d) && plainASCII[d[i]] {
			i++
		}
		if i >= len(d) {
			return 0, false, errSyntax
		}
		switch c := d[i]; {
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
		default:
			r, size := utf8.DecodeRuneInString(d[i:])
			if r == utf8.RuneError && size == 1 {
				return 0, false, errUTF8
			}
			i += size
		}
	}
}

// scanNumber scans the number starting at d[i]; it reports whether the number
// is an integer (no fraction, no exponent).
func scanNumber(d string, i int) (int, bool, error) {
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

func scanLiteral(d string, i int, lit string) (int, error) {
	if len(d)-i < len(lit) || d[i:i+len(lit)] != lit {
		return 0, errSyntax
	}
	return i + len(lit), nil
}

// scanValue scans any JSON value starting at d[i] (no leading whitespace)
// and returns the index after it and its kind.
func scanValue(d string, i, depth int) (int, byte, error) {
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
	d       string
	i       int
	started bool
}

// next reads the next member name. key is the raw name without quotes; esc
// says it contains escapes (see decodeKey). more is false at the closing '}'.
func (r *objReader) next() (key string, esc bool, more bool, err error) {
	d := r.d
	if !r.started {
		r.started = true
		if r.i >= len(d) || d[r.i] != '{' {
			return "", false, false, errSyntax
		}
		r.i = skipWS(d, r.i+1)
		if r.i < len(d) && d[r.i] == '}' {
			r.i++
			return "", false, false, nil
		}
	} else {
		r.i = skipWS(d, r.i)
		if r.i >= len(d) {
			return "", false, false, errSyntax
		}
		switch d[r.i] {
		case '}':
			r.i++
			return "", false, false, nil
		case ',':
			r.i = skipWS(d, r.i+1)
		default:
			return "", false, false, errSyntax
		}
	}
	if r.i >= len(d) || d[r.i] != '"' {
		return "", false, false, errSyntax
	}
	start := r.i
	end, esc, err := scanString(d, r.i)
	if err != nil {
		return "", false, false, err
	}
	r.i = skipWS(d, end)
	if r.i >= len(d) || d[r.i] != ':' {
		return "", false, false, errSyntax
	}
	r.i = skipWS(d, r.i+1)
	return d[start+1 : end-1], esc, true, nil
}

// arrReader walks the elements of an array starting at d[i] == '['; it is
// used like objReader.
type arrReader struct {
	d       string
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

// decodeKey returns a member name, resolving escapes.
func decodeKey(key string, esc bool) string {
	if !esc {
		return key
	}
	return unescape(key)
}

// unescape decodes the body of an already validated JSON string containing
// escapes. The rare escaped form is left to encoding/json.
func unescape(body string) string {
	var s string
	if json.Unmarshal([]byte(`"`+body+`"`), &s) != nil {
		return body // unreachable: body was validated by scanString
	}
	return s
}

// stringValue returns the content of the validated JSON string raw
// (quotes included). Without escapes it is a substring of raw.
func stringValue(raw string, esc bool) string {
	body := raw[1 : len(raw)-1]
	if !esc {
		return body
	}
	return unescape(body)
}
