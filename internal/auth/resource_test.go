package auth

import (
	"bytes"
	"encoding/json"
	"reflect"
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
  "extension": [{"url": "https://example.org/ext", "valueInteger": -7, "extension": [
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
	end, e := decodeResource("requesting_practitioner", richPractitioner, 0, "Practitioner", practitionerSchema, &got)
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
			_, e := decodeResource("requesting_practitioner", tc.json, 0, "Practitioner", practitionerSchema, &p)
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
	for _, s := range []*schema{deviceSchema, organizationSchema, practitionerSchema} {
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
