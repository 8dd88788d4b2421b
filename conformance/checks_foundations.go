package conformance

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/slotbridge/slotbridge/consumer"
	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
)

func allChecks() []check {
	var out []check
	for _, g := range [][]check{metadataChecks(), headerChecks(), tokenChecks(), patientChecks(), organizationChecks(),
		practitionerChecks(), locationChecks(), healthcareServiceChecks(), slotChecks(), bookChecks(), readChecks(), amendChecks(), cancelChecks(), retrieveChecks(), transportChecks()} {
		out = append(out, g...)
	}
	return out
}

// metadataRefused is a check that a metadata call with opts is refused.
func metadataRefused(status int, code gpconnect.SpineCode, opts ...consumer.Option) func(context.Context, *env) error {
	return func(ctx context.Context, e *env) error {
		_, err := e.c.Metadata(ctx, opts...)
		return wantRefusal(err, status, code)
	}
}

func metadataChecks() []check {
	g := "metadata"
	return []check{
		{g, "capability-statement", func(ctx context.Context, e *env) error {
			var raw consumer.Response
			cs, err := e.c.Metadata(ctx, consumer.Capture(&raw))
			if err != nil {
				return wantOK("GET /metadata", err)
			}
			switch {
			case cs.Version != e.d.SpecVersion:
				return failf("version %q, want %q", cs.Version, e.d.SpecVersion)
			case cs.FHIRVersion != gpconnect.FHIRVersion:
				return failf("fhirVersion %q, want %s", cs.FHIRVersion, gpconnect.FHIRVersion)
			case cs.AcceptUnknown != "both":
				return failf("acceptUnknown %q, want both", cs.AcceptUnknown)
			case !slices.Contains(cs.Format, gpconnect.MediaJSON) || !slices.Contains(cs.Format, gpconnect.MediaXML):
				return failf("format %v must list %s and %s", cs.Format, gpconnect.MediaJSON, gpconnect.MediaXML)
			case cs.Software == nil || cs.Software.Name == "" || cs.Software.Version == "" || cs.Software.ReleaseDate == "":
				return failf("software must give name, version and releaseDate")
			}
			return first(noStore(raw.Header), utf8(raw.Header))
		}},
		{g, "register-operation", func(ctx context.Context, e *env) error {
			cs, err := e.c.Metadata(ctx)
			if err != nil {
				return wantOK("GET /metadata", err)
			}
			for _, r := range cs.Rest {
				for _, op := range r.Operation {
					if op.Name == "gpc.registerpatient" && op.Definition.Reference == string(gpconnect.ProfileRegisterPatientOp) {
						return nil
					}
				}
			}
			return failf("no gpc.registerpatient operation defined by %s", gpconnect.ProfileRegisterPatientOp)
		}},
		{g, "slot-search-declared", func(ctx context.Context, e *env) error {
			cs, err := e.c.Metadata(ctx)
			if err != nil {
				return wantOK("GET /metadata", err)
			}
			for _, r := range cs.Rest {
				for _, res := range r.Resource {
					if res.Type != "Slot" {
						continue
					}
					if !slices.Contains(res.SearchInclude, "Location:managingOrganization") {
						return failf("Slot searchInclude %v lacks Location:managingOrganization", res.SearchInclude)
					}
					for _, p := range res.SearchParam {
						if p.Name == "service.identifier" {
							return nil
						}
					}
					return failf("Slot lacks the service.identifier searchParam (1.2.8)")
				}
			}
			return failf("no Slot resource in rest.resource")
		}},
		{g, "service-filtering-extension", func(ctx context.Context, e *env) error {
			cs, err := e.c.Metadata(ctx)
			if err != nil {
				return wantOK("GET /metadata", err)
			}
			switch v := consumer.ExtensionCode(cs.Extension, gpconnect.ExtServiceFilteringState); v {
			case "enabled", "organization-disabled", "supplier-disabled":
				return nil
			default:
				return failf("ServiceFilteringStatus root extension %q, want enabled, organization-disabled or supplier-disabled", v)
			}
		}},
		{g, "gzip", func(ctx context.Context, e *env) error {
			var raw consumer.Response
			if _, err := e.c.Metadata(ctx, consumer.Capture(&raw)); err != nil {
				return wantOK("GET /metadata with Accept-Encoding: gzip", err)
			}
			if !raw.Gzipped {
				return failf("the CapabilityStatement (%d bytes) was not gzipped although the request accepted gzip", len(raw.Body))
			}
			return nil
		}},
		{g, "xml-format", func(ctx context.Context, e *env) error {
			resp, err := e.raw(ctx, consumer.Request{Method: http.MethodGet, Path: "metadata", Interaction: gpconnect.ReadMetadata},
				consumer.WithQuery("_format", gpconnect.MediaXML))
			if err != nil {
				return wantOK("GET /metadata?_format=xml", err)
			}
			if resp.Status != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), gpconnect.MediaXML) || !strings.Contains(string(resp.Body), "<CapabilityStatement") {
				return failf("_format=%s answered %d %q, want 200 with a CapabilityStatement in XML", gpconnect.MediaXML, resp.Status, resp.Header.Get("Content-Type"))
			}
			return nil
		}},
		{g, "format-param-overrides-accept", func(ctx context.Context, e *env) error {
			resp, err := e.raw(ctx, consumer.Request{Method: http.MethodGet, Path: "metadata", Interaction: gpconnect.ReadMetadata},
				consumer.WithQuery("_format", gpconnect.MediaJSON), consumer.WithHeader("Accept", gpconnect.MediaXML))
			if err != nil {
				return wantOK("GET /metadata", err)
			}
			if resp.Status != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), gpconnect.MediaJSON) {
				return failf("_format=json with Accept: xml answered %d %q, want JSON", resp.Status, resp.Header.Get("Content-Type"))
			}
			return nil
		}},
		{g, "accept-plain-json-415", func(ctx context.Context, e *env) error {
			// Spec §2.1: only the FHIR media types; the test pack expects 415 for application/json.
			resp, err := e.raw(ctx, consumer.Request{Method: http.MethodGet, Path: "metadata", Interaction: gpconnect.ReadMetadata},
				consumer.WithHeader("Accept", "application/json"))
			if err != nil {
				return wantOK("GET /metadata", err)
			}
			return wantOutcomeResponse(resp, 415)
		}},
		{g, "structured-record-in-capability", func(ctx context.Context, e *env) error {
			// Spec §12.1: the template's Access Record Structured operation, which the test pack checks here too.
			cs, err := e.c.Metadata(ctx)
			if err != nil {
				return wantOK("GET /metadata", err)
			}
			for _, r := range cs.Rest {
				for _, op := range r.Operation {
					if op.Name == "gpc.getstructuredrecord" {
						return nil
					}
				}
			}
			return failf("the CapabilityStatement has no gpc.getstructuredrecord operation")
		}},
		{g, "wrong-case-path", func(ctx context.Context, e *env) error {
			resp, err := e.raw(ctx, consumer.Request{Method: http.MethodGet, Path: "Metadata", Interaction: gpconnect.ReadMetadata})
			if err != nil {
				return wantOK("GET /Metadata", err)
			}
			return wantOutcomeResponse(resp, 0)
		}},
		{g, "unknown-path", func(ctx context.Context, e *env) error {
			resp, err := e.raw(ctx, consumer.Request{Method: http.MethodGet, Path: "appointmentqq/!", Interaction: gpconnect.ReadAppointment})
			if err != nil {
				return wantOK("GET /appointmentqq/!", err)
			}
			return wantOutcomeResponse(resp, 0)
		}},
		{g, "service-root-itself", func(ctx context.Context, e *env) error {
			// The bare root is not a FHIR interaction; it must still fail with an OperationOutcome (spec §10.22), not a redirect or HTML.
			resp, err := e.raw(ctx, consumer.Request{Method: http.MethodGet, Path: "", Interaction: gpconnect.ReadMetadata})
			if err != nil {
				return wantOK("GET {service root}", err)
			}
			return wantOutcomeResponse(resp, 0)
		}},
		{g, "unsupported-method", func(ctx context.Context, e *env) error {
			resp, err := e.raw(ctx, consumer.Request{Method: http.MethodDelete, Path: "metadata", Interaction: gpconnect.ReadMetadata})
			if err != nil {
				return wantOK("DELETE /metadata", err)
			}
			return wantOutcomeResponse(resp, 0)
		}},
	}
}

