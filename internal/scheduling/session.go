package scheduling

import (
	"fmt"
	"time"
)

// SessionTemplate is a weekly session a practice runs: a clinician at a site
// on a weekday between two local wall-clock times, cut into slots.
type SessionTemplate struct {
	ID              int64
	PracticeID      int64
	Name            string
	Weekday         time.Weekday
	StartLocal      string // "HH:MM" UK local time
	EndLocal        string // "HH:MM" UK local time
	SlotMinutes     int
	LocationID      int64
	PractitionerID  int64
	Role            string
	ServiceCategory string
	ServiceType     string
	// Channels are the delivery channels; slots take them in turn.
	Channels        []string
	AccessProfileID int64
	// HealthcareServiceID is the DOS service its sessions are offered under (0 = none).
	HealthcareServiceID int64
	Active              bool
	Version             int64
}

// Validate reports the first problem with the template, or nil.
func (t *SessionTemplate) Validate() error {
	sh, sm, err1 := parseHHMM(t.StartLocal)
	eh, em, err2 := parseHHMM(t.EndLocal)
	switch {
	case t.Name == "":
		return Errorf(EINVALID, "template name is required")
	case err1 != nil || err2 != nil:
		return Errorf(EINVALID, "start and end must be HH:MM")
	case fmt.Sprintf("%02d:%02d", sh, sm) != t.StartLocal || fmt.Sprintf("%02d:%02d", eh, em) != t.EndLocal:
		return Errorf(EINVALID, "start and end must be HH:MM, two digits each")
	case eh*60+em <= sh*60+sm:
		return Errorf(EINVALID, "end must be after start")
	case t.SlotMinutes <= 0:
		return Errorf(EINVALID, "slot length must be positive")
	case t.SlotMinutes > (eh*60+em)-(sh*60+sm):
		// Any length past a day is caught here too: a session lies within one day.
		return Errorf(EINVALID, "the slot length (%d minutes) is longer than the session (%d minutes)", t.SlotMinutes, (eh*60+em)-(sh*60+sm))
	case ((eh*60+em)-(sh*60+sm))%t.SlotMinutes != 0:
		// The remainder would hold no slot: refuse rather than drop it unseen.
		return Errorf(EINVALID, "the session (%d minutes) is not a whole number of %d-minute slots; its last %d minutes would hold no slot",
			(eh*60+em)-(sh*60+sm), t.SlotMinutes, ((eh*60+em)-(sh*60+sm))%t.SlotMinutes)
	case t.LocationID == 0:
		return Errorf(EINVALID, "a location is required")
	case t.Role == "":
		return Errorf(EINVALID, "a practitioner role is required")
	case t.ServiceCategory == "" || t.ServiceType == "":
		return Errorf(EINVALID, "service category (schedule type) and service type (slot type) are required")
	case len(t.Channels) == 0:
		return Errorf(EINVALID, "at least one delivery channel is required")
	case t.AccessProfileID == 0:
		return Errorf(EINVALID, "an access profile is required")
	}
	return nil
}

func parseHHMM(s string) (int, int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, 0, fmt.Errorf("bad time %q", s)
	}
	return t.Hour(), t.Minute(), nil
}

// Session is a schedule with its slots, before it is stored.
type Session struct {
	Schedule Schedule
	Slots    []Slot
}

// atWallClock is the instant the UK wall clock reads hh:mm on day (a
// session's start or end, a release time). On the spring-change Sunday
// 01:00-01:59 never appears on the clock, which jumps from 01:00 GMT to
// 02:00 BST: a time in that gap is the jump itself, as the clock passes it
// then. (time.Date would instead read it with the winter offset, an hour
// on: a 01:30-02:30 session would vanish and a 01:30-04:00 one start at
// 02:30, with no word to anyone.)
func atWallClock(day time.Time, hh, mm int) time.Time {
	t := AtLocal(day, hh, mm)
	if t.Hour() != hh || t.Minute() != mm {
		jump, _ := t.ZoneBounds()
		return jump
	}
	return t
}

// Sessions generates the template's sessions on every local day in [from, to).
// Times are wall-clock local, so a 09:00 session stays 09:00 across clock changes;
// on the spring-change day a start or end in the missing hour is 02:00 BST (see atWallClock).
func (t *SessionTemplate) Sessions(from, to time.Time) []Session {
	sh, sm, err1 := parseHHMM(t.StartLocal)
	eh, em, err2 := parseHHMM(t.EndLocal)
	if err1 != nil || err2 != nil || t.SlotMinutes <= 0 || len(t.Channels) == 0 {
		return nil
	}
	var out []Session
	for day := LocalMidnight(from); day.Before(to); day = AddDaysLocal(day, 1) {
		if day.Weekday() != t.Weekday {
			continue
		}
		start, end := atWallClock(day, sh, sm), atWallClock(day, eh, em)
		if !start.Before(end) {
			continue
		}
		s := Session{Schedule: Schedule{PracticeID: t.PracticeID, LocationID: t.LocationID, PractitionerID: t.PractitionerID,
			Role: t.Role, ServiceCategory: t.ServiceCategory, Start: start, End: end, AccessProfileID: t.AccessProfileID,
			TemplateID: t.ID, HealthcareServiceID: t.HealthcareServiceID, Status: "active"}}
		step := time.Duration(t.SlotMinutes) * time.Minute
		for i, at := 0, start; !at.Add(step).After(end); i, at = i+1, at.Add(step) {
			s.Slots = append(s.Slots, Slot{PracticeID: t.PracticeID, Start: at, End: at.Add(step), Status: SlotFree,
				DeliveryChannel: t.Channels[i%len(t.Channels)], ServiceType: t.ServiceType, AccessProfileID: t.AccessProfileID})
		}
		out = append(out, s)
	}
	return out
}
