// Package admin is practice administration: admin tokens, access profiles,
// healthcare services, session templates, one-off sessions, blocking and
// cancelling, the enablement and service-filtering switches, and "why no
// slots?" explanations. The HTTP API
// (Handler) and the CLI both call Service, so the rules and the audit trail
// are the same whichever way a change is made.
package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/jsonapi"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store"
)

// EUNAUTHORIZED is the code of a missing, malformed, unknown or revoked admin token.
const EUNAUTHORIZED = jsonapi.CodeUnauthorized

// DefaultHorizon is how far ahead templates are materialised after a change
// (the same rolling horizon serve keeps topped up).
const DefaultHorizon = 6*7*24*time.Hour + 24*time.Hour

// MaxExplainPeriod bounds the period Explain takes from a Go caller, as a
// limit on work. The API and CLI read the period with the search's own
// rules (ParsePeriod), which allow 14 days and refuse more, as the search does.
const MaxExplainPeriod = 62 * 24 * time.Hour

// Actor is who makes a change.
type Actor struct {
	// Name is recorded in the audit trail: "token:12" or "cli:alice".
	Name string
	// PracticeID limits the actor to one practice; 0 means any (the CLI,
	// which holds the database itself).
	PracticeID int64
}

// Service holds the administration operations.
type Service struct {
	st *store.Store
	// Now is the clock (tests move it).
	Now func() time.Time
	// Horizon is how far ahead templates are materialised after a change.
	Horizon time.Duration
	// Supplier is the supplier's service-filtering switch (zero value: on).
	// Only the practice view reads it, to show the status consumers get.
	Supplier scheduling.SupplierFiltering
}

// New returns a service over a store.
func New(st *store.Store) *Service {
	return &Service{st: st, Now: time.Now, Horizon: DefaultHorizon}
}

// practice finds the practice an actor asks for. An actor bound to another
// practice gets EFORBIDDEN, and so does one asking for an unknown ODS code,
// so a token cannot probe which practices exist.
func (s *Service) practice(ctx context.Context, a Actor, ods string) (*scheduling.Organisation, error) {
	code := strings.ToUpper(strings.TrimSpace(ods))
	var org *scheduling.Organisation
	var err error
	if !scheduling.PlainText(ods) { // before ToUpper, which turns bad bytes into U+FFFD
		// No ODS code holds these, and PostgreSQL could not even compare
		// them as text.
		err = scheduling.NotFound("organisation", "no organisation with that ODS code")
	} else {
		org, err = s.st.OrganisationByODS(ctx, code)
	}
	if err != nil {
		if scheduling.ErrorCode(err) == scheduling.ENOTFOUND && a.PracticeID != 0 {
			return nil, scheduling.Errorf(scheduling.EFORBIDDEN, "this token does not administer practice %q", ods)
		}
		return nil, err
	}
	if a.PracticeID != 0 && a.PracticeID != org.ID {
		return nil, scheduling.Errorf(scheduling.EFORBIDDEN, "this token does not administer practice %q", ods)
	}
	if !org.IsPractice() {
		return nil, scheduling.NotFound("organisation", "%s is not a practice", org.ODS)
	}
	return org, nil
}

func (s *Service) record(org *scheduling.Organisation, a Actor, action, target string, before, after any) *scheduling.AdminAuditRecord {
	return &scheduling.AdminAuditRecord{At: s.Now(), PracticeID: org.ID, Actor: a.Name, Action: action, Target: target,
		Before: jsonOrEmpty(before), After: jsonOrEmpty(after)}
}

func jsonOrEmpty(v any) string {
	if v == nil {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

func invalid(format string, args ...any) error {
	return scheduling.Errorf(scheduling.EINVALID, format, args...)
}

// ---- practice and switches ----

// Practice returns a practice's identity and switches.
func (s *Service) Practice(ctx context.Context, a Actor, ods string) (Practice, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return Practice{}, err
	}
	return toPractice(org, s.Supplier), nil
}

// SetSwitches turns a practice's GP Connect, Appointment Management and/or
// service-filtering switches on or off. The provider caches practice lookups
// for up to 2 s, so the change reaches GP Connect consumers within that time.
func (s *Service) SetSwitches(ctx context.Context, a Actor, ods string, in Switches) (Practice, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return Practice{}, err
	}
	if in.GPConnect == nil && in.Appointments == nil && in.ServiceFiltering == nil {
		return Practice{}, invalid("give gp_connect_enabled, appointments_enabled and/or service_filtering")
	}
	var out Practice
	err = s.st.AdminChange(ctx, func(tx *store.AdminTx) (*scheduling.AdminAuditRecord, error) {
		cur, err := tx.Organisation(org.ODS)
		if err != nil {
			return nil, err
		}
		if in.Version != nil && *in.Version != cur.Version {
			return nil, scheduling.Errorf(scheduling.ESTALE, "practice %s is at version %d, not %d; read it again", cur.ODS, cur.Version, *in.Version)
		}
		before := toPractice(cur, s.Supplier)
		next := *cur
		if in.GPConnect != nil {
			next.GPConnectEnabled = *in.GPConnect
		}
		if in.Appointments != nil {
			next.AppointmentsEnabled = *in.Appointments
		}
		if in.ServiceFiltering != nil {
			next.ServiceFiltering = *in.ServiceFiltering
		}
		if toPractice(&next, s.Supplier) == before {
			out = before
			return nil, nil
		}
		if next.GPConnectEnabled != cur.GPConnectEnabled || next.AppointmentsEnabled != cur.AppointmentsEnabled {
			if err := tx.SetSwitches(cur.ID, next.GPConnectEnabled, next.AppointmentsEnabled, s.Now()); err != nil {
				return nil, err
			}
		}
		if next.ServiceFiltering != cur.ServiceFiltering {
			if err := tx.SetServiceFiltering(cur.ID, next.ServiceFiltering, s.Now()); err != nil {
				return nil, err
			}
		}
		after, err := tx.Organisation(org.ODS)
		if err != nil {
			return nil, err
		}
		out = toPractice(after, s.Supplier)
		return s.record(cur, a, "practice.switches", "practice/"+cur.ODS, before, out), nil
	})
	return out, err
}

// ---- access profiles ----

// Profiles lists a practice's access profiles by id.
func (s *Service) Profiles(ctx context.Context, a Actor, ods string) ([]Profile, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return nil, err
	}
	m, err := s.st.AccessProfiles(ctx, org.ID)
	if err != nil {
		return nil, err
	}
	out := make([]Profile, 0, len(m))
	for _, p := range m {
		out = append(out, toProfile(p))
	}
	slices.SortFunc(out, func(x, y Profile) int { return int(x.ID - y.ID) })
	return out, nil
}

// Profile reads one access profile. Returns ENOTFOUND.
func (s *Service) Profile(ctx context.Context, a Actor, ods string, id int64) (Profile, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return Profile{}, err
	}
	m, err := s.st.AccessProfiles(ctx, org.ID)
	if err != nil {
		return Profile{}, err
	}
	p, ok := m[id]
	if !ok {
		return Profile{}, scheduling.NotFound("profile", "no access profile %d at this practice", id)
	}
	return toProfile(p), nil
}

var (
	odsRe  = regexp.MustCompile(`^[A-Z0-9]{3,10}$`)
	hhmmRe = regexp.MustCompile(`^([01]\d|2[0-3]):[0-5]\d$`)
)

