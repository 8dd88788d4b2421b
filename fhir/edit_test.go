package fhir_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/slotbridge/slotbridge/fhir"
)

// sourceAppt has elements the structs do not model, at the root and inside
// extensions, the contained resource and a participant.
const sourceAppt = `{"resourceType":"Appointment","id":"1","meta":{"versionId":"7"},"implicitRules":"https://example.org/rules","language":"en-GB",` +
	`"contained":[{"resourceType":"Organization","id":"1","name":"Booker","_name":{"id":"n"}}],` +
	`"extension":[{"url":"https://example.org/a","valueDate":"2026-12-08"},{"url":"https://example.org/b","extension":[{"url":"x","valueDate":"2026-12-09"}]}],` +
	`"modifierExtension":[{"url":"https://example.org/m","valueDate":"2026-12-10"}],` +
	`"status":"booked","description":"d","start":"2030-06-03T09:00:00+01:00","_start":{"id":"s"},"comment":"c",` +
	`"participant":[{"actor":{"reference":"Patient/2"},"status":"accepted","_status":{"id":"p"}}]}`

func keep(t *testing.T, src string) *fhir.Appointment {
	t.Helper()
	r, err := fhir.UnmarshalResourceKeepingSource([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return r.(*fhir.Appointment)
}

func TestMarshalEdited(t *testing.T) {
	cases := []struct {
		name string
		src  string
		edit func(a *fhir.Appointment)
		want string
	}{
		{"Unedited", sourceAppt, func(*fhir.Appointment) {}, sourceAppt},
		{"UneditedIndented", strings.ReplaceAll(sourceAppt, `,"`, ",\n  \""), func(*fhir.Appointment) {}, strings.ReplaceAll(sourceAppt, `,"`, ",\n  \"")},
		{"Description", sourceAppt, func(a *fhir.Appointment) { a.Description = "<new>" },
			strings.Replace(sourceAppt, `"description":"d"`, `"description":"\u003cnew\u003e"`, 1)},
		{"CommentRemoved", sourceAppt, func(a *fhir.Appointment) { a.Comment = "" },
			strings.Replace(sourceAppt, `,"comment":"c"`, ``, 1)},
		{"ExtensionAppended", sourceAppt, func(a *fhir.Appointment) {
			v := "r"
			a.Extension = append(a.Extension, fhir.Extension{URL: "https://example.org/r", ValueString: &v})
		}, strings.Replace(sourceAppt, `"valueDate":"2026-12-09"}]}]`, `"valueDate":"2026-12-09"}]},{"url":"https://example.org/r","valueString":"r"}]`, 1)},
		{"ExtensionRemoved", sourceAppt, func(a *fhir.Appointment) { a.Extension = a.Extension[1:] },
			strings.Replace(sourceAppt, `{"url":"https://example.org/a","valueDate":"2026-12-08"},`, ``, 1)},
		{"ParticipantStatus", sourceAppt, func(a *fhir.Appointment) { a.Participant[0].Status = "declined" },
			strings.Replace(sourceAppt, `"status":"accepted"`, `"status":"declined"`, 1)},
		{"Added", sourceAppt, func(a *fhir.Appointment) { a.Created = "2030-06-01T10:00:00+01:00" },
			strings.Replace(sourceAppt, `,"comment"`, `,"created":"2030-06-01T10:00:00+01:00","comment"`, 1)},
		// A cancel replaces its reason extension: the old one goes, a new one
		// is appended. The other extension keeps its unmodelled value where
		// it is; matching by position alone moved it onto the new reason.
		{"ExtensionReplaced", `{"resourceType":"Appointment","id":"1","extension":[{"url":"R","valueString":"old"},{"url":"X","valueDate":"2020-01-01"}]}`,
			func(a *fhir.Appointment) {
				v := "new"
				a.Extension = append(a.Extension[1:len(a.Extension):len(a.Extension)], fhir.Extension{URL: "R", ValueString: &v})
			}, `{"resourceType":"Appointment","id":"1","extension":[{"url":"X","valueDate":"2020-01-01"},{"url":"R","valueString":"new"}]}`},
		// An item edited in place keeps what the struct does not model.
		{"ExtensionEditedInPlace", `{"resourceType":"Appointment","id":"1","extension":[{"url":"R","valueString":"old","_valueString":{"id":"v"}},{"url":"X","valueDate":"2020-01-01"}]}`,
			func(a *fhir.Appointment) {
				v := "new"
				a.Extension = append([]fhir.Extension(nil), a.Extension...)
				a.Extension[0].ValueString = &v
			}, `{"resourceType":"Appointment","id":"1","extension":[{"url":"R","valueString":"new","_valueString":{"id":"v"}},{"url":"X","valueDate":"2020-01-01"}]}`},
		// encoding/json reads the last of two spellings; the merge would
		// edit the first and the edit would not read back, so the struct's
		// own encoding goes instead.
		{"OtherCaseFallsBack", `{"resourceType":"Appointment","id":"1","description":"d","Description":"x"}`, func(a *fhir.Appointment) { a.Description = "e" },
			`{"resourceType":"Appointment","id":"1","description":"e"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := keep(t, tc.src)
			ed := *a
			ed.Participant = append([]fhir.AppointmentParticipant(nil), a.Participant...)
			tc.edit(&ed)
			got, err := fhir.MarshalEdited(&ed, ed.Source)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("\n got %s\nwant %s", got, tc.want)
			}
		})
	}
	t.Run("ErrSourceType", func(t *testing.T) {
		if _, err := fhir.MarshalEdited(&fhir.Appointment{ResourceType: "Appointment"}, []byte(`{"resourceType":"Patient"}`)); !errors.Is(err, fhir.ErrSourceType) {
			t.Fatalf("err = %v, want ErrSourceType", err)
		}
	})
}

// TestKeepingSourceIsOptIn: only UnmarshalResourceKeepingSource keeps the
// JSON; the decoders request parsing uses keep nothing and the strict one
// still refuses elements the structs do not define.
func TestKeepingSourceIsOptIn(t *testing.T) {
	for name, decode := range map[string]func([]byte) (fhir.Resource, error){
		"UnmarshalResource": fhir.UnmarshalResource,
		"DecodeJSON":        func(b []byte) (fhir.Resource, error) { return fhir.DecodeJSON(b, "Appointment") },
	} {
		r, err := decode([]byte(sourceAppt))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if a := r.(*fhir.Appointment); a.Source != nil {
			t.Errorf("%s kept the source", name)
		}
	}
	// A modifierExtension is an element of every resource, so it is refused
	// as one not understood rather than as one that does not exist; so are
	// text, contained and implicitRules where the struct does not keep them
	// (Appointment keeps text and contained), refused as not accepted. A
	// name no resource has is one the resource has no element of.
	for _, c := range []struct{ typ, member, want string }{
		{"Appointment", `"implicitRules":"https://example.org/rules"`, "Appointment.implicitRules is not accepted"},
		{"Appointment", `"modifierExtension":[{"url":"u","valueDate":"2026-12-10"}]`, "modifierExtension, which this server does not understand"},
		{"Appointment", `"colour":"red"`, `has no element "colour"`},
		{"Patient", `"text":{"status":"generated","div":"<div>x</div>"}`, "Patient.text is not accepted"},
		{"Patient", `"contained":[{"resourceType":"Organization","id":"o"}]`, "Patient.contained is not accepted"},
	} {
		src := `{"resourceType":"` + c.typ + `",` + c.member + `}`
		if _, err := fhir.DecodeJSONStrict([]byte(src), c.typ); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("DecodeJSONStrict with %s: %v, want it refused with %q", c.member, err, c.want)
		}
	}

	// The same in XML.
	for member, want := range map[string]string{
		`<text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml">x</div></text>`: "Patient.text: not accepted",
		`<implicitRules value="https://example.org/rules"/>`:                                        "Patient.implicitRules: not accepted",
		`<colour value="red"/>`: "Patient.colour: unknown element",
	} {
		src := `<Patient xmlns="http://hl7.org/fhir">` + member + `</Patient>`
		if _, err := fhir.DecodeXMLStrict([]byte(src), "Patient"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("DecodeXMLStrict with %s: %v, want it refused with %q", member, err, want)
		}
	}

	bundle := `{"resourceType":"Bundle","type":"searchset","entry":[{"resource":` + sourceAppt + `},{"resource":{"resourceType":"Patient","id":"2"}}]}`
	r, err := fhir.UnmarshalResourceKeepingSource([]byte(bundle))
	if err != nil {
		t.Fatal(err)
	}
	if a := r.(*fhir.Bundle).Entry[0].Resource.(*fhir.Appointment); string(a.Source) != sourceAppt {
		t.Errorf("bundle entry source %q", a.Source)
	}
}
