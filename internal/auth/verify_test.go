package auth

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/fhir/gpconnect"
)

const (
	ok  gpconnect.SpineCode = ""
	bad                     = gpconnect.BadRequest
	inv                     = gpconnect.InvalidResource
)

type verifyCase struct {
	rule string
	// auth builds the Authorization header value.
	auth func(t testing.TB) string
	want gpconnect.SpineCode
}

// header returns a fixed Authorization header value.
func header(s string) func(testing.TB) string { return func(testing.TB) string { return s } }

// claims mutates the default payload and wraps it in an unsigned token.
func claims(mut func(m map[string]any)) func(testing.TB) string {
	return func(t testing.TB) string {
		m := defaultPayload(t)
		mut(m)
		return bearer(marshal(t, m))
	}
}

// rawPayload wraps literal JSON text in an unsigned token.
func rawPayload(s string) func(testing.TB) string {
	return func(testing.TB) string { return bearer([]byte(s)) }
}

// rawHeader builds a token from a literal JOSE header, the default payload and sig.
func rawHeader(h, sig string) func(testing.TB) string {
	return func(t testing.TB) string {
		return "Bearer " + enc([]byte(h)) + "." + enc(marshal(t, defaultPayload(t))) + "." + sig
	}
}

// token edits the default unsigned token text.
func token(edit func(tok string) string) func(testing.TB) string {
	return func(t testing.TB) string {
		tok := strings.TrimPrefix(bearer(marshal(t, defaultPayload(t))), "Bearer ")
		return "Bearer " + edit(tok)
	}
}

func defaultToken(t testing.TB) string { return bearer(marshal(t, defaultPayload(t))) }

// scheme puts prefix instead of "Bearer " before the default token.
func scheme(prefix string) func(testing.TB) string {
	return func(t testing.TB) string { return prefix + strings.TrimPrefix(defaultToken(t), "Bearer ") }
}

// pract edits requesting_practitioner.
func pract(muts ...func(p map[string]any)) func(testing.TB) string {
	return resource("requesting_practitioner", muts)
}

// org edits requesting_organization.
func org(muts ...func(o map[string]any)) func(testing.TB) string {
	return resource("requesting_organization", muts)
}

// device edits requesting_device.
func device(muts ...func(d map[string]any)) func(testing.TB) string {
	return resource("requesting_device", muts)
}

// resource applies muts in turn to the resource claim.
func resource(claim string, muts []func(map[string]any)) func(testing.TB) string {
	return claims(func(m map[string]any) {
		for _, mut := range muts {
			mut(obj(m, claim))
		}
	})
}

// set returns an edit that sets a resource element to literal JSON.
func set(name, value string) func(map[string]any) {
	return func(r map[string]any) { r[name] = json.RawMessage(value) }
}

// replaceIn edits the raw default payload JSON text.
func replaceIn(old, new string) func(testing.TB) string {
	return func(t testing.TB) string {
		p := string(marshal(t, defaultPayload(t)))
		if !strings.Contains(p, old) {
			t.Fatalf("payload has no %q", old)
		}
		return bearer([]byte(strings.Replace(p, old, new, 1)))
	}
}

