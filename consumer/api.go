package consumer

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
)

// call runs a typed interaction: any status >= 400 is an *Error, a status
// not in okStatus is ErrUnexpectedStatus, and a body that is not FHIR JSON of
// type want is ErrContentType / ErrMalformedBody. An empty body is accepted
// only when emptyOK (Prefer: return=minimal).
func (c *Client) call(ctx context.Context, req Request, want string, emptyOK bool, okStatus []int, opts []Option) (*Response, error) {
	resp, err := c.Do(ctx, req, opts...)
	if err != nil {
		return nil, err
	}
	if resp.Status >= 400 {
		return resp, outcomeError(resp)
	}
	ct := resp.Header.Get("Content-Type")
	okS := false
	for _, s := range okStatus {
		okS = okS || resp.Status == s
	}
	if !okS {
		return resp, &ProtocolError{Kind: ErrUnexpectedStatus, Status: resp.Status, ContentType: ct,
			Detail: fmt.Sprintf("%s answered %d (Location %q)", req.Interaction, resp.Status, resp.Header.Get("Location")), Snippet: clip(string(resp.Body), 200)}
	}
	if len(strings.TrimSpace(string(resp.Body))) == 0 {
		if emptyOK {
			return resp, nil
		}
		return resp, &ProtocolError{Kind: ErrMalformedBody, Status: resp.Status, ContentType: ct, Detail: "empty body"}
	}
	if !isJSON(ct) {
		return resp, &ProtocolError{Kind: ErrContentType, Status: resp.Status, ContentType: ct,
			Detail: "expected " + gpconnect.MediaJSON, Snippet: clip(string(resp.Body), 200)}
	}
	if resp.DecodeErr != nil {
		return resp, &ProtocolError{Kind: ErrMalformedBody, Status: resp.Status, ContentType: ct,
			Detail: clip(resp.DecodeErr.Error(), 200), Snippet: clip(string(resp.Body), 200)}
	}
	if got := resp.Resource.GetResourceType(); got != want {
		return resp, &ProtocolError{Kind: ErrMalformedBody, Status: resp.Status, ContentType: ct,
			Detail: fmt.Sprintf("expected a %s, got a %s", want, got)}
	}
	return resp, nil
}

var ok200 = []int{http.StatusOK}

// entries returns the resources of type T in a searchset Bundle, skipping
// other entry types (forward compatibility).
func entries[T fhir.Resource](b *fhir.Bundle) []T {
	var out []T
	for _, e := range b.Entry {
		if r, ok := e.Resource.(T); ok {
			out = append(out, r)
		}
	}
	return out
}

func (c *Client) search(ctx context.Context, path string, q url.Values, iid gpconnect.InteractionID, opts []Option) (*fhir.Bundle, error) {
	resp, err := c.call(ctx, Request{Method: http.MethodGet, Path: path, Query: q, Interaction: iid}, "Bundle", false, ok200, opts)
	if err != nil {
		return nil, err
	}
	return resp.Resource.(*fhir.Bundle), nil
}

func identifierQuery(system, value string) url.Values {
	return url.Values{"identifier": {system + "|" + value}}
}

func read[T fhir.Resource](ctx context.Context, c *Client, typ, id string, iid gpconnect.InteractionID, opts []Option) (T, error) {
	var zero T
	resp, err := c.call(ctx, Request{Method: http.MethodGet, Path: typ + "/" + url.PathEscape(id), Interaction: iid}, typ, false, ok200, opts)
	if err != nil {
		return zero, err
	}
	r, ok := resp.Resource.(T)
	if !ok {
		return zero, &ProtocolError{Kind: ErrMalformedBody, Status: resp.Status, Detail: "unexpected resource type"}
	}
	return r, nil
}

// Metadata gets the provider's CapabilityStatement (GET /metadata).
func (c *Client) Metadata(ctx context.Context, opts ...Option) (*fhir.CapabilityStatement, error) {
	resp, err := c.call(ctx, Request{Method: http.MethodGet, Path: "metadata", Interaction: gpconnect.ReadMetadata}, "CapabilityStatement", false, ok200, opts)
	if err != nil {
		return nil, err
	}
	return resp.Resource.(*fhir.CapabilityStatement), nil
}

