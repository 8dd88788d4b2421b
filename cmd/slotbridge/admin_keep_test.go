package main

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/admin"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// TestAdminCLITemplateKeepsEditedSessions: a session the practice blocked
// survives a template's slot-length change, and the CLI says why it was
// kept, in its text and in --json.
func TestAdminCLITemplateKeepsEditedSessions(t *testing.T) {
	for _, e := range storetest.Engines(false) {
		t.Run(e.Name, func(t *testing.T) {
			c := newCLIFx(t, e)
			profile := strconv.FormatInt(c.scalar(`SELECT id FROM access_profiles WHERE name = 'open' AND practice_id =
				(SELECT id FROM organisations WHERE ods = 'A20047')`), 10)
			var tc admin.TemplateChange
			c.mustJSON(&tc, "templates", "create", "--ods", "A20047", "--name", "Sat", "--weekday", "sat", "--start", "09:00", "--end", "10:00",
				"--slot-minutes", "30", "--location", "1", "--role", "R0260", "--category", "Sat", "--type", "Sat slot", "--channels", "In-person",
				"--profile", profile)
			tid := strconv.FormatInt(tc.Template.ID, 10)
			// Next week's session or later: never one under way today.
			leave := c.scalar(`SELECT id FROM schedules WHERE template_id = ? AND start_at > ? ORDER BY start_at LIMIT 1 OFFSET 1`,
				tc.Template.ID, time.Now().Unix())
			lid := strconv.FormatInt(leave, 10)
			c.must("sessions", "block", "--ods", "A20047", "--id", lid)

			out := c.must("templates", "update", "--ods", "A20047", "--id", tid, "--slot-minutes", "20")
			if want := "kept session " + lid + " at "; !strings.Contains(out, want) || !strings.Contains(out, "(blocked by the practice)") {
				t.Fatalf("templates update says:\n%s\nwant %q and why", out, want)
			}
			if n := c.scalar(`SELECT COUNT(*) FROM slots WHERE schedule_id = ? AND status = 'free'`, leave); n != 0 {
				t.Fatalf("the blocked session offers %d slots after the change", n)
			}
			c.mustJSON(&tc, "templates", "update", "--ods", "A20047", "--id", tid, "--slot-minutes", "15")
			found := false
			for _, k := range tc.Kept {
				if k.ID == leave {
					found = fmt.Sprint(k.Because) == "[session_blocked]" && k.SessionBlocked
				}
			}
			if !found {
				t.Fatalf("--json answer %+v does not keep session %d as blocked", tc, leave)
			}
		})
	}
}

// TestPrintTemplateChange: each kept session is printed with why it was
// kept, a booked one with its appointments.
func TestPrintTemplateChange(t *testing.T) {
	ch := admin.TemplateChange{Template: admin.Template{ID: 7, Name: "Thu", Weekday: "thursday", Start: "18:00", End: "19:00", SlotMinutes: 30, Active: true},
		Retired: []int64{4}, Created: 1, Kept: []admin.KeptSession{
			{Session: admin.Session{ID: 5, Start: "2026-04-02T18:00:00+01:00", AppointmentIDs: []int64{41}}, Because: []admin.KeepReason{admin.KeepBookings}},
			{Session: admin.Session{ID: 6, Start: "2026-04-09T18:00:00+01:00", AppointmentIDs: []int64{}},
				Because: []admin.KeepReason{admin.KeepSessionBlocked, admin.KeepSlotProfile}},
		}}
	var b bytes.Buffer
	printTemplateChange(&b, ch)
	out := b.String()
	for _, want := range []string{
		"retired (no bookings, not edited by hand): [4]",
		"kept session 5 at 2026-04-02T18:00:00+01:00 (holds bookings): appointments [41];",
		"kept session 6 at 2026-04-09T18:00:00+01:00 (blocked by the practice; has slots with their own access profile);",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
