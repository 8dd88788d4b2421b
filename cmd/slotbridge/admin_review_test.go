package main

import (
	"strings"
	"testing"

	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// TestAdminExplainPeriod: explain answers for a consumer's slot search, so
// it refuses each period that search refuses (spec §5.1–5.3), naming the
// flag and saying the search would refuse it, and with a dateTime the
// offset of that date's season; date-only periods work as before.
func TestAdminExplainPeriod(t *testing.T) {
	c := newCLIFx(t, storetest.Engines(false)[0])
	for _, p := range [][2]string{{"2026-12-01", "2026-12-15"}, {"2026-12-08", "2026-12-08"}, {"2026-12-08T09:00:00+00:00", "2026-12-08T12:00:00+00:00"}} {
		if out := c.must("explain", "--ods", "A20047", "--start", p[0], "--end", p[1]); !strings.Contains(out, "slot(s) in the period") {
			t.Errorf("explain %s to %s:\n%s", p[0], p[1], out)
		}
	}
	for _, bad := range []struct {
		start, end string
		want       []string
	}{
		{"2026-12-08T09:00:00Z", "2026-12-09", []string{"--start", "refuse", "2026-12-08T09:00:00+00:00"}},
		{"2026-12-08T09:00:00", "2026-12-09", []string{"--start", "2026-12-08T09:00:00+00:00"}},
		{"2026-07-08", "2026-07-08T17:00:00", []string{"--end", "2026-07-08T17:00:00+01:00"}},
		{"2026-12-08T09:00:00+01:00", "2026-12-09", []string{"--start", "offset in force", "2026-12-08T09:00:00+00:00"}},
		{"2026-12-08T09:00:00.5+00:00", "2026-12-09", []string{"--start", "2026-12-08T09:00:00+00:00"}},
		{"2026-12-09", "2026-12-08", []string{"--start", "--end", "before its start"}},
		{"2026-12-01", "2026-12-16", []string{"max is 14 days"}},
	} {
		out, _, err := c.run("explain", "--ods", "A20047", "--start", bad.start, "--end", bad.end)
		if err == nil {
			t.Errorf("explain --start %s --end %s accepted:\n%s", bad.start, bad.end, out)
			continue
		}
		for _, w := range bad.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("explain --start %s --end %s: %q does not say %q", bad.start, bad.end, err, w)
			}
		}
	}
}
