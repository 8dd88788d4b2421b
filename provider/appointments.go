package provider

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/fhirmap"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// dateRe is a retrieve bound: a date without a time (spec §7.4).
var dateRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

func init() {
	handlers[gpconnect.CreateAppointment] = (*Server).book
	handlers[gpconnect.ReadAppointment] = (*Server).readAppointment
	handlers[gpconnect.UpdateAppointment] = (*Server).updateAppointment
	handlers[gpconnect.CancelAppointment] = (*Server).updateAppointment
	handlers[gpconnect.SearchPatientAppointment] = (*Server).retrieveAppointments
}

// writeAppointment sends an appointment with ETag, honouring Prefer: return=minimal.
func (s *Server) writeAppointment(rq *request, status int, a *scheduling.Appointment) {
	id, v := strconv.FormatInt(a.ID, 10), strconv.FormatInt(a.Version, 10)
	rq.noteResource("Appointment", id)
	setVersionHeaders(rq, "Appointment", id, v)
	h := rq.c.Writer.Header()
	h.Set("Last-Modified", a.Updated.UTC().Format(http.TimeFormat))
	if status == http.StatusCreated {
		h.Set("Location", h.Get("Content-Location"))
	}
	if writeMinimal(rq, status) {
		return
	}
	s.write(rq, status, fhirmap.Appointment(a, s.filtering(rq.practice) == scheduling.FilteringEnabled))
}

// writeMinimal answers status with no body when the request asked for
// Prefer: return=minimal (spec §2.1, on every POST and PUT), and reports
// whether it did.
func writeMinimal(rq *request, status int) bool {
	if !strings.Contains(strings.ToLower(rq.c.Request.Header.Get("Prefer")), "return=minimal") {
		return false
	}
	rq.c.Writer.Header().Set("Cache-Control", "no-store")
	rq.status, rq.written = status, true
	rq.c.Writer.WriteHeader(status)
	return true
}

func (s *Server) book(rq *request) error {
	res, _, err := s.readBody(rq, "Appointment")
	if err != nil {
		return err
	}
	req, err := fhirmap.BookRequest(res.(*fhir.Appointment), rq.practice.ID, s.now())
	if err != nil {
		return err
	}
	req.ConsumerASID = rq.c.Request.Header.Get(gpconnect.HeaderFrom)
	req.TraceID = rq.c.Request.Header.Get(gpconnect.HeaderTraceID)
	req.Audit = s.durableAudit(rq, http.StatusCreated)
	// Unknown slots, broken access rules and a past start are EINVALID (422
	// INVALID_RESOURCE); a slot no longer free is ECONFLICT (409 DUPLICATE_REJECTED).
	a, created, err := s.store.Book(rq.c.Request.Context(), req)
	if err != nil {
		return err
	}
	if !created {
		rq.c.Header("X-Slotbridge-Replayed", "true")
	}
	s.writeAppointment(rq, http.StatusCreated, a)
	return nil
}

// visible reports whether an appointment is in scope for read and update:
// Read and Retrieve cover appointments from today on (today counts as future).
func (s *Server) visible(a *scheduling.Appointment) bool {
	return !a.Start.Before(scheduling.LocalMidnight(s.now()))
}

func (s *Server) loadAppointment(rq *request) (*scheduling.Appointment, error) {
	id, ok := logicalID(rq.id)
	if !ok {
		return nil, fail(gpconnect.NoRecordFound, "No appointment with id %q", clip(rq.id, 64))
	}
	ctx := rq.c.Request.Context()
	a, err := s.store.AppointmentByID(ctx, rq.practice.ID, id)
	if err != nil {
		return nil, err
	}
	if err := complete(a); err != nil {
		return nil, err
	}
	// Requests about an S-flagged patient are treated as "patient not found"
	// in every Appointment interaction (spec §7, information governance).
	p, err := s.store.PatientByID(ctx, rq.practice.ID, a.PatientID)
	if scheduling.ErrorCode(err) == scheduling.ENOTFOUND {
		// The appointment names a patient the practice does not hold: its data
		// are too incomplete for the profile (spec §7). %v on purpose: this is an
		// internal error (500), not the patient's not-found.
		return nil, fmt.Errorf("appointment %d: patient %d: %v", a.ID, a.PatientID, err)
	}
	if err != nil {
		return nil, err // e.g. the database is unavailable: classified as such
	}
	if p.Sensitive {
		return nil, fail(gpconnect.PatientNotFound, "No patient for appointment %s", rq.id)
	}
	return a, nil
}

