package consumer

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// FormatLocal renders t as GP Connect wants a dateTime: UK local time with
// seconds and a numeric offset, never Z.
func FormatLocal(t time.Time) string { return scheduling.FormatLocal(t) }

// FormatDate renders t's UK calendar date as YYYY-MM-DD.
func FormatDate(t time.Time) string { return scheduling.FormatDate(t) }

// LocalMidnight is 00:00 UK local time on t's UK calendar date.
func LocalMidnight(t time.Time) time.Time { return scheduling.LocalMidnight(t) }

// Includes selects the _include:recurse parameters of a slot search
// (_include=Slot:schedule is always sent).
type Includes struct {
	Practitioner, Location, HealthcareService, Organization bool
}

// AllIncludes asks for every related resource.
var AllIncludes = Includes{Practitioner: true, Location: true, HealthcareService: true, Organization: true}

// SlotQuery is a search for free slots (spec §5.1).
type SlotQuery struct {
	// Start and End bound the search (at most 14 days apart); sent as
	// ge/le dateTimes in UK local time, or as dates when DateOnly.
	Start, End time.Time
	DateOnly   bool
	// Includes picks the related resources to return.
	Includes Includes
	// ODS and OrgType are the searchFilters: the booking organisation's ODS
	// code and its GPConnect-OrganisationType-1 code; empty ones are not sent.
	ODS     string
	OrgType gpconnect.OrganisationType
	// ServiceID is the DOS service id (service.identifier), sent when set.
	ServiceID string
	// ExtraFilters are further searchFilter values ("system|code").
	ExtraFilters []string
}

// Values encodes the query as GP Connect parameters.
func (q SlotQuery) Values() url.Values {
	v := url.Values{}
	if q.DateOnly {
		v.Set("start", "ge"+FormatDate(q.Start))
		v.Set("end", "le"+FormatDate(q.End))
	} else {
		v.Set("start", "ge"+FormatLocal(q.Start))
		v.Set("end", "le"+FormatLocal(q.End))
	}
	v.Set("status", "free")
	v.Set("_include", "Slot:schedule")
	if q.Includes.Practitioner {
		v.Add("_include:recurse", "Schedule:actor:Practitioner")
	}
	if q.Includes.Location {
		v.Add("_include:recurse", "Schedule:actor:Location")
	}
	if q.Includes.HealthcareService {
		v.Add("_include:recurse", "Schedule:actor:HealthcareService")
	}
	if q.Includes.Organization {
		v.Add("_include:recurse", "Location:managingOrganization")
	}
	if q.ODS != "" {
		v.Add("searchFilter", gpconnect.SystemODSOrganisation+"|"+q.ODS)
	}
	if q.OrgType != "" {
		v.Add("searchFilter", gpconnect.SystemOrganisationType+"|"+string(q.OrgType))
	}
	for _, f := range q.ExtraFilters {
		v.Add("searchFilter", f)
	}
	if q.ServiceID != "" {
		v.Set("service.identifier", gpconnect.SystemDOSService+"|"+q.ServiceID)
	}
	return v
}

// SlotResult is a decoded slot search Bundle with its related resources
// indexed by id, so that consumers resolve references by type and id (never
// by fullUrl, spec §5.5).
type SlotResult struct {
	// Bundle is the searchset as received.
	Bundle *fhir.Bundle
	// Slots in Bundle order.
	Slots []*fhir.Slot
	// Related resources by logical id.
	Schedules          map[string]*fhir.Schedule
	Practitioners      map[string]*fhir.Practitioner
	Locations          map[string]*fhir.Location
	HealthcareServices map[string]*fhir.HealthcareService
	Organizations      map[string]*fhir.Organization
	// FilteringStatus is the ServiceFilteringStatus extension of Bundle.meta ("" when absent).
	FilteringStatus string
	// Query is the search that found the slots (nil from NewSlotResult):
	// NewBooking takes the booking organisation's type from its org-type filter.
	Query *SlotQuery
}

// SearchSlots searches for free slots. A range q.Check refuses (empty,
// inverted or over 14 days) is not sent: the error wraps ErrInvalidRequest.
// Refusals: 400 BAD_REQUEST (missing parameter), 422 INVALID_PARAMETER
// (dates, range, status), 404 NO_RECORD_FOUND (unknown service.identifier
// with filtering on), 403 ACCESS_DENIED.
func (c *Client) SearchSlots(ctx context.Context, q SlotQuery, opts ...Option) (*SlotResult, error) {
	if err := q.Check(); err != nil {
		return nil, err
	}
	b, err := c.search(ctx, "Slot", q.Values(), gpconnect.SearchSlot, opts)
	if err != nil {
		return nil, err
	}
	r := NewSlotResult(b)
	r.Query = &q
	return r, nil
}

