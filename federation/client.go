package federation

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/auth"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// SlotRequest is one slot search at one practice (one ≤14-day window).
type SlotRequest struct {
	Start, End time.Time
	// OrgType is sent as the organisation-type searchFilter when set.
	OrgType string
}

// PracticeClient is what the hub needs from a GP Connect consumer. Every
// method returns a *CallError when the provider answered with an error or
// could not be reached.
type PracticeClient interface {
	// SearchSlots searches one window for free slots (spec §5).
	SearchSlots(ctx context.Context, ep *scheduling.Endpoint, q SlotRequest) ([]Slot, error)
	// FindPatient finds a patient by NHS number. Returns ErrPatientNotFound when the practice has none.
	FindPatient(ctx context.Context, ep *scheduling.Endpoint, nhs string) (*fhir.Patient, error)
	// RegisterPatient registers a temporary patient (spec §12.4).
	RegisterPatient(ctx context.Context, ep *scheduling.Endpoint, p *fhir.Patient) (*fhir.Patient, error)
	// Book creates an appointment (spec §6).
	Book(ctx context.Context, ep *scheduling.Endpoint, a *fhir.Appointment) (*fhir.Appointment, error)
	// ReadAppointment reads an appointment and its ETag (spec §7.1).
	ReadAppointment(ctx context.Context, ep *scheduling.Endpoint, id string) (*fhir.Appointment, string, error)
	// UpdateAppointment amends (cancel=false) or cancels an appointment with If-Match etag (spec §7.2, §7.3).
	UpdateAppointment(ctx context.Context, ep *scheduling.Endpoint, a *fhir.Appointment, etag string, cancel bool) (*fhir.Appointment, error)
	// PatientAppointments retrieves a patient's appointments between two dates (spec §7.4).
	PatientAppointments(ctx context.Context, ep *scheduling.Endpoint, patientID string, from, to time.Time) ([]*fhir.Appointment, error)
}

// ErrPatientNotFound is returned by FindPatient when the search is empty.
var ErrPatientNotFound = errors.New("patient not found at the practice")

// CallError is a failed GP Connect call.
type CallError struct {
	// Reason classifies the failure (a Spine code for 4xx OperationOutcomes).
	Reason Reason
	// Status is the HTTP status, 0 when there was no response.
	Status int
	// Detail explains it (the OperationOutcome diagnostics where given).
	Detail string
}

// Error implements error.
func (e *CallError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("%s (HTTP %d): %s", e.Reason, e.Status, e.Detail)
	}
	return fmt.Sprintf("%s: %s", e.Reason, e.Detail)
}

// Retryable reports a gateway-type failure worth one more try (502, 503, 504).
func (e *CallError) Retryable() bool {
	return e.Status == http.StatusBadGateway || e.Status == http.StatusServiceUnavailable || e.Status == http.StatusGatewayTimeout
}

// Identity is who the hub is on GP Connect: its ASID (Ssp-From), and the
// organisation, device and user put in every token.
type Identity struct {
	// ASID is the consumer ASID sent in Ssp-From.
	ASID string
	// ODS and OrgName are the booking organisation (the hub).
	ODS, OrgName string
	// OrgType is the hub's organisation type code (e.g. "urgent-care"); sent as a searchFilter when set.
	OrgType string
	// Phone is the booking organisation's telephone, put in the contained Organization.
	Phone string
	// Token is the rest of the JWT identity (issuer, device, practitioner); Audience and the organisation are set per call.
	Token auth.Identity
}

// HTTPClient is a GP Connect consumer over HTTP: fresh trace id and token per
// request, Ssp-* headers, JSON only, bodies bounded and always drained.
type HTTPClient struct {
	// HTTP sends the requests; one client is shared by every practice so
	// connections to one host (the SSP) are pooled.
	HTTP *http.Client
	// Identity is the hub's identity.
	Identity Identity
	// Proxy, when set, is the SSP prefix: the URL called is Proxy + "/" + service root + path (spec §1.1).
	Proxy string
	// MaxBody bounds a response body (default 16 MiB).
	MaxBody int64
	// Now is the clock for tokens.
	Now func() time.Time
}

