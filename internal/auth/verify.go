package auth

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
)

// MaxTokenLength is the longest bearer token Verify accepts, in bytes.
const MaxTokenLength = 64 << 10

// unsignedHeader is the only JOSE header GP Connect allows (spec §3.1).
const unsignedHeader = `{"alg":"none","typ":"JWT"}`

// unsignedHeaderB64 is unsignedHeader in base64url, the common fast path.
var unsignedHeaderB64 = base64.RawURLEncoding.EncodeToString([]byte(unsignedHeader))

var b64 = base64.RawURLEncoding.Strict()

// MaxSignedIatAhead is how far (seconds) a signed token's iat may be after
// the server's clock: clocks are synchronised to NHS NTP, so ten minutes
// covers any real skew.
const MaxSignedIatAhead = 600

// Verifier checks GP Connect access tokens; its zero value accepts unsigned tokens by the system clock.
type Verifier struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Leeway tolerates clock skew after exp; whole seconds count, negative
	// means 0. Keep it well below 300 s: test J22 sends a token whose exp
	// passed 300 s ago and expects it to be refused.
	Leeway time.Duration
	// KeySet, when set, makes signed tokens mandatory: "alg":"none" is
	// refused and the signature must verify against a key of the set.
	KeySet jwk.Set
}

