package federation

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slotbridge/slotbridge/consumer"
	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// PatientDetails identify the patient; the demographics are needed only
// when the patient is not registered at the chosen practice and must be
// registered there as a temporary patient (they must match PDS).
type PatientDetails struct {
	NHSNumber                        string
	Family, Given, Gender, BirthDate string
}

// BookRequest books one slot found by a fan-out.
type BookRequest struct {
	// Slot is the hub reference "{ODS}/{slotId}".
	Slot    string
	Patient PatientDetails
	// Description is required by GP Connect (default "Booked through hub {name}"); Comment is optional.
	Description, Comment string
	// From and To bound the search that finds the slot's schedule data
	// again: zero From is now, zero To is MaxSearchDays after From, as far
	// as a hub search reaches, so any slot a search with the default start
	// showed is found again without naming a range.
	From, To time.Time
	// OrgType is the organisation type the slot was found with (Query.OrgType),
	// sent again to find it and put on the booking organisation; empty means
	// the hub's own (Identity.OrgType).
	OrgType string
}

// checkText refuses a description or comment longer than spec §6.2 allows,
// before anything is sent (the practice would refuse it after a registration).
func checkText(description, comment *string) error {
	var d, c string // nil is "unchanged", which fits
	if description != nil {
		d = *description
	}
	if comment != nil {
		c = *comment
	}
	probs := scheduling.TextProblems(d, c)
	// What the practice would refuse after the hub had already acted (say,
	// registered the patient): a description of spaces only (GP Connect
	// requires one; an empty one gets the hub's default), and characters a
	// FHIR string may not hold.
	if description != nil && d != "" && strings.TrimSpace(d) == "" {
		probs = append(probs, "description is blank")
	}
	for _, f := range []struct{ name, v string }{{"description", d}, {"comment", c}} {
		if what := fhir.StringProblem(f.v); what != "" {
			probs = append(probs, f.name+" "+what)
		}
	}
	if len(probs) > 0 {
		return scheduling.Errorf(scheduling.EINVALID, "%s", strings.Join(probs, "; "))
	}
	return nil
}

// Genders are the FHIR administrative genders a registration may give.
var Genders = []string{"male", "female", "other", "unknown"}

// checkRegistration checks the demographics a booking may register the
// patient with, before anything is sent: a mistake found by the practice
// would come after the hub had acted. Returns EINVALID.
func checkRegistration(p PatientDetails) error {
	var probs []string
	if p.Gender != "" && !slices.Contains(Genders, p.Gender) {
		probs = append(probs, fmt.Sprintf("gender %q must be male, female, other or unknown", clip(p.Gender, 40)))
	}
	if p.BirthDate != "" {
		if _, err := time.Parse(time.DateOnly, p.BirthDate); err != nil {
			probs = append(probs, fmt.Sprintf("birth date %q must be a date YYYY-MM-DD", clip(p.BirthDate, 40)))
		}
	}
	if len(probs) > 0 {
		return scheduling.Errorf(scheduling.EINVALID, "%s", strings.Join(probs, "; "))
	}
	return nil
}

// Booked is a booking made through the hub.
type Booked struct {
	ODS         string
	Appointment *fhir.Appointment
	// ETag is the appointment's version, for a later amend or cancel.
	ETag string
	// PatientID is the practice's logical id of the patient.
	PatientID string
	// Registered is true when the patient was registered as temporary to make this booking.
	Registered bool
	// Slot is the slot booked, as the practice described it.
	Slot Slot
	// AlreadyBooked is true when the slot was not free because the patient
	// already holds it through this hub (a retry after a lost answer, say):
	// Appointment is that booking, and nothing new was booked.
	AlreadyBooked bool
	// AlreadyCancelled is true when a cancel found the appointment
	// cancelled already: nothing was sent, and Appointment keeps the
	// reason it was cancelled with.
	AlreadyCancelled bool
}

// Ref is the appointment's hub reference, "{ODS}/{appointmentId}".
func (b *Booked) Ref() string { return b.ODS + "/" + b.Appointment.ID }

