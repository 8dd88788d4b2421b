package scheduling

import (
	"slices"
	"strings"
	"time"
)

// AccessProfile is a practice's rule set for who may see and book a slot.
type AccessProfile struct {
	ID         int64
	PracticeID int64
	Name       string
	// Bookable is the "GP Connect bookable" flag.
	Bookable bool
	// OrgTypes restricts the slots to these organisation types; empty means no restriction.
	OrgTypes []string
	// ODSCodes restricts the slots to these consumer ODS codes; empty means no restriction.
	ODSCodes []string
	// Cap is the most slots consumers matching the profile may hold booked; 0 means no cap.
	Cap int
	// Booked counts the places the profile's active bookings hold, one per
	// booked slot not yet over. For a capped profile it is the counter a
	// booking claims against the cap (kept by the store; it may count an
	// ended booking until the store's release runs); for an uncapped one,
	// which bookings do not write, the store counts it when it lists profiles.
	Booked int
	// BookingWindow is how far ahead slots may be booked; 0 means no limit.
	BookingWindow time.Duration
	// Embargo is how close to the start a slot may still be booked; 0 means up to the start.
	Embargo time.Duration
	// ReleaseTime ("HH:MM", local) and ReleaseDaysBefore release a day's slots at that time
	// on the given number of days before; ReleaseTime "" means no release rule.
	ReleaseTime       string
	ReleaseDaysBefore int
	Version           int64
}

// Restricted reports whether the profile restricts by organisation type or ODS code.
func (p *AccessProfile) Restricted() bool { return len(p.OrgTypes) > 0 || len(p.ODSCodes) > 0 }

// Consumer is who is asking: the searchFilter values of a search, or the
// booking organisation of a booking.
type Consumer struct {
	OrgType string // "" when not sent
	ODS     string // "" when not sent
	// MoreOrgTypes and MoreODS are further, different values a search's
	// searchFilter sent (spec §5.1 allows 0..n). A slot restricted on that
	// dimension is offered only when every value sent is allowed, so sending
	// more values never shows more slots, and the answer does not depend on
	// their order.
	MoreOrgTypes, MoreODS []string
}

// NewConsumer is the consumer as every path matches it (search, booking,
// explain): the organisation type trimmed, the ODS code trimmed and in
// capitals, as ODS codes are issued.
func NewConsumer(orgType, ods string) Consumer {
	return Consumer{OrgType: strings.TrimSpace(orgType), ODS: strings.ToUpper(strings.TrimSpace(ods))}
}

// Reason is why a slot is not offered to a consumer; "" means it is offered.
type Reason string

// Reasons a slot is withheld, in the order the rules are applied.
const (
	ReasonNone          Reason = ""
	ReasonNotEnabled    Reason = "not_enabled"    // GP Connect switched off at the practice
	ReasonCapabilityOff Reason = "capability_off" // Appointment Management switched off
	ReasonPast          Reason = "past"           // the slot has started
	ReasonBooked        Reason = "booked"         // the slot is booked (busy)
	ReasonBlocked       Reason = "blocked"        // the practice blocked the slot or its session
	ReasonCancelled     Reason = "cancelled"      // the practice cancelled the slot's session (Explain only)
	ReasonNotBookable   Reason = "not_bookable"   // the profile is not GP Connect bookable
	ReasonOrgType       Reason = "org_type"       // restricted to other organisation types
	ReasonODS           Reason = "ods_code"       // restricted to other ODS codes
	ReasonWindow        Reason = "booking_window" // too far ahead
	ReasonEmbargo       Reason = "embargo"        // too close to the start, or not yet released
	ReasonCap           Reason = "cap_reached"    // the profile's cap is used up
	// ReasonOtherService: the consumer asked for one DOS service
	// (service.identifier, filtering on) and the slot's session is not linked to it.
	ReasonOtherService Reason = "other_service"
)

// Matches applies the access-profile table of spec §5.4 (organisation type and ODS code).
// A nil profile means an unrestricted slot.
func (p *AccessProfile) Matches(c Consumer) Reason {
	if p == nil {
		return ReasonNone
	}
	typeOK := len(p.OrgTypes) == 0 || allowed(p.OrgTypes, c.OrgType, c.MoreOrgTypes)
	odsOK := len(p.ODSCodes) == 0 || allowed(p.ODSCodes, c.ODS, c.MoreODS)
	if !typeOK {
		return ReasonOrgType
	}
	if !odsOK {
		return ReasonODS
	}
	return ReasonNone
}

// allowed reports whether a restriction list admits the value sent and every
// further value; nothing sent is not admitted.
func allowed(list []string, first string, more []string) bool {
	if first == "" || !slices.Contains(list, first) {
		return false
	}
	for _, v := range more {
		if !slices.Contains(list, v) {
			return false
		}
	}
	return true
}

// Timing applies the booking window and embargo rules for a slot starting at start.
// The window is inclusive: a slot exactly BookingWindow ahead may be booked; a slot
// exactly Embargo ahead may be booked too.
func (p *AccessProfile) Timing(now, start time.Time) Reason {
	if p == nil {
		return ReasonNone
	}
	if p.BookingWindow > 0 && start.Sub(now) > p.BookingWindow {
		return ReasonWindow
	}
	if p.Embargo > 0 && start.Sub(now) < p.Embargo {
		return ReasonEmbargo
	}
	if p.ReleaseTime != "" {
		if at, ok := p.releaseAt(start); ok && now.Before(at) {
			return ReasonEmbargo
		}
	}
	return ReasonNone
}

func (p *AccessProfile) releaseAt(start time.Time) (time.Time, bool) {
	t, err := time.Parse("15:04", p.ReleaseTime)
	if err != nil {
		return time.Time{}, false
	}
	day := AddDaysLocal(LocalMidnight(start), -p.ReleaseDaysBefore)
	return atWallClock(day, t.Hour(), t.Minute()), true
}

// Offer decides whether a free, future slot with this profile is offered to a consumer:
// the one rule both search and booking call. Status, past and switch checks are the
// caller's (they do not depend on the profile). A slot with no profile is not bookable.
func (p *AccessProfile) Offer(c Consumer, now, start time.Time) Reason {
	if p == nil || !p.Bookable {
		return ReasonNotBookable
	}
	if r := p.Matches(c); r != ReasonNone {
		return r
	}
	if r := p.Timing(now, start); r != ReasonNone {
		return r
	}
	if p.Cap > 0 && p.Booked >= p.Cap {
		return ReasonCap
	}
	return ReasonNone
}
