package fhir

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// roundTripSamples are the realistic documents under testdata/stu3, each
// JSON → struct → XML → struct → JSON.
var roundTripSamples = []string{
	"appointment.json",
	"searchset.json",
	"operationoutcome.json",
	"patient.json",
	"parameters.json",
	"capabilitystatement.json",
}

func readSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "stu3", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sampleXML decodes a JSON sample and encodes it as XML.
func sampleXML(t testing.TB, name string) []byte {
	t.Helper()
	r, err := UnmarshalResource(readSample(t, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	x, err := MarshalXML(r)
	if err != nil {
		t.Fatalf("%s: MarshalXML: %v", name, err)
	}
	return x
}

func jsonValue(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestXMLRoundTrip(t *testing.T) {
	for _, name := range roundTripSamples {
		t.Run(name, func(t *testing.T) {
			orig := readSample(t, name)
			r1, err := UnmarshalResource(orig)
			if err != nil {
				t.Fatal(err)
			}
			x, err := MarshalXML(r1)
			if err != nil {
				t.Fatalf("MarshalXML: %v", err)
			}
			r2, err := DecodeXML(x, r1.GetResourceType())
			if err != nil {
				t.Fatalf("DecodeXML: %v\n%s", err, x)
			}
			j1, err := json.Marshal(r1)
			if err != nil {
				t.Fatal(err)
			}
			j2, err := json.Marshal(r2)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(j1, j2) {
				t.Errorf("JSON after XML round trip differs\nwant %s\ngot  %s\nxml  %s", j1, j2, x)
			}
			if !reflect.DeepEqual(jsonValue(t, orig), jsonValue(t, j2)) {
				t.Errorf("JSON after XML round trip differs from the original\ngot %s", j2)
			}
			x2, err := MarshalXML(r2)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(x, x2) {
				t.Errorf("XML not stable\nfirst  %s\nsecond %s", x, x2)
			}
		})
	}
}

func TestMarshalXMLSnippets(t *testing.T) {
	x := string(sampleXML(t, "appointment.json"))
	for _, want := range []string{
		`<Appointment xmlns="http://hl7.org/fhir"><id value="148"/><meta><versionId value="1709547300000"/>`,
		`<text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml"><p>Appointment for <b>Mr Jones</b> &amp; carer</p><br/><p class="note">Room 2</p></div></text>`,
		`<contained><Organization><id value="1"/><meta><profile value="https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-GPC-Organization-1"/></meta>`,
		`<name value="Urgent Care Hub &lt;North&gt; &amp; &quot;East&quot;"/>`,
		`</Organization></contained><extension url="https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-BookingOrganisation-1"><valueReference><reference value="#1"/></valueReference></extension>`,
		`<extension url="https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-DeliveryChannel-2"><valueCode value="In-person"/></extension>`,
		`<valueString value="Patient feels better&#xA;and cancelled by phone"/>`,
		`<slot><reference value="Slot/1001"/></slot><slot><reference value="Slot/1002"/></slot>`,
		`<participant><actor><reference value="Patient/2"/></actor><status value="accepted"/></participant>`,
	} {
		if !strings.Contains(x, want) {
			t.Errorf("XML lacks %s\nin %s", want, x)
		}
	}
	if strings.Contains(x, "resourceType") {
		t.Errorf("resourceType written as XML: %s", x)
	}

	b := string(sampleXML(t, "searchset.json"))
	for _, want := range []string{
		`<Bundle xmlns="http://hl7.org/fhir"><id value="b1d7c2a0-3f5e-4c55-9a3c-0e9f6a1b2c3d"/>`,
		`<type value="searchset"/><entry><fullUrl value="https://gpconnect.example.nhs.uk/A20047/STU3/1/gpconnect/Slot/1001"/><resource><Slot><id value="1001"/>`,
		`</Slot></resource><search><mode value="match"/></search></entry>`,
		`<address><line value="1 Riverside Way"/><line value="Upper Town"/><city value="Leeds"/>`,
	} {
		if !strings.Contains(b, want) {
			t.Errorf("XML lacks %s\nin %s", want, b)
		}
	}

	p := string(sampleXML(t, "parameters.json"))
	if want := `<Parameters xmlns="http://hl7.org/fhir"><parameter><name value="registerPatient"/><resource><Patient><meta>`; !strings.HasPrefix(p, want) {
		t.Errorf("got %s, want prefix %s", p, want)
	}
}

func TestMarshalXMLMetaExtensionFirst(t *testing.T) {
	s := &Slot{ResourceType: "Slot", ID: "1", Meta: &Meta{
		VersionID: "2",
		Extension: []Extension{{URL: "http://example.org/x", ValueString: ptr("y")}},
	}}
	x, err := MarshalXML(s)
	if err != nil {
		t.Fatal(err)
	}
	want := `<Slot xmlns="http://hl7.org/fhir"><id value="1"/><meta><extension url="http://example.org/x"><valueString value="y"/></extension><versionId value="2"/></meta></Slot>`
	if string(x) != want {
		t.Errorf("got  %s\nwant %s", x, want)
	}
}

func ptr[T any](v T) *T { return &v }

func TestMarshalXMLEmptySearchset(t *testing.T) {
	x, err := MarshalXML(NewSearchset())
	if err != nil {
		t.Fatal(err)
	}
	if want := `<Bundle xmlns="http://hl7.org/fhir"><type value="searchset"/></Bundle>`; string(x) != want {
		t.Errorf("got %s, want %s", x, want)
	}
	r, err := UnmarshalXML(x)
	if err != nil {
		t.Fatal(err)
	}
	j, _ := json.Marshal(r)
	if want := `{"resourceType":"Bundle","type":"searchset","entry":[]}`; string(j) != want {
		t.Errorf("got %s, want %s", j, want)
	}
}

func TestXMLValues(t *testing.T) {
	in := &Bundle{ResourceType: "Bundle", Type: "searchset", Total: ptr(0), Entry: []BundleEntry{{
		Resource: &Patient{
			ResourceType:     "Patient",
			Name:             []HumanName{{Given: []string{"A", "", "C"}}},
			Telecom:          []ContactPoint{{Rank: ptr(-3)}},
			DeceasedBoolean:  ptr(false),
			DeceasedDateTime: "",
			Extension: []Extension{
				{URL: "u", ValueString: ptr("")},
				{URL: "v", ValueString: ptr("line1\r\nline2\ttab 'q' \"dq\" ]]> é 😀")},
				{URL: "w", ValueInteger: ptr(0)},
			},
		},
		Search: &BundleEntrySearch{Mode: "match", Score: ptr(0.125)},
	}, {
		Search: &BundleEntrySearch{Score: ptr(1e-7)},
	}}}
	x, err := MarshalXML(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`<total value="0"/>`,
		`<given value="A"/><given/><given value="C"/>`,
		`<rank value="-3"/>`,
		`<deceasedBoolean value="false"/>`,
		`<extension url="u"><valueString/></extension>`,
		`<valueString value="line1&#xD;&#xA;line2&#x9;tab 'q' &quot;dq&quot; ]]&gt; é 😀"/>`,
		`<valueInteger value="0"/>`,
		`<score value="0.125"/>`,
		`<score value="1e-7"/>`,
	} {
		if !strings.Contains(string(x), want) {
			t.Errorf("XML lacks %s\nin %s", want, x)
		}
	}
	out, err := UnmarshalXML(x)
	if err != nil {
		t.Fatal(err)
	}
	j1, _ := json.Marshal(in)
	j2, _ := json.Marshal(out)
	if !bytes.Equal(j1, j2) {
		t.Errorf("round trip differs\nwant %s\ngot  %s", j1, j2)
	}
}

func TestUnmarshalXMLHandWritten(t *testing.T) {
	doc := `<?xml version="1.0" encoding="UTF-8"?>
<!-- an appointment, with the things real documents have -->
<f:Appointment xmlns:f="http://hl7.org/fhir" xmlns:h="http://www.w3.org/1999/xhtml">
  <f:id value="148"/>
  <f:text>
    <f:status value="generated"/>
    <h:div><h:p title='a "b"'>Booked <!-- no --> slot &amp; more<h:br/></h:p></h:div>
  </f:text>
  <f:extension url="https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-DeliveryChannel-2">
    <f:valueCode value="Video">
      <f:extension url="http://example.org/primitive-extension"><f:valueString value="ignored"/></f:extension>
    </f:valueCode>
  </f:extension>
  <f:unknownElement value="x"><f:deeper/></f:unknownElement>
  <f:status value="booked"/>
  <f:priority value="-0"/>
  <f:start value="2024-03-26T09:00:00+00:00"/>
  <f:end value="2024-03-26T09:10:00+00:00"/>
  <f:slot id="element-id-ignored"><f:reference value="Slot/1001"/></f:slot>
  <?some-processing-instruction?>
  <f:participant><f:actor><f:reference value="Patient/2"/></f:actor><f:status value="accepted"/></f:participant>
</f:Appointment>
`
	r, err := DecodeXML([]byte("\xef\xbb\xbf"+doc), "Appointment")
	if err != nil {
		t.Fatal(err)
	}
	a, ok := r.(*Appointment)
	if !ok {
		t.Fatalf("got %T", r)
	}
	if a.ResourceType != "Appointment" || a.ID != "148" || a.Status != "booked" || a.Start != "2024-03-26T09:00:00+00:00" ||
		a.Priority == nil || *a.Priority != 0 || len(a.Slot) != 1 || a.Slot[0].Reference != "Slot/1001" ||
		len(a.Participant) != 1 || a.Participant[0].Actor.Reference != "Patient/2" {
		j, _ := json.Marshal(a)
		t.Errorf("decoded %s", j)
	}
	if len(a.Extension) != 1 || a.Extension[0].ValueCode == nil || *a.Extension[0].ValueCode != "Video" ||
		a.Extension[0].URL != "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-DeliveryChannel-2" {
		t.Errorf("extension %+v", a.Extension)
	}
	wantDiv := `<div xmlns="http://www.w3.org/1999/xhtml"><p title="a &quot;b&quot;">Booked  slot &amp; more<br/></p></div>`
	if a.Text == nil || a.Text.Div != wantDiv {
		t.Errorf("div = %+v, want %q", a.Text, wantDiv)
	}
	if _, err := DecodeXML([]byte(doc), "Slot"); err == nil || !strings.Contains(err.Error(), "expected Slot, got Appointment") {
		t.Errorf("DecodeXML with the wrong type: %v", err)
	}
}

func TestUnmarshalXMLRejects(t *testing.T) {
	const ns = ` xmlns="http://hl7.org/fhir"`
	deep := "<Patient" + ns + ">" + strings.Repeat(`<extension url="u">`, 70) + strings.Repeat("</extension>", 70) + "</Patient>"
	deepUnknown := "<Patient" + ns + "><foo>" + strings.Repeat("<a>", 70) + strings.Repeat("</a>", 70) + "</foo></Patient>"
	for name, doc := range map[string]string{
		"empty":             ``,
		"not xml":           `{"resourceType":"Slot"}`,
		"no namespace":      `<Slot><id value="1"/></Slot>`,
		"wrong namespace":   `<Slot xmlns="http://hl7.org/fhir/r4"><id value="1"/></Slot>`,
		"child namespace":   `<Slot` + ns + `><id xmlns="urn:x" value="1"/></Slot>`,
		"unknown child ns":  `<Slot` + ns + `><x:foo xmlns:x="urn:x"/></Slot>`,
		"div namespace":     `<Appointment` + ns + `><text><div><p>x</p></div></text></Appointment>`,
		"div content ns":    `<Appointment` + ns + `><text><div xmlns="http://www.w3.org/1999/xhtml"><svg xmlns="http://www.w3.org/2000/svg"/></div></text></Appointment>`,
		"div repeated attr": `<Appointment` + ns + `><text><div xmlns="http://www.w3.org/1999/xhtml"><p a="1" a="2"/></div></text></Appointment>`,
		"unclosed":          `<Slot` + ns + `><id value="1"/>`,
		"mismatched":        `<Slot` + ns + `><id value="1"></status></Slot>`,
		"doctype":           `<!DOCTYPE Slot [<!ENTITY x "y">]><Slot` + ns + `/>`,
		"entity":            `<Slot` + ns + `><comment value="&x;"/></Slot>`,
		"external entity":   `<!DOCTYPE Slot SYSTEM "file:///etc/passwd"><Slot` + ns + `/>`,
		"latin1":            `<?xml version="1.0" encoding="ISO-8859-1"?><Slot` + ns + `/>`,
		"invalid utf8":      "<Slot" + ns + "><comment value=\"\xff\"/></Slot>",
		"control char":      `<Slot` + ns + `><comment value="&#1;"/></Slot>`,
		// encoding/xml reads halves of a surrogate pair as U+FFFD, and keeps
		// both copies of a repeated attribute: neither is well-formed XML.
		"surrogate refs":     `<Slot` + ns + `><comment value="&#xD83D;&#xDE00;"/></Slot>`,
		"surrogate decimal":  `<Slot` + ns + `><comment value="&#55357;"/></Slot>`,
		"surrogate padded":   `<Slot` + ns + `><comment value="a&#x000000D83D;b"/></Slot>`,
		"surrogate padded10": `<Slot` + ns + `><comment value="a&#0000000055357;b"/></Slot>`,
		"noncharacter ref":   `<Slot` + ns + `><comment value="&#xFFFF;"/></Slot>`,
		"beyond unicode":     `<Slot` + ns + `><comment value="&#x110000;"/></Slot>`,
		"repeated attr":      `<Slot` + ns + `><comment value="a" value="b"/></Slot>`,
		"bad int":            `<Patient` + ns + `><telecom><rank value="abc"/></telecom></Patient>`,
		"int leading zero":   `<Patient` + ns + `><telecom><rank value="01"/></telecom></Patient>`,
		"int plus":           `<Patient` + ns + `><telecom><rank value="+1"/></telecom></Patient>`,
		"int overflow":       `<Patient` + ns + `><telecom><rank value="99999999999999999999"/></telecom></Patient>`,
		"bad bool":           `<Patient` + ns + `><active value="yes"/></Patient>`,
		"bad bool case":      `<Patient` + ns + `><active value="True"/></Patient>`,
		"bad decimal":        `<Bundle` + ns + `><entry><search><score value="NaN"/></search></entry></Bundle>`,
		"decimal inf":        `<Bundle` + ns + `><entry><search><score value="1e999"/></search></entry></Bundle>`,
		"decimal hex":        `<Bundle` + ns + `><entry><search><score value="0x1p3"/></search></entry></Bundle>`,
		"repeated single":    `<Slot` + ns + `><status value="free"/><status value="busy"/></Slot>`,
		"repeated complex":   `<Slot` + ns + `><schedule/><schedule/></Slot>`,
		"text content":       `<Slot` + ns + `><status value="free"/>free</Slot>`,
		"text in wrapper":    `<Appointment` + ns + `><contained>x<Organization/></contained></Appointment>`,
		"two resources":      `<Appointment` + ns + `><contained><Organization/><Organization/></contained></Appointment>`,
		"unsupported type":   `<Encounter` + ns + `/>`,
		"unsupported nested": `<Bundle` + ns + `><entry><resource><Encounter/></resource></entry></Bundle>`,
		"two roots":          `<Slot` + ns + `/><Slot` + ns + `/>`,
		"trailing text":      `<Slot` + ns + `/>x`,
		"leading text":       `x<Slot` + ns + `/>`,
		"too deep":           deep,
		"too deep unknown":   deepUnknown,
	} {
		t.Run(name, func(t *testing.T) {
			r, err := UnmarshalXML([]byte(doc))
			if err == nil {
				j, _ := json.Marshal(r)
				t.Fatalf("no error; decoded %s", j)
			}
			if !strings.HasPrefix(err.Error(), "fhir: ") {
				t.Errorf("error %q lacks the fhir: prefix", err)
			}
		})
	}
}

func TestUnmarshalXMLDepthLimitIsInclusive(t *testing.T) {
	// The root is depth 1, each extension one more, its url is an attribute.
	n := maxXMLDepth - 1
	doc := `<Patient xmlns="http://hl7.org/fhir">` + strings.Repeat(`<extension url="u">`, n) + strings.Repeat("</extension>", n) + "</Patient>"
	r, err := UnmarshalXML([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := MarshalXML(r); err != nil {
		t.Fatalf("what decodes must encode: %v", err)
	}
}

func TestMarshalXMLRejects(t *testing.T) {
	nested := Extension{URL: "u"}
	for i := 0; i < 80; i++ {
		nested = Extension{URL: "u", Extension: []Extension{nested}}
	}
	for name, r := range map[string]Resource{
		"nil":             nil,
		"nil contained":   &Appointment{Contained: ResourceList{nil, (*Organization)(nil), &Organization{Name: "\x00"}}},
		"typed nil":       (*Slot)(nil),
		"control char":    &Slot{Comment: "a\x01b"},
		"invalid utf8":    &Slot{Comment: "a\xffb"},
		"attr char":       &Slot{Extension: []Extension{{URL: "a\x00"}}},
		"div not xhtml":   &Appointment{Text: &Narrative{Status: "generated", Div: "<div>x</div>"}},
		"div not element": &Appointment{Text: &Narrative{Status: "generated", Div: "plain text"}},
		"div malformed":   &Appointment{Text: &Narrative{Status: "generated", Div: `<div xmlns="http://www.w3.org/1999/xhtml"><p>x</div>`}},
		"div entity":      &Appointment{Text: &Narrative{Status: "generated", Div: `<div xmlns="http://www.w3.org/1999/xhtml">&nbsp;</div>`}},
		"div trailing":    &Appointment{Text: &Narrative{Status: "generated", Div: `<div xmlns="http://www.w3.org/1999/xhtml"/><p/>`}},
		"div not div":     &Appointment{Text: &Narrative{Status: "generated", Div: `<p xmlns="http://www.w3.org/1999/xhtml"/>`}},
		"too deep":        &Patient{Extension: []Extension{nested}},
		"raw bad type":    &RawResource{Type: "a<b", JSON: []byte(`{"resourceType":"a<b"}`)},
		"raw bad json":    &RawResource{Type: "Encounter", JSON: []byte(`{"resourceType":`)},
		"raw bad key":     &RawResource{Type: "Encounter", JSON: []byte(`{"resourceType":"Encounter","a b":1}`)},
		"raw nested":      &RawResource{Type: "Encounter", JSON: []byte(`{"resourceType":"Encounter","a":[[1]]}`)},
		"nan":             &Bundle{Entry: []BundleEntry{{Search: &BundleEntrySearch{Score: ptr(0 * -1 / zero())}}}},
	} {
		t.Run(name, func(t *testing.T) {
			x, err := MarshalXML(r)
			if err == nil {
				t.Fatalf("no error; wrote %s", x)
			}
			if !strings.HasPrefix(err.Error(), "fhir: ") {
				t.Errorf("error %q lacks the fhir: prefix", err)
			}
		})
	}
}

func zero() float64 { return 0 }

func TestMarshalXMLDivCanonical(t *testing.T) {
	for in, want := range map[string]string{
		`<div xmlns="http://www.w3.org/1999/xhtml"><p>a &gt; b</p></div>`:                       `<div xmlns="http://www.w3.org/1999/xhtml"><p>a &gt; b</p></div>`,
		"  <div xmlns='http://www.w3.org/1999/xhtml' lang=\"en\"  ><p/><p></p></div>\n":         `<div xmlns="http://www.w3.org/1999/xhtml" lang="en"><p/><p></p></div>`,
		`<div xml:lang="en" xmlns="http://www.w3.org/1999/xhtml"><![CDATA[<x>]]><!--c--></div>`: `<div xmlns="http://www.w3.org/1999/xhtml" xml:lang="en">&lt;x&gt;</div>`,
		`<h:div xmlns:h="http://www.w3.org/1999/xhtml"><h:b>x</h:b></h:div>`:                    `<div xmlns="http://www.w3.org/1999/xhtml"><b>x</b></div>`,
		`<div xmlns="http://www.w3.org/1999/xhtml"/>`:                                           `<div xmlns="http://www.w3.org/1999/xhtml"/>`,
	} {
		x, err := MarshalXML(&Appointment{Text: &Narrative{Status: "generated", Div: in}})
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		wantXML := `<Appointment xmlns="http://hl7.org/fhir"><text><status value="generated"/>` + want + `</text></Appointment>`
		if string(x) != wantXML {
			t.Errorf("got  %s\nwant %s", x, wantXML)
		}
		r, err := UnmarshalXML(x)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.(*Appointment).Text.Div; got != want {
			t.Errorf("decoded div %s, want %s", got, want)
		}
	}
}

func TestMarshalXMLRawResource(t *testing.T) {
	raw := `{
  "resourceType": "Encounter",
  "status": "finished",
  "_status": {"id": "s1", "extension": [{"url": "http://example.org/e", "valueString": "x"}]},
  "extension": [{"url": "http://example.org/ext", "valueBoolean": true}],
  "id": "e1",
  "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">E &amp; F</div>"},
  "contained": [{"resourceType": "Location", "id": "l", "name": "Room"}],
  "class": {"system": "http://hl7.org/fhir/v3/ActCode", "code": "AMB"},
  "length": {"value": 20.50, "unit": "min"},
  "participant": [{"individual": {"reference": "Practitioner/3"}}, {"id": "p2"}],
  "_priority": {"extension": [{"url": "http://example.org/p", "valueCode": "a"}]},
  "reason": [],
  "period": null
}`
	b := &Bundle{ResourceType: "Bundle", Type: "searchset", Entry: []BundleEntry{{Resource: &RawResource{Type: "Encounter", JSON: []byte(raw)}}}}
	x, err := MarshalXML(b)
	if err != nil {
		t.Fatal(err)
	}
	want := `<Bundle xmlns="http://hl7.org/fhir"><type value="searchset"/><entry><resource><Encounter>` +
		`<id value="e1"/>` +
		`<text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml">E &amp; F</div></text>` +
		`<contained><Location><id value="l"/><name value="Room"/></Location></contained>` +
		`<extension url="http://example.org/ext"><valueBoolean value="true"/></extension>` +
		`<status id="s1" value="finished"><extension url="http://example.org/e"><valueString value="x"/></extension></status>` +
		`<class><system value="http://hl7.org/fhir/v3/ActCode"/><code value="AMB"/></class>` +
		`<length><value value="20.50"/><unit value="min"/></length>` +
		`<participant><individual><reference value="Practitioner/3"/></individual></participant><participant id="p2"/>` +
		`<priority><extension url="http://example.org/p"><valueCode value="a"/></extension></priority>` +
		`</Encounter></resource></entry></Bundle>`
	if string(x) != want {
		t.Errorf("got  %s\nwant %s", x, want)
	}
	if _, err := UnmarshalXML(x); err == nil || !strings.Contains(err.Error(), `unsupported resource type "Encounter"`) {
		t.Errorf("decoding an unknown type: %v", err)
	}
}

func TestMarshalXMLSkipsNilResources(t *testing.T) {
	a := &Appointment{Contained: ResourceList{nil, (*Organization)(nil), &Organization{ID: "1"}}}
	b := &Bundle{Type: "searchset", Entry: []BundleEntry{{FullURL: "urn:x", Resource: (*Slot)(nil)}}}
	for r, want := range map[Resource]string{
		a: `<Appointment xmlns="http://hl7.org/fhir"><contained><Organization><id value="1"/></Organization></contained></Appointment>`,
		b: `<Bundle xmlns="http://hl7.org/fhir"><type value="searchset"/><entry><fullUrl value="urn:x"/></entry></Bundle>`,
	} {
		x, err := MarshalXML(r)
		if err != nil {
			t.Fatal(err)
		}
		if string(x) != want {
			t.Errorf("got  %s\nwant %s", x, want)
		}
	}
}

func TestXMLErrorPath(t *testing.T) {
	doc := `<Appointment xmlns="http://hl7.org/fhir"><participant><actor/></participant><participant><type><coding><userSelected value="maybe"/></coding></type></participant></Appointment>`
	_, err := UnmarshalXML([]byte(doc))
	if err == nil {
		t.Fatal("no error")
	}
	if want := "fhir: xml: Appointment.participant.type.coding.userSelected: invalid boolean \"maybe\""; err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
}

func BenchmarkMarshalXML(b *testing.B) {
	r, err := UnmarshalResource(readSample(b, "searchset.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := MarshalXML(r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalXML(b *testing.B) {
	x := sampleXML(b, "searchset.json")
	b.SetBytes(int64(len(x)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := UnmarshalXML(x); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJSONForComparison(b *testing.B) {
	data := readSample(b, "searchset.json")
	r, err := UnmarshalResource(data)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := UnmarshalResource(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// knownResourceTypes lists every type NewResource knows.
var knownResourceTypes = []string{
	"Slot", "Schedule", "Appointment", "Organization", "Practitioner", "Location", "Patient",
	"Device", "Parameters", "HealthcareService", "Bundle", "OperationOutcome", "CapabilityStatement",
}

// fill sets every field of v to a non-zero value, recursing into nested
// types down to depth 0, so that a round trip exercises every field.
func fill(t *testing.T, v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("s-" + v.Type().Name() + "-" + strings.Repeat("x", max(depth, 0)))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int:
		v.SetInt(int64(7 + depth))
	case reflect.Float64:
		v.SetFloat(2.5)
	case reflect.Pointer:
		if depth <= 0 {
			return
		}
		n := reflect.New(v.Type().Elem())
		fill(t, n.Elem(), depth)
		v.Set(n)
	case reflect.Slice:
		if depth <= 0 {
			return
		}
		if v.Type() == reflect.TypeOf(ResourceList(nil)) {
			org := &Organization{}
			fill(t, reflect.ValueOf(org).Elem(), depth-1)
			v.Set(reflect.ValueOf(ResourceList{org, org}))
			return
		}
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := 0; i < 2; i++ {
			fill(t, s.Index(i), depth-1)
		}
		v.Set(s)
	case reflect.Interface:
		if depth <= 0 {
			return
		}
		p := &Patient{}
		fill(t, reflect.ValueOf(p).Elem(), depth-1)
		v.Set(reflect.ValueOf(p))
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			sf := v.Type().Field(i)
			switch {
			case !sf.IsExported():
				// Decoder bookkeeping (Extension.otherValues), not an element.
			case sf.Tag.Get("json") == "-":
				// Not an element (Appointment.Source, ETag): neither codec writes it.
			case sf.Name == "ResourceType":
				v.Field(i).SetString(strings.TrimPrefix(v.Type().Name(), "*"))
			case v.Type() == reflect.TypeOf(Narrative{}) && sf.Name == "Div":
				v.Field(i).SetString(`<div xmlns="http://www.w3.org/1999/xhtml"><p>filled</p></div>`)
			default:
				fill(t, v.Field(i), depth-1)
			}
		}
	default:
		t.Fatalf("fill: unexpected kind %s", v.Kind())
	}
}

func TestXMLRoundTripEveryField(t *testing.T) {
	for _, name := range knownResourceTypes {
		t.Run(name, func(t *testing.T) {
			r := NewResource(name)
			fill(t, reflect.ValueOf(r).Elem(), 6)
			j1, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			x, err := MarshalXML(r)
			if err != nil {
				t.Fatal(err)
			}
			r2, err := DecodeXML(x, name)
			if err != nil {
				t.Fatalf("%v\n%s", err, x)
			}
			j2, err := json.Marshal(r2)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(j1, j2) {
				t.Errorf("round trip differs\nwant %s\ngot  %s\nxml  %s", j1, j2, x)
			}
			// Every JSON member name appears as an element or attribute.
			var walk func(v any)
			walk = func(v any) {
				switch v := v.(type) {
				case map[string]any:
					for k, c := range v {
						if k != "resourceType" && !bytes.Contains(x, []byte("<"+k)) && !bytes.Contains(x, []byte(" "+k+`="`)) {
							t.Errorf("%s missing from the XML", k)
						}
						walk(c)
					}
				case []any:
					for _, c := range v {
						walk(c)
					}
				}
			}
			walk(jsonValue(t, j1))
		})
	}
}

// TestDecodeStrictEmptyAndValueless: a request body may not send an element
// empty, nor an extension with neither a value nor nested extensions
// (FHIR ext-1), in XML as in JSON.
func TestDecodeStrictEmptyAndValueless(t *testing.T) {
	for name, c := range map[string]struct {
		body string
		xml  bool
	}{
		"xml empty value":   {`<Appointment xmlns="http://hl7.org/fhir"><status value="booked"/><comment value=""/></Appointment>`, true},
		"xml valueless ext": {`<Appointment xmlns="http://hl7.org/fhir"><extension url="http://example.org/x"/><status value="booked"/></Appointment>`, true},
		// As "serviceCategory":{} and "contained":[{}] are refused in JSON
		// (a resource's own members; deeper ones are left to their readers).
		"xml empty complex":                 {`<Appointment xmlns="http://hl7.org/fhir"><status value="booked"/><serviceCategory/></Appointment>`, true},
		"xml empty wrapper":                 {`<Appointment xmlns="http://hl7.org/fhir"><contained/><status value="booked"/></Appointment>`, true},
		"json empty string":                 {`{"resourceType":"Appointment","status":"booked","comment":""}`, false},
		"json null":                         {`{"resourceType":"Appointment","status":"booked","comment":null}`, false},
		"json empty list":                   {`{"resourceType":"Appointment","status":"booked","slot":[]}`, false},
		"json valueless ext":                {`{"resourceType":"Appointment","status":"booked","extension":[{"url":"http://example.org/x"}]}`, false},
		"json contained ext":                {`{"resourceType":"Appointment","status":"booked","contained":[{"resourceType":"Organization","id":"1","extension":[{"url":"http://example.org/x"}]}]}`, false},
		"json resourceType in another case": {`{"resourcetype":"Appointment","status":"booked","invalidField":1}`, false},
		"json contained null":               {`{"resourceType":"Appointment","status":"booked","contained":[{"resourceType":"Organization","id":"1","name":null}]}`, false},
	} {
		var err error
		if c.xml {
			_, err = DecodeXMLStrict([]byte(c.body), "Appointment")
		} else {
			_, err = DecodeJSONStrict([]byte(c.body), "Appointment")
		}
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	for name, c := range map[string]struct {
		body string
		xml  bool
	}{
		"xml nested ext":        {`<Appointment xmlns="http://hl7.org/fhir"><extension url="http://example.org/x"><extension url="a"><valueString value="b"/></extension></extension><status value="booked"/></Appointment>`, true},
		"json other value type": {`{"resourceType":"Appointment","status":"booked","extension":[{"url":"http://example.org/x","valueDecimal":1.5}]}`, false},
		"json _value only":      {`{"resourceType":"Appointment","status":"booked","extension":[{"url":"http://example.org/x","_valueString":{"extension":[{"url":"a","valueString":"b"}]}}]}`, false},
		// An extension's own value is judged by whoever reads the extension.
		"xml extension value empty": {`<Appointment xmlns="http://hl7.org/fhir"><extension url="http://example.org/x"><valueString value=""/></extension><status value="booked"/></Appointment>`, true},
		// Deeper than a resource's own elements, as "actor":{} in JSON.
		"xml nested empty":  {`<Appointment xmlns="http://hl7.org/fhir"><status value="booked"/><participant><actor/></participant></Appointment>`, true},
		"json nested empty": {`{"resourceType":"Appointment","status":"booked","participant":[{"actor":{}}]}`, false},
	} {
		var err error
		if c.xml {
			_, err = DecodeXMLStrict([]byte(c.body), "Appointment")
		} else {
			_, err = DecodeJSONStrict([]byte(c.body), "Appointment")
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestXMLCharRefsKept: character references to real characters, beyond
// the BMP included, decode to those characters.
func TestXMLCharRefsKept(t *testing.T) {
	// Comments and processing instructions hold no references.
	r, err := UnmarshalXML([]byte(`<?xml version="1.0"?><?pi a&#1;b;?><Slot xmlns="http://hl7.org/fhir"><!-- &#xD83D; --><comment value="caf&#233; &#x1F600; &#x9;x"/></Slot>`))
	if err != nil {
		t.Fatal(err)
	}
	if got := r.(*Slot).Comment; got != "café \U0001F600 \tx" {
		t.Errorf("comment %q", got)
	}
}