func (s *Server) readAppointment(rq *request) error {
	a, err := s.loadAppointment(rq)
	if err != nil {
		return err
	}
	if !s.visible(a) {
		return fail(gpconnect.NoRecordFound, "Appointment %s is in the past and out of scope", rq.id)
	}
	s.writeAppointment(rq, http.StatusOK, a)
	return nil
}

// ifMatch applies an update's If-Match header to the appointment's current
// version (spec §2.1, §7.2, §7.3) and returns the version to hand the store.
// Absent, or "*" (RFC 9110 §13.1.1: matches any current representation, and
// the appointment exists), it is scheduling.AnyVersion. Otherwise one of the
// tags it lists must name the current version: anything else, a malformed
// tag, an empty header or W/"0" included (versions start at 1), is 409
// FHIR_CONSTRAINT_VIOLATION.
func ifMatch(h http.Header, current int64) (int64, error) {
	vals := h.Values("If-Match")
	if len(vals) == 0 {
		return scheduling.AnyVersion, nil
	}
	// If-Match is "*" or a list of entity tags (RFC 9110 §13.1.1), over one
	// header line or several; the request may go ahead when any tag names
	// the current version. A header present but naming none matches nothing.
	// A malformed tag anywhere makes the whole header malformed.
	var named []string
	matched, star := false, false
	for _, v := range vals {
		for _, tag := range strings.Split(v, ",") {
			tag = strings.TrimSpace(tag)
			switch n, ok := etagVersion(tag); {
			case tag == "":
			case tag == "*":
				star = true
			case !ok:
				return 0, fail(gpconnect.ConstraintViolation, "If-Match %q does not name a version of this resource", clip(tag, 40))
			default:
				matched = matched || (n == current && n != scheduling.AnyVersion)
				named = append(named, strconv.FormatInt(n, 10))
			}
		}
	}
	switch {
	case star && len(named) == 0:
		return scheduling.AnyVersion, nil
	case star:
		return 0, fail(gpconnect.ConstraintViolation, "If-Match is either * or a list of versions, not both")
	case matched:
		return current, nil
	case len(named) == 0:
		return 0, fail(gpconnect.ConstraintViolation, "If-Match is present but names no version")
	}
	return 0, fail(gpconnect.ConstraintViolation, "If-Match names version %s but the current version is %d", clip(strings.Join(named, ", "), 80), current)
}

// etagVersion reads one entity tag, W/"n" or "n" (a bare n is taken too, as
// some clients send it), as a version number. Tags compare as strings (RFC
// 9110 §8.8.3.2), so only n written as the server writes it matches: W/"01"
// and W/"+1" name no version.
func etagVersion(tag string) (int64, bool) {
	tag = strings.TrimPrefix(tag, "W/")
	if len(tag) >= 2 && tag[0] == '"' && tag[len(tag)-1] == '"' {
		tag = tag[1 : len(tag)-1]
	}
	n, err := strconv.ParseInt(tag, 10, 64)
	return n, err == nil && n >= 0 && strconv.FormatInt(n, 10) == tag
}