func headerChecks() []check {
	g := "headers"
	return []check{
		{g, "missing-trace-id", metadataRefused(400, gpconnect.BadRequest, consumer.WithoutHeader(gpconnect.HeaderTraceID))},
		{g, "empty-trace-id", metadataRefused(400, gpconnect.BadRequest, consumer.WithHeader(gpconnect.HeaderTraceID, ""))},
		{g, "missing-from", metadataRefused(400, gpconnect.BadRequest, consumer.WithoutHeader(gpconnect.HeaderFrom))},
		{g, "missing-to", metadataRefused(400, gpconnect.BadRequest, consumer.WithoutHeader(gpconnect.HeaderTo))},
		{g, "wrong-to-asid", metadataRefused(400, gpconnect.BadRequest, consumer.WithHeader(gpconnect.HeaderTo, "200000000000"))},
		{g, "missing-interaction-id", metadataRefused(400, gpconnect.BadRequest, consumer.WithoutHeader(gpconnect.HeaderInteractionID))},
		{g, "unknown-interaction-id", metadataRefused(400, gpconnect.BadRequest,
			consumer.WithHeader(gpconnect.HeaderInteractionID, "urn:nhs:names:services:gpconnect:fhir:rest:read:metadata-99"))},
		{g, "interaction-id-mismatch", func(ctx context.Context, e *env) error {
			pid, err := e.patient(ctx)
			if err != nil {
				return err
			}
			_, err = e.c.RetrieveAppointments(ctx, pid, e.today(), e.today().AddDate(0, 0, 7), consumer.WithInteraction(gpconnect.SearchOrganization))
			return wantRefusal(err, 400, gpconnect.BadRequest)
		}},
		{g, "missing-authorization", metadataRefused(400, gpconnect.BadRequest, consumer.WithoutHeader("Authorization"))},
		{g, "authorization-not-bearer", metadataRefused(400, gpconnect.BadRequest, consumer.WithHeader("Authorization", "Basic dXNlcjpwYXNz"))},
		{g, "bad-authorization-before-bad-accept", metadataRefused(400, gpconnect.BadRequest,
			consumer.WithHeader("Authorization", "Basic dXNlcjpwYXNz"), consumer.WithHeader("Accept", "text/csv"))},
		{g, "unsupported-accept", unsupportedMedia(consumer.WithHeader("Accept", "text/csv"))},
		{g, "unsupported-format-param", unsupportedMedia(consumer.WithQuery("_format", "text/csv"))},
		{g, "book-without-content-type", func(ctx context.Context, e *env) error {
			a, _, err := e.newBooking(ctx, 1, "Conformance no content type")
			if err != nil {
				return err
			}
			_, err = e.book(ctx, a, consumer.WithoutHeader("Content-Type"))
			if err == nil {
				return failf("a booking without Content-Type was accepted")
			}
			ce := consumer.AsError(err)
			if ce == nil || ce.Status != 415 || ce.Outcome == nil {
				return failf("got %v, want 415 with an OperationOutcome", err)
			}
			return nil
		}},
		{g, "no-store-on-errors", func(ctx context.Context, e *env) error {
			var raw consumer.Response
			_, err := e.c.Metadata(ctx, consumer.WithoutHeader(gpconnect.HeaderTraceID), consumer.Capture(&raw))
			if err == nil {
				return failf("a request without Ssp-TraceID succeeded")
			}
			return noStore(raw.Header)
		}},
		// The NHS provider test pack copies response headers into a
		// Dictionary<string,string>: a header .NET reads as several values
		// (repeated, or a list such as Vary: Accept, Accept-Encoding)
		// throws before the scenario's first assertion.
		{g, "single-valued-response-headers", func(ctx context.Context, e *env) error {
			var raw consumer.Response
			if _, err := e.c.Metadata(ctx, consumer.Capture(&raw)); err != nil {
				return wantOK("GET /metadata", err)
			}
			for k, vs := range raw.Header {
				if len(vs) > 1 {
					return failf("header %s sent %d times (%q); a .NET consumer that copies headers into a dictionary fails", k, len(vs), vs)
				}
				if listHeaders[http.CanonicalHeaderKey(k)] && strings.Contains(vs[0], ",") {
					return failf("header %s: %q is a list; a .NET consumer that copies headers into a dictionary fails", k, vs[0])
				}
			}
			return nil
		}},
	}
}