// applyProfile applies the input to p and checks every rule, reporting all problems at once.
func applyProfile(p *scheduling.AccessProfile, in ProfileInput) error {
	if in.Name != nil {
		p.Name = strings.TrimSpace(*in.Name)
	}
	if in.Bookable != nil {
		p.Bookable = *in.Bookable
	}
	if in.OrgTypes != nil {
		p.OrgTypes = cleanList(*in.OrgTypes, false)
	}
	if in.ODSCodes != nil {
		p.ODSCodes = cleanList(*in.ODSCodes, true)
	}
	if in.Cap != nil {
		p.Cap = *in.Cap
	}
	if in.BookingWindow != nil {
		p.BookingWindow = time.Duration(*in.BookingWindow)
	}
	if in.Embargo != nil {
		p.Embargo = time.Duration(*in.Embargo)
	}
	if in.ReleaseTime != nil {
		p.ReleaseTime = strings.TrimSpace(*in.ReleaseTime)
		if p.ReleaseTime == "" && in.ReleaseDaysBefore == nil {
			p.ReleaseDaysBefore = 0 // clearing the release rule clears all of it
		}
	}
	if in.ReleaseDaysBefore != nil {
		p.ReleaseDaysBefore = *in.ReleaseDaysBefore
	}
	probs := textProblems(textField{what: "name", v: p.Name, max: 100, required: true})
	// A blank entry would vanish in cleanList and could leave the list empty,
	// which means "no restriction": the opposite of what a list was sent for.
	if in.OrgTypes != nil && hasBlank(*in.OrgTypes) {
		probs = append(probs, "org_types has an empty entry (send [] for no restriction by organisation type)")
	}
	if in.ODSCodes != nil && hasBlank(*in.ODSCodes) {
		probs = append(probs, "ods_codes has an empty entry (send [] for no restriction by code)")
	}
	var badTypes, badCodes []string
	for _, t := range p.OrgTypes {
		if !gpconnect.OrganisationType(t).Valid() {
			badTypes = append(badTypes, t)
		}
	}
	if len(badTypes) > 0 {
		probs = append(probs, fmt.Sprintf("org type %s: not a GPConnect-OrganisationType-1 code (gp-practice, urgent-care)", someOf(badTypes)))
	}
	if len(p.ODSCodes) > MaxODSCodes {
		probs = append(probs, fmt.Sprintf("ods_codes has %d codes; at most %d are allowed (leave it empty for no restriction by code)", len(p.ODSCodes), MaxODSCodes))
	}
	for _, c := range p.ODSCodes {
		if !odsRe.MatchString(c) {
			badCodes = append(badCodes, c)
		}
	}
	if len(badCodes) > 0 {
		probs = append(probs, fmt.Sprintf("ODS code %s: not valid (3 to 10 letters and digits)", someOf(badCodes)))
	}
	if p.Cap < 0 || p.Cap > MaxCap {
		probs = append(probs, fmt.Sprintf("cap must be 0 (no cap) to %d", MaxCap))
	}
	if p.BookingWindow < 0 || p.Embargo < 0 {
		probs = append(probs, "booking window and embargo cannot be negative")
	}
	if p.BookingWindow > 0 && p.Embargo >= p.BookingWindow {
		probs = append(probs, "the embargo must be shorter than the booking window, or no slot could ever be booked")
	}
	validRelease := p.ReleaseTime == "" || hhmmRe.MatchString(p.ReleaseTime)
	if !validRelease {
		probs = append(probs, "release_time must be HH:MM")
	}
	if p.ReleaseDaysBefore < 0 || p.ReleaseDaysBefore > 366 {
		probs = append(probs, "release_days_before must be between 0 and 366")
	} else if p.ReleaseDaysBefore > 0 && p.ReleaseTime == "" {
		probs = append(probs, "release_days_before needs a release_time (the local time the slots are released)")
	} else if p.ReleaseTime != "" && validRelease && p.Embargo > 0 {
		// A slot is bookable from its release until the embargo before its
		// start. Even the day's last minute is released only this long
		// before its start; an embargo at least as long leaves no moment.
		at, _ := time.Parse("15:04", p.ReleaseTime)
		latest := time.Duration(p.ReleaseDaysBefore+1)*24*time.Hour - (time.Duration(at.Hour())*time.Hour + time.Duration(at.Minute())*time.Minute)
		if p.Embargo >= latest {
			probs = append(probs, fmt.Sprintf("an embargo of %s with slots released at %s %d day(s) before leaves no time to book any slot: "+
				"shorten the embargo or release earlier", Span(p.Embargo), p.ReleaseTime, p.ReleaseDaysBefore))
		}
	}
	if len(probs) > 0 {
		return invalid("%s", strings.Join(probs, "; "))
	}
	return nil
}

func cleanList(l []string, upper bool) []string {
	var out []string
	seen := make(map[string]bool, len(l))
	for _, v := range l {
		v = strings.TrimSpace(v)
		if upper {
			v = strings.ToUpper(v)
		}
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// hasBlank reports whether a list holds an entry that is empty or only spaces.
func hasBlank(l []string) bool {
	for _, v := range l {
		if strings.TrimSpace(v) == "" {
			return true
		}
	}
	return false
}

// someOf quotes the first few of a list of refused values and counts the
// rest, so that a long list of bad codes makes a readable error, not one
// the size of the request.
func someOf(l []string) string {
	const show = 5
	q := make([]string, 0, show)
	for _, v := range l[:min(len(l), show)] {
		q = append(q, strconv.Quote(clip(v, 40)))
	}
	out := strings.Join(q, ", ")
	if len(l) > show {
		out += fmt.Sprintf(" and %d more", len(l)-show)
	}
	return out
}

// CreateProfile adds an access profile. Errors: EINVALID, EDUPLICATE (name taken).
func (s *Service) CreateProfile(ctx context.Context, a Actor, ods string, in ProfileInput) (Profile, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return Profile{}, err
	}
	p := &scheduling.AccessProfile{PracticeID: org.ID, Bookable: true}
	if err := applyProfile(p, in); err != nil {
		return Profile{}, err
	}
	var out Profile
	err = s.st.AdminChange(ctx, func(tx *store.AdminTx) (*scheduling.AdminAuditRecord, error) {
		id, err := tx.InsertProfile(p)
		if err != nil {
			return nil, err
		}
		cur, err := tx.Profile(org.ID, id)
		if err != nil {
			return nil, err
		}
		out = toProfile(cur)
		return s.record(org, a, "profile.create", fmt.Sprintf("profile/%d", id), nil, out), nil
	})
	return out, err
}

// UpdateProfile changes an access profile; the change applies to every slot
// using it at once (search and booking read profiles live). Errors:
// ENOTFOUND, EINVALID (including a cap below the slots already booked),
// ESTALE (version given and not current), EDUPLICATE.
func (s *Service) UpdateProfile(ctx context.Context, a Actor, ods string, id int64, in ProfileInput) (Profile, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return Profile{}, err
	}
	var out Profile
	err = s.st.AdminChange(ctx, func(tx *store.AdminTx) (*scheduling.AdminAuditRecord, error) {
		cur, err := tx.LockProfile(org.ID, id)
		if err != nil {
			return nil, err
		}
		if in.Version != nil && *in.Version != cur.Version {
			return nil, scheduling.Errorf(scheduling.ESTALE, "profile %d is at version %d, not %d; read it again", id, cur.Version, *in.Version)
		}
		before := toProfile(cur)
		next := *cur
		if err := applyProfile(&next, in); err != nil {
			return nil, err
		}
		if jsonOrEmpty(toProfile(&next)) == jsonOrEmpty(before) {
			out = before
			return nil, nil
		}
		if err := tx.UpdateProfile(&next, s.Now()); err != nil {
			return nil, err
		}
		after, err := tx.Profile(org.ID, id)
		if err != nil {
			return nil, err
		}
		out = toProfile(after)
		return s.record(org, a, "profile.update", fmt.Sprintf("profile/%d", id), before, out), nil
	})
	return out, err
}

