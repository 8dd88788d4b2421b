package admin

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// ExplainInput is "why does this consumer see (no) slots in this period?".
type ExplainInput struct {
	OrgType     string
	ConsumerODS string
	Start, End  time.Time
	// Now is the moment to explain for; zero means now.
	Now time.Time
	// DOSID is the DOS service id the consumer sends as service.identifier ("" for none).
	DOSID string
}

// ReasonCount is how many slots one rule removed.
type ReasonCount struct {
	Reason string `json:"reason"`
	Label  string `json:"label"`
	Count  int    `json:"count"`
}

// ExplainSession is one session's part of an explanation.
type ExplainSession struct {
	ID     int64  `json:"id"`
	Start  string `json:"start"`
	End    string `json:"end"`
	Status string `json:"status"`
	// Type is the session's schedule type (service category) and TemplateID
	// the weekly template it came from (0 for a one-off session).
	Type           string        `json:"type"`
	TemplateID     int64         `json:"template_id"`
	PractitionerID int64         `json:"practitioner_id"`
	Clinician      string        `json:"clinician"`
	LocationID     int64         `json:"location_id"`
	Location       string        `json:"location"`
	Total          int           `json:"total"`
	Offered        int           `json:"offered"`
	Removed        []ReasonCount `json:"removed"`
}

// Explanation is what Explain answers.
type Explanation struct {
	Practice    string `json:"practice"`
	OrgType     string `json:"org_type"`
	ConsumerODS string `json:"consumer_ods"`
	// DOSID is the service.identifier explained ("" for none), and
	// ServiceFiltering the practice's effective filtering status.
	DOSID            string `json:"dos_id"`
	ServiceFiltering string `json:"service_filtering"`
	Start            string `json:"start"`
	End              string `json:"end"`
	Now              string `json:"now"`
	// Total is every slot lying fully inside the period, whatever its state.
	Total int `json:"total"`
	// Offered is how many a slot search by this consumer returns now.
	Offered  int              `json:"offered"`
	Removed  []ReasonCount    `json:"removed"`
	Sessions []ExplainSession `json:"sessions"`
	Notes    []string         `json:"notes"`
}

// ReasonLabels describes each reason for people.
var ReasonLabels = map[scheduling.Reason]string{
	scheduling.ReasonNotEnabled:    "GP Connect switched off at the practice",
	scheduling.ReasonCapabilityOff: "Appointment Management switched off",
	scheduling.ReasonPast:          "already started",
	scheduling.ReasonBooked:        "booked",
	scheduling.ReasonBlocked:       "blocked by the practice",
	scheduling.ReasonCancelled:     "session cancelled by the practice",
	scheduling.ReasonNotBookable:   "profile not GP Connect bookable",
	scheduling.ReasonOrgType:       "restricted to other organisation types",
	scheduling.ReasonODS:           "restricted to other ODS codes",
	scheduling.ReasonWindow:        "outside the booking window (too far ahead)",
	scheduling.ReasonEmbargo:       "under embargo (too close, or not released yet)",
	scheduling.ReasonCap:           "profile's booking cap reached",
	scheduling.ReasonOtherService:  "session not linked to the DOS service asked for",
}

func reasonCounts(c scheduling.Counts, all bool) []ReasonCount {
	out := []ReasonCount{}
	for _, r := range scheduling.ExplainReasons {
		if n := c.Removed[r]; n > 0 || all {
			out = append(out, ReasonCount{Reason: string(r), Label: ReasonLabels[r], Count: n})
		}
	}
	return out
}

// ParsePeriod reads explain's start and end as a consumer's slot search
// sends them after its ge and le prefixes, with that search's own rules
// (scheduling.ParseSearchTime and SearchPeriod): explain answers for the
// search, so a period the search refuses is refused here too, saying the
// search would refuse it, rather than explained as if a consumer could ask
// for it. startName and endName are how the caller's user spells the two
// ("start" in the API, "--start" in the CLI). Spaces around a value are
// ignored. Errors: EPARAM.
func ParsePeriod(start, end, startName, endName string) (time.Time, time.Time, error) {
	start, end = strings.TrimSpace(start), strings.TrimSpace(end)
	if start == "" || end == "" {
		return time.Time{}, time.Time{}, scheduling.Errorf(scheduling.EPARAM,
			"%s and %s are required (YYYY-MM-DD, or YYYY-MM-DDThh:mm:ss with the UK offset, e.g. 2026-12-08T09:00:00+00:00)", startName, endName)
	}
	from, _, err := scheduling.ParseSearchTime(start)
	if err != nil {
		return time.Time{}, time.Time{}, refusedBound(startName, start, err)
	}
	to, endDateOnly, err := scheduling.ParseSearchTime(end)
	if err != nil {
		return time.Time{}, time.Time{}, refusedBound(endName, end, err)
	}
	if from, to, err = scheduling.SearchPeriod(from, to, endDateOnly); err != nil {
		return time.Time{}, time.Time{}, scheduling.Errorf(scheduling.EPARAM, "%s %s, %s %s: a slot search for this period is refused (422 INVALID_PARAMETER: %s)",
			startName, start, endName, end, scheduling.ErrorMessage(err))
	}
	return from, to, nil
}