// member checks that ods belongs to the hub and that its directory entry
// lists every interaction in needs, and returns the entry. Checking the
// interactions here, before any call, keeps an operation from sending part
// of its calls to a practice whose entry says it cannot take the rest.
// Returns ENOTFOUND (kind "hub", "member" or "endpoint") and EFORBIDDEN when
// switched off or an interaction is not listed.
func (h *Hub) member(ctx context.Context, hubName, ods string, needs ...gpconnect.InteractionID) (*scheduling.Endpoint, error) {
	hub, err := h.Dir.HubByName(ctx, hubName)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(hub.Members, ods) {
		return nil, scheduling.NotFound("member", "%s is not a member of hub %q", ods, hubName)
	}
	eps, err := h.Dir.EndpointsByODS(ctx, []string{ods})
	if err != nil {
		return nil, err
	}
	ep := eps[ods]
	switch {
	case ep == nil:
		return nil, scheduling.NotFound("endpoint", "%s is not in the endpoint directory", ods)
	case !ep.Enabled:
		return nil, scheduling.Errorf(scheduling.EFORBIDDEN, "%s is switched off in the endpoint directory", ods)
	}
	if miss := unsupported(ep, needs...); miss != "" {
		return nil, scheduling.Errorf(scheduling.EFORBIDDEN, "%s", miss)
	}
	return ep, nil
}

// unsupported says which of ids ep's directory entry does not list, or ""
// when it lists them all. The names are the short ones `directory set
// --interactions` takes, so the operator sees what to add. The fan-out and
// every booking operation read the entry through it, so they agree.
func unsupported(ep *scheduling.Endpoint, ids ...gpconnect.InteractionID) string {
	var miss []string
	for _, id := range ids {
		if !ep.Supports(string(id)) {
			name := string(id)
			if in, ok := gpconnect.LookupInteraction(name); ok {
				name = in.Short
			}
			miss = append(miss, name)
		}
	}
	if len(miss) == 0 {
		return ""
	}
	return fmt.Sprintf("%s's endpoint directory entry does not list %s", ep.ODS, strings.Join(miss, ", "))
}

// Book finds the slot at its practice (for its schedule, location and
// practitioner), finds the patient there or registers them as temporary,
// and books. Errors: EPARAM (a reversed range, or one that ends before
// now), ENOTFOUND (hub, member), ECONFLICT (the practice no longer offers
// the slot in the range to the organisation type: search again), EFORBIDDEN
// (the practice is switched off, or its directory entry lacks an
// interaction the booking needs), EINVALID (bad reference, or the patient
// is not registered and no demographics were given), or a *CallError from
// the practice (e.g. DUPLICATE_REJECTED when the slot was taken between
// the hub's look-up and the booking). A failure after the hub registered
// the patient is a *RegisteredError around the cause.
func (h *Hub) Book(ctx context.Context, hubName string, r BookRequest) (*Booked, error) {
	ods, slotID, err := ParseRef(r.Slot)
	if err != nil {
		return nil, scheduling.Errorf(scheduling.EINVALID, "%v", err)
	}
	if !scheduling.ValidNHSNumber(r.Patient.NHSNumber) {
		return nil, scheduling.Errorf(scheduling.ENHSNUMBER, "%q is not a valid NHS number", r.Patient.NHSNumber)
	}
	if err := checkText(&r.Description, &r.Comment); err != nil {
		return nil, err
	}
	if err := checkRegistration(r.Patient); err != nil {
		return nil, err
	}
	orgType := h.identity().OrgType
	if r.OrgType != "" {
		orgType = r.OrgType
	}
	if orgType != "" && !gpconnect.OrganisationType(orgType).Valid() {
		return nil, scheduling.Errorf(scheduling.EINVALID, "org-type must be gp-practice or urgent-care")
	}
	from, to, err := resolveRange(r.From, r.To, h.now(), "now: a booking looks for its slot from now on")
	if err != nil {
		return nil, err
	}
	// The slot is looked for window by window (14 days a call), so the range
	// is bounded as a hub search's is: an open-ended one would turn one
	// booking into hundreds of calls to the practice.
	if to.After(lookupEnd(from)) {
		return nil, scheduling.Errorf(scheduling.EPARAM, "the range a booking looks for its slot in may be at most %d days", MaxSearchDays)
	}
	ctx, cancel := context.WithTimeout(ctx, h.Config.withDefaults().BookingTimeout)
	defer cancel()
	// Registering is checked when it turns out to be needed (patientAt): a
	// patient the practice knows can be booked where it takes no registrations.
	ep, err := h.member(ctx, hubName, ods, gpconnect.SearchSlot, gpconnect.SearchPatient, gpconnect.CreateAppointment)
	if err != nil {
		return nil, err
	}
	sr, fs, err := h.findSlot(ctx, ep, slotID, from, to, orgType)
	if scheduling.ErrorCode(err) == scheduling.ECONFLICT {
		if b := h.heldBy(ctx, ep, slotID, r.Patient.NHSNumber, from, to); b != nil {
			return b, nil
		}
	}
	if err != nil {
		return nil, err
	}
	pid, registered, err := h.patientAt(ctx, ep, r.Patient)
	if err != nil {
		return nil, err
	}
	b, err := h.bookAt(ctx, ep, hubName, r, orgType, sr, fs, pid)
	if err != nil {
		if registered {
			// GP Connect has no way to undo a registration, so the operator
			// must hear of it from this failure.
			return nil, &RegisteredError{ODS: ods, NHSNumber: r.Patient.NHSNumber, PatientID: pid, Err: err}
		}
		return nil, err
	}
	b.Registered = registered
	return b, nil
}