// DeleteProfile removes a profile nothing refers to. While any template
// (ended ones too), session or slot does, it is refused (ECONFLICT, with
// the counts): past sessions and slots keep their profile for the record,
// so a profile that was ever used stays (rename it, or make it not
// bookable). Errors: ENOTFOUND, ECONFLICT.
func (s *Service) DeleteProfile(ctx context.Context, a Actor, ods string, id int64) (Profile, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return Profile{}, err
	}
	var out Profile
	err = s.st.AdminChange(ctx, func(tx *store.AdminTx) (*scheduling.AdminAuditRecord, error) {
		cur, err := tx.DeleteProfile(org.ID, id)
		if err != nil {
			return nil, err
		}
		out = toProfile(cur)
		return s.record(org, a, "profile.delete", fmt.Sprintf("profile/%d", id), out, nil), nil
	})
	return out, err
}

// ---- session templates ----

// Templates lists a practice's session templates by id.
func (s *Service) Templates(ctx context.Context, a Actor, ods string) ([]Template, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return nil, err
	}
	ts, err := s.st.SessionTemplates(ctx, org.ID)
	if err != nil {
		return nil, err
	}
	out := make([]Template, len(ts))
	for i, t := range ts {
		out[i] = toTemplate(t)
	}
	return out, nil
}

// Template reads one of the practice's templates. Errors: ENOTFOUND.
func (s *Service) Template(ctx context.Context, a Actor, ods string, id int64) (Template, error) {
	ts, err := s.Templates(ctx, a, ods)
	if err != nil {
		return Template{}, err
	}
	for _, t := range ts {
		if t.ID == id {
			return t, nil
		}
	}
	return Template{}, scheduling.Errorf(scheduling.ENOTFOUND, "no template %d at this practice", id)
}

var weekdays = map[string]time.Weekday{"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

func applyTemplate(t *scheduling.SessionTemplate, in TemplateInput) error {
	var probs []string
	if in.Name != nil {
		t.Name = strings.TrimSpace(*in.Name)
	}
	if in.Weekday != nil {
		d, ok := weekdays[strings.ToLower(strings.TrimSpace(*in.Weekday))]
		if !ok {
			probs = append(probs, fmt.Sprintf("weekday %q is not a day of the week", *in.Weekday))
		}
		t.Weekday = d
	}
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = strings.TrimSpace(*src)
		}
	}
	set(&t.StartLocal, in.Start)
	set(&t.EndLocal, in.End)
	set(&t.Role, in.Role)
	set(&t.ServiceCategory, in.ServiceCategory)
	set(&t.ServiceType, in.ServiceType)
	if in.SlotMinutes != nil {
		t.SlotMinutes = *in.SlotMinutes
	}
	if in.LocationID != nil {
		t.LocationID = *in.LocationID
	}
	if in.PractitionerID != nil {
		t.PractitionerID = *in.PractitionerID
	}
	if in.Channels != nil {
		t.Channels = cleanList(*in.Channels, false)
	}
	if in.AccessProfileID != nil {
		t.AccessProfileID = *in.AccessProfileID
	}
	if in.ServiceID != nil {
		t.HealthcareServiceID = *in.ServiceID
	}
	if in.Active != nil {
		t.Active = *in.Active
	}
	probs = append(probs, sessionShapeProblems(t)...)
	if len(probs) > 0 {
		return invalid("%s", strings.Join(probs, "; "))
	}
	return nil
}

// sessionShapeProblems checks what a session is made of, templates and one-off sessions alike.
func sessionShapeProblems(t *scheduling.SessionTemplate) []string {
	var probs []string
	if err := t.Validate(); err != nil {
		probs = append(probs, scheduling.ErrorMessage(err))
	}
	if t.Role != "" && !gpconnect.PractitionerRole(t.Role).Valid() {
		probs = append(probs, fmt.Sprintf("role %q is not in the GPConnect-PractitionerRole-1 value set", t.Role))
	}
	probs = append(probs, textProblems(textField{what: "name", v: t.Name, max: 100},
		textField{what: "service category", v: t.ServiceCategory, max: 200}, textField{what: "service type", v: t.ServiceType, max: 200})...)
	for _, c := range t.Channels {
		if !gpconnect.DeliveryChannel(c).Valid() {
			probs = append(probs, fmt.Sprintf("delivery channel %q is not In-person, Telephone or Video", c))
		}
	}
	if t.HealthcareServiceID < 0 {
		probs = append(probs, "service_id must be a healthcare service's id, or 0 for none")
	}
	return probs
}

// checkRefs checks that the location, practitioner, profile and healthcare service belong to the practice.
func checkRefs(tx *store.AdminTx, practiceID int64, t *scheduling.SessionTemplate) error {
	if err := checkService(tx, practiceID, t.HealthcareServiceID); err != nil {
		return err
	}
	if ok, err := tx.LocationExists(practiceID, t.LocationID); err != nil {
		return err
	} else if !ok {
		return invalid("location %d is not a location of this practice", t.LocationID)
	}
	if t.PractitionerID != 0 {
		if ok, err := tx.PractitionerExists(practiceID, t.PractitionerID); err != nil {
			return err
		} else if !ok {
			return invalid("practitioner %d is not a practitioner of this practice", t.PractitionerID)
		}
	}
	if _, err := tx.Profile(practiceID, t.AccessProfileID); err != nil {
		if scheduling.ErrorCode(err) == scheduling.ENOTFOUND {
			return invalid("access profile %d is not a profile of this practice", t.AccessProfileID)
		}
		return err
	}
	return nil
}

// checkService checks that a service to link to is one of the practice's (0, none, always is).
func checkService(tx *store.AdminTx, practiceID, id int64) error {
	if id == 0 {
		return nil
	}
	if id < 0 {
		return invalid("service_id must be a healthcare service's id, or 0 for none")
	}
	if _, err := tx.HealthcareService(practiceID, id); err != nil {
		if scheduling.ErrorCode(err) == scheduling.ENOTFOUND {
			return invalid("healthcare service %d is not a service of this practice", id)
		}
		return err
	}
	return nil
}