// listHeaders are response headers .NET splits at commas into several values.
var listHeaders = map[string]bool{"Vary": true, "Allow": true, "Via": true, "Connection": true, "Accept-Ranges": true,
	"Transfer-Encoding": true, "Upgrade": true, "Warning": true, "Pragma": true, "Trailer": true}

// unsupportedMedia checks a 415 whose outcome uses issue type not-supported (spec §9.2).
func unsupportedMedia(opts ...consumer.Option) func(context.Context, *env) error {
	return func(ctx context.Context, e *env) error {
		_, err := e.c.Metadata(ctx, opts...)
		ce := consumer.AsError(err)
		if ce == nil || ce.Status != 415 || ce.Outcome == nil {
			return failf("got %v, want 415 with an OperationOutcome", err)
		}
		if ce.IssueType != "not-supported" {
			return failf("415 outcome has issue.code %q, want not-supported (spec §9.2)", ce.IssueType)
		}
		return nil
	}
}

// claim edits one claim of the token.
func claim(k string, v any) consumer.Option {
	return consumer.WithClaims(func(m map[string]any) {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	})
}

func intClaim(m map[string]any, k string) int64 {
	if n, ok := m[k].(json.Number); ok {
		v, _ := n.Int64()
		return v
	}
	return 0
}

// lifetime sets exp = iat + d.
func lifetime(d int64) consumer.Option {
	return consumer.WithClaims(func(m map[string]any) { m["exp"] = intClaim(m, "iat") + d })
}

// editResource edits a resource claim (requesting_device, ...) as a map.
func editResource(k string, f func(r map[string]any)) consumer.Option {
	return consumer.WithClaims(func(m map[string]any) {
		if r, ok := m[k].(map[string]any); ok {
			f(r)
		}
	})
}

// metadataAccepted checks that a metadata call with opts succeeds.
func metadataAccepted(what string, opts ...consumer.Option) func(context.Context, *env) error {
	return func(ctx context.Context, e *env) error {
		_, err := e.c.Metadata(ctx, opts...)
		return wantOK(what+" must be accepted", err)
	}
}