// NewSlotResult indexes a slot search Bundle.
func NewSlotResult(b *fhir.Bundle) *SlotResult {
	r := &SlotResult{Bundle: b, Schedules: map[string]*fhir.Schedule{}, Practitioners: map[string]*fhir.Practitioner{},
		Locations: map[string]*fhir.Location{}, HealthcareServices: map[string]*fhir.HealthcareService{}, Organizations: map[string]*fhir.Organization{}}
	for _, e := range b.Entry {
		switch x := e.Resource.(type) {
		case *fhir.Slot:
			r.Slots = append(r.Slots, x)
		case *fhir.Schedule:
			r.Schedules[x.ID] = x
		case *fhir.Practitioner:
			r.Practitioners[x.ID] = x
		case *fhir.Location:
			r.Locations[x.ID] = x
		case *fhir.HealthcareService:
			r.HealthcareServices[x.ID] = x
		case *fhir.Organization:
			r.Organizations[x.ID] = x
		}
	}
	if b.Meta != nil {
		for _, e := range b.Meta.Extension {
			if e.URL == gpconnect.ExtServiceFilteringState && e.ValueCode != nil {
				r.FilteringStatus = *e.ValueCode
			}
		}
	}
	return r
}

// RefID splits a relative reference "Type/id" and checks its type; ok is false otherwise.
func RefID(ref, typ string) (string, bool) {
	t, id, found := strings.Cut(ref, "/")
	if !found || t != typ || id == "" || strings.Contains(id, "/") {
		return "", false
	}
	return id, true
}

// Schedule returns the slot's Schedule, nil when the Bundle lacks it.
func (r *SlotResult) Schedule(s *fhir.Slot) *fhir.Schedule {
	id, ok := RefID(s.Schedule.Reference, "Schedule")
	if !ok {
		return nil
	}
	return r.Schedules[id]
}

// ActorRef returns the schedule's first actor reference of type typ ("" if none).
func ActorRef(sc *fhir.Schedule, typ string) string {
	if sc == nil {
		return ""
	}
	for _, a := range sc.Actor {
		if _, ok := RefID(a.Reference, typ); ok {
			return a.Reference
		}
	}
	return ""
}

// Location returns the Location where the slot's appointment happens, nil when not included.
func (r *SlotResult) Location(s *fhir.Slot) *fhir.Location {
	id, _ := RefID(ActorRef(r.Schedule(s), "Location"), "Location")
	return r.Locations[id]
}

// Practitioner returns the slot's clinician, nil when there is none or it was not included.
func (r *SlotResult) Practitioner(s *fhir.Slot) *fhir.Practitioner {
	id, _ := RefID(ActorRef(r.Schedule(s), "Practitioner"), "Practitioner")
	return r.Practitioners[id]
}

// ExtensionCode returns the valueCode of the first extension with url ("" if none).
func ExtensionCode(exts []fhir.Extension, url string) string {
	for _, e := range exts {
		if e.URL == url && e.ValueCode != nil {
			return *e.ValueCode
		}
	}
	return ""
}

// BookingOrg is the organisation making a booking, contained in the Appointment.
type BookingOrg struct {
	// ODS code, name and phone are required by GP Connect.
	ODS, Name, Phone string
	// OrgType is set only if the same type was sent as a searchFilter (spec §6.2).
	OrgType gpconnect.OrganisationType
}

// Booking is what NewBooking needs beyond the slots.
type Booking struct {
	// PatientID is the provider's logical Patient id (from FindPatient or RegisterPatient).
	PatientID string
	// Org is the booking organisation.
	Org BookingOrg
	// Description (at most 100 characters) is required; Comment (at most 500) is optional.
	Description, Comment string
	// Created is the booking time (now when zero).
	Created time.Time
}

// ErrBadSlots is returned by NewBooking for slots that cannot share one appointment.
var ErrBadSlots = errors.New("consumer: slots cannot be booked together")

