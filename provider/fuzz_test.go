package provider

// FuzzSlotQuery: parseSlotQuery must never panic on any raw query string, must
// fail only with an *apiError sent as 400 or 422, and whatever it accepts
// must be a sane period (non-negative, at most 14 wall-clock days plus the
// day a date-only end covers).
//
//	go test ./provider/ -run '^$' -fuzz FuzzSlotQuery -fuzztime 60s

import (
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func FuzzSlotQuery(f *testing.F) {
	seeds := []string{
		"start=ge2027-10-24T00:00:00%2B01:00&end=le2027-11-07T00:00:00%2B00:00&status=free&_include=Slot:schedule",
		"start=ge2027-03-21&end=le2027-04-04&status=free&_include=Slot:schedule&_include:recurse=Schedule:actor:Location",
		"start=ge2027-01-01&end=le2027-01-01&status=free&_include=Slot:schedule&searchFilter=https://fhir.nhs.uk/Id/ods-organization-code%7CA20047",
		"start=ge2027-01-01&end=le2027-01-01&status=free&_include=Slot:schedule&service.identifier=https://fhir.nhs.uk/Id/uec-dos-service-id%7C1",
		"start=ge2027-01-01&end=le2027-01-01&status=free&_include=Slot:schedule&service.identifier=x%7C1",
		"start=ge2027-01-01&start=ge2027-01-01&end=le2027-01-02&status=free&_include=Slot:schedule",
		"start=lt2027-01-01&end=le2027-01-02&status=busy&_include=Slot:schedule",
		"start=ge2027-01-01T00:00:00Z&end=le2027-01-02&status=free&_include=Slot:schedule",
		"start=ge2027-01-01T00:00:00-00:00&end=le2027-01-02&status=free&_include=Slot:schedule",
		"start=ge2027-01-01T00:00:00+00:00&end=le2027-01-02&status=free&_include=Slot:schedule",
		"start=ge2027&end=le2027-01&status=free&_include=Slot:schedule",
		"start=ge9999-12-31T23:59:59%2B00:00&end=le9999-12-31&status=free&_include=Slot:schedule",
		"start=ge0000-01-01&end=le0000-01-14&status=free&_include=Slot:schedule",
		"start=ge2027-02-29&end=le2027-03-01&status=free&_include=Slot:schedule",
		"status=free",
		"",
		"%zz",
		"start=&end=&status=&_include=",
		"_format=application/fhir%2Bxml;charset=utf-8&start=ge2027-01-01",
		"a=1&&b=%2&c",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, qerr := parseQuery(raw) // a bad pair is skipped; every good one is still returned
		// parseQuery is url.ParseQuery except that a raw ';' is data and a
		// control character or invalid UTF-8 in a decoded name or value is
		// an error.
		want, werr := url.ParseQuery(raw)
		ctl := false
		for k, vs := range want {
			bad := func(s string) bool { return !scheduling.PlainText(s) }
			ctl = ctl || bad(k) || slices.ContainsFunc(vs, bad)
		}
		switch {
		case strings.Contains(raw, ";"):
		case ctl:
			if qerr == nil {
				t.Fatalf("parseQuery(%q) = %v accepted a control character", raw, q)
			}
		case (werr == nil) != (qerr == nil) || werr == nil && qerr == nil && !reflect.DeepEqual(q, want):
			t.Fatalf("parseQuery(%q) = %v, %v; url.ParseQuery = %v, %v", raw, q, qerr, want, werr)
		}
		sq, err := parseSlotQuery(q)
		if err != nil {
			st, _, ok := statusOf(err)
			if !ok {
				t.Fatalf("error %T %v is not an *apiError", err, err)
			}
			if st != 400 && st != 422 {
				t.Fatalf("status %d for %q (%v); want 400 or 422", st, raw, err)
			}
			if sq != nil {
				t.Fatalf("both a query and an error")
			}
			return
		}
		if sq == nil {
			t.Fatalf("nil query and nil error")
		}
		if sq.end.Before(sq.start) {
			t.Fatalf("accepted a negative period [%s, %s] from %q", sq.start, sq.end, raw)
		}
		// At most 14 wall-clock days, plus the day a date-only end covers.
		if d := scheduling.WallClock(sq.end).Sub(scheduling.WallClock(sq.start)); d > 15*24*time.Hour {
			t.Fatalf("accepted a %.2f-day period from %q", d.Hours()/24, raw)
		}
		if sq.start.IsZero() || sq.end.IsZero() {
			t.Fatalf("accepted a zero time from %q", raw)
		}
	})
}
