package admin

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// Span is a duration written for people: "14d", "36h", "90m", "1d12h" (JSON string).
type Span time.Duration

// ParseSpan reads "Nd" days, a Go duration ("2h30m"), or a mix ("1d12h"); "" and "0" are zero.
func ParseSpan(s string) (Span, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return 0, nil
	}
	in := s
	var days int64
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.ParseInt(s[:i], 10, 32)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("bad duration %q (use e.g. 14d, 36h, 90m, 1d12h)", in)
		}
		days, s = n, s[i+1:]
	}
	var rest time.Duration
	if s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return 0, fmt.Errorf("bad duration %q (use e.g. 14d, 36h, 90m, 1d12h)", in)
		}
		rest = d
	}
	// Bounded before multiplying, so a huge value is refused, never wrapped.
	if days > MaxSpanDays || rest > MaxSpanDays*24*time.Hour-time.Duration(days)*24*time.Hour {
		return 0, fmt.Errorf("duration %q is longer than %d days", in, MaxSpanDays)
	}
	// The database keeps whole seconds: "500ms" would be stored as no
	// embargo at all, so a fraction is refused rather than dropped.
	if rest%time.Second != 0 {
		return 0, fmt.Errorf("duration %q is not a whole number of seconds", in)
	}
	return Span(time.Duration(days)*24*time.Hour + rest), nil
}

// MaxSpanDays bounds booking windows and embargoes (ten years).
const MaxSpanDays = 3660

// String writes whole days as "Nd" and the rest as a Go duration.
func (s Span) String() string {
	d := time.Duration(s)
	if d == 0 {
		return "0"
	}
	days := d / (24 * time.Hour)
	rest := d % (24 * time.Hour)
	out := ""
	if days > 0 {
		out = strconv.FormatInt(int64(days), 10) + "d"
	}
	for _, u := range []struct {
		d   time.Duration
		sfx string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := rest / u.d; n > 0 {
			out += strconv.FormatInt(int64(n), 10) + u.sfx
			rest -= n * u.d
		}
	}
	return out
}

// MarshalJSON writes the span as a string.
func (s Span) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// UnmarshalJSON reads a span string. A bare number is refused (0 aside):
// "booking_window": 14 could mean days as easily as seconds, and read as
// seconds it would quietly put every slot outside the window.
func (s *Span) UnmarshalJSON(b []byte) error {
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		var n json.Number
		if json.Unmarshal(b, &n) == nil {
			if f, err := n.Float64(); err == nil && f == 0 {
				*s = 0
				return nil
			}
			return fmt.Errorf("a duration must be a string with its unit, such as \"14d\", \"36h\" or \"90m\", not the bare number %s", n)
		}
		return fmt.Errorf("a duration must be a string such as \"14d\" or \"2h\"")
	}
	v, err := ParseSpan(str)
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Practice is a practice's identity and switches.
type Practice struct {
	ODS                 string `json:"ods"`
	Name                string `json:"name"`
	ASID                string `json:"asid"`
	GPConnectEnabled    bool   `json:"gp_connect_enabled"`
	AppointmentsEnabled bool   `json:"appointments_enabled"`
	// ServiceFiltering is the practice's own service-filtering switch (spec §5.10).
	ServiceFiltering bool `json:"service_filtering"`
	// ServiceFilteringStatus is what consumers get: the supplier switch can
	// hold filtering off whatever the practice's switch says, so both are shown.
	ServiceFilteringStatus scheduling.ServiceFilteringStatus `json:"service_filtering_status"`
	Version                int64                             `json:"version"`
}

func toPractice(o *scheduling.Organisation, sup scheduling.SupplierFiltering) Practice {
	return Practice{ODS: o.ODS, Name: o.Name, ASID: o.ASID, GPConnectEnabled: o.GPConnectEnabled, AppointmentsEnabled: o.AppointmentsEnabled,
		ServiceFiltering: o.ServiceFiltering, ServiceFilteringStatus: sup.Status(o), Version: o.Version}
}

// Switches changes a practice's switches; nil leaves one as it is.
type Switches struct {
	GPConnect    *bool `json:"gp_connect_enabled"`
	Appointments *bool `json:"appointments_enabled"`
	// ServiceFiltering is the organisation switch of 1.2.8 service filtering.
	ServiceFiltering *bool `json:"service_filtering"`
	// Version, when given, must be the practice's current version (as the
	// practice read showed it), or the change is refused as stale.
	Version *int64 `json:"version,omitempty"`
}