var verifyCases = []verifyCase{
	// Control characters: a claim cannot hold one, a FHIR string in a
	// resource claim neither (tab, CR and LF aside), and PostgreSQL text
	// cannot store a NUL.
	{"bad: NUL in iss", claims(func(m map[string]any) { m["iss"] = "https://x\x00" }), bad},
	{"bad: control character in sub", claims(func(m map[string]any) { m["sub"] = "1\x01"; obj(m, "requesting_practitioner")["id"] = "1\x01" }), bad},
	{"invalid: NUL in requesting_organization.name", org(func(o map[string]any) { o["name"] = "GP\x00" }), inv},
	{"invalid: NUL in requesting_device.model", device(func(d map[string]any) { d["model"] = "v\x00" }), inv},
	{"invalid: control character in practitioner family", pract(func(p map[string]any) {
		p["name"] = []any{map[string]any{"family": "A\x1b", "given": []any{"B"}}}
	}), inv},
	{"valid: tab in requesting_organization.name", org(func(o map[string]any) { o["name"] = "GP\tConnect" }), ok},
	// Bytes that are not UTF-8 make the payload invalid JSON (RFC 8259 §8.1).
	{"bad: iss not UTF-8", replaceIn(`"https://ConsumerSystemURL"`, "\"https://Consumer\xffSystemURL\""), bad},
	{"bad: requesting_organization.name not UTF-8", replaceIn(`"GP Connect Assurance"`, "\"GP \xfe Assurance\""), bad},
	// Valid tokens.
	{"valid: test-pack default token", defaultToken, ok},
	{"valid: header members reordered", rawHeader(`{"typ":"JWT","alg":"none"}`, ""), ok},
	{"valid: header with whitespace", rawHeader(`{ "alg" : "none" , "typ" : "JWT" }`, ""), ok},
	{"valid: header with escaped values", rawHeader(`{"alg":"\u006eone","typ":"J\u0057T"}`, ""), ok},
	{"valid: iat 200 s in the future (J8)", claims(func(m map[string]any) { times(m, 200, 500) }), ok},
	{"valid: exp 1 s from now", claims(func(m map[string]any) { times(m, -299, 1) }), ok},
	{"valid: scope patient/*.read", claims(func(m map[string]any) { m["requested_scope"] = "patient/*.read" }), ok},
	{"valid: scope patient/*.write", claims(func(m map[string]any) { m["requested_scope"] = "patient/*.write" }), ok},
	{"valid: scope organization/*.write", claims(func(m map[string]any) { m["requested_scope"] = "organization/*.write" }), ok},
	{"valid: UNK sds-user-id and role profile (J15)", pract(func(p map[string]any) {
		p["identifier"] = []any{
			map[string]any{"system": gpconnect.SystemSDSUser, "value": "UNK"},
			map[string]any{"system": gpconnect.SystemSDSRoleProfile, "value": "UNK"},
		}
	}), ok},
	{"valid: practitioner with only sds-user-id (J16)", pract(func(p map[string]any) {
		p["identifier"] = []any{map[string]any{"system": gpconnect.SystemSDSUser, "value": "GCASDS0001"}}
	}), ok},
	{"valid: practitioner name with family only", pract(func(p map[string]any) {
		p["name"] = []any{map[string]any{"family": "Smith"}}
	}), ok},
	{"valid: legacy ODS system", org(func(o map[string]any) {
		o["identifier"] = []any{map[string]any{"system": gpconnect.SystemODSOrganisationOld, "value": "GPCA0001"}}
	}), ok},
	{"valid: unknown extra claim ignored", claims(func(m map[string]any) { m["jti"] = "x" }), ok},
	{"valid: escaped claim name", replaceIn(`"iss":`, `"\u0069ss":`), ok},
	{"valid: device with meta and status", device(func(d map[string]any) {
		d["status"] = "active"
		d["meta"] = map[string]any{"profile": []any{"https://example.org/p"}}
	}), ok},

	// §2.1 Authorization header.
	{"header: missing", header(""), bad},
	{"header: scheme not Bearer", header("Basic dXNlcjpwYXNz"), bad},
	// RFC 7235 §2.1: the scheme is case-insensitive.
	{"header: scheme bearer in lower case", scheme("bearer "), ok},
	{"header: scheme BEARER in upper case", scheme("BEARER "), ok},
	{"header: scheme in mixed case", scheme("bEaReR "), ok},
	// Spec §2.1 (the reference provider): exactly two space-separated
	// parts, so two spaces make three, though RFC 6750 allows 1*SP.
	{"header: two spaces after the scheme", scheme("Bearer  "), bad},
	{"header: tab after the scheme", scheme("Bearer\t"), bad},
	{"header: scheme with a letter more", scheme("Bearers "), bad},
	{"header: scheme with a letter less", scheme("Beare "), bad},
	{"header: scheme with a non-ASCII letter", scheme("Bearér "), bad},
	{"header: only one part", header("Bearer"), bad},
	{"header: only one part, lower case", header("bearer"), bad},
	{"header: empty token", header("Bearer "), bad},
	{"header: empty token, lower case", header("bearer "), bad},
	{"header: spaces but no token", header("Bearer   "), bad},
	{"header: three parts", func(t testing.TB) string { return defaultToken(t) + " extra" }, bad},
	{"header: space after the token", func(t testing.TB) string { return defaultToken(t) + " " }, bad},
	{"header: token only, no scheme", func(t testing.TB) string { return strings.TrimPrefix(defaultToken(t), "Bearer ") }, bad},
	{"header: too long", header("Bearer " + strings.Repeat("a", MaxTokenLength+1)), bad},

	// §3.1 token shape.
	{"shape: no trailing dot", token(func(tok string) string { return strings.TrimSuffix(tok, ".") }), bad},
	{"shape: one part", header("Bearer abc"), bad},
	{"shape: four parts", token(func(tok string) string { return tok + "." }), bad},
	{"shape: empty header part", token(func(tok string) string { return tok[strings.IndexByte(tok, '.'):] }), bad},
	{"shape: empty payload part", header("Bearer " + unsignedHeaderB64 + ".."), bad},
	{"shape: '=' padding", token(func(tok string) string { return strings.TrimSuffix(tok, ".") + "==." }), bad},
	{"shape: '+' in token", token(func(tok string) string { return strings.Replace(tok, "e", "+", 1) }), bad},
	{"shape: '/' in token", token(func(tok string) string { return strings.Replace(tok, "e", "/", 1) }), bad},
	{"shape: not base64", header("Bearer !!!.***."), bad},
	{"shape: impossible base64 length", header("Bearer " + unsignedHeaderB64 + ".abcde."), bad},
	{"shape: non-zero base64 padding bits", header("Bearer " + unsignedHeaderB64 + ".e31."), bad},
	{"shape: signature on an unsigned token", rawHeader(`{"alg":"none","typ":"JWT"}`, "c2ln"), bad},

	// §3.1 header.
	{"jose: alg HS256", rawHeader(`{"alg":"HS256","typ":"JWT"}`, ""), bad},
	{"jose: alg RS256 with signature", rawHeader(`{"alg":"RS256","typ":"JWT"}`, "c2ln"), bad},
	{"jose: alg NONE upper case", rawHeader(`{"alg":"NONE","typ":"JWT"}`, ""), bad},
	{"jose: typ jwt lower case", rawHeader(`{"alg":"none","typ":"jwt"}`, ""), bad},
	{"jose: typ missing", rawHeader(`{"alg":"none"}`, ""), bad},
	{"jose: alg missing", rawHeader(`{"typ":"JWT"}`, ""), bad},
	{"jose: extra key", rawHeader(`{"alg":"none","typ":"JWT","kid":"1"}`, ""), bad},
	{"jose: duplicate alg", rawHeader(`{"alg":"none","alg":"none","typ":"JWT"}`, ""), bad},
	{"jose: alg not a string", rawHeader(`{"alg":null,"typ":"JWT"}`, ""), bad},
	{"jose: not JSON", rawHeader(`alg=none`, ""), bad},
	{"jose: JSON array", rawHeader(`["none","JWT"]`, ""), bad},
	{"jose: trailing data", rawHeader(`{"alg":"none","typ":"JWT"}x`, ""), bad},
	{"jose: empty object", rawHeader(`{}`, ""), bad},

	// §3.1 payload.
	{"payload: not JSON", rawPayload(`not json`), bad},
	{"payload: JSON array", rawPayload(`[1,2]`), bad},
	{"payload: JSON string", rawPayload(`"iss"`), bad},
	{"payload: empty object", rawPayload(`{}`), bad},
	{"payload: truncated", func(t testing.TB) string { p := marshal(t, defaultPayload(t)); return bearer(p[:len(p)-1]) }, bad},
	{"payload: trailing data", func(t testing.TB) string { return bearer(append(marshal(t, defaultPayload(t)), "{}"...)) }, bad},
	{"payload: invalid UTF-8", replaceIn(`"https://ConsumerSystemURL"`, "\"https://\xff\""), bad},
	{"payload: requested_record (DSTU2)", claims(func(m map[string]any) { m["requested_record"] = map[string]any{"resourceType": "Patient"} }), bad},
	{"payload: requested_record null", claims(func(m map[string]any) { m["requested_record"] = nil }), bad},
	{"payload: duplicate claim", replaceIn(`"iss":`, `"iss":"x","iss":`), bad},
	{"payload: syntax error inside a resource claim", replaceIn(`"model":"v1"`, `"model":"v1",`), bad},
	{"payload: bad literal inside a resource claim", replaceIn(`"model":"v1"`, `"model":nope`), bad},
	{"payload: resource claim without value at the end", rawPayload(`{"requesting_practitioner":`), bad},

	// §3.2 iss, sub, aud.
	{"iss: missing", claims(func(m map[string]any) { delete(m, "iss") }), bad},
	{"iss: null", claims(func(m map[string]any) { m["iss"] = nil }), bad},
	{"iss: empty", claims(func(m map[string]any) { m["iss"] = "" }), bad},
	{"iss: number", claims(func(m map[string]any) { m["iss"] = 1 }), bad},
	{"iss: upper-case claim name does not count", replaceIn(`"iss":`, `"ISS":`), bad},
	{"sub: missing", claims(func(m map[string]any) { delete(m, "sub") }), bad},
	{"sub: null", claims(func(m map[string]any) { m["sub"] = nil }), bad},
	{"sub: number equal to practitioner id", claims(func(m map[string]any) { m["sub"] = 1 }), bad},
	{"sub: differs from requesting_practitioner.id", claims(func(m map[string]any) { m["sub"] = "2" }), bad},
	{"sub: practitioner has no id", pract(func(p map[string]any) { delete(p, "id") }), bad},
	{"aud: missing", claims(func(m map[string]any) { delete(m, "aud") }), bad},
	{"aud: null", claims(func(m map[string]any) { m["aud"] = nil }), bad},
	{"aud: empty", claims(func(m map[string]any) { m["aud"] = "" }), bad},
	{"aud: array", claims(func(m map[string]any) { m["aud"] = []any{"https://authorize.fhir.nhs.net/token"} }), bad},
	// Blank is empty: spaces name no issuer, audience or practitioner.
	{"iss: blank", claims(func(m map[string]any) { m["iss"] = "  " }), bad},
	{"aud: blank", claims(func(m map[string]any) { m["aud"] = "  " }), bad},
	{"sub: blank, as is the practitioner id", claims(func(m map[string]any) {
		m["sub"] = " "
		m["requesting_practitioner"].(map[string]any)["id"] = " "
	}), bad},

	// §3.2 exp and iat.
	{"exp: missing", claims(func(m map[string]any) { delete(m, "exp") }), bad},
	{"exp: null", claims(func(m map[string]any) { m["exp"] = nil }), bad},
	{"exp: string", claims(func(m map[string]any) { m["exp"] = "1700000298" }), bad},
	{"exp: decimal", replaceIn(`"exp":1700000298`, `"exp":1700000298.0`), bad},
	{"exp: exponent", replaceIn(`"exp":1700000298`, `"exp":1.700000298e9`), bad},
	{"exp: out of int64 range", replaceIn(`"exp":1700000298`, `"exp":99999999999999999999`), bad},
	{"iat: missing", claims(func(m map[string]any) { delete(m, "iat") }), bad},
	{"iat: null", claims(func(m map[string]any) { m["iat"] = nil }), bad},
	{"iat: string", claims(func(m map[string]any) { m["iat"] = "1699999998" }), bad},
	{"iat: decimal", replaceIn(`"iat":1699999998`, `"iat":1699999998.5`), bad},
	{"lifetime: exp − iat = 299 (J4)", claims(func(m map[string]any) { times(m, -2, 297) }), bad},
	{"lifetime: exp − iat = 301 (J5)", claims(func(m map[string]any) { times(m, -2, 299) }), bad},
	{"lifetime: exp − iat = −1", claims(func(m map[string]any) { times(m, -2, -3) }), bad},
	{"lifetime: exp − iat overflows", claims(func(m map[string]any) {
		m["iat"] = int64(-9223372036854775807)
		m["exp"] = int64(9223372036854775807)
	}), bad},
	{"lifetime: iat near max int64", claims(func(m map[string]any) {
		m["iat"] = int64(9223372036854775807 - 100)
		m["exp"] = int64(9223372036854775807)
	}), bad},
	{"expiry: iat now−600, exp in the past (J22)", claims(func(m map[string]any) { times(m, -600, -300) }), bad},
	{"expiry: exp equals now", claims(func(m map[string]any) { times(m, -300, 0) }), bad},

	// §3.2 reason_for_request and requested_scope.
	{"reason: missing", claims(func(m map[string]any) { delete(m, "reason_for_request") }), bad},
	{"reason: null", claims(func(m map[string]any) { m["reason_for_request"] = nil }), bad},
	{"reason: other value", claims(func(m map[string]any) { m["reason_for_request"] = "secondaryuses" }), bad},
	{"reason: wrong case", claims(func(m map[string]any) { m["reason_for_request"] = "DirectCare" }), bad},
	{"scope: missing", claims(func(m map[string]any) { delete(m, "requested_scope") }), bad},
	{"scope: null", claims(func(m map[string]any) { m["requested_scope"] = nil }), bad},
	{"scope: unknown (badScope)", claims(func(m map[string]any) { m["requested_scope"] = "badScope" }), bad},
	{"scope: wrong case", claims(func(m map[string]any) { m["requested_scope"] = "Organization/*.read" }), bad},
	{"scope: array", claims(func(m map[string]any) { m["requested_scope"] = []any{"organization/*.read"} }), bad},

	// §3.2 requesting_device.
	{"device: missing", claims(func(m map[string]any) { delete(m, "requesting_device") }), bad},
	{"device: null", claims(func(m map[string]any) { m["requesting_device"] = nil }), bad},
	{"device: string", claims(func(m map[string]any) { m["requesting_device"] = "Device" }), bad},
	{"device: array", claims(func(m map[string]any) { m["requesting_device"] = []any{} }), bad},
	{"device: unknown element", device(func(d map[string]any) { d["invalidField"] = "x" }), inv},
	{"device: element name in wrong case", device(func(d map[string]any) { d["Model"] = d["model"]; delete(d, "model") }), inv},
	{"device: resourceType Patient", device(func(d map[string]any) { d["resourceType"] = "Patient" }), inv},
	{"device: resourceType missing", device(func(d map[string]any) { delete(d, "resourceType") }), inv},
	{"device: resourceType not a string", device(func(d map[string]any) { d["resourceType"] = 1 }), inv},
	{"device: identifier not an array", device(func(d map[string]any) { d["identifier"] = map[string]any{"value": "x"} }), inv},
	{"device: model not a string", device(func(d map[string]any) { d["model"] = 1 }), inv},
	{"device: null element", device(func(d map[string]any) { d["version"] = nil }), inv},
	{"device: unknown nested element", device(func(d map[string]any) {
		d["identifier"] = []any{map[string]any{"system": "s", "value": "v", "bogus": true}}
	}), inv},
	{"device: duplicate element", replaceIn(`"model":"v1"`, `"model":"v1","model":"v2"`), inv},
	{"device: empty object", claims(func(m map[string]any) { m["requesting_device"] = map[string]any{} }), inv},

	// STU3 Device elements the fhir struct does not model are valid (§3.2:
	// 422 only for a claim that is not a valid FHIR Device).
	{"device: STU3 type (older test-pack tokens)", device(set("type", `{"coding":[{"system":"https://consumersupplier.com/Id/device-type","code":"booking-client","display":"Booking client"}]}`)), ok},
	{"device: STU3 url", device(set("url", `"https://consumersupplier.thirdparty.nhs.uk/"`)), ok},
	{"device: STU3 udi", device(set("udi", `{"deviceIdentifier":"00844588003288","name":"Booking client","carrierHRF":"(01)00844588003288"}`)), ok},
	{"device: STU3 contact", device(set("contact", `[{"system":"phone","value":"0113 496 0000","use":"work"}]`)), ok},
	{"device: STU3 note", device(set("note", `[{"authorString":"ops","time":"2024-01-01T00:00:00Z","text":"test rig"}]`)), ok},
	{"device: STU3 owner", device(set("owner", `{"reference":"Organization/1","display":"GP Connect Assurance"}`)), ok},
	{"device: STU3 lotNumber", device(set("lotNumber", `"LOT-7"`)), ok},
	{"device: STU3 text", device(set("text", `{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">Booking client</div>"}`)), ok},
	{"device: STU3 extension with a value type the struct does not model", device(set("extension", `[{"url":"https://example.org/ext","valueDecimal":1.5}]`)), ok},
	{"device: STU3 language", device(set("language", `"en-GB"`)), ok},
	{"device: STU3 manufactureDate and expirationDate", device(set("manufactureDate", `"2020-01-01"`), set("expirationDate", `"2030-01-01T00:00:00Z"`)), ok},
	{"device: STU3 patient and location", device(set("patient", `{"reference":"Patient/1"}`), set("location", `{"reference":"Location/1"}`)), ok},
	{"device: STU3 safety", device(set("safety", `[{"text":"not a medical device"}]`)), ok},
	{"device: STU3 implicitRules", device(set("implicitRules", `"https://example.org/rules"`)), ok},
	{"device: STU3 contained", device(set("contained", `[{"resourceType":"Organization","id":"o1","name":"Supplier"}]`)), ok},
	{"device: _model sibling of a modelled primitive", device(set("_model", `{"extension":[{"url":"https://example.org/ext","valueString":"x"}]}`)), ok},
	{"device: _url sibling without the value", device(set("_url", `{"id":"u1"}`)), ok},

	// Names STU3 Device does not define, and STU3 elements in the wrong shape.
	{"device: invalidField (test pack)", device(set("invalidField", `"x"`)), inv},
	{"device: R4 udiCarrier", device(set("udiCarrier", `[{"deviceIdentifier":"1"}]`)), inv},
	{"device: modifierExtension", device(set("modifierExtension", `[{"url":"https://example.org/mod","valueBoolean":true}]`)), inv},
	{"device: type as an array (0..1)", device(set("type", `[{"text":"x"}]`)), inv},
	{"device: type as a string", device(set("type", `"booking-client"`)), inv},
	{"device: note as an object (0..*)", device(set("note", `{"text":"x"}`)), inv},
	{"device: note item null", device(set("note", `[null]`)), inv},
	{"device: note item a string", device(set("note", `[{"text":"x"},"y"]`)), inv},
	{"device: url as a number", device(set("url", `1`)), inv},
	{"device: url null", device(set("url", `null`)), inv},
	{"device: language as a boolean", device(set("language", `true`)), inv},
	{"device: contained as an object", device(set("contained", `{"resourceType":"Organization"}`)), inv},
	{"device: _model as a string", device(set("_model", `"x"`)), inv},
	{"device: _model as an array (model is 0..1)", device(set("_model", `[{}]`)), inv},
	{"device: _type (type is not a primitive)", device(set("_type", `{}`)), inv},
	{"device: _invalidField", device(set("_invalidField", `{}`)), inv},
	{"device: duplicate unmodelled element", replaceIn(`"model":"v1"`, `"model":"v1","url":"a","url":"b"`), inv},
	{"device: duplicate _name sibling", replaceIn(`"model":"v1"`, `"model":"v1","_model":{},"_model":{}`), inv},
	{"device: syntax error inside an unmodelled element", replaceIn(`"model":"v1"`, `"model":"v1","note":[{"text":}]`), bad},
	{"device: modifierExtension and resourceType Patient", device(set("resourceType", `"Patient"`), set("modifierExtension", `[]`)), inv},

	// §3.2 requesting_organization.
	{"organization: missing", claims(func(m map[string]any) { delete(m, "requesting_organization") }), bad},
	{"organization: null", claims(func(m map[string]any) { m["requesting_organization"] = nil }), bad},
	{"organization: number", claims(func(m map[string]any) { m["requesting_organization"] = 5 }), bad},
	{"organization: resourceType Practitioner", org(func(o map[string]any) { o["resourceType"] = "Practitioner" }), inv},
	{"organization: unknown element", org(func(o map[string]any) { o["odsCode"] = "GPCA0001" }), inv},
	{"organization: no name", org(func(o map[string]any) { delete(o, "name") }), bad},
	{"organization: no identifier", org(func(o map[string]any) { delete(o, "identifier") }), bad},
	{"organization: identifier of another system", org(func(o map[string]any) {
		o["identifier"] = []any{map[string]any{"system": "https://example.org/ods", "value": "GPCA0001"}}
	}), bad},
	{"organization: ODS identifier without value", org(func(o map[string]any) {
		o["identifier"] = []any{map[string]any{"system": gpconnect.SystemODSOrganisation}}
	}), bad},

	{"organization: test pack's other coding system", org(func(o map[string]any) {
		o["identifier"] = []any{map[string]any{"system": "http://fhir.nhs.net/Id/someOtherCodingSystem", "value": "NoOdsCode"}}
	}), bad},
	{"organization: empty identifier list", org(func(o map[string]any) { o["identifier"] = []any{} }), bad},
	{"organization: STU3 text", org(set("text", `{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">GP Connect Assurance</div>"}`)), ok},
	{"organization: STU3 alias with its _alias siblings", org(set("alias", `["GPCA","Assurance"]`), set("_alias", `[null,{"extension":[{"url":"https://example.org/ext","valueBoolean":true}]}]`)), ok},
	{"organization: STU3 partOf, endpoint and contact", org(set("partOf", `{"reference":"Organization/2"}`), set("endpoint", `[{"reference":"Endpoint/1"}]`), set("contact", `[{"purpose":{"text":"admin"},"name":{"family":"Jones"}}]`)), ok},
	{"organization: _name and _active siblings", org(set("_name", `{"id":"n"}`), set("_active", `{"id":"a"}`)), ok},
	{"organization: invalidField (test pack)", org(set("invalidField", `"x"`)), inv},
	{"organization: modifierExtension", org(set("modifierExtension", `[{"url":"https://example.org/mod","valueBoolean":true}]`)), inv},
	{"organization: _alias as an object (alias is 0..*)", org(set("alias", `["A"]`), set("_alias", `{}`)), inv},
	{"organization: _alias item a string", org(set("alias", `["A"]`), set("_alias", `["x"]`)), inv},
	{"organization: text as an array", org(set("text", `[]`)), inv},

	// §3.2 requesting_practitioner.
	{"practitioner: missing", claims(func(m map[string]any) { delete(m, "requesting_practitioner") }), bad},
	{"practitioner: null", claims(func(m map[string]any) { m["requesting_practitioner"] = nil }), bad},
	{"practitioner: string", claims(func(m map[string]any) { m["requesting_practitioner"] = "1" }), bad},
	{"practitioner: resourceType Patient", pract(func(p map[string]any) { p["resourceType"] = "Patient" }), inv},
	{"practitioner: unknown element", pract(func(p map[string]any) { p["foo"] = "bar" }), inv},
	{"practitioner: name not an array", pract(func(p map[string]any) { p["name"] = map[string]any{"family": "X"} }), inv},
	{"practitioner: given not an array", pract(func(p map[string]any) {
		p["name"] = []any{map[string]any{"family": "X", "given": "Y"}}
	}), inv},
	{"practitioner: no sds-user-id identifier", pract(func(p map[string]any) {
		p["identifier"] = []any{map[string]any{"system": gpconnect.SystemSDSRoleProfile, "value": "UNK"}}
	}), bad},
	{"practitioner: sds-user-id without value", pract(func(p map[string]any) {
		p["identifier"] = []any{map[string]any{"system": gpconnect.SystemSDSUser}}
	}), bad},
	{"practitioner: no name", pract(func(p map[string]any) { delete(p, "name") }), bad},
	{"practitioner: name without family", pract(func(p map[string]any) {
		p["name"] = []any{map[string]any{"given": []any{"A"}}}
	}), bad},
	{"practitioner: test pack's random identifier", pract(func(p map[string]any) {
		p["identifier"] = []any{map[string]any{"system": "http://IdentifierServer/RandomId", "value": "ABC123"}}
	}), bad},
	{"practitioner: empty identifier list", pract(func(p map[string]any) { p["identifier"] = []any{} }), bad},
	{"practitioner: STU3 text", pract(set("text", `{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">AssuranceTest AssurancePractitioner</div>"}`)), ok},
	{"practitioner: STU3 photo", pract(set("photo", `[{"contentType":"image/png","url":"https://example.org/p.png","title":"photo"}]`)), ok},
	{"practitioner: STU3 language", pract(set("language", `"en-GB"`)), ok},
	{"practitioner: _gender and _birthDate siblings", pract(set("gender", `"unknown"`), set("_gender", `{"id":"g"}`), set("_birthDate", `{"id":"b"}`)), ok},
	{"practitioner: invalidField (test pack)", pract(set("invalidField", `"x"`)), inv},
	{"practitioner: modifierExtension", pract(set("modifierExtension", `[{"url":"https://example.org/mod","valueBoolean":true}]`)), inv},
	{"practitioner: deceasedBoolean (not in STU3 Practitioner)", pract(set("deceasedBoolean", `false`)), inv},
	{"practitioner: photo as an object", pract(set("photo", `{"url":"https://example.org/p.png"}`)), inv},
	{"practitioner: language as an object", pract(set("language", `{"coding":[]}`)), inv},
	// Values FHIR constrains beyond their JSON type (422, as in a request body).
	{"practitioner: gender not a code of the value set", pract(set("gender", `"bogus"`)), inv},
	{"practitioner: gender in the wrong case", pract(set("gender", `"Male"`)), inv},
	{"practitioner: gender female", pract(set("gender", `"female"`)), ok},
	{"practitioner: birthDate not a date", pract(set("birthDate", `"notadate"`)), inv},
	{"practitioner: birthDate 30 February", pract(set("birthDate", `"1970-02-30"`)), inv},
	{"practitioner: birthDate with a time", pract(set("birthDate", `"1970-01-01T00:00:00Z"`)), inv},
	{"practitioner: birthDate year only", pract(set("birthDate", `"1970"`)), ok},
	{"practitioner: birthDate year and month", pract(set("birthDate", `"1970-06"`)), ok},
	{"practitioner: extension without a value (ext-1)", pract(set("extension", `[{"url":"http://x"}]`)), inv},
	{"practitioner: extension with a value and nested extensions (ext-1)", pract(set("extension", `[{"url":"http://x","valueString":"a","extension":[{"url":"b","valueBoolean":true}]}]`)), inv},
	{"practitioner: nested extension without a value", pract(set("extension", `[{"url":"http://x","extension":[{"url":"b"}]}]`)), inv},
	{"practitioner: extension without a url", pract(set("extension", `[{"valueString":"a"}]`)), inv},
	{"practitioner: extension with two values", pract(set("extension", `[{"url":"http://x","valueString":"a","valueBoolean":true}]`)), inv},
	{"practitioner: extension with nested extensions", pract(set("extension", `[{"url":"http://x","extension":[{"url":"b","valueBoolean":true}]}]`)), ok},
	{"organization: extension without a value (ext-1)", org(set("extension", `[{"url":"http://x"}]`)), inv},
	// Valid STU3 content inside the claims' elements that the structs do not
	// keep: Element.id and Element.extension on any element, a primitive's
	// _name sibling, and extension values of other types.
	{"practitioner: extension with a valueDate", pract(set("extension", `[{"url":"https://example.org/since","valueDate":"2020-01-01"}]`)), ok},
	{"practitioner: extension with a valueDecimal", pract(set("extension", `[{"url":"https://example.org/fte","valueDecimal":0.6}]`)), ok},
	{"practitioner: nested extension with a valueQuantity", pract(set("extension", `[{"url":"https://example.org/a","extension":[{"url":"b","valueQuantity":{"value":1}}]}]`)), ok},
	{"practitioner: extension value null", pract(set("extension", `[{"url":"https://example.org/since","valueDate":null}]`)), inv},
	{"practitioner: name with an extension and an id", pract(func(p map[string]any) {
		p["name"] = []any{map[string]any{"id": "n1", "extension": []any{map[string]any{"url": "https://example.org/n", "valueString": "x"}},
			"family": "AssurancePractitioner", "given": []any{"AssuranceTest"}}}
	}), ok},
	{"practitioner: name with a _family sibling and _given items", pract(func(p map[string]any) {
		p["name"] = []any{map[string]any{"family": "AssurancePractitioner", "_family": map[string]any{"id": "f"},
			"given": []any{"AssuranceTest"}, "_given": []any{nil}}}
	}), ok},
	{"practitioner: identifier with an id", pract(func(p map[string]any) {
		ids := p["identifier"].([]any)
		ids[0].(map[string]any)["id"] = "i1"
	}), ok},
	{"practitioner: name with an unknown element", pract(func(p map[string]any) {
		p["name"] = []any{map[string]any{"family": "AssurancePractitioner", "bogus": 1}}
	}), inv},
	{"practitioner: _ sibling of no element", pract(func(p map[string]any) {
		p["name"] = []any{map[string]any{"family": "AssurancePractitioner", "_bogus": map[string]any{}}}
	}), inv},
	{"practitioner: _ sibling of a complex element", pract(func(p map[string]any) {
		ids := p["identifier"].([]any)
		ids[0].(map[string]any)["_period"] = map[string]any{}
	}), inv},
	{"practitioner: element id not a string", pract(func(p map[string]any) {
		ids := p["identifier"].([]any)
		ids[0].(map[string]any)["id"] = 1
	}), inv},
}