// NewTransport returns a transport tuned for fan-out through one host:
// enough idle connections per host for the whole concurrency bound.
func NewTransport(concurrency int) *http.Transport {
	if concurrency <= 0 {
		concurrency = 64
	}
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          concurrency * 2,
		MaxIdleConnsPerHost:   concurrency,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    false,
	}
}

var _ PracticeClient = (*HTTPClient)(nil)

func (c *HTTPClient) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func traceID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// do sends one GP Connect request and returns the status, headers and body of
// a 2xx answer; anything else becomes a *CallError.
func (c *HTTPClient) do(ctx context.Context, ep *scheduling.Endpoint, method, path string, q url.Values, iid gpconnect.InteractionID,
	body []byte, hdr map[string]string) (int, http.Header, []byte, error) {
	info, ok := gpconnect.LookupInteraction(string(iid))
	if !ok {
		return 0, nil, nil, fmt.Errorf("federation: unknown interaction %s", iid)
	}
	id := c.Identity.Token
	id.Audience = ep.ServiceRoot
	if c.Identity.ODS != "" {
		id.Organization = fhir.Organization{ResourceType: "Organization", Name: c.Identity.OrgName,
			Identifier: []fhir.Identifier{{System: gpconnect.SystemODSOrganisation, Value: c.Identity.ODS}}}
	}
	tok, err := auth.Mint(id, info.Scope, c.now())
	if err != nil {
		return 0, nil, nil, err
	}
	u := ep.ServiceRoot + "/" + path
	if c.Proxy != "" {
		u = strings.TrimSuffix(c.Proxy, "/") + "/" + u
	}
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, nil, &CallError{Reason: ReasonProviderError, Detail: "bad service root: " + err.Error()}
	}
	req.Header.Set("Ssp-TraceID", traceID())
	req.Header.Set("Ssp-From", c.Identity.ASID)
	req.Header.Set("Ssp-To", ep.ASID)
	req.Header.Set("Ssp-InteractionID", string(iid))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/fhir+json")
	if body != nil {
		req.Header.Set("Content-Type", "application/fhir+json;charset=utf-8")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil || isTimeout(err) {
			return 0, nil, nil, &CallError{Reason: ReasonTimeout, Detail: "no answer before the deadline"}
		}
		return 0, nil, nil, &CallError{Reason: ReasonProviderError, Detail: transportDetail(err)}
	}
	defer resp.Body.Close()
	max := c.MaxBody
	if max <= 0 {
		max = 16 << 20
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // let the connection be reused
	if err != nil {
		if ctx.Err() != nil || isTimeout(err) {
			return 0, nil, nil, &CallError{Reason: ReasonTimeout, Status: resp.StatusCode, Detail: "the answer did not finish before the deadline"}
		}
		return 0, nil, nil, &CallError{Reason: ReasonProviderError, Status: resp.StatusCode, Detail: transportDetail(err)}
	}
	if int64(len(data)) > max {
		return 0, nil, nil, &CallError{Reason: ReasonProviderError, Status: resp.StatusCode, Detail: fmt.Sprintf("response larger than %d bytes", max)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return 0, nil, nil, outcomeError(resp, data)
	}
	if len(data) > 0 && !isFHIRJSON(resp.Header.Get("Content-Type")) {
		return 0, nil, nil, &CallError{Reason: ReasonProviderError, Status: resp.StatusCode,
			Detail: fmt.Sprintf("unexpected content type %q", clip(resp.Header.Get("Content-Type"), 80))}
	}
	return resp.StatusCode, resp.Header, data, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// transportDetail says what went wrong on the wire without the full URL
// (which would repeat the service root and query for every failure).
func transportDetail(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return clip(err.Error(), 200)
}

func isFHIRJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/fhir+json" || mt == "application/json")
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// outcomeError turns an error response into a *CallError: a 4xx
// OperationOutcome gives its Spine code as the reason; 5xx and anything
// unreadable are provider errors.
func outcomeError(resp *http.Response, data []byte) *CallError {
	ce := &CallError{Reason: ReasonProviderError, Status: resp.StatusCode, Detail: http.StatusText(resp.StatusCode)}
	var oo struct {
		ResourceType string `json:"resourceType"`
		Issue        []struct {
			Diagnostics string `json:"diagnostics"`
			Details     struct {
				Coding []struct {
					System string `json:"system"`
					Code   string `json:"code"`
				} `json:"coding"`
			} `json:"details"`
		} `json:"issue"`
	}
	if !isFHIRJSON(resp.Header.Get("Content-Type")) || json.Unmarshal(data, &oo) != nil || oo.ResourceType != "OperationOutcome" || len(oo.Issue) == 0 {
		return ce
	}
	is := oo.Issue[0]
	if is.Diagnostics != "" {
		ce.Detail = clip(is.Diagnostics, 300)
	}
	if resp.StatusCode < 500 {
		for _, c := range is.Details.Coding {
			if c.Code != "" && (c.System == "" || c.System == gpconnect.SystemSpineError) {
				ce.Reason = Reason(c.Code)
				break
			}
		}
	}
	return ce
}

// SearchSlots implements PracticeClient.
func (c *HTTPClient) SearchSlots(ctx context.Context, ep *scheduling.Endpoint, r SlotRequest) ([]Slot, error) {
	q := url.Values{}
	q.Set("start", "ge"+scheduling.FormatLocal(r.Start))
	q.Set("end", "le"+scheduling.FormatLocal(r.End))
	q.Set("status", "free")
	q.Set("_include", "Slot:schedule")
	q["_include:recurse"] = []string{"Schedule:actor:Practitioner", "Schedule:actor:Location", "Location:managingOrganization"}
	var filters []string
	if c.Identity.ODS != "" {
		filters = append(filters, gpconnect.SystemODSOrganisation+"|"+c.Identity.ODS)
	}
	orgType := r.OrgType
	if orgType == "" {
		orgType = c.Identity.OrgType
	}
	if orgType != "" {
		filters = append(filters, gpconnect.SystemOrganisationType+"|"+orgType)
	}
	if len(filters) > 0 {
		q["searchFilter"] = filters
	}
	_, _, body, err := c.do(ctx, ep, http.MethodGet, "Slot", q, gpconnect.SearchSlot, nil, nil)
	if err != nil {
		return nil, err
	}
	slots, _, err := decodeSlots(ep.ODS, body)
	if err != nil {
		return nil, &CallError{Reason: ReasonProviderError, Status: http.StatusOK, Detail: clip(err.Error(), 200)}
	}
	return slots, nil
}

func decodeAs[T fhir.Resource](data []byte, want string) (T, error) {
	var zero T
	r, err := fhir.DecodeJSON(data, want)
	if err != nil {
		return zero, &CallError{Reason: ReasonProviderError, Status: http.StatusOK, Detail: clip(err.Error(), 200)}
	}
	t, ok := r.(T)
	if !ok {
		return zero, &CallError{Reason: ReasonProviderError, Status: http.StatusOK, Detail: "unexpected resource " + r.GetResourceType()}
	}
	return t, nil
}

// FindPatient implements PracticeClient.
func (c *HTTPClient) FindPatient(ctx context.Context, ep *scheduling.Endpoint, nhs string) (*fhir.Patient, error) {
	q := url.Values{"identifier": {gpconnect.SystemNHSNumber + "|" + nhs}}
	_, _, body, err := c.do(ctx, ep, http.MethodGet, "Patient", q, gpconnect.SearchPatient, nil, nil)
	if err != nil {
		return nil, err
	}
	b, err := decodeAs[*fhir.Bundle](body, "Bundle")
	if err != nil {
		return nil, err
	}
	for _, e := range b.Entry {
		if p, ok := e.Resource.(*fhir.Patient); ok {
			return p, nil
		}
	}
	return nil, ErrPatientNotFound
}

// RegisterPatient implements PracticeClient.
func (c *HTTPClient) RegisterPatient(ctx context.Context, ep *scheduling.Endpoint, p *fhir.Patient) (*fhir.Patient, error) {
	p.ResourceType = "Patient"
	params := &fhir.Parameters{ResourceType: "Parameters", Parameter: []fhir.ParametersParameter{{Name: "registerPatient", Resource: p}}}
	body, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	_, _, data, err := c.do(ctx, ep, http.MethodPost, "Patient/$gpc.registerpatient", nil, gpconnect.RegisterPatient, body, nil)
	if err != nil {
		return nil, err
	}
	b, err := decodeAs[*fhir.Bundle](data, "Bundle")
	if err != nil {
		return nil, err
	}
	for _, e := range b.Entry {
		if p, ok := e.Resource.(*fhir.Patient); ok {
			return p, nil
		}
	}
	return nil, &CallError{Reason: ReasonProviderError, Status: http.StatusOK, Detail: "register patient returned no Patient"}
}

// Book implements PracticeClient.
func (c *HTTPClient) Book(ctx context.Context, ep *scheduling.Endpoint, a *fhir.Appointment) (*fhir.Appointment, error) {
	body, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	_, _, data, err := c.do(ctx, ep, http.MethodPost, "Appointment", nil, gpconnect.CreateAppointment, body, nil)
	if err != nil {
		return nil, err
	}
	return decodeAs[*fhir.Appointment](data, "Appointment")
}

// ReadAppointment implements PracticeClient.
func (c *HTTPClient) ReadAppointment(ctx context.Context, ep *scheduling.Endpoint, id string) (*fhir.Appointment, string, error) {
	_, h, data, err := c.do(ctx, ep, http.MethodGet, "Appointment/"+url.PathEscape(id), nil, gpconnect.ReadAppointment, nil, nil)
	if err != nil {
		return nil, "", err
	}
	a, err := decodeAs[*fhir.Appointment](data, "Appointment")
	return a, h.Get("ETag"), err
}

// UpdateAppointment implements PracticeClient.
func (c *HTTPClient) UpdateAppointment(ctx context.Context, ep *scheduling.Endpoint, a *fhir.Appointment, etag string, cancel bool) (*fhir.Appointment, error) {
	body, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	iid := gpconnect.UpdateAppointment
	if cancel {
		iid = gpconnect.CancelAppointment
	}
	var hdr map[string]string
	if etag != "" {
		hdr = map[string]string{"If-Match": etag}
	}
	_, _, data, err := c.do(ctx, ep, http.MethodPut, "Appointment/"+url.PathEscape(a.ID), nil, iid, body, hdr)
	if err != nil {
		return nil, err
	}
	return decodeAs[*fhir.Appointment](data, "Appointment")
}

// PatientAppointments implements PracticeClient.
func (c *HTTPClient) PatientAppointments(ctx context.Context, ep *scheduling.Endpoint, patientID string, from, to time.Time) ([]*fhir.Appointment, error) {
	q := url.Values{"start": {"ge" + scheduling.FormatDate(from), "le" + scheduling.FormatDate(to)}}
	_, _, data, err := c.do(ctx, ep, http.MethodGet, "Patient/"+url.PathEscape(patientID)+"/Appointment", q, gpconnect.SearchPatientAppointment, nil, nil)
	if err != nil {
		return nil, err
	}
	b, err := decodeAs[*fhir.Bundle](data, "Bundle")
	if err != nil {
		return nil, err
	}
	var out []*fhir.Appointment
	for _, e := range b.Entry {
		if a, ok := e.Resource.(*fhir.Appointment); ok {
			out = append(out, a)
		}
	}
	return out, nil
}
