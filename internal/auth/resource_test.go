package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
)

// richPractitioner uses most element kinds the decoder handles: pointers,
// bools, ints, nested and recursive structs, string escapes.
const richPractitioner = `{
  "resourceType": "Practitioner",
  "id": "1",
  "meta": {"versionId": "3", "lastUpdated": "2024-01-01T00:00:00Z", "profile": ["https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-GPC-Practitioner-1"]},
  "extension": [{"url": "https://example.org/ext", "extension": [
      {"url": "d", "valueInteger": -7},
      {"url": "a", "valueBoolean": false},
      {"url": "b", "valueReference": {"reference": "Organization/1", "identifier": {"system": "s", "value": "v"}}},
      {"url": "c", "valueCodeableConcept": {"coding": [{"system": "s", "code": "c", "userSelected": true}], "text": "t"}}
  ]}],
  "identifier": [
    {"system": "https://fhir.nhs.uk/Id/sds-user-id", "value": "UNK", "period": {"start": "2020"}},
    {"system": "https://fhir.nhs.uk/Id/sds-role-profile-id", "value": "UNK"}
  ],
  "active": true,
  "name": [{"use": "official", "family": "O\u2019Br\u00eden \ud83d\ude00 \ud800", "given": ["A\"B", "C\\D\/E\n"], "prefix": []}],
  "telecom": [{"system": "phone", "value": "01234", "rank": 2}],
  "gender": "unknown",
  "birthDate": "1970-01-01",
  "qualification": [{"code": {"text": "GP"}, "issuer": {"display": "GMC"}}],
  "communication": [{"coding": []}]
}`

func TestResourceDecoderMatchesEncodingJSON(t *testing.T) {
	var got fhir.Practitioner
	end, e := decodeResource("requesting_practitioner", richPractitioner, 0, practitionerDef, &got)
	if e != nil {
		t.Fatal(e)
	}
	if end != len(richPractitioner) {
		t.Fatalf("end %d, want %d", end, len(richPractitioner))
	}
	var want fhir.Practitioner
	dec := json.NewDecoder(strings.NewReader(richPractitioner))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Fatalf("decoders disagree:\n got %s\nwant %s", g, w)
	}
	// And a full token carrying it passes.
	m := defaultPayload(t)
	var p any
	if err := json.Unmarshal([]byte(richPractitioner), &p); err != nil {
		t.Fatal(err)
	}
	m["requesting_practitioner"] = p
	if _, err := (&Verifier{Now: fixedClock}).Verify(bearer(marshal(t, m))); err != nil {
		t.Fatal(err)
	}
}

func TestResourceDecoderRejects(t *testing.T) {
	base := func(inner string) string {
		return `{"resourceType":"Practitioner","id":"1",` + inner + `}`
	}
	cases := []struct{ rule, json string }{
		{"integer with fraction", base(`"extension":[{"url":"u","valueInteger":1.5}]`)},
		{"integer with exponent", base(`"extension":[{"url":"u","valueInteger":1e2}]`)},
		{"integer out of range", base(`"extension":[{"url":"u","valueInteger":9223372036854775808}]`)},
		{"boolean as string", base(`"active":"true"`)},
		{"boolean as number", base(`"active":1`)},
		{"string as boolean", base(`"gender":true`)},
		{"object as array", base(`"meta":[]`)},
		{"array as string", base(`"identifier":"x"`)},
		{"nested null", base(`"name":[{"family":null}]`)},
		{"null in array", base(`"name":[null]`)},
		{"unknown nested element", base(`"meta":{"versionid":"1"}`)},
		{"duplicate nested element", base(`"meta":{"versionId":"1","versionId":"2"}`)},
		{"duplicate top-level element", base(`"gender":"male","gender":"female"`)},
		{"duplicate resourceType", base(`"resourceType":"Practitioner"`)},
		{"resourceType after an unknown element", `{"foo":1,"resourceType":"Patient"}`},
		{"escaped wrong element name", base(`"Gend\u0065r":"male"`)},
	}
	for _, tc := range cases {
		t.Run(tc.rule, func(t *testing.T) {
			var p fhir.Practitioner
			_, e := decodeResource("requesting_practitioner", tc.json, 0, practitionerDef, &p)
			if e == nil || e.Code != gpconnect.InvalidResource {
				t.Fatalf("got %v, want INVALID_RESOURCE", e)
			}
			t.Log(e.Message)
		})
	}
}

