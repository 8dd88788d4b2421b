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

// Offered filters candidate free slots through the practice's access profiles:
// the single place the search applies §5.4 and the practice's booking rules.
func Offered(cands []Slot, profiles map[int64]*AccessProfile, c Consumer, now time.Time) []Slot {
	out := cands[:0:0]
	for _, s := range cands {
		if s.Status != SlotFree || !s.Start.After(now) {
			continue
		}
		if profiles[s.AccessProfileID].Offer(c, now, s.Start) == ReasonNone {
			out = append(out, s)
		}
	}
	return out
}