// CreateTemplate adds a weekly session template and materialises its sessions
// over the horizon. Errors: EINVALID, EDUPLICATE.
func (s *Service) CreateTemplate(ctx context.Context, a Actor, ods string, in TemplateInput) (TemplateChange, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return TemplateChange{}, err
	}
	if in.Weekday == nil {
		// The zero weekday is Sunday: left out, it would make a Sunday template.
		return TemplateChange{}, invalid("weekday is required (monday to sunday)")
	}
	t := &scheduling.SessionTemplate{PracticeID: org.ID, Active: true}
	if err := applyTemplate(t, in); err != nil {
		return TemplateChange{}, err
	}
	var out TemplateChange
	err = s.st.AdminChange(ctx, func(tx *store.AdminTx) (*scheduling.AdminAuditRecord, error) {
		if err := checkRefs(tx, org.ID, t); err != nil {
			return nil, err
		}
		if err := s.clash(tx, t, nil); err != nil {
			return nil, err
		}
		id, err := tx.InsertTemplate(t)
		if err != nil {
			return nil, err
		}
		cur, err := tx.Template(org.ID, id)
		if err != nil {
			return nil, err
		}
		out = TemplateChange{Template: toTemplate(cur), Retired: []int64{}, Kept: []KeptSession{}}
		if out.Created, err = s.materialise(tx, id, time.Time{}); err != nil {
			return nil, err
		}
		rec := s.record(org, a, "template.create", fmt.Sprintf("template/%d", id), nil, out.Template)
		rec.Detail = fmt.Sprintf("sessions made for this template: %d", out.Created)
		return rec, nil
	})
	if err != nil {
		return TemplateChange{}, err
	}
	return s.topUp(ctx, org.ID, out)
}

// topUp materialises the practice's other templates to the horizon too, as
// the hourly top-up does, after a template change has committed (with its
// own template's sessions), and adds what it made to out.Created. Each
// template is read in the transaction that makes its sessions, so this
// never makes a shape a concurrent change has replaced.
func (s *Service) topUp(ctx context.Context, practiceID int64, out TemplateChange) (TemplateChange, error) {
	now := s.Now()
	n, err := s.st.Materialise(ctx, practiceID, scheduling.LocalMidnight(now), now.Add(s.Horizon))
	out.Created += n
	out.ToppedUp = n
	return out, err
}

// materialise makes the template's sessions over the horizon, from today,
// within the change that created or changed it: the template and its
// sessions are committed together, so no moment shows the template without
// its sessions, or sessions of a shape it no longer has. Days the template
// has already decided (a session not retired: under way, kept, edited or
// cancelled) get none (see store.AdminTx.MaterialiseTemplate).
//
// A change never shortens how far ahead the template reaches: when it
// retired a session beyond the horizon (until is the latest start it
// retired), the new shape is made to that day too. The CLI's horizon is
// its own flag, which may be shorter than the server's; without this a
// change made there would take the weeks beyond it out of search until the
// server's next top-up.
func (s *Service) materialise(tx *store.AdminTx, templateID int64, until time.Time) (int, error) {
	now := s.Now()
	to := now.Add(s.Horizon)
	if !until.IsZero() {
		// Through the whole of until's day: a session starting at local
		// midnight starts exactly at it, and days are made while they
		// begin before to.
		if end := scheduling.AddDaysLocal(scheduling.LocalMidnight(until), 1); end.After(to) {
			to = end
		}
	}
	return tx.MaterialiseTemplate(templateID, scheduling.LocalMidnight(now), to)
}

// shapeChanged reports whether the sessions a template makes would differ.
func shapeChanged(a, b *scheduling.SessionTemplate) bool {
	return a.Weekday != b.Weekday || a.StartLocal != b.StartLocal || a.EndLocal != b.EndLocal || a.SlotMinutes != b.SlotMinutes ||
		a.LocationID != b.LocationID || a.PractitionerID != b.PractitionerID || a.Role != b.Role || a.ServiceCategory != b.ServiceCategory ||
		a.ServiceType != b.ServiceType || !slices.Equal(a.Channels, b.Channels) || a.AccessProfileID != b.AccessProfileID
}

// UpdateTemplate changes a template. When what its sessions are made of
// changes, its future sessions are retired (status "retired", free slots
// blocked) and made again from the new shape, except those holding bookings
// and those the practice edited by hand (blocked, given their own access
// profile or healthcare service, or with slots blocked or given their own
// profile on their own): those are kept exactly as they are and listed with
// the reasons, so no booking and no deliberate change to one day is lost
// silently, and their days get no new-shape session. Nor does a day whose
// session is under way (it is not retired: it has started), or one the
// practice cancelled: a day on which the template still has a session that
// is not retired is decided.
//
// Ending a template (active to inactive) retires its future sessions except
// those holding bookings: a hand edit does not keep a session there, since
// ending means the template runs no more sessions, and with nothing made in
// their place no edit is silently undone (the retired ones are listed; a day
// the practice still wants can be added back as a one-off session).
//
// A new healthcare service is not a shape change: the template's sessions
// that have not started and are still on its old service are relinked in
// place, bookings and all (each appointment keeps the service it was booked
// under); sessions already under way, and any the practice linked to a
// service of its own, keep theirs.
//
// The change is one transaction, the new sessions included, and holds the
// template's row, so changes to one template (and the horizon top-up's
// materialising of it) run one after another, each from the template as
// the last left it. Before judging which sessions to keep it holds those
// sessions and their slots (store.AdminTx.LockFutureTemplateSessions): a
// booking claiming a slot meanwhile either committed first, and keeps its
// session, or waits and then finds the slot blocked; a booked session is
// never retired. Errors: ENOTFOUND, EINVALID, ESTALE, EDUPLICATE.
func (s *Service) UpdateTemplate(ctx context.Context, a Actor, ods string, id int64, in TemplateInput) (TemplateChange, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return TemplateChange{}, err
	}
	var out TemplateChange
	err = s.st.AdminChange(ctx, func(tx *store.AdminTx) (*scheduling.AdminAuditRecord, error) {
		out = TemplateChange{Retired: []int64{}, Kept: []KeptSession{}}
		cur, err := tx.LockTemplate(org.ID, id)
		if err != nil {
			return nil, err
		}
		if in.Version != nil && *in.Version != cur.Version {
			return nil, scheduling.Errorf(scheduling.ESTALE, "template %d is at version %d, not %d; read it again", id, cur.Version, *in.Version)
		}
		next := *cur
		next.Channels = slices.Clone(cur.Channels)
		if err := applyTemplate(&next, in); err != nil {
			return nil, err
		}
		if err := checkRefs(tx, org.ID, &next); err != nil {
			return nil, err
		}
		if next.Active && (shapeChanged(cur, &next) || !cur.Active) {
			if err := s.clash(tx, &next, nil); err != nil {
				return nil, err
			}
		}
		before := toTemplate(cur)
		if jsonOrEmpty(toTemplate(&next)) == jsonOrEmpty(before) {
			out.Template = before
			return nil, nil
		}
		now := s.Now()
		remake := shapeChanged(cur, &next) || (cur.Active && !next.Active)
		if remake {
			// Held before anything about them is read: see the doc comment.
			// And before the template's row is written: a new profile's
			// foreign key holds that profile (FOR KEY SHARE) from the write
			// on, and holding it while waiting here for a booking, which may
			// wait for the profile behind a rename, would close a cycle.
			if err := tx.LockFutureTemplateSessions(id, now); err != nil {
				return nil, err
			}
		}
		if err := tx.UpdateTemplate(&next); err != nil {
			return nil, err
		}
		// Hand edits are read against the template as it was, and before the
		// relink below: a session still on the template's old service is
		// moved to the new one, which is no hand edit, but read afterwards it
		// would differ from the old template's service. An ended template
		// remakes nothing, so there hand edits keep nothing.
		var edits map[int64][]KeepReason
		if remake && next.Active {
			if edits, err = handEdits(tx, cur, now); err != nil {
				return nil, err
			}
		}
		relinked := next.HealthcareServiceID != cur.HealthcareServiceID
		if relinked {
			if err := tx.RelinkTemplateSessions(id, cur.HealthcareServiceID, next.HealthcareServiceID, now); err != nil {
				return nil, err
			}
		}
		var reach time.Time // the latest start of a session retired
		if remake {
			future, err := tx.FutureTemplateSessions(id, now)
			if err != nil {
				return nil, err
			}
			for i := range future {
				ss := &future[i]
				var because []KeepReason
				if ss.Booked > 0 || len(ss.AppointmentIDs) > 0 {
					because = append(because, KeepBookings)
				}
				if because = append(because, edits[ss.Schedule.ID]...); len(because) == 0 {
					retired, err := tx.RetireSession(ss.Schedule.ID)
					if err != nil {
						return nil, err
					}
					if retired {
						out.Retired = append(out.Retired, ss.Schedule.ID)
						if next.Active && ss.Schedule.Start.After(reach) {
							reach = ss.Schedule.Start
						}
						continue
					}
					// It holds a booking after all (RetireSession's backstop).
					if ss, err = tx.Session(org.ID, ss.Schedule.ID); err != nil {
						return nil, err
					}
					because = []KeepReason{KeepBookings}
				}
				out.Kept = append(out.Kept, KeptSession{Session: toSession(ss), Because: because})
			}
		}
		// Kept sessions, and a session under way or cancelled, stay attached
		// to the template, so their days get no new-shape session.
		if out.Created, err = s.materialise(tx, id, reach); err != nil {
			return nil, err
		}
		after, err := tx.Template(org.ID, id)
		if err != nil {
			return nil, err
		}
		out.Template = toTemplate(after)
		rec := s.record(org, a, "template.update", fmt.Sprintf("template/%d", id), before, out.Template)
		if !next.Active && cur.Active {
			rec.Action = "template.end"
		}
		rec.Detail = fmt.Sprintf("sessions made for this template: %d; retired sessions %v; kept sessions: %s", out.Created, out.Retired, keptDetail(out.Kept))
		if relinked {
			rec.Detail += fmt.Sprintf("; sessions not yet started on healthcare service %d relinked to healthcare service %d",
				cur.HealthcareServiceID, next.HealthcareServiceID)
		}
		return rec, nil
	})
	if err != nil {
		return TemplateChange{}, err
	}
	return s.topUp(ctx, org.ID, out)
}