// refusedBound says that a search would refuse one bound, and for a
// dateTime refused for its offset or form, what to send instead: the same
// wall-clock time with the offset of that date's season.
func refusedBound(name, v string, err error) error {
	msg := fmt.Sprintf("%s: a slot search sending this is refused (422 INVALID_PARAMETER: %s)", name, scheduling.ErrorMessage(err))
	if ex, ok := scheduling.SearchTimeExample(v); ok {
		msg += fmt.Sprintf("; the UK offset on %s is %s, e.g. %s", ex[:10], ex[len(ex)-6:], ex)
	}
	return scheduling.Errorf(scheduling.EPARAM, "%s", msg)
}

// Explain counts, for one consumer and period, the slots there are, how many
// a search offers, and how many each rule removed, practice-wide and per
// session. It classifies slots with scheduling.Why, the function the search
// itself filters with, so the two cannot disagree. Errors: EPARAM (period).
func (s *Service) Explain(ctx context.Context, a Actor, ods string, in ExplainInput) (*Explanation, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return nil, err
	}
	if in.Start.IsZero() || in.End.IsZero() {
		return nil, scheduling.Errorf(scheduling.EPARAM, "start and end are required")
	}
	if in.End.Before(in.Start) {
		return nil, scheduling.Errorf(scheduling.EPARAM, "the end of the period is before its start")
	}
	if in.End.Sub(in.Start) > MaxExplainPeriod {
		return nil, scheduling.Errorf(scheduling.EPARAM, "explain at most %d days at a time", int(MaxExplainPeriod.Hours()/24))
	}
	now := in.Now
	if now.IsZero() {
		now = s.Now()
	}
	q := scheduling.ExplainQuery{PracticeID: org.ID, Start: in.Start, End: in.End, Now: now,
		Consumer: scheduling.NewConsumer(in.OrgType, in.ConsumerODS)}
	filtering := s.Supplier.Status(org)
	// Trimmed, as the search reads service.identifier.
	in.DOSID = strings.TrimSpace(in.DOSID)
	if in.DOSID != "" && filtering == scheduling.FilteringEnabled {
		h, err := s.st.HealthcareServiceByDOS(ctx, org.ID, in.DOSID)
		if scheduling.ErrorCode(err) == scheduling.ENOTFOUND {
			return nil, scheduling.Errorf(scheduling.EPARAM, "the practice lists no service with DOS id %q: a slot search naming it gets 404 NO_RECORD_FOUND "+
				"(slotbridge admin services list)", in.DOSID)
		}
		if err != nil {
			return nil, err
		}
		q.ServiceID = h.ID
	}
	slots, err := s.st.SlotsInPeriod(ctx, org.ID, q.Start, q.End)
	if err != nil {
		return nil, err
	}
	profiles, err := s.st.AccessProfiles(ctx, org.ID)
	if err != nil {
		return nil, err
	}
	var schedIDs []int64
	seen := map[int64]bool{}
	for _, sl := range slots {
		if !seen[sl.ScheduleID] {
			seen[sl.ScheduleID] = true
			schedIDs = append(schedIDs, sl.ScheduleID)
		}
	}
	schedules, err := s.st.SchedulesByIDs(ctx, schedIDs)
	if err != nil {
		return nil, err
	}
	var locIDs, pracIDs []int64
	for _, sc := range schedules {
		locIDs = append(locIDs, sc.LocationID)
		if sc.PractitionerID != 0 {
			pracIDs = append(pracIDs, sc.PractitionerID)
		}
	}
	locs, err := s.st.LocationsByIDs(ctx, locIDs)
	if err != nil {
		return nil, err
	}
	pracs, err := s.st.PractitionersByIDs(ctx, pracIDs)
	if err != nil {
		return nil, err
	}
	ex := scheduling.Explain(org, slots, schedules, profiles, q)
	out := &Explanation{Practice: org.ODS, OrgType: q.Consumer.OrgType, ConsumerODS: q.Consumer.ODS, DOSID: in.DOSID,
		ServiceFiltering: string(filtering), Start: scheduling.FormatLocal(q.Start),
		End: scheduling.FormatLocal(q.End), Now: scheduling.FormatLocal(now), Total: ex.Total, Offered: ex.Offered,
		Removed: reasonCounts(ex.Counts, true), Sessions: []ExplainSession{}, Notes: []string{}}
	for _, se := range ex.Sessions {
		sc := se.Schedule
		es := ExplainSession{ID: sc.ID, Start: scheduling.FormatLocal(sc.Start), End: scheduling.FormatLocal(sc.End), Status: sc.Status,
			Type: sc.ServiceCategory, TemplateID: sc.TemplateID, PractitionerID: sc.PractitionerID, LocationID: sc.LocationID, Total: se.Total, Offered: se.Offered, Removed: reasonCounts(se.Counts, false)}
		if p := pracs[sc.PractitionerID]; p != nil {
			es.Clinician = clinicianName(p)
		}
		if l := locs[sc.LocationID]; l != nil {
			es.Location = l.Name
		}
		out.Sessions = append(out.Sessions, es)
	}
	out.Notes = notes(ex, q)
	// The commonest empty answer for a far period: its sessions are not made yet.
	last, err := s.st.LastSessionEnd(ctx, org.ID)
	if err != nil {
		return nil, err
	}
	// By local day: the last day's sessions end before the day does, and a
	// period ending at a midnight holds none of the day that begins there.
	lastDay := scheduling.LocalMidnight(q.End.Add(-time.Nanosecond))
	switch {
	case last.IsZero():
		out.Notes = append(out.Notes, "The practice has no sessions at all: add weekly templates (slotbridge admin templates create) or one-off sessions.")
	case lastDay.After(scheduling.LocalMidnight(last)):
		out.Notes = append(out.Notes, fmt.Sprintf("The practice's sessions run only to %s: the server makes them from the weekly templates "+
			"--horizon-weeks ahead (6 by default) and tops them up hourly, so the period's later days have none yet.", scheduling.FormatLocal(last)))
	}
	if in.DOSID != "" && filtering != scheduling.FilteringEnabled {
		out.Notes = append(out.Notes, fmt.Sprintf("Service filtering is %s here, so service.identifier is ignored: every service's slots are counted "+
			"(slotbridge admin enable --switch service_filtering).", filtering))
	}
	return out, nil
}

