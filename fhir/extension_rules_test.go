package fhir_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/slotbridge/slotbridge/fhir"
)

// TestStrictExtensionRules: request bodies follow STU3 ext-1 at every depth
// of an extension (a url, and one value or nested extensions, not both and
// not neither), in JSON and XML alike, and a modifierExtension anywhere is
// refused, since none is understood here.
func TestStrictExtensionRules(t *testing.T) {
	const jsonHead, xmlHead = `{"resourceType":"Appointment","status":"booked",`, `<Appointment xmlns="http://hl7.org/fhir">`
	rows := []struct {
		name      string
		json, xml string // the extension part; xml precedes <status>
		want      error  // nil: accepted; errEmpty: an *EmptyExtensionError
		wantText  string
	}{
		{name: "one value", json: `"extension":[{"url":"https://example.org/a","valueString":"x"}]`,
			xml: `<extension url="https://example.org/a"><valueString value="x"/></extension>`},
		{name: "nested extensions with values", json: `"extension":[{"url":"https://example.org/a","extension":[{"url":"b","valueBoolean":true}]}]`,
			xml: `<extension url="https://example.org/a"><extension url="b"><valueBoolean value="true"/></extension></extension>`},
		{name: "two values", json: `"extension":[{"url":"https://example.org/a","valueString":"x","valueBoolean":true}]`,
			xml: `<extension url="https://example.org/a"><valueString value="x"/><valueBoolean value="true"/></extension>`, want: fhir.ErrInvalidExtension},
		{name: "a value and nested extensions", json: `"extension":[{"url":"https://example.org/a","valueString":"x","extension":[{"url":"b","valueBoolean":true}]}]`,
			xml: `<extension url="https://example.org/a"><extension url="b"><valueBoolean value="true"/></extension><valueString value="x"/></extension>`, want: fhir.ErrInvalidExtension},
		{name: "no url", json: `"extension":[{"valueString":"x"}]`,
			xml: `<extension><valueString value="x"/></extension>`, want: fhir.ErrInvalidExtension},
		{name: "nested extension with neither", json: `"extension":[{"url":"https://example.org/a","extension":[{"url":"b"}]}]`,
			xml: `<extension url="https://example.org/a"><extension url="b"/></extension>`, want: fhir.ErrEmptyElement},
		{name: "modifierExtension inside a participant", json: `"participant":[{"modifierExtension":[{"url":"https://example.org/m","valueBoolean":true}],"status":"accepted"}]`,
			xml:      `<participant><modifierExtension url="https://example.org/m"><valueBoolean value="true"/></modifierExtension><status value="accepted"/></participant>`,
			wantText: "modifierExtension"},
		{name: "modifierExtension spelt with an escape", json: `"participant":[{"modifier\u0045xtension":[{"url":"https://example.org/m","valueBoolean":true}],"status":"accepted"}]`,
			xml:      `<participant><modifierExtension url="https://example.org/m"><valueBoolean value="true"/></modifierExtension><status value="accepted"/></participant>`,
			wantText: "modifierExtension"},
		{name: "a null value is no value", json: `"extension":[{"url":"https://example.org/a","valueString":null}]`,
			xml: `<extension url="https://example.org/a"/>`, want: fhir.ErrEmptyElement},
		{name: "an empty nested list is no nested extension", json: `"extension":[{"url":"https://example.org/a","extension":[]}]`,
			xml: `<extension url="https://example.org/a"/>`, want: fhir.ErrEmptyElement},
		// A value of a type the structs do not hold is a value all the same,
		// in XML as in JSON: alone it is the extension's one value; beside
		// another value it is a second one.
		{name: "one value of a type not modelled", json: `"extension":[{"url":"https://example.org/a","valueDate":"2026-12-10"}]`,
			xml: `<extension url="https://example.org/a"><valueDate value="2026-12-10"/></extension>`},
		{name: "a nested value of a type not modelled", json: `"extension":[{"url":"https://example.org/a","extension":[{"url":"b","valueDecimal":1.5}]}]`,
			xml: `<extension url="https://example.org/a"><extension url="b"><valueDecimal value="1.5"/></extension></extension>`},
		{name: "a modelled value and one not modelled", json: `"extension":[{"url":"https://example.org/a","valueString":"x","valueDate":"2026-12-10"}]`,
			xml: `<extension url="https://example.org/a"><valueString value="x"/><valueDate value="2026-12-10"/></extension>`, want: fhir.ErrInvalidExtension},
		{name: "a value not modelled and nested extensions", json: `"extension":[{"url":"https://example.org/a","valueDate":"2026-12-10","extension":[{"url":"b","valueBoolean":true}]}]`,
			xml: `<extension url="https://example.org/a"><extension url="b"><valueBoolean value="true"/></extension><valueDate value="2026-12-10"/></extension>`, want: fhir.ErrInvalidExtension},
		{name: "modifierExtension named inside a string value is no member", json: `"description":"modifierExtension"`,
			xml: `<description value="modifierExtension"/>`},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			for format, decode := range map[string]func() error{
				"json": func() error {
					_, err := fhir.DecodeJSONStrict([]byte(jsonHead+row.json+`}`), "Appointment")
					return err
				},
				"xml": func() error {
					body := xmlHead + row.xml + `<status value="booked"/></Appointment>`
					if strings.HasPrefix(row.xml, "<description") || strings.HasPrefix(row.xml, "<participant") {
						body = xmlHead + `<status value="booked"/>` + row.xml + `</Appointment>`
					}
					_, err := fhir.DecodeXMLStrict([]byte(body), "Appointment")
					return err
				},
			} {
				err := decode()
				switch {
				case row.want == nil && row.wantText == "" && err != nil:
					t.Errorf("%s: refused: %v", format, err)
				case row.want != nil && !errors.Is(err, row.want):
					t.Errorf("%s: %v, want %v", format, err, row.want)
				case row.wantText != "" && (err == nil || !strings.Contains(err.Error(), row.wantText)):
					t.Errorf("%s: %v, want an error naming %s", format, err, row.wantText)
				}
			}
		})
	}
}