// clash refuses sessions that would put a practitioner in two sessions at
// once (ECONFLICT, naming the other). It first locks the practitioner, so
// two changes for one clinician are checked one after the other.
//
// A template (sessions nil) is checked, as a weekly pattern, against every
// active session of the practitioner from today on other than its own
// (which a shape change remakes), however far ahead, and against the
// practitioner's other active templates. A one-off session is checked
// against the active sessions it overlaps and against the templates whose
// pattern covers it on a day they have not made a session for yet (a day
// the practice cancelled, or one beyond what has been materialised).
func (s *Service) clash(tx *store.AdminTx, t *scheduling.SessionTemplate, sessions []scheduling.Session) error {
	if t.PractitionerID == 0 {
		return nil
	}
	if err := tx.LockPractitioner(t.PracticeID, t.PractitionerID); err != nil {
		return err
	}
	now := s.Now()
	conflict := func(o *scheduling.Schedule) error {
		return scheduling.Errorf(scheduling.ECONFLICT, "practitioner %d already has session %d from %s to %s; move or cancel it first",
			t.PractitionerID, o.ID, scheduling.FormatLocal(o.Start), scheduling.FormatLocal(o.End))
	}
	oneOff := sessions != nil
	if !oneOff {
		future, err := tx.PractitionerSessions(t.PracticeID, t.PractitionerID, scheduling.LocalMidnight(now), farFuture)
		if err != nil {
			return err
		}
		for _, o := range future {
			if (o.TemplateID != t.ID || t.ID == 0) && patternCovers(t, o.Start, o.End) {
				return conflict(o)
			}
		}
	}
	for _, ses := range sessions {
		others, err := tx.PractitionerSessions(t.PracticeID, t.PractitionerID, ses.Schedule.Start, ses.Schedule.End)
		if err != nil {
			return err
		}
		if len(others) > 0 {
			return conflict(others[0])
		}
	}
	tpls, err := tx.ActiveTemplates(t.PracticeID)
	if err != nil {
		return err
	}
	for _, o := range tpls {
		if o.ID == t.ID || o.PractitionerID != t.PractitionerID || o.Weekday != t.Weekday ||
			!(o.StartLocal < t.EndLocal && t.StartLocal < o.EndLocal) {
			continue
		}
		if oneOff {
			day := scheduling.LocalMidnight(sessions[0].Schedule.Start)
			made, err := tx.TemplateHasSessionOn(o.ID, day, scheduling.AddDaysLocal(day, 1))
			if err != nil {
				return err
			}
			if made {
				continue // its session that day, if still active, was checked above
			}
		}
		return scheduling.Errorf(scheduling.ECONFLICT, "practitioner %d already works %s %s-%s under template %d (%q)",
			t.PractitionerID, o.Weekday, o.StartLocal, o.EndLocal, o.ID, o.Name)
	}
	return nil
}

// farFuture bounds "every session from today on".
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// patternCovers reports whether a session from start to end falls on the
// template's weekday and overlaps its local hours.
func patternCovers(t *scheduling.SessionTemplate, start, end time.Time) bool {
	ls, le := start.In(scheduling.London), end.In(scheduling.London)
	if ls.Weekday() != t.Weekday {
		return false
	}
	return ls.Format("15:04") < t.EndLocal && (t.StartLocal < le.Format("15:04") || le.Day() != ls.Day())
}

// handEdits maps each future session of template t that the practice
// edited by hand to what was edited, judged against t (the template the
// sessions were made from).
func handEdits(tx *store.AdminTx, t *scheduling.SessionTemplate, now time.Time) (map[int64][]KeepReason, error) {
	l, err := tx.EditedTemplateSessions(t.ID, now, t.AccessProfileID, t.HealthcareServiceID)
	if err != nil {
		return nil, err
	}
	out := make(map[int64][]KeepReason, len(l))
	for _, e := range l {
		for _, r := range []struct {
			on  bool
			why KeepReason
		}{{e.Blocked, KeepSessionBlocked}, {e.OwnProfile, KeepSessionProfile}, {e.OwnService, KeepSessionService},
			{e.SlotBlocked, KeepSlotBlocked}, {e.SlotProfile, KeepSlotProfile}} {
			if r.on {
				out[e.ScheduleID] = append(out[e.ScheduleID], r.why)
			}
		}
	}
	return out, nil
}

// keptDetail says, for the audit trail, which sessions were kept and why.
func keptDetail(l []KeptSession) string {
	if len(l) == 0 {
		return "none"
	}
	parts := make([]string, len(l))
	for i, k := range l {
		parts[i] = fmt.Sprintf("%d (%s)", k.ID, k.KeptText())
	}
	return strings.Join(parts, ", ")
}

