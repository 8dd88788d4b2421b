package consumer

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// ErrInvalidRequest is wrapped by the error of a call whose arguments break
// a rule GP Connect sets for consumers (range, text length, required
// element): the request was not sent. A provider would refuse it, so
// sending it would only cost a round trip and an audit record. Conformance
// suites that mean to send such a request do it through WithRawQuery or
// WithBody on valid arguments.
var ErrInvalidRequest = errors.New("consumer: request not sent")

// invalid wraps ErrInvalidRequest with what is wrong.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidRequest}, args...)...)
}

// checkIdentity reports, all at once, what in cfg would put a token on the
// wire that GP Connect does not allow (spec §3.2, §8.4). auth.Mint checks
// only what a provider must refuse; a provider has to tolerate a bare
// requesting_device or the legacy ODS system, but a consumer must not rely
// on that. A missing role-profile or local user identifier, or a missing
// given name, stays allowed: providers must accept them.
func checkIdentity(cfg Config) error {
	var probs []string
	if u, err := url.Parse(cfg.Issuer); err != nil || !u.IsAbs() || strings.ContainsFunc(cfg.Issuer, unicode.IsSpace) {
		probs = append(probs, fmt.Sprintf("Issuer %q (the JWT iss) is not an absolute URI such as https://consumer.example.nhs.uk/", cfg.Issuer))
	}
	d := cfg.Device
	blank := func(s string) bool { return strings.TrimSpace(s) == "" }
	if len(d.Identifier) == 0 || blank(d.Identifier[0].System) {
		probs = append(probs, "Device (requesting_device) lacks identifier[0].system")
	}
	if len(d.Identifier) == 0 || blank(d.Identifier[0].Value) {
		probs = append(probs, "Device (requesting_device) lacks identifier[0].value")
	}
	if blank(d.Model) {
		probs = append(probs, "Device (requesting_device) lacks model (the product name)")
	}
	if blank(d.Version) {
		probs = append(probs, "Device (requesting_device) lacks version")
	}
	for _, id := range cfg.Organization.Identifier {
		if id.System == gpconnect.SystemODSOrganisationOld {
			probs = append(probs, fmt.Sprintf("Organization (requesting_organization) uses the legacy ODS system %s, which providers accept only for old consumers; send %s",
				gpconnect.SystemODSOrganisationOld, gpconnect.SystemODSOrganisation))
			break
		}
	}
	if len(probs) > 0 {
		return errors.New("consumer: " + strings.Join(probs, "; ") + " (spec §3.2)")
	}
	return nil
}

// MaxSearchDays is the longest slot search GP Connect allows in one request
// (spec §5.2), counted on the UK wall clock.
const MaxSearchDays = scheduling.MaxSearchDays

// Check reports why the query's range may not be sent (spec §5.2), wrapping
// ErrInvalidRequest: Start or End unset; a range that is empty or inverted
// (for DateOnly, End's date before Start's); or one longer than 14 days on
// the UK wall clock, as providers count it (so a range across a clock change
// may be 14 days and an hour of elapsed time, and with DateOnly,
// ge{D}&le{D+14} is allowed). SearchSlots calls it before sending.
func (q SlotQuery) Check() error {
	if q.Start.IsZero() || q.End.IsZero() {
		return invalid("a slot search needs both Start and End")
	}
	// Compare what goes on the wire: whole seconds, or dates.
	start, end := scheduling.WallClock(q.Start), scheduling.WallClock(q.End)
	from, to := FormatLocal(q.Start), FormatLocal(q.End)
	if q.DateOnly {
		start, end = scheduling.WallClock(LocalMidnight(q.Start)), scheduling.WallClock(LocalMidnight(q.End))
		from, to = FormatDate(q.Start), FormatDate(q.End)
		if end.Before(start) {
			return invalid("the slot search range is inverted: end %s is before start %s", to, from)
		}
	} else if !q.End.Truncate(time.Second).After(q.Start.Truncate(time.Second)) {
		// Instants, not wall clock: in the autumn's repeated hour 01:30+01:00 comes before 01:15+00:00.
		return invalid("the slot search range is empty or inverted: end %s is not after start %s", to, from)
	}
	if span := end.Sub(start); span > MaxSearchDays*24*time.Hour {
		return invalid("the slot search range %s to %s is %s on the UK wall clock; GP Connect allows at most %d days per request (spec §5.2): split a longer period into windows of %d days or less (as federation.SplitWindows does) and search each",
			from, to, scheduling.DaysText(span), MaxSearchDays, MaxSearchDays)
	}
	return nil
}