// FindPatient finds active patients by NHS number; none found is an empty
// slice, not an error. Refusals: 400 INVALID_NHS_NUMBER, INVALID_IDENTIFIER_SYSTEM.
func (c *Client) FindPatient(ctx context.Context, nhsNumber string, opts ...Option) ([]*fhir.Patient, error) {
	b, err := c.search(ctx, "Patient", identifierQuery(gpconnect.SystemNHSNumber, nhsNumber), gpconnect.SearchPatient, opts)
	if err != nil {
		return nil, err
	}
	return entries[*fhir.Patient](b), nil
}

// ReadPatient reads Patient/{id}; unknown is 404 PATIENT_NOT_FOUND.
func (c *Client) ReadPatient(ctx context.Context, id string, opts ...Option) (*fhir.Patient, error) {
	return read[*fhir.Patient](ctx, c, "Patient", id, gpconnect.ReadPatient, opts)
}

// RegisterPatient registers p temporarily ($gpc.registerpatient) and returns
// the provider's Patient. p needs the NHS number identifier, exactly one
// official name with family and given, and birthDate; without them it is not
// sent (ErrInvalidRequest). Refusals: 409 DUPLICATE_REJECTED (already registered),
// 400 INVALID_PATIENT_DEMOGRAPHICS / INVALID_NHS_NUMBER, 422 INVALID_RESOURCE.
func (c *Client) RegisterPatient(ctx context.Context, p *fhir.Patient, opts ...Option) (*fhir.Patient, error) {
	if err := checkRegisterPatient(p); err != nil {
		return nil, err
	}
	cp := *p
	cp.ResourceType = "Patient"
	if cp.Meta == nil {
		cp.Meta = &fhir.Meta{Profile: []string{string(gpconnect.ProfilePatient)}}
	}
	params := &fhir.Parameters{ResourceType: "Parameters", Parameter: []fhir.ParametersParameter{{Name: "registerPatient", Resource: &cp}}}
	body, err := json.Marshal(params)
	if err != nil {
		return nil, fmt.Errorf("consumer: encoding Parameters: %w", err)
	}
	resp, err := c.call(ctx, Request{Method: http.MethodPost, Path: "Patient/$gpc.registerpatient", Interaction: gpconnect.RegisterPatient, Body: body},
		"Bundle", false, ok200, opts)
	if err != nil {
		return nil, err
	}
	ps := entries[*fhir.Patient](resp.Resource.(*fhir.Bundle))
	if len(ps) != 1 {
		return nil, &ProtocolError{Kind: ErrMalformedBody, Status: resp.Status, ContentType: resp.Header.Get("Content-Type"),
			Detail: fmt.Sprintf("register patient answered a Bundle with %d Patients, want 1", len(ps))}
	}
	return ps[0], nil
}

// FindOrganization finds organisations by ODS code.
func (c *Client) FindOrganization(ctx context.Context, ods string, opts ...Option) ([]*fhir.Organization, error) {
	b, err := c.search(ctx, "Organization", identifierQuery(gpconnect.SystemODSOrganisation, ods), gpconnect.SearchOrganization, opts)
	if err != nil {
		return nil, err
	}
	return entries[*fhir.Organization](b), nil
}

// ReadOrganization reads Organization/{id}; unknown is 404 ORGANISATION_NOT_FOUND.
func (c *Client) ReadOrganization(ctx context.Context, id string, opts ...Option) (*fhir.Organization, error) {
	return read[*fhir.Organization](ctx, c, "Organization", id, gpconnect.ReadOrganization, opts)
}

// FindPractitioner finds practitioners by SDS user id.
func (c *Client) FindPractitioner(ctx context.Context, sdsUserID string, opts ...Option) ([]*fhir.Practitioner, error) {
	b, err := c.search(ctx, "Practitioner", identifierQuery(gpconnect.SystemSDSUser, sdsUserID), gpconnect.SearchPractitioner, opts)
	if err != nil {
		return nil, err
	}
	return entries[*fhir.Practitioner](b), nil
}

// ReadPractitioner reads Practitioner/{id}; unknown is 404 PRACTITIONER_NOT_FOUND.
func (c *Client) ReadPractitioner(ctx context.Context, id string, opts ...Option) (*fhir.Practitioner, error) {
	return read[*fhir.Practitioner](ctx, c, "Practitioner", id, gpconnect.ReadPractitioner, opts)
}

