package admin_test

import (
	"strings"
	"testing"

	"github.com/slotbridge/slotbridge/internal/admin"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// TestExplainAPIPeriodAndParameters: explain answers for a consumer's slot
// search, so it refuses every period that search refuses (spec §5.1–5.3),
// saying so, with the right offset for the date's season; and it refuses
// parameters it would otherwise ignore (unknown, the CLI's spellings, or
// given twice) instead of answering another question.
func TestExplainAPIPeriodAndParameters(t *testing.T) {
	for _, e := range storetest.Engines(false) {
		t.Run(e.Name, func(t *testing.T) {
			a := newAPIFx(t, e)
			cases := []struct {
				name   string
				query  string
				status int
				want   []string // each in the error message
			}{
				{"DatesOnly", "start=2026-12-01&end=2026-12-15", 200, nil},
				{"DateTimes", "start=2026-12-08T09:00:00%2B00:00&end=2026-12-08T17:00:00%2B00:00", 200, nil},
				{"Summer", "start=2026-07-08T09:00:00%2B01:00&end=2026-07-09", 200, nil},
				{"Z", "start=2026-12-08T09:00:00Z&end=2026-12-09", 400,
					[]string{"start", "422 INVALID_PARAMETER", "2026-12-08T09:00:00+00:00"}},
				{"NoOffsetWinter", "start=2026-12-08T09:00:00&end=2026-12-09", 400, []string{"start", "2026-12-08T09:00:00+00:00"}},
				{"NoOffsetSummer", "start=2026-07-08&end=2026-07-08T17:00:00", 400, []string{"end", "2026-07-08T17:00:00+01:00"}},
				{"WrongSeason", "start=2026-12-08T09:00:00%2B01:00&end=2026-12-09", 400,
					[]string{"does not carry the UK offset in force", "2026-12-08T09:00:00+00:00"}},
				{"Fraction", "start=2026-12-08T09:00:00.500%2B00:00&end=2026-12-09", 400, []string{"start", "2026-12-08T09:00:00+00:00"}},
				{"Reversed", "start=2026-12-09&end=2026-12-08", 400, []string{"before its start", "422 INVALID_PARAMETER"}},
				{"Over14Days", "start=2026-12-01&end=2026-12-16", 400, []string{"15 days", "max is 14 days"}},
				{"Over14DaysByASecond", "start=2026-12-01T09:00:00%2B00:00&end=2026-12-15T09:00:01%2B00:00", 400, []string{"14 days 00:00:01"}},
				// A "+" sent raw arrives as a space.
				{"PlusAsSpace", "start=2026-12-08T09:00:00+00:00&end=2026-12-09", 400, []string{"%2B"}},
				{"CLISpellings", "org-type=urgent-care&consumer-ods=X99999&start=2026-12-08&end=2026-12-09", 400,
					[]string{"org-type", "org_type", "consumer-ods", "consumer_ods"}},
				{"Unknown", "start=2026-12-08&end=2026-12-09&colour=red", 400, []string{"colour"}},
				{"RepeatedStart", "start=2026-12-08&start=2026-12-01&end=2026-12-09", 400, []string{"start", "once"}},
				{"BadEncoding", "start=2026-12-08&end=2026-12-09&org_type=%zz", 400, []string{"query string"}},
				{"RepeatedOrgType", "org_type=urgent-care&org_type=gp-practice&start=2026-12-08&end=2026-12-09", 400, []string{"org_type", "once"}},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					status, _, m, raw := a.do(call{"GET", pp + "/explain?" + c.query, a.token, "", ""})
					if status != c.status {
						t.Fatalf("status %d, want %d: %s", status, c.status, raw)
					}
					if c.status != 200 && m["code"] != "invalid_param" {
						t.Fatalf("code %v, want invalid_param: %s", m["code"], raw)
					}
					msg, _ := m["error"].(string)
					for _, w := range c.want {
						if !strings.Contains(msg, w) {
							t.Errorf("error %q does not say %q", msg, w)
						}
					}
				})
			}
		})
	}
}

// TestParseTimeHintsTheOffset: a dateTime given without its offset is
// refused with the offset of its own date in the hint (winter +00:00,
// summer +01:00), not one fixed example.
func TestParseTimeHintsTheOffset(t *testing.T) {
	for in, want := range map[string]string{
		"2026-12-10T12:00:00": "2026-12-10T12:00:00+00:00",
		"2027-06-10T12:00:00": "2027-06-10T12:00:00+01:00",
	} {
		if _, err := admin.ParseTime(in, false); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseTime(%q): %v, want a hint of %s", in, err, want)
		}
	}
}