// NewBooking builds a GPConnect-Appointment-1 for one or more slots of this
// result. Several slots must be adjacent, of one schedule, one delivery
// channel and one slot type (spec §6.3). The Location participant comes from
// the schedule; so do the Practitioner and HealthcareService when present.
// The organisation's type defaults to the search's org-type filter; another
// is ErrOrgType (spec §6.2).
// A description over 100 characters, a comment over 500, or a slot that has
// started by bk.Created (or now) is refused with ErrInvalidRequest.
func (r *SlotResult) NewBooking(slots []*fhir.Slot, bk Booking) (*fhir.Appointment, error) {
	if len(slots) == 0 {
		return nil, fmt.Errorf("%w: no slot given", ErrBadSlots)
	}
	if bk.PatientID == "" || bk.Org.ODS == "" || bk.Org.Name == "" || bk.Org.Phone == "" || bk.Description == "" {
		return nil, errors.New("consumer: a booking needs a patient id, the booking organisation's ODS code, name and phone, and a description")
	}
	if err := checkBooking(slots, bk, orNow(bk.Created)); err != nil {
		return nil, err
	}
	orgType, err := r.bookingOrgType(bk.Org.OrgType)
	if err != nil {
		return nil, err
	}
	bk.Org.OrgType = orgType
	first := slots[0]
	sc := r.Schedule(first)
	if sc == nil {
		return nil, fmt.Errorf("%w: schedule %q of slot %s is not in the bundle", ErrBadSlots, first.Schedule.Reference, first.ID)
	}
	loc := ActorRef(sc, "Location")
	if loc == "" {
		return nil, fmt.Errorf("%w: schedule %s has no Location actor", ErrBadSlots, sc.ID)
	}
	channel := ExtensionCode(first.Extension, gpconnect.ExtDeliveryChannel)
	stype := serviceText(first.ServiceType)
	for i := 1; i < len(slots); i++ {
		s, prev := slots[i], slots[i-1]
		switch {
		case s.Schedule.Reference != first.Schedule.Reference:
			return nil, fmt.Errorf("%w: slots %s and %s are on different schedules", ErrBadSlots, first.ID, s.ID)
		case s.Start != prev.End:
			return nil, fmt.Errorf("%w: slot %s does not start when %s ends", ErrBadSlots, s.ID, prev.ID)
		case ExtensionCode(s.Extension, gpconnect.ExtDeliveryChannel) != channel:
			return nil, fmt.Errorf("%w: slots %s and %s have different delivery channels", ErrBadSlots, first.ID, s.ID)
		case serviceText(s.ServiceType) != stype:
			return nil, fmt.Errorf("%w: slots %s and %s have different slot types", ErrBadSlots, first.ID, s.ID)
		}
	}
	created := bk.Created
	if created.IsZero() {
		created = time.Now()
	}
	org := &fhir.Organization{ResourceType: "Organization", ID: "1",
		Meta:       &fhir.Meta{Profile: []string{string(gpconnect.ProfileOrganization)}},
		Identifier: []fhir.Identifier{{System: gpconnect.SystemODSOrganisation, Value: bk.Org.ODS}},
		Name:       bk.Org.Name,
		Telecom:    []fhir.ContactPoint{{System: "phone", Value: bk.Org.Phone, Use: "work"}}}
	if bk.Org.OrgType != "" {
		org.Type = []fhir.CodeableConcept{{Coding: []fhir.Coding{{System: gpconnect.SystemOrganisationType, Code: string(bk.Org.OrgType), Display: bk.Org.OrgType.Display()}}}}
	}
	a := &fhir.Appointment{ResourceType: "Appointment",
		Meta:        &fhir.Meta{Profile: []string{string(gpconnect.ProfileAppointment)}},
		Contained:   fhir.ResourceList{org},
		Extension:   []fhir.Extension{{URL: gpconnect.ExtBookingOrganisation, ValueReference: &fhir.Reference{Reference: "#1"}}},
		Status:      "booked",
		Description: bk.Description,
		Start:       first.Start,
		End:         slots[len(slots)-1].End,
		Created:     FormatLocal(created),
		Comment:     bk.Comment,
	}
	if channel != "" {
		ch := channel
		a.Extension = append(a.Extension, fhir.Extension{URL: gpconnect.ExtDeliveryChannel, ValueCode: &ch})
	}
	for _, e := range sc.Extension {
		if e.URL == gpconnect.ExtPractitionerRole && e.ValueCodeableConcept != nil {
			a.Extension = append(a.Extension, e)
		}
	}
	for _, s := range slots {
		a.Slot = append(a.Slot, fhir.Reference{Reference: "Slot/" + s.ID})
	}
	a.Participant = append(a.Participant,
		fhir.AppointmentParticipant{Actor: &fhir.Reference{Reference: "Patient/" + bk.PatientID}, Status: "accepted"},
		fhir.AppointmentParticipant{Actor: &fhir.Reference{Reference: loc}, Status: "accepted"})
	for _, typ := range []string{"Practitioner", "HealthcareService"} {
		if ref := ActorRef(sc, typ); ref != "" {
			a.Participant = append(a.Participant, fhir.AppointmentParticipant{Actor: &fhir.Reference{Reference: ref}, Status: "accepted"})
		}
	}
	return a, nil
}

func serviceText(cc []fhir.CodeableConcept) string {
	if len(cc) == 0 {
		return ""
	}
	return cc[0].Text
}