// EndTemplate stops a template making sessions (it is kept, inactive, for the
// record) and retires its future sessions that hold no booking, hand-edited
// ones included (see UpdateTemplate for why).
func (s *Service) EndTemplate(ctx context.Context, a Actor, ods string, id int64) (TemplateChange, error) {
	off := false
	return s.UpdateTemplate(ctx, a, ods, id, TemplateInput{Active: &off})
}

// ---- sessions and slots ----

// Session reads one session with its slot counts and bookings. Errors: ENOTFOUND.
func (s *Service) Session(ctx context.Context, a Actor, ods string, id int64) (Session, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return Session{}, err
	}
	ss, err := s.st.Session(ctx, org.ID, id)
	if err != nil {
		return Session{}, err
	}
	return toSession(ss), nil
}

// SessionSlots lists a session's slots of every status, by start, so that an
// admin can find the slot ids to block or move. Errors: ENOTFOUND.
func (s *Service) SessionSlots(ctx context.Context, a Actor, ods string, id int64) ([]Slot, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return nil, err
	}
	ss, err := s.st.Session(ctx, org.ID, id)
	if err != nil {
		return nil, err
	}
	all, err := s.st.SlotsInPeriod(ctx, org.ID, ss.Schedule.Start, ss.Schedule.End)
	if err != nil {
		return nil, err
	}
	out := []Slot{}
	for i := range all {
		if all[i].ScheduleID == id {
			out = append(out, toSlot(&all[i]))
		}
	}
	return out, nil
}

// Sessions lists a practice's sessions starting in [from, to).
func (s *Service) Sessions(ctx context.Context, a Actor, ods string, from, to time.Time) ([]Session, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return nil, err
	}
	if !to.After(from) {
		return nil, scheduling.Errorf(scheduling.EPARAM, "the end of the period must be after its start")
	}
	if to.Sub(from) > 400*24*time.Hour {
		return nil, scheduling.Errorf(scheduling.EPARAM, "list at most 400 days of sessions at a time")
	}
	ss, err := s.st.Sessions(ctx, org.ID, from, to)
	if err != nil {
		return nil, err
	}
	out := make([]Session, len(ss))
	for i := range ss {
		out[i] = toSession(&ss[i])
	}
	return out, nil
}

// clockSpan says how long a session lasts: "2h", "2h30m", "45m".
func clockSpan(d time.Duration) string {
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case h == 0:
		return fmt.Sprintf("%dm", m)
	case m == 0:
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dh%02dm", h, m)
}

// AddSession adds a one-off session on a date, cut into slots at once.
// Errors: EINVALID (bad shape, foreign location/practitioner/profile/service, or a session already over).
func (s *Service) AddSession(ctx context.Context, a Actor, ods string, in SessionInput) (Session, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return Session{}, err
	}
	day, err := time.ParseInLocation("2006-01-02", strings.TrimSpace(in.Date), scheduling.London)
	if err != nil {
		return Session{}, invalid("date must be YYYY-MM-DD")
	}
	if day.After(s.Now().AddDate(MaxSessionYearsAhead, 0, 0)) {
		return Session{}, invalid("date must be within %d years from today", MaxSessionYearsAhead)
	}
	t := &scheduling.SessionTemplate{PracticeID: org.ID, Name: "one-off", Weekday: day.Weekday(), StartLocal: strings.TrimSpace(in.Start),
		EndLocal: strings.TrimSpace(in.End), SlotMinutes: in.SlotMinutes, LocationID: in.LocationID, PractitionerID: in.PractitionerID,
		Role: strings.TrimSpace(in.Role), ServiceCategory: strings.TrimSpace(in.ServiceCategory), ServiceType: strings.TrimSpace(in.ServiceType),
		Channels: cleanList(in.Channels, false), AccessProfileID: in.AccessProfileID, HealthcareServiceID: in.ServiceID, Active: true}
	if probs := sessionShapeProblems(t); len(probs) > 0 {
		return Session{}, invalid("%s", strings.Join(probs, "; "))
	}
	// On the spring clock change 01:00–01:59 does not exist; the session
	// would silently start (or end) an hour later than asked.
	for _, hhmm := range []string{t.StartLocal, t.EndLocal} {
		var hh, mm int
		fmt.Sscanf(hhmm, "%d:%d", &hh, &mm)
		if got := scheduling.AtLocal(day, hh, mm).Format("15:04"); got != hhmm {
			return Session{}, invalid("%s does not exist on %s in UK time (the clocks go forward an hour): choose another time", hhmm, in.Date)
		}
	}
	sessions := t.Sessions(day, scheduling.AddDaysLocal(day, 1))
	if len(sessions) != 1 || len(sessions[0].Slots) == 0 {
		return Session{}, invalid("the session has no whole slot between %s and %s", t.StartLocal, t.EndLocal)
	}
	ses := &sessions[0]
	// The shape check counts wall-clock minutes; on a clock-change night the
	// session lasts an hour less or more, which may leave a gap at its end.
	if last := ses.Slots[len(ses.Slots)-1].End; !last.Equal(ses.Schedule.End) {
		return Session{}, invalid("on %s the session lasts %s (the clocks change that night), not a whole number of %d-minute slots: choose other times or another slot length",
			in.Date, clockSpan(ses.Schedule.End.Sub(ses.Schedule.Start)), t.SlotMinutes)
	}
	if !ses.Schedule.End.After(s.Now()) {
		return Session{}, invalid("the session is already over")
	}
	var out Session
	err = s.st.AdminChange(ctx, func(tx *store.AdminTx) (*scheduling.AdminAuditRecord, error) {
		if err := checkRefs(tx, org.ID, t); err != nil {
			return nil, err
		}
		if err := s.clash(tx, t, []scheduling.Session{*ses}); err != nil {
			return nil, err
		}
		cp := *ses
		cp.Slots = slices.Clone(ses.Slots)
		if err := tx.InsertSession(&cp); err != nil {
			return nil, err
		}
		sum, err := tx.Session(org.ID, cp.Schedule.ID)
		if err != nil {
			return nil, err
		}
		out = toSession(sum)
		return s.record(org, a, "session.add", fmt.Sprintf("session/%d", out.ID), nil, out), nil
	})
	return out, err
}

// BlockSession blocks every free slot of a session, so none is offered.
// Booked slots are never touched: their appointments stand and are listed in
// KeptBooked (cancel them through the appointment book if they must go). While
// the session stays blocked, a slot freed by a cancellation is blocked too.
// Errors: ENOTFOUND, EINVALID (the session is cancelled).
func (s *Service) BlockSession(ctx context.Context, a Actor, ods string, id int64) (SessionChange, error) {
	return s.sessionChange(ctx, a, ods, id, "session.block", func(tx *store.AdminTx, cur *scheduling.SessionSummary, out *SessionChange) error {
		if cur.Schedule.Status != "active" {
			return invalid("session %d is %s", id, cur.Schedule.Status)
		}
		n, err := tx.SetSessionSlots(id, scheduling.SlotFree, scheduling.SlotBlocked)
		if err != nil {
			return err
		}
		out.Changed = n
		out.KeptBooked = slices.Clone(cur.AppointmentIDs)
		return tx.SetSessionBlocked(id, true)
	})
}

