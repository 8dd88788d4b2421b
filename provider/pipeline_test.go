package provider_test

// The §3.5 request pipeline: SSP headers (§2.1), the JWT (§3), scopes
// (§3.3), formats (§2.1), paths (§1.1, §4) and enablement (§1.4).

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/fhir"
)

// pipelineRow is one request mutation and the error it must produce.
type pipelineRow struct {
	name   string
	method string // GET when empty
	path   string // metadata when empty
	iid    string // metadata when empty
	scope  string // organization/*.read when empty
	mutate func(t testing.TB, r *http.Request)
	status int
	code   string // Spine code; alternatives separated by "|"
}

func (row pipelineRow) run(t *testing.T, e *env) {
	t.Helper()
	method, path, iid, scope := row.method, row.path, row.iid, row.scope
	if method == "" {
		method = http.MethodGet
	}
	if path == "" {
		path = "metadata"
	}
	if iid == "" {
		iid = iidMetadata
	}
	if scope == "" {
		scope = scopeOrgRead
	}
	r := e.request(t, method, path, iid, scope)
	if row.mutate != nil {
		row.mutate(t, r)
	}
	wantOutcome(t, e.do(t, r), row.status, row.code)
}

func setHeader(name, value string) func(testing.TB, *http.Request) {
	return func(_ testing.TB, r *http.Request) { r.Header.Set(name, value) }
}

func delHeader(name string) func(testing.TB, *http.Request) {
	return func(_ testing.TB, r *http.Request) { r.Header.Del(name) }
}

