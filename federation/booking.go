package federation

import (
	"context"
	"fmt"
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
	// From and To bound the search that finds the slot's schedule data again (default today to 28 days on).
	From, To time.Time
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
}

// Ref is the appointment's hub reference, "{ODS}/{appointmentId}".
func (b *Booked) Ref() string { return b.ODS + "/" + b.Appointment.ID }

// member checks that ods belongs to the hub and returns its directory entry.
// Returns ENOTFOUND (kind "hub", "member" or "endpoint") and EFORBIDDEN when switched off.
func (h *Hub) member(ctx context.Context, hubName, ods string) (*scheduling.Endpoint, error) {
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
	return ep, nil
}

// Book finds the slot at its practice (for its schedule, location and
// practitioner), finds the patient there or registers them as temporary,
// and books. Errors: ENOTFOUND (hub, member, slot), EINVALID (bad reference,
// or the patient is not registered and no demographics were given), or a
// *CallError from the practice (e.g. DUPLICATE_REJECTED when the slot was just taken).
func (h *Hub) Book(ctx context.Context, hubName string, r BookRequest) (*Booked, error) {
	ods, slotID, err := ParseRef(r.Slot)
	if err != nil {
		return nil, scheduling.Errorf(scheduling.EINVALID, "%v", err)
	}
	if !scheduling.ValidNHSNumber(r.Patient.NHSNumber) {
		return nil, scheduling.Errorf(scheduling.ENHSNUMBER, "%q is not a valid NHS number", r.Patient.NHSNumber)
	}
	ctx, cancel := context.WithTimeout(ctx, h.Config.withDefaults().BookingTimeout)
	defer cancel()
	ep, err := h.member(ctx, hubName, ods)
	if err != nil {
		return nil, err
	}
	sr, fs, err := h.findSlot(ctx, ep, slotID, r.From, r.To)
	if scheduling.ErrorCode(err) == scheduling.ENOTFOUND {
		if b := h.heldBy(ctx, ep, slotID, r); b != nil {
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
	desc := r.Description
	if desc == "" {
		desc = "Booked through hub " + hubName
	}
	org := consumer.BookingOrg{ODS: h.identity().ODS, Name: h.identity().OrgName, Phone: h.identity().Phone,
		OrgType: gpconnect.OrganisationType(h.identity().OrgType)}
	appt, err := sr.NewBooking([]*fhir.Slot{fs}, consumer.Booking{PatientID: pid, Org: org, Description: desc, Comment: r.Comment, Created: h.now()})
	if err != nil {
		return nil, scheduling.Errorf(scheduling.EINVALID, "%v", err)
	}
	res, err := within(ctx, h.callTimeout(), func(ctx context.Context) (*consumer.AppointmentResult, error) { return h.Client.Book(ctx, ep, appt) })
	if err != nil {
		return nil, Classify(err)
	}
	if res.Appointment == nil {
		return nil, &CallError{Reason: ReasonProviderError, Status: res.Status, Detail: "the practice returned no appointment"}
	}
	slots, _ := slotsFrom(ods, &consumer.SlotResult{Slots: []*fhir.Slot{fs}, Schedules: sr.Schedules, Locations: sr.Locations,
		Practitioners: sr.Practitioners, HealthcareServices: sr.HealthcareServices, Organizations: sr.Organizations})
	b := &Booked{ODS: ods, Appointment: res.Appointment, ETag: res.ETag, PatientID: pid, Registered: registered}
	if len(slots) == 1 {
		b.Slot = slots[0]
	}
	return b, nil
}

// heldBy returns the patient's booked appointment at ep on the slot, made by
// this hub's organisation, or nil (also when the practice cannot tell).
func (h *Hub) heldBy(ctx context.Context, ep *scheduling.Endpoint, slotID string, r BookRequest) *Booked {
	found, err := readRetry(ctx, h.callTimeout(), func(ctx context.Context) ([]*fhir.Patient, error) {
		return h.Client.FindPatient(ctx, ep, r.Patient.NHSNumber)
	})
	if err != nil || len(found) == 0 {
		return nil
	}
	from, to := r.From, r.To
	if from.IsZero() || from.Before(h.now()) {
		from = h.now()
	}
	if to.IsZero() {
		to = scheduling.AddDaysLocal(from, 28)
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
					if i.System == gpconnect.SystemODSOrganisation || i.System == gpconnect.SystemODSOrganisationOld {
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

// findSlot searches the practice window by window until the slot turns up.
func (h *Hub) findSlot(ctx context.Context, ep *scheduling.Endpoint, slotID string, from, to time.Time) (*consumer.SlotResult, *fhir.Slot, error) {
	if from.IsZero() {
		from = h.now()
	}
	if to.IsZero() {
		to = scheduling.AddDaysLocal(from, 28)
	}
	for _, w := range SplitWindows(from, to) {
		sr, err := readRetry(ctx, h.callTimeout(), func(ctx context.Context) (*consumer.SlotResult, error) {
			return h.Client.SlotBundle(ctx, ep, SlotRequest{Start: w.Start, End: w.End})
		})
		if err != nil {
			return nil, nil, Classify(err)
		}
		for _, s := range sr.Slots {
			if s.ID == slotID {
				return sr, s, nil
			}
		}
	}
	return nil, nil, scheduling.NotFound("slot", "slot %s/%s is not free between %s and %s (taken, or outside the range)",
		ep.ODS, slotID, scheduling.FormatDate(from), scheduling.FormatDate(to))
}

// patientAt finds the patient at the practice, or registers them as temporary.
func (h *Hub) patientAt(ctx context.Context, ep *scheduling.Endpoint, p PatientDetails) (string, bool, error) {
	found, err := readRetry(ctx, h.callTimeout(), func(ctx context.Context) ([]*fhir.Patient, error) { return h.Client.FindPatient(ctx, ep, p.NHSNumber) })
	if err != nil {
		return "", false, Classify(err)
	}
	if len(found) > 0 {
		return found[0].ID, false, nil
	}
	if p.Family == "" || p.BirthDate == "" {
		return "", false, scheduling.Errorf(scheduling.EINVALID,
			"patient %s is not registered at %s; give their family name, given name, gender and birth date to register them as a temporary patient", p.NHSNumber, ep.ODS)
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

// Amend changes an appointment's description and/or comment (nil leaves one
// as it is). Errors as Book; a stale version (FHIR_CONSTRAINT_VIOLATION) is
// retried once after a fresh read.
func (h *Hub) Amend(ctx context.Context, hubName, ref string, description, comment *string) (*Booked, error) {
	return h.change(ctx, hubName, ref, func(ctx context.Context, ep *scheduling.Endpoint, a *fhir.Appointment) (*consumer.AppointmentResult, error) {
		if description != nil {
			a.Description = *description
		}
		if comment != nil {
			a.Comment = *comment
		}
		return within(ctx, h.callTimeout(), func(ctx context.Context) (*consumer.AppointmentResult, error) { return h.Client.Amend(ctx, ep, a) })
	})
}

// Cancel cancels an appointment with a reason. Errors as Amend.
func (h *Hub) Cancel(ctx context.Context, hubName, ref, reason string) (*Booked, error) {
	if reason == "" {
		return nil, scheduling.Errorf(scheduling.EINVALID, "a cancellation reason is required")
	}
	return h.change(ctx, hubName, ref, func(ctx context.Context, ep *scheduling.Endpoint, a *fhir.Appointment) (*consumer.AppointmentResult, error) {
		return within(ctx, h.callTimeout(), func(ctx context.Context) (*consumer.AppointmentResult, error) {
			return h.Client.Cancel(ctx, ep, a, reason)
		})
	})
}

// change reads the appointment and applies fn, once more on a stale version.
func (h *Hub) change(ctx context.Context, hubName, ref string, fn func(context.Context, *scheduling.Endpoint, *fhir.Appointment) (*consumer.AppointmentResult, error)) (*Booked, error) {
	ods, id, err := ParseRef(ref)
	if err != nil {
		return nil, scheduling.Errorf(scheduling.EINVALID, "%v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, h.Config.withDefaults().BookingTimeout)
	defer cancel()
	ep, err := h.member(ctx, hubName, ods)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		cur, err := readRetry(ctx, h.callTimeout(), func(ctx context.Context) (*consumer.AppointmentResult, error) {
			return h.Client.ReadAppointment(ctx, ep, id)
		})
		if err != nil {
			return nil, Classify(err)
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
// registered, in parallel with the same bounds as Search. Practices that
// failed are listed; practices where the patient is not registered are not failures.
func (h *Hub) PatientAppointments(ctx context.Context, hubName, nhs string, from, to time.Time) ([]HubAppointment, []Failure, error) {
	if !scheduling.ValidNHSNumber(nhs) {
		return nil, nil, scheduling.Errorf(scheduling.ENHSNUMBER, "%q is not a valid NHS number", nhs)
	}
	// Practices refuse a range reaching into the past (spec §7.4); past
	// appointments are not listed anyway, so start today.
	if today := scheduling.LocalMidnight(h.now()); from.Before(today) {
		from = today
	}
	if !to.After(from) {
		return nil, nil, scheduling.Errorf(scheduling.EPARAM, "the range ends before today: only appointments from today on are listed")
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
