package fhir

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestExtensionValueTypes: ValueTypes names every Value field of Extension by
// its JSON name, so a value type added to the struct cannot be missed there.
func TestExtensionValueTypes(t *testing.T) {
	typ := reflect.TypeOf(Extension{})
	n := 0
	for i := range typ.NumField() {
		f := typ.Field(i)
		if !strings.HasPrefix(f.Name, "Value") {
			continue
		}
		n++
		var e Extension
		v := reflect.ValueOf(&e).Elem().Field(i)
		v.Set(reflect.New(f.Type.Elem()))
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if got := e.ValueTypes(); !slices.Equal(got, []string{name}) {
			t.Errorf("%s set: ValueTypes() = %v, want [%s]", f.Name, got, name)
		}
	}
	if n < 11 {
		t.Fatalf("only %d Value fields seen", n)
	}
	if got := (&Extension{Extension: []Extension{{URL: "x"}}}).ValueTypes(); len(got) != 0 {
		t.Errorf("nested extensions only: %v", got)
	}
}
