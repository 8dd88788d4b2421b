package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/fhir"

	"github.com/slotbridge/slotbridge/fhir/gpconnect"
)

// fuzzSeeds are Authorization header values: the default token and variants
// of it, valid and invalid. testdata/fuzz/FuzzVerify holds the same seeds.
func fuzzSeeds(t testing.TB) []string {
	t.Helper()
	var seeds []string
	for _, tc := range verifyCases {
		seeds = append(seeds, tc.auth(t))
	}
	return seeds
}

// FuzzVerify checks that Verify never panics, that every failure is an
// *Error with a Spine code GP Connect knows, and that every accepted token
// satisfies the claim invariants and survives re-minting.
func FuzzVerify(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		checkVerify(t, h)
	})
}

// FuzzVerifyPayload fuzzes the decoded payload JSON, which FuzzVerify only
// reaches through base64.
func FuzzVerifyPayload(f *testing.F) {
	f.Add(marshal(f, defaultPayload(f)))
	f.Add([]byte(`{"iss":"a","sub":"1","aud":"b","exp":1700000100,"iat":1699999800,"reason_for_request":"directcare","requested_scope":"patient/*.read","requesting_device":{"resourceType":"Device"},"requesting_organization":{"resourceType":"Organization","name":"n","identifier":[{"system":"http://fhir.nhs.net/Id/ods-organization-code","value":"X"}]},"requesting_practitioner":{"resourceType":"Practitioner","id":"1","identifier":[{"system":"https://fhir.nhs.uk/Id/sds-user-id","value":"UNK"}],"name":[{"family":"F"}]}}`))
	f.Add([]byte(`{"requesting_device":{"resourceType":"Device","identifier":[{"extension":[{"url":"u","extension":[{"url":"v","valueInteger":1.5}]}]}]}}`))
	f.Add([]byte(`{"\u0069ss":"\ud800","requested_record":null}`))
	f.Add([]byte(`{"requesting_device":{"resourceType":"Device","type":{"coding":[{"code":"c"}]},"note":[{"text":"n"}],"_model":{"id":"m"},"modifierExtension":[]},"requesting_organization":{"resourceType":"Organization","alias":["a",null],"_alias":[null,{"id":"x"}],"text":{"status":"generated","div":"<div/>"}}}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		checkVerify(t, bearer(payload))
	})
}

func checkVerify(t *testing.T, h string) {
	v := &Verifier{Now: fixedClock}
	c, err := v.Verify(h)
	if err != nil {
		var ae *Error
		if !errors.As(err, &ae) {
			t.Fatalf("error %v (%T) is not *auth.Error", err, err)
		}
		if ae.Code != gpconnect.BadRequest && ae.Code != gpconnect.InvalidResource {
			t.Fatalf("unexpected Spine code %q", ae.Code)
		}
		if !ae.Code.Known() || ae.Message == "" {
			t.Fatalf("bad error %#v", ae)
		}
		if c != nil {
			t.Fatal("claims returned with an error")
		}
		return
	}
	switch {
	case c == nil:
		t.Fatal("nil claims without an error")
	case c.Expires-c.IssuedAt != Lifetime || c.Expires <= testNow.Unix():
		t.Fatalf("accepted iat/exp %d/%d", c.IssuedAt, c.Expires)
	case c.Issuer == "" || c.Audience == "" || c.Subject == "" || c.Subject != c.Practitioner.ID:
		t.Fatalf("accepted iss/aud/sub %q/%q/%q", c.Issuer, c.Audience, c.Subject)
	case c.ReasonForRequest != ReasonDirectCare || !gpconnect.ValidScope(c.Scope):
		t.Fatalf("accepted reason/scope %q/%q", c.ReasonForRequest, c.Scope)
	case c.Device.ResourceType != "Device" || c.Organization.ResourceType != "Organization" || c.Practitioner.ResourceType != "Practitioner":
		t.Fatal("accepted a resource of the wrong type")
	case c.OrgODS() == "" || c.Organization.Name == "" || c.PractitionerSDSID() == "":
		t.Fatal("accepted a resource without its required content")
	}
	// The one-pass decoder must agree with encoding/json.
	if skipped := compareWithEncodingJSON(t, h, c); skipped {
		// The claims lost content inside an element that the structs do
		// not keep (an extension's valueDate, say), so a token minted from
		// them is not the same token and may not even be valid.
		return
	}
	// What Verify accepts, Mint must be able to reproduce.
	id := Identity{Issuer: c.Issuer, Audience: c.Audience, Device: c.Device, Organization: c.Organization, Practitioner: c.Practitioner}
	tok, err := Mint(id, c.Scope, time.Unix(c.IssuedAt, 0))
	if err != nil {
		t.Fatalf("re-mint: %v", err)
	}
	c2, err := v.Verify("Bearer " + tok)
	if err != nil {
		t.Fatalf("re-minted token refused: %v", err)
	}
	if c2.Issuer != c.Issuer || c2.Subject != c.Subject || c2.IssuedAt != c.IssuedAt || c2.OrgODS() != c.OrgODS() || c2.DeviceID() != c.DeviceID() {
		t.Fatalf("re-minted claims differ: %+v vs %+v", c2, c)
	}
}

// compareWithEncodingJSON decodes the resource claims of an accepted token
// with encoding/json (DisallowUnknownFields) and compares the results. The
// members the structs do not model are taken out first, after checking that
// each is one STU3 defines for the resource: the decoder only checks their
// shape and skips them. skipped reports members skipped inside elements.
func compareWithEncodingJSON(t *testing.T, h string, c *Claims) (skipped bool) {
	t.Helper()
	_, tok, _ := strings.Cut(h, " ")
	parts := strings.Split(strings.TrimLeft(tok, " "), ".")
	p, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(p, &raw); err != nil {
		t.Fatalf("encoding/json refuses an accepted payload: %v", err)
	}
	strict := func(claim string, def *resourceDef, dst any) {
		var members map[string]json.RawMessage
		if err := json.Unmarshal(raw[claim], &members); err != nil {
			t.Fatalf("encoding/json refuses accepted %s: %v", claim, err)
		}
		for name := range members {
			if name == "resourceType" {
				continue
			}
			m, ok := def.members[name]
			if !ok || m.refuse != "" {
				t.Fatalf("accepted %s has %q, which is not an STU3 %s element", claim, name, def.typ)
			}
			if m.field < 0 {
				delete(members, name)
			}
		}
		// Inside the modelled members, the decoder skips what STU3 allows
		// on any element but the structs leave out (id, extension, _name
		// siblings of primitives, extension values of other types); every
		// other member must be a struct field. Take those out too, then
		// compare strictly.
		for name, v := range members {
			f, ok := reflect.TypeOf(dst).Elem().FieldByNameFunc(func(n string) bool {
				sf, _ := reflect.TypeOf(dst).Elem().FieldByName(n)
				tag, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
				return tag == name
			})
			if !ok {
				continue
			}
			members[name] = stripUnmodelled(t, claim+"."+name, v, f.Type, &skipped)
		}
		modelled, err := json.Marshal(members)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(modelled))
		dec.DisallowUnknownFields()
		if err := dec.Decode(dst); err != nil {
			t.Fatalf("encoding/json refuses accepted %s: %v", claim, err)
		}
	}
	var (
		d  fhir.Device
		o  fhir.Organization
		pr fhir.Practitioner
	)
	strict("requesting_device", deviceDef, &d)
	strict("requesting_organization", organizationDef, &o)
	strict("requesting_practitioner", practitionerDef, &pr)
	if !reflect.DeepEqual(d, c.Device) || !reflect.DeepEqual(o, c.Organization) || !reflect.DeepEqual(pr, c.Practitioner) {
		t.Fatalf("decoders disagree:\n%+v\n%+v\n%+v\nvs\n%+v\n%+v\n%+v", d, o, pr, c.Device, c.Organization, c.Practitioner)
	}
	return skipped
}

// stripUnmodelled returns the JSON value v of Go type typ without the
// members the claims' decoder may skip inside an element, setting *skipped
// when it takes one out and failing the test for a member that is neither a
// field of the struct nor one of those.
func stripUnmodelled(t *testing.T, path string, v json.RawMessage, typ reflect.Type, skipped *bool) json.RawMessage {
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	switch typ.Kind() {
	case reflect.Slice:
		var items []json.RawMessage
		if typ.Elem().Kind() == reflect.Uint8 || json.Unmarshal(v, &items) != nil {
			return v
		}
		for i := range items {
			items[i] = stripUnmodelled(t, fmt.Sprintf("%s[%d]", path, i), items[i], typ.Elem(), skipped)
		}
		out, _ := json.Marshal(items)
		return out
	case reflect.Struct:
	default:
		return v
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(v, &obj) != nil {
		return v
	}
	fields := map[string]reflect.StructField{}
	for i := 0; i < typ.NumField(); i++ {
		sf := typ.Field(i)
		if name, _, _ := strings.Cut(sf.Tag.Get("json"), ","); name != "" && name != "-" {
			fields[name] = sf
		}
	}
	primitive := func(ft reflect.Type) bool {
		for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		switch ft.Kind() {
		case reflect.String, reflect.Bool, reflect.Int, reflect.Int64, reflect.Int32:
			return true
		}
		return false
	}
	for name, mv := range obj {
		if sf, ok := fields[name]; ok {
			obj[name] = stripUnmodelled(t, path+"."+name, mv, sf.Type, skipped)
			continue
		}
		base, sibling := strings.CutPrefix(name, "_")
		sf, baseOK := fields[base]
		switch {
		case name == "id" || name == "extension":
		case sibling && baseOK && primitive(sf.Type):
		case typ == reflect.TypeFor[fhir.Extension]() && strings.HasPrefix(name, "value") && len(name) > len("value"):
		default:
			t.Fatalf("accepted %s has %q, which is neither a field nor an element STU3 allows there", path, name)
		}
		delete(obj, name)
		*skipped = true
	}
	out, _ := json.Marshal(obj)
	return out
}