func TestVerify(t *testing.T) {
	v := &Verifier{Now: fixedClock}
	for _, tc := range verifyCases {
		t.Run(tc.rule, func(t *testing.T) {
			h := tc.auth(t)
			c, err := v.Verify(h)
			got := spineCode(t, err)
			if got != tc.want {
				t.Fatalf("Verify: code %q, want %q (err: %v)", got, tc.want, err)
			}
			if err != nil {
				if c != nil {
					t.Errorf("claims returned with an error")
				}
				checkNoEcho(t, err.Error(), h)
				return
			}
			if c == nil || c.Expires-c.IssuedAt != Lifetime || !gpconnect.ValidScope(c.Scope) || c.Subject != c.Practitioner.ID {
				t.Fatalf("claims %+v break an invariant", c)
			}
		})
	}
}

// checkNoEcho fails when msg repeats the token or a long piece of it.
func checkNoEcho(t *testing.T, msg, header string) {
	t.Helper()
	tok := strings.TrimPrefix(header, "Bearer ")
	for _, part := range strings.Split(tok, ".") {
		if len(part) >= 16 && strings.Contains(msg, part[:16]) {
			t.Errorf("error message echoes the token: %s", msg)
		}
	}
	if len(msg) > 300 {
		t.Errorf("error message is %d bytes long", len(msg))
	}
}

