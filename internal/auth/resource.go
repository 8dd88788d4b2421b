package auth

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/slotbridge/slotbridge/fhir"
)

// schema is how a fhir struct type is decoded, derived from its json tags.
// Decoding the resource claims with it, rather than with encoding/json,
// takes one pass and is strict where FHIR is: element names match exactly
// (encoding/json ignores case), an element may not repeat and null is not a
// value. Types it does not model (json or text unmarshalers, maps, floats,
// embedded structs, ",string" fields) are handed to encoding/json with
// DisallowUnknownFields.
type schema struct {
	kind   int
	typ    reflect.Type
	names  map[string]int // struct: element name -> index in fields
	fields []field        // struct
	elem   *schema        // slice and pointer: element schema
	bits   int            // int: size in bits
}

type field struct {
	index int // Go field index
	s     *schema
}

const (
	schemaDelegate = iota // decoded by encoding/json
	schemaString
	schemaBool
	schemaInt
	schemaStruct
	schemaSlice
	schemaPointer
)

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// customJSON reports whether encoding/json would decode t through a method.
func customJSON(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return t.Implements(unmarshalerType) || pt.Implements(unmarshalerType) ||
		t.Implements(textUnmarshalerType) || pt.Implements(textUnmarshalerType)
}

func schemaOf(t reflect.Type) *schema {
	return buildSchema(t, map[reflect.Type]*schema{})
}

func buildSchema(t reflect.Type, seen map[reflect.Type]*schema) *schema {
	if s, ok := seen[t]; ok {
		return s
	}
	s := &schema{typ: t}
	seen[t] = s
	if t.Kind() != reflect.Pointer && customJSON(t) {
		return s // schemaDelegate
	}
	switch t.Kind() {
	case reflect.String:
		s.kind = schemaString
	case reflect.Bool:
		s.kind = schemaBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		s.kind, s.bits = schemaInt, t.Bits()
	case reflect.Pointer:
		s.kind, s.elem = schemaPointer, buildSchema(t.Elem(), seen)
	case reflect.Slice:
		if t.Elem().Kind() != reflect.Uint8 { // []byte is base64 in encoding/json
			s.kind, s.elem = schemaSlice, buildSchema(t.Elem(), seen)
		}
	case reflect.Struct:
		buildStruct(s, t, seen)
	}
	return s
}

// buildStruct fills in a struct schema, or leaves s as delegate when the
// struct uses encoding/json features this decoder does not model.
func buildStruct(s *schema, t reflect.Type, seen map[reflect.Type]*schema) {
	names := make(map[string]int, t.NumField())
	var fields []field
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous {
			return
		}
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(","+opts+",", ",string,") {
			return
		}
		if name == "" {
			name = f.Name
		}
		names[name] = len(fields)
		fields = append(fields, field{index: i, s: buildSchema(f.Type, seen)})
	}
	if len(fields) > 64 { // duplicate detection uses a uint64 bit set
		return
	}
	s.kind, s.names, s.fields = schemaStruct, names, fields
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

func typeError(d string, i int, want string) error {
	got := "number"
	switch d[i] {
	case '"':
		got = "string"
	case '{':
		got = "object"
	case '[':
		got = "array"
	case 't', 'f':
		got = "boolean"
	}
	return &elementError{msg: "must be a JSON " + want + ", not a JSON " + got}
}