func testSSPHeaders(t *testing.T, e *env) {
	rows := []pipelineRow{
		{name: "Ssp-TraceID missing", mutate: delHeader("Ssp-TraceID"), status: 400, code: "BAD_REQUEST"},
		{name: "Ssp-TraceID blank", mutate: setHeader("Ssp-TraceID", "   "), status: 400, code: "BAD_REQUEST"},
		{name: "Ssp-From missing", mutate: delHeader("Ssp-From"), status: 400, code: "BAD_REQUEST"},
		{name: "Ssp-From blank", mutate: setHeader("Ssp-From", ""), status: 400, code: "BAD_REQUEST"},
		{name: "Ssp-To missing", mutate: delHeader("Ssp-To"), status: 400, code: "BAD_REQUEST"},
		{name: "Ssp-To blank", mutate: setHeader("Ssp-To", " "), status: 400, code: "BAD_REQUEST"},
		{name: "Ssp-To another endpoint's ASID", mutate: setHeader("Ssp-To", asidNorthgate), status: 400, code: "BAD_REQUEST"},
		{name: "Ssp-To unknown ASID", mutate: setHeader("Ssp-To", "123456789012"), status: 400, code: "BAD_REQUEST"},
		{name: "Ssp-InteractionID missing", mutate: delHeader("Ssp-InteractionID"), status: 400, code: "BAD_REQUEST"},
		{name: "Ssp-InteractionID blank", mutate: setHeader("Ssp-InteractionID", ""), status: 400, code: "BAD_REQUEST"},
		{name: "Ssp-InteractionID unknown URN", mutate: setHeader("Ssp-InteractionID", iidPrefix+"rest:read:metadata-9"), status: 400, code: "BAD_REQUEST"},
		{name: "Ssp-InteractionID structured metadata on this root",
			mutate: setHeader("Ssp-InteractionID", "urn:nhs:names:services:gpconnect:structured:fhir:rest:read:metadata-1"), status: 400, code: "BAD_REQUEST"},
		// [TEST] sends the search:organization-1 ID to /Patient/{id}/Appointment.
		{name: "search:organization-1 to /Patient/1/Appointment", path: "Patient/1/Appointment?start=ge2030-01-01&start=le2030-01-02",
			iid: iidFindOrg, scope: scopePatRead, status: 400, code: "BAD_REQUEST"},
		{name: "read:patient-1 to /metadata", iid: iidReadPatient, scope: scopePatRead, status: 400, code: "BAD_REQUEST"},
		{name: "search:patient-1 to /Patient/1", path: "Patient/1", iid: iidFindPatient, scope: scopePatRead, status: 400, code: "BAD_REQUEST"},
		{name: "read:patient-1 to /Patient?identifier", path: "Patient?identifier=" + url.QueryEscape(sysNHSNumber+"|9658218865"),
			iid: iidReadPatient, scope: scopePatRead, status: 400, code: "BAD_REQUEST"},
		{name: "slot search ID to /Organization/7", path: "Organization/7", iid: iidSlots, status: 400, code: "BAD_REQUEST"},
		{name: "Authorization missing", mutate: delHeader("Authorization"), status: 400, code: "BAD_REQUEST"},
		{name: "Authorization blank", mutate: setHeader("Authorization", ""), status: 400, code: "BAD_REQUEST"},
		{name: "Authorization Basic", mutate: func(t testing.TB, r *http.Request) {
			r.Header.Set("Authorization", "Basic "+strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		}, status: 400, code: "BAD_REQUEST"},
		{name: "Authorization token only", mutate: func(t testing.TB, r *http.Request) {
			r.Header.Set("Authorization", strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		}, status: 400, code: "BAD_REQUEST"},
		{name: "Authorization Bearer without token", mutate: setHeader("Authorization", "Bearer"), status: 400, code: "BAD_REQUEST"},
		// §3.5 order: Authorization present and Bearer (4) before Accept (5).
		{name: "Authorization missing, Accept unsupported", mutate: func(t testing.TB, r *http.Request) {
			r.Header.Del("Authorization")
			r.Header.Set("Accept", "text/html")
		}, status: 400, code: "BAD_REQUEST"},
		{name: "Authorization Basic, Accept unsupported", mutate: func(t testing.TB, r *http.Request) {
			r.Header.Set("Authorization", "Basic "+strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
			r.Header.Set("Accept", "text/html")
		}, status: 400, code: "BAD_REQUEST",
		},
		// Spec §2.1 counts a Bearer header without its one token among the
		// Authorization faults, so it too is weighed before Accept.
		{name: "Authorization Bearer without token, Accept unsupported", mutate: func(t testing.TB, r *http.Request) {
			r.Header.Set("Authorization", "Bearer")
			r.Header.Set("Accept", "text/html")
		}, status: 400, code: "BAD_REQUEST"},
		{name: "Authorization three parts, Accept unsupported", mutate: func(t testing.TB, r *http.Request) {
			r.Header.Set("Authorization", r.Header.Get("Authorization")+" extra")
			r.Header.Set("Accept", "text/html")
		}, status: 400, code: "BAD_REQUEST"},
		{name: "Ssp-TraceID missing, Accept unsupported", mutate: func(t testing.TB, r *http.Request) {
			r.Header.Del("Ssp-TraceID")
			r.Header.Set("Accept", "text/html")
		}, status: 400, code: "BAD_REQUEST"},
		{name: "Authorization three parts", mutate: func(t testing.TB, r *http.Request) {
			r.Header.Set("Authorization", r.Header.Get("Authorization")+" extra")
		}, status: 400, code: "BAD_REQUEST"},
		// A header of one value sent twice is ambiguous: the checks would
		// read one of them and the request might mean the other.
		{name: "Ssp-To twice, the second another ASID", mutate: addHeader("Ssp-To", "123456789012"), status: 400, code: "BAD_REQUEST"},
		{name: "Ssp-To twice, the same", mutate: addHeader("Ssp-To", asidLegg), status: 400, code: "BAD_REQUEST"},
		{name: "Ssp-TraceID twice", mutate: addHeader("Ssp-TraceID", "7b0b7a6e-5b9a-4d3c-9a35-3d1f1c2b0a11"), status: 400, code: "BAD_REQUEST"},
		{name: "Ssp-From twice", mutate: addHeader("Ssp-From", "200000000360"), status: 400, code: "BAD_REQUEST"},
		{name: "Ssp-InteractionID twice", mutate: addHeader("Ssp-InteractionID", iidReadPatient), status: 400, code: "BAD_REQUEST"},
		{name: "Authorization twice", mutate: func(t testing.TB, r *http.Request) {
			r.Header.Add("Authorization", r.Header.Get("Authorization"))
		}, status: 400, code: "BAD_REQUEST"},
		// A compressed request body is an unsupported encoding (RFC 7694
		// §3), not an invalid resource.
		{name: "Content-Encoding gzip", mutate: setHeader("Content-Encoding", "gzip"), status: 415, code: "BAD_REQUEST"},
		{name: "Content-Encoding identity, gzip", mutate: setHeader("Content-Encoding", "identity, gzip"), status: 415, code: "BAD_REQUEST"},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) { row.run(t, e) })
	}
	t.Run("all headers present", func(t *testing.T) {
		wantOK(t, e.get(t, "metadata", iidMetadata, scopeOrgRead), "CapabilityStatement")
	})
	t.Run("Content-Encoding gzip answer names identity", func(t *testing.T) {
		r := e.request(t, http.MethodGet, "metadata", iidMetadata, scopeOrgRead)
		r.Header.Set("Content-Encoding", "gzip")
		res := e.do(t, r)
		if res.status != 415 || res.header.Get("Accept-Encoding") != "identity" {
			t.Fatalf("status %d, Accept-Encoding %q; want 415 naming identity (RFC 9110 §15.5.16)", res.status, res.header.Get("Accept-Encoding"))
		}
	})
	t.Run("Content-Encoding identity", func(t *testing.T) {
		r := e.request(t, http.MethodGet, "metadata", iidMetadata, scopeOrgRead)
		r.Header.Set("Content-Encoding", "identity")
		wantOK(t, e.do(t, r), "CapabilityStatement")
	})
	// The interaction-mismatch diagnostics quote the path, so a control
	// character in it cannot stop the error being written in XML.
	t.Run("mismatch with a NUL in the path answers in XML", func(t *testing.T) {
		r := e.request(t, http.MethodGet, "Appointment/%00bad", iidReadPatient, scopePatRead)
		r.Header.Set("Accept", "application/fhir+xml")
		res := e.do(t, r)
		if res.status != 400 || !strings.HasPrefix(res.header.Get("Content-Type"), "application/fhir+xml") {
			t.Fatalf("status %d, Content-Type %q: %s", res.status, res.header.Get("Content-Type"), res.body)
		}
		var oo struct {
			XMLName xml.Name
		}
		if err := xml.Unmarshal(res.body, &oo); err != nil || oo.XMLName.Local != "OperationOutcome" {
			t.Fatalf("not an XML OperationOutcome (%v): %s", err, res.body)
		}
	})
}

// addHeader returns a mutator that sends one more value of header name.
func addHeader(name, value string) func(testing.TB, *http.Request) {
	return func(_ testing.TB, r *http.Request) { r.Header.Add(name, value) }
}

// claimsOf decodes the payload of a minted token.
func claimsOf(t testing.TB, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("minted token has %d parts", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("minted payload: %v", err)
	}
	var m map[string]any
	d := json.NewDecoder(strings.NewReader(string(raw)))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatalf("minted payload: %v", err)
	}
	return m
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

const noneHeader = `{"alg":"none","typ":"JWT"}`

// unsigned assembles header.payload. from JSON texts.
func unsigned(header string, payload any) string {
	p, err := json.Marshal(payload)
	if err != nil {
		panic(err)
	}
	return b64(header) + "." + b64(string(p)) + "."
}

// withClaims returns a mutator that replaces the bearer token by one whose
// claims (those of a valid token for the row's scope) were edited by edit.
func withClaims(edit func(c map[string]any)) func(testing.TB, *http.Request) {
	return func(t testing.TB, r *http.Request) {
		c := claimsOf(t, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		edit(c)
		r.Header.Set("Authorization", "Bearer "+unsigned(noneHeader, c))
	}
}

// withToken replaces the bearer token by the one make builds from the valid token.
func withToken(build func(valid string) string) func(testing.TB, *http.Request) {
	return func(t testing.TB, r *http.Request) {
		r.Header.Set("Authorization", "Bearer "+build(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")))
	}
}

func resourceClaim(c map[string]any, name string) map[string]any { return c[name].(map[string]any) }

func testJWT(t *testing.T, e *env) {
	now := func() int64 { return time.Now().Unix() }
	rows := []pipelineRow{
		{name: "expired (iat now-600)", mutate: withClaims(func(c map[string]any) {
			c["iat"], c["exp"] = now()-600, now()-300
		}), status: 400, code: "BAD_REQUEST"},
		{name: "exp-iat 299", mutate: withClaims(func(c map[string]any) { c["exp"] = now() + 299; c["iat"] = now() }), status: 400, code: "BAD_REQUEST"},
		{name: "exp-iat 301", mutate: withClaims(func(c map[string]any) { c["exp"] = now() + 301; c["iat"] = now() }), status: 400, code: "BAD_REQUEST"},
		{name: "exp-iat -1", mutate: withClaims(func(c map[string]any) { c["exp"] = now() - 1; c["iat"] = now() }), status: 400, code: "BAD_REQUEST"},
		{name: "exp as string", mutate: withClaims(func(c map[string]any) { c["exp"] = "1700000300" }), status: 400, code: "BAD_REQUEST"},
		{name: "alg HS256", mutate: withToken(func(v string) string {
			return b64(`{"alg":"HS256","typ":"JWT"}`) + v[strings.IndexByte(v, '.'):]
		}), status: 400, code: "BAD_REQUEST"},
		{name: "typ not JWT", mutate: withToken(func(v string) string {
			return b64(`{"alg":"none","typ":"JWS"}`) + v[strings.IndexByte(v, '.'):]
		}), status: 400, code: "BAD_REQUEST"},
		{name: "extra header key", mutate: withToken(func(v string) string {
			return b64(`{"alg":"none","typ":"JWT","kid":"1"}`) + v[strings.IndexByte(v, '.'):]
		}), status: 400, code: "BAD_REQUEST"},
		{name: "not base64", mutate: setHeader("Authorization", "Bearer not*base64.at!all."), status: 400, code: "BAD_REQUEST"},
		{name: "padded base64", mutate: withToken(func(v string) string {
			p := strings.Split(v, ".")
			return p[0] + "." + base64.URLEncoding.EncodeToString(mustB64(p[1])) + "=."
		}), status: 400, code: "BAD_REQUEST"},
		{name: "no trailing dot", mutate: withToken(func(v string) string { return strings.TrimSuffix(v, ".") }), status: 400, code: "BAD_REQUEST"},
		{name: "non-empty signature", mutate: withToken(func(v string) string { return v + "c2ln" }), status: 400, code: "BAD_REQUEST"},
		{name: "payload not JSON", mutate: withToken(func(v string) string { return b64(noneHeader) + "." + b64("{not json") + "." }), status: 400, code: "BAD_REQUEST"},
		{name: "iss missing", mutate: withClaims(func(c map[string]any) { delete(c, "iss") }), status: 400, code: "BAD_REQUEST"},
		{name: "iss null", mutate: withClaims(func(c map[string]any) { c["iss"] = nil }), status: 400, code: "BAD_REQUEST"},
		{name: "sub missing", mutate: withClaims(func(c map[string]any) { delete(c, "sub") }), status: 400, code: "BAD_REQUEST"},
		{name: "sub differs from requesting_practitioner.id", mutate: withClaims(func(c map[string]any) { c["sub"] = "2" }), status: 400, code: "BAD_REQUEST"},
		{name: "aud empty", mutate: withClaims(func(c map[string]any) { c["aud"] = "" }), status: 400, code: "BAD_REQUEST"},
		{name: "aud missing", mutate: withClaims(func(c map[string]any) { delete(c, "aud") }), status: 400, code: "BAD_REQUEST"},
		{name: "exp missing", mutate: withClaims(func(c map[string]any) { delete(c, "exp") }), status: 400, code: "BAD_REQUEST"},
		{name: "iat missing", mutate: withClaims(func(c map[string]any) { delete(c, "iat") }), status: 400, code: "BAD_REQUEST"},
		{name: "reason_for_request missing", mutate: withClaims(func(c map[string]any) { delete(c, "reason_for_request") }), status: 400, code: "BAD_REQUEST"},
		{name: "reason_for_request wrong", mutate: withClaims(func(c map[string]any) { c["reason_for_request"] = "secondaryuses" }), status: 400, code: "BAD_REQUEST"},
		{name: "requested_scope missing", mutate: withClaims(func(c map[string]any) { delete(c, "requested_scope") }), status: 400, code: "BAD_REQUEST"},
		{name: "requested_scope bad", mutate: withClaims(func(c map[string]any) { c["requested_scope"] = "organization/*.readwrite" }), status: 400, code: "BAD_REQUEST"},
		{name: "requested_record present (DSTU2 layout)", mutate: withClaims(func(c map[string]any) {
			c["requested_record"] = map[string]any{"resourceType": "Organization", "identifier": []any{map[string]any{"system": sysODSOrg, "value": odsLegg}}}
		}), status: 400, code: "BAD_REQUEST"},
		{name: "requesting_device missing", mutate: withClaims(func(c map[string]any) { delete(c, "requesting_device") }), status: 400, code: "BAD_REQUEST"},
		{name: "requesting_organization missing", mutate: withClaims(func(c map[string]any) { delete(c, "requesting_organization") }), status: 400, code: "BAD_REQUEST"},
		{name: "requesting_practitioner missing", mutate: withClaims(func(c map[string]any) { delete(c, "requesting_practitioner") }), status: 400, code: "BAD_REQUEST"},
		{name: "requesting_device unknown element", mutate: withClaims(func(c map[string]any) {
			resourceClaim(c, "requesting_device")["notAnElement"] = "x"
		}), status: 422, code: "INVALID_RESOURCE"},
		{name: "requesting_device resourceType Patient", mutate: withClaims(func(c map[string]any) {
			resourceClaim(c, "requesting_device")["resourceType"] = "Patient"
		}), status: 422, code: "INVALID_RESOURCE"},
		{name: "requesting_practitioner resourceType Patient", mutate: withClaims(func(c map[string]any) {
			resourceClaim(c, "requesting_practitioner")["resourceType"] = "Patient"
		}), status: 422, code: "INVALID_RESOURCE"},
		{name: "requesting_practitioner unknown element", mutate: withClaims(func(c map[string]any) {
			resourceClaim(c, "requesting_practitioner")["favouriteColour"] = "blue"
		}), status: 422, code: "INVALID_RESOURCE"},
		{name: "requesting_organization resourceType Device", mutate: withClaims(func(c map[string]any) {
			resourceClaim(c, "requesting_organization")["resourceType"] = "Device"
		}), status: 422, code: "INVALID_RESOURCE"},
		// Scope versus interaction (§3.3).
		{name: "patient/*.write on Find a patient", path: "Patient?identifier=" + url.QueryEscape(sysNHSNumber+"|9658218865"),
			iid: iidFindPatient, scope: scopePatWrite, status: 400, code: "BAD_REQUEST"},
		{name: "patient/*.read on metadata", scope: scopePatRead, status: 400, code: "BAD_REQUEST"},
		{name: "organization/*.write on metadata", scope: scopeOrgWrite, status: 400, code: "BAD_REQUEST"},
		{name: "organization/*.read on Read a patient", path: "Patient/1", iid: iidReadPatient, scope: scopeOrgRead, status: 400, code: "BAD_REQUEST"},
		{name: "patient/*.read on slot search", path: "Slot?" + slotQuery(time.Now(), 1).Encode(), iid: iidSlots, scope: scopePatRead, status: 400, code: "BAD_REQUEST"},
	}
	accepted := []struct {
		name   string
		mutate func(testing.TB, *http.Request)
	}{
		// [TEST] J8: iat up to 200 s in the future must succeed.
		{"iat now+200", withClaims(func(c map[string]any) { c["iat"], c["exp"] = now()+200, now()+500 })},
		// J15/J16: UNK identifiers; a practitioner with only the sds-user-id identifier.
		{"UNK practitioner identifiers", withClaims(func(c map[string]any) {
			resourceClaim(c, "requesting_practitioner")["identifier"] = []any{
				map[string]any{"system": sysSDSUser, "value": "UNK"}, map[string]any{"system": sysSDSRole, "value": "UNK"}}
		})},
		{"practitioner with sds-user-id only", withClaims(func(c map[string]any) {
			resourceClaim(c, "requesting_practitioner")["identifier"] = []any{map[string]any{"system": sysSDSUser, "value": "GCASDS0001"}}
		})},
		{"legacy ODS system on requesting_organization", withClaims(func(c map[string]any) {
			resourceClaim(c, "requesting_organization")["identifier"] = []any{
				map[string]any{"system": "http://fhir.nhs.net/Id/ods-organization-code", "value": "GPCA0001"}}
		})},
		{"aud is not our root (not checked)", withClaims(func(c map[string]any) { c["aud"] = "https://elsewhere.example/" })},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) { row.run(t, e) })
	}
	for _, a := range accepted {
		t.Run("accepted/"+a.name, func(t *testing.T) {
			r := e.request(t, http.MethodGet, "metadata", iidMetadata, scopeOrgRead)
			a.mutate(t, r)
			wantOK(t, e.do(t, r), "CapabilityStatement")
		})
	}
}

func mustB64(s string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// wellFormedXML reads every token of an XML document and returns the root element.
func wellFormedXML(t testing.TB, body []byte) xml.StartElement {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(string(body)))
	var root xml.StartElement
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("response is not well-formed XML: %v\n%.400s", err, body)
		}
		if se, ok := tok.(xml.StartElement); ok && root.Name.Local == "" {
			root = se.Copy()
		}
	}
	if root.Name.Space != "http://hl7.org/fhir" {
		t.Errorf("XML root namespace = %q, want http://hl7.org/fhir", root.Name.Space)
	}
	return root
}