func TestDeepNestingRefused(t *testing.T) {
	deep := strings.Repeat(`{"url":"u","extension":[`, 200) + strings.Repeat(`]}`, 200)
	m := defaultPayload(t)
	p := marshal(t, m)
	p = bytes.Replace(p, []byte(`"resourceType":"Device"`), []byte(`"resourceType":"Device","meta":{"extension":[`+deep+`]}`), 1)
	_, err := (&Verifier{Now: fixedClock}).Verify(bearer(p))
	if got := spineCode(t, err); got != gpconnect.BadRequest && got != gpconnect.InvalidResource {
		t.Fatalf("code %q", got)
	}
	deepArr := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	m["jti"] = json.RawMessage(deepArr)
	if _, err := (&Verifier{Now: fixedClock}).Verify(bearer(marshal(t, m))); spineCode(t, err) != gpconnect.BadRequest {
		t.Fatalf("deep array: %v", err)
	}
}

func TestSchemaCoversResourceTypes(t *testing.T) {
	for _, def := range []*resourceDef{deviceDef, organizationDef, practitionerDef} {
		s := def.s
		if s.kind != schemaStruct {
			t.Fatalf("%s is not decoded natively", s.typ)
		}
		if _, ok := s.names["resourceType"]; !ok {
			t.Fatalf("%s has no resourceType", s.typ)
		}
	}
}

type embedded struct {
	A string `json:"a"`
}

type withEmbedded struct {
	embedded
	B int `json:"b"`
}

type withStringOpt struct {
	N int `json:"n,string"`
}

type mixed struct {
	Raw      json.RawMessage `json:"raw"`
	When     time.Time       `json:"when"`
	F        float64         `json:"f"`
	M        map[string]int  `json:"m"`
	Skip     string          `json:"-"`
	Dash     string          `json:"-,"`
	Emb      *withEmbedded   `json:"e"`
	Opt      withStringOpt   `json:"o"`
	Untagged string
	Bytes    []byte `json:"bytes"`
	Small    int8   `json:"small"`
}

// TestDecoderDelegatesUnmodelledTypes checks the encoding/json fallback.
func TestDecoderDelegatesUnmodelledTypes(t *testing.T) {
	const in = `{"raw":{"x":[1,2]},"when":"2024-01-02T03:04:05Z","f":1.5,"m":{"k":1},"-":"dash",` +
		`"e":{"a":"A","b":2},"o":{"n":"42"},"Untagged":"u","bytes":"aGk=","small":-128}`
	s := schemaOf(reflect.TypeFor[mixed]())
	if s.kind != schemaStruct {
		t.Fatal("mixed should be decoded natively")
	}
	for name, kind := range map[string]int{"raw": schemaDelegate, "when": schemaDelegate, "f": schemaDelegate, "m": schemaDelegate, "e": schemaPointer, "o": schemaDelegate, "bytes": schemaDelegate, "small": schemaInt} {
		if got := s.fields[s.names[name]].s.kind; got != kind {
			t.Errorf("%s: kind %d, want %d", name, got, kind)
		}
	}
	if _, ok := s.names["Skip"]; ok {
		t.Error(`json:"-" field is decodable`)
	}
	var got, want mixed
	if _, err := decodeValue(in, 0, s, reflect.ValueOf(&got).Elem(), 0); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(in), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if _, err := decodeValue(`{"small":128}`, 0, s, reflect.ValueOf(&got).Elem(), 0); err == nil {
		t.Error("int8 overflow accepted")
	}
	if _, err := decodeValue(`{"e":{"a":"A","zz":1}}`, 0, s, reflect.ValueOf(&got).Elem(), 0); err == nil {
		t.Error("unknown field in a delegated struct accepted")
	}
}

// stu3Member is one member of an STU3 resource in FHIR JSON with a valid value.
type stu3Member struct{ name, value string }

// stu3DomainMembers are the STU3 Resource and DomainResource elements
// (hl7.org/fhir/STU3/resource.html, domainresource.html) and the _name
// siblings of the primitive ones; modifierExtension is left out, as it is
// refused.
var stu3DomainMembers = []stu3Member{
	{"meta", `{"versionId":"1","profile":["https://example.org/StructureDefinition/p"]}`},
	{"implicitRules", `"https://example.org/rules"`},
	{"_implicitRules", `{"id":"ir"}`},
	{"language", `"en-GB"`},
	{"_language", `{"extension":[{"url":"https://example.org/e","valueString":"x"}]}`},
	{"text", `{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"}`},
	{"contained", `[{"resourceType":"Organization","id":"c1","name":"Supplier"}]`},
	{"extension", `[{"url":"https://example.org/e","valueString":"x"}]`},
	{"_id", `{"id":"i"}`},
}