func TestVerifyDefaultClaims(t *testing.T) {
	tok, err := Mint(DefaultTestIdentity(), gpconnect.ScopePatientWrite, testNow.Add(-2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	c, err := (&Verifier{Now: fixedClock}).Verify("Bearer " + tok)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"iss", c.Issuer, "https://ConsumerSystemURL"},
		{"sub", c.Subject, "1"},
		{"aud", c.Audience, "https://authorize.fhir.nhs.net/token"},
		{"reason", c.ReasonForRequest, "directcare"},
		{"scope", string(c.Scope), "patient/*.write"},
		{"OrgODS", c.OrgODS(), "GPCA0001"},
		{"PractitionerSDSID", c.PractitionerSDSID(), "GCASDS0001"},
		{"PractitionerRoleProfile", c.PractitionerRoleProfile(), "112233445566"},
		{"DeviceID", c.DeviceID(), "GPConnectTestSystem|Client"},
		{"organization name", c.Organization.Name, "GP Connect Assurance"},
		{"practitioner family", c.Practitioner.Name[0].Family, "AssurancePractitioner"},
		{"device model", c.Device.Model, "v1"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %q, want %q", ch.name, ch.got, ch.want)
		}
	}
	if c.IssuedAt != testNow.Unix()-2 || c.Expires != testNow.Unix()+298 {
		t.Errorf("iat/exp = %d/%d", c.IssuedAt, c.Expires)
	}
}

