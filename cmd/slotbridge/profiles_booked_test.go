package main

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/admin"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// TestProfilesListShowsBookedWithoutCap (black-box review): "admin profiles
// list" says how many places every profile's bookings hold, in its table
// and in JSON, also for a profile without a cap, which it listed as
// booked 0 whatever it held.
func TestProfilesListShowsBookedWithoutCap(t *testing.T) {
	for _, e := range storetest.Engines(false) {
		t.Run(e.Name, func(t *testing.T) {
			c := newCLIFx(t, e)
			ctx := context.Background()
			db := c.st.DB()
			var s struct {
				ID      int64 `db:"id"`
				Start   int64 `db:"start_at"`
				End     int64 `db:"end_at"`
				Loc     int64 `db:"location_id"`
				Profile int64 `db:"profile"`
			}
			if err := db.GetContext(ctx, &s, db.Rebind(`SELECT s.id, s.start_at, s.end_at, sc.location_id, p.id AS profile FROM slots s
				JOIN schedules sc ON sc.id = s.schedule_id JOIN access_profiles p ON p.id = s.access_profile_id
				WHERE s.practice_id = 7 AND s.status = 'free' AND p.name = 'open' AND s.start_at > ? ORDER BY s.start_at LIMIT 1`),
				time.Now().Add(3*time.Hour).Unix()); err != nil {
				t.Fatal(err)
			}
			var patient int64
			if err := db.GetContext(ctx, &patient, db.Rebind(`SELECT id FROM patients WHERE nhs_number = ?`), "9658218865"); err != nil {
				t.Fatal(err)
			}
			start, end := time.Unix(s.Start, 0), time.Unix(s.End, 0)
			if _, _, err := c.st.Book(ctx, &scheduling.BookRequest{PracticeID: 7, PatientID: patient, LocationID: s.Loc, SlotIDs: []int64{s.ID},
				Start: start, End: end, StartText: scheduling.FormatLocal(start), EndText: scheduling.FormatLocal(end), Description: "cli test",
				BookingOrg: scheduling.BookingOrg{ODS: "A20047", Name: "Test", Type: "urgent-care"}, Now: time.Now(), Created: time.Now()}); err != nil {
				t.Fatal(err)
			}

			var ps []admin.Profile
			c.mustJSON(&ps, "profiles", "list", "--ods", "A20047")
			found := false
			for _, p := range ps {
				if p.ID == s.Profile {
					found = true
					if p.Cap != 0 || p.Booked != 1 {
						t.Fatalf("profile %+v, want no cap and one booked", p)
					}
				}
			}
			if !found {
				t.Fatalf("profile %d not listed: %+v", s.Profile, ps)
			}
			out := c.must("profiles", "list", "--ods", "A20047")
			for _, line := range strings.Split(out, "\n") {
				if f := strings.Fields(line); len(f) > 1 && f[0] == strconv.FormatInt(s.Profile, 10) && f[1] == "open" {
					// ID NAME BOOKABLE ORG-TYPES ODS-CODES CAP BOOKED ...
					if len(f) < 7 || f[5] != "0" || f[6] != "1" {
						t.Fatalf("table row %q, want cap 0 and booked 1", line)
					}
					return
				}
			}
			t.Fatalf("no row for profile %d in\n%s", s.Profile, out)
		})
	}
}
