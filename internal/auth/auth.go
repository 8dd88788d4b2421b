// Package auth verifies and mints the GP Connect JWT access token carried in
// the Authorization header (spec §3).
//
// The unsigned ("alg":"none") token GP Connect uses is parsed by hand, in
// one pass and without jwx, so that every rule of spec §3.1/§3.2 gets a
// precise error. Verify fails with an *Error whose code is BAD_REQUEST (400)
// for a malformed header, token, claim or claim type, or a resource claim
// lacking the content GP Connect requires (an ODS code, an SDS user id, a
// name), and INVALID_RESOURCE (422) for a requesting_device/organization/
// practitioner object that is not a valid FHIR STU3 resource of the right
// type. BAD_REQUEST checks on the token come first, in the order of the §3.2
// table; messages never repeat the token.
//
// With Verifier.KeySet set, tokens must instead be signed (RS256, ES256, ...)
// and are checked with github.com/lestrrat-go/jwx/v2; the claim rules are
// the same.
//
// Mint and MintSigned are the consumer side; they refuse to mint a token
// Verify would reject.
package auth

import (
	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
)

// Error is a token or claim failure with the Spine code to report.
type Error struct {
	// Code is BAD_REQUEST (400) or INVALID_RESOURCE (422).
	Code gpconnect.SpineCode
	// Message is a diagnostic for the OperationOutcome; it never repeats the token.
	Message string
}

// Error implements error.
func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// HTTPStatus is the HTTP status that goes with the error's Spine code.
func (e *Error) HTTPStatus() int { return e.Code.HTTPStatus() }

func badRequest(msg string) *Error { return &Error{Code: gpconnect.BadRequest, Message: msg} }

func invalidResource(msg string) *Error {
	return &Error{Code: gpconnect.InvalidResource, Message: msg}
}

// Claims are the verified claims of a GP Connect access token.
type Claims struct {
	// Issuer is iss, the consumer system's endpoint URL.
	Issuer string
	// Subject is sub, equal to Practitioner.ID.
	Subject string
	// Audience is aud, the provider service root URL the consumer addressed (not checked).
	Audience string
	// IssuedAt is iat in Unix seconds.
	IssuedAt int64
	// Expires is exp in Unix seconds, always IssuedAt + 300.
	Expires int64
	// ReasonForRequest is reason_for_request, always "directcare".
	ReasonForRequest string
	// Scope is requested_scope, one of the four GP Connect scopes.
	Scope gpconnect.Scope
	// Device is requesting_device.
	Device fhir.Device
	// Organization is requesting_organization.
	Organization fhir.Organization
	// Practitioner is requesting_practitioner.
	Practitioner fhir.Practitioner
}

// ReasonDirectCare is the only reason_for_request GP Connect allows.
const ReasonDirectCare = "directcare"

// Lifetime is the exact token lifetime (exp − iat) GP Connect requires, in seconds.
const Lifetime = 300

// OrgODS is the requesting organisation's ODS code (current system first, then the legacy one).
func (c *Claims) OrgODS() string {
	if v, ok := identifierValue(c.Organization.Identifier, gpconnect.SystemODSOrganisation); ok {
		return v
	}
	v, _ := identifierValue(c.Organization.Identifier, gpconnect.SystemODSOrganisationOld)
	return v
}

// PractitionerSDSID is the requesting practitioner's SDS user id (may be "UNK").
func (c *Claims) PractitionerSDSID() string {
	v, _ := identifierValue(c.Practitioner.Identifier, gpconnect.SystemSDSUser)
	return v
}

// PractitionerRoleProfile is the practitioner's SDS role profile id, "" when absent.
func (c *Claims) PractitionerRoleProfile() string {
	v, _ := identifierValue(c.Practitioner.Identifier, gpconnect.SystemSDSRoleProfile)
	return v
}

// DeviceID is the requesting device's first identifier as "system|value", "" when absent.
func (c *Claims) DeviceID() string {
	if len(c.Device.Identifier) == 0 {
		return ""
	}
	id := c.Device.Identifier[0]
	return id.System + "|" + id.Value
}

// identifierValue returns the value of the first identifier of system that has a value.
func identifierValue(ids []fhir.Identifier, system string) (string, bool) {
	for i := range ids {
		if ids[i].System == system && ids[i].Value != "" {
			return ids[i].Value, true
		}
	}
	return "", false
}
