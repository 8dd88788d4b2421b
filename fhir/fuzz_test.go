package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// Run with, for example:
//
//	go test ./fhir -run XXX -fuzz FuzzDecodeXML -fuzztime 60s
//
// Seeds come from f.Add below (the realistic samples in testdata/stu3, in
// both encodings, plus edge cases) and from testdata/fuzz/<FuzzName>/.

// addSampleSeeds adds every testdata/stu3 sample, as JSON or as XML.
func addSampleSeeds(f *testing.F, asXML bool) {
	files, err := filepath.Glob(filepath.Join("testdata", "stu3", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no samples: %v", err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		if !asXML {
			f.Add(b)
			continue
		}
		r, err := UnmarshalResource(b)
		if err != nil {
			f.Fatal(err)
		}
		x, err := MarshalXML(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(x)
	}
}

// hasRawResource reports whether v holds a *RawResource anywhere.
func hasRawResource(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return false
		}
		if _, ok := v.Interface().(*RawResource); ok {
			return true
		}
		return hasRawResource(v.Elem())
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() && hasRawResource(v.Field(i)) {
				return true
			}
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			if hasRawResource(v.Index(i)) {
				return true
			}
		}
	}
	return false
}

func FuzzDecodeJSON(f *testing.F) {
	addSampleSeeds(f, false)
	for _, s := range []string{
		`{"resourceType":"Slot","id":"1","schedule":{"reference":"Schedule/1"},"status":"free","start":"2024-03-26T09:00:00+00:00","end":"2024-03-26T09:10:00+00:00"}`,
		`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Encounter","status":"planned","_status":{"id":"x"}}},{"resource":null},{"search":{"score":0.5}}]}`,
		`{"resourceType":"Appointment","contained":[{"resourceType":"Organization","id":"1"},{"resourceType":"Unknown","text":{"div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"/>"}}],"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>a</p></div>"}}`,
		`{"resourceType":"Parameters","parameter":[{"name":"a","part":[{"name":"b","valueBoolean":true,"resource":{"resourceType":"Patient","deceasedBoolean":true}}]}]}`,
		`{"resourceType":"Patient","name":[{"given":["","\u0001"]}],"telecom":[{"rank":-1}]}`,
		`{"resourceType":"OperationOutcome","issue":null}`,
		`{"resourceType":""}`,
		`[]`,
		`null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := UnmarshalResource(data)
		strictIn := false // the input itself passes the strict decoder
		if rt, perr := PeekResourceType(data); perr == nil {
			if _, derr := DecodeJSON(data, rt); (derr == nil) != (err == nil) {
				t.Fatalf("DecodeJSON and UnmarshalResource disagree: %v / %v", derr, err)
			}
			_, serr := DecodeJSONStrict(data, rt)
			if serr == nil && err != nil {
				t.Fatalf("DecodeJSONStrict accepted what DecodeJSON rejected: %v", err)
			}
			strictIn = serr == nil
		}
		if err != nil {
			return
		}
		// JSON: what decodes re-encodes, and re-encoding is a fixed point.
		j1, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("json.Marshal of a decoded resource: %v", err)
		}
		// What this package writes has no member its types lack, so the
		// strict decoder refuses it only for a control character in a
		// string, which FHIR does not allow, or for a required element or
		// an extension's value the input left empty.
		if _, raw := r.(*RawResource); !raw {
			// Own JSON may hold an empty element where the input left out a
			// required one (the structs write "issue":null then), or an
			// extension whose value type the structs do not keep; of a
			// strictly valid input, nothing else is refused.
			_, err := DecodeJSONStrict(j1, r.GetResourceType())
			if err != nil && strictIn && !errors.Is(err, ErrEmptyElement) {
				t.Fatalf("own JSON of a strictly valid input is refused: %v\n%s", err, j1)
			}
			// A contained resource of a type with no struct is kept as sent,
			// bytes and all (a misspelt resourceType, a repeated member,
			// bytes that are not UTF-8), for the strict decoder to judge.
			lenient := errors.Is(err, ErrEmptyElement) || errors.Is(err, ErrResourceTypeKey) || errors.Is(err, ErrInvalidExtension) ||
				hasRawResource(reflect.ValueOf(r))
			if !lenient && (err != nil) != (CheckStrings(r) != nil) {
				t.Fatalf("DecodeJSONStrict of own JSON: %v (CheckStrings: %v)\n%s", err, CheckStrings(r), j1)
			}
		}
		r2, err := UnmarshalResource(j1)
		if err != nil {
			t.Fatalf("re-decoding own JSON: %v\n%s", err, j1)
		}
		j2, err := json.Marshal(r2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(j1, j2) {
			t.Fatalf("JSON not stable\nfirst  %s\nsecond %s", j1, j2)
		}
		// XML: MarshalXML may refuse (characters XML cannot carry, a
		// narrative that is not XHTML, nesting deeper than 64), but what it
		// writes must decode, unless it holds a type with no struct.
		x, err := MarshalXML(r)
		if err != nil {
			return
		}
		r3, err := UnmarshalXML(x)
		if err != nil {
			if hasRawResource(reflect.ValueOf(r)) {
				return
			}
			t.Fatalf("decoding own XML: %v\n%s", err, x)
		}
		x2, err := MarshalXML(r3)
		if err != nil {
			t.Fatalf("re-encoding decoded XML: %v", err)
		}
		if !bytes.Equal(x, x2) {
			t.Fatalf("XML not stable\nfirst  %s\nsecond %s", x, x2)
		}
	})
}

func FuzzDecodeXML(f *testing.F) {
	addSampleSeeds(f, true)
	const ns = ` xmlns="http://hl7.org/fhir"`
	for _, s := range []string{
		`<?xml version="1.0" encoding="UTF-8"?><Slot` + ns + `><id value="1"/><schedule><reference value="Schedule/1"/></schedule><status value="free"/><start value="2024-03-26T09:00:00+00:00"/><end value="2024-03-26T09:10:00+00:00"/></Slot>`,
		`<f:Appointment xmlns:f="http://hl7.org/fhir" xmlns:h="http://www.w3.org/1999/xhtml"><f:text><f:status value="generated"/><h:div><h:p a="1">x<h:br/></h:p><![CDATA[<>]]></h:div></f:text><f:priority value="-0"/><f:minutesDuration value="20"/></f:Appointment>`,
		`<Bundle` + ns + `><type value="searchset"/><total value="2"/><entry><resource><Patient><name><given/><given value="x"/></name><deceasedBoolean value="true"/></Patient></resource><search><score value="1.5e3"/></search></entry></Bundle>`,
		`<Parameters` + ns + `><parameter><name value="a"/><valueString/><resource><Organization><extension url="u"><extension url="v"><valueInteger value="1"/></extension></extension></Organization></resource><part><name value="b"/></part></parameter></Parameters>`,
		`<Patient` + ns + `><unknown><a><b/></a></unknown><active value="true"><extension url="u"/></active><telecom><rank value="1"/></telecom></Patient>`,
		`<!DOCTYPE x><Slot` + ns + `/>`,
		`<Slot xmlns="urn:wrong"/>`,
		`<Encounter` + ns + `/>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := UnmarshalXML(data)
		if err != nil {
			if _, derr := DecodeXML(data, "Slot"); derr == nil {
				t.Fatalf("DecodeXML accepted what UnmarshalXML rejected: %v", err)
			}
			return
		}
		rt := r.GetResourceType()
		if _, err := DecodeXML(data, rt); err != nil {
			t.Fatalf("DecodeXML(%s): %v", rt, err)
		}
		// What decodes must encode, decode again and encode the same.
		x, err := MarshalXML(r)
		if err != nil {
			t.Fatalf("MarshalXML of a decoded resource: %v", err)
		}
		// Strict decoding refuses only what the lenient input left empty
		// (an extension without a value, an empty value) or an extension
		// the lenient decoder took against ext-1.
		if _, err := DecodeXMLStrict(x, rt); err != nil && !errors.Is(err, ErrEmptyElement) && !errors.Is(err, ErrInvalidExtension) {
			t.Fatalf("DecodeXMLStrict of own XML: %v\n%s", err, x)
		}
		r2, err := UnmarshalXML(x)
		if err != nil {
			t.Fatalf("decoding own XML: %v\n%s", err, x)
		}
		x2, err := MarshalXML(r2)
		if err != nil {
			t.Fatalf("re-encoding: %v", err)
		}
		if !bytes.Equal(x, x2) {
			t.Fatalf("XML not stable\nfirst  %s\nsecond %s", x, x2)
		}
		// The same resource through JSON gives the same XML.
		j, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("json.Marshal of a decoded resource: %v", err)
		}
		r3, err := UnmarshalResource(j)
		if err != nil {
			t.Fatalf("decoding JSON of decoded XML: %v\n%s", err, j)
		}
		x3, err := MarshalXML(r3)
		if err != nil {
			t.Fatalf("MarshalXML after JSON: %v", err)
		}
		if !bytes.Equal(x, x3) {
			t.Fatalf("XML differs after a JSON round trip\nbefore %s\nafter  %s", x, x3)
		}
	})
}

