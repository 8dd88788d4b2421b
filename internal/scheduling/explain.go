package scheduling

import (
	"cmp"
	"slices"
	"time"
)

// ExplainReasons lists every reason a slot can be withheld, in the order the
// rules are applied; each slot is counted once, under the first rule it fails.
var ExplainReasons = []Reason{ReasonNotEnabled, ReasonCapabilityOff, ReasonPast, ReasonBooked, ReasonBlocked,
	ReasonCancelled, ReasonNotBookable, ReasonOrgType, ReasonODS, ReasonWindow, ReasonEmbargo, ReasonCap, ReasonOtherService}

// ExplainQuery asks "why does this consumer see (no) slots in this period?".
type ExplainQuery struct {
	PracticeID int64
	Start, End time.Time
	Consumer   Consumer
	Now        time.Time
	// ServiceID is the service the consumer filters by (service.identifier
	// with filtering on, spec §5.10); 0 for none. The search applies it
	// after the access rules, and so does Explain.
	ServiceID int64
}

// Counts is how many slots there are, how many are offered, and how many
// each rule removed.
type Counts struct {
	Total   int
	Offered int
	Removed map[Reason]int
}

func (c *Counts) add(r Reason) {
	c.Total++
	if r == ReasonNone {
		c.Offered++
		return
	}
	if c.Removed == nil {
		c.Removed = map[Reason]int{}
	}
	c.Removed[r]++
}

// SessionExplanation is the counts for one session (schedule) in the period.
type SessionExplanation struct {
	Schedule *Schedule
	// Practitioner and Location are filled in by the caller when known.
	Practitioner *Practitioner
	Location     *Location
	Counts
}

// Explanation is the answer to an ExplainQuery: the practice-wide counts and
// the counts per session, sessions ordered by start then id.
type Explanation struct {
	Query ExplainQuery
	// Switch is why the practice serves no slots at all, or ReasonNone.
	Switch Reason
	Counts
	Sessions []*SessionExplanation
}

// Explain classifies every slot lying fully inside the query period (any
// status) with the same rule the search uses (Why), after the practice
// switches. slots must be the practice's slots with start >= q.Start and
// end <= q.End; schedules must hold each slot's schedule.
func Explain(org *Organisation, slots []Slot, schedules map[int64]*Schedule, profiles map[int64]*AccessProfile, q ExplainQuery) *Explanation {
	ex := &Explanation{Query: q, Switch: SwitchReason(org)}
	bySchedule := map[int64]*SessionExplanation{}
	for _, s := range slots {
		if sc := schedules[s.ScheduleID]; sc != nil && sc.Status == SessionRetired {
			continue // replaced by its template's new session, which is counted
		}
		r := ex.Switch
		if r == ReasonNone {
			r = Why(s, profiles, q.Consumer, q.Now)
		}
		if sc := schedules[s.ScheduleID]; r == ReasonBlocked && sc != nil && sc.Status == SessionCancelled {
			// The search sees a blocked slot either way; the practice needs
			// to know it was the whole session it cancelled.
			r = ReasonCancelled
		}
		if r == ReasonNone && q.ServiceID != 0 {
			if sc := schedules[s.ScheduleID]; sc == nil || sc.HealthcareServiceID != q.ServiceID {
				r = ReasonOtherService
			}
		}
		ex.add(r)
		se := bySchedule[s.ScheduleID]
		if se == nil {
			se = &SessionExplanation{Schedule: schedules[s.ScheduleID]}
			if se.Schedule == nil {
				se.Schedule = &Schedule{ID: s.ScheduleID, PracticeID: s.PracticeID}
			}
			bySchedule[s.ScheduleID] = se
			ex.Sessions = append(ex.Sessions, se)
		}
		se.add(r)
	}
	slices.SortFunc(ex.Sessions, func(a, b *SessionExplanation) int {
		if c := a.Schedule.Start.Compare(b.Schedule.Start); c != 0 {
			return c
		}
		return cmp.Compare(a.Schedule.ID, b.Schedule.ID)
	})
	return ex
}