func testFormats(t *testing.T, e *env) {
	xmlCases := []struct {
		name, accept, format, wantCT string
		contentType                  string // sent on the GET, as the test pack does
	}{
		{"Accept xml", "application/fhir+xml", "", mediaXMLCT, ""},
		{"Accept xml with charset", "application/fhir+xml;charset=utf-8", "", mediaXMLCT, ""},
		{"Accept json with charset", "application/fhir+json;charset=utf-8", "", mediaJSONCT, ""},
		{"_format xml overrides Accept json", "application/fhir+json", "application/fhir+xml", mediaXMLCT, ""},
		{"_format json overrides Accept xml", "application/fhir+xml", "application/fhir+json", mediaJSONCT, ""},
		{"_format xml with no Accept", "", "application/fhir+xml", mediaXMLCT, ""},
		{"no Accept, no _format: JSON", "", "", mediaJSONCT, ""},
		// SearchForFreeSlots.feature: a request Content-Type never beats Accept or _format.
		{"Content-Type xml, Accept json", "application/fhir+json", "", mediaJSONCT, "application/fhir+xml"},
		{"Content-Type json, Accept xml", "application/fhir+xml", "", mediaXMLCT, "application/fhir+json"},
		{"Content-Type xml, _format json", "", "application/fhir+json", mediaJSONCT, "application/fhir+xml"},
		{"Content-Type xml, Accept xml, _format json", "application/fhir+xml", "application/fhir+json", mediaJSONCT, "application/fhir+xml"},
		// Accept's quality values rank the types (RFC 9110 §12.5.1).
		{"Accept prefers json by q", "application/fhir+xml;q=0.1, application/fhir+json;q=0.9", "", mediaJSONCT, ""},
		{"Accept prefers xml by q", "application/fhir+json;q=0.5, application/fhir+xml", "", mediaXMLCT, ""},
		{"Accept refuses xml with q=0", "application/fhir+xml;q=0, */*;q=0.1", "", mediaJSONCT, ""},
		// A wildcard Accept leaves the choice to the request's Content-Type.
		{"Accept */*, Content-Type xml", "*/*", "", mediaXMLCT, "application/fhir+xml"},
		{"Accept application/*, Content-Type xml", "application/*", "", mediaXMLCT, "application/fhir+xml"},
		{"Accept */*, no Content-Type", "*/*", "", mediaJSONCT, ""},
		{"Accept */* refusing xml, Content-Type xml", "application/fhir+xml;q=0, */*", "", mediaJSONCT, "application/fhir+xml"},
		// An unescaped + in a hand-written query decodes to a space.
		{"_format xml with a raw +", "application/fhir+json", "raw:application/fhir+xml", mediaXMLCT, ""},
		{"_format json with a raw +", "application/fhir+xml", "raw:application/fhir+json", mediaJSONCT, ""},
	}
	for _, c := range xmlCases {
		t.Run(c.name, func(t *testing.T) {
			path := "metadata"
			if raw, ok := strings.CutPrefix(c.format, "raw:"); ok {
				path += "?_format=" + raw
			} else if c.format != "" {
				path += "?_format=" + url.QueryEscape(c.format)
			}
			r := e.request(t, http.MethodGet, path, iidMetadata, scopeOrgRead)
			if c.accept == "" {
				r.Header.Del("Accept")
			} else {
				r.Header.Set("Accept", c.accept)
			}
			if c.contentType != "" {
				r.Header.Set("Content-Type", c.contentType)
			}
			res := e.do(t, r)
			if res.status != 200 {
				t.Fatalf("status %d: %.300s", res.status, res.body)
			}
			if got := res.header.Get("Content-Type"); got != c.wantCT {
				t.Fatalf("Content-Type = %q, want %q", got, c.wantCT)
			}
			if res.header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q", res.header.Get("Cache-Control"))
			}
			if c.wantCT == mediaXMLCT {
				if root := wellFormedXML(t, res.body); root.Name.Local != "CapabilityStatement" {
					t.Errorf("XML root = %s, want CapabilityStatement", root.Name.Local)
				}
			} else {
				wantOK(t, res, "CapabilityStatement")
			}
		})
	}
	t.Run("no Accept or _format: Content-Type decides", func(t *testing.T) {
		r := e.request(t, http.MethodGet, "metadata", iidMetadata, scopeOrgRead)
		r.Header.Del("Accept")
		r.Header.Set("Content-Type", "application/fhir+xml;charset=utf-8")
		res := e.do(t, r)
		if res.status != 200 || res.header.Get("Content-Type") != mediaXMLCT {
			t.Fatalf("got %d %q, want 200 %s", res.status, res.header.Get("Content-Type"), mediaXMLCT)
		}
		wellFormedXML(t, res.body)
	})
	t.Run("XML carries the same content as JSON", func(t *testing.T) {
		cases := []struct{ path, iid, scope string }{
			{"metadata", iidMetadata, scopeOrgRead},
			{"Patient/1", iidReadPatient, scopePatRead},
			{"Patient?" + identifierQuery(sysNHSNumber, "9658218873"), iidFindPatient, scopePatRead},
			{"Organization/7", iidReadOrg, scopeOrgRead},
			{"Location/8", iidReadLocation, scopeOrgRead},
			{"Practitioner?" + identifierQuery(sysSDSUser, "G22345655"), iidFindPrac, scopeOrgRead},
			{"Slot?" + slotQuery(e.now, 1).Encode() + "&service.identifier=" + url.QueryEscape(sysDOS+"|1"), iidSlots, scopeOrgRead},
			{"Patient/999999", iidReadPatient, scopePatRead},
		}
		for _, c := range cases {
			j := e.do(t, e.request(t, http.MethodGet, c.path, c.iid, c.scope))
			xr := e.request(t, http.MethodGet, c.path, c.iid, c.scope)
			xr.Header.Set("Accept", "application/fhir+xml")
			x := e.do(t, xr)
			if j.status != x.status {
				t.Errorf("%s: JSON status %d, XML status %d", c.path, j.status, x.status)
				continue
			}
			res, err := fhir.UnmarshalXML(x.body)
			if err != nil {
				t.Errorf("%s: XML does not decode as FHIR: %v\n%.300s", c.path, err, x.body)
				continue
			}
			back, err := json.Marshal(res)
			if err != nil {
				t.Fatal(err)
			}
			var fromXML, fromJSON any
			if err := json.Unmarshal(back, &fromXML); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(j.body, &fromJSON); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(fromXML, fromJSON) {
				t.Errorf("%s: XML and JSON differ:\nxml  %.400s\njson %.400s", c.path, back, j.body)
			}
		}
	})
	t.Run("XML OperationOutcome", func(t *testing.T) {
		r := e.request(t, http.MethodGet, "Patient/999999", iidReadPatient, scopePatRead)
		r.Header.Set("Accept", "application/fhir+xml")
		res := e.do(t, r)
		if res.status != 404 || res.header.Get("Content-Type") != mediaXMLCT || res.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("got %d %q %q", res.status, res.header.Get("Content-Type"), res.header.Get("Cache-Control"))
		}
		if root := wellFormedXML(t, res.body); root.Name.Local != "OperationOutcome" {
			t.Errorf("XML root = %s, want OperationOutcome", root.Name.Local)
		}
		if !strings.Contains(string(res.body), "PATIENT_NOT_FOUND") {
			t.Errorf("XML outcome lacks PATIENT_NOT_FOUND: %s", res.body)
		}
	})
	t.Run("XML slot bundle", func(t *testing.T) {
		r := e.request(t, http.MethodGet, "Slot?"+slotQuery(e.now, 2).Encode(), iidSlots, scopeOrgRead)
		r.Header.Set("Accept", "application/fhir+xml")
		res := e.do(t, r)
		if res.status != 200 || res.header.Get("Content-Type") != mediaXMLCT {
			t.Fatalf("got %d %q: %.300s", res.status, res.header.Get("Content-Type"), res.body)
		}
		if root := wellFormedXML(t, res.body); root.Name.Local != "Bundle" {
			t.Errorf("XML root = %s, want Bundle", root.Name.Local)
		}
	})
	unsupported := []pipelineRow{
		{name: "Accept text/html", mutate: setHeader("Accept", "text/html"), status: 415, code: "BAD_REQUEST|UNSUPPORTED_MEDIA_TYPE"},
		{name: "Accept application/pdf", mutate: setHeader("Accept", "application/pdf"), status: 415, code: "BAD_REQUEST|UNSUPPORTED_MEDIA_TYPE"},
		{name: "Accept json with charset latin1", mutate: setHeader("Accept", "application/fhir+json;charset=iso-8859-1"), status: 415, code: "BAD_REQUEST|UNSUPPORTED_MEDIA_TYPE"},
		{name: "_format text/plain", path: "metadata?_format=text%2Fplain", status: 415, code: "BAD_REQUEST|UNSUPPORTED_MEDIA_TYPE"},
		// FHIR.feature: plain JSON and XML types are not FHIR's.
		{name: "Accept text/xml", mutate: setHeader("Accept", "text/xml"), status: 415, code: "BAD_REQUEST|UNSUPPORTED_MEDIA_TYPE"},
		{name: "Accept application/xml", mutate: setHeader("Accept", "application/xml"), status: 415, code: "BAD_REQUEST|UNSUPPORTED_MEDIA_TYPE"},
		{name: "Accept application/json", mutate: setHeader("Accept", "application/json"), status: 415, code: "BAD_REQUEST|UNSUPPORTED_MEDIA_TYPE"},
		{name: "_format text/xml", path: "metadata?_format=text%2Fxml", status: 415, code: "BAD_REQUEST|UNSUPPORTED_MEDIA_TYPE"},
		{name: "_format unsupported overrides a good Accept", path: "metadata?_format=application%2Fpdf", status: 415, code: "BAD_REQUEST|UNSUPPORTED_MEDIA_TYPE"},
		// FhirBase.feature: a GET /metadata with a content type that is not
		// FHIR's is refused, with or without an Accept.
		{name: "GET with Content-Type application/xml", mutate: setHeader("Content-Type", "application/xml"), status: 415, code: "BAD_REQUEST|UNSUPPORTED_MEDIA_TYPE"},
		{name: "GET with Content-Type text/xml and a good Accept", mutate: func(_ testing.TB, r *http.Request) {
			r.Header.Set("Content-Type", "text/xml")
			r.Header.Set("Accept", "application/fhir+json")
		}, status: 415, code: "BAD_REQUEST|UNSUPPORTED_MEDIA_TYPE"},
		{name: "GET with Content-Type applicaiton/json", mutate: setHeader("Content-Type", "applicaiton/json"), status: 415, code: "BAD_REQUEST|UNSUPPORTED_MEDIA_TYPE"},
	}
	for _, row := range unsupported {
		t.Run(row.name, func(t *testing.T) { row.run(t, e) })
	}
	t.Run("415 outcome issue.code is not-supported", func(t *testing.T) {
		// §9.2: a 415 carries issue.code not-supported (the Spine code may be
		// BAD_REQUEST as in the demonstrator, or UNSUPPORTED_MEDIA_TYPE).
		r := e.request(t, http.MethodGet, "metadata", iidMetadata, scopeOrgRead)
		r.Header.Set("Accept", "text/html")
		res := e.do(t, r)
		v := wantJSON(t, res, 415)
		if got := str(v, "issue", 0, "code"); got != "not-supported" {
			t.Errorf("415 outcome has issue.code %q, want not-supported", got)
		}
	})
	t.Run("gzip", func(t *testing.T) {
		r := e.request(t, http.MethodGet, "Slot?"+slotQuery(e.now, 7).Encode(), iidSlots, scopeOrgRead)
		r.Header.Set("Accept-Encoding", "gzip")
		res := e.do(t, r)
		if got := res.header.Get("Content-Encoding"); got != "gzip" {
			t.Fatalf("Content-Encoding = %q, want gzip (body %d bytes)", got, len(res.body))
		}
		if len(res.raw) >= len(res.body) {
			t.Errorf("gzip body (%d bytes) is not smaller than the JSON (%d bytes)", len(res.raw), len(res.body))
		}
		b := wantOK(t, res, "Bundle")
		if len(entries(b)) == 0 {
			t.Errorf("gzipped bundle has no entries")
		}
	})
	t.Run("gzip not requested", func(t *testing.T) {
		res := e.get(t, "Slot?"+slotQuery(e.now, 7).Encode(), iidSlots, scopeOrgRead)
		if got := res.header.Get("Content-Encoding"); got != "" {
			t.Errorf("Content-Encoding = %q without Accept-Encoding", got)
		}
		wantOK(t, res, "Bundle")
	})
}