func TestAccessorsLegacyAndMissing(t *testing.T) {
	var c Claims
	if c.OrgODS() != "" || c.PractitionerSDSID() != "" || c.PractitionerRoleProfile() != "" || c.DeviceID() != "" {
		t.Fatal("empty claims should give empty accessors")
	}
	id := DefaultTestIdentity()
	id.Organization.Identifier[0].System = gpconnect.SystemODSOrganisationOld
	c.Organization = id.Organization
	if c.OrgODS() != "GPCA0001" {
		t.Fatalf("legacy ODS system not accepted: %q", c.OrgODS())
	}
	c.Organization.Identifier = append(c.Organization.Identifier,
		id.Organization.Identifier[0])
	c.Organization.Identifier[1].System = gpconnect.SystemODSOrganisation
	c.Organization.Identifier[1].Value = "NEW01"
	if c.OrgODS() != "NEW01" {
		t.Fatalf("current ODS system should win over legacy: %q", c.OrgODS())
	}
}

func TestLeeway(t *testing.T) {
	cases := []struct {
		rule     string
		leeway   time.Duration
		iat, exp int64
		want     gpconnect.SpineCode
	}{
		{"no leeway: expired 30 s ago", 0, -330, -30, bad},
		{"60 s leeway: expired 30 s ago passes", time.Minute, -330, -30, ok},
		{"60 s leeway: expired 60 s ago fails", time.Minute, -360, -60, bad},
		{"60 s leeway: J22 still fails", time.Minute, -600, -300, bad},
		{"negative leeway acts as 0", -time.Hour, -298, 2, ok},
	}
	for _, tc := range cases {
		t.Run(tc.rule, func(t *testing.T) {
			v := &Verifier{Now: fixedClock, Leeway: tc.leeway}
			m := defaultPayload(t)
			times(m, tc.iat, tc.exp)
			_, err := v.Verify(bearer(marshal(t, m)))
			if got := spineCode(t, err); got != tc.want {
				t.Fatalf("code %q, want %q (%v)", got, tc.want, err)
			}
		})
	}
}