// ReadLocation reads Location/{id}; unknown is 404 (NO_RECORD_FOUND).
func (c *Client) ReadLocation(ctx context.Context, id string, opts ...Option) (*fhir.Location, error) {
	return read[*fhir.Location](ctx, c, "Location", id, gpconnect.ReadLocation, opts)
}

// FindHealthcareService lists the practice's services, or those with DOS
// service id dosID when it is not empty (1.2.8).
func (c *Client) FindHealthcareService(ctx context.Context, dosID string, opts ...Option) ([]*fhir.HealthcareService, error) {
	var q url.Values
	if dosID != "" {
		q = identifierQuery(gpconnect.SystemDOSService, dosID)
	}
	b, err := c.search(ctx, "HealthcareService", q, gpconnect.SearchHealthcareService, opts)
	if err != nil {
		return nil, err
	}
	return entries[*fhir.HealthcareService](b), nil
}

// ReadHealthcareService reads HealthcareService/{id}; unknown is 404 NO_RECORD_FOUND.
func (c *Client) ReadHealthcareService(ctx context.Context, id string, opts ...Option) (*fhir.HealthcareService, error) {
	return read[*fhir.HealthcareService](ctx, c, "HealthcareService", id, gpconnect.ReadHealthcareService, opts)
}

// AppointmentResult is an Appointment as a provider returned it, with the
// version headers needed to change it later.
type AppointmentResult struct {
	// Appointment is nil when the provider honoured Prefer: return=minimal.
	Appointment *fhir.Appointment
	// Status is the HTTP status (201 for a booking, 200 otherwise).
	Status int
	// ETag is the ETag header (W/"{versionId}"); Location is set on 201.
	ETag, Location string
}

// VersionID is the version from the ETag, else from meta.versionId.
func (r *AppointmentResult) VersionID() string {
	if v := strings.Trim(strings.TrimPrefix(r.ETag, "W/"), `"`); v != "" {
		return v
	}
	if r.Appointment != nil && r.Appointment.Meta != nil {
		return r.Appointment.Meta.VersionID
	}
	return ""
}

func appointmentResult(resp *Response) *AppointmentResult {
	r := &AppointmentResult{Status: resp.Status, ETag: resp.Header.Get("ETag"), Location: resp.Header.Get("Location")}
	if a, ok := resp.Resource.(*fhir.Appointment); ok {
		r.Appointment = a
		// The appointment carries its ETag so that whoever amends or
		// cancels it sends the If-Match the read gave (spec §13.9), even
		// when the body lacks meta.versionId.
		a.ETag = r.ETag
	}
	return r
}

// Book creates an appointment (POST /Appointment). Build a with
// SlotResult.NewBooking. A description over 100 characters or a comment
// over 500 is not sent (ErrInvalidRequest). The spec's answer is 201; a
// provider answering 200 has made the booking all the same, so that is a
// success too (Result.Status says which), not an error a caller might
// retry into a second booking. Refusals: 409 DUPLICATE_REJECTED (slot taken:
// search again), 422 INVALID_RESOURCE or REFERENCE_NOT_FOUND (see Error.BadReference).
// Each call is a new request with its own Ssp-TraceID, so a provider's retry
// rule does not apply: after an answer lost in transit, a second Book of the
// same slot gets 409 if the first was made; read the patient's appointments
// (RetrieveAppointments) to tell.
func (c *Client) Book(ctx context.Context, a *fhir.Appointment, opts ...Option) (*AppointmentResult, error) {
	if err := checkAmend(a); err != nil {
		return nil, err
	}
	body, err := json.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("consumer: encoding Appointment: %w", err)
	}
	resp, err := c.call(ctx, Request{Method: http.MethodPost, Path: "Appointment", Interaction: gpconnect.CreateAppointment, Body: body},
		"Appointment", true, []int{http.StatusCreated, http.StatusOK}, opts)
	if err != nil {
		return nil, err
	}
	return appointmentResult(resp), nil
}

// ReadAppointment reads Appointment/{id}; unknown is 404.
func (c *Client) ReadAppointment(ctx context.Context, id string, opts ...Option) (*AppointmentResult, error) {
	resp, err := c.call(ctx, Request{Method: http.MethodGet, Path: "Appointment/" + url.PathEscape(id), Interaction: gpconnect.ReadAppointment},
		"Appointment", false, ok200, opts)
	if err != nil {
		return nil, err
	}
	return appointmentResult(resp), nil
}

