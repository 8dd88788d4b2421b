// Package jsonkind names, in JSON's terms, the value a Go type decodes
// from, so that a decoding error can be told to a caller without Go's type
// names (encoding/json's own messages name struct fields and types).
// Standard library only: the fhir package uses it.
package jsonkind

import "reflect"

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