func tokenChecks() []check {
	g := "token"
	bad := func(opts ...consumer.Option) func(context.Context, *env) error {
		return metadataRefused(400, gpconnect.BadRequest, opts...)
	}
	invalid := func(opts ...consumer.Option) func(context.Context, *env) error {
		return metadataRefused(422, gpconnect.InvalidResource, opts...)
	}
	return []check{
		{g, "not-base64", bad(consumer.WithHeader("Authorization", "Bearer !!!.???."))},
		{g, "alg-hs256", bad(consumer.WithTokenHeader(func(h map[string]any) { h["alg"] = "HS256" }))},
		{g, "lifetime-299", bad(lifetime(299))},
		{g, "lifetime-301", bad(lifetime(301))},
		{g, "expired", bad(consumer.WithClaims(func(m map[string]any) {
			iat := time.Now().Unix() - 600
			m["iat"], m["exp"] = iat, iat+300
		}))},
		{g, "iat-in-future-accepted", metadataAccepted("iat 200 s ahead", consumer.WithClaims(func(m map[string]any) {
			iat := time.Now().Unix() + 200
			m["iat"], m["exp"] = iat, iat+300
		}))},
		{g, "missing-iss", bad(claim("iss", nil))},
		{g, "missing-exp", bad(claim("exp", nil))},
		{g, "missing-iat", bad(claim("iat", nil))},
		{g, "missing-aud", bad(claim("aud", nil))},
		{g, "missing-reason", bad(claim("reason_for_request", nil))},
		{g, "wrong-reason", bad(claim("reason_for_request", "secondaryuses"))},
		{g, "unknown-scope", bad(claim("requested_scope", "patient/*.delete"))},
		{g, "write-scope-on-read", func(ctx context.Context, e *env) error {
			pid, err := e.patient(ctx)
			if err != nil {
				return err
			}
			_, err = e.c.RetrieveAppointments(ctx, pid, e.today(), e.today().AddDate(0, 0, 7), consumer.WithScope(gpconnect.ScopePatientWrite))
			return wantRefusal(err, 400, gpconnect.BadRequest)
		}},
		{g, "sub-not-practitioner-id", bad(claim("sub", "someone-else"))},
		{g, "missing-device", bad(claim("requesting_device", nil))},
		{g, "missing-organization", bad(claim("requesting_organization", nil))},
		{g, "missing-practitioner", bad(claim("requesting_practitioner", nil))},
		{g, "device-wrong-resource-type", invalid(editResource("requesting_device", func(r map[string]any) { r["resourceType"] = "Patient" }))},
		{g, "device-unknown-element", invalid(editResource("requesting_device", func(r map[string]any) { r["colour"] = "blue" }))},
		// §3.2: 422 is for a claim that is not a valid FHIR resource; STU3
		// Device elements a provider has no use for are still valid.
		{g, "device-stu3-elements-accepted", metadataAccepted("a requesting_device with STU3's type, url and note",
			editResource("requesting_device", func(r map[string]any) {
				r["type"] = map[string]any{"coding": []any{map[string]any{"system": "https://consumer.example.nhs.uk/Id/device-type", "code": "booking-client"}}}
				r["url"] = "https://consumer.example.nhs.uk/"
				r["note"] = []any{map[string]any{"text": "conformance run"}}
			}))},
		{g, "practitioner-wrong-resource-type", invalid(editResource("requesting_practitioner", func(r map[string]any) { r["resourceType"] = "Patient" }))},
		{g, "practitioner-sds-id-only-accepted", metadataAccepted("a practitioner with only the SDS user id",
			editResource("requesting_practitioner", func(r map[string]any) {
				r["identifier"] = []any{map[string]any{"system": gpconnect.SystemSDSUser, "value": "UNK"}}
			}))},
		// §3.2 and the test pack's JWT scenarios: a claim that is a valid
		// resource but lacks the ODS code, the SDS user id or the name is a
		// claim with an invalid value, 400.
		{g, "organization-other-identifier-system", bad(editResource("requesting_organization", func(r map[string]any) {
			r["identifier"] = []any{map[string]any{"system": "http://fhir.nhs.net/Id/someOtherCodingSystem", "value": "NoOdsCode"}}
		}))},
		{g, "practitioner-no-sds-user-id", bad(editResource("requesting_practitioner", func(r map[string]any) {
			r["identifier"] = []any{map[string]any{"system": "http://IdentifierServer/RandomId", "value": "ABC123"}}
		}))},
		{g, "practitioner-no-name", bad(editResource("requesting_practitioner", func(r map[string]any) { delete(r, "name") }))},
		{g, "legacy-ods-system-accepted", metadataAccepted("the legacy ODS system in requesting_organization",
			editResource("requesting_organization", func(r map[string]any) {
				if ids, ok := r["identifier"].([]any); ok && len(ids) > 0 {
					if id, ok := ids[0].(map[string]any); ok {
						id["system"] = gpconnect.SystemODSOrganisationOld
					}
				}
			}))},
	}
}

// patientShape checks one returned Patient against §12.2.
func patientShape(p *fhir.Patient, nhs string) error {
	if err := hasProfile("Patient", p.Meta, gpconnect.ProfilePatient); err != nil {
		return err
	}
	nhsIDs := 0
	for _, id := range p.Identifier {
		if id.System == gpconnect.SystemNHSNumber {
			nhsIDs++
			if id.Value != nhs {
				return failf("NHS number %q, want %s", id.Value, nhs)
			}
		}
	}
	if nhsIDs != 1 {
		return failf("%d NHS number identifiers, want 1", nhsIDs)
	}
	official := 0
	for _, n := range p.Name {
		if n.Use == "official" {
			official++
		}
		if n.Family == "" || n.Use == "" {
			return failf("every name needs use and family")
		}
	}
	if official != 1 {
		return failf("%d official names, want exactly 1", official)
	}
	if p.ManagingOrganization == nil {
		return failf("managingOrganization is missing")
	}
	if _, ok := consumer.RefID(p.ManagingOrganization.Reference, "Organization"); !ok {
		return failf("managingOrganization %q is not a relative Organization reference", p.ManagingOrganization.Reference)
	}
	if p.MaritalStatus != nil || p.MultipleBirthBoolean != nil || p.MultipleBirthInteger != nil || len(p.Photo) > 0 || len(p.Link) > 0 || p.Animal != nil {
		return failf("Patient populates an element GP Connect forbids (maritalStatus, multipleBirth, photo, link or animal)")
	}
	for _, t := range p.Telecom {
		if t.System == "" || t.Value == "" || t.Use == "" {
			return failf("telecom needs system, value and use")
		}
	}
	return nil
}