// decodeValue decodes the value at d[i] into v (addressable) as described by
// s and returns the index past it. It validates the JSON it reads; the
// caller re-scans a failed value to tell a syntax error (BAD_REQUEST) from
// a FHIR fault (INVALID_RESOURCE).
func decodeValue(d string, i int, s *schema, v reflect.Value, depth int) (int, error) {
	if i >= len(d) {
		return 0, errSyntax
	}
	if d[i] == 'n' {
		return 0, errNull()
	}
	switch s.kind {
	case schemaString:
		if d[i] != '"' {
			return 0, typeError(d, i, "string")
		}
		end, esc, err := scanString(d, i)
		if err != nil {
			return 0, err
		}
		v.SetString(stringValue(d[i:end], esc))
		return end, nil
	case schemaBool:
		if d[i] != 't' && d[i] != 'f' {
			return 0, typeError(d, i, "boolean")
		}
		end, _, err := scanValue(d, i, depth)
		if err != nil {
			return 0, err
		}
		v.SetBool(d[i] == 't')
		return end, nil
	case schemaInt:
		if d[i] != '-' && (d[i] < '0' || d[i] > '9') {
			return 0, typeError(d, i, "integer")
		}
		end, isInt, err := scanNumber(d, i)
		if err != nil {
			return 0, err
		}
		if !isInt {
			return 0, &elementError{msg: "must be an integer"}
		}
		n, err := strconv.ParseInt(d[i:end], 10, s.bits)
		if err != nil {
			return 0, &elementError{msg: "integer out of range"}
		}
		v.SetInt(n)
		return end, nil
	case schemaPointer:
		p := reflect.New(s.elem.typ)
		end, err := decodeValue(d, i, s.elem, p.Elem(), depth)
		if err != nil {
			return 0, err
		}
		v.Set(p)
		return end, nil
	case schemaStruct:
		if d[i] != '{' {
			return 0, typeError(d, i, "object")
		}
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
				sh, valid := unmodelled(s, name)
				if !valid {
					return 0, &elementError{path: []string{clip(name)}, msg: "unknown element"}
				}
				if r.i, err = checkShape(d, r.i, sh, depth+1); err != nil {
					return 0, within(err, name)
				}
				continue
			}
			if seen&(1<<idx) != 0 {
				return 0, &elementError{path: []string{name}, msg: "duplicate element"}
			}
			seen |= 1 << idx
			f := s.fields[idx]
			if r.i, err = decodeValue(d, r.i, f.s, v.Field(f.index), depth+1); err != nil {
				return 0, within(err, name)
			}
		}
	case schemaSlice:
		if d[i] != '[' {
			return 0, typeError(d, i, "array")
		}
		if depth >= maxDepth {
			return 0, errTooDeep
		}
		r := arrReader{d: d, i: i}
		zero := reflect.Zero(s.elem.typ)
		for n := 0; ; n++ {
			more, err := r.next()
			if err != nil {
				return 0, err
			}
			if !more {
				if n == 0 { // [] is an empty, non-nil slice, as in encoding/json
					v.Set(reflect.MakeSlice(s.typ, 0, 0))
				}
				return r.i, nil
			}
			v.Set(reflect.Append(v, zero))
			if r.i, err = decodeValue(d, r.i, s.elem, v.Index(n), depth+1); err != nil {
				return 0, within(err, fmt.Sprintf("[%d]", n))
			}
		}
	}
	end, _, err := scanValue(d, i, depth)
	if err != nil {
		return 0, err
	}
	dec := json.NewDecoder(strings.NewReader(d[i:end]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v.Addr().Interface()); err != nil {
		return 0, &elementError{msg: strings.TrimPrefix(err.Error(), "json: ")}
	}
	return end, nil
}

// unmodelled reports whether name is an STU3 member of the complex type s
// models that the struct leaves out, and the JSON shape to check it for
// before it is skipped: every element may carry an id and extensions
// (Element.id, Element.extension), a primitive member may have its _name
// sibling, and an extension may have a value of a type the struct does not
// keep (valueDate, valueDecimal, ...). Refusing these would refuse valid
// claims, as a real consumer's name with an extension.
func unmodelled(s *schema, name string) (shape, bool) {
	switch {
	case name == "id":
		return shape{kind: kindString}, true
	case name == "extension":
		return shape{many: true, kind: kindObject}, true
	case strings.HasPrefix(name, "_"):
		idx, ok := s.names[name[1:]]
		if !ok {
			return shape{}, false
		}
		switch f := s.fields[idx].s; {
		case f.kind == schemaSlice && primitiveSchema(f.elem):
			return shape{many: true, kind: kindObject, nullItems: true}, true
		case primitiveSchema(f):
			return shape{kind: kindObject}, true
		}
	case s.typ == extensionType && len(name) > len("value") && strings.HasPrefix(name, "value"):
		return shape{kind: kindAny}, true
	}
	return shape{}, false
}

// primitiveSchema reports whether s decodes a JSON primitive (a FHIR
// primitive type, which may have a _name sibling).
func primitiveSchema(s *schema) bool {
	if s.kind == schemaPointer {
		s = s.elem
	}
	return s.kind == schemaString || s.kind == schemaBool || s.kind == schemaInt
}

var extensionType = reflect.TypeFor[fhir.Extension]()

// kindAny, as the kind wanted of a value, is any JSON value but null: an
// extension's value[x] of a type the struct does not keep.
const kindAny = '*'

