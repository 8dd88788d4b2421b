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