func testPaths(t *testing.T, e *env) {
	root := "/" + odsLegg + "/STU3/1/gpconnect"
	cases := []struct {
		name, method, path string
	}{
		{"Metadata wrong case", "GET", root + "/Metadata"},
		{"appointmentqq/!", "GET", root + "/appointmentqq/!"},
		{"metadata trailing slash", "GET", root + "/metadata/"},
		{"service root itself", "GET", root},
		{"service root with slash", "GET", root + "/"},
		{"Slot read (no such interaction)", "GET", root + "/Slot/1"},
		{"Schedule search (no such interaction)", "GET", root + "/Schedule"},
		{"Location search (no such interaction)", "GET", root + "/Location"},
		{"lower-case stu3", "GET", "/" + odsLegg + "/stu3/1/gpconnect/metadata"},
		{"unknown ODS code", "GET", "/ZZZ999/STU3/1/gpconnect/metadata"},
		{"ODS code of a non-practice", "GET", "/R1A14/STU3/1/gpconnect/metadata"},
		{"ODS code wrong case", "GET", "/a20047/STU3/1/gpconnect/metadata"},
		{"not under a service root", "GET", "/metadata"},
		{"server root", "GET", "/"},
		{"PATCH metadata", "PATCH", root + "/metadata"},
		{"DELETE metadata", "DELETE", root + "/metadata"},
		{"POST metadata", "POST", root + "/metadata"},
		{"PUT metadata", "PUT", root + "/metadata"},
		{"OPTIONS metadata", "OPTIONS", root + "/metadata"},
		{"DELETE Patient/1", "DELETE", root + "/Patient/1"},
		// Not one of gin's nine: the path still exists, so the verb is what is wrong.
		{"FOO metadata", "FOO", root + "/metadata"},
		{"PROPFIND metadata", "PROPFIND", root + "/metadata"},
		{"misspelt operation", "POST", root + "/Patient/$gpc.registerpatien"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.rawRequest(t, c.method, c.path)
			if c.method == "POST" || c.method == "PUT" || c.method == "PATCH" {
				r.Header.Set("Content-Type", "application/fhir+json;charset=utf-8")
				r.Body = io.NopCloser(strings.NewReader(`{"resourceType":"Parameters"}`))
			}
			res := e.do(t, r)
			if res.status < 400 || res.status > 499 {
				t.Fatalf("status = %d, want 4xx; body %.300s", res.status, res.body)
			}
			if res.header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", res.header.Get("Cache-Control"))
			}
			if ct := res.header.Get("Content-Type"); ct != mediaJSONCT {
				t.Fatalf("Content-Type = %q, want %q (never HTML); body %.200s", ct, mediaJSONCT, res.body)
			}
			var v obj
			if err := json.Unmarshal(res.body, &v); err != nil {
				t.Fatalf("body is not JSON: %v: %.200s", err, res.body)
			}
			checkOutcome(t, v, res.body, res.status, "BAD_REQUEST|NO_RECORD_FOUND|NOT_IMPLEMENTED")
			if strings.HasSuffix(c.path, "/metadata") && c.method != "GET" && strings.HasPrefix(c.path, root) && res.status != 400 {
				// §9.2: a wrong HTTP verb is 400 BAD_REQUEST.
				t.Errorf("wrong verb %s: status = %d, want 400", c.method, res.status)
			}
			if strings.Contains(c.path, "$") && res.status != 404 {
				// An unknown operation is an unknown path (PatientRegister.feature), not a read by a verb it lacks.
				t.Errorf("unknown operation: status = %d, want 404", res.status)
			}
		})
	}
	// Outside any service root the format asked for still holds (§2.1):
	// an XML client reads its 404 in XML.
	t.Run("not under a service root, XML asked for", func(t *testing.T) {
		for _, edit := range []func(*http.Request){
			func(r *http.Request) { r.Header.Set("Accept", "application/fhir+xml") },
			func(r *http.Request) { r.URL.RawQuery = "_format=application/fhir%2Bxml" },
		} {
			r := e.rawRequest(t, http.MethodGet, "/nothing")
			edit(r)
			res := e.do(t, r)
			if res.status != http.StatusNotFound || !strings.HasPrefix(res.header.Get("Content-Type"), "application/fhir+xml") ||
				!strings.Contains(string(res.body), "<OperationOutcome") {
				t.Errorf("status %d, Content-Type %q, body %.200s; want a 404 OperationOutcome in XML", res.status, res.header.Get("Content-Type"), res.body)
			}
		}
	})
	// A panic cannot be provoked through the public API; see
	// TestPanicBecomesOutcome (export_test.go hook) for the recoverer.
}

