package consumer

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"

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
const MaxSearchDays = 14

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
			from, to, spanText(span), MaxSearchDays, MaxSearchDays)
	}
	return nil
}

// spanText writes a duration as days and the rest ("20 days", "14 days 1h0m0s").
func spanText(d time.Duration) string {
	days, rest := d/(24*time.Hour), d%(24*time.Hour)
	if rest == 0 {
		return fmt.Sprintf("%d days", days)
	}
	return fmt.Sprintf("%d days %v", days, rest)
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
