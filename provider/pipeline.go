package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/auth"
	"github.com/slotbridge/slotbridge/internal/fhirmap"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// request is one FHIR request as it moves through the pipeline.
type request struct {
	c           *gin.Context
	start       time.Time
	ods         string
	practice    *scheduling.Organisation
	interaction gpconnect.InteractionID
	claims      *auth.Claims
	fmt         format
	id          string // the {id} path segment
	resourceIDs []string
	status      int
	code        gpconnect.SpineCode
	written     bool
	// durable is the audit record handed to the store for a command
	// (book, amend, cancel, register), written in the command's transaction.
	durable *scheduling.AuditRecord
	// params is the parsed query string (see query), and queryErr why
	// part of it could not be decoded.
	params   url.Values
	queryErr error
	// publicURL is Config.PublicURL: when set, URLs the answer gives are built on it.
	publicURL string
}

// query is the request's query parameters, parsed once.
func (rq *request) query() url.Values {
	if rq.params == nil {
		rq.params, rq.queryErr = parseQuery(rq.c.Request.URL.RawQuery)
	}
	return rq.params
}

// parseQuery decodes a query string as url.ParseQuery does, except that
// only '&' separates pairs: a raw ';' (as in an unencoded
// "_format=application/fhir+xml;charset=utf-8") stays part of its value
// instead of the pair being dropped. A pair that is not valid percent
// encoding is an error rather than silently left out, so a consumer is told
// why its parameter was not seen. The error is the first bad pair's; every
// good pair is still returned, so that _format can be negotiated before the
// query's own fault is reported (spec §3.5 puts query parameters last).
func parseQuery(raw string) (url.Values, error) {
	q := url.Values{}
	var qe *queryError
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		key, val, err := parsePair(pair)
		if err != nil {
			if qe == nil {
				qe = &queryError{msg: err.Error()}
			}
			qe.format = qe.format || key == "_format"
			continue
		}
		q[key] = append(q[key], val)
	}
	if qe == nil {
		return q, nil
	}
	return q, qe
}

// queryError is why a query string could not be decoded; format says a
// _format pair was among the bad ones, a fault of content negotiation
// (spec §3.5 step 5) rather than of the parameters.
type queryError struct {
	msg    string
	format bool
}

func (e *queryError) Error() string { return e.msg }

// parsePair decodes one name=value pair; on error, key is the decoded
// name when that much could be decoded.
func parsePair(pair string) (key, val string, err error) {
	k, v, _ := strings.Cut(pair, "=")
	key, err = url.QueryUnescape(k)
	if err != nil {
		return "", "", fmt.Errorf("parameter name %q is not valid URL encoding", clip(k, 40))
	}
	val, err = url.QueryUnescape(v)
	if err != nil {
		return key, "", fmt.Errorf("the value of parameter %q is not valid URL encoding", clip(key, 40))
	}
	// No parameter of the spec can hold a control character or bytes
	// that are not UTF-8, and PostgreSQL text can hold neither a NUL
	// nor invalid UTF-8: refuse them here rather than let a search
	// value fail in the database.
	if !scheduling.PlainText(key) {
		return "", "", fmt.Errorf("a parameter name holds a control character or is not UTF-8")
	}
	if !scheduling.PlainText(val) {
		return key, "", fmt.Errorf("the value of parameter %q holds a control character or is not UTF-8", clip(key, 40))
	}
	return key, val, nil
}

// serviceRoot is this practice's absolute service root URL ([base] in the
// spec): on Config.PublicURL when set, else from the Host the consumer
// addressed, where TLS, or a terminating proxy that says so in
// X-Forwarded-Proto, makes it https.
func (rq *request) serviceRoot() string {
	if rq.publicURL != "" {
		return rq.publicURL + "/" + rq.ods + "/STU3/1/gpconnect"
	}
	r := rq.c.Request
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/" + rq.ods + "/STU3/1/gpconnect"
}