// RegisteredError is a booking that failed after the hub registered the
// patient as a temporary patient at the practice (spec §12.4). The
// registration stays, so the failure carries it: otherwise the operator
// would not know the practice now holds a record the booking never used.
type RegisteredError struct {
	// ODS is the practice the patient is now registered at.
	ODS string
	// NHSNumber is the patient's NHS number.
	NHSNumber string
	// PatientID is the practice's logical id of the new registration.
	PatientID string
	// Err is why the booking failed.
	Err error
}

// Error is the cause followed by Note.
func (e *RegisteredError) Error() string { return e.Err.Error() + "; " + e.Note() }

// Unwrap returns the cause, so its code or *CallError still decides the answer.
func (e *RegisteredError) Unwrap() error { return e.Err }

// Note is the sentence saying what was registered.
func (e *RegisteredError) Note() string {
	return fmt.Sprintf("patient %s is now registered at %s as a temporary patient (Patient/%s): the hub registered them for this booking, and the registration stays",
		e.NHSNumber, e.ODS, e.PatientID)
}

// bookAt sends the booking of slot fs for patient pid at the practice, and
// reads the appointment back when the practice answered without one.
func (h *Hub) bookAt(ctx context.Context, ep *scheduling.Endpoint, hubName string, r BookRequest, orgType string,
	sr *consumer.SlotResult, fs *fhir.Slot, pid string) (*Booked, error) {
	desc := r.Description
	if desc == "" {
		desc = "Booked through hub " + hubName
	}
	org := consumer.BookingOrg{ODS: h.identity().ODS, Name: h.identity().OrgName, Phone: h.identity().Phone,
		OrgType: gpconnect.OrganisationType(orgType)}
	appt, err := sr.NewBooking([]*fhir.Slot{fs}, consumer.Booking{PatientID: pid, Org: org, Description: desc, Comment: r.Comment, Created: h.now()})
	if err != nil {
		return nil, scheduling.Errorf(scheduling.EINVALID, "%v", err)
	}
	res, err := within(ctx, h.callTimeout(), func(ctx context.Context) (*consumer.AppointmentResult, error) { return h.Client.Book(ctx, ep, appt) })
	if err != nil {
		ce := Classify(err)
		// A write is never retried. Unless the practice refused it (a 4xx
		// answer) or it never left (no connection), its effect is unknown:
		// a timeout, a 5xx, a broken or unreadable success.
		if !(ce.Status >= 400 && ce.Status < 500) && !notSent(err) {
			ce = &CallError{Reason: ce.Reason, Status: ce.Status, Detail: ce.Detail +
				"; the booking may have been made: check with book list before booking again"}
		}
		return nil, ce
	}
	if res.Appointment == nil {
		// A 201 without a body (the practice may honour return=minimal on
		// its own): the booking exists, so read it from its Location, if the
		// directory says the practice takes reads.
		if id := locationID(res.Location); id != "" && ep.Supports(string(gpconnect.ReadAppointment)) {
			if cur, rerr := readRetry(ctx, h.callTimeout(), func(ctx context.Context) (*consumer.AppointmentResult, error) {
				return h.Client.ReadAppointment(ctx, ep, id)
			}); rerr == nil && cur.Appointment != nil && cur.Appointment.ID == id {
				res.Appointment, res.ETag = cur.Appointment, cur.ETag
			}
		}
		if res.Appointment == nil {
			return nil, &CallError{Reason: ReasonProviderError, Status: res.Status,
				Detail: fmt.Sprintf("the practice answered %d with no appointment (Location %q): the booking may have been made; check with book list", res.Status, res.Location)}
		}
	}
	slots, _ := slotsFrom(ep.ODS, &consumer.SlotResult{Slots: []*fhir.Slot{fs}, Schedules: sr.Schedules, Locations: sr.Locations,
		Practitioners: sr.Practitioners, HealthcareServices: sr.HealthcareServices, Organizations: sr.Organizations})
	b := &Booked{ODS: ep.ODS, Appointment: res.Appointment, ETag: res.ETag, PatientID: pid}
	if len(slots) == 1 {
		b.Slot = slots[0]
	}
	return b, nil
}