func clinicianName(p *scheduling.Practitioner) string {
	parts := append(append([]string{}, p.Prefix...), p.Given...)
	parts = append(parts, p.Family)
	return strings.Join(parts, " ")
}

// notes says in words what the numbers mean.
func notes(ex *scheduling.Explanation, q scheduling.ExplainQuery) []string {
	var out []string
	switch ex.Switch {
	case scheduling.ReasonNotEnabled:
		out = append(out, "GP Connect is switched off: every request gets 403 ACCESS_DENIED, not an empty list (slotbridge admin enable).")
	case scheduling.ReasonCapabilityOff:
		out = append(out, "Appointment Management is switched off: slot searches get 403 ACCESS_DENIED (slotbridge admin enable).")
	}
	if ex.Total == 0 {
		out = append(out, "No slot lies fully inside the period: check the session templates and that sessions were made for these dates.")
	}
	if t := q.Consumer.OrgType; t != "" && !gpconnect.OrganisationType(t).Valid() {
		out = append(out, fmt.Sprintf("Organisation type %q is not a GPConnect-OrganisationType-1 code (gp-practice, urgent-care): "+
			"it never matches a slot restricted by organisation type.", t))
	}
	if q.Consumer.OrgType == "" && q.Consumer.ODS == "" {
		out = append(out, "No consumer given: only slots with no organisation-type and no ODS restriction are offered (spec §5.4).")
	}
	if n := ex.Removed[scheduling.ReasonOrgType] + ex.Removed[scheduling.ReasonODS]; n > 0 {
		out = append(out, fmt.Sprintf("%d slot(s) are restricted to other consumers by their access profiles.", n))
	}
	return out
}