// stu3Members are every element of the three resource claims in STU3
// (hl7.org/fhir/STU3/device.html, organization.html, practitioner.html),
// with the _name siblings of the primitive ones, besides resourceType, id
// and stu3DomainMembers.
var stu3Members = map[string][]stu3Member{
	"Device": {
		{"identifier", `[{"system":"GPConnectTestSystem","value":"Client"}]`},
		{"udi", `{"deviceIdentifier":"00844588003288","name":"Client","carrierAIDC":"aGk=","entryType":"manual"}`},
		{"status", `"active"`}, {"_status", `{"id":"s"}`},
		{"type", `{"coding":[{"system":"https://example.org/device-type","code":"app"}]}`},
		{"lotNumber", `"L1"`}, {"_lotNumber", `{"id":"l"}`},
		{"manufacturer", `"Supplier"`}, {"_manufacturer", `{"id":"m"}`},
		{"manufactureDate", `"2020-01-01"`}, {"_manufactureDate", `{"id":"md"}`},
		{"expirationDate", `"2030-01-01T00:00:00Z"`}, {"_expirationDate", `{"id":"ed"}`},
		{"model", `"v1"`}, {"_model", `{"id":"mo"}`},
		{"version", `"1.1"`}, {"_version", `{"id":"v"}`},
		{"patient", `{"reference":"Patient/1"}`},
		{"owner", `{"reference":"Organization/1"}`},
		{"contact", `[{"system":"email","value":"ops@example.org"}]`},
		{"location", `{"reference":"Location/1"}`},
		{"url", `"https://consumer.example.org/"`}, {"_url", `{"id":"u"}`},
		{"note", `[{"text":"test rig"}]`},
		{"safety", `[{"text":"not a medical device"}]`},
	},
	"Organization": {
		{"identifier", `[{"system":"https://fhir.nhs.uk/Id/ods-organization-code","value":"GPCA0001"}]`},
		{"active", `true`}, {"_active", `{"id":"a"}`},
		{"type", `[{"text":"GP practice"}]`},
		{"name", `"GP Connect Assurance"`}, {"_name", `{"id":"n"}`},
		{"alias", `["GPCA","Assurance"]`}, {"_alias", `[null,{"id":"al"}]`},
		{"telecom", `[{"system":"phone","value":"0113 496 0000"}]`},
		{"address", `[{"line":["1 Road"],"postalCode":"LS1 1AA"}]`},
		{"partOf", `{"reference":"Organization/2"}`},
		{"contact", `[{"purpose":{"text":"admin"},"name":{"family":"Jones"}}]`},
		{"endpoint", `[{"reference":"Endpoint/1"}]`},
	},
	"Practitioner": {
		{"identifier", `[{"system":"https://fhir.nhs.uk/Id/sds-user-id","value":"UNK"}]`},
		{"active", `true`}, {"_active", `{"id":"a"}`},
		{"name", `[{"family":"AssurancePractitioner","given":["AssuranceTest"]}]`},
		{"telecom", `[{"system":"phone","value":"0113 496 0000"}]`},
		{"address", `[{"city":"Leeds"}]`},
		{"gender", `"unknown"`}, {"_gender", `{"id":"g"}`},
		{"birthDate", `"1970-01-01"`}, {"_birthDate", `{"id":"b"}`},
		{"photo", `[{"contentType":"image/png","url":"https://example.org/p.png"}]`},
		{"qualification", `[{"code":{"text":"GP"}}]`},
		{"communication", `[{"text":"English"}]`},
	},
}

// TestResourceClaimsAcceptEverySTU3Element sends each resource claim with
// every element STU3 defines for it at once (§3.2: 422 only for a claim
// that is not a valid FHIR resource) and checks that the modelled ones are
// still decoded.
func TestResourceClaimsAcceptEverySTU3Element(t *testing.T) {
	claimOf := map[string]string{"Device": "requesting_device", "Organization": "requesting_organization", "Practitioner": "requesting_practitioner"}
	for typ, members := range stu3Members {
		t.Run(typ, func(t *testing.T) {
			r := map[string]any{"resourceType": typ, "id": "1"}
			for _, m := range append(slices.Clone(stu3DomainMembers), members...) {
				r[m.name] = json.RawMessage(m.value)
			}
			m := defaultPayload(t)
			m[claimOf[typ]] = r
			c, err := (&Verifier{Now: fixedClock}).Verify(bearer(marshal(t, m)))
			if err != nil {
				t.Fatal(err)
			}
			var got string
			switch typ {
			case "Device":
				got = fmt.Sprintf("%s %s %s %s %s %s", c.Device.Model, c.Device.Version, c.Device.Status, c.Device.Manufacturer, c.DeviceID(), c.Device.Meta.VersionID)
			case "Organization":
				got = fmt.Sprintf("%s %q %t %s %s %d", c.Organization.Name, c.Organization.Alias, *c.Organization.Active, c.OrgODS(), c.Organization.PartOf.Reference, len(c.Organization.Contact))
			case "Practitioner":
				got = fmt.Sprintf("%s %s %t %s %d %d", c.Practitioner.Gender, c.Practitioner.BirthDate, *c.Practitioner.Active, c.Practitioner.Name[0].Family, len(c.Practitioner.Qualification), len(c.Practitioner.Communication))
			}
			want := map[string]string{
				"Device":       "v1 1.1 active Supplier GPConnectTestSystem|Client 1",
				"Organization": `GP Connect Assurance ["GPCA" "Assurance"] true GPCA0001 Organization/2 1`,
				"Practitioner": "unknown 1970-01-01 true AssurancePractitioner 1 1",
			}[typ]
			if got != want {
				t.Fatalf("modelled elements decoded as %q, want %q", got, want)
			}
		})
	}
}

