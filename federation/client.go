package federation

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"

	"github.com/slotbridge/slotbridge/consumer"
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

// PracticeClient is what the hub needs from a GP Connect consumer, one
// practice (directory endpoint) at a time. GPConnect implements it with the
// consumer package; errors are consumer errors, which Classify reads.
type PracticeClient interface {
	// SearchSlots searches one window for free slots (spec §5) and returns
	// them flattened, sorted by start. It is the fan-out's hot path.
	// The strings are the ids of slots dropped as unusable (PracticeOutcome.Dropped).
	SearchSlots(ctx context.Context, ep *scheduling.Endpoint, q SlotRequest) ([]Slot, []string, error)
	// SlotBundle is SearchSlots returning the whole typed result, as booking needs it.
	SlotBundle(ctx context.Context, ep *scheduling.Endpoint, q SlotRequest) (*consumer.SlotResult, error)
	// FindPatient finds a patient by NHS number; none is an empty slice.
	FindPatient(ctx context.Context, ep *scheduling.Endpoint, nhs string) ([]*fhir.Patient, error)
	// RegisterPatient registers a temporary patient (spec §12.4).
	RegisterPatient(ctx context.Context, ep *scheduling.Endpoint, p *fhir.Patient) (*fhir.Patient, error)
	// Book creates an appointment (spec §6).
	Book(ctx context.Context, ep *scheduling.Endpoint, a *fhir.Appointment) (*consumer.AppointmentResult, error)
	// ReadAppointment reads an appointment (spec §7.1).
	ReadAppointment(ctx context.Context, ep *scheduling.Endpoint, id string) (*consumer.AppointmentResult, error)
	// Amend sends back an appointment with new description/comment (spec §7.2).
	Amend(ctx context.Context, ep *scheduling.Endpoint, a *fhir.Appointment) (*consumer.AppointmentResult, error)
	// Cancel cancels an appointment with a reason (spec §7.3).
	Cancel(ctx context.Context, ep *scheduling.Endpoint, a *fhir.Appointment, reason string) (*consumer.AppointmentResult, error)
	// RetrieveAppointments lists a patient's appointments between two dates (spec §7.4).
	RetrieveAppointments(ctx context.Context, ep *scheduling.Endpoint, patientID string, from, to time.Time) ([]*fhir.Appointment, error)
}

