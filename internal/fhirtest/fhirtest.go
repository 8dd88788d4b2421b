// Package fhirtest checks in tests that JSON is valid FHIR STU3, using the
// STU3 JSON unmarshaller of github.com/google/fhir/go (jsonformat, with
// validation on). Import it only from _test.go files: google/fhir is large and
// slow to build, and must stay out of the slotbridge binary.
//
// What the google/fhir v0.7.4 STU3 unmarshaller checks (found by probing it):
//
//   - unknown elements, at any depth, including R4-only ones
//     (Appointment.cancelationReason, Extension.valueCanonical);
//   - shapes: a 0..1 element given as an array (R4 Slot.serviceCategory) or a
//     0..* element given as a single value; null values; "entry": null;
//   - primitive formats: id ([A-Za-z0-9\-\.]{1,64}), code (no leading or
//     trailing space), dateTime/instant (a time needs seconds and a zone;
//     both "Z" and "+01:00" pass), positiveInt/unsignedInt ranges, integers
//     given as strings;
//   - required codes: a value outside the element's value set
//     (Slot.status "freeish", Patient.gender "M", Bundle.type "search");
//   - required elements (min 1), where an empty array counts as missing
//     (OperationOutcome.issue []); Extension.url; Narrative.div "";
//   - reference targets of typed references ("Practitioner/1" in
//     Slot.schedule), and at most one value per choice element
//     (deceasedBoolean with deceasedDateTime; two Extension value[x]).
//
// What it does not check, so passing here proves nothing about it:
//
//   - contained resources: they are parsed and validated like any resource,
//     but dom-2..dom-4 are not checked (nested contained, a contained
//     resource without id, with meta.versionId, or never referenced), and
//     "#1" references are not resolved (a dangling "#nope" passes).
//     GP Connect's booking organisation (contained Organization referenced by
//     the BookingOrganisation extension's valueReference "#1") passes.
//   - extensions: any absolute or relative url passes, an extension with
//     neither value nor nested extensions passes (ext-1 is not checked), and
//     valueReference targets are not type-checked. GP Connect extensions with
//     valueCode, valueString, valueCodeableConcept, valueReference,
//     valuePeriod and valueBoolean, and nested (complex) extensions, pass.
//   - empty strings: "comment": "" and even "status": "" on Slot pass,
//     although FHIR forbids empty values. Empty optional arrays
//     ("entry": []) and empty objects ("meta": {}) pass.
//   - the narrative: any non-empty div string passes, even "<div>x</div>"
//     without the XHTML namespace or text that is not XML at all.
//   - uri and url formats (meta.profile "not a uri" passes), duplicate JSON
//     keys, and profiles: meta.profile is never used, so GP Connect and
//     CareConnect profile constraints are not checked.
//   - primitive extensions ("_birthDate") pass the validator (the fhir
//     package's structs drop them).
package fhirtest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/google/fhir/go/fhirversion"
	"github.com/google/fhir/go/jsonformat"
)

// timeZone is the zone google/fhir applies to dates without an offset.
const timeZone = "Europe/London"

var stu3 struct {
	once sync.Once
	u    *jsonformat.Unmarshaller
	err  error
}

// unmarshaller builds the validating STU3 unmarshaller once. It holds no
// per-call state, so one value serves concurrent tests.
func unmarshaller() (*jsonformat.Unmarshaller, error) {
	stu3.once.Do(func() {
		stu3.u, stu3.err = jsonformat.NewUnmarshaller(timeZone, fhirversion.STU3)
	})
	return stu3.u, stu3.err
}

// Validate returns an error listing every problem google/fhir's STU3
// unmarshaller finds in the JSON resource data, or nil when it accepts it.
func Validate(data []byte) error {
	u, err := unmarshaller()
	if err != nil {
		return fmt.Errorf("fhirtest: building the STU3 unmarshaller: %w", err)
	}
	if _, err := u.Unmarshal(data); err != nil {
		return fmt.Errorf("fhirtest: not valid FHIR STU3 JSON: %w", err)
	}
	return nil
}

// ValidateSTU3 fails tb, showing the problems and the JSON, when data is not
// a valid FHIR STU3 JSON resource.
func ValidateSTU3(tb testing.TB, data []byte) {
	tb.Helper()
	if err := Validate(data); err != nil {
		tb.Errorf("%v\nJSON: %s", err, data)
	}
}
