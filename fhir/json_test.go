package fhir_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/internal/fhirtest"
)

// TestSamplesAreValidSTU3 checks with google/fhir that every sample in
// testdata/stu3 (the XML round-trip samples) is valid STU3 JSON as written,
// after a JSON round trip through the structs, and after an XML round trip.
func TestSamplesAreValidSTU3(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "stu3", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			orig, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			fhirtest.ValidateSTU3(t, orig)

			rt, err := fhir.PeekResourceType(orig)
			if err != nil {
				t.Fatal(err)
			}
			r, err := fhir.DecodeJSON(orig, rt)
			if err != nil {
				t.Fatal(err)
			}
			j, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			fhirtest.ValidateSTU3(t, j)

			x, err := fhir.MarshalXML(r)
			if err != nil {
				t.Fatal(err)
			}
			rx, err := fhir.DecodeXML(x, rt)
			if err != nil {
				t.Fatal(err)
			}
			jx, err := json.Marshal(rx)
			if err != nil {
				t.Fatal(err)
			}
			fhirtest.ValidateSTU3(t, jx)
		})
	}
}

// TestNewSearchsetIsValidSTU3 covers the empty searchset (no free slots),
// whose entry must encode as [] and not null.
func TestNewSearchsetIsValidSTU3(t *testing.T) {
	j, err := json.Marshal(fhir.NewSearchset())
	if err != nil {
		t.Fatal(err)
	}
	fhirtest.ValidateSTU3(t, j)
}

// TestCheckJSONText: a body that is not UTF-8, or that escapes half of a
// surrogate pair alone, is refused before encoding/json would make either
// U+FFFD; a whole pair, other escapes and an escaped backslash before "u"
// are fine.
func TestCheckJSONText(t *testing.T) {
	for _, c := range []struct {
		body string
		ok   bool
	}{
		{`{"a":"plain é"}`, true},
		{`{"a":"\ud83d\ude00 pair"}`, true},
		{`{"a":"\u00e9 \n \" \\ud800 is text"}`, true},
		{`{"a":"tail \u0041"}`, true},
		{"{\"a\":\"bad \xff\xfe\"}", false},
		{`{"a":"\ud800"}`, false},
		{`{"a":"\ud800 then text"}`, false},
		{`{"a":"\ud800\u0041"}`, false},
		{`{"a":"\udc00"}`, false},
		{`{"a":"\uDBFF`, false},
	} {
		if err := fhir.CheckJSONText([]byte(c.body)); (err == nil) != c.ok {
			t.Errorf("%q: %v, want ok=%v", c.body, err, c.ok)
		}
	}
}