// CallError is a failed call to one practice, classified for hub staff.
type CallError struct {
	// Reason classifies the failure (the Spine code for a 4xx OperationOutcome).
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

// Classify turns any error from a PracticeClient into a *CallError:
// timeouts, transport and protocol failures, 5xx (provider error) and 4xx
// OperationOutcomes (their Spine code).
func Classify(err error) *CallError {
	var ce *CallError
	if errors.As(err, &ce) {
		return ce
	}
	var te *consumer.TransportError
	var pe *consumer.ProtocolError
	switch {
	case errors.Is(err, consumer.ErrInvalidRequest):
		return &CallError{Reason: ReasonNotSent, Detail: clip(strings.TrimPrefix(err.Error(), "consumer: "), 300)}
	case errors.Is(err, consumer.ErrTimeout) || errors.Is(err, consumer.ErrCanceled) || errors.Is(err, context.DeadlineExceeded):
		return &CallError{Reason: ReasonTimeout, Detail: "no answer before the deadline"}
	case errors.As(err, &te):
		if d, ok := tlsProblem(te.Err); ok {
			return &CallError{Reason: ReasonProviderError, Detail: d}
		}
		d := te.Err.Error()
		if i := strings.LastIndex(d, ": "); i >= 0 && strings.Contains(d, "dial") {
			d = d[i+2:]
		}
		return &CallError{Reason: ReasonProviderError, Detail: clip(d, 200)}
	case errors.As(err, &pe):
		return &CallError{Reason: ReasonProviderError, Status: pe.Status, Detail: clip(strings.TrimPrefix(pe.Error(), "consumer: "), 200)}
	}
	if e := consumer.AsError(err); e != nil {
		out := &CallError{Reason: ReasonProviderError, Status: e.Status, Detail: e.Diagnostics}
		switch {
		case e.Status < 500 && e.Code != "":
			out.Reason = Reason(e.Code)
		case e.Status < 500 && e.Detail.System == gpconnect.SystemSSPResponse:
			out.Reason = ReasonSSP
			if out.Detail == "" {
				out.Detail = e.Detail.Display
			}
		}
		if out.Detail == "" {
			out.Detail = http.StatusText(e.Status)
			if e.BodyProblem != "" {
				out.Detail += "; " + e.BodyProblem
			}
		}
		out.Detail = clip(out.Detail, 300)
		return out
	}
	return &CallError{Reason: ReasonProviderError, Detail: clip(err.Error(), 200)}
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Identity is who the hub is on GP Connect: its ASID (Ssp-From), and the
// organisation, device and user put in every token.
type Identity struct {
	// ASID is the consumer ASID sent in Ssp-From.
	ASID string
	// ODS and OrgName are the booking organisation (the hub).
	ODS, OrgName string
	// OrgType is the hub's organisation type code ("urgent-care", "gp-practice"); sent as a searchFilter when set.
	OrgType string
	// Phone is the booking organisation's telephone, put in the contained Organization.
	Phone string
	// Token is the rest of the JWT identity (issuer, device, practitioner).
	Token auth.Identity
	// TLS is the hub's TLS identity, for the caller to build its HTTP
	// client with (NewHubTLSClient): GPConnect uses the client it is given.
	TLS TLSFiles
}

// User is the person a hub call is made for: the JWT's requesting
// practitioner and sub (spec §3.2 wants the logged-on user, never a generic
// one). The hub's configured user stands in when a call carries none.
type User struct {
	// ID is the user's local id (the JWT sub).
	ID string
	// Given and Family name the user.
	Given, Family string
	// SDSUserID and SDSRoleProfileID are the user's Spine ids ("UNK" when unknown).
	SDSUserID, SDSRoleProfileID string
}

// LocalUserSystem is the identifier system of a hub user's local id, the
// third identifier of the token's requesting_practitioner (spec §3.2: a
// consumer-defined local user id).
const LocalUserSystem = "https://slotbridge.invalid/Id/user"

type userKey struct{}

// WithUser makes the calls to practices made under ctx name u in their tokens.
func WithUser(ctx context.Context, u User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// practitioner is the token practitioner for ctx's user, or nil for the hub's own.
func practitioner(ctx context.Context) *fhir.Practitioner {
	u, ok := ctx.Value(userKey{}).(User)
	if !ok || u.ID == "" {
		return nil
	}
	unk := func(s string) string {
		if s == "" {
			return "UNK"
		}
		return s
	}
	p := fhir.Practitioner{ResourceType: "Practitioner", ID: u.ID,
		Identifier: []fhir.Identifier{{System: gpconnect.SystemSDSUser, Value: unk(u.SDSUserID)},
			{System: gpconnect.SystemSDSRoleProfile, Value: unk(u.SDSRoleProfileID)},
			{System: LocalUserSystem, Value: u.ID}},
		Name: []fhir.HumanName{{Family: u.Family}}}
	if u.Given != "" {
		p.Name[0].Given = []string{u.Given}
	}
	return &p
}

// callOpts are the consumer options every call under ctx carries.
func callOpts(ctx context.Context) []consumer.Option {
	if p := practitioner(ctx); p != nil {
		return []consumer.Option{consumer.WithPractitioner(*p)}
	}
	return nil
}

// GPConnect is the PracticeClient over the consumer package: one consumer
// client per endpoint, all sharing one *http.Client (one connection pool, so
// a fan-out through one SSP host reuses connections).
type GPConnect struct {
	id   Identity
	base consumer.Config

	mu      sync.Mutex
	clients map[string]*consumer.Client
}

// NewGPConnect builds the client. proxy is the SSP prefix ("" for none).
func NewGPConnect(id Identity, hc *http.Client, proxy string) *GPConnect {
	base := consumer.Config{ProxyURL: proxy, ConsumerASID: id.ASID, Issuer: id.Token.Issuer, Device: id.Token.Device,
		Practitioner: id.Token.Practitioner, Organization: id.Token.Organization, HTTPClient: hc}
	if id.ODS != "" {
		base.Organization = fhir.Organization{ResourceType: "Organization", Name: id.OrgName,
			Identifier: []fhir.Identifier{{System: gpconnect.SystemODSOrganisation, Value: id.ODS}}}
	}
	return &GPConnect{id: id, base: base, clients: map[string]*consumer.Client{}}
}

// Check reports what is wrong with the hub's identity and proxy before any
// practice is called: an organisation type outside GPConnect-OrganisationType-1,
// a malformed proxy URL, a missing ASID or ODS code, or claims the JWT cannot
// carry. Otherwise each would show as every practice "disabled".
func (g *GPConnect) Check() error {
	var probs []string
	if ot := g.id.OrgType; ot != "" && !gpconnect.OrganisationType(ot).Valid() {
		probs = append(probs, fmt.Sprintf("organisation type %q is not gp-practice or urgent-care", ot))
	}
	if !scheduling.ValidODSCode(g.id.ODS) {
		probs = append(probs, fmt.Sprintf("ODS code %q is not 3-10 upper-case letters and digits", g.id.ODS))
	}
	if strings.TrimSpace(g.id.OrgName) == "" {
		probs = append(probs, "the organisation name is empty")
	}
	if a := g.id.ASID; a == "" || strings.ContainsFunc(a, func(r rune) bool { return r < '0' || r > '9' }) {
		probs = append(probs, fmt.Sprintf("ASID %q is not a number", a))
	}
	if g.base.ProxyURL != "" {
		if u, err := url.Parse(g.base.ProxyURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			probs = append(probs, fmt.Sprintf("Spine Secure Proxy URL %q is not an absolute http(s) URL", g.base.ProxyURL))
		}
	}
	if len(probs) == 0 {
		cfg := g.base
		cfg.ServiceRoot, cfg.ProviderASID = "https://check.invalid/"+g.id.ODS+"/STU3/1/gpconnect", "0"
		if _, err := consumer.New(cfg); err != nil {
			probs = append(probs, strings.TrimPrefix(err.Error(), "consumer: "))
		}
	}
	if len(probs) > 0 {
		return fmt.Errorf("the hub's identity: %s", strings.Join(probs, "; "))
	}
	return nil
}

// NewHTTPClient returns an HTTP client for fan-out through one host (the
// SSP): a keep-alive pool with room for every call in flight, and no
// redirects (a GP Connect provider never redirects; following one would
// resend the token elsewhere). It presents no client certificate
// (NewHubTLSClient does). Close its idle connections when done.
func NewHTTPClient(concurrency int) *http.Client {
	return newHTTPClient(concurrency, &tls.Config{MinVersion: tls.VersionTLS12})
}

func newHTTPClient(concurrency int, tc *tls.Config) *http.Client {
	if concurrency <= 0 {
		concurrency = 128
	}
	tr, _ := consumer.NewTransport(consumer.Config{MaxConnsPerHost: concurrency * 2, MaxIdleConnsPerHost: concurrency * 2, TLS: tc})
	return &http.Client{Transport: tr, CheckRedirect: consumer.NoRedirects}
}

// NewHubHTTPClient is NewHTTPClient sized for a Hub with cfg: its pool
// holds every call the Hub lets through at once (MaxInFlight, or 2 ×
// Concurrency if that is more), since through an SSP they all go to one
// host, and a call let through must not then queue in the transport.
func NewHubHTTPClient(cfg Config) *http.Client {
	hc, _ := NewHubTLSClient(cfg, TLSFiles{})
	return hc
}

// NewHubTLSClient is NewHubHTTPClient with the hub's TLS identity: it
// presents the client certificate of files, trusts the servers its CA
// bundle signed, and speaks TLS 1.2 or later (spec §1.4). The fan-out and
// every booking call share it. It fails, naming the file, when a file
// cannot be read or holds no PEM certificate, the key does not match the
// certificate, only one of the two is given, or the certificate has
// expired or is not valid yet: better at startup than as every practice
// failing its handshake.
func NewHubTLSClient(cfg Config, files TLSFiles) (*http.Client, error) {
	tc, err := consumer.ClientTLS(files.CertFile, files.KeyFile, files.CAFile, time.Now())
	if err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return newHTTPClient(max(cfg.Concurrency, (cfg.MaxInFlight+1)/2), tc), nil
}

// TLSFiles names the PEM files of the hub's TLS identity towards the Spine
// Secure Proxy (or providers called directly): spec §1.4 wants TLS 1.2 or
// later with mutual authentication.
type TLSFiles struct {
	// CertFile is the hub's client certificate (its chain may follow it); KeyFile its private key. Both or neither.
	CertFile, KeyFile string
	// CAFile is the bundle of CA certificates trusted for the servers' certificates; empty trusts the system's roots.
	CAFile string
}

// tlsProblem explains a failed TLS handshake, which would otherwise read
// as a bare "remote error: tls: …" or "x509: …" among refused connections.
func tlsProblem(err error) (string, bool) {
	// The verification error alone: the whole error repeats the URL.
	var verr *tls.CertificateVerificationError
	if errors.As(err, &verr) {
		return "TLS: the server's certificate is not trusted (check the hub's CA bundle): " + clip(verr.Err.Error(), 160), true
	}
	// A TLS alert from the server arrives as a "remote error".
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "remote error" {
		d := "TLS: the server refused the handshake: " + op.Err.Error()
		if strings.Contains(op.Err.Error(), "certificate") {
			d += " (it wants a client certificate it trusts; check the hub's client certificate and key)"
		}
		return d, true
	}
	// Under TLS 1.3 the client's side of the handshake ends before the
	// server has judged the client's certificate; a server that refuses it
	// (or its absence) then closes the connection, and the client may see
	// that as a failed write of the request rather than as the alert. A
	// provider or proxy dropping the connection looks the same, so the
	// explanation offers both; a reset while reading the answer is not
	// this and keeps its plain wording.
	var ue *url.Error
	if errors.As(err, &ue) && strings.HasPrefix(ue.URL, "https:") && (errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)) {
		if op := (*net.OpError)(nil); errors.As(err, &op) && op.Op == "write" {
			return "TLS: the provider closed the connection while the request was being sent (" + clip(op.Err.Error(), 80) +
				"); if every call to this endpoint fails so, it may be refusing the hub's client certificate (under TLS 1.3 that can show as a " +
				"broken pipe rather than a TLS alert; check the hub's client certificate and key), otherwise the provider or a proxy dropped the connection", true
		}
	}
	return "", false
}

var _ PracticeClient = (*GPConnect)(nil)

func (g *GPConnect) client(ep *scheduling.Endpoint) (*consumer.Client, error) {
	key := ep.ODS + "\x00" + ep.ServiceRoot + "\x00" + ep.ASID
	g.mu.Lock()
	c := g.clients[key]
	g.mu.Unlock()
	if c != nil {
		return c, nil
	}
	cfg := g.base
	cfg.ServiceRoot, cfg.ProviderASID = ep.ServiceRoot, ep.ASID
	c, err := consumer.New(cfg)
	if err != nil {
		return nil, &CallError{Reason: ReasonDisabled, Detail: "cannot call the endpoint: " + err.Error()}
	}
	g.mu.Lock()
	g.clients[key] = c
	g.mu.Unlock()
	return c, nil
}

func (g *GPConnect) slotQuery(r SlotRequest) consumer.SlotQuery {
	ot := r.OrgType
	if ot == "" {
		ot = g.id.OrgType
	}
	return consumer.SlotQuery{Start: r.Start, End: r.End, ODS: g.id.ODS, OrgType: gpconnect.OrganisationType(ot),
		Includes: consumer.Includes{Practitioner: true, Location: true, Organization: true, HealthcareService: true}}
}

// SlotBundle implements PracticeClient, through the consumer package.
func (g *GPConnect) SlotBundle(ctx context.Context, ep *scheduling.Endpoint, r SlotRequest) (*consumer.SlotResult, error) {
	c, err := g.client(ep)
	if err != nil {
		return nil, err
	}
	return c.SearchSlots(ctx, g.slotQuery(r), callOpts(ctx)...)
}

// SearchSlots implements PracticeClient. It sends exactly the request the
// consumer package would (the same query, headers and token), but reads the
// answer with a small one-pass decoder (wire.go) instead of the full STU3
// types: at 500 practices the typed decode was the fan-out's main cost (about
// 3× slower, 3× the garbage).
func (g *GPConnect) SearchSlots(ctx context.Context, ep *scheduling.Endpoint, r SlotRequest) ([]Slot, []string, error) {
	c, err := g.client(ep)
	if err != nil {
		return nil, nil, err
	}
	id := auth.Identity{Issuer: g.base.Issuer, Audience: ep.ServiceRoot, Device: g.base.Device, Organization: g.base.Organization, Practitioner: g.base.Practitioner}
	if p := practitioner(ctx); p != nil {
		id.Practitioner = *p
	}
	tok, err := auth.Mint(id, gpconnect.ScopeOrgRead, time.Now())
	if err != nil {
		return nil, nil, err
	}
	q := g.slotQuery(r)
	// The range rules of consumer.SearchSlots hold here too (spec §5.2).
	if err := q.Check(); err != nil {
		return nil, nil, err
	}
	u := c.ServiceRoot() + "/Slot?" + q.Values().Encode()
	if g.base.ProxyURL != "" {
		u = strings.TrimRight(g.base.ProxyURL, "/") + "/" + u
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, &CallError{Reason: ReasonProviderError, Detail: "bad service root: " + clip(err.Error(), 100)}
	}
	h := req.Header
	consumer.SetSpineHeaders(h, uuid.NewString(), g.base.ConsumerASID, ep.ASID, gpconnect.SearchSlot)
	h.Set("Authorization", "Bearer "+tok)
	h.Set("Accept", gpconnect.MediaJSON+";charset=utf-8")
	hc := g.base.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, g.noAnswer(ctx, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, consumer.DefaultMaxBody+1))
	if err != nil {
		return nil, nil, transportFailure(ctx, err)
	}
	ct := resp.Header.Get("Content-Type")
	switch {
	case len(body) > consumer.DefaultMaxBody:
		return nil, nil, &CallError{Reason: ReasonProviderError, Status: resp.StatusCode, Detail: "response body too large"}
	case resp.StatusCode >= 400:
		return nil, nil, wireOutcome(resp.StatusCode, ct, body)
	case resp.StatusCode != http.StatusOK:
		return nil, nil, &CallError{Reason: ReasonProviderError, Status: resp.StatusCode, Detail: "unexpected HTTP status " + resp.Status}
	case !jsonType(ct):
		return nil, nil, &CallError{Reason: ReasonProviderError, Status: resp.StatusCode, Detail: fmt.Sprintf("unexpected content type %q", clip(ct, 80))}
	}
	slots, dropped, err := decodeSlots(ep.ODS, body)
	if err != nil {
		return nil, nil, &CallError{Reason: ReasonProviderError, Status: resp.StatusCode, Detail: "malformed response body: " + clip(err.Error(), 160)}
	}
	return slots, dropped, nil
}

// noAnswer is transportFailure for a search this client sent. Through a
// proxy, a failed TLS handshake is the hub's own link to the proxy failing
// (its certificate refused, the proxy's not trusted), the same for every
// practice: ReasonSSP, which says so and opens no practice's circuit.
func (g *GPConnect) noAnswer(ctx context.Context, err error) *CallError {
	ce := transportFailure(ctx, err)
	if g.base.ProxyURL != "" && ce.Reason == ReasonProviderError && isTLSFailure(err) {
		ce.Reason = ReasonSSP
		ce.Detail = "the hub's TLS connection to the Spine Secure Proxy failed: " + ce.Detail
	}
	return ce
}

// viaProxy is err, except that through a proxy a TLS handshake the proxy
// ended is the hub's own link failing, nothing sent to the practice:
// ReasonSSP, as noAnswer says for searches. A connection broken while the
// request was being written is not taken for one here: for a booking, what
// became of a half-sent request is the caller's to weigh.
func (g *GPConnect) viaProxy(err error) error {
	var te *consumer.TransportError
	if err == nil || g.base.ProxyURL == "" || !errors.As(err, &te) || !isHandshakeFailure(te.Err) {
		return err
	}
	d, ok := tlsProblem(te.Err)
	if !ok {
		d = clip(te.Err.Error(), 200)
	}
	return &CallError{Reason: ReasonSSP, Detail: "the hub's TLS connection to the Spine Secure Proxy failed: " + d}
}

// isHandshakeFailure says whether err is a TLS handshake that failed
// before any request could be read: the server's certificate not trusted,
// an alert about the client's certificate, an answer that was not TLS, or
// Go's HTTP/2 wording of a connection never set up. Another alert may
// come after the request was read (a proxy failing mid-answer), so it is
// not one of these.
func isHandshakeFailure(err error) bool {
	var verr *tls.CertificateVerificationError
	var op *net.OpError
	var rec tls.RecordHeaderError
	switch {
	case errors.As(err, &verr), errors.As(err, &rec):
		return true
	case errors.As(err, &op) && op.Op == "remote error":
		return strings.Contains(op.Err.Error(), "certificate")
	}
	return strings.Contains(err.Error(), "http2: client conn could not be established")
}

// isTLSFailure says whether err is a failed TLS handshake, however it
// surfaced: the explained kinds of tlsProblem, or, over HTTP/2, the pooled
// connection that could not be set up (Go's HTTP/2 transport reports later
// requests on such a connection in its own words).
func isTLSFailure(err error) bool {
	_, ok := tlsProblem(err)
	return ok || isHandshakeFailure(err) || strings.Contains(err.Error(), "tls: ")
}

// transportFailure classifies a request that got no (complete) answer.
func transportFailure(ctx context.Context, err error) *CallError {
	var ne net.Error
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return &CallError{Reason: ReasonTimeout, Detail: "no answer before the deadline"}
	}
	if d, ok := tlsProblem(err); ok {
		return &CallError{Reason: ReasonProviderError, Detail: d}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	d := err.Error()
	if i := strings.LastIndex(d, ": "); i >= 0 && strings.Contains(d, "dial") {
		d = d[i+2:]
	}
	return &CallError{Reason: ReasonProviderError, Detail: clip(d, 200)}
}

func jsonType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == gpconnect.MediaJSON || mt == "application/json" || mt == "application/json+fhir")
}

