package scheduling

import (
	"regexp"
	"strings"
	"time"
)

// The slot search's period rules (spec §5.1–5.3) live here, not in the
// provider, because admin explain answers "why does this consumer see no
// slots?" for that search: it must refuse what the search refuses, with the
// search's words, or it explains a period no consumer can ask for.

var (
	searchDateRe     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	searchDateTimeRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$`)
)

// ParseSearchTime reads one bound of a slot search as sent after its ge or
// le prefix: a date (YYYY-MM-DD, UK local midnight; dateOnly is true) or a
// dateTime YYYY-MM-DDThh:mm:ss+hh:mm carrying the UK offset in force at that
// instant. Z, a missing offset, fractional seconds and the other season's
// offset are refused (EPARAM), with the diagnostics the search sends.
func ParseSearchTime(s string) (t time.Time, dateOnly bool, err error) {
	switch {
	case searchDateRe.MatchString(s):
		t, err := time.ParseInLocation("2006-01-02", s, London)
		if err != nil {
			return time.Time{}, false, Errorf(EPARAM, "Invalid date %q", s)
		}
		return t, true, nil
	case searchDateTimeRe.MatchString(s):
		if strings.HasSuffix(s, "-00:00") {
			// UK offsets are +00:00 and +01:00; "-00:00" means "offset unknown" (RFC 3339).
			return time.Time{}, false, Errorf(EPARAM, "The dateTime %q must carry the UK offset +00:00 or +01:00", s)
		}
		t, err := time.Parse(LocalLayout, s)
		if err != nil {
			return time.Time{}, false, Errorf(EPARAM, "Invalid dateTime %q", s)
		}
		if _, off := t.Zone(); off != offsetAt(t) {
			return time.Time{}, false, Errorf(EPARAM, "The dateTime %q does not carry the UK offset in force at that time", s)
		}
		return t, false, nil
	}
	return time.Time{}, false, Errorf(EPARAM, "Invalid date or dateTime %q (use YYYY-MM-DD or YYYY-MM-DDThh:mm:ss+hh:mm)", clipText(s, 40))
}

// SearchPeriod applies spec §5.2 to a search's parsed bounds and returns the
// period searched: a date-only end (le on a date) covers that whole day.
// The order is of instants (in the autumn's repeated hour 01:30+01:00 comes
// before 01:15+00:00); the 14-day limit compares the values as sent, on the
// UK wall clock, so ge{date} le{date+14} is allowed, as is a range spanning
// a clock change. Errors: EPARAM, with the search's diagnostics.
func SearchPeriod(start, end time.Time, endDateOnly bool) (from, to time.Time, err error) {
	to = end
	if endDateOnly {
		to = AddDaysLocal(end, 1)
	}
	if to.Before(start) || (endDateOnly && to.Equal(start)) {
		return time.Time{}, time.Time{}, Errorf(EPARAM, "The end of the period is before its start")
	}
	if span := WallClock(end).Sub(WallClock(start)); span > MaxSearchDays*24*time.Hour {
		return time.Time{}, time.Time{}, Errorf(EPARAM, "Invalid time period, was %s between (max is %d days)", DaysText(span), MaxSearchDays)
	}
	return start, to, nil
}

// SearchTimeExample returns, for a dateTime ParseSearchTime refuses only
// for its offset or form (Z, no offset, the other season's offset, no
// seconds, fractional seconds), the same UK wall-clock time written as the
// search wants it, so a refusal can show the offset of that date's season
// (+00:00 in winter, +01:00 in summer) instead of leaving the reader to
// work it out. ok is false for anything else.
func SearchTimeExample(s string) (example string, ok bool) {
	var wall time.Time
	var err error
	if len(s) >= 19 {
		wall, err = time.ParseInLocation("2006-01-02T15:04:05", s[:19], London)
	}
	if len(s) < 19 || err != nil {
		if len(s) < 16 {
			return "", false
		}
		if wall, err = time.ParseInLocation("2006-01-02T15:04", s[:16], London); err != nil {
			return "", false
		}
	}
	if example = FormatLocal(wall); example == s {
		return "", false
	}
	return example, true
}

// offsetAt is the UK offset in force at t, in seconds east of UTC.
func offsetAt(t time.Time) int {
	_, off := t.In(London).Zone()
	return off
}

// clipText shortens a value quoted back in a message, as the provider's
// diagnostics do.
func clipText(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// PlusAsSpaceHint is added to the refusal of a query-string time that a
// "+" in place of a space would have made good: a "+" sent unencoded in a
// query string is read as a space, so an offset "+00:00" arrives as
// " 00:00", and the value quoted back alone does not show why it was
// refused. The hub API and the admin API both say it.
const PlusAsSpaceHint = ` (a "+" sent unencoded in a query string arrives as a space: percent-encode it as %2B)`