// SetSessionProfile gives a session, and each of its slots no booking holds,
// another access profile of the practice. A cancelled or retired session is
// refused, as block and unblock refuse it: its slots are offered to no one,
// so a new profile would change nothing but the audit trail.
// Errors: ENOTFOUND, EINVALID.
func (s *Service) SetSessionProfile(ctx context.Context, a Actor, ods string, id, profileID int64) (SessionChange, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return SessionChange{}, err
	}
	return s.sessionChange(ctx, a, ods, id, "session.profile", func(tx *store.AdminTx, cur *scheduling.SessionSummary, out *SessionChange) error {
		if cur.Schedule.Status != "active" {
			return invalid("session %d is %s", id, cur.Schedule.Status)
		}
		if _, err := tx.ProfileToLink(org.ID, profileID); err != nil {
			if scheduling.ErrorCode(err) == scheduling.ENOTFOUND {
				return invalid("access profile %d is not a profile of this practice", profileID)
			}
			return err
		}
		n, err := tx.SetSessionProfile(id, profileID)
		out.Changed = n
		out.KeptBooked = slices.Clone(cur.AppointmentIDs)
		return err
	})
}

// SetSessionService links a session to another healthcare service of the
// practice, or to none (0). Its appointments keep the service they were
// booked under, and are listed as kept. A session that is over is refused:
// its service is the record of what was offered. Errors: ENOTFOUND, EINVALID.
func (s *Service) SetSessionService(ctx context.Context, a Actor, ods string, id, serviceID int64) (SessionChange, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return SessionChange{}, err
	}
	return s.sessionChange(ctx, a, ods, id, "session.service", func(tx *store.AdminTx, cur *scheduling.SessionSummary, out *SessionChange) error {
		if err := checkService(tx, org.ID, serviceID); err != nil {
			return err
		}
		if cur.Schedule.HealthcareServiceID == serviceID {
			return nil
		}
		// A cancelled or retired session offers nothing, so it gets no new
		// link; taking one away is allowed, so that the service can go.
		if cur.Schedule.Status != "active" && serviceID != 0 {
			return invalid("session %d is %s; only its link to a service can be removed", id, cur.Schedule.Status)
		}
		if !cur.Schedule.End.After(s.Now()) {
			return invalid("session %d is over; its service stays as it was offered", id)
		}
		out.KeptBooked = slices.Clone(cur.AppointmentIDs)
		return tx.SetSessionService(id, serviceID)
	})
}

// UnblockSession frees the slots the session's block holds; a slot blocked
// on its own stays blocked. Errors: ENOTFOUND, EINVALID (cancelled or retired).
func (s *Service) UnblockSession(ctx context.Context, a Actor, ods string, id int64) (SessionChange, error) {
	return s.sessionChange(ctx, a, ods, id, "session.unblock", func(tx *store.AdminTx, cur *scheduling.SessionSummary, out *SessionChange) error {
		if cur.Schedule.Status != "active" {
			return invalid("session %d is %s; add a new session instead", id, cur.Schedule.Status)
		}
		n, err := tx.SetSessionSlots(id, scheduling.SlotBlocked, scheduling.SlotFree)
		if err != nil {
			return err
		}
		out.Changed = n
		return tx.SetSessionBlocked(id, false)
	})
}

// CancelSession cancels a session and blocks its slots. It is refused
// (ECONFLICT, naming the appointments) while the session holds bookings:
// cancelling those is a decision about patients, not a side effect.
// Errors: ENOTFOUND, ECONFLICT.
func (s *Service) CancelSession(ctx context.Context, a Actor, ods string, id int64) (SessionChange, error) {
	return s.sessionChange(ctx, a, ods, id, "session.cancel", func(tx *store.AdminTx, cur *scheduling.SessionSummary, out *SessionChange) error {
		if len(cur.AppointmentIDs) > 0 || cur.Booked > 0 {
			return scheduling.Errorf(scheduling.ECONFLICT, "session %d holds booked appointments %v; cancel them first (appointments cancel), or block the session's free slots instead",
				id, cur.AppointmentIDs)
		}
		if cur.Schedule.Status == "cancelled" {
			return nil
		}
		if cur.Schedule.Status == scheduling.SessionRetired {
			return invalid("session %d is retired: its template replaced it", id)
		}
		n, err := tx.SetSessionSlots(id, scheduling.SlotFree, scheduling.SlotBlocked)
		if err != nil {
			return err
		}
		out.Changed = n
		return tx.SetSessionStatus(id, "cancelled")
	})
}

func (s *Service) sessionChange(ctx context.Context, a Actor, ods string, id int64, action string,
	fn func(tx *store.AdminTx, cur *scheduling.SessionSummary, out *SessionChange) error) (SessionChange, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return SessionChange{}, err
	}
	var out SessionChange
	err = s.st.AdminChange(ctx, func(tx *store.AdminTx) (*scheduling.AdminAuditRecord, error) {
		out = SessionChange{KeptBooked: []int64{}}
		cur, err := tx.LockSession(org.ID, id)
		if err != nil {
			return nil, err
		}
		before := toSession(cur)
		if err := fn(tx, cur, &out); err != nil {
			return nil, err
		}
		after, err := tx.Session(org.ID, id)
		if err != nil {
			return nil, err
		}
		out.Session = toSession(after)
		if out.KeptBooked == nil {
			out.KeptBooked = []int64{}
		}
		if jsonOrEmpty(out.Session) == jsonOrEmpty(before) {
			return nil, nil
		}
		rec := s.record(org, a, action, fmt.Sprintf("session/%d", id), before, out.Session)
		if len(out.KeptBooked) > 0 {
			rec.Detail = fmt.Sprintf("booked appointments kept: %v", out.KeptBooked)
		}
		return rec, nil
	})
	return out, err
}

// Slot reads one slot. Returns ENOTFOUND.
func (s *Service) Slot(ctx context.Context, a Actor, ods string, id int64) (Slot, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return Slot{}, err
	}
	sl, err := s.st.SlotByID(ctx, org.ID, id)
	if err != nil {
		return Slot{}, err
	}
	return toSlot(sl), nil
}

// BlockSlot blocks a slot on its own: it stays blocked whatever happens to
// its session's block until UnblockSlot. A slot its session already blocks
// gets its own block too. A booked slot is refused (ECONFLICT, naming the
// appointment). Errors: ENOTFOUND, ECONFLICT.
func (s *Service) BlockSlot(ctx context.Context, a Actor, ods string, id int64) (Slot, error) {
	return s.slotChange(ctx, a, ods, id, "slot.block", func(tx *store.AdminTx, cur *scheduling.Slot) error {
		if _, err := activeSessionSlot(tx, cur); err != nil {
			return err
		}
		switch cur.Status {
		case scheduling.SlotFree, scheduling.SlotBlocked:
			if cur.OwnBlock {
				return nil
			}
			ok, err := tx.SetSlotOwnBlock(id, true, false)
			if err == nil && !ok {
				err = scheduling.Errorf(scheduling.ECONFLICT, "slot %d changed meanwhile; try again", id)
			}
			return err
		}
		appt, err := tx.SlotAppointment(id)
		if err != nil {
			return err
		}
		return scheduling.Errorf(scheduling.ECONFLICT, "slot %d is booked (appointment %d); cancel the appointment first (appointments cancel)", id, appt)
	})
}

