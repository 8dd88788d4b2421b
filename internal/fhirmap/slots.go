package fhirmap

import (
	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// Slot maps a slot to GPConnect-Slot-1.
func Slot(s *scheduling.Slot) *fhir.Slot {
	ch := s.DeliveryChannel
	r := &fhir.Slot{ResourceType: "Slot", ID: id(s.ID), Meta: meta(s.Version, gpconnect.ProfileSlot),
		Schedule: Ref("Schedule", s.ScheduleID), Status: string(s.Status),
		Start: scheduling.FormatLocal(s.Start), End: scheduling.FormatLocal(s.End)}
	if ch != "" {
		r.Extension = []fhir.Extension{{URL: gpconnect.ExtDeliveryChannel, ValueCode: &ch}}
	}
	if s.ServiceType != "" {
		r.ServiceType = []fhir.CodeableConcept{{Text: s.ServiceType}}
	}
	return r
}

// RoleConcept is the practitioner-role CodeableConcept for an SDS job role code.
func RoleConcept(code string) *fhir.CodeableConcept {
	return &fhir.CodeableConcept{Coding: []fhir.Coding{{System: gpconnect.SystemSDSJobRoleName, Code: code,
		Display: gpconnect.PractitionerRole(code).Display()}}}
}

// Schedule maps a schedule to GPConnect-Schedule-1.
func Schedule(s *scheduling.Schedule) *fhir.Schedule {
	r := &fhir.Schedule{ResourceType: "Schedule", ID: id(s.ID), Meta: meta(s.Version, gpconnect.ProfileSchedule),
		Actor:           []fhir.Reference{Ref("Location", s.LocationID)},
		PlanningHorizon: &fhir.Period{Start: scheduling.FormatLocal(s.Start), End: scheduling.FormatLocal(s.End)}}
	if s.Role != "" {
		r.Extension = []fhir.Extension{{URL: gpconnect.ExtPractitionerRole, ValueCodeableConcept: RoleConcept(s.Role)}}
	}
	if s.ServiceCategory != "" {
		r.ServiceCategory = &fhir.CodeableConcept{Text: s.ServiceCategory}
	}
	if s.PractitionerID != 0 {
		r.Actor = append(r.Actor, Ref("Practitioner", s.PractitionerID))
	}
	return r
}

// Includes says which related resources a slot Bundle carries.
type Includes struct {
	Practitioner bool
	Location     bool
}

// SlotBundle builds the search-for-free-slots searchset: slots in result
// order, then each schedule, practitioner and location once (in order of first
// use), then the practice Organization, which is always present when a slot is.
func SlotBundle(res *scheduling.SlotResult, practice *scheduling.Organisation, inc Includes) *fhir.Bundle {
	b := fhir.NewSearchset()
	if len(res.Slots) == 0 {
		return b
	}
	b.Entry = make([]fhir.BundleEntry, 0, len(res.Slots)+8)
	var schedOrder []int64
	seen := map[int64]bool{}
	for i := range res.Slots {
		sl := &res.Slots[i]
		b.Entry = append(b.Entry, fhir.BundleEntry{Resource: Slot(sl)})
		if !seen[sl.ScheduleID] {
			seen[sl.ScheduleID] = true
			schedOrder = append(schedOrder, sl.ScheduleID)
		}
	}
	var pracOrder, locOrder []int64
	seenP, seenL := map[int64]bool{}, map[int64]bool{}
	for _, sid := range schedOrder {
		sc := res.Schedules[sid]
		if sc == nil {
			continue
		}
		b.Entry = append(b.Entry, fhir.BundleEntry{Resource: Schedule(sc)})
		if sc.PractitionerID != 0 && !seenP[sc.PractitionerID] {
			seenP[sc.PractitionerID] = true
			pracOrder = append(pracOrder, sc.PractitionerID)
		}
		if !seenL[sc.LocationID] {
			seenL[sc.LocationID] = true
			locOrder = append(locOrder, sc.LocationID)
		}
	}
	if inc.Practitioner {
		for _, pid := range pracOrder {
			if p := res.Practitioners[pid]; p != nil {
				b.Entry = append(b.Entry, fhir.BundleEntry{Resource: Practitioner(p)})
			}
		}
	}
	if inc.Location {
		for _, lid := range locOrder {
			if l := res.Locations[lid]; l != nil {
				b.Entry = append(b.Entry, fhir.BundleEntry{Resource: Location(l)})
			}
		}
	}
	b.Entry = append(b.Entry, fhir.BundleEntry{Resource: Organization(practice)})
	return b
}
