package scheduling

import (
	"strings"
	"testing"
	"time"
)

// TestParseSearchTime: the §5.1 formats, as the provider's slot search reads
// them after the ge/le prefix.
func TestParseSearchTime(t *testing.T) {
	rows := []struct {
		in       string
		ok       bool
		dateOnly bool
		want     time.Time
		msg      string // part of the refusal
	}{
		{in: "2026-12-08", ok: true, dateOnly: true, want: time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)},
		{in: "2026-07-08", ok: true, dateOnly: true, want: time.Date(2026, 7, 7, 23, 0, 0, 0, time.UTC)},
		{in: "2026-12-08T09:00:00+00:00", ok: true, want: time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)},
		{in: "2026-07-08T09:00:00+01:00", ok: true, want: time.Date(2026, 7, 8, 8, 0, 0, 0, time.UTC)},
		{in: "2026-12-08T09:00:00Z", msg: "Invalid date or dateTime"},
		{in: "2026-12-08T09:00:00", msg: "Invalid date or dateTime"},
		{in: "2026-12-08T09:00:00.5+00:00", msg: "Invalid date or dateTime"},
		{in: "2026-12-08T09:00:00+01:00", msg: "does not carry the UK offset in force"},
		{in: "2026-07-08T09:00:00+00:00", msg: "does not carry the UK offset in force"},
		{in: "2026-12-08T09:00:00-00:00", msg: "must carry the UK offset +00:00 or +01:00"},
		{in: "2026-02-30", msg: "Invalid date"},
		{in: "2026-12-08T25:00:00+00:00", msg: "Invalid dateTime"},
		{in: "2026-12", msg: "Invalid date or dateTime"},
		{in: "", msg: "Invalid date or dateTime"},
	}
	for _, r := range rows {
		got, dateOnly, err := ParseSearchTime(r.in)
		switch {
		case r.ok && err != nil:
			t.Errorf("%q: %v, want accepted", r.in, err)
		case r.ok && (!got.Equal(r.want) || dateOnly != r.dateOnly):
			t.Errorf("%q = %s (date %v), want %s (date %v)", r.in, got, dateOnly, r.want, r.dateOnly)
		case !r.ok && (ErrorCode(err) != EPARAM || !strings.Contains(ErrorMessage(err), r.msg)):
			t.Errorf("%q: %v, want an invalid_param refusal saying %q", r.in, err, r.msg)
		}
	}
}

// TestSearchPeriod: §5.2's range rules on parsed bounds.
func TestSearchPeriod(t *testing.T) {
	day := func(s string) time.Time {
		d, _, err := ParseSearchTime(s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	rows := []struct {
		start, end string
		ok         bool
		wantEnd    string // the period's end, when accepted
		msg        string
	}{
		{start: "2026-12-01", end: "2026-12-15", ok: true, wantEnd: "2026-12-16T00:00:00+00:00"},
		{start: "2026-12-01", end: "2026-12-01", ok: true, wantEnd: "2026-12-02T00:00:00+00:00"},
		{start: "2026-12-01T09:00:00+00:00", end: "2026-12-15T09:00:00+00:00", ok: true, wantEnd: "2026-12-15T09:00:00+00:00"},
		{start: "2026-12-01T09:00:00+00:00", end: "2026-12-01T09:00:00+00:00", ok: true, wantEnd: "2026-12-01T09:00:00+00:00"},
		// A range spanning the autumn change counts wall-clock days.
		{start: "2026-10-20", end: "2026-11-03", ok: true, wantEnd: "2026-11-04T00:00:00+00:00"},
		{start: "2026-12-01", end: "2026-12-16", msg: "Invalid time period, was 15 days between (max is 14 days)"},
		{start: "2026-12-01T09:00:00+00:00", end: "2026-12-15T09:00:01+00:00", msg: "was 14 days 00:00:01 between"},
		{start: "2026-12-09", end: "2026-12-08", msg: "The end of the period is before its start"},
		{start: "2026-12-09T09:00:00+00:00", end: "2026-12-09T08:59:59+00:00", msg: "The end of the period is before its start"},
	}
	for _, r := range rows {
		_, endDate, _ := ParseSearchTime(r.end)
		from, to, err := SearchPeriod(day(r.start), day(r.end), endDate)
		switch {
		case r.ok && err != nil:
			t.Errorf("%s to %s: %v, want accepted", r.start, r.end, err)
		case r.ok && (!from.Equal(day(r.start)) || FormatLocal(to) != r.wantEnd):
			t.Errorf("%s to %s = [%s, %s), want the end %s", r.start, r.end, FormatLocal(from), FormatLocal(to), r.wantEnd)
		case !r.ok && (ErrorCode(err) != EPARAM || !strings.Contains(ErrorMessage(err), r.msg)):
			t.Errorf("%s to %s: %v, want an invalid_param refusal saying %q", r.start, r.end, err, r.msg)
		}
	}
}

// TestSearchTimeExample: a dateTime refused for its offset or its form is
// answered with the same wall-clock time as the search wants it, with the
// offset of that date's season.
func TestSearchTimeExample(t *testing.T) {
	for in, want := range map[string]string{
		"2026-12-08T09:00:00":         "2026-12-08T09:00:00+00:00",
		"2026-12-08T09:00:00Z":        "2026-12-08T09:00:00+00:00",
		"2026-12-08T09:00:00+01:00":   "2026-12-08T09:00:00+00:00",
		"2026-07-08T09:00:00":         "2026-07-08T09:00:00+01:00",
		"2026-07-08T09:00:00+00:00":   "2026-07-08T09:00:00+01:00",
		"2026-07-08T09:00:00.250Z":    "2026-07-08T09:00:00+01:00",
		"2026-07-08T09:00":            "2026-07-08T09:00:00+01:00",
		"2026-07-08T09:00:00 01:00":   "2026-07-08T09:00:00+01:00",
		"2026-07-08T09:00:00+01:00":   "", // already right
		"2026-07-08":                  "", // a date needs no offset
		"tomorrow":                    "",
		"2026-13-08T09:00:00":         "",
		"2026-12-08T09:00:00+0000000": "2026-12-08T09:00:00+00:00",
	} {
		got, ok := SearchTimeExample(in)
		if got != want || ok != (want != "") {
			t.Errorf("SearchTimeExample(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