func (s *Server) updateAppointment(rq *request) error {
	res, _, err := s.readBody(rq, "Appointment")
	if err != nil {
		return err
	}
	sent := res.(*fhir.Appointment)
	// FHIR update: another id than the URL's is 400. None at all is one of
	// the differences CompareForUpdate reports (422): the test pack sends a
	// brand-new appointment, without an id, and expects INVALID_RESOURCE.
	if sent.ID != "" && sent.ID != rq.id {
		return fail(gpconnect.BadRequest, "The id in the body (%q) does not match the URL", clip(sent.ID, 64))
	}
	// The appointment must exist (404) before If-Match is weighed against it (409).
	cur, err := s.loadAppointment(rq)
	if err != nil {
		return err
	}
	expected, err := ifMatch(rq.c.Request.Header, cur.Version)
	if err != nil {
		return err
	}
	ed, err := fhirmap.CompareForUpdate(sent, cur)
	if err != nil {
		return err
	}
	cancel := rq.interaction == gpconnect.CancelAppointment
	if cur.Status == scheduling.ApptCancelled && !cancel {
		return fail(gpconnect.InvalidResource, "The appointment is cancelled and cannot be changed")
	}
	if len(ed.CancelURLs) > 0 {
		return fail(gpconnect.InvalidResource, "Unknown extension %q", clip(ed.CancelURLs[0], 120))
	}
	now := s.now()
	ctx := rq.c.Request.Context()
	if cancel {
		// serviceType and serviceCategory are not compared: like an amend, a
		// cancel ignores them (spec §7.2, §10.11).
		switch {
		case ed.Status != scheduling.ApptCancelled:
			return fail(gpconnect.InvalidResource, "A cancel must set status to cancelled")
		// A comment left out is kept, not cleared (§10.11: allow optional
		// elements the consumer omitted); on an amend, leaving it out clears it.
		case ed.Description != cur.Description || (ed.Comment != "" && ed.Comment != cur.Comment):
			return fail(gpconnect.InvalidResource, "A cancel may change only status and the cancellation reason")
		case ed.CancelReason == nil:
			return fail(gpconnect.InvalidResource, "The cancellation reason extension is required")
		case strings.TrimSpace(*ed.CancelReason) == "":
			return fail(gpconnect.InvalidParameter, "The cancellation reason must not be empty")
		}
		if cur.Status == scheduling.ApptCancelled {
			// Cancelling again is not covered by the spec (7.3). The body has
			// passed every check a first cancel makes; like the reference
			// provider, answer with the appointment unchanged: no new
			// version, the first reason kept, no slot freed twice.
			if !s.visible(cur) {
				return fail(gpconnect.InvalidResource, "The appointment is in the past")
			}
			s.writeAppointment(rq, http.StatusOK, cur)
			return nil
		}
		a, err := s.store.Cancel(ctx, rq.practice.ID, cur.ID, expected, clipReason(*ed.CancelReason), now, s.durableAudit(rq, http.StatusOK))
		if err != nil {
			// A cancel that lost a race with another cancel answers as one
			// that came second does (above): 200 with the appointment as
			// cancelled. Its own transaction, audit record included, rolled
			// back, so the answer is audited like any query.
			if code := scheduling.ErrorCode(err); expected == scheduling.AnyVersion && (code == scheduling.EINVALID || code == scheduling.ESTALE) {
				if again, lerr := s.loadAppointment(rq); lerr == nil && again.Status == scheduling.ApptCancelled && s.visible(again) {
					rq.durable = nil
					s.writeAppointment(rq, http.StatusOK, again)
					return nil
				}
			}
			return err
		}
		s.writeAppointment(rq, http.StatusOK, a)
		return nil
	}
	switch {
	case ed.Status != scheduling.ApptBooked:
		return fail(gpconnect.InvalidResource, "An amend must keep status booked")
	case ed.CancelReason != nil:
		return fail(gpconnect.InvalidResource, "The cancellation reason must not be sent on an amend")
	}
	if err := fhirmap.CheckAmendText(ed); err != nil {
		return err
	}
	a, err := s.store.Amend(ctx, rq.practice.ID, cur.ID, expected, ed.Description, ed.Comment, now, s.durableAudit(rq, http.StatusOK))
	if err != nil {
		return err
	}
	s.writeAppointment(rq, http.StatusOK, a)
	return nil
}