// checkRetrieveRange refuses a retrieve range a provider must refuse (spec
// §7.4, §13.10): it may not reach into the past, so from is today or later,
// and to is not before from. Both are compared as the UK dates sent.
func checkRetrieveRange(from, to, now time.Time) error {
	f, t, today := FormatDate(from), FormatDate(to), FormatDate(now)
	// YYYY-MM-DD strings order as the dates do.
	if f < today {
		return invalid("the retrieve range starts %s, before today (%s): providers list only appointments from today on (spec §7.4)", f, today)
	}
	if t < f {
		return invalid("the retrieve range is inverted: it ends %s, before it starts (%s)", t, f)
	}
	return nil
}

// checkText applies the consumer caps on an appointment's free text (spec
// §6.2): description at most 100 characters, comment at most 500, counted
// as runes since the spec counts characters, not bytes. Providers must
// refuse longer text rather than truncate it.
func checkText(description, comment string) error {
	if probs := scheduling.TextProblems(description, comment); len(probs) > 0 {
		return invalid("%s (spec §6.2)", strings.Join(probs, "; "))
	}
	return nil
}

// checkBooking refuses what NewBooking must not build: text over the caps,
// or a slot that has already started by now (spec §6.1: only future
// appointments may be booked; the provider would refuse it).
func checkBooking(slots []*fhir.Slot, bk Booking, now time.Time) error {
	if err := checkText(bk.Description, bk.Comment); err != nil {
		return err
	}
	for _, s := range slots {
		start, err := time.Parse(time.RFC3339, s.Start)
		if err != nil {
			return invalid("slot %s has no usable start (%q)", s.ID, s.Start)
		}
		if !start.After(now) {
			return invalid("slot %s started at %s; only future slots can be booked (spec §6.1)", s.ID, s.Start)
		}
	}
	return nil
}

// checkAmend is called first by Amend (and Book): the text caps hold for
// an appointment sent back as for a new one (spec §6.2, §7.2). A nil
// appointment is left to the update path to report.
func checkAmend(a *fhir.Appointment) error {
	if a == nil {
		return nil
	}
	return checkText(a.Description, a.Comment)
}

// checkCancelReason is called first by Cancel: an empty or blank reason is
// invalid FHIR and providers refuse it (spec §7.3).
func checkCancelReason(reason string) error {
	if strings.TrimSpace(reason) == "" {
		return invalid("a cancellation needs a reason (spec §7.3)")
	}
	return nil
}

// orNow is t, or the current time when t is zero.
func orNow(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now()
	}
	return t
}

// checkRegisterPatient refuses a Patient without the minimum spec §12.4
// says a registration SHALL carry: an NHS number identifier, exactly one
// official name with family and given, and birthDate. It does not try to
// enforce the spec's "nothing else"; the provider judges the rest.
func checkRegisterPatient(p *fhir.Patient) error {
	if p == nil {
		return invalid("register patient needs a Patient")
	}
	var probs []string
	nhs := false
	for _, id := range p.Identifier {
		nhs = nhs || (id.System == gpconnect.SystemNHSNumber && strings.TrimSpace(id.Value) != "")
	}
	if !nhs {
		probs = append(probs, "an identifier with system "+gpconnect.SystemNHSNumber+" and the NHS number")
	}
	var official []fhir.HumanName
	for _, n := range p.Name {
		if n.Use == "official" {
			official = append(official, n)
		}
	}
	switch {
	case len(official) != 1:
		probs = append(probs, fmt.Sprintf("exactly one name with use official (it has %d)", len(official)))
	case strings.TrimSpace(official[0].Family) == "" || !slices.ContainsFunc(official[0].Given, func(g string) bool { return strings.TrimSpace(g) != "" }):
		probs = append(probs, "a family and a given name in the official name")
	}
	if strings.TrimSpace(p.BirthDate) == "" {
		probs = append(probs, "birthDate")
	}
	if len(probs) > 0 {
		return invalid("the Patient to register lacks %s (spec §12.4)", strings.Join(probs, "; "))
	}
	return nil
}
