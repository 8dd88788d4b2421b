package provider

import (
	"errors"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// TestSearchPeriodAgreesWithScheduling: admin explain reads a consumer's
// period with scheduling.ParseSearchTime and SearchPeriod, to answer for
// this search. Until parseSlotQuery calls them itself, this holds the two
// to one rule: the same bounds accepted, the same period, and each refusal
// the search's 422 INVALID_PARAMETER with the same diagnostics.
func TestSearchPeriodAgreesWithScheduling(t *testing.T) {
	values := []string{
		"2026-12-08", "2026-12-09", "2026-12-22", "2026-12-23", "2026-02-30", "2026-12", "",
		"2026-12-08T09:00:00+00:00", "2026-12-08T09:00:00+01:00", "2026-12-08T09:00:00Z", "2026-12-08T09:00:00",
		"2026-12-08T09:00:00.5+00:00", "2026-12-08T09:00:00-00:00", "2026-12-08T25:00:00+00:00", "2026-12-22T09:00:00+00:00",
		"2026-12-22T09:00:01+00:00", "2026-12-08T08:59:59+00:00", "2026-12-08T09:00:00 00:00",
		"2027-10-24", "2027-11-07", "2027-11-08", "2027-10-31T01:30:00+01:00", "2027-10-31T01:30:00+00:00",
		"2027-10-24T00:00:00+01:00", "2027-11-07T00:00:00+00:00", "2027-11-07T00:00:01+00:00",
		"2027-03-28T01:30:00+00:00", "2027-03-28T02:30:00+01:00", "2027-03-28T03:00:00+01:00",
	}
	for _, s := range values {
		for _, e := range values {
			sq, perr := parseSlotQuery(slotValues("ge"+s, "le"+e))
			from, to, serr := explainPeriod(s, e)
			if perr == nil && serr == nil {
				if !sq.start.Equal(from) || !sq.end.Equal(to) {
					t.Errorf("%q to %q: search [%s, %s), scheduling [%s, %s)", s, e, sq.start, sq.end, from, to)
				}
				continue
			}
			var ae *apiError
			if perr == nil || serr == nil || !errors.As(perr, &ae) || ae.code != gpconnect.InvalidParameter ||
				scheduling.ErrorCode(serr) != scheduling.EPARAM || ae.msg != scheduling.ErrorMessage(serr) {
				t.Errorf("%q to %q: search says %v, scheduling says %v", s, e, perr, serr)
			}
		}
	}
}

// explainPeriod reads a period with the scheduling functions, as admin explain does.
func explainPeriod(start, end string) (time.Time, time.Time, error) {
	s, _, err := scheduling.ParseSearchTime(start)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	e, endDate, err := scheduling.ParseSearchTime(end)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	return scheduling.SearchPeriod(s, e, endDate)
}
