package conformance

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/slotbridge/slotbridge/consumer"
	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
)

// check is one conformance check.
type check struct {
	group, name string
	run         func(ctx context.Context, e *env) error
}

// env is the state shared by the checks of one run: the client, the data
// map and lazily built fixtures (the bookable patient, a slot search, bookings).
type env struct {
	c *consumer.Client
	d Data
	// now is when the run began: fixtures are cut from it.
	now time.Time

	patientID string
	slots     *consumer.SlotResult
	used      map[string]bool
	booked    map[string]*consumer.AppointmentResult // by appointment id
	fixtures  map[string]*consumer.AppointmentResult // by purpose
	// fixtureAppt holds request bodies shared between checks.
	fixtureAppt map[string]*fhir.Appointment
	registered  string
}

type skipError struct{ reason string }

func (s *skipError) Error() string { return "skipped: " + s.reason }

func skipf(format string, args ...any) error { return &skipError{reason: fmt.Sprintf(format, args...)} }

func failf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// isSkip reports whether err is a skip (so a fixture failure propagates as one).
func isSkip(err error) bool {
	var s *skipError
	return errors.As(err, &s)
}

// fixture wraps a fixture failure: the check cannot run, which is a skip
// (the check that exercises the fixture's interaction reports the failure).
func fixture(what string, err error) error {
	if isSkip(err) {
		return err
	}
	return skipf("%s failed: %v", what, err)
}

// wantRefusal checks that err is a provider refusal with status and one of
// codes, carrying a GPConnect-OperationOutcome-1 shaped body.
func wantRefusal(err error, status int, codes ...gpconnect.SpineCode) error {
	want := fmt.Sprintf("%d %s", status, joinCodes(codes))
	if err == nil {
		return failf("succeeded, want %s", want)
	}
	var ce *consumer.Error
	if !errors.As(err, &ce) {
		return failf("want %s, got %v", want, err)
	}
	if ce.Outcome == nil {
		return failf("HTTP %d without an OperationOutcome (%s), want %s", ce.Status, ce.BodyProblem, want)
	}
	match := false
	for _, c := range codes {
		match = match || ce.HasCode(c)
	}
	if ce.Status != status || !match {
		return failf("got %d %s (%s), want %s", ce.Status, orNone(string(ce.Code)), clipS(ce.Diagnostics, 160), want)
	}
	return outcomeShape(ce.Outcome)
}

func joinCodes(cs []gpconnect.SpineCode) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = string(c)
	}
	return strings.Join(s, " or ")
}

func orNone(s string) string {
	if s == "" {
		return "(no Spine code)"
	}
	return s
}