// TestStrictExtensionRulesInParameters: a resource passed as a parameter
// (register patient's Patient) is held to ext-1 in XML as in JSON.
func TestStrictExtensionRulesInParameters(t *testing.T) {
	const ext = "https://example.org/a"
	jsonBody := `{"resourceType":"Parameters","parameter":[{"name":"registerPatient","resource":{"resourceType":"Patient","extension":[{"url":"` + ext + `","valueString":"x","extension":[{"url":"b","valueBoolean":true}]}]}}]}`
	xmlBody := `<Parameters xmlns="http://hl7.org/fhir"><parameter><name value="registerPatient"/><resource><Patient><extension url="` + ext + `"><extension url="b"><valueBoolean value="true"/></extension><valueString value="x"/></extension></Patient></resource></parameter></Parameters>`
	if _, err := fhir.DecodeJSONStrict([]byte(jsonBody), "Parameters"); !errors.Is(err, fhir.ErrInvalidExtension) {
		t.Errorf("json: %v, want ErrInvalidExtension", err)
	}
	if _, err := fhir.DecodeXMLStrict([]byte(xmlBody), "Parameters"); !errors.Is(err, fhir.ErrInvalidExtension) {
		t.Errorf("xml: %v, want ErrInvalidExtension", err)
	}
}

// TestModifierExtensionLocation: the JSON error names where the
// modifierExtension was found, as the XML decoder's path does.
func TestModifierExtensionLocation(t *testing.T) {
	for body, want := range map[string]string{
		`{"resourceType":"Appointment","status":"booked","participant":[{"status":"accepted","modifierExtension":[{"url":"u","valueBoolean":true}]}]}`:                                               "in participant,",
		`{"resourceType":"Appointment","status":"booked","participant":[{"status":"accepted","actor":{"reference":"Patient/1","modifierExtension":[{"url":"u","valueBoolean":true}]}}]}`:             "in participant.actor,",
		`{"resourceType":"Parameters","parameter":[{"name":"registerPatient","resource":{"resourceType":"Patient","name":[{"modifierExtension":[{"url":"u","valueBoolean":true}],"family":"x"}]}}]}`: "in parameter.resource.name,",
	} {
		rt, _ := fhir.PeekResourceType([]byte(body))
		_, err := fhir.DecodeJSONStrict([]byte(body), rt)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want it to say %q", body, err, want)
		}
	}
}

// TestXMLValueNotModelled: an XML value[x] of a type the structs do not
// hold counts as the extension's value only when it holds something, is a
// repeated element when sent twice, and cannot hide a modifierExtension.
func TestXMLValueNotModelled(t *testing.T) {
	const head, tail = `<Appointment xmlns="http://hl7.org/fhir">`, `<status value="booked"/></Appointment>`
	for ext, want := range map[string]string{
		`<extension url="u"><valueDate/></extension>`:                                                                                                          "neither a value nor nested extensions",
		`<extension url="u"><valueDate value="2026-12-10"/><valueDate value="2026-12-11"/></extension>`:                                                        "repeated element",
		`<extension url="u"><valueDate value="2026-12-10"><modifierExtension url="m"><valueBoolean value="true"/></modifierExtension></valueDate></extension>`: "modifierExtension",
		`<unknownThing><modifierExtension url="m"><valueBoolean value="true"/></modifierExtension></unknownThing>`:                                             "",
	} {
		_, err := fhir.DecodeXMLStrict([]byte(head+ext+tail), "Appointment")
		switch {
		case want == "" && err == nil:
		case want == "":
			// An unknown top-level element is refused for itself first.
			if !strings.Contains(err.Error(), "unknown element") {
				t.Errorf("%s: %v", ext, err)
			}
		case err == nil || !strings.Contains(err.Error(), want):
			t.Errorf("%s: %v, want %q", ext, err, want)
		}
	}
	// Inside a participant (skipped unknown content below the top level),
	// a modifierExtension is refused too.
	body := head + `<status value="booked"/><participant><unknownThing><modifierExtension url="m"><valueBoolean value="true"/></modifierExtension></unknownThing><status value="accepted"/></participant></Appointment>`
	if _, err := fhir.DecodeXMLStrict([]byte(body), "Appointment"); err == nil || !strings.Contains(err.Error(), "modifierExtension") {
		t.Errorf("modifierExtension inside skipped participant content: %v", err)
	}
}