// Verify checks an Authorization header value and returns its claims, or an *Error.
func (v *Verifier) Verify(authorizationHeader string) (*Claims, error) {
	c, err := v.verify(authorizationHeader)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// BearerToken checks the Authorization header's shape alone (present,
// "Bearer", one token) and returns the token. The provider calls it where
// spec §3.5 puts the header check, before content negotiation; the token
// itself is read later, after it.
func BearerToken(h string) (string, error) {
	tok, err := bearerToken(h)
	if err != nil {
		return "", err
	}
	return tok, nil
}

func bearerToken(h string) (string, *Error) {
	if h == "" {
		return "", badRequest("Authorization header is missing")
	}
	// Exactly two parts split on a space, as the GP Connect reference
	// provider reads it (spec §2.1): "Bearer  x" is three, with an empty
	// middle one, though RFC 6750's grammar would allow more spaces.
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || strings.IndexByte(tok, ' ') >= 0 {
		return "", badRequest(`Authorization header must be "Bearer <token>" (two space-separated parts)`)
	}
	// Scheme names are case-insensitive (RFC 7235 §2.1). EqualFold folds
	// no non-ASCII letter onto one of "bearer", so this is an ASCII match.
	if !strings.EqualFold(scheme, "Bearer") {
		return "", badRequest(`Authorization scheme must be "Bearer"`)
	}
	if tok == "" {
		return "", badRequest("bearer token is empty")
	}
	if len(tok) > MaxTokenLength {
		return "", badRequest(fmt.Sprintf("bearer token is longer than %d bytes", MaxTokenLength))
	}
	return tok, nil
}

func (v *Verifier) verify(h string) (*Claims, *Error) {
	tok, e := bearerToken(h)
	if e != nil {
		return nil, e
	}
	hdr, rest, _ := strings.Cut(tok, ".")
	payload, sig, ok := strings.Cut(rest, ".")
	if !ok || strings.IndexByte(sig, '.') >= 0 {
		return nil, badRequest("JWT must have three dot-separated parts (header.payload.signature); an unsigned token ends with '.'")
	}
	if hdr == "" {
		return nil, badRequest("JWT header part is empty")
	}
	if payload == "" {
		return nil, badRequest("JWT payload part is empty")
	}

	var body string
	if v == nil || v.KeySet == nil {
		if hdr != unsignedHeaderB64 {
			d, e := decodePart("header", hdr)
			if e != nil {
				return nil, e
			}
			if e := checkUnsignedHeader(d); e != nil {
				return nil, e
			}
		}
		if sig != "" {
			return nil, badRequest(`JWT signature part must be empty for "alg":"none"`)
		}
		d, e := decodePart("payload", payload)
		if e != nil {
			return nil, e
		}
		body = d
	} else {
		d, e := decodePart("header", hdr)
		if e != nil {
			return nil, e
		}
		if body, e = v.verifySigned(tok, d, payload, sig); e != nil {
			return nil, e
		}
	}
	return v.claims(body)
}

// checkAlphabet reports the first byte of a token part outside base64url.
func checkAlphabet(what, part string) *Error {
	for i := 0; i < len(part); i++ {
		c := part[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		case c == '=':
			return badRequest("JWT must use base64url without '=' padding")
		case c == '+' || c == '/':
			return badRequest("JWT must use the base64url alphabet ('-' and '_', not '+' and '/')")
		default:
			return badRequest(fmt.Sprintf("JWT %s contains a character that is not base64url (at offset %d)", what, i))
		}
	}
	return nil
}

// decodePart decodes one base64url token part. The decoder skips CR and
// LF, so those are refused here; the alphabet is only examined on failure,
// to name the fault.
func decodePart(what, s string) (string, *Error) {
	d, err := b64.DecodeString(s)
	if err != nil || strings.IndexByte(s, '\n') >= 0 || strings.IndexByte(s, '\r') >= 0 {
		if e := checkAlphabet(what, s); e != nil {
			return "", e
		}
		return "", badRequest("JWT " + what + " is not valid base64url")
	}
	return string(d), nil
}

// checkUnsignedHeader requires the decoded JOSE header to be exactly
// {"alg":"none","typ":"JWT"}, member order and whitespace aside.
func checkUnsignedHeader(d string) *Error {
	var alg, typ bool
	e := eachHeaderMember(d, func(name string, val string, kind byte) *Error {
		switch name {
		case "alg":
			if alg {
				return badRequest(`JWT header has a duplicate "alg"`)
			}
			alg = true
			if kind != kindString || stringValue(val, strings.IndexByte(val, '\\') >= 0) != "none" {
				return badRequest(`JWT header "alg" must be "none" (signed tokens are not accepted)`)
			}
		case "typ":
			if typ {
				return badRequest(`JWT header has a duplicate "typ"`)
			}
			typ = true
			if kind != kindString || stringValue(val, strings.IndexByte(val, '\\') >= 0) != "JWT" {
				return badRequest(`JWT header "typ" must be "JWT"`)
			}
		default:
			return badRequest(fmt.Sprintf("JWT header has an unexpected key %q; it must be exactly %s", clip(name), unsignedHeader))
		}
		return nil
	})
	if e != nil {
		return e
	}
	if !alg {
		return badRequest(`JWT header has no "alg"`)
	}
	if !typ {
		return badRequest(`JWT header has no "typ"`)
	}
	return nil
}

// eachHeaderMember calls fn for each member of the JOSE header object d.
func eachHeaderMember(d string, fn func(name string, val string, kind byte) *Error) *Error {
	i := skipWS(d, 0)
	if i >= len(d) || d[i] != '{' {
		return badRequest("JWT header is not a JSON object")
	}
	r := objReader{d: d, i: i}
	for {
		key, esc, more, err := r.next()
		if err != nil {
			return badRequest("JWT header is not valid JSON")
		}
		if !more {
			break
		}
		end, kind, err := scanValue(d, r.i, 1)
		if err != nil {
			return badRequest("JWT header is not valid JSON")
		}
		if e := fn(decodeKey(key, esc), d[r.i:end], kind); e != nil {
			return e
		}
		r.i = end
	}
	if skipWS(d, r.i) != len(d) {
		return badRequest("JWT header has data after the JSON object")
	}
	return nil
}

// verifySigned checks a signed token's header and signature against
// v.KeySet and returns the verified payload.
func (v *Verifier) verifySigned(tok string, hdr string, payload, sig string) (string, *Error) {
	var alg, kid string
	var typ bool
	e := eachHeaderMember(hdr, func(name string, val string, kind byte) *Error {
		var dst *string
		switch name {
		case "alg":
			dst = &alg
		case "kid":
			dst = &kid
		case "typ":
			if typ {
				return badRequest(`JWT header has a duplicate "typ"`)
			}
			typ = true
			if kind != kindString || stringValue(val, strings.IndexByte(val, '\\') >= 0) != "JWT" {
				return badRequest(`JWT header "typ" must be "JWT"`)
			}
			return nil
		default:
			return badRequest(fmt.Sprintf(`JWT header has an unexpected key %q; only "alg", "typ" and "kid" are allowed`, clip(name)))
		}
		if kind != kindString {
			return badRequest(fmt.Sprintf("JWT header %q must be a string", name))
		}
		if *dst != "" {
			return badRequest(fmt.Sprintf("JWT header has a duplicate %q", name))
		}
		*dst = stringValue(val, strings.IndexByte(val, '\\') >= 0)
		if *dst == "" {
			return badRequest(fmt.Sprintf("JWT header %q is empty", name))
		}
		return nil
	})
	if e != nil {
		return "", e
	}
	switch {
	case alg == "":
		return "", badRequest(`JWT header has no "alg"`)
	case alg == "none":
		return "", badRequest(`unsigned JWT ("alg":"none") refused: this endpoint requires a signed token`)
	case sig == "":
		return "", badRequest("JWT signature part is empty")
	}
	if _, e := decodePart("payload", payload); e != nil {
		return "", e
	}
	if _, e := decodePart("signature", sig); e != nil {
		return "", e
	}
	var opts []jws.WithKeySetSuboption
	if kid == "" {
		opts = append(opts, jws.WithRequireKid(false), jws.WithInferAlgorithmFromKey(true))
	} else {
		opts = append(opts, jws.WithInferAlgorithmFromKey(true))
	}
	var used any
	body, err := jws.Verify([]byte(tok), jws.WithCompact(), jws.WithKeySet(v.KeySet, opts...), jws.WithKeyUsed(&used))
	if err != nil {
		return "", badRequest("JWT signature could not be verified with the configured keys")
	}
	if k, ok := used.(jwk.Key); ok {
		if ka := k.Algorithm().String(); ka != "" && ka != alg {
			return "", badRequest(`JWT header "alg" does not match the verifying key`)
		}
	}
	return string(body), nil
}

// Indexes of the claims Verify reads.
const (
	cIss = iota
	cSub
	cAud
	cExp
	cIat
	cReason
	cScope
	cDevice
	cOrg
	cPract
	cRecord
	numClaims
)

var claimNames = [numClaims]string{
	cIss:    "iss",
	cSub:    "sub",
	cAud:    "aud",
	cExp:    "exp",
	cIat:    "iat",
	cReason: "reason_for_request",
	cScope:  "requested_scope",
	cDevice: "requesting_device",
	cOrg:    "requesting_organization",
	cPract:  "requesting_practitioner",
	cRecord: "requested_record",
}

func claimIndex(name string) int {
	switch name {
	case "iss":
		return cIss
	case "sub":
		return cSub
	case "aud":
		return cAud
	case "exp":
		return cExp
	case "iat":
		return cIat
	case "reason_for_request":
		return cReason
	case "requested_scope":
		return cScope
	case "requesting_device":
		return cDevice
	case "requesting_organization":
		return cOrg
	case "requesting_practitioner":
		return cPract
	case "requested_record":
		return cRecord
	}
	return -1
}

// rawClaims holds the raw JSON value and kind of each known claim (kind 0
// when absent) and, for the resource claims, the decoding error.
type rawClaims struct {
	val    [numClaims]string
	kind   [numClaims]byte
	resErr [numClaims]*Error
}

func (r *rawClaims) check(idx int, want byte, what string) *Error {
	name := claimNames[idx]
	switch r.kind[idx] {
	case 0:
		return badRequest("JWT claim " + name + " is missing")
	case kindNull:
		return badRequest("JWT claim " + name + " is null")
	case want:
		return nil
	}
	return badRequest("JWT claim " + name + " must be " + what)
}

func (r *rawClaims) str(idx int) (string, *Error) {
	if e := r.check(idx, kindString, "a string"); e != nil {
		return "", e
	}
	raw := r.val[idx]
	s := stringValue(raw, strings.IndexByte(raw, '\\') >= 0)
	if strings.TrimSpace(s) == "" {
		return "", badRequest("JWT claim " + claimNames[idx] + " is empty")
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 }) {
		return "", badRequest("JWT claim " + claimNames[idx] + " holds a control character")
	}
	return s, nil
}

