package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/slotbridge/slotbridge/fhir"
)

// schema is the element layout of a fhir struct type, derived from its json
// tags. It lets the resource claims be checked for exact (case-sensitive)
// element names, duplicates and nulls before encoding/json decodes them.
type schema struct {
	kind  int            // schemaAny, schemaStruct or schemaSlice
	names map[string]int // struct: element name -> index in subs
	subs  []*schema      // struct: element schemas
	elem  *schema        // slice: element schema
}

const (
	schemaAny = iota
	schemaStruct
	schemaSlice
)

var (
	deviceSchema       = schemaOf(reflect.TypeFor[fhir.Device]())
	organizationSchema = schemaOf(reflect.TypeFor[fhir.Organization]())
	practitionerSchema = schemaOf(reflect.TypeFor[fhir.Practitioner]())
)

func schemaOf(t reflect.Type) *schema {
	return buildSchema(t, map[reflect.Type]*schema{})
}

func buildSchema(t reflect.Type, seen map[reflect.Type]*schema) *schema {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if s, ok := seen[t]; ok {
		return s
	}
	s := &schema{}
	seen[t] = s
	switch t.Kind() {
	case reflect.Struct:
		if t.NumField() > 64 {
			panic("auth: " + t.String() + " has too many fields for duplicate detection")
		}
		s.kind = schemaStruct
		s.names = make(map[string]int, t.NumField())
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			s.names[name] = len(s.subs)
			s.subs = append(s.subs, buildSchema(f.Type, seen))
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 { // json.RawMessage, []byte
			break
		}
		s.kind = schemaSlice
		s.elem = buildSchema(t.Elem(), seen)
	}
	return s
}

// elementError is a structural problem at a path inside a resource.
type elementError struct {
	path []string // outermost last
	msg  string
}

func (e *elementError) Error() string {
	var b strings.Builder
	for i := len(e.path) - 1; i >= 0; i-- {
		if b.Len() > 0 && !strings.HasPrefix(e.path[i], "[") {
			b.WriteByte('.')
		}
		b.WriteString(e.path[i])
	}
	if b.Len() == 0 {
		return e.msg
	}
	return "element " + b.String() + ": " + e.msg
}

func within(err error, seg string) error {
	var ee *elementError
	if errors.As(err, &ee) {
		ee.path = append(ee.path, seg)
		return ee
	}
	return err
}

// walk checks the value at d[i] against s and returns the index past it.
func walk(d []byte, i int, s *schema, depth int) (int, error) {
	if i < len(d) && d[i] == 'n' {
		return 0, &elementError{msg: "null is not allowed in FHIR JSON"}
	}
	switch {
	case s.kind == schemaStruct && i < len(d) && d[i] == '{':
		if depth >= maxDepth {
			return 0, errTooDeep
		}
		var seen uint64
		r := objReader{d: d, i: i}
		for {
			key, esc, more, err := r.next()
			if err != nil {
				return 0, err
			}
			if !more {
				return r.i, nil
			}
			name := decodeKey(key, esc)
			idx, ok := s.names[name]
			if !ok {
				return 0, &elementError{path: []string{clip(name)}, msg: "unknown element"}
			}
			if seen&(1<<idx) != 0 {
				return 0, &elementError{path: []string{name}, msg: "duplicate element"}
			}
			seen |= 1 << idx
			if r.i, err = walk(d, r.i, s.subs[idx], depth+1); err != nil {
				return 0, within(err, name)
			}
		}
	case s.kind == schemaSlice && i < len(d) && d[i] == '[':
		if depth >= maxDepth {
			return 0, errTooDeep
		}
		r := arrReader{d: d, i: i}
		for n := 0; ; n++ {
			more, err := r.next()
			if err != nil {
				return 0, err
			}
			if !more {
				return r.i, nil
			}
			if r.i, err = walk(d, r.i, s.elem, depth+1); err != nil {
				return 0, within(err, fmt.Sprintf("[%d]", n))
			}
		}
	}
	// A primitive, or a value of the wrong JSON type (left for encoding/json to report).
	end, _, err := scanValue(d, i, depth)
	return end, err
}

// decodeResource decodes the resource claim raw (a JSON object) into dst,
// which must be a pointer to the fhir struct described by s, and checks that
// its resourceType is want. Every failure is INVALID_RESOURCE.
func decodeResource(claim string, raw []byte, want string, s *schema, dst any) *Error {
	fail := func(format string, args ...any) *Error {
		return invalidResource(claim + " is not a valid FHIR " + want + ": " + fmt.Sprintf(format, args...))
	}
	var (
		rt       string
		rtSet    bool
		firstErr error
		seen     uint64
	)
	r := objReader{d: raw}
	for {
		key, esc, more, err := r.next()
		if err != nil {
			return fail("%v", err)
		}
		if !more {
			break
		}
		name := decodeKey(key, esc)
		idx, known := s.names[name]
		switch {
		case name == "resourceType":
			end, kind, err := scanValue(raw, r.i, 1)
			if err != nil {
				return fail("%v", err)
			}
			if rtSet {
				return fail("duplicate resourceType")
			}
			if kind != kindString {
				return fail("resourceType must be a string")
			}
			rtSet = true
			v := raw[r.i:end]
			rt = stringValue(v, bytes.IndexByte(v, '\\') >= 0)
			r.i = end
			continue
		case firstErr != nil:
		case !known:
			firstErr = &elementError{path: []string{clip(name)}, msg: "unknown element"}
		case seen&(1<<idx) != 0:
			firstErr = &elementError{path: []string{name}, msg: "duplicate element"}
		default:
			seen |= 1 << idx
			end, err := walk(raw, r.i, s.subs[idx], 1)
			if err == nil {
				r.i = end
				continue
			}
			firstErr = within(err, name)
		}
		end, _, err := scanValue(raw, r.i, 1)
		if err != nil {
			return fail("%v", err)
		}
		r.i = end
	}
	if !rtSet {
		return fail("resourceType is missing")
	}
	if rt != want {
		return invalidResource(fmt.Sprintf("%s must be a FHIR %s resource, got resourceType %q", claim, want, clip(rt)))
	}
	if firstErr != nil {
		return fail("%v", firstErr)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			if te.Field != "" {
				return fail("element %s has the wrong JSON type (%s)", te.Field, te.Value)
			}
			return fail("wrong JSON type (%s)", te.Value)
		}
		return fail("%v", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// clip shortens an untrusted value for use in an error message.
func clip(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && s[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
		cut--
	}
	return s[:cut] + "…"
}