// noteResource records a resource id for the audit trail.
func (rq *request) noteResource(typ string, id string) {
	rq.resourceIDs = append(rq.resourceIDs, typ+"/"+id)
}

// handler serves one interaction after the pipeline has passed.
type handler func(s *Server, rq *request) error

var handlers = map[gpconnect.InteractionID]handler{}

// serveFHIR runs the §3.5 pipeline then the interaction's handler.
func (s *Server) serveFHIR(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), s.cfg.RequestTimeout)
	defer cancel()
	c.Request = c.Request.WithContext(ctx)
	rq := &request{c: c, start: time.Now(), ods: c.Param("ods"), fmt: formatJSON, publicURL: s.cfg.PublicURL}
	c.Header("Cache-Control", "no-store")
	if f, ok := negotiate(c.Request, rq.query()); ok {
		rq.fmt = f
	}
	defer s.record(rq)
	if s.cfg.ClientCert != nil {
		if st, why := s.cfg.ClientCert(c.Request); st != 0 {
			c.Header("Connection", "close")
			s.writeError(rq, failStatus(st, gpconnect.AccessDenied, "%s", why))
			return
		}
	}
	if err := s.pipeline(rq); err != nil {
		s.writeError(rq, err)
	}
}

func (s *Server) pipeline(rq *request) error {
	r := rq.c.Request
	ctx := r.Context()
	org, err := s.practice(ctx, rq.ods)
	if err != nil || !org.IsPractice() {
		if err != nil && scheduling.ErrorCode(err) != scheduling.ENOTFOUND {
			return err
		}
		return failStatus(http.StatusNotFound, gpconnect.NoRecordFound, "No GP Connect service root for ODS code %q", rq.ods)
	}
	rq.practice = org
	m, ok := resolve(strings.TrimPrefix(rq.c.Param("rest"), "/"))
	if !ok {
		return failStatus(http.StatusNotFound, gpconnect.NoRecordFound, "Unknown resource path %q", r.URL.Path)
	}
	rq.id = m.id
	allowed, ok := m.route.verbs[r.Method]
	if !ok {
		// §9.2 lists a wrong HTTP verb under 400 BAD_REQUEST (not 405).
		return fail(gpconnect.BadRequest, "Method %s is not supported on this path", r.Method)
	}

	// 1. SSP headers.
	h := r.Header
	// Each of these carries one value; two (a proxy adding its own, or a
	// client's bug) would let the checks below read one and the audit the
	// same one while the request meant another, so a repeat is refused.
	for i, key := range singleHeaderKeys {
		if len(h[key]) > 1 {
			return fail(gpconnect.BadRequest, "The %s header is sent more than once", singleHeaders[i])
		}
	}
	if strings.TrimSpace(h.Get(gpconnect.HeaderTraceID)) == "" {
		return fail(gpconnect.BadRequest, "Ssp-TraceID header is missing or empty")
	}
	if strings.TrimSpace(h.Get(gpconnect.HeaderFrom)) == "" {
		return fail(gpconnect.BadRequest, "Ssp-From header is missing or empty")
	}
	to := strings.TrimSpace(h.Get(gpconnect.HeaderTo))
	if to == "" {
		return fail(gpconnect.BadRequest, "Ssp-To header is missing or empty")
	}
	if to != org.ASID {
		return fail(gpconnect.BadRequest, "Ssp-To does not match this endpoint's ASID")
	}
	// 2. Interaction ID, known and consistent with verb and path.
	iid := gpconnect.InteractionID(strings.TrimSpace(h.Get(gpconnect.HeaderInteractionID)))
	if iid == "" {
		return fail(gpconnect.BadRequest, "Ssp-InteractionID header is missing or empty")
	}
	if !iid.Known() {
		return fail(gpconnect.BadRequest, "Ssp-InteractionID %q is not a known interaction", string(iid))
	}
	if !slices.Contains(allowed, iid) {
		return fail(gpconnect.BadRequest, "Ssp-InteractionID does not match the request (%s %q)", r.Method, r.URL.Path)
	}
	rq.interaction = iid
	// 3. Authorization present, Bearer, and one token (spec §2.1's
	// Authorization faults, all of them before content negotiation).
	authz := h.Get("Authorization")
	if _, err := auth.BearerToken(authz); err != nil {
		return err
	}
	// 4. Content-Type (required on writes; on any request a format the
	// server does not support is 415, spec 2.1, which names no method:
	// the DSTU2-era pack's FhirBase scenarios sent application/xml on a GET),
	// then Accept/_format.
	if ct := h.Get("Content-Type"); ct == "" {
		if r.Method == http.MethodPost || r.Method == http.MethodPut {
			return failStatus(http.StatusUnsupportedMediaType, gpconnect.BadRequest, "Content-Type header is required on %s", r.Method)
		}
	} else if _, ok := parseMedia(ct); !ok {
		return failStatus(http.StatusUnsupportedMediaType, gpconnect.BadRequest, "Unsupported Content-Type %q", ct)
	}
	// A compressed body would otherwise reach the parser as bytes and be
	// called an invalid resource; the encoding is what is unsupported
	// (RFC 7694 §3: 415).
	for _, ce := range h.Values("Content-Encoding") {
		for _, c := range strings.Split(ce, ",") {
			if c = strings.TrimSpace(c); c != "" && !strings.EqualFold(c, "identity") {
				// RFC 9110 §15.5.16: say which encodings a request may use.
				rq.c.Header("Accept-Encoding", "identity")
				return failStatus(http.StatusUnsupportedMediaType, gpconnect.BadRequest, "Content-Encoding %q is not supported: send the body uncompressed", clip(c, 40))
			}
		}
	}
	q := rq.query()
	if qe := (*queryError)(nil); errors.As(rq.queryErr, &qe) && qe.format {
		return fail(gpconnect.BadRequest, "_format could not be decoded (URL encoding or characters)")
	}
	if len(q["_format"]) > 1 {
		return fail(gpconnect.BadRequest, "_format may be given only once")
	}
	if _, ok := negotiate(r, q); !ok {
		return failStatus(http.StatusUnsupportedMediaType, gpconnect.BadRequest, "Unsupported response format requested (Accept or _format)")
	}
	// 5. JWT and 6. scope.
	claims, err := s.verifier.Verify(authz)
	if err != nil {
		return err
	}
	rq.claims = claims
	if err := auth.CheckScope(claims, iid.Scope()); err != nil {
		return err
	}
	// 7. Enablement switches.
	if !org.GPConnectEnabled {
		return fail(gpconnect.AccessDenied, "GP Connect is not enabled at this practice")
	}
	if needsAppointments(iid) && !org.AppointmentsEnabled {
		return fail(gpconnect.AccessDenied, "Appointment Management is not enabled at this practice")
	}
	// 8. Query parameters: one that cannot be decoded is the request's
	// fault whichever parameter it is (an ignored one included).
	if rq.queryErr != nil {
		return fail(gpconnect.BadRequest, "The query string could not be decoded: %v", rq.queryErr)
	}
	hd := handlers[iid]
	if hd == nil {
		return fail(gpconnect.NotImplemented, "This interaction is not implemented")
	}
	return hd(s, rq)
}