func findNone(nhs func(Data) string) func(context.Context, *env) error {
	return func(ctx context.Context, e *env) error {
		n := nhs(e.d)
		if n == "" {
			return skipf("no NHS number in the data map")
		}
		ps, err := e.c.FindPatient(ctx, n)
		if err != nil {
			return wantOK("find patient "+n, err)
		}
		if len(ps) != 0 {
			return failf("find patient %s returned %d patients, want none", n, len(ps))
		}
		return nil
	}
}

func patientQuery(e *env, q string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		_, err := e.c.FindPatient(ctx, e.d.Patients.Bookable, consumer.WithRawQuery(q))
		return err
	}
}

// registerBody is the minimal CareConnect-GPC-Patient-1 for register.
func registerBody(p NewPatient) *fhir.Patient {
	return &fhir.Patient{Identifier: []fhir.Identifier{{System: gpconnect.SystemNHSNumber, Value: p.NHS}},
		Name: []fhir.HumanName{{Use: "official", Family: p.Family, Given: []string{p.Given}}}, Gender: strings.ToLower(p.Gender), BirthDate: p.BirthDate}
}

func patientChecks() []check {
	g := "patient"
	nhsQ := func(v string) string {
		return url.Values{"identifier": {gpconnect.SystemNHSNumber + "|" + v}}.Encode()
	}
	return []check{
		{g, "find", func(ctx context.Context, e *env) error {
			var raw consumer.Response
			ps, err := e.c.FindPatient(ctx, e.d.Patients.Bookable, consumer.Capture(&raw))
			if err != nil {
				return wantOK("find patient", err)
			}
			if len(ps) != 1 {
				return failf("found %d patients, want 1", len(ps))
			}
			if b, ok := raw.Resource.(*fhir.Bundle); !ok || b.Type != "searchset" {
				return failf("response is not a searchset Bundle")
			}
			return first(patientShape(ps[0], e.d.Patients.Bookable), noStore(raw.Header))
		}},
		{g, "find-not-in-system", findNone(func(d Data) string { return d.Patients.NotInSystem })},
		{g, "find-sensitive", findNone(func(d Data) string { return d.Patients.Sensitive })},
		{g, "find-deceased", findNone(func(d Data) string { return d.Patients.Deceased })},
		{g, "find-inactive", findNone(func(d Data) string { return d.Patients.Inactive })},
		{g, "find-bad-check-digit", func(ctx context.Context, e *env) error {
			n := []byte(e.d.Patients.Bookable)
			n[9] = '0' + (n[9]-'0'+1)%10
			_, err := e.c.FindPatient(ctx, string(n))
			return wantRefusal(err, 400, gpconnect.InvalidNHSNumber)
		}},
		{g, "find-unknown-system", func(ctx context.Context, e *env) error {
			err := patientQuery(e, url.Values{"identifier": {"https://example.org/Id/patient|" + e.d.Patients.Bookable}}.Encode())(ctx)
			return wantRefusal(err, 400, gpconnect.InvalidIdentifierSystem)
		}},
		{g, "find-empty-value", func(ctx context.Context, e *env) error {
			return wantRefusal(patientQuery(e, nhsQ(""))(ctx), 422, gpconnect.InvalidParameter)
		}},
		{g, "find-missing-identifier", func(ctx context.Context, e *env) error {
			return wantRefusal(patientQuery(e, "")(ctx), 400, gpconnect.BadRequest)
		}},
		{g, "find-repeated-identifier", func(ctx context.Context, e *env) error {
			q := nhsQ(e.d.Patients.Bookable) + "&" + nhsQ(e.d.Patients.Bookable)
			return wantRefusal(patientQuery(e, q)(ctx), 400, gpconnect.BadRequest)
		}},
		{g, "find-wrong-case-parameter", func(ctx context.Context, e *env) error {
			q := strings.Replace(nhsQ(e.d.Patients.Bookable), "identifier=", "Identifier=", 1)
			return wantRefusal(patientQuery(e, q)(ctx), 400, gpconnect.BadRequest)
		}},
		{g, "read", func(ctx context.Context, e *env) error {
			pid, err := e.patient(ctx)
			if err != nil {
				return err
			}
			var raw consumer.Response
			p, err := e.c.ReadPatient(ctx, pid, consumer.Capture(&raw))
			if err != nil {
				return wantOK("read patient", err)
			}
			if raw.ETag() != `W/"`+p.Meta.VersionID+`"` {
				return failf("ETag %q does not match meta.versionId %q", raw.ETag(), p.Meta.VersionID)
			}
			return patientShape(p, e.d.Patients.Bookable)
		}},
		{g, "read-unknown", func(ctx context.Context, e *env) error {
			_, err := e.c.ReadPatient(ctx, "8888888888")
			return wantRefusal(err, 404, gpconnect.PatientNotFound)
		}},
		{g, "register", func(ctx context.Context, e *env) error {
			for _, np := range e.d.Patients.Register {
				found, err := e.c.FindPatient(ctx, np.NHS)
				if err != nil {
					return wantOK("find patient "+np.NHS, err)
				}
				if len(found) > 0 {
					continue
				}
				var raw consumer.Response
				p, err := e.c.RegisterPatient(ctx, registerBody(np), consumer.Capture(&raw))
				if err != nil {
					return wantOK("register patient "+np.NHS, err)
				}
				e.registered = np.NHS
				if b, ok := raw.Resource.(*fhir.Bundle); !ok || b.Type != "searchset" || b.Meta == nil || !slices.Contains(b.Meta.Profile, string(gpconnect.ProfileSearchsetBundle)) {
					return failf("the register response must be a searchset Bundle with meta.profile %s (spec §12.4)", gpconnect.ProfileSearchsetBundle)
				}
				if err := patientShape(p, np.NHS); err != nil {
					return err
				}
				for _, x := range p.Extension {
					if x.URL != gpconnect.ExtRegistrationDetails {
						continue
					}
					hasType := false
					for _, sub := range x.Extension {
						if sub.URL == "registrationStatus" {
							return failf("RegistrationDetails of a register response must not carry registrationStatus")
						}
						hasType = hasType || sub.URL == "registrationType"
					}
					if !hasType {
						return failf("RegistrationDetails lacks registrationType (spec §12.4)")
					}
					return nil
				}
				return failf("registered Patient lacks the RegistrationDetails extension")
			}
			return skipf("every patient of the data map's register list is already registered")
		}},
		{g, "register-duplicate", func(ctx context.Context, e *env) error {
			// Register the bookable (already active) patient again with the
			// demographics the provider itself holds, so only the duplicate is wrong.
			ps, err := e.c.FindPatient(ctx, e.d.Patients.Bookable)
			if err != nil || len(ps) != 1 {
				return fixture("find the bookable patient", err)
			}
			p := ps[0]
			np := NewPatient{NHS: e.d.Patients.Bookable, Gender: p.Gender, BirthDate: p.BirthDate}
			for _, n := range p.Name {
				if n.Use == "official" && len(n.Given) > 0 {
					np.Family, np.Given = n.Family, n.Given[0]
				}
			}
			_, err = e.c.RegisterPatient(ctx, registerBody(np))
			return wantRefusal(err, 409, gpconnect.DuplicateRejected)
		}},
		{g, "register-sensitive", registerRefused(func(d Data) string { return d.Patients.Sensitive }, 400, gpconnect.InvalidPatientDemographics)},
		{g, "register-deceased", registerRefused(func(d Data) string { return d.Patients.Deceased }, 400, gpconnect.InvalidPatientDemographics)},
		{g, "register-not-on-pds", registerRefused(func(d Data) string { return d.Patients.NotOnPDS }, 400, gpconnect.InvalidPatientDemographics)},
		{g, "register-superseded", registerRefused(func(d Data) string { return d.Patients.Superseded }, 400, gpconnect.InvalidNHSNumber)},
		{g, "register-read-scope", func(ctx context.Context, e *env) error {
			if len(e.d.Patients.Register) == 0 {
				return skipf("no register list in the data map")
			}
			_, err := e.c.RegisterPatient(ctx, registerBody(e.d.Patients.Register[0]), consumer.WithScope(gpconnect.ScopePatientRead))
			return wantRefusal(err, 400, gpconnect.BadRequest)
		}},
		{g, "register-without-birth-date", func(ctx context.Context, e *env) error {
			if len(e.d.Patients.Register) == 0 {
				return skipf("no register list in the data map")
			}
			// The consumer will not send a Patient without birthDate, so the
			// valid Patient goes in as the argument and the bad one as the body.
			p := registerBody(e.d.Patients.Register[len(e.d.Patients.Register)-1])
			bad := *p
			bad.ResourceType, bad.BirthDate = "Patient", ""
			bad.Meta = &fhir.Meta{Profile: []string{string(gpconnect.ProfilePatient)}}
			body := mustJSON(&fhir.Parameters{ResourceType: "Parameters", Parameter: []fhir.ParametersParameter{{Name: "registerPatient", Resource: &bad}}})
			_, err := e.c.RegisterPatient(ctx, p, consumer.WithBody(body))
			// The spec table says 422 INVALID_RESOURCE; the test pack expects 400 BAD_REQUEST (§12.4). Either passes.
			if wantRefusal(err, 400, gpconnect.BadRequest) == nil {
				return nil
			}
			return wantRefusal(err, 422, gpconnect.InvalidResource)
		}},
	}
}