// UnblockSlot lifts a slot's own block, freeing it. A slot of a blocked
// session stays blocked by the session (its own block, if any, is lifted, so
// unblocking the session frees it); one blocked only by its session is
// refused (EINVALID: unblock the session). Errors: ENOTFOUND, EINVALID, ECONFLICT.
func (s *Service) UnblockSlot(ctx context.Context, a Actor, ods string, id int64) (Slot, error) {
	return s.slotChange(ctx, a, ods, id, "slot.unblock", func(tx *store.AdminTx, cur *scheduling.Slot) error {
		switch cur.Status {
		case scheduling.SlotFree:
			return nil
		case scheduling.SlotBlocked:
		default:
			return scheduling.Errorf(scheduling.ECONFLICT, "slot %d is booked, not blocked", id)
		}
		// Locked, so that a block of the session cannot commit between
		// this read and the slot's update.
		ses, err := activeSessionSlot(tx, cur)
		if err != nil {
			return err
		}
		if ses.SessionBlocked && !cur.OwnBlock {
			return invalid("slot %d is blocked by its session %d; unblock the session", id, cur.ScheduleID)
		}
		ok, err := tx.SetSlotOwnBlock(id, false, ses.SessionBlocked)
		if err == nil && !ok {
			err = scheduling.Errorf(scheduling.ECONFLICT, "slot %d changed meanwhile; try again", id)
		}
		return err
	})
}

// SetSlotProfile gives a slot its own access profile (its session keeps its
// own). A booked slot is refused (ECONFLICT, naming the appointment), as a
// session's profile change leaves its booked slots alone: the booking counts
// against the profile it was made under. Errors: ENOTFOUND, EINVALID
// (profile of another practice), ECONFLICT.
func (s *Service) SetSlotProfile(ctx context.Context, a Actor, ods string, id, profileID int64) (Slot, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return Slot{}, err
	}
	return s.slotChange(ctx, a, ods, id, "slot.profile", func(tx *store.AdminTx, cur *scheduling.Slot) error {
		if _, err := activeSessionSlot(tx, cur); err != nil {
			return err
		}
		if _, err := tx.ProfileToLink(org.ID, profileID); err != nil {
			if scheduling.ErrorCode(err) == scheduling.ENOTFOUND {
				return invalid("access profile %d is not a profile of this practice", profileID)
			}
			return err
		}
		if cur.AccessProfileID == profileID {
			return nil
		}
		if ok, err := tx.SetSlotProfile(id, profileID); err != nil || ok {
			return err
		}
		appt, err := tx.SlotAppointment(id)
		if err != nil {
			return err
		}
		return scheduling.Errorf(scheduling.ECONFLICT, "slot %d is booked (appointment %d), and a booking keeps the profile it was made under; cancel the appointment first", id, appt)
	})
}

// activeSessionSlot refuses a change to a slot of a cancelled or retired
// session (EINVALID), as UnblockSlot and a session's own profile change do:
// its slots are offered to no one, so the change would alter nothing but
// the audit trail.
// The session is locked and returned, so a caller can go on to rely on
// its state until the change commits.
func activeSessionSlot(tx *store.AdminTx, cur *scheduling.Slot) (*scheduling.SessionSummary, error) {
	ses, err := tx.LockSession(cur.PracticeID, cur.ScheduleID)
	if err != nil {
		return nil, err
	}
	if ses.Schedule.Status != "active" {
		return nil, invalid("slot %d belongs to %s session %d", cur.ID, ses.Schedule.Status, cur.ScheduleID)
	}
	return ses, nil
}

func (s *Service) slotChange(ctx context.Context, a Actor, ods string, id int64, action string, fn func(tx *store.AdminTx, cur *scheduling.Slot) error) (Slot, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return Slot{}, err
	}
	var out Slot
	err = s.st.AdminChange(ctx, func(tx *store.AdminTx) (*scheduling.AdminAuditRecord, error) {
		cur, err := tx.Slot(org.ID, id)
		if err != nil {
			return nil, err
		}
		before := toSlot(cur)
		if err := fn(tx, cur); err != nil {
			return nil, err
		}
		after, err := tx.Slot(org.ID, id)
		if err != nil {
			return nil, err
		}
		out = toSlot(after)
		if out == before {
			return nil, nil
		}
		return s.record(org, a, action, fmt.Sprintf("slot/%d", id), before, out), nil
	})
	return out, err
}

// ---- audit ----

// MaxAuditLimit is the most audit entries one Audit call lists.
const MaxAuditLimit = 1000

// Audit lists a practice's admin changes, newest first, at most limit
// (1 to MaxAuditLimit; EPARAM otherwise).
func (s *Service) Audit(ctx context.Context, a Actor, ods string, limit int) ([]AuditEntry, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > MaxAuditLimit {
		return nil, scheduling.Errorf(scheduling.EPARAM, "limit must be between 1 and %d", MaxAuditLimit)
	}
	recs, err := s.st.AdminAudit(ctx, org.ID, limit)
	if err != nil {
		return nil, err
	}
	out := make([]AuditEntry, len(recs))
	for i, r := range recs {
		out[i] = AuditEntry{ID: r.ID, At: scheduling.FormatLocal(r.At), Actor: r.Actor, Action: r.Action, Target: r.Target, Detail: r.Detail}
		if r.Before != "" {
			out[i].Before = json.RawMessage(r.Before)
		}
		if r.After != "" {
			out[i].After = json.RawMessage(r.After)
		}
	}
	return out, nil
}

// MaxODSCodes bounds a profile's list of consumer ODS codes: a list is
// read on every search the profile's slots appear in, and a region's
// practices and services fit well within it.
const MaxODSCodes = 1000

// MaxLabel bounds an admin token's label, in characters.
const MaxLabel = 100

// MaxCap bounds a profile's cap (the column is a 32-bit integer on PostgreSQL).
const MaxCap = 1_000_000

// hasControl reports whether s holds a control character, C0 or C1 (a NUL
// cannot be stored in PostgreSQL text, and none belongs in a name), or an
// invisible character that reorders text, such as a bidirectional override,
// which can make a name read as another in a list (scheduling.Unsafe); or
// bytes that are not UTF-8, which the CLI passes on as given (the API's
// JSON reader refuses them) and which PostgreSQL refuses and SQLite stores.
func hasControl(s string) bool {
	return !utf8.ValidString(s) || strings.ContainsFunc(s, scheduling.Unsafe)
}

// textField is a free text an admin gives, with the rules it is held to.
type textField struct {
	what, v  string
	max      int // in characters
	required bool
}

// textProblems checks free texts: required ones not blank, none longer
// than its max or holding control or invisible formatting characters, or
// bytes that are not UTF-8. Profiles, sessions, clinicians and sites all say
// it in these words.
func textProblems(fields ...textField) []string {
	var probs []string
	for _, f := range fields {
		switch {
		case f.v == "" && f.required:
			probs = append(probs, f.what+" is required")
		case tooLong(f.v, f.max):
			probs = append(probs, fmt.Sprintf("%s has %d characters; at most %d are allowed", f.what, utf8.RuneCountInString(f.v), f.max))
		case hasControl(f.v):
			probs = append(probs, f.what+" cannot hold control or invisible formatting characters, or bytes that are not UTF-8")
		}
	}
	return probs
}

// tooLong reports whether s has more than n characters (runes, not bytes:
// a name in another script fits as one in ASCII does).
func tooLong(s string, n int) bool { return utf8.RuneCountInString(s) > n }

// MaxSessionYearsAhead bounds how far ahead a one-off session may be added.
const MaxSessionYearsAhead = 2