// singleHeaders are the request headers that carry exactly one value, and
// singleHeaderKeys their canonical forms (two of the names are not
// canonical, and the check runs on every request).
var (
	singleHeaders    = [...]string{gpconnect.HeaderTraceID, gpconnect.HeaderFrom, gpconnect.HeaderTo, gpconnect.HeaderInteractionID, "Authorization"}
	singleHeaderKeys = func() (keys [len(singleHeaders)]string) {
		for i, h := range singleHeaders {
			keys[i] = textproto.CanonicalMIMEHeaderKey(h)
		}
		return keys
	}()
)

func needsAppointments(iid gpconnect.InteractionID) bool {
	switch iid {
	case gpconnect.SearchSlot, gpconnect.CreateAppointment, gpconnect.ReadAppointment, gpconnect.UpdateAppointment,
		gpconnect.CancelAppointment, gpconnect.SearchPatientAppointment:
		return true
	}
	return false
}

// readBody reads a bounded request body and decodes it as a resource of type want.
// Anything that is not such a resource is 422 INVALID_RESOURCE.
func (s *Server) readBody(rq *request, want string) (fhir.Resource, []byte, error) {
	tooLarge := func() error {
		return failStatus(http.StatusRequestEntityTooLarge, gpconnect.BadRequest, "Request body is larger than %d bytes", s.cfg.MaxBody)
	}
	if rq.c.Request.ContentLength > s.cfg.MaxBody {
		// Said at once, rather than after waiting (up to the read timeout)
		// for a body that would be refused anyway.
		return nil, nil, tooLarge()
	}
	body, err := io.ReadAll(http.MaxBytesReader(rq.c.Writer, rq.c.Request.Body, s.cfg.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, nil, tooLarge()
		}
		return nil, nil, fail(gpconnect.BadRequest, "Request body could not be read")
	}
	in, _ := parseMedia(rq.c.Request.Header.Get("Content-Type"))
	var res fhir.Resource
	if in == formatXML {
		res, err = fhir.DecodeXMLStrict(body, want)
	} else {
		res, err = fhir.DecodeJSONStrict(body, want)
	}
	if err != nil {
		// A cancellation reason with no value is an empty reason, however
		// the consumer's library wrote it (spec §7.3: INVALID_PARAMETER).
		var ee *fhir.EmptyExtensionError
		if rq.interaction == gpconnect.CancelAppointment && errors.As(err, &ee) && ee.URL == gpconnect.ExtCancellationReason && !ee.Nested {
			return nil, nil, fail(gpconnect.InvalidParameter, "The cancellation reason is empty")
		}
		return nil, nil, fail(gpconnect.InvalidResource, "The request body is not a valid %s resource: %s", want, clip(fhir.Problem(err), 200))
	}
	return res, body, nil
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// encode renders a resource in the negotiated format.
func encode(f format, r fhir.Resource) ([]byte, error) {
	if f == formatXML {
		return fhir.MarshalXML(r)
	}
	return json.Marshal(r)
}

// write sends a resource with the given status.
func (s *Server) write(rq *request, status int, r fhir.Resource) {
	body, err := encode(rq.fmt, r)
	if err != nil {
		s.writeError(rq, fmt.Errorf("encode %s: %w", r.GetResourceType(), err))
		return
	}
	rq.status, rq.written = status, true
	writeBody(rq.c.Writer, rq.c.Request, status, rq.fmt.contentType(), body)
}

// writeVersioned sends the resource a read asked for (rq.id, which the reads
// accept only in canonical form), noted for the audit, with its ETag and
// Content-Location.
func (s *Server) writeVersioned(rq *request, r fhir.Resource, version int64) {
	typ, v := r.GetResourceType(), strconv.FormatInt(version, 10)
	rq.noteResource(typ, rq.id)
	setVersionHeaders(rq, typ, rq.id, v)
	s.write(rq, http.StatusOK, r)
}

// setVersionHeaders sets the headers of a response holding one version of a
// resource: ETag (W/"vid", spec 2.2) and Content-Location, which the spec's
// response table requires on read, create and update. It names the version
// returned, as Location does on create. ETag is written under its RFC 9110
// spelling, not Go's canonical "Etag": header names are case-insensitive,
// but the test pack looks the header up in a case-sensitive .NET
// dictionary by the name "ETag", as some consumers may.
func setVersionHeaders(rq *request, typ, id, version string) {
	h := rq.c.Writer.Header()
	delete(h, "Etag")
	h["ETag"] = []string{`W/"` + version + `"`}
	h.Set("Content-Location", rq.serviceRoot()+"/"+typ+"/"+id+"/_history/"+version)
}

// writeError is the one error adapter: any error becomes an OperationOutcome.
func (s *Server) writeError(rq *request, err error) {
	status, code, diag, internal := classify(err)
	if internal {
		s.log.Error("internal error", "err", err, "path", rq.c.Request.URL.Path, "trace", rq.c.Request.Header.Get(gpconnect.HeaderTraceID))
	}
	rq.code = code
	oo := fhirmap.Outcome(code, diag)
	if status == http.StatusUnsupportedMediaType {
		// §9.2: a 415 is issue type not-supported whatever its Spine code.
		oo.Issue[0].Code = "not-supported"
	}
	body, encErr := encode(rq.fmt, oo)
	ct := rq.fmt.contentType()
	if encErr != nil {
		body, _ = json.Marshal(oo)
		ct = formatJSON.contentType()
	}
	rq.status, rq.written = status, true
	writeBody(rq.c.Writer, rq.c.Request, status, ct, body)
}

// recoverer turns a panic into a 500 OperationOutcome without leaking internals.
func (s *Server) recoverer() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic", "value", fmt.Sprint(v), "path", c.Request.URL.Path, "stack", string(debug.Stack()))
				if !c.Writer.Written() {
					rq := &request{c: c, fmt: formatJSON}
					s.writeError(rq, errors.New("panic"))
				}
				c.Abort()
			}
		}()
		c.Next()
	}
}

