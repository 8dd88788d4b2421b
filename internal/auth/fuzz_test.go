package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
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
	compareWithEncodingJSON(t, h, c)
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
// shape and skips them.
func compareWithEncodingJSON(t *testing.T, h string, c *Claims) {
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
}
