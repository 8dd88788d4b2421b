package provider

// parseSlotQuery on its own: clock-change ranges (§5.2 [REC], the wall-clock
// rule of gpconnect-provider-testing#313) and the offset rules of §5.1 around
// the changes, with fixed dates the real clock and demo horizon never reach.

import (
	"errors"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/scheduling"
)

func slotValues(start, end string) url.Values {
	return url.Values{"start": {start}, "end": {end}, "status": {"free"}, "_include": {"Slot:schedule"}}
}

// statusOf is the HTTP status an error from parseSlotQuery would be sent with.
func statusOf(err error) (int, string, bool) {
	var ae *apiError
	if !errors.As(err, &ae) {
		return 0, "", false
	}
	st := ae.status
	if st == 0 {
		st = ae.code.HTTPStatus()
	}
	return st, string(ae.code), true
}

func TestParseSlotQueryClockChange(t *testing.T) {
	lon := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, scheduling.London)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	rows := []struct {
		name       string
		start, end string
		status     int       // 0 = accepted
		wantStart  time.Time // checked when accepted
		wantEnd    time.Time
	}{
		// Autumn 2027: BST ends 01:00 UTC on Sunday 31 October.
		{name: "Oct: 14 wall-clock days (14 d + 1 h elapsed)", start: "ge2027-10-24T00:00:00+01:00", end: "le2027-11-07T00:00:00+00:00",
			wantStart: lon("2027-10-24 00:00"), wantEnd: lon("2027-11-07 00:00")},
		{name: "Oct: 14 wall-clock days + 1 s", start: "ge2027-10-24T00:00:00+01:00", end: "le2027-11-07T00:00:01+00:00", status: 422},
		{name: "Oct: dates only, 14 days", start: "ge2027-10-24", end: "le2027-11-07",
			wantStart: lon("2027-10-24 00:00"), wantEnd: lon("2027-11-08 00:00")},
		{name: "Oct: dates only, 15 days", start: "ge2027-10-24", end: "le2027-11-08", status: 422},
		{name: "Oct: wrong offset after the change", start: "ge2027-10-24T00:00:00+01:00", end: "le2027-11-01T00:00:00+01:00", status: 422},
		{name: "Oct: repeated hour, first (BST)", start: "ge2027-10-31T01:30:00+01:00", end: "le2027-10-31T02:00:00+00:00",
			wantStart: time.Date(2027, 10, 31, 0, 30, 0, 0, time.UTC), wantEnd: time.Date(2027, 10, 31, 2, 0, 0, 0, time.UTC)},
		{name: "Oct: repeated hour, second (GMT)", start: "ge2027-10-31T01:30:00+00:00", end: "le2027-10-31T02:00:00+00:00",
			wantStart: time.Date(2027, 10, 31, 1, 30, 0, 0, time.UTC), wantEnd: time.Date(2027, 10, 31, 2, 0, 0, 0, time.UTC)},
		{name: "Oct: 00:59 UTC is still BST", start: "ge2027-10-31T00:59:00+00:00", end: "le2027-10-31T03:00:00+00:00", status: 422},
		// The order of start and end is of instants, not wall-clock readings.
		{name: "Oct: repeated hour, end's reading earlier, instant later", start: "ge2027-10-31T01:30:00+01:00", end: "le2027-10-31T01:15:00+00:00",
			wantStart: time.Date(2027, 10, 31, 0, 30, 0, 0, time.UTC), wantEnd: time.Date(2027, 10, 31, 1, 15, 0, 0, time.UTC)},
		{name: "Oct: repeated hour, end's reading later, instant earlier", start: "ge2027-10-31T01:30:00+00:00", end: "le2027-10-31T01:45:00+01:00", status: 422},
		// Spring 2027: BST starts 01:00 UTC on Sunday 28 March.
		{name: "Mar: 14 wall-clock days (14 d - 1 h elapsed)", start: "ge2027-03-21T00:00:00+00:00", end: "le2027-04-04T00:00:00+01:00",
			wantStart: lon("2027-03-21 00:00"), wantEnd: lon("2027-04-04 00:00")},
		{name: "Mar: 14 wall-clock days + 1 s", start: "ge2027-03-21T00:00:00+00:00", end: "le2027-04-04T00:00:01+01:00", status: 422},
		{name: "Mar: wrong offset before the change", start: "ge2027-03-27T09:00:00+01:00", end: "le2027-03-29T00:00:00+01:00", status: 422},
		{name: "Mar: 00:30 GMT before the change", start: "ge2027-03-28T00:30:00+00:00", end: "le2027-03-28T03:00:00+01:00",
			wantStart: time.Date(2027, 3, 28, 0, 30, 0, 0, time.UTC), wantEnd: time.Date(2027, 3, 28, 2, 0, 0, 0, time.UTC)},
		{name: "Mar: 01:30 +00:00 does not exist (BST by then)", start: "ge2027-03-28T01:30:00+00:00", end: "le2027-03-28T03:00:00+01:00", status: 422},
		{name: "Mar: dates only across the change", start: "ge2027-03-21", end: "le2027-04-04",
			wantStart: lon("2027-03-21 00:00"), wantEnd: lon("2027-04-05 00:00")},
		// Mixed forms.
		{name: "dateTime start, date end, same day", start: "ge2027-03-28T10:00:00+01:00", end: "le2027-03-28",
			wantStart: lon("2027-03-28 10:00"), wantEnd: lon("2027-03-29 00:00")},
		{name: "date end the day before a dateTime start", start: "ge2027-03-28T00:00:00+00:00", end: "le2027-03-27", status: 422},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			sq, err := parseSlotQuery(slotValues(r.start, r.end))
			if r.status != 0 {
				st, code, ok := statusOf(err)
				if !ok || st != r.status || code != "INVALID_PARAMETER" {
					t.Fatalf("err = %v, want %d INVALID_PARAMETER", err, r.status)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !sq.start.Equal(r.wantStart) || !sq.end.Equal(r.wantEnd) {
				t.Errorf("period = [%s, %s], want [%s, %s]", sq.start, sq.end, r.wantStart, r.wantEnd)
			}
		})
	}
}