// HealthcareService is a practice's DOS service as the admin API shows it.
type HealthcareService struct {
	ID      int64  `json:"id"`
	DOSID   string `json:"dos_id"`
	Name    string `json:"name"`
	Version int64  `json:"version"`
	// TemplateIDs are the session templates linked to the service, so an
	// admin sees what a rename or a delete would touch.
	TemplateIDs []int64 `json:"template_ids"`
}

// serviceRecord is a service as the audit trail keeps it: the service's own
// fields only, since its linked templates are changed (and audited) through them.
type serviceRecord struct {
	ID      int64  `json:"id"`
	DOSID   string `json:"dos_id"`
	Name    string `json:"name"`
	Version int64  `json:"version"`
}

func toServiceRecord(h *scheduling.HealthcareService) serviceRecord {
	return serviceRecord{ID: h.ID, DOSID: h.DOSID, Name: h.Name, Version: h.Version}
}

// ServiceInput creates or changes a healthcare service; nil fields are left
// as they are (on create both are required).
type ServiceInput struct {
	DOSID *string `json:"dos_id"`
	Name  *string `json:"name"`
	// Version, when set, must be the service's current version (optimistic update).
	Version *int64 `json:"version"`
}

// Profile is an access profile as the admin API shows it.
type Profile struct {
	ID                int64    `json:"id"`
	Name              string   `json:"name"`
	Bookable          bool     `json:"bookable"`
	OrgTypes          []string `json:"org_types"`
	ODSCodes          []string `json:"ods_codes"`
	Cap               int      `json:"cap"`
	Booked            int      `json:"booked"`
	BookingWindow     Span     `json:"booking_window"`
	Embargo           Span     `json:"embargo"`
	ReleaseTime       string   `json:"release_time"`
	ReleaseDaysBefore int      `json:"release_days_before"`
	Version           int64    `json:"version"`
}

func toProfile(p *scheduling.AccessProfile) Profile {
	return Profile{ID: p.ID, Name: p.Name, Bookable: p.Bookable, OrgTypes: nonNil(p.OrgTypes), ODSCodes: nonNil(p.ODSCodes), Cap: p.Cap,
		Booked: p.Booked, BookingWindow: Span(p.BookingWindow), Embargo: Span(p.Embargo), ReleaseTime: p.ReleaseTime,
		ReleaseDaysBefore: p.ReleaseDaysBefore, Version: p.Version}
}

// ProfileInput creates or changes a profile; nil fields are left as they are
// (on create: bookable defaults to true, everything else to "no restriction").
type ProfileInput struct {
	Name              *string   `json:"name"`
	Bookable          *bool     `json:"bookable"`
	OrgTypes          *[]string `json:"org_types"`
	ODSCodes          *[]string `json:"ods_codes"`
	Cap               *int      `json:"cap"`
	BookingWindow     *Span     `json:"booking_window"`
	Embargo           *Span     `json:"embargo"`
	ReleaseTime       *string   `json:"release_time"`
	ReleaseDaysBefore *int      `json:"release_days_before"`
	// Version, when set, must be the profile's current version (optimistic update).
	Version *int64 `json:"version"`
}

// Template is a weekly session template as the admin API shows it.
type Template struct {
	ID              int64    `json:"id"`
	Name            string   `json:"name"`
	Weekday         string   `json:"weekday"`
	Start           string   `json:"start"`
	End             string   `json:"end"`
	SlotMinutes     int      `json:"slot_minutes"`
	LocationID      int64    `json:"location_id"`
	PractitionerID  int64    `json:"practitioner_id"`
	Role            string   `json:"role"`
	ServiceCategory string   `json:"service_category"`
	ServiceType     string   `json:"service_type"`
	Channels        []string `json:"channels"`
	AccessProfileID int64    `json:"access_profile_id"`
	// ServiceID is the healthcare service its sessions are offered under (0 = none).
	ServiceID int64 `json:"service_id"`
	Active    bool  `json:"active"`
	Version   int64 `json:"version"`
}

func toTemplate(t *scheduling.SessionTemplate) Template {
	return Template{ID: t.ID, Name: t.Name, Weekday: strings.ToLower(t.Weekday.String()), Start: t.StartLocal, End: t.EndLocal,
		SlotMinutes: t.SlotMinutes, LocationID: t.LocationID, PractitionerID: t.PractitionerID, Role: t.Role, ServiceCategory: t.ServiceCategory,
		ServiceType: t.ServiceType, Channels: nonNil(t.Channels), AccessProfileID: t.AccessProfileID, ServiceID: t.HealthcareServiceID,
		Active: t.Active, Version: t.Version}
}

