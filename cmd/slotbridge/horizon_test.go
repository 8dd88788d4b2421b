package main

import (
	"strconv"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/admin"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// TestAdminCLIHorizon: a template made from the CLI materialises as far
// ahead as SLOTBRIDGE_HORIZON_WEEKS (or --horizon-weeks) says, as the
// server does; before, the CLI always used six weeks, and a change to a
// template of a server keeping a year retired everything past six weeks.
func TestAdminCLIHorizon(t *testing.T) {
	e := storetest.Engines(false)[0]
	c := newCLIFx(t, e)
	profile := strconv.FormatInt(c.scalar(`SELECT id FROM access_profiles WHERE name = 'open' AND practice_id =
		(SELECT id FROM organisations WHERE ods = 'A20047')`), 10)
	lastWeeks := func(tc admin.TemplateChange) float64 {
		last := c.scalar(`SELECT MAX(start_at) FROM schedules WHERE template_id = ? AND status = 'active'`, tc.Template.ID)
		return time.Until(time.Unix(last, 0)).Hours() / (24 * 7)
	}
	create := func(name string, extra ...string) admin.TemplateChange {
		var tc admin.TemplateChange
		args := append([]string{"templates", "create", "--ods", "A20047", "--name", name, "--weekday", "sat", "--start", "09:00", "--end", "10:00",
			"--slot-minutes", "30", "--location", "1", "--role", "R0260", "--category", name, "--type", name, "--channels", "In-person",
			"--profile", profile}, extra...)
		c.mustJSON(&tc, args...)
		return tc
	}
	t.Setenv("SLOTBRIDGE_HORIZON_WEEKS", "12")
	if w := lastWeeks(create("Env")); w < 11 || w > 13 {
		t.Errorf("SLOTBRIDGE_HORIZON_WEEKS=12: last session %.1f weeks ahead", w)
	}
	tc := create("Flag", "--horizon-weeks", "20")
	if w := lastWeeks(tc); w < 19 || w > 21 {
		t.Errorf("--horizon-weeks 20: last session %.1f weeks ahead", w)
	}
	// A change keeps the horizon: nothing past the default six weeks is retired for good.
	c.mustJSON(&tc, "templates", "update", "--ods", "A20047", "--id", strconv.FormatInt(tc.Template.ID, 10), "--start", "09:30", "--end", "10:30",
		"--horizon-weeks", "20")
	if w := lastWeeks(tc); w < 19 || w > 21 {
		t.Errorf("after an update with --horizon-weeks 20: last session %.1f weeks ahead", w)
	}
	t.Setenv("SLOTBRIDGE_HORIZON_WEEKS", "many")
	if _, _, err := c.run("templates", "end", "--ods", "A20047", "--id", strconv.FormatInt(tc.Template.ID, 10)); err == nil {
		t.Error("a malformed SLOTBRIDGE_HORIZON_WEEKS was accepted")
	}
	// Only a template change reads the horizon; listing does not need it.
	if _, _, err := c.run("templates", "list", "--ods", "A20047"); err != nil {
		t.Errorf("templates list with a malformed SLOTBRIDGE_HORIZON_WEEKS: %v", err)
	}
}