func (r *rawClaims) int(idx int) (int64, *Error) {
	const what = "an integer number of seconds since the epoch"
	if e := r.check(idx, kindNumber, what); e != nil {
		return 0, e
	}
	raw := r.val[idx]
	if _, isInt, _ := scanNumber(raw, 0); !isInt {
		return 0, badRequest("JWT claim " + claimNames[idx] + " must be " + what + ", not a decimal")
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return 0, badRequest("JWT claim " + claimNames[idx] + " is out of range")
	}
	return n, nil
}

func (r *rawClaims) object(idx int, resource string) *Error {
	return r.check(idx, kindObject, "a JSON object (a FHIR "+resource+" resource)")
}

// claims parses and validates the JSON payload (spec §3.2).
func (v *Verifier) claims(p string) (*Claims, *Error) {
	var r rawClaims
	c := new(Claims)
	i := skipWS(p, 0)
	if i >= len(p) || p[i] != '{' {
		return nil, badRequest("JWT payload is not a JSON object")
	}
	or := objReader{d: p, i: i}
	for {
		key, esc, more, err := or.next()
		if err != nil {
			return nil, badRequest("JWT payload is not valid JSON: " + err.Error())
		}
		if !more {
			break
		}
		idx := claimIndex(decodeKey(key, esc))
		if idx >= 0 && r.kind[idx] != 0 {
			return nil, badRequest("JWT payload has a duplicate " + claimNames[idx] + " claim")
		}
		// Resource claims are decoded in this same pass; their errors wait
		// until the BAD_REQUEST checks below have run.
		end, kind := 0, byte(0)
		if idx >= cDevice && idx <= cPract && or.i < len(p) && p[or.i] == '{' {
			end, r.resErr[idx] = c.decodeClaim(idx, p, or.i)
			kind = kindObject
		}
		if end == 0 {
			if end, kind, err = scanValue(p, or.i, 1); err != nil {
				return nil, badRequest("JWT payload is not valid JSON: " + err.Error())
			}
		}
		if idx >= 0 {
			r.val[idx], r.kind[idx] = p[or.i:end], kind
		}
		or.i = end
	}
	if skipWS(p, or.i) != len(p) {
		return nil, badRequest("JWT payload has data after the JSON object")
	}

	if r.kind[cRecord] != 0 {
		return nil, badRequest("JWT claim requested_record is not allowed in an STU3 token")
	}
	var e *Error
	if c.Issuer, e = r.str(cIss); e != nil {
		return nil, e
	}
	if c.Subject, e = r.str(cSub); e != nil {
		return nil, e
	}
	if c.Audience, e = r.str(cAud); e != nil {
		return nil, e
	}
	if c.Expires, e = r.int(cExp); e != nil {
		return nil, e
	}
	if c.IssuedAt, e = r.int(cIat); e != nil {
		return nil, e
	}
	if c.IssuedAt > math.MaxInt64-Lifetime || c.Expires != c.IssuedAt+Lifetime {
		msg := "JWT exp must be exactly iat + 300 seconds"
		if d, ok := sub64(c.Expires, c.IssuedAt); ok {
			msg += " (exp − iat is " + strconv.FormatInt(d, 10) + ")"
		}
		return nil, badRequest(msg)
	}
	now := v.now()
	if c.Expires <= now.Unix()-v.leeway() {
		return nil, badRequest(fmt.Sprintf("JWT has expired (exp %d is not after the current time %d)", c.Expires, now.Unix()))
	}
	// An unsigned token's iat is not judged (spec: providers do not validate
	// it, and the test pack sends one 200 s ahead). A signed token is a
	// credential, and one dated years ahead would never expire.
	if v != nil && v.KeySet != nil && c.IssuedAt > now.Unix()+MaxSignedIatAhead {
		return nil, badRequest(fmt.Sprintf("JWT iat %d is more than %d seconds after the current time %d: a signed token may be at most that far ahead of this server's clock",
			c.IssuedAt, MaxSignedIatAhead, now.Unix()))
	}
	if c.ReasonForRequest, e = r.str(cReason); e != nil {
		return nil, e
	}
	if c.ReasonForRequest != ReasonDirectCare {
		return nil, badRequest(fmt.Sprintf("JWT claim reason_for_request must be %q, got %q", ReasonDirectCare, clip(c.ReasonForRequest)))
	}
	scope, e := r.str(cScope)
	if e != nil {
		return nil, e
	}
	c.Scope = gpconnect.Scope(scope)
	if !gpconnect.ValidScope(c.Scope) {
		return nil, badRequest(fmt.Sprintf("JWT claim requested_scope %q is not one of %s, %s, %s, %s", clip(scope),
			gpconnect.ScopePatientRead, gpconnect.ScopePatientWrite, gpconnect.ScopeOrgRead, gpconnect.ScopeOrgWrite))
	}
	if e := r.object(cDevice, "Device"); e != nil {
		return nil, e
	}
	if e := r.object(cOrg, "Organization"); e != nil {
		return nil, e
	}
	if e := r.object(cPract, "Practitioner"); e != nil {
		return nil, e
	}
	for _, idx := range [...]int{cDevice, cOrg, cPract} {
		if e := r.resErr[idx]; e != nil {
			return nil, e
		}
	}
	// A FHIR string should hold no control character but tab, CR and LF
	// (and these values reach the audit trail). In valid JSON a decoded
	// string can only hold one written as an escape (\u00XX, \b or \f), so
	// a payload without those needs no walk of the resources (the walk was
	// a third of the token check's time).
	if strings.Contains(p, `\u00`) || strings.Contains(p, `\b`) || strings.Contains(p, `\f`) {
		for _, res := range [...]struct {
			name string
			r    fhir.Resource
		}{{claimNames[cDevice], &c.Device}, {claimNames[cOrg], &c.Organization}, {claimNames[cPract], &c.Practitioner}} {
			if err := fhir.CheckStrings(res.r); err != nil {
				return nil, invalidResource("JWT claim " + res.name + " is not a valid FHIR resource: " + fhir.Problem(err))
			}
		}
	}
	if e := checkClaimValues(c, &r); e != nil {
		return nil, e
	}
	if c.Subject != c.Practitioner.ID {
		return nil, badRequest("JWT claim sub must equal requesting_practitioner.id")
	}
	if e := checkOrganization(c); e != nil {
		return nil, e
	}
	if e := checkPractitioner(c); e != nil {
		return nil, e
	}
	return c, nil
}

