package fhir

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"
)

// FHIR STU3 says strings SHOULD NOT hold characters below U+0020 but tab, CR
// and LF (datatypes, string). A JSON body can still carry one ("\u0000" is
// valid JSON), and PostgreSQL cannot store a NUL in text at all, so a request
// body holding one is refused as invalid rather than failing in the
// database. XML 1.0 cannot carry them, but the XML decoder's values are
// checked the same way.

// CheckStrings returns an error naming the first string element of r (its
// path, and the character) that holds a control character other than tab,
// CR or LF, or a noncharacter XML cannot carry, or is not valid UTF-8, or
// the first integer beyond FHIR's 32 bits. The strict decoders apply it; a resource
// decoded otherwise (a token's claims) can be checked with it. It allocates
// nothing unless it finds one: it runs on every request's token.
func CheckStrings(r Resource) error {
	if isNilResource(r) {
		return nil
	}
	if e := walkStrings(reflect.ValueOf(r)); e != nil {
		slices.Reverse(e.path)
		return fmt.Errorf("fhir: %s%s %s", r.GetResourceType(), strings.Join(e.path, ""), e.what)
	}
	return nil
}

// badString is the string CheckStrings found; path is filled in, innermost
// element first, as the walk unwinds (".name" for an element, "[Type]" for
// a contained or wrapped resource).
type badString struct {
	path []string
	what string
}

func (e *badString) in(name string) *badString {
	e.path = append(e.path, "."+name)
	return e
}

func walkStrings(v reflect.Value) *badString {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		var e *badString
		if raw, ok := v.Interface().(*RawResource); ok {
			var doc any
			if json.Unmarshal(raw.JSON, &doc) == nil { // else not ours to judge: the decoder kept it raw
				e = walkStrings(reflect.ValueOf(&doc).Elem())
			}
		} else {
			e = walkStrings(v.Elem())
		}
		if e != nil && v.Kind() == reflect.Interface {
			if r, ok := v.Interface().(Resource); ok {
				e.path = append(e.path, "["+r.GetResourceType()+"]") // a contained or wrapped resource
			}
		}
		return e
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			if e := walkStrings(v.Field(i)); e != nil {
				name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				if name == "" || name == "-" {
					name = f.Name
				}
				return e.in(name)
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return nil // raw bytes (json.RawMessage) are not FHIR strings
		}
		for i := range v.Len() {
			if e := walkStrings(v.Index(i)); e != nil {
				return e
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			k := fmt.Sprint(it.Key().Interface())
			if e := checkString(k); e != nil {
				return e
			}
			if e := walkStrings(it.Value()); e != nil {
				return e.in(k)
			}
		}
	case reflect.String:
		return checkString(v.String())
	case reflect.Int:
		// FHIR's integer types are 32-bit (integer, unsignedInt, positiveInt);
		// Go's int would hold a larger value and return it as sent.
		if n := v.Int(); n < math.MinInt32 || n > math.MaxInt32 {
			return &badString{what: fmt.Sprintf("is %d, beyond the 32-bit range of a FHIR integer", n)}
		}
	}
	return nil
}

// StringProblem says what keeps s from being a FHIR string value, such
// as "holds the control character U+0000, which FHIR strings should not"
// (the rule CheckStrings applies to a resource), or "" when nothing does.
func StringProblem(s string) string {
	if b := checkString(s); b != nil {
		return b.what
	}
	return ""
}

func checkString(s string) *badString {
	if !utf8.ValidString(s) {
		return &badString{what: "is not valid UTF-8"}
	}
	for _, c := range s {
		if c < 0x20 && c != '\t' && c != '\r' && c != '\n' {
			return &badString{what: fmt.Sprintf("holds the control character U+%04X, which FHIR strings should not", c)}
		}
		// Noncharacters XML 1.0 cannot carry: a value holding one could be
		// stored from JSON and then never be answered in XML.
		if c == 0xFFFE || c == 0xFFFF {
			return &badString{what: fmt.Sprintf("holds U+%04X, which is not a character (XML cannot carry it)", c)}
		}
	}
	return nil
}

// Problem is err's message as a consumer should read it: without the Go
// package prefixes ("fhir: ", "xml: ") that place the fault in this code
// and mean nothing to whoever sent the resource.
func Problem(err error) string {
	s := err.Error()
	for {
		t := strings.TrimPrefix(strings.TrimPrefix(s, "fhir: "), "xml: ")
		if t == s {
			return s
		}
		s = t
	}
}