// wireOutcome reads an error answer's OperationOutcome, as Classify reads a consumer.Error.
func wireOutcome(status int, ct string, body []byte) *CallError {
	ce := &CallError{Reason: ReasonProviderError, Status: status, Detail: http.StatusText(status)}
	diag, codings, problem := outcomeIssue(ct, body)
	if problem != "" {
		ce.Detail += "; " + problem
		return ce
	}
	if diag != "" {
		ce.Detail = clip(diag, 300)
	}
	if status < 500 {
		for _, c := range codings {
			if gpconnect.IsSpineSystem(c.System) && gpconnect.PlausibleSpineCode(c.Code) {
				ce.Reason = Reason(gpconnect.ReadSpineCode(c.Code))
				break
			}
			if c.System == gpconnect.SystemSSPResponse {
				ce.Reason = ReasonSSP
				if diag == "" && c.Display != "" {
					ce.Detail = clip(c.Display, 300)
				}
				break
			}
		}
	}
	return ce
}

// outcomeIssue reads the first issue of an error answer's OperationOutcome:
// its diagnostics and its details' codings, or a problem saying why the body
// is not one. Labelled FHIR JSON is read with a small struct (the fan-out's
// error path should not cost a full decode); anything else goes through
// consumer.DecodeOutcome, as the consumer's own calls do, since a provider's
// refusal in XML is as definite as in JSON, and reading it as garbage would
// count against its circuit. Either way only MaxOutcomeBody bytes are read.
func outcomeIssue(ct string, body []byte) (diag string, codings []fhir.Coding, problem string) {
	if len(body) > consumer.MaxOutcomeBody {
		return "", nil, fmt.Sprintf("error body of %d bytes, too large for an OperationOutcome", len(body))
	}
	if !jsonType(ct) {
		if oo := consumer.DecodeOutcome(body); oo != nil && len(oo.Issue) > 0 {
			is := oo.Issue[0]
			if is.Details != nil {
				codings = is.Details.Coding
			}
			return is.Diagnostics, codings, ""
		}
		return "", nil, fmt.Sprintf("body is not FHIR JSON (Content-Type %q)", clip(ct, 60))
	}
	var oo struct {
		ResourceType string `json:"resourceType"`
		Issue        []struct {
			Diagnostics string `json:"diagnostics"`
			Details     struct {
				// Only these three: a stray userSelected of the wrong type
				// must not turn a definite refusal into garbage.
				Coding []struct {
					System  string `json:"system"`
					Code    string `json:"code"`
					Display string `json:"display"`
				} `json:"coding"`
			} `json:"details"`
		} `json:"issue"`
	}
	if json.Unmarshal(body, &oo) != nil || oo.ResourceType != "OperationOutcome" || len(oo.Issue) == 0 {
		return "", nil, "body is not an OperationOutcome"
	}
	for _, c := range oo.Issue[0].Details.Coding {
		codings = append(codings, fhir.Coding{System: c.System, Code: c.Code, Display: c.Display})
	}
	return oo.Issue[0].Diagnostics, codings, ""
}