// resolveRange fills in and checks a range a booking looks for its slot
// in, or a patient's appointments are listed over. Zero from is floor;
// zero to is the end of the day MaxSearchDays after from, which covers
// every slot a hub search from that day can show (Query.Check's limit).
// A reversed range is reported as such before from is raised to floor:
// otherwise a future range given backwards would read as "ends before
// today", which is not the mistake. Then a range ending by floor is
// refused, saying why (past says what floor stands for). Returns EPARAM.
func resolveRange(from, to, floor time.Time, past string) (time.Time, time.Time, error) {
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		return from, to, scheduling.Errorf(scheduling.EPARAM, "the range is reversed: to (%s) must be after from (%s)",
			scheduling.FormatLocal(to), scheduling.FormatLocal(from))
	}
	if from.Before(floor) {
		from = floor
	}
	if to.IsZero() {
		to = lookupEnd(from)
	}
	if !to.After(from) {
		return from, to, scheduling.Errorf(scheduling.EPARAM, "the range ends (to %s) before %s", scheduling.FormatLocal(to), past)
	}
	return from, to, nil
}

// lookupEnd is the end of the day MaxSearchDays after from: the default,
// and the furthest, end of the range a booking looks for its slot in.
func lookupEnd(from time.Time) time.Time {
	return scheduling.AtLocal(scheduling.AddDaysLocal(from, MaxSearchDays), 23, 59).Add(59 * time.Second)
}

// ListRange is the range PatientAppointments lists for from and to (either
// may be zero; see PatientAppointments), so a caller can show what it asked
// for. Returns EPARAM as PatientAppointments does.
func (h *Hub) ListRange(from, to time.Time) (time.Time, time.Time, error) {
	return resolveRange(from, to, scheduling.LocalMidnight(h.now()), "today: only appointments from today on are listed")
}

// heldBy returns the patient's booked appointment at ep on the slot, made by
// this hub's organisation between from and to, or nil (also when the
// practice cannot tell, or its directory entry lists no retrieve).
func (h *Hub) heldBy(ctx context.Context, ep *scheduling.Endpoint, slotID, nhs string, from, to time.Time) *Booked {
	if !ep.Supports(string(gpconnect.SearchPatientAppointment)) {
		return nil
	}
	found, err := readRetry(ctx, h.callTimeout(), func(ctx context.Context) ([]*fhir.Patient, error) {
		return h.Client.FindPatient(ctx, ep, nhs)
	})
	if err != nil || len(found) == 0 {
		return nil
	}
	appts, err := readRetry(ctx, h.callTimeout(), func(ctx context.Context) ([]*fhir.Appointment, error) {
		return h.Client.RetrieveAppointments(ctx, ep, found[0].ID, scheduling.LocalMidnight(from), to)
	})
	if err != nil {
		return nil
	}
	ours := h.identity().ODS
	for _, a := range appts {
		if a.Status != "booked" || !slices.ContainsFunc(a.Slot, func(s fhir.Reference) bool { return s.Reference == "Slot/"+slotID }) {
			continue
		}
		if ours != "" && bookingODS(a) != ours {
			continue
		}
		b := &Booked{ODS: ep.ODS, Appointment: a, PatientID: found[0].ID, AlreadyBooked: true}
		if a.Meta != nil && a.Meta.VersionID != "" {
			b.ETag = `W/"` + a.Meta.VersionID + `"`
		}
		return b
	}
	return nil
}

// bookingODS is the ODS code of the appointment's booking organisation (the
// contained Organization its extension references), or "".
func bookingODS(a *fhir.Appointment) string {
	for _, e := range a.Extension {
		if e.URL != gpconnect.ExtBookingOrganisation || e.ValueReference == nil {
			continue
		}
		for _, c := range a.Contained {
			if o, ok := c.(*fhir.Organization); ok && "#"+o.ID == e.ValueReference.Reference {
				for _, i := range o.Identifier {
					if gpconnect.IsODSOrganisationSystem(i.System) {
						return i.Value
					}
				}
			}
		}
	}
	return ""
}

// identity is the hub's GP Connect identity when the client is GPConnect.
func (h *Hub) identity() Identity {
	if g, ok := h.Client.(*GPConnect); ok {
		return g.id
	}
	return Identity{}
}