// TestParseSlotQueryFilters: equal searchFilter values, as they are
// matched (ODS codes without case, both trimmed), are one value; different
// values of one system are all kept (searchFilter is 0..n, spec §5.1; the
// pack's "three valid searchFilter" step sends two org types); a modifier on
// a parameter the search reads is refused rather than ignored.
func TestParseSlotQueryFilters(t *testing.T) {
	const odsSys, typeSys = "https://fhir.nhs.uk/Id/ods-organization-code|", "https://fhir.nhs.uk/STU3/CodeSystem/GPConnect-OrganisationType-1|"
	for _, c := range []struct {
		name   string
		add    url.Values
		want   scheduling.Consumer
		status int
		code   string
	}{
		{"ODS in two cases", url.Values{"searchFilter": {odsSys + "A20047", odsSys + "a20047"}}, scheduling.Consumer{ODS: "A20047"}, 0, ""},
		{"org type with a trailing space", url.Values{"searchFilter": {typeSys + "urgent-care", typeSys + "urgent-care "}}, scheduling.Consumer{OrgType: "urgent-care"}, 0, ""},
		{"two ODS codes", url.Values{"searchFilter": {odsSys + "A20047", odsSys + "b82005", odsSys + "A20047"}},
			scheduling.Consumer{ODS: "A20047", MoreODS: []string{"B82005"}}, 0, ""},
		{"two org types", url.Values{"searchFilter": {typeSys + "urgent-care", typeSys + "Other", typeSys + "urgent-care", odsSys + "X1"}},
			scheduling.Consumer{OrgType: "urgent-care", ODS: "X1", MoreOrgTypes: []string{"Other"}}, 0, ""},
		{"service.identifier:exact", url.Values{"service.identifier:exact": {"https://fhir.nhs.uk/Id/uec-dos-service-id|2000041001"}}, scheduling.Consumer{}, 422, "INVALID_PARAMETER"},
		{"start:missing", url.Values{"start:missing": {"true"}}, scheduling.Consumer{}, 422, "INVALID_PARAMETER"},
		{"searchFilter:not", url.Values{"searchFilter:not": {typeSys + "urgent-care"}}, scheduling.Consumer{}, 422, "INVALID_PARAMETER"},
		{"unknown parameter with a modifier", url.Values{"_sort:desc": {"start"}}, scheduling.Consumer{}, 0, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := slotValues("ge2027-03-21", "le2027-03-22")
			for k, v := range c.add {
				q[k] = v
			}
			sq, err := parseSlotQuery(q)
			if c.status == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if !reflect.DeepEqual(sq.consumer, c.want) {
					t.Fatalf("consumer %+v, want %+v", sq.consumer, c.want)
				}
				return
			}
			if st, code, ok := statusOf(err); !ok || st != c.status || code != c.code {
				t.Fatalf("err = %v, want %d %s", err, c.status, c.code)
			}
		})
	}
}

// TestParseSlotQueryTokenForms: the FHIR spellings of the same request are
// the same request: status with its code system, _include with its target
// type, and an untyped _include:recurse for every actor.
func TestParseSlotQueryTokenForms(t *testing.T) {
	q := slotValues("ge2027-03-21", "le2027-03-22")
	q.Set("status", "http://hl7.org/fhir/slotstatus|free")
	q.Set("_include", "Slot:schedule:Schedule")
	q.Set("_include:recurse", "Schedule:actor")
	sq, err := parseSlotQuery(q)
	if err != nil {
		t.Fatal(err)
	}
	if !sq.includes.Practitioner || !sq.includes.Location || !sq.includeService {
		t.Fatalf("includes %+v, service %v: want every actor", sq.includes, sq.includeService)
	}
	q.Set("status", "http://example.org/other|free")
	if _, err := parseSlotQuery(q); err == nil {
		t.Fatal("status from another code system accepted")
	}
}