// complete reports, as an internal error (500), an appointment whose stored
// data cannot make a valid GPConnect-Appointment-1: no patient, location,
// description, start or end (spec §7).
func complete(a *scheduling.Appointment) error {
	if a.PatientID == 0 || a.LocationID == 0 || a.Description == "" || a.Start.Unix() <= 0 || a.End.Unix() <= 0 {
		return fmt.Errorf("appointment %d is too incomplete for GPConnect-Appointment-1", a.ID)
	}
	return nil
}

// clipReason bounds the stored cancellation reason, the one field the spec lets providers truncate.
func clipReason(s string) string {
	const max = 2000
	if len(s) <= max {
		return s
	}
	// Cut at a character boundary so the stored reason stays valid UTF-8.
	n := max
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func (s *Server) retrieveAppointments(rq *request) error {
	// Parameters before the patient (spec §3.5 step 9: parameters, then
	// business rules), whatever the id looks like: a malformed id is only
	// a patient that cannot be found.
	from, to, err := parseRetrieveRange(rq.query()["start"], s.now())
	if err != nil {
		return err
	}
	id, ok := logicalID(rq.id)
	if !ok {
		return patientNotFound(rq.id)
	}
	ctx := rq.c.Request.Context()
	p, err := s.store.PatientByID(ctx, rq.practice.ID, id)
	if scheduling.ErrorCode(err) == scheduling.ENOTFOUND {
		return patientNotFound(rq.id)
	}
	if err != nil {
		return err
	}
	if p.Sensitive {
		return patientNotFound(rq.id)
	}
	appts, err := s.store.PatientAppointments(ctx, scheduling.AppointmentFilter{PracticeID: rq.practice.ID, PatientID: id, From: from, To: to})
	if err != nil {
		return err
	}
	b := fhir.NewSearchset()
	filtering := s.filtering(rq.practice) == scheduling.FilteringEnabled
	for _, a := range appts {
		// One appointment too incomplete for the profile fails the whole bundle (spec §7).
		if err := complete(a); err != nil {
			return err
		}
		b.Entry = append(b.Entry, fhir.BundleEntry{Resource: fhirmap.Appointment(a, filtering)})
		rq.noteResource("Appointment", strconv.FormatInt(a.ID, 10))
	}
	s.write(rq, http.StatusOK, b)
	return nil
}

// parseRetrieveRange applies spec §7.4: start twice, one ge and one le, dates
// only, not in the past, upper not before lower. It returns [from, to).
func parseRetrieveRange(vs []string, now time.Time) (time.Time, time.Time, error) {
	if len(vs) != 2 {
		return time.Time{}, time.Time{}, fail(gpconnect.InvalidParameter, "start must be sent twice: once with ge and once with le")
	}
	var ge, le string
	for _, v := range vs {
		switch {
		case strings.HasPrefix(v, "ge") && ge == "":
			ge = v[2:]
		case strings.HasPrefix(v, "le") && le == "":
			le = v[2:]
		default:
			return time.Time{}, time.Time{}, fail(gpconnect.InvalidParameter, "start must be sent once with ge and once with le")
		}
	}
	parse := func(s string) (time.Time, error) {
		if !dateRe.MatchString(s) {
			return time.Time{}, fail(gpconnect.InvalidParameter, "start values must be dates (YYYY-MM-DD) without a time")
		}
		t, err := time.ParseInLocation("2006-01-02", s, scheduling.London)
		if err != nil {
			return time.Time{}, fail(gpconnect.InvalidParameter, "invalid date %q", s)
		}
		return t, nil
	}
	from, err := parse(ge)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	upper, err := parse(le)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	today := scheduling.LocalMidnight(now)
	if from.Before(today) || upper.Before(today) {
		return time.Time{}, time.Time{}, fail(gpconnect.InvalidParameter, "The search range must not include dates in the past; only future appointments are returned")
	}
	if upper.Before(from) {
		return time.Time{}, time.Time{}, fail(gpconnect.InvalidParameter, "The upper bound of the range is before the lower bound")
	}
	return from, scheduling.AddDaysLocal(upper, 1), nil
}