// record appends the request to the audit trail, success or failure. A
// command whose change committed already has its record, written in the
// same transaction (see durableAudit), so it is queued here only when the
// answer differs from the one recorded, e.g. the commit succeeded but the
// response could not be encoded: then both rows exist.
func (s *Server) record(rq *request) {
	if v := recover(); v != nil {
		if !rq.written {
			s.log.Error("panic", "value", fmt.Sprint(v), "path", rq.c.Request.URL.Path, "stack", string(debug.Stack()))
			s.writeError(rq, errors.New("panic"))
		}
	}
	if d := rq.durable; d != nil && d.Status == rq.status && rq.code == "" {
		return
	}
	s.audit.add(s.auditRecord(rq))
}

// durableAudit is the audit record of a command that will answer status if
// its transaction commits; the store inserts it in that transaction, so no
// crash can leave a committed booking, amendment, cancellation or
// registration without its record. The store fills in the resource id.
func (s *Server) durableAudit(rq *request, status int) *scheduling.AuditRecord {
	a := s.auditRecord(rq)
	a.Status, a.SpineCode, a.ResourceIDs, a.Duration = status, "", "", 0
	rq.durable = &a
	return &a
}

// auditRecord describes the request as it stands.
func (s *Server) auditRecord(rq *request) scheduling.AuditRecord {
	h := rq.c.Request.Header
	a := scheduling.AuditRecord{At: rq.start, TraceID: clip(h.Get(gpconnect.HeaderTraceID), 100), Interaction: string(rq.interaction),
		Method: rq.c.Request.Method, Path: clip(rq.c.Request.URL.Path, 300), PracticeODS: clip(rq.ods, 20),
		FromASID: clip(h.Get(gpconnect.HeaderFrom), 40), ToASID: clip(h.Get(gpconnect.HeaderTo), 40),
		Status: rq.status, SpineCode: string(rq.code), ResourceIDs: strings.Join(rq.resourceIDs, " "), Duration: time.Since(rq.start)}
	if rq.interaction == "" {
		a.Interaction = clip(h.Get(gpconnect.HeaderInteractionID), 120)
	}
	if c := rq.claims; c != nil {
		a.RequestingOrg = c.OrgODS()
		a.RequestingUser = c.PractitionerSDSID()
		a.RequestingDevice = c.DeviceID()
	}
	return a
}