// decodeClaim decodes the resource claim idx at p[i] into c.
func (c *Claims) decodeClaim(idx int, p string, i int) (int, *Error) {
	name := claimNames[idx]
	switch idx {
	case cDevice:
		return decodeResource(name, p, i, deviceDef, &c.Device)
	case cOrg:
		return decodeResource(name, p, i, organizationDef, &c.Organization)
	default:
		return decodeResource(name, p, i, practitionerDef, &c.Practitioner)
	}
}

func sub64(a, b int64) (int64, bool) {
	d := a - b
	if (b > 0 && d > a) || (b < 0 && d < a) {
		return 0, false
	}
	return d, true
}

func (v *Verifier) now() time.Time {
	if v == nil || v.Now == nil {
		return time.Now()
	}
	return v.Now()
}

func (v *Verifier) leeway() int64 {
	if v == nil || v.Leeway <= 0 {
		return 0
	}
	return int64(v.Leeway / time.Second)
}

// checkClaimValues checks values in the resource claims that the decoder
// takes as JSON strings and objects but FHIR constrains further: the
// practitioner's gender code and birth date, and the extensions at the top
// of the practitioner and organisation claims, which need a url and one
// value or nested extensions, not both (STU3 ext-1, at every depth of those
// extensions, read from the raw claim as a JSON request body's are, since
// the decoder skips value types the struct does not keep). A claim that
// breaks them is not a valid FHIR resource (spec §3.2: 422). Extensions
// inside other elements, and the device claim's, are checked for shape only.
func checkClaimValues(c *Claims, r *rawClaims) *Error {
	p := &c.Practitioner
	switch p.Gender {
	case "", "male", "female", "other", "unknown":
	default:
		return invalidResource(fmt.Sprintf("requesting_practitioner is not a valid FHIR Practitioner: gender %q is not one of male, female, other, unknown", clip(p.Gender)))
	}
	if p.BirthDate != "" && !validDate(p.BirthDate) {
		return invalidResource(fmt.Sprintf("requesting_practitioner is not a valid FHIR Practitioner: birthDate %q is not a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD)", clip(p.BirthDate)))
	}
	for _, x := range [...]struct {
		idx int
		typ string
		ext int
	}{{cPract, "Practitioner", len(p.Extension)}, {cOrg, "Organization", len(c.Organization.Extension)}} {
		if x.ext == 0 {
			continue // the usual claim: no extension to check
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(r.val[x.idx]), &m); err != nil {
			return invalidResource(claimNames[x.idx] + " is not a valid FHIR " + x.typ + ": " + err.Error())
		}
		if err := fhir.CheckExtensionsJSON(x.typ, m["extension"]); err != nil {
			return invalidResource(claimNames[x.idx] + " is not a valid FHIR " + x.typ + ": " + fhir.Problem(err))
		}
	}
	return nil
}

