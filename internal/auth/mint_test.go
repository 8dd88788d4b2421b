package auth

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/fhir/gpconnect"
)

func TestMintShape(t *testing.T) {
	now := time.Unix(1700000000, 0)
	tok, err := Mint(DefaultTestIdentity(), gpconnect.ScopePatientRead, now)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || parts[2] != "" {
		t.Fatalf("token %q is not header.payload.", tok)
	}
	if strings.ContainsAny(tok, "=+/") {
		t.Fatalf("token uses padding or the standard alphabet: %q", tok)
	}
	h, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil || string(h) != `{"alg":"none","typ":"JWT"}` {
		t.Fatalf("header %q (%v)", h, err)
	}
	p, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(p, &got); err != nil {
		t.Fatal(err)
	}
	if got["iat"] != float64(1700000000) || got["exp"] != float64(1700000300) {
		t.Errorf("iat/exp = %v/%v", got["iat"], got["exp"])
	}
	if got["sub"] != "1" || got["requested_scope"] != "patient/*.read" || got["reason_for_request"] != "directcare" {
		t.Errorf("payload %s", p)
	}
	if _, ok := got["requested_record"]; ok {
		t.Error("requested_record present")
	}
	// The default device/organization/practitioner are the test pack's, verbatim.
	want := map[string]string{
		"requesting_device":       `{"resourceType":"Device","identifier":[{"system":"GPConnectTestSystem","value":"Client"}],"model":"v1","version":"1.1"}`,
		"requesting_organization": `{"resourceType":"Organization","identifier":[{"system":"https://fhir.nhs.uk/Id/ods-organization-code","value":"GPCA0001"}],"name":"GP Connect Assurance"}`,
		"requesting_practitioner": `{"resourceType":"Practitioner","id":"1","identifier":[{"system":"https://fhir.nhs.uk/Id/sds-user-id","value":"GCASDS0001"},{"system":"https://fhir.nhs.uk/Id/sds-role-profile-id","value":"112233445566"},{"system":"https://consumersupplier.com/Id/user-guid","value":"98ed4f78-814d-4266-8d5b-cde742f3093c"}],"name":[{"family":"AssurancePractitioner","given":["AssuranceTest"],"prefix":["Mr"]}]}`,
	}
	for claim, w := range want {
		if g := string(marshal(t, got[claim])); g != string(marshal(t, mustJSON(t, w))) {
			t.Errorf("%s = %s, want %s", claim, g, w)
		}
	}
}

func mustJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMintFillsResourceType(t *testing.T) {
	id := DefaultTestIdentity()
	id.Device.ResourceType, id.Organization.ResourceType, id.Practitioner.ResourceType = "", "", ""
	tok, err := Mint(id, gpconnect.ScopeOrgRead, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&Verifier{Now: fixedClock}).Verify("Bearer " + tok); err != nil {
		t.Fatal(err)
	}
	if DefaultTestIdentity().Device.ResourceType != "Device" {
		t.Fatal("DefaultTestIdentity was modified")
	}
}

func TestMintRefusesInvalidIdentity(t *testing.T) {
	cases := []struct {
		rule  string
		mut   func(id *Identity)
		scope gpconnect.Scope
	}{
		{"no issuer", func(id *Identity) { id.Issuer = "" }, gpconnect.ScopeOrgRead},
		{"no audience", func(id *Identity) { id.Audience = "" }, gpconnect.ScopeOrgRead},
		{"no practitioner id", func(id *Identity) { id.Practitioner.ID = "" }, gpconnect.ScopeOrgRead},
		{"organization without ODS code", func(id *Identity) { id.Organization.Identifier = nil }, gpconnect.ScopeOrgRead},
		{"practitioner without family name", func(id *Identity) { id.Practitioner.Name = nil }, gpconnect.ScopeOrgRead},
		{"wrong resourceType", func(id *Identity) { id.Device.ResourceType = "Patient" }, gpconnect.ScopeOrgRead},
		{"unknown scope", func(id *Identity) {}, "system/*.read"},
	}
	for _, tc := range cases {
		t.Run(tc.rule, func(t *testing.T) {
			id := DefaultTestIdentity()
			tc.mut(&id)
			if tok, err := Mint(id, tc.scope, testNow); err == nil {
				t.Fatalf("minted %q", tok)
			}
		})
	}
}