func clipS(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// outcomeShape applies spec §9.1 to an OperationOutcome.
func outcomeShape(oo *fhir.OperationOutcome) error {
	if oo.Meta == nil || !slices.Contains(oo.Meta.Profile, string(gpconnect.ProfileOperationOutcome)) {
		return failf("OperationOutcome lacks meta.profile %s", gpconnect.ProfileOperationOutcome)
	}
	if len(oo.Issue) == 0 {
		return failf("OperationOutcome has no issue")
	}
	is := oo.Issue[0]
	if is.Severity != "error" {
		return failf("issue.severity %q, want error", is.Severity)
	}
	if is.Details == nil || len(is.Details.Coding) != 1 {
		return failf("issue.details must have exactly one coding")
	}
	cd := is.Details.Coding[0]
	if cd.System != gpconnect.SystemSpineError || cd.Code == "" || cd.Display == "" {
		return failf("issue.details.coding %+v: want system %s with code and display", cd, gpconnect.SystemSpineError)
	}
	switch gpconnect.SpineCode(cd.Code) {
	case gpconnect.InvalidResource, gpconnect.InvalidParameter, gpconnect.ReferenceNotFound, gpconnect.InternalServerError:
		if strings.TrimSpace(is.Diagnostics) == "" {
			return failf("%s needs diagnostics (spec §9.1)", cd.Code)
		}
	}
	return nil
}

// wantOK turns an unexpected error into a failure with its detail.
func wantOK(what string, err error) error {
	if err != nil {
		return failf("%s: %v", what, err)
	}
	return nil
}

// hasProfile checks meta.profile and meta.versionId.
func hasProfile(what string, m *fhir.Meta, p gpconnect.Profile) error {
	if m == nil || !slices.Contains(m.Profile, string(p)) {
		return failf("%s lacks meta.profile %s", what, p)
	}
	if m.VersionID == "" {
		return failf("%s lacks meta.versionId", what)
	}
	return nil
}

var localDateTime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+0[01]:00$`)

// localTime checks the GP Connect dateTime form: UK local time, seconds,
// +00:00 or +01:00 and the offset in force at that instant.
func localTime(what, v string) error {
	if !localDateTime.MatchString(v) {
		return failf("%s %q is not a UK local dateTime with offset (YYYY-MM-DDThh:mm:ss+0X:00)", what, v)
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return failf("%s %q: %v", what, v, err)
	}
	if consumer.FormatLocal(t) != v {
		return failf("%s %q does not carry the UK offset in force (want %s)", what, v, consumer.FormatLocal(t))
	}
	return nil
}

// tomorrow is UK local midnight tomorrow.
func (e *env) tomorrow() time.Time {
	return consumer.LocalMidnight(consumer.LocalMidnight(e.now).Add(36 * time.Hour))
}

// stdQuery is the standard search: tomorrow for SearchDays days, every include, both filters.
func (e *env) stdQuery() consumer.SlotQuery {
	start := e.tomorrow()
	return consumer.SlotQuery{Start: start, End: start.AddDate(0, 0, e.d.SearchDays), Includes: consumer.AllIncludes,
		ODS: e.d.ConsumerODS, OrgType: gpconnect.OrganisationType(e.d.ConsumerOrgType)}
}

// patient finds the bookable patient's logical id.
func (e *env) patient(ctx context.Context) (string, error) {
	if e.patientID != "" {
		return e.patientID, nil
	}
	ps, err := e.c.FindPatient(ctx, e.d.Patients.Bookable)
	if err != nil {
		return "", fixture("find the bookable patient", err)
	}
	if len(ps) != 1 {
		return "", skipf("find the bookable patient %s gave %d patients", e.d.Patients.Bookable, len(ps))
	}
	e.patientID = ps[0].ID
	return e.patientID, nil
}

// slotSearch runs the standard search once.
func (e *env) slotSearch(ctx context.Context) (*consumer.SlotResult, error) {
	if e.slots != nil {
		return e.slots, nil
	}
	r, err := e.c.SearchSlots(ctx, e.stdQuery())
	if err != nil {
		return nil, fixture("the standard slot search", err)
	}
	e.slots = r
	return r, nil
}

// freeSlots picks n adjacent unused slots of one schedule (n = 1 for any slot).
func (e *env) freeSlots(ctx context.Context, n int) (*consumer.SlotResult, []*fhir.Slot, error) {
	r, err := e.slotSearch(ctx)
	if err != nil {
		return nil, nil, err
	}
	cut := e.now.Add(2 * time.Hour)
	for i := range r.Slots {
		run := []*fhir.Slot{r.Slots[i]}
		for j := i + 1; j < len(r.Slots) && len(run) < n; j++ {
			last, s := run[len(run)-1], r.Slots[j]
			if s.Schedule == last.Schedule && s.Start == last.End &&
				consumer.ExtensionCode(s.Extension, gpconnect.ExtDeliveryChannel) == consumer.ExtensionCode(last.Extension, gpconnect.ExtDeliveryChannel) {
				run = append(run, s)
			}
		}
		if len(run) < n {
			continue
		}
		ok := true
		for _, s := range run {
			st, err := time.Parse(time.RFC3339, s.Start)
			ok = ok && err == nil && st.After(cut) && !e.used[s.ID]
		}
		if ok {
			for _, s := range run {
				e.used[s.ID] = true
			}
			return r, run, nil
		}
	}
	return nil, nil, skipf("no %d unused adjacent free slot(s) in the standard search", n)
}

// newBooking builds a booking of n fresh slots for the bookable patient.
func (e *env) newBooking(ctx context.Context, n int, description string) (*fhir.Appointment, []*fhir.Slot, error) {
	r, slots, err := e.freeSlots(ctx, n)
	if err != nil {
		return nil, nil, err
	}
	a, err := e.bookingFor(ctx, r, slots, description)
	return a, slots, err
}

// freeSlotsWithResult picks one fresh slot.
func (e *env) freeSlotsWithResult(ctx context.Context) (*consumer.SlotResult, []*fhir.Slot, error) {
	if _, err := e.patient(ctx); err != nil {
		return nil, nil, err
	}
	return e.freeSlots(ctx, 1)
}

// bookingFor builds the booking of slots for the bookable patient by the data map's organisation.
func (e *env) bookingFor(ctx context.Context, r *consumer.SlotResult, slots []*fhir.Slot, description string) (*fhir.Appointment, error) {
	pid, err := e.patient(ctx)
	if err != nil {
		return nil, err
	}
	a, err := r.NewBooking(slots, consumer.Booking{PatientID: pid, Description: description, Comment: "Booked by the Slotbridge conformance suite",
		Org: consumer.BookingOrg{ODS: e.d.ConsumerODS, Name: e.d.ConsumerName, Phone: e.d.ConsumerPhone, OrgType: gpconnect.OrganisationType(e.d.ConsumerOrgType)}})
	if err != nil {
		return nil, skipf("building a booking: %v", err)
	}
	return a, nil
}

// unusedSlot is the first slot of r that no check has taken and that starts
// after the 2-hour cut-off freeSlots keeps, or nil; it is marked taken.
func (e *env) unusedSlot(r *consumer.SlotResult) *fhir.Slot {
	cut := e.now.Add(2 * time.Hour)
	for _, s := range r.Slots {
		if st, err := time.Parse(time.RFC3339, s.Start); err == nil && st.After(cut) && !e.used[s.ID] {
			e.used[s.ID] = true
			return s
		}
	}
	return nil
}

// book books and remembers the appointment for the clean-up. Its slots are
// marked taken, so no later check picks them as free.
func (e *env) book(ctx context.Context, a *fhir.Appointment, opts ...consumer.Option) (*consumer.AppointmentResult, error) {
	res, err := e.c.Book(ctx, a, opts...)
	for _, s := range a.Slot {
		if id, ok := strings.CutPrefix(s.Reference, "Slot/"); ok {
			e.used[id] = true
		}
	}
	if err == nil {
		id := ""
		if res.Appointment != nil {
			id = res.Appointment.ID
		} else if loc := res.Location; loc != "" {
			if _, rest, ok := strings.Cut(loc, "/Appointment/"); ok {
				id, _, _ = strings.Cut(rest, "/")
			}
		}
		if id != "" {
			e.booked[id] = res
		}
	}
	return res, err
}

// appointment is a booked appointment for one purpose (each purpose books its own).
func (e *env) appointment(ctx context.Context, purpose string) (*consumer.AppointmentResult, error) {
	if r, ok := e.fixtures[purpose]; ok {
		return r, nil
	}
	a, _, err := e.newBooking(ctx, 1, "Conformance "+purpose)
	if err != nil {
		return nil, err
	}
	r, err := e.book(ctx, a)
	if err != nil {
		return nil, fixture("booking an appointment for "+purpose, err)
	}
	if r.Appointment == nil {
		return nil, skipf("booking for %s returned no body", purpose)
	}
	e.fixtures[purpose] = r
	return r, nil
}

// current reads an appointment afresh (for a valid If-Match).
func (e *env) current(ctx context.Context, id string) (*fhir.Appointment, error) {
	r, err := e.c.ReadAppointment(ctx, id)
	if err != nil {
		return nil, fixture("reading Appointment/"+id, err)
	}
	return r.Appointment, nil
}

// raw sends a raw request and returns the response (transport errors fail).
func (e *env) raw(ctx context.Context, req consumer.Request, opts ...consumer.Option) (*consumer.Response, error) {
	return e.c.Do(ctx, req, opts...)
}

// wantOutcomeResponse checks a raw response is a 4xx/5xx FHIR OperationOutcome.
func wantOutcomeResponse(resp *consumer.Response, status int) error {
	if resp.Status < 400 {
		return failf("HTTP %d, want an error with an OperationOutcome", resp.Status)
	}
	if status != 0 && resp.Status != status {
		return failf("HTTP %d, want %d", resp.Status, status)
	}
	if _, ok := resp.Resource.(*fhir.OperationOutcome); !ok {
		return failf("HTTP %d with Content-Type %q is not an OperationOutcome: %s", resp.Status, resp.Header.Get("Content-Type"), clipS(string(resp.Body), 120))
	}
	return nil
}

// noStore checks Cache-Control: no-store.
func noStore(h http.Header) error {
	if !strings.Contains(strings.ToLower(h.Get("Cache-Control")), "no-store") {
		return failf("Cache-Control %q, want no-store", h.Get("Cache-Control"))
	}
	return nil
}

// contentLocation checks the Content-Location the spec's response table
// requires on read, create and update (development_fhir_api_guidance):
// an absolute URL of the resource, here accepted with or without the
// version's /_history/{vid}.
func contentLocation(h http.Header, typ, id, vid string) error {
	got := h.Get("Content-Location")
	path := "/" + typ + "/" + id
	if !strings.HasPrefix(got, "http") || !(strings.HasSuffix(got, path) || strings.HasSuffix(got, path+"/_history/"+vid)) {
		return failf("Content-Location %q, want [base]%s or [base]%s/_history/%s", got, path, path, vid)
	}
	return nil
}

// utf8 checks that a FHIR body's Content-Type carries charset=utf-8 (spec §2.1).
func utf8(h http.Header) error {
	ct := strings.ToLower(strings.ReplaceAll(h.Get("Content-Type"), " ", ""))
	if !strings.Contains(ct, "charset=utf-8") {
		return failf("Content-Type %q lacks charset=utf-8", h.Get("Content-Type"))
	}
	return nil
}

// first returns the first non-nil error.
func first(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// today is the clock now, for the retrieve checks: a retrieve range must
// start today or later (spec §7.4), so a run that crosses UK midnight must
// not ask from the day it began.
func (e *env) today() time.Time { return time.Now() }