// validDate reports whether s is a FHIR date: YYYY, YYYY-MM or YYYY-MM-DD,
// a real calendar date.
func validDate(s string) bool {
	for _, layout := range [...]string{"2006", "2006-01", "2006-01-02"} {
		if len(s) == len(layout) {
			_, err := time.Parse(layout, s)
			return err == nil
		}
	}
	return false
}

// checkOrganization and checkPractitioner check the content the spec
// requires in a claim that is already a valid FHIR resource. Lacking it, the
// claim is one "with an invalid value": BAD_REQUEST (400), as the test pack's
// JWT scenarios and the reference provider have it. 422 stays for a claim
// that is not a valid resource of its type.
func checkOrganization(c *Claims) *Error {
	if c.Organization.Name == "" {
		return badRequest("requesting_organization must have a name")
	}
	if c.OrgODS() == "" {
		return badRequest("requesting_organization must have an identifier with system " +
			gpconnect.SystemODSOrganisation + " and a value")
	}
	return nil
}

func checkPractitioner(c *Claims) *Error {
	if c.PractitionerSDSID() == "" {
		return badRequest("requesting_practitioner must have an identifier with system " +
			gpconnect.SystemSDSUser + " and a value (UNK when unknown)")
	}
	for _, n := range c.Practitioner.Name {
		if n.Family != "" {
			return nil
		}
	}
	return badRequest("requesting_practitioner must have a name with a family name")
}

// CheckScope returns a BAD_REQUEST *Error unless the token's scope is exactly the one required (spec §3.3).
func CheckScope(c *Claims, required gpconnect.Scope) error {
	switch {
	case c == nil:
		return badRequest("no verified JWT claims")
	case !gpconnect.ValidScope(required):
		return badRequest("the interaction has no JWT scope defined")
	case c.Scope != required:
		return badRequest(fmt.Sprintf("JWT requested_scope %s does not allow this interaction, which requires %s", c.Scope, required))
	}
	return nil
}