// registerRefused registers the NHS number of a special patient and expects a refusal.
func registerRefused(nhs func(Data) string, status int, code gpconnect.SpineCode) func(context.Context, *env) error {
	return func(ctx context.Context, e *env) error {
		n := nhs(e.d)
		if n == "" {
			return skipf("no NHS number in the data map")
		}
		_, err := e.c.RegisterPatient(ctx, registerBody(NewPatient{NHS: n, Family: "GPCONNECT", Given: "Test", Gender: "female", BirthDate: "1970-01-01"}))
		return wantRefusal(err, status, code)
	}
}

func organizationChecks() []check {
	g := "organization"
	orgQuery := func(ctx context.Context, e *env, q string) error {
		_, err := e.c.FindOrganization(ctx, e.d.ODS, consumer.WithRawQuery(q))
		return err
	}
	return []check{
		{g, "find", func(ctx context.Context, e *env) error {
			os, err := e.c.FindOrganization(ctx, e.d.ODS)
			if err != nil {
				return wantOK("find organisation", err)
			}
			if len(os) != 1 {
				return failf("found %d organisations for %s, want 1", len(os), e.d.ODS)
			}
			return orgShape(os[0], e.d.ODS)
		}},
		{g, "find-unknown", func(ctx context.Context, e *env) error {
			os, err := e.c.FindOrganization(ctx, e.d.UnknownODS)
			if err != nil {
				return wantOK("find organisation", err)
			}
			if len(os) != 0 {
				return failf("found %d organisations for %s, want none", len(os), e.d.UnknownODS)
			}
			return nil
		}},
		{g, "find-unknown-system", func(ctx context.Context, e *env) error {
			return wantRefusal(orgQuery(ctx, e, url.Values{"identifier": {"https://example.org/Id/org|" + e.d.ODS}}.Encode()), 400, gpconnect.InvalidIdentifierSystem)
		}},
		{g, "find-empty-value", func(ctx context.Context, e *env) error {
			return wantRefusal(orgQuery(ctx, e, url.Values{"identifier": {gpconnect.SystemODSOrganisation + "|"}}.Encode()), 422, gpconnect.InvalidParameter)
		}},
		{g, "read", func(ctx context.Context, e *env) error {
			os, err := e.c.FindOrganization(ctx, e.d.ODS)
			if err != nil || len(os) != 1 {
				return fixture("find organisation", err)
			}
			var raw consumer.Response
			o, err := e.c.ReadOrganization(ctx, os[0].ID, consumer.Capture(&raw))
			if err != nil {
				return wantOK("read organisation", err)
			}
			if raw.ETag() == "" {
				return failf("read organisation has no ETag")
			}
			return orgShape(o, e.d.ODS)
		}},
		{g, "read-unknown", func(ctx context.Context, e *env) error {
			_, err := e.c.ReadOrganization(ctx, "999999999")
			return wantRefusal(err, 404, gpconnect.OrganisationNotFound)
		}},
	}
}

