// Package jsonkind names, in JSON's terms, the value a Go type decodes
// from, so that a decoding error can be told to a caller without Go's type
// names (encoding/json's own messages name struct fields and types).
// Standard library only: the fhir package uses it.
package jsonkind

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
)

// Of names the JSON value that t decodes from: "a JSON string", "an
// integer in range", "a JSON array", and so on.
func Of(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "a different JSON value"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer in range"
	case reflect.Float32, reflect.Float64:
		return "a JSON number"
	case reflect.String:
		return "a JSON string"
	case reflect.Slice, reflect.Array:
		return "a JSON array"
	case reflect.Struct, reflect.Map:
		return "a JSON object"
	case reflect.Interface:
		return "a JSON object"
	}
	return "a different JSON value"
}

// DuplicateKey returns the first member name that an object of the JSON
// text repeats, with the path of that object ("" for the top level,
// "contained[0]", "participant[1].actor"), and whether there is one.
// Names are compared without case, as encoding/json matches them to
// fields: "status" and "STATUS" would both set one field, the last
// silently winning. Text that is not valid JSON reports none (the decoder
// says why it is not).
func DuplicateKey(data []byte) (name, path string, found bool) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var stack []string // the path, one part per level, joined only when a repeat is found
	name, found, _ = dupValue(d, &stack)
	if !found {
		return "", "", false
	}
	var b strings.Builder
	for _, p := range stack {
		if b.Len() > 0 && !strings.HasPrefix(p, "[") {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return name, b.String(), true
}

// dupValue reads one value; for objects and arrays it walks their members.
// On a repeat, stack is left as the path of the object that holds it.
func dupValue(d *json.Decoder, stack *[]string) (name string, found bool, err error) {
	tok, err := d.Token()
	if err != nil {
		return "", false, err
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return "", false, nil
	}
	switch delim {
	case '{':
		var seen map[string]bool
		for d.More() {
			kt, err := d.Token()
			if err != nil {
				return "", false, err
			}
			k, _ := kt.(string)
			if seen == nil {
				seen = map[string]bool{}
			}
			fold := strings.ToLower(k)
			if seen[fold] {
				return k, true, nil
			}
			seen[fold] = true
			*stack = append(*stack, k)
			if name, found, err = dupValue(d, stack); found || err != nil {
				return name, found, err
			}
			*stack = (*stack)[:len(*stack)-1]
		}
	case '[':
		for i := 0; d.More(); i++ {
			*stack = append(*stack, "["+strconv.Itoa(i)+"]")
			if name, found, err = dupValue(d, stack); found || err != nil {
				return name, found, err
			}
			*stack = (*stack)[:len(*stack)-1]
		}
	}
	_, err = d.Token() // the closing delimiter
	return "", false, err
}