// notSent reports whether err means the request never reached the
// practice: the hub's client refused to send it, the connection could not be
// made, or the TLS handshake failed over a certificate (the hub did not
// trust the server's, or the server refused the hub's), so no HTTP request
// was read at the other end. Another TLS alert may come after a request was
// read, so it does not count.
func notSent(err error) bool {
	if errors.Is(err, consumer.ErrInvalidRequest) {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	// The proxy refused the hub's handshake (GPConnect.viaProxy): nothing
	// reached the practice.
	var ce *CallError
	if errors.As(err, &ce) && ce.Reason == ReasonSSP && ce.Status == 0 {
		return true
	}
	return isHandshakeFailure(err)
}

// locationID is the appointment id in a Location header
// ".../Appointment/{id}[/_history/{v}]", or "".
func locationID(loc string) string {
	loc, _, _ = strings.Cut(loc, "/_history/")
	i := strings.LastIndex(loc, "/Appointment/")
	if i < 0 {
		return ""
	}
	id := loc[i+len("/Appointment/"):]
	if id == "" || strings.ContainsAny(id, "/?#") {
		return ""
	}
	return id
}

// findSlot searches the practice window by window between from and to
// until the slot turns up, with the organisation type it was found with; a
// slot that has started is EINVALID, and one the practice no longer offers
// there is ECONFLICT: by far the likeliest cause is that it was booked
// since the search, the case spec §13 answers with "search again", as for
// the practice's own 409. The message names what was searched and no CLI
// flag or API field, so that each edge adds its own hint.
func (h *Hub) findSlot(ctx context.Context, ep *scheduling.Endpoint, slotID string, from, to time.Time, orgType string) (*consumer.SlotResult, *fhir.Slot, error) {
	for _, w := range SplitWindows(from, to) {
		sr, err := readRetry(ctx, h.callTimeout(), func(ctx context.Context) (*consumer.SlotResult, error) {
			return h.Client.SlotBundle(ctx, ep, SlotRequest{Start: w.Start, End: w.End, OrgType: orgType})
		})
		if err != nil {
			return nil, nil, Classify(err)
		}
		for _, s := range sr.Slots {
			if s.ID != slotID {
				continue
			}
			if start, err := time.Parse(scheduling.LocalLayout, s.Start); err == nil && !start.After(h.now()) {
				return nil, nil, scheduling.Errorf(scheduling.EINVALID, "slot %s/%s started at %s; it can no longer be booked",
					ep.ODS, slotID, scheduling.FormatLocal(start))
			}
			if err := bookable(ep.ODS, sr, s); err != nil {
				return nil, nil, err
			}
			return sr, s, nil
		}
	}
	as := "for a search with no organisation type"
	if orgType != "" {
		as = "to organisation type " + orgType
	}
	return nil, nil, scheduling.Errorf(scheduling.ECONFLICT,
		"slot %s/%s is not free: %s does not offer it between %s and %s %s (it was taken since the search, or it lies outside that range, or it is offered to another organisation type); search again",
		ep.ODS, slotID, ep.ODS, scheduling.FormatDate(from), scheduling.FormatDate(to), as)
}

// bookable holds the slot a booking found to the checks a hub search
// makes (slotsFrom): a slot the search would not have shown is not booked
// either. One the practice now lists as not free is ECONFLICT (taken since
// the search); one it describes in a form the hub cannot offer (times
// without a numeric offset, no schedule or location) is the practice's
// fault, since a booking echoing such times would break spec §6.2.
func bookable(ods string, sr *consumer.SlotResult, s *fhir.Slot) error {
	if s.Status != "free" {
		as := fmt.Sprintf("lists it as %q", s.Status)
		if s.Status == "" {
			as = "gives it no status"
		}
		return scheduling.Errorf(scheduling.ECONFLICT, "slot %s/%s is not free: %s %s; search again", ods, s.ID, ods, as)
	}
	one := *sr
	one.Slots = []*fhir.Slot{s}
	if slots, _ := slotsFrom(ods, &one); len(slots) == 1 {
		return nil
	}
	return &CallError{Reason: ReasonProviderError, Status: http.StatusOK, Detail: fmt.Sprintf(
		"%s offers slot %s in a form the hub cannot book (its start and end must be local times with a numeric offset, and it needs its schedule and location); nothing was sent", ods, s.ID)}
}

// patientAt finds the patient at the practice, or registers them as temporary.
func (h *Hub) patientAt(ctx context.Context, ep *scheduling.Endpoint, p PatientDetails) (string, bool, error) {
	found, err := readRetry(ctx, h.callTimeout(), func(ctx context.Context) ([]*fhir.Patient, error) { return h.Client.FindPatient(ctx, ep, p.NHSNumber) })
	if err != nil {
		return "", false, Classify(err)
	}
	if len(found) > 0 {
		// Spec §13: compare the practice's demographics with what staff
		// gave, and stop on a difference rather than book for the wrong person.
		if diff := demographicsDiffer(found[0], p); len(diff) > 0 {
			return "", false, scheduling.Errorf(scheduling.EINVALID,
				"patient %s at %s does not match the details given (%s differ): check the patient, or leave those details out to book for the practice's record",
				p.NHSNumber, ep.ODS, strings.Join(diff, ", "))
		}
		return found[0].ID, false, nil
	}
	// The minimum a registration carries (spec §12.4): the consumer sends none without it.
	if strings.TrimSpace(p.Family) == "" || strings.TrimSpace(p.Given) == "" || strings.TrimSpace(p.BirthDate) == "" {
		return "", false, scheduling.Errorf(scheduling.EINVALID,
			"patient %s is not registered at %s; give their family name, given name, gender and birth date to register them as a temporary patient", p.NHSNumber, ep.ODS)
	}
	if miss := unsupported(ep, gpconnect.RegisterPatient); miss != "" {
		return "", false, scheduling.Errorf(scheduling.EFORBIDDEN, "patient %s is not registered at %s, and the hub cannot register them there: %s",
			p.NHSNumber, ep.ODS, miss)
	}
	fp := &fhir.Patient{ResourceType: "Patient",
		Identifier: []fhir.Identifier{{System: gpconnect.SystemNHSNumber, Value: p.NHSNumber}},
		Name:       []fhir.HumanName{{Use: "official", Family: p.Family}},
		Gender:     p.Gender, BirthDate: p.BirthDate}
	if p.Given != "" {
		fp.Name[0].Given = []string{p.Given}
	}
	reg, err := within(ctx, h.callTimeout(), func(ctx context.Context) (*fhir.Patient, error) { return h.Client.RegisterPatient(ctx, ep, fp) })
	if err != nil {
		return "", false, Classify(err)
	}
	return reg.ID, true, nil
}

// demographicsDiffer names the details given that differ from the
// practice's record (names compared without case; a detail not given is
// not compared).
func demographicsDiffer(pt *fhir.Patient, p PatientDetails) []string {
	var diff []string
	var families, givens []string
	for _, n := range pt.Name {
		families = append(families, n.Family)
		givens = append(givens, n.Given...)
	}
	has := func(list []string, v string) bool {
		return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(strings.TrimSpace(x), strings.TrimSpace(v)) })
	}
	if p.Family != "" && !has(families, p.Family) {
		diff = append(diff, "family name")
	}
	// "Mary Jane" given as one field matches a record of Mary and Jane.
	for _, g := range strings.Fields(p.Given) {
		if !has(givens, g) && !has(givens, p.Given) {
			diff = append(diff, "given name")
			break
		}
	}
	if p.Gender != "" && pt.Gender != "" && !strings.EqualFold(p.Gender, pt.Gender) {
		diff = append(diff, "gender")
	}
	if p.BirthDate != "" && pt.BirthDate != "" && p.BirthDate != pt.BirthDate {
		diff = append(diff, "birth date")
	}
	return diff
}