func TestZeroVerifierUsesSystemClock(t *testing.T) {
	tok, err := Mint(DefaultTestIdentity(), gpconnect.ScopeOrgRead, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var v Verifier
	if _, err := v.Verify("Bearer " + tok); err != nil {
		t.Fatal(err)
	}
	var nilV *Verifier
	if _, err := nilV.Verify("Bearer " + tok); err != nil {
		t.Fatal(err)
	}
	old, err := Mint(DefaultTestIdentity(), gpconnect.ScopeOrgRead, time.Now().Add(-10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify("Bearer " + old); spineCode(t, err) != bad {
		t.Fatalf("old token: %v", err)
	}
}

func TestCheckScope(t *testing.T) {
	cases := []struct {
		rule           string
		token, require gpconnect.Scope
		want           gpconnect.SpineCode
	}{
		{"patient read on patient read", gpconnect.ScopePatientRead, gpconnect.ScopePatientRead, ok},
		{"patient write on patient write", gpconnect.ScopePatientWrite, gpconnect.ScopePatientWrite, ok},
		{"organization read on organization read", gpconnect.ScopeOrgRead, gpconnect.ScopeOrgRead, ok},
		{"patient write on patient read (retrieve appointments)", gpconnect.ScopePatientWrite, gpconnect.ScopePatientRead, bad},
		{"organization write on patient read", gpconnect.ScopeOrgWrite, gpconnect.ScopePatientRead, bad},
		{"patient read on patient write (book)", gpconnect.ScopePatientRead, gpconnect.ScopePatientWrite, bad},
		{"patient read on organization read (slots)", gpconnect.ScopePatientRead, gpconnect.ScopeOrgRead, bad},
		{"organization read on patient read", gpconnect.ScopeOrgRead, gpconnect.ScopePatientRead, bad},
		{"organization write on organization read", gpconnect.ScopeOrgWrite, gpconnect.ScopeOrgRead, bad},
		{"unknown required scope", gpconnect.ScopeOrgRead, "", bad},
	}
	for _, tc := range cases {
		t.Run(tc.rule, func(t *testing.T) {
			err := CheckScope(&Claims{Scope: tc.token}, tc.require)
			if got := spineCode(t, err); got != tc.want {
				t.Fatalf("code %q, want %q (%v)", got, tc.want, err)
			}
		})
	}
	if got := spineCode(t, CheckScope(nil, gpconnect.ScopeOrgRead)); got != bad {
		t.Fatalf("nil claims: %q", got)
	}
	// The scope every interaction declares is accepted for that interaction.
	for _, id := range []gpconnect.InteractionID{gpconnect.ReadMetadata, gpconnect.SearchSlot, gpconnect.CreateAppointment, gpconnect.SearchPatientAppointment} {
		if err := CheckScope(&Claims{Scope: id.Scope()}, id.Scope()); err != nil {
			t.Errorf("%s: %v", id, err)
		}
	}
}

func TestErrorMessageFormat(t *testing.T) {
	e := &Error{Code: gpconnect.BadRequest, Message: "x"}
	if e.Error() != "BAD_REQUEST: x" || e.HTTPStatus() != 400 {
		t.Fatalf("%q %d", e.Error(), e.HTTPStatus())
	}
	if (&Error{Code: gpconnect.InvalidResource}).HTTPStatus() != 422 {
		t.Fatal("INVALID_RESOURCE should be 422")
	}
}

func TestUnsignedHeaderConstant(t *testing.T) {
	if unsignedHeaderB64 != "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0" {
		t.Fatal(unsignedHeaderB64)
	}
}

func BenchmarkVerify(b *testing.B) {
	tok, err := Mint(DefaultTestIdentity(), gpconnect.ScopeOrgRead, testNow.Add(-2*time.Second))
	if err != nil {
		b.Fatal(err)
	}
	h := "Bearer " + tok
	v := &Verifier{Now: fixedClock}
	b.ReportAllocs()
	b.SetBytes(int64(len(h)))
	for b.Loop() {
		if _, err := v.Verify(h); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyRejectExpired(b *testing.B) {
	tok, err := Mint(DefaultTestIdentity(), gpconnect.ScopeOrgRead, testNow.Add(-time.Hour))
	if err != nil {
		b.Fatal(err)
	}
	h := "Bearer " + tok
	v := &Verifier{Now: fixedClock}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(h); err == nil {
			b.Fatal("expired token accepted")
		}
	}
}