func orgShape(o *fhir.Organization, ods string) error {
	if err := hasProfile("Organization", o.Meta, gpconnect.ProfileOrganization); err != nil {
		return err
	}
	n := 0
	for _, id := range o.Identifier {
		if id.System == gpconnect.SystemODSOrganisation {
			n++
			if id.Value != ods {
				return failf("ODS identifier %q, want %s", id.Value, ods)
			}
		}
	}
	switch {
	case n != 1:
		return failf("%d ODS identifiers, want 1", n)
	case o.Name == "":
		return failf("Organization has no name")
	case len(o.Contact) > 0 || len(o.Endpoint) > 0:
		return failf("Organization populates contact or endpoint (SHALL NOT)")
	}
	return nil
}

func practitionerChecks() []check {
	g := "practitioner"
	return []check{
		{g, "find", func(ctx context.Context, e *env) error {
			if len(e.d.Practitioners) == 0 {
				return skipf("no practitioners in the data map")
			}
			for _, sds := range e.d.Practitioners {
				ps, err := e.c.FindPractitioner(ctx, sds)
				if err != nil {
					return wantOK("find practitioner "+sds, err)
				}
				if len(ps) != 1 {
					return failf("found %d practitioners for %s, want 1", len(ps), sds)
				}
				if err := practitionerShape(ps[0], sds); err != nil {
					return err
				}
			}
			return nil
		}},
		{g, "find-unknown", func(ctx context.Context, e *env) error {
			ps, err := e.c.FindPractitioner(ctx, e.d.UnknownSDS)
			if err != nil {
				return wantOK("find practitioner", err)
			}
			if len(ps) != 0 {
				return failf("found %d practitioners for %s, want none", len(ps), e.d.UnknownSDS)
			}
			return nil
		}},
		{g, "find-repeated-identifier", func(ctx context.Context, e *env) error {
			v := url.Values{"identifier": {gpconnect.SystemSDSUser + "|" + e.d.UnknownSDS, gpconnect.SystemSDSUser + "|" + e.d.UnknownSDS}}
			_, err := e.c.FindPractitioner(ctx, e.d.UnknownSDS, consumer.WithRawQuery(v.Encode()))
			return wantRefusal(err, 400, gpconnect.BadRequest)
		}},
		{g, "read", func(ctx context.Context, e *env) error {
			if len(e.d.Practitioners) == 0 {
				return skipf("no practitioners in the data map")
			}
			ps, err := e.c.FindPractitioner(ctx, e.d.Practitioners[0])
			if err != nil || len(ps) != 1 {
				return fixture("find practitioner", err)
			}
			var raw consumer.Response
			p, err := e.c.ReadPractitioner(ctx, ps[0].ID, consumer.Capture(&raw))
			if err != nil {
				return wantOK("read practitioner", err)
			}
			if raw.ETag() == "" {
				return failf("read practitioner has no ETag")
			}
			return practitionerShape(p, e.d.Practitioners[0])
		}},
		{g, "read-unknown", func(ctx context.Context, e *env) error {
			_, err := e.c.ReadPractitioner(ctx, "999999999")
			return wantRefusal(err, 404, gpconnect.PractitionerNotFound)
		}},
	}
}