// FuzzMarshalEdited: for any JSON that decodes as an Appointment,
// MarshalEdited never fails; left unedited, it gives back the source byte
// for byte (so nothing the structs do not model is lost); edited as amend
// and cancel edit it (comment, description, status, an extension
// appended), its output reads back as exactly the edited struct. Where
// unmodelled elements go under an edit is checked by TestMarshalEdited's
// cases: MarshalEdited's own read-back check cannot see them.
func FuzzMarshalEdited(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "stu3", "*.json"))
	for i, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b, "a comment", uint8(i))
		}
	}
	f.Add([]byte(`{"resourceType":"Appointment","language":"en-GB","_start":{"id":"s"},"start":"2026-12-08T09:00:00+00:00","extension":[{"url":"https://example.org/x","valueDate":"2026-12-08"}]}`), "note", uint8(3))
	f.Fuzz(func(t *testing.T, src []byte, text string, which uint8) {
		r, err := UnmarshalResource(src)
		if err != nil {
			return
		}
		a, ok := r.(*Appointment)
		if !ok {
			return
		}
		switch which % 5 {
		case 4:
			out, err := MarshalEdited(a, src)
			if err != nil || !bytes.Equal(out, src) {
				t.Fatalf("unedited: %v\ngot  %s\nwant %s", err, out, src)
			}
			return
		case 0:
			a.Comment = text
		case 1:
			a.Description = text
		case 2:
			a.Status = "cancelled"
		case 3:
			a.Extension = append(a.Extension, Extension{URL: "https://example.org/reason", ValueString: &text})
		}
		// What the edited struct says, as JSON says it: encoding replaces
		// bytes that are not UTF-8 (text the fuzzer set) with U+FFFD, so
		// compare against the struct read back from its own encoding.
		enc, err := MarshalJSON(a)
		if err != nil {
			return
		}
		canon, err := UnmarshalResource(enc)
		if err != nil {
			t.Fatalf("the struct's own encoding does not decode: %v\n%s", err, enc)
		}
		want, err := MarshalJSON(canon)
		if err != nil {
			t.Fatal(err)
		}
		out, err := MarshalEdited(a, src)
		if err != nil {
			t.Fatalf("MarshalEdited: %v", err)
		}
		back, err := UnmarshalResource(out)
		if err != nil {
			t.Fatalf("the edited encoding does not decode: %v\n%s", err, out)
		}
		got, err := MarshalJSON(back)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("the edited encoding says another appointment:\ngot  %s\nwant %s", got, want)
		}
	})
}
