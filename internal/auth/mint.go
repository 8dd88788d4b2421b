package auth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
)

// Identity is the consumer identity put into every minted token (the consumer ASID goes in Ssp-From).
type Identity struct {
	// Issuer is the consumer system's endpoint URL (iss).
	Issuer string
	// Audience is the provider's service root URL (aud).
	Audience string
	// Device is the requesting_device claim.
	Device fhir.Device
	// Organization is the requesting_organization claim.
	Organization fhir.Organization
	// Practitioner is the requesting_practitioner claim; its ID becomes sub.
	Practitioner fhir.Practitioner
}

// payload fixes the claim order of minted tokens.
type payload struct {
	Iss          string             `json:"iss"`
	Sub          string             `json:"sub"`
	Aud          string             `json:"aud"`
	Exp          int64              `json:"exp"`
	Iat          int64              `json:"iat"`
	Reason       string             `json:"reason_for_request"`
	Scope        gpconnect.Scope    `json:"requested_scope"`
	Device       *fhir.Device       `json:"requesting_device"`
	Organization *fhir.Organization `json:"requesting_organization"`
	Practitioner *fhir.Practitioner `json:"requesting_practitioner"`
}

// buildPayload returns the JSON claims for id, checked against the rules
// Verify applies so that a consumer never sends a token a provider refuses.
func buildPayload(id Identity, scope gpconnect.Scope, now time.Time) ([]byte, error) {
	if id.Device.ResourceType == "" {
		id.Device.ResourceType = "Device"
	}
	if id.Organization.ResourceType == "" {
		id.Organization.ResourceType = "Organization"
	}
	if id.Practitioner.ResourceType == "" {
		id.Practitioner.ResourceType = "Practitioner"
	}
	iat := now.Unix()
	p, err := json.Marshal(payload{
		Iss:          id.Issuer,
		Sub:          id.Practitioner.ID,
		Aud:          id.Audience,
		Exp:          iat + Lifetime,
		Iat:          iat,
		Reason:       ReasonDirectCare,
		Scope:        scope,
		Device:       &id.Device,
		Organization: &id.Organization,
		Practitioner: &id.Practitioner,
	})
	if err != nil {
		return nil, fmt.Errorf("auth: encoding claims: %w", err)
	}
	v := Verifier{Now: func() time.Time { return now }}
	if _, e := v.claims(string(p)); e != nil {
		return nil, fmt.Errorf("auth: identity would make an invalid token: %w", e)
	}
	return p, nil
}

// Mint returns an unsigned token ("header.payload.") for id and scope, issued at now and valid 300 s.
func Mint(id Identity, scope gpconnect.Scope, now time.Time) (string, error) {
	p, err := buildPayload(id, scope, now)
	if err != nil {
		return "", err
	}
	return unsignedHeaderB64 + "." + base64.RawURLEncoding.EncodeToString(p) + ".", nil
}

// MintSigned is Mint signed with the private key, using its alg (or its type's usual one) and kid.
func MintSigned(id Identity, scope gpconnect.Scope, now time.Time, key jwk.Key) (string, error) {
	if key == nil {
		return "", errors.New("auth: MintSigned needs a key")
	}
	alg, err := signingAlgorithm(key)
	if err != nil {
		return "", err
	}
	p, err := buildPayload(id, scope, now)
	if err != nil {
		return "", err
	}
	h := jws.NewHeaders()
	if err := h.Set(jws.TypeKey, "JWT"); err != nil {
		return "", fmt.Errorf("auth: %w", err)
	}
	tok, err := jws.Sign(p, jws.WithKey(alg, key, jws.WithProtectedHeaders(h)))
	if err != nil {
		return "", fmt.Errorf("auth: signing token: %w", err)
	}
	return string(tok), nil
}

func signingAlgorithm(key jwk.Key) (jwa.SignatureAlgorithm, error) {
	if ka := key.Algorithm(); ka.String() != "" {
		var alg jwa.SignatureAlgorithm
		if err := alg.Accept(ka.String()); err != nil || alg == jwa.NoSignature {
			return "", fmt.Errorf("auth: key algorithm %q cannot sign a token", ka)
		}
		return alg, nil
	}
	switch k := key.(type) {
	case jwk.RSAPrivateKey:
		return jwa.RS256, nil
	case jwk.ECDSAPrivateKey:
		switch k.Crv() {
		case jwa.P256:
			return jwa.ES256, nil
		case jwa.P384:
			return jwa.ES384, nil
		case jwa.P521:
			return jwa.ES512, nil
		}
	case jwk.OKPPrivateKey:
		if k.Crv() == jwa.Ed25519 {
			return jwa.EdDSA, nil
		}
	case jwk.SymmetricKey:
		return jwa.HS256, nil
	}
	return "", fmt.Errorf("auth: cannot sign with a %s key (need a private key)", key.KeyType())
}

// DefaultTestIdentity is the provider test pack's default consumer identity (testpack-data.md §6).
func DefaultTestIdentity() Identity {
	return Identity{
		Issuer:   "https://ConsumerSystemURL",
		Audience: "https://authorize.fhir.nhs.net/token",
		Device: fhir.Device{
			ResourceType: "Device",
			Identifier:   []fhir.Identifier{{System: "GPConnectTestSystem", Value: "Client"}},
			Model:        "v1",
			Version:      "1.1",
		},
		Organization: fhir.Organization{
			ResourceType: "Organization",
			Identifier:   []fhir.Identifier{{System: gpconnect.SystemODSOrganisation, Value: "GPCA0001"}},
			Name:         "GP Connect Assurance",
		},
		Practitioner: fhir.Practitioner{
			ResourceType: "Practitioner",
			ID:           "1",
			Identifier: []fhir.Identifier{
				{System: gpconnect.SystemSDSUser, Value: "GCASDS0001"},
				{System: gpconnect.SystemSDSRoleProfile, Value: "112233445566"},
				{System: "https://consumersupplier.com/Id/user-guid", Value: "98ed4f78-814d-4266-8d5b-cde742f3093c"},
			},
			Name: []fhir.HumanName{{Family: "AssurancePractitioner", Given: []string{"AssuranceTest"}, Prefix: []string{"Mr"}}},
		},
	}
}