// FindPatient implements PracticeClient.
func (g *GPConnect) FindPatient(ctx context.Context, ep *scheduling.Endpoint, nhs string) ([]*fhir.Patient, error) {
	c, err := g.client(ep)
	if err != nil {
		return nil, err
	}
	ps, err := c.FindPatient(ctx, nhs, callOpts(ctx)...)
	return ps, g.viaProxy(err)
}

// RegisterPatient implements PracticeClient.
func (g *GPConnect) RegisterPatient(ctx context.Context, ep *scheduling.Endpoint, p *fhir.Patient) (*fhir.Patient, error) {
	c, err := g.client(ep)
	if err != nil {
		return nil, err
	}
	r, err := c.RegisterPatient(ctx, p, callOpts(ctx)...)
	return r, g.viaProxy(err)
}

// Book implements PracticeClient.
func (g *GPConnect) Book(ctx context.Context, ep *scheduling.Endpoint, a *fhir.Appointment) (*consumer.AppointmentResult, error) {
	c, err := g.client(ep)
	if err != nil {
		return nil, err
	}
	r, err := c.Book(ctx, a, callOpts(ctx)...)
	return r, g.viaProxy(err)
}

// ReadAppointment implements PracticeClient.
func (g *GPConnect) ReadAppointment(ctx context.Context, ep *scheduling.Endpoint, id string) (*consumer.AppointmentResult, error) {
	c, err := g.client(ep)
	if err != nil {
		return nil, err
	}
	r, err := c.ReadAppointment(ctx, id, callOpts(ctx)...)
	return r, g.viaProxy(err)
}