// decodeResource decodes the resource claim (a JSON object at d[i]) into
// dst, which must point to the fhir struct def describes, checks that its
// resourceType is def.typ and returns the index past the object. Elements
// the struct models are decoded strictly; the other STU3 elements of the
// resource are checked for shape and skipped (see resourceDef). Every
// failure is INVALID_RESOURCE; a wrong or missing resourceType is reported
// in preference to other faults.
func decodeResource(claim, d string, i int, def *resourceDef, dst any) (int, *Error) {
	fail := func(err error) *Error {
		return invalidResource(claim + " is not a valid FHIR " + def.typ + ": " + fhir.Problem(err))
	}
	rv := reflect.ValueOf(dst).Elem()
	if rv.Type() != def.s.typ {
		panic("auth: decodeResource: " + def.typ + " is not decoded into " + rv.Type().String())
	}
	var (
		rt       string
		rtSet    bool
		firstErr error
		seen     uint64
	)
	r := objReader{d: d, i: i}
	for {
		key, esc, more, err := r.next()
		if err != nil {
			return 0, fail(err)
		}
		if !more {
			break
		}
		name := decodeKey(key, esc)
		if name == "resourceType" {
			if rtSet {
				return 0, fail(errors.New("duplicate resourceType"))
			}
			rtSet = true
			end, kind, err := scanValue(d, r.i, 1)
			if err != nil {
				return 0, fail(err)
			}
			if kind != kindString {
				return 0, fail(errors.New("resourceType must be a string"))
			}
			v := d[r.i:end]
			rt = stringValue(v, strings.IndexByte(v, '\\') >= 0)
			r.i = end
			continue
		}
		if firstErr == nil {
			m, known := def.members[name]
			switch {
			case !known:
				firstErr = &elementError{path: []string{clip(name)}, msg: "unknown element"}
			case seen&(1<<m.bit) != 0:
				firstErr = &elementError{path: []string{name}, msg: "duplicate element"}
			case m.refuse != "":
				firstErr = &elementError{path: []string{name}, msg: m.refuse}
			default:
				seen |= 1 << m.bit
				var end int
				if m.field >= 0 {
					f := def.s.fields[m.field]
					end, err = decodeValue(d, r.i, f.s, rv.Field(f.index), 1)
				} else {
					end, err = checkShape(d, r.i, m.shape, 1)
				}
				if err == nil {
					r.i = end
					continue
				}
				firstErr = within(err, name)
			}
		}
		end, _, err := scanValue(d, r.i, 1)
		if err != nil {
			return 0, fail(err)
		}
		r.i = end
	}
	if !rtSet {
		return 0, fail(errors.New("resourceType is missing"))
	}
	if rt != def.typ {
		return 0, invalidResource(fmt.Sprintf("%s must be a FHIR %s resource, got resourceType %q", claim, def.typ, clip(rt)))
	}
	if firstErr != nil {
		return 0, fail(firstErr)
	}
	if idx, ok := def.s.names["resourceType"]; ok {
		rv.Field(def.s.fields[idx].index).SetString(rt)
	}
	return r.i, nil
}

// checkShape checks that the value at d[i] has the JSON shape sh and
// returns the index past it. It is for elements the fhir structs do not
// model: their content is only scanned for syntax, not decoded or kept,
// because the nested types they use (Annotation, Narrative, contained
// resources, every value[x] of an extension, ...) are not modelled either
// and a partial model would refuse valid content.
func checkShape(d string, i int, sh shape, depth int) (int, error) {
	if !sh.many {
		return checkKind(d, i, sh.kind, false, depth)
	}
	end, kind, err := scanValue(d, i, depth)
	switch {
	case err != nil:
		return 0, err
	case kind == kindNull:
		return 0, errNull()
	case kind != kindArray:
		return 0, typeError(d, i, "array")
	}
	r := arrReader{d: d, i: i}
	for n := 0; ; n++ {
		more, err := r.next()
		if err != nil {
			return 0, err
		}
		if !more {
			return end, nil
		}
		if r.i, err = checkKind(d, r.i, sh.kind, sh.nullItems, depth+1); err != nil {
			return 0, within(err, fmt.Sprintf("[%d]", n))
		}
	}
}

// checkKind checks that the value at d[i] is of JSON kind want (or null
// when nullOK) and returns the index past it.
func checkKind(d string, i int, want byte, nullOK bool, depth int) (int, error) {
	end, kind, err := scanValue(d, i, depth)
	switch {
	case err != nil:
		return 0, err
	case kind == want, kind == kindNull && nullOK, want == kindAny && kind != kindNull:
		return end, nil
	case kind == kindNull:
		return 0, errNull()
	}
	return 0, typeError(d, i, kindNames[want])
}

// kindNames names the JSON kinds for messages.
var kindNames = map[byte]string{
	kindBool:   "boolean",
	kindNumber: "number",
	kindString: "string",
	kindObject: "object",
	kindArray:  "array",
}

// errNull is the fault of a null value: FHIR JSON never uses null for an
// absent element (only to pad the _name array of a repeating primitive).
func errNull() error {
	return &elementError{msg: "null is not allowed in FHIR JSON"}
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