// TemplateInput creates or changes a template; nil fields are left as they are.
type TemplateInput struct {
	Name            *string   `json:"name"`
	Weekday         *string   `json:"weekday"`
	Start           *string   `json:"start"`
	End             *string   `json:"end"`
	SlotMinutes     *int      `json:"slot_minutes"`
	LocationID      *int64    `json:"location_id"`
	PractitionerID  *int64    `json:"practitioner_id"`
	Role            *string   `json:"role"`
	ServiceCategory *string   `json:"service_category"`
	ServiceType     *string   `json:"service_type"`
	Channels        *[]string `json:"channels"`
	AccessProfileID *int64    `json:"access_profile_id"`
	// ServiceID links the template to a healthcare service (0 unlinks). A
	// change relinks the sessions still to come; it is not a shape change.
	ServiceID *int64 `json:"service_id"`
	Active    *bool  `json:"active"`
	Version   *int64 `json:"version"`
}

// TemplateChange is the result of creating, changing or ending a template.
type TemplateChange struct {
	Template Template `json:"template"`
	// Retired are the future sessions of the old shape that were replaced:
	// retired, with their free slots blocked, and made again from the new
	// shape (on an ended template, not made again).
	Retired []int64 `json:"retired_sessions"`
	// Kept are the future sessions of the old shape left exactly as they are,
	// each saying why (kept_because): those holding bookings, so no booking
	// is lost, and, on a shape change, those the practice edited by hand, so
	// no block or override it set is silently undone. Their days get no
	// new-shape session. Cancel, block or edit them by hand if needed.
	Kept []KeptSession `json:"kept_sessions"`
	// Created is how many sessions were materialised: the template's own,
	// made inside the change, and any the practice's other templates lacked.
	Created int `json:"sessions_created"`
	// ToppedUp is the part of Created made for the practice's other
	// templates, which the change's audit record does not count (the same
	// routine top-up the server runs hourly).
	ToppedUp int `json:"sessions_topped_up"`
}

// KeptSession is a session a template change left as it was, with the
// reasons, so that an admin can tell a booked day from one the practice
// edited (the session's fields are those of Session, at the same level).
type KeptSession struct {
	Session
	// Because lists every reason that applies, bookings first.
	Because []KeepReason `json:"kept_because"`
}

// KeepReason is why a template change kept one of its sessions (snake_case,
// for programs); Text says it for people.
type KeepReason string

// The reasons a template change keeps a session rather than remaking it.
const (
	// KeepBookings: the session holds booked appointments.
	KeepBookings KeepReason = "bookings"
	// KeepSessionBlocked: the practice blocked the whole session (e.g. a day of leave).
	KeepSessionBlocked KeepReason = "session_blocked"
	// KeepSessionProfile: the session's access profile is not the template's (set for that day by the practice).
	KeepSessionProfile KeepReason = "session_profile"
	// KeepSessionService: the session's healthcare service is not the template's (linked for that day by the practice).
	KeepSessionService KeepReason = "session_service"
	// KeepSlotBlocked: some of its slots are blocked on their own.
	KeepSlotBlocked KeepReason = "slot_blocked"
	// KeepSlotProfile: some of its slots have an access profile other than the session's.
	KeepSlotProfile KeepReason = "slot_profile"
)

// Text says the reason as the CLI and the audit trail show it.
func (r KeepReason) Text() string {
	switch r {
	case KeepBookings:
		return "holds bookings"
	case KeepSessionBlocked:
		return "blocked by the practice"
	case KeepSessionProfile:
		return "has its own access profile"
	case KeepSessionService:
		return "has its own healthcare service"
	case KeepSlotBlocked:
		return "has slots blocked on their own"
	case KeepSlotProfile:
		return "has slots with their own access profile"
	}
	return string(r)
}

// KeptText says why the session was kept, e.g. "holds bookings; blocked by the practice".
func (k KeptSession) KeptText() string {
	texts := make([]string, len(k.Because))
	for i, r := range k.Because {
		texts[i] = r.Text()
	}
	return strings.Join(texts, "; ")
}