// Amend implements PracticeClient.
func (g *GPConnect) Amend(ctx context.Context, ep *scheduling.Endpoint, a *fhir.Appointment) (*consumer.AppointmentResult, error) {
	c, err := g.client(ep)
	if err != nil {
		return nil, err
	}
	r, err := c.Amend(ctx, a, callOpts(ctx)...)
	return r, g.viaProxy(err)
}

// Cancel implements PracticeClient.
func (g *GPConnect) Cancel(ctx context.Context, ep *scheduling.Endpoint, a *fhir.Appointment, reason string) (*consumer.AppointmentResult, error) {
	c, err := g.client(ep)
	if err != nil {
		return nil, err
	}
	r, err := c.Cancel(ctx, a, reason, callOpts(ctx)...)
	return r, g.viaProxy(err)
}

// RetrieveAppointments implements PracticeClient.
func (g *GPConnect) RetrieveAppointments(ctx context.Context, ep *scheduling.Endpoint, patientID string, from, to time.Time) ([]*fhir.Appointment, error) {
	c, err := g.client(ep)
	if err != nil {
		return nil, err
	}
	as, err := c.RetrieveAppointments(ctx, patientID, from, to, callOpts(ctx)...)
	return as, g.viaProxy(err)
}

// slotsFrom flattens a practice's slot search into Slots with what spec
// §5.8 says to show, resolved by resourceType/id. A slot whose schedule is
// missing, or that is not offerable, is dropped and counted. The result is
// sorted by start, then id.
func slotsFrom(ods string, r *consumer.SlotResult) ([]Slot, int) {
	var orgs []orgName
	for _, o := range r.Organizations {
		on := orgName{name: o.Name}
		for _, id := range o.Identifier {
			if gpconnect.IsODSOrganisationSystem(id.System) {
				on.ods = append(on.ods, id.Value)
			}
		}
		orgs = append(orgs, on)
	}
	practiceName := pickPracticeName(ods, orgs)
	fl := newFlattener(ods, len(r.Slots))
	dropped := 0
	for _, fs := range r.Slots {
		sch := r.Schedule(fs)
		if sch == nil {
			dropped++
			continue
		}
		ch := consumer.ExtensionCode(fs.Extension, gpconnect.ExtDeliveryChannel)
		if ch == "" {
			ch = consumer.ExtensionCode(fs.Extension, gpconnect.ExtDeliveryChannelOld)
		}
		slotType := ""
		if len(fs.ServiceType) > 0 {
			slotType = fs.ServiceType[0].Text
		}
		if !fl.add(sch.ID, func() *SlotSchedule { return scheduleInfo(r, sch, practiceName) }, fs.ID, fs.Status, fs.Start, fs.End, ch, slotType) {
			dropped++
		}
	}
	return fl.sorted(), dropped
}

