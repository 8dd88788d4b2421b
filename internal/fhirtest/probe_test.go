package fhirtest

import (
	"os"
	"path/filepath"
	"testing"
)

func TestProbe(t *testing.T) {
	files, _ := filepath.Glob("../../fhir/testdata/stu3/*.json")
	for _, f := range files {
		b, _ := os.ReadFile(f)
		t.Log(f, Validate(b))
	}
}