// update PUTs a with If-Match set to the WithIfMatch value, else to the
// ETag a was read with, else to W/"{meta.versionId}" (spec §2.1: SHALL on
// amend and cancel). An appointment read from a provider is sent back as it
// came with a's edits applied in place (fhir.MarshalEdited), not rebuilt
// from the struct, which would drop elements it does not model (spec §7.2).
func (c *Client) update(ctx context.Context, iid gpconnect.InteractionID, a *fhir.Appointment, opts []Option) (*AppointmentResult, error) {
	if a == nil || a.ID == "" {
		return nil, fmt.Errorf("consumer: %s needs an appointment with an id", iid)
	}
	o := &callOpts{}
	for _, f := range opts {
		f(o)
	}
	ifMatch := a.ETag
	if ifMatch == "" && a.Meta != nil && a.Meta.VersionID != "" {
		ifMatch = `W/"` + a.Meta.VersionID + `"`
	}
	if o.ifMatch != nil {
		ifMatch = *o.ifMatch
	}
	if ifMatch != "" {
		opts = append([]Option{WithHeader("If-Match", ifMatch)}, opts...)
	}
	var body []byte
	var err error
	if len(a.Source) > 0 {
		body, err = fhir.MarshalEdited(a, a.Source)
	} else {
		body, err = json.Marshal(a)
	}
	if err != nil {
		return nil, fmt.Errorf("consumer: encoding Appointment: %w", err)
	}
	resp, err := c.call(ctx, Request{Method: http.MethodPut, Path: "Appointment/" + url.PathEscape(a.ID), Interaction: iid, Body: body},
		"Appointment", true, ok200, opts)
	if err != nil {
		return nil, err
	}
	return appointmentResult(resp), nil
}

// Amend sends a back (PUT /Appointment/{id}, update interaction). Edit only
// description and comment of (a copy of) what Read or Retrieve returned:
// everything else goes back as the provider sent it. A description over 100
// characters or a comment over 500 is not sent (ErrInvalidRequest).
// Refusals: 409 FHIR_CONSTRAINT_VIOLATION (stale version: read again), 422 INVALID_RESOURCE.
func (c *Client) Amend(ctx context.Context, a *fhir.Appointment, opts ...Option) (*AppointmentResult, error) {
	if err := checkAmend(a); err != nil {
		return nil, err
	}
	return c.update(ctx, gpconnect.UpdateAppointment, a, opts)
}

// Cancel cancels a (PUT /Appointment/{id}, cancel interaction): it sends a
// copy of a with status cancelled and the cancellation-reason extension set
// to reason. a should be what Read or Retrieve returned. An empty or blank
// reason is not sent (ErrInvalidRequest). Refusals as Amend.
func (c *Client) Cancel(ctx context.Context, a *fhir.Appointment, reason string, opts ...Option) (*AppointmentResult, error) {
	if err := checkCancelReason(reason); err != nil {
		return nil, err
	}
	if a == nil {
		return nil, fmt.Errorf("consumer: cancel needs an appointment")
	}
	cp := *a
	cp.Status = "cancelled"
	cp.Extension = nil
	for _, e := range a.Extension {
		if e.URL != gpconnect.ExtCancellationReason {
			cp.Extension = append(cp.Extension, e)
		}
	}
	r := reason
	cp.Extension = append(cp.Extension, fhir.Extension{URL: gpconnect.ExtCancellationReason, ValueString: &r})
	return c.update(ctx, gpconnect.CancelAppointment, &cp, opts)
}

// RetrieveAppointments lists the patient's appointments whose start date is
// in [from, to] (UK dates). Cancelled ones are included. A from before today
// (the client's clock, UK date) or a to before from is not sent: the error
// wraps ErrInvalidRequest (spec §7.4).
func (c *Client) RetrieveAppointments(ctx context.Context, patientID string, from, to time.Time, opts ...Option) ([]*fhir.Appointment, error) {
	if err := checkRetrieveRange(from, to, c.now()); err != nil {
		return nil, err
	}
	q := url.Values{"start": {"ge" + FormatDate(from), "le" + FormatDate(to)}}
	b, err := c.search(ctx, "Patient/"+url.PathEscape(patientID)+"/Appointment", q, gpconnect.SearchPatientAppointment, opts)
	if err != nil {
		return nil, err
	}
	return entries[*fhir.Appointment](b), nil
}