// Amend changes an appointment's description and/or comment (nil leaves one
// as it is). Errors as Read (EFORBIDDEN also when the directory entry lists
// no amend); a stale version (FHIR_CONSTRAINT_VIOLATION) is retried once
// after a fresh read.
func (h *Hub) Amend(ctx context.Context, hubName, ref string, description, comment *string) (*Booked, error) {
	if err := checkText(description, comment); err != nil {
		return nil, err
	}
	// A booking's empty description gets the hub's default, but an amend
	// would send the appointment without one, which GP Connect does not
	// allow (description is 1..1); a comment may be cleared.
	if description != nil && *description == "" {
		return nil, scheduling.Errorf(scheduling.EINVALID, "description cannot be removed: an appointment must have one; give a new description or leave it unchanged")
	}
	return h.change(ctx, hubName, ref, gpconnect.UpdateAppointment, func(ctx context.Context, ep *scheduling.Endpoint, a *fhir.Appointment) (*consumer.AppointmentResult, error) {
		if description != nil {
			a.Description = *description
		}
		if comment != nil {
			a.Comment = *comment
		}
		return within(ctx, h.callTimeout(), func(ctx context.Context) (*consumer.AppointmentResult, error) { return h.Client.Amend(ctx, ep, a) })
	})
}

// Cancel cancels an appointment with a reason. Errors as Read (EFORBIDDEN
// also when the directory entry lists no cancel); EINVALID for an empty or
// blank reason, which GP Connect does not allow (spec §7.3).
func (h *Hub) Cancel(ctx context.Context, hubName, ref, reason string) (*Booked, error) {
	if strings.TrimSpace(reason) == "" {
		return nil, scheduling.Errorf(scheduling.EINVALID, "a cancellation reason is required")
	}
	already := false
	b, err := h.change(ctx, hubName, ref, gpconnect.CancelAppointment, func(ctx context.Context, ep *scheduling.Endpoint, a *fhir.Appointment) (*consumer.AppointmentResult, error) {
		if a.Status == "cancelled" {
			// Cancelling again would change nothing (a provider keeps the
			// first reason, or refuses), and would look like a fresh cancel.
			already = true
			return &consumer.AppointmentResult{Appointment: a}, nil
		}
		return within(ctx, h.callTimeout(), func(ctx context.Context) (*consumer.AppointmentResult, error) {
			return h.Client.Cancel(ctx, ep, a, reason)
		})
	})
	if b != nil {
		b.AlreadyCancelled = already
	}
	return b, err
}

