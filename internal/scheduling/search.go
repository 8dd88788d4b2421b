package scheduling

import "time"

// SlotSearch is a parsed search for free slots at one practice.
type SlotSearch struct {
	PracticeID int64
	Start, End time.Time
	Consumer   Consumer
	Now        time.Time
}

// SlotResult is what a slot search found, with the resources its Bundle needs.
type SlotResult struct {
	Slots         []Slot
	Schedules     map[int64]*Schedule
	Practitioners map[int64]*Practitioner
	Locations     map[int64]*Location
}

// Why returns the first slot-level rule that withholds s from consumer c at
// now, or ReasonNone when it is offered: the single place §5.4 and the
// practice's booking rules are applied to a slot. The search (the store's
// SearchFreeSlots) and the admin explanation both call it, so they cannot
// disagree. The practice
// switches are not slot rules: see SwitchReason.
func Why(s Slot, profiles map[int64]*AccessProfile, c Consumer, now time.Time) Reason {
	if !s.Start.After(now) {
		return ReasonPast
	}
	switch s.Status {
	case SlotFree:
	case SlotBlocked:
		return ReasonBlocked
	default:
		return ReasonBooked
	}
	return profiles[s.AccessProfileID].Offer(c, now, s.Start)
}

// SwitchReason returns why a practice serves no slots at all (GP Connect or
// Appointment Management switched off), or ReasonNone.
func SwitchReason(o *Organisation) Reason {
	switch {
	case !o.GPConnectEnabled:
		return ReasonNotEnabled
	case !o.AppointmentsEnabled:
		return ReasonCapabilityOff
	}
	return ReasonNone
}

// OnlyService keeps the slots whose schedule is linked to service id: the
// service filter of 1.2.8 (spec §5.10), applied after the access rules.
func (r *SlotResult) OnlyService(id int64) {
	out := r.Slots[:0]
	for _, sl := range r.Slots {
		if sc := r.Schedules[sl.ScheduleID]; sc != nil && sc.HealthcareServiceID == id {
			out = append(out, sl)
		}
	}
	r.Slots = out
}
