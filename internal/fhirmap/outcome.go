package fhirmap

import (
	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
)

// Outcome builds a GPConnect-OperationOutcome-1 with one issue.
func Outcome(code gpconnect.SpineCode, diagnostics string) *fhir.OperationOutcome {
	return &fhir.OperationOutcome{ResourceType: "OperationOutcome",
		Meta: &fhir.Meta{Profile: []string{string(gpconnect.ProfileOperationOutcome)}},
		Issue: []fhir.OperationOutcomeIssue{{Severity: "error", Code: code.IssueType(),
			Details:     &fhir.CodeableConcept{Coding: []fhir.Coding{{System: gpconnect.SystemSpineError, Code: string(code), Display: code.Display()}}},
			Diagnostics: diagnostics}}}
}