// Read reads one appointment at its practice (spec §7.1) by its hub
// reference. Errors: EINVALID (bad reference), ENOTFOUND (hub, member),
// EFORBIDDEN (switched off, or the directory entry lists no appointment
// read), or a *CallError from the practice (NO_RECORD_FOUND for an unknown id).
func (h *Hub) Read(ctx context.Context, hubName, ref string) (*Booked, error) {
	ods, id, err := ParseRef(ref)
	if err != nil {
		return nil, scheduling.Errorf(scheduling.EINVALID, "%v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, h.Config.withDefaults().BookingTimeout)
	defer cancel()
	ep, err := h.member(ctx, hubName, ods, gpconnect.ReadAppointment)
	if err != nil {
		return nil, err
	}
	cur, err := h.readAt(ctx, ep, id)
	if err != nil {
		return nil, err
	}
	return &Booked{ODS: ods, Appointment: cur.Appointment, ETag: cur.ETag}, nil
}

// readAt reads appointment id at ep, refusing an answer about another one.
func (h *Hub) readAt(ctx context.Context, ep *scheduling.Endpoint, id string) (*consumer.AppointmentResult, error) {
	cur, err := readRetry(ctx, h.callTimeout(), func(ctx context.Context) (*consumer.AppointmentResult, error) {
		return h.Client.ReadAppointment(ctx, ep, id)
	})
	if err != nil {
		return nil, Classify(err)
	}
	// Show or change only the appointment asked for, whatever a faulty practice returns.
	if cur.Appointment == nil || cur.Appointment.ID != id {
		got := ""
		if cur.Appointment != nil {
			got = cur.Appointment.ID
		}
		return nil, &CallError{Reason: ReasonProviderError, Status: cur.Status,
			Detail: fmt.Sprintf("asked for appointment %s, the practice returned %q; nothing was changed", id, got)}
	}
	return cur, nil
}

// change reads the appointment and applies fn, which makes the write
// interaction op, once more on a stale version.
func (h *Hub) change(ctx context.Context, hubName, ref string, op gpconnect.InteractionID, fn func(context.Context, *scheduling.Endpoint, *fhir.Appointment) (*consumer.AppointmentResult, error)) (*Booked, error) {
	ods, id, err := ParseRef(ref)
	if err != nil {
		return nil, scheduling.Errorf(scheduling.EINVALID, "%v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, h.Config.withDefaults().BookingTimeout)
	defer cancel()
	ep, err := h.member(ctx, hubName, ods, gpconnect.ReadAppointment, op)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		cur, err := h.readAt(ctx, ep, id)
		if err != nil {
			return nil, err
		}
		res, err := fn(ctx, ep, cur.Appointment)
		if err != nil {
			ce := Classify(err)
			if ce.Reason == Reason(gpconnect.ConstraintViolation) && ce.Status == 409 && attempt == 0 {
				continue
			}
			return nil, ce
		}
		a := res.Appointment
		if a == nil {
			a = cur.Appointment
		}
		return &Booked{ODS: ods, Appointment: a, ETag: res.ETag}, nil
	}
}

// HubAppointment is one of a patient's appointments at one practice.
type HubAppointment struct {
	ODS         string
	PatientID   string
	Appointment *fhir.Appointment
}

// Ref is the appointment's hub reference, "{ODS}/{appointmentId}".
func (a *HubAppointment) Ref() string { return a.ODS + "/" + a.Appointment.ID }

// PatientAppointments lists the patient's appointments (cancelled ones too)
// between two dates at every member practice where the patient is
// registered, in parallel with the same bounds as Search. Zero from is
// today and zero to is MaxSearchDays after from (ListRange), so the list
// reaches as far as a search with the default start, and with it every
// booking made from one. Practices that failed are listed, as are those
// whose directory entry lacks patient search or retrieve (nothing is sent
// to them); practices where the patient is not registered are not
// failures. Returns ENHSNUMBER, EPARAM (a reversed range, or one ending
// before today) or ENOTFOUND (kind "hub").
func (h *Hub) PatientAppointments(ctx context.Context, hubName, nhs string, from, to time.Time) ([]HubAppointment, []Failure, error) {
	if !scheduling.ValidNHSNumber(nhs) {
		return nil, nil, scheduling.Errorf(scheduling.ENHSNUMBER, "%q is not a valid NHS number", nhs)
	}
	// Practices refuse a range reaching into the past (spec §7.4); past
	// appointments are not listed anyway, so it starts today at the earliest.
	from, to, err := h.ListRange(from, to)
	if err != nil {
		return nil, nil, err
	}
	hub, err := h.Dir.HubByName(ctx, hubName)
	if err != nil {
		return nil, nil, err
	}
	cfg := h.Config.withDefaults()
	eps, err := h.Dir.EndpointsByODS(ctx, hub.Members)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Deadline)
	defer cancel()
	var (
		mu    sync.Mutex
		out   []HubAppointment
		fails []Failure
		wg    sync.WaitGroup
	)
	sem := make(chan struct{}, cfg.Concurrency)
	for _, ods := range hub.Members {
		ep := eps[ods]
		// Goroutines of earlier members append to fails under mu already.
		switch {
		case ep == nil:
			mu.Lock()
			fails = append(fails, Failure{ODS: ods, Reason: ReasonUnknown, Detail: "not in the endpoint directory"})
			mu.Unlock()
			continue
		case !ep.Enabled:
			mu.Lock()
			fails = append(fails, Failure{ODS: ods, Reason: ReasonDisabled, Detail: "switched off in the endpoint directory"})
			mu.Unlock()
			continue
		}
		if miss := unsupported(ep, gpconnect.SearchPatient, gpconnect.SearchPatientAppointment); miss != "" {
			mu.Lock()
			fails = append(fails, Failure{ODS: ods, Reason: ReasonDisabled, Detail: miss})
			mu.Unlock()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				mu.Lock()
				fails = append(fails, Failure{ODS: ods, Reason: ReasonTimeout, Detail: "not reached before the overall deadline"})
				mu.Unlock()
				return
			}
			release, ok := h.room(ctx)
			if !ok {
				mu.Lock()
				fails = append(fails, *noRoom(ods))
				mu.Unlock()
				return
			}
			defer release()
			found, err := readRetry(ctx, cfg.PracticeTimeout, func(ctx context.Context) ([]*fhir.Patient, error) { return h.Client.FindPatient(ctx, ep, nhs) })
			var appts []*fhir.Appointment
			if err == nil && len(found) > 0 {
				appts, err = readRetry(ctx, cfg.PracticeTimeout, func(ctx context.Context) ([]*fhir.Appointment, error) {
					return h.Client.RetrieveAppointments(ctx, ep, found[0].ID, from, to)
				})
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				ce := Classify(err)
				fails = append(fails, Failure{ODS: ods, Reason: ce.Reason, Status: ce.Status, Detail: ce.Detail})
				return
			}
			for _, a := range appts {
				out = append(out, HubAppointment{ODS: ods, PatientID: found[0].ID, Appointment: a})
			}
		}()
	}
	wg.Wait()
	slices.SortFunc(out, func(a, b HubAppointment) int {
		if c := compareStarts(a.Appointment.Start, b.Appointment.Start); c != 0 {
			return c
		}
		return strings.Compare(a.Ref(), b.Ref())
	})
	slices.SortFunc(fails, func(a, b Failure) int { return strings.Compare(a.ODS, b.ODS) })
	return out, fails, nil
}

// compareStarts orders two appointment starts as instants (two offsets
// make text order wrong across a clock change), falling back to the text.
func compareStarts(a, b string) int {
	ta, ea := time.Parse(scheduling.LocalLayout, a)
	tb, eb := time.Parse(scheduling.LocalLayout, b)
	if ea == nil && eb == nil {
		return ta.Compare(tb)
	}
	return strings.Compare(a, b)
}

// Describe renders an appointment in one line for the CLI.
func Describe(ods string, a *fhir.Appointment) string {
	return fmt.Sprintf("%s/%s  %s  %s to %s  %q", ods, a.ID, a.Status, a.Start, a.End, a.Description)
}

// callTimeout bounds one call of a booking flow: twice the fan-out's
// per-practice deadline, since a write does more work than a search.
func (h *Hub) callTimeout() time.Duration { return 2 * h.Config.withDefaults().PracticeTimeout }

// within runs one call with its own deadline.
func within[T any](ctx context.Context, d time.Duration, fn func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return fn(ctx)
}

// readRetry runs an idempotent call with its own deadline and tries once
// more after a timeout or a 502/503/504, if the caller's context allows.
// Writes are never retried: a booking that timed out may have been made.
func readRetry[T any](ctx context.Context, d time.Duration, fn func(context.Context) (T, error)) (T, error) {
	v, err := within(ctx, d, fn)
	if err == nil || ctx.Err() != nil {
		return v, err
	}
	if ce := Classify(err); ce.Reason == ReasonTimeout || ce.Retryable() {
		return within(ctx, d, fn)
	}
	return v, err
}
