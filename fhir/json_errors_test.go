package fhir

import (
	"strings"
	"testing"
)

// TestJSONErrorsNameNoGoTypes: a body that does not decode is described in
// FHIR's terms (the element, the JSON wanted and the JSON sent), never by
// encoding/json's message, which names Go types and struct fields.
func TestJSONErrorsNameNoGoTypes(t *testing.T) {
	for body, want := range map[string]string{
		`{"resourceType":"Appointment","description":5}`:                                                                      "Appointment.description must be a JSON string, not a JSON number",
		`{"resourceType":"Appointment","participant":{"x":1}}`:                                                                "Appointment.participant must be a JSON array, not a JSON object",
		`{"resourceType":"Appointment","participant":[{"actor":{"reference":5}}]}`:                                            "Appointment.participant.actor.reference must be a JSON string",
		`{"resourceType":"Appointment","minutesDuration":"10"}`:                                                               "Appointment.minutesDuration must be an integer in range, not a JSON string",
		`{"resourceType":"Appointment","priority":1.5}`:                                                                       "Appointment.priority must be an integer in range, not a JSON number 1.5",
		`{"resourceType":"Appointment","contained":[{"resourceType":"Organization","name":5}]}`:                               "Organization.name must be a JSON string",
		`{"resourceType":"Appointment","extension":[{"url":"u","valueReference":"x"}]}`:                                       "Appointment.extension.valueReference must be a JSON object, not a JSON string",
		`{"resourceType":"Parameters","parameter":[{"name":"p","resource":{"resourceType":"Patient","birthDate":19500101}}]}`: "fhir: Patient.birthDate must be a JSON string",
		`[]`:                            "the body must be a JSON object (a FHIR resource), not a JSON array",
		`5`:                             "the body must be a JSON object (a FHIR resource), not a JSON number",
		`{"resourceType":5}`:            "resourceType must be a JSON string, not a JSON number",
		`{"resourceType":"Appointment"`: "the body is not valid JSON",
		// ParametersParameter's decoder embeds a struct named plain: not in the path.
		`{"resourceType":"Parameters","parameter":[{"name":5}]}`:                      "fhir: Parameters.parameter.name must be a JSON string, not a JSON number",
		`{"resourceType":"Parameters","parameter":[{"name":"p","valueBoolean":"x"}]}`: "fhir: Parameters.parameter.valueBoolean must be true or false",
		// A nested resource that is not an object is named where it is.
		`{"resourceType":"Appointment","contained":[5]}`:                          "a contained resource must be a resource (a JSON object), not a JSON number",
		`{"resourceType":"Parameters","parameter":[{"name":"p","resource":"x"}]}`: "parameter.resource must be a resource (a JSON object), not a JSON string",
		`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":[1]}]}`: "entry.resource must be a resource (a JSON object), not a JSON array",
	} {
		rt, err := PeekResourceType([]byte(body))
		if err == nil {
			_, err = DecodeJSONStrict([]byte(body), rt)
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", body, err, want)
			continue
		}
		for _, leak := range []string{"Go struct", "Go value", "of type", "fhir.", "json.", "fhir: Parameters: fhir:", "plain"} {
			if strings.Contains(err.Error(), leak) {
				t.Errorf("%s: %q names %q", body, err, leak)
			}
		}
	}
}
