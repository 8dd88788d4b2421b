package fhir

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"
)

// FHIR STU3 strings match [ \r\n\t\S]+: no control character but tab, CR
// and LF. A JSON body can still carry one ("\u0000" is valid JSON), and
// PostgreSQL cannot store a NUL in text at all, so a request body holding one
// must be refused as invalid rather than fail in the database. XML 1.0
// cannot carry them, but the XML decoder's values are checked the same way.

// CheckStrings returns an error naming the first string element of r (its
// path, and the character) that holds a control character other than tab,
// CR or LF, or is not valid UTF-8. The strict decoders apply it; a resource decoded otherwise (a
// token's claims) can be checked with it.
func CheckStrings(r Resource) error {
	if isNilResource(r) {
		return nil
	}
	return walkStrings(reflect.ValueOf(r), r.GetResourceType())
}

func walkStrings(v reflect.Value, path string) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		if v.Kind() == reflect.Interface {
			if r, ok := v.Interface().(Resource); ok && !isNilResource(r) {
				path += "[" + r.GetResourceType() + "]" // a contained or wrapped resource
			}
		}
		if raw, ok := v.Interface().(*RawResource); ok {
			var doc any
			if err := json.Unmarshal(raw.JSON, &doc); err != nil {
				return nil // not ours to judge here; the decoder kept it raw
			}
			return walkStrings(reflect.ValueOf(&doc).Elem(), path)
		}
		return walkStrings(v.Elem(), path)
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
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
			if err := walkStrings(v.Field(i), path+"."+name); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return nil // raw bytes (json.RawMessage) are not FHIR strings
		}
		for i := range v.Len() {
			if err := walkStrings(v.Index(i), path); err != nil {
				return err
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			k := fmt.Sprint(it.Key().Interface())
			if err := checkString(k, path); err != nil {
				return err
			}
			if err := walkStrings(it.Value(), path+"."+k); err != nil {
				return err
			}
		}
	case reflect.String:
		return checkString(v.String(), path)
	}
	return nil
}

func checkString(s, path string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("fhir: %s is not valid UTF-8", path)
	}
	for _, c := range s {
		if c < 0x20 && c != '\t' && c != '\r' && c != '\n' {
			return fmt.Errorf("fhir: %s holds the control character U+%04X, which a FHIR string may not", path, c)
		}
	}
	return nil
}