// Session is a session (schedule) with its slot counts.
type Session struct {
	ID              int64   `json:"id"`
	Start           string  `json:"start"`
	End             string  `json:"end"`
	Status          string  `json:"status"`
	LocationID      int64   `json:"location_id"`
	PractitionerID  int64   `json:"practitioner_id"`
	Role            string  `json:"role"`
	ServiceCategory string  `json:"service_category"`
	AccessProfileID int64   `json:"access_profile_id"`
	ServiceID       int64   `json:"service_id"`
	TemplateID      int64   `json:"template_id"`
	Free            int     `json:"free"`
	Booked          int     `json:"booked"`
	Blocked         int     `json:"blocked"`
	SessionBlocked  bool    `json:"session_blocked"`
	AppointmentIDs  []int64 `json:"appointment_ids"`
	Version         int64   `json:"version"`
}

func toSession(s *scheduling.SessionSummary) Session {
	sc := s.Schedule
	ids := s.AppointmentIDs
	if ids == nil {
		ids = []int64{}
	}
	return Session{ID: sc.ID, Start: scheduling.FormatLocal(sc.Start), End: scheduling.FormatLocal(sc.End), Status: sc.Status, LocationID: sc.LocationID,
		PractitionerID: sc.PractitionerID, Role: sc.Role, ServiceCategory: sc.ServiceCategory, AccessProfileID: sc.AccessProfileID,
		ServiceID: sc.HealthcareServiceID, TemplateID: sc.TemplateID, Free: s.Free, Booked: s.Booked, Blocked: s.Blocked, SessionBlocked: s.SessionBlocked, AppointmentIDs: ids, Version: sc.Version}
}

// SessionInput is a one-off session on one date.
type SessionInput struct {
	Date            string   `json:"date"`
	Start           string   `json:"start"`
	End             string   `json:"end"`
	SlotMinutes     int      `json:"slot_minutes"`
	LocationID      int64    `json:"location_id"`
	PractitionerID  int64    `json:"practitioner_id"`
	Role            string   `json:"role"`
	ServiceCategory string   `json:"service_category"`
	ServiceType     string   `json:"service_type"`
	Channels        []string `json:"channels"`
	AccessProfileID int64    `json:"access_profile_id"`
	// ServiceID links the session to a healthcare service (0 or absent = none).
	ServiceID int64 `json:"service_id"`
}

// SessionChange is the result of blocking, unblocking or cancelling a
// session, or of changing its profile or service.
type SessionChange struct {
	Session Session `json:"session"`
	// Changed is how many slots changed state.
	Changed int `json:"slots_changed"`
	// KeptBooked are the appointments left untouched on a blocked session.
	KeptBooked []int64 `json:"kept_booked_appointments"`
}

// Slot is a slot as the admin API shows it.
type Slot struct {
	ID        int64  `json:"id"`
	SessionID int64  `json:"session_id"`
	Start     string `json:"start"`
	End       string `json:"end"`
	Status    string `json:"status"`
	// SlotBlocked: blocked on its own (slot block), apart from its session.
	SlotBlocked     bool   `json:"slot_blocked"`
	DeliveryChannel string `json:"delivery_channel"`
	ServiceType     string `json:"service_type"`
	AccessProfileID int64  `json:"access_profile_id"`
	Version         int64  `json:"version"`
}

func toSlot(s *scheduling.Slot) Slot {
	return Slot{ID: s.ID, SessionID: s.ScheduleID, Start: scheduling.FormatLocal(s.Start), End: scheduling.FormatLocal(s.End), Status: string(s.Status),
		SlotBlocked: s.OwnBlock, DeliveryChannel: s.DeliveryChannel, ServiceType: s.ServiceType, AccessProfileID: s.AccessProfileID, Version: s.Version}
}

// Token is an admin token's record (never its secret).
type Token struct {
	ID      int64  `json:"id"`
	ODS     string `json:"ods"`
	Label   string `json:"label"`
	Created string `json:"created"`
	Revoked bool   `json:"revoked"`
}

// AuditEntry is one admin change.
type AuditEntry struct {
	ID     int64           `json:"id"`
	At     string          `json:"at"`
	Actor  string          `json:"actor"`
	Action string          `json:"action"`
	Target string          `json:"target"`
	Before json.RawMessage `json:"before,omitempty"`
	After  json.RawMessage `json:"after,omitempty"`
	Detail string          `json:"detail,omitempty"`
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}