// TestElementTablesAreSTU3 checks the decoder's element tables against the
// STU3 element lists above, both ways: every STU3 element is accepted and
// nothing else is.
func TestElementTablesAreSTU3(t *testing.T) {
	for _, def := range []*resourceDef{deviceDef, organizationDef, practitionerDef} {
		want := map[string]bool{"id": true}
		for _, m := range append(slices.Clone(stu3DomainMembers), stu3Members[def.typ]...) {
			want[m.name] = true
		}
		for name, m := range def.members {
			switch {
			case m.refuse != "":
				if name != "modifierExtension" {
					t.Errorf("%s: %s refused", def.typ, name)
				}
			case !want[name]:
				t.Errorf("%s: %s accepted but not an STU3 element", def.typ, name)
			}
			delete(want, name)
		}
		for name := range want {
			t.Errorf("%s: STU3 element %s not accepted", def.typ, name)
		}
	}
}

// TestResourceClaimMessages checks the diagnostics of refused resource
// claims name the fault.
func TestResourceClaimMessages(t *testing.T) {
	cases := []struct {
		rule string
		auth func(testing.TB) string
		want string
	}{
		{"modifierExtension", device(set("modifierExtension", `[{"url":"https://example.org/m","valueBoolean":true}]`)),
			"requesting_device is not a valid FHIR Device: element modifierExtension: modifier extensions are not supported"},
		{"invalidField", pract(set("invalidField", `"x"`)), "requesting_practitioner is not a valid FHIR Practitioner: element invalidField: unknown element"},
		{"array where 0..1", device(set("type", `[]`)), "element type: must be a JSON object, not a JSON array"},
		{"object where 0..*", device(set("note", `{}`)), "element note: must be a JSON array, not a JSON object"},
		{"bad array item", device(set("note", `[{},"x"]`)), "element note[1]: must be a JSON object, not a JSON string"},
		{"null", device(set("url", `null`)), "element url: null is not allowed in FHIR JSON"},
		{"bad _name item", org(set("_alias", `[null,1]`)), "element _alias[1]: must be a JSON object, not a JSON number"},
		{"resourceType first", device(set("modifierExtension", `[]`), set("resourceType", `"Patient"`)),
			`requesting_device must be a FHIR Device resource, got resourceType "Patient"`},
	}
	for _, tc := range cases {
		t.Run(tc.rule, func(t *testing.T) {
			_, err := (&Verifier{Now: fixedClock}).Verify(tc.auth(t))
			var ae *Error
			if !errors.As(err, &ae) || ae.Code != gpconnect.InvalidResource || !strings.Contains(ae.Message, tc.want) {
				t.Fatalf("got %v, want INVALID_RESOURCE with %q", err, tc.want)
			}
		})
	}
}

// TestNewResourceDefChecksStruct checks that a fhir struct that disagrees
// with the STU3 table stops the package from initialising.
func TestNewResourceDefChecksStruct(t *testing.T) {
	type extraField struct {
		ResourceType string `json:"resourceType"`
		Foo          string `json:"foo"`
	}
	type singleIdentifier struct {
		ResourceType string           `json:"resourceType"`
		Identifier   *fhir.Identifier `json:"identifier"`
	}
	type boolAsString struct {
		ResourceType string `json:"resourceType"`
		Active       string `json:"active"`
	}
	type ok struct {
		ResourceType string            `json:"resourceType"`
		Active       *bool             `json:"active"`
		Identifier   []fhir.Identifier `json:"identifier"`
		Alias        []string          `json:"alias"`
	}
	cases := []struct {
		rule  string
		t     reflect.Type
		panic bool
	}{
		{"field not in STU3", reflect.TypeFor[extraField](), true},
		{"0..* element as a single value", reflect.TypeFor[singleIdentifier](), true},
		{"boolean element as a string", reflect.TypeFor[boolAsString](), true},
		{"matching struct", reflect.TypeFor[ok](), false},
	}
	for _, tc := range cases {
		t.Run(tc.rule, func(t *testing.T) {
			defer func() {
				if r := recover(); (r != nil) != tc.panic {
					t.Fatalf("panic %v, want panic %v", r, tc.panic)
				}
			}()
			newResourceDef("Organization", tc.t, stu3DomainResource, stu3Organization)
		})
	}
}