// scheduleInfo resolves a schedule's type, role, location, practitioner and service.
func scheduleInfo(r *consumer.SlotResult, sch *fhir.Schedule, practiceName string) *SlotSchedule {
	si := &SlotSchedule{ScheduleID: sch.ID, PracticeName: practiceName}
	if sch.ServiceCategory != nil {
		si.ScheduleType = sch.ServiceCategory.Text
	}
	for _, x := range sch.Extension {
		if x.URL == gpconnect.ExtPractitionerRole && x.ValueCodeableConcept != nil && len(x.ValueCodeableConcept.Coding) > 0 {
			si.RoleCode = x.ValueCodeableConcept.Coding[0].Code
			si.RoleDisplay = x.ValueCodeableConcept.Coding[0].Display
		}
	}
	if id, ok := consumer.RefID(consumer.ActorRef(sch, "Location"), "Location"); ok {
		si.LocationID = id
		if l := r.Locations[id]; l != nil {
			si.LocationName = l.Name
			si.LocationAddress = addressText(l.Address)
		}
	}
	if id, ok := consumer.RefID(consumer.ActorRef(sch, "Practitioner"), "Practitioner"); ok {
		si.PractitionerID = id
		if p := r.Practitioners[id]; p != nil {
			si.PractitionerName = humanName(p.Name)
			si.PractitionerSex = p.Gender
		}
	}
	if id, ok := consumer.RefID(consumer.ActorRef(sch, "HealthcareService"), "HealthcareService"); ok {
		si.ServiceID = id
		if hs := r.HealthcareServices[id]; hs != nil {
			si.ServiceName = hs.Name
			for _, i := range hs.Identifier {
				if i.System == gpconnect.SystemDOSService {
					si.ServiceDOSID = i.Value
				}
			}
		}
	}
	return si
}

// sortSlots orders slots by start, then practice, then id.
func sortSlots(s []Slot) {
	sort.Slice(s, func(i, j int) bool { return slotLess(&s[i], &s[j]) })
}

func slotLess(a, b *Slot) bool {
	if !a.Start.Equal(b.Start) {
		return a.Start.Before(b.Start)
	}
	if a.ODS != b.ODS {
		return a.ODS < b.ODS
	}
	return a.ID < b.ID
}

func humanName(names []fhir.HumanName) string {
	if len(names) == 0 {
		return ""
	}
	n := names[0]
	parts := append(append(append([]string{}, n.Prefix...), n.Given...), n.Family)
	return strings.TrimSpace(strings.Join(parts, " "))
}

func addressText(a *fhir.Address) string {
	if a == nil {
		return ""
	}
	var keep []string
	for _, p := range append(append([]string{}, a.Line...), a.City, a.PostalCode) {
		if p != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, ", ")
}