func testEnablement(t *testing.T, e *env) {
	off := []struct{ name, path, iid, scope string }{
		{"metadata", "metadata", iidMetadata, scopeOrgRead},
		{"find organisation", "Organization?identifier=" + url.QueryEscape(sysODSOrg+"|"+odsWestbrook), iidFindOrg, scopeOrgRead},
		{"find patient", "Patient?identifier=" + url.QueryEscape(sysNHSNumber+"|9990000050"), iidFindPatient, scopePatRead},
		{"slot search", "Slot?" + slotQuery(e.now, 1).Encode(), iidSlots, scopeOrgRead},
	}
	for _, c := range off {
		t.Run("D81001 "+c.name, func(t *testing.T) {
			r := e.requestAt(t, odsWestbrook, asidWestbrook, http.MethodGet, c.path, c.iid, c.scope)
			wantOutcome(t, e.do(t, r), 403, "ACCESS_DENIED")
		})
	}
	// Appointment Management switched off on its own (§1.4): Foundations
	// still work, appointment interactions get 403 ACCESS_DENIED.
	t.Run("Appointment Management off at C81001", func(t *testing.T) {
		if err := e.st.SetSwitches(context.Background(), odsCastle, true, false); err != nil {
			t.Fatal(err)
		}
		r := e.requestAt(t, odsCastle, asidCastle, http.MethodGet, "metadata", iidMetadata, scopeOrgRead)
		wantOK(t, e.do(t, r), "CapabilityStatement")
		r = e.requestAt(t, odsCastle, asidCastle, http.MethodGet, "Patient?"+identifierQuery(sysNHSNumber, "9990000034"), iidFindPatient, scopePatRead)
		if n := len(entries(wantOK(t, e.do(t, r), "Bundle"))); n != 1 {
			t.Errorf("find patient at C81001: %d entries, want 1", n)
		}
		r = e.requestAt(t, odsCastle, asidCastle, http.MethodGet, "Slot?"+slotQuery(e.now, 1).Encode(), iidSlots, scopeOrgRead)
		wantOutcome(t, e.do(t, r), 403, "ACCESS_DENIED")
	})
	// §3.5: enablement comes after the header and token checks.
	t.Run("D81001 bad token is still 400", func(t *testing.T) {
		r := e.requestAt(t, odsWestbrook, asidWestbrook, http.MethodGet, "metadata", iidMetadata, scopeOrgRead)
		r.Header.Set("Authorization", "Bearer x.y.")
		wantOutcome(t, e.do(t, r), 400, "BAD_REQUEST")
	})
	t.Run("D81001 wrong Ssp-To is still 400", func(t *testing.T) {
		r := e.requestAt(t, odsWestbrook, asidLegg, http.MethodGet, "metadata", iidMetadata, scopeOrgRead)
		wantOutcome(t, e.do(t, r), 400, "BAD_REQUEST")
	})
}
