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
	// A value of a type the struct does not hold still counts in a request
	// body, JSON or XML alike, nested too; a null one does not.
	for src, want := range map[string][]string{
		`{"url":"u","valueDate":"2026-12-10"}`:                                 {"valueDate"},
		`{"url":"u","valueString":"x","valueDecimal":1.5}`:                     {"valueString", "valueDecimal"},
		`{"url":"u","_valueTime":{"extension":[{"url":"v","valueCode":"c"}]}}`: {"valueTime"},
		`{"url":"u","valueDate":null}`:                                         nil,
	} {
		body := `{"resourceType":"Patient","extension":[{"url":"w","extension":[` + src + `]}]}`
		p, err := DecodeJSON([]byte(body), "Patient")
		if err != nil {
			t.Fatal(err)
		}
		noteOtherValues([]byte(body), p)
		if got := p.(*Patient).Extension[0].Extension[0].ValueTypes(); !slices.Equal(got, want) {
			t.Errorf("JSON %s: ValueTypes() = %v, want %v", src, got, want)
		}
	}
	r, err := DecodeJSONStrict([]byte(`{"resourceType":"Parameters","parameter":[{"name":"registerPatient","resource":{"resourceType":"Patient","extension":[{"url":"u","valueDate":"2026-12-10"}]}}]}`), "Parameters")
	if err != nil {
		t.Fatal(err)
	}
	if got := r.(*Parameters).Parameter[0].Resource.(*Patient).Extension[0].ValueTypes(); !slices.Equal(got, []string{"valueDate"}) {
		t.Errorf("JSON Parameters: ValueTypes() = %v", got)
	}
	p, err := DecodeXML([]byte(`<Patient xmlns="http://hl7.org/fhir"><extension url="u"><valueDate value="2026-12-10"/></extension></Patient>`), "Patient")
	if err != nil {
		t.Fatal(err)
	}
	if got := p.(*Patient).Extension[0].ValueTypes(); !slices.Equal(got, []string{"valueDate"}) {
		t.Errorf("XML valueDate: ValueTypes() = %v", got)
	}
	if got := (&Extension{Extension: []Extension{{URL: "x"}}}).ValueTypes(); len(got) != 0 {
		t.Errorf("nested extensions only: %v", got)
	}
}