func practitionerShape(p *fhir.Practitioner, sds string) error {
	if err := hasProfile("Practitioner", p.Meta, gpconnect.ProfilePractitioner); err != nil {
		return err
	}
	n := 0
	for _, id := range p.Identifier {
		switch id.System {
		case gpconnect.SystemSDSUser:
			n++
			if id.Value != sds {
				return failf("SDS user id %q, want %s", id.Value, sds)
			}
		case gpconnect.SystemSDSRoleProfile, "https://fhir.nhs.uk/Id/gmp-number":
		default:
			return failf("identifier system %q is not allowed on a Practitioner", id.System)
		}
	}
	switch {
	case n != 1:
		return failf("%d SDS user ids, want 1", n)
	case len(p.Name) != 1 || p.Name[0].Family == "":
		return failf("want exactly one name with a family name")
	case len(p.Telecom) > 0 || len(p.Address) > 0 || p.BirthDate != "" || len(p.Qualification) > 0:
		return failf("Practitioner populates telecom, address, birthDate or qualification (SHALL NOT)")
	}
	return nil
}

func locationChecks() []check {
	g := "location"
	return []check{
		{g, "read", func(ctx context.Context, e *env) error {
			if len(e.d.Locations) == 0 {
				return skipf("no locations in the data map")
			}
			for _, id := range e.d.Locations {
				var raw consumer.Response
				l, err := e.c.ReadLocation(ctx, id, consumer.Capture(&raw))
				if err != nil {
					return wantOK("read location "+id, err)
				}
				if err := locationShape(l); err != nil {
					return failf("Location/%s: %v", id, err)
				}
				if raw.ETag() == "" {
					return failf("read location %s has no ETag", id)
				}
			}
			return nil
		}},
		{g, "read-unknown", func(ctx context.Context, e *env) error {
			_, err := e.c.ReadLocation(ctx, "999999999")
			return wantRefusal(err, 404, gpconnect.NoRecordFound)
		}},
	}
}

func locationShape(l *fhir.Location) error {
	if err := hasProfile("Location", l.Meta, gpconnect.ProfileLocation); err != nil {
		return err
	}
	switch {
	case l.Name == "":
		return failf("Location has no name")
	case l.Address == nil:
		return failf("Location has no address")
	case l.ManagingOrganization == nil:
		return failf("Location has no managingOrganization")
	case len(l.Endpoint) > 0:
		return failf("Location populates endpoint (SHALL NOT)")
	}
	if _, ok := consumer.RefID(l.ManagingOrganization.Reference, "Organization"); !ok {
		return failf("managingOrganization %q is not a relative Organization reference", l.ManagingOrganization.Reference)
	}
	return nil
}

func healthcareServiceChecks() []check {
	g := "healthcareservice"
	return []check{
		{g, "find-all", func(ctx context.Context, e *env) error {
			hs, err := e.c.FindHealthcareService(ctx, "")
			if err != nil {
				return wantOK("find healthcare services", err)
			}
			for _, h := range hs {
				if err := hasProfile("HealthcareService/"+h.ID, h.Meta, gpconnect.ProfileHealthcareService); err != nil {
					return err
				}
				if h.Name == "" || h.ProvidedBy == nil {
					return failf("HealthcareService/%s needs name and providedBy", h.ID)
				}
			}
			return nil
		}},
		{g, "find-unparseable-token", func(ctx context.Context, e *env) error {
			_, err := e.c.FindHealthcareService(ctx, "", consumer.WithRawQuery("identifier=not-a-token"))
			return wantRefusal(err, 422, gpconnect.InvalidParameter)
		}},
		{g, "read-unknown", func(ctx context.Context, e *env) error {
			_, err := e.c.ReadHealthcareService(ctx, "999999999")
			return wantRefusal(err, 404, gpconnect.NoRecordFound)
		}},
		{g, "read-no-id", func(ctx context.Context, e *env) error {
			// HealthcareRead.feature: a read with an empty logical id is 400.
			_, err := e.c.ReadHealthcareService(ctx, "")
			return wantRefusal(err, 400, gpconnect.BadRequest)
		}},
		{g, "find-unknown-dos-id", func(ctx context.Context, e *env) error {
			hs, err := e.c.FindHealthcareService(ctx, "zzzzzz")
			if err != nil {
				return wantOK("find by an unknown DOS id", err)
			}
			if len(hs) != 0 {
				return failf("find by an unknown DOS id returned %d services, want none", len(hs))
			}
			return nil
		}},
		{g, "find-by-dos-id-and-read", func(ctx context.Context, e *env) error {
			// Every listed service is found by its own DOS id, alone, and read by its id.
			hs, err := e.c.FindHealthcareService(ctx, "")
			if err != nil {
				return wantOK("find healthcare services", err)
			}
			for _, h := range hs {
				dos := dosID(h)
				if dos == "" {
					return failf("HealthcareService/%s has no %s identifier", h.ID, gpconnect.SystemDOSService)
				}
				got, err := e.c.FindHealthcareService(ctx, dos)
				if err != nil {
					return wantOK("find by DOS id "+dos, err)
				}
				if len(got) != 1 || got[0].ID != h.ID {
					return failf("find by DOS id %s returned %d services, want HealthcareService/%s alone", dos, len(got), h.ID)
				}
				r, err := e.c.ReadHealthcareService(ctx, h.ID)
				if err != nil {
					return wantOK("read HealthcareService/"+h.ID, err)
				}
				if r.ID != h.ID || dosID(r) != dos {
					return failf("read HealthcareService/%s returned id %s with DOS id %q", h.ID, r.ID, dosID(r))
				}
			}
			return nil
		}},
	}
}

// dosID is a HealthcareService's DOS service id ("" when it has none).
func dosID(h *fhir.HealthcareService) string {
	for _, id := range h.Identifier {
		if id.System == gpconnect.SystemDOSService {
			return id.Value
		}
	}
	return ""
}
