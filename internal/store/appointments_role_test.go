package store_test

import (
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/demo"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// TestBookRoleIsTheSchedules: a booking whose practitionerRole extension
// names a role other than the schedule's is accepted, and the appointment
// carries the schedule's role. Spec §6.4: the returned practitionerRole is
// derived from the schedule; the test pack's booking builder sends R0260
// whatever the first free slot's schedule is, and expects 201.
func TestBookRoleIsTheSchedules(t *testing.T) {
	for _, e := range storetest.Engines(true) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			st := storetest.Open(t, e)
			if err := demo.Load(ctx, st, time.Now(), 7*24*time.Hour); err != nil {
				t.Fatal(err)
			}
			var pid int64
			if err := st.DB().GetContext(ctx, &pid, st.DB().Rebind(`SELECT id FROM patients WHERE nhs_number = ? AND practice_id = 7`), "9658218865"); err != nil {
				t.Fatal(err)
			}
			var sl struct {
				apptSlot
				Role string `db:"role"`
			}
			// A free open slot of a schedule whose role is not R0260.
			if err := st.DB().GetContext(ctx, &sl, st.DB().Rebind(`SELECT s.id, s.start_at, s.end_at, sc.location_id, sc.role FROM slots s
				JOIN schedules sc ON sc.id = s.schedule_id JOIN access_profiles p ON p.id = s.access_profile_id
				WHERE s.practice_id = 7 AND s.status = 'free' AND p.name = 'open' AND sc.role <> 'R0260' AND sc.role <> ''
				AND s.start_at > ? ORDER BY s.start_at, s.id LIMIT 1`), time.Now().Add(3*time.Hour).Unix()); err != nil {
				t.Fatalf("no free open slot with a role other than R0260: %v", err)
			}
			r := bookReq(7, pid, "A20047", sl.apptSlot)
			r.PractitionerRole = "R0260"
			a, created, err := st.Book(ctx, r)
			if err != nil || !created {
				t.Fatalf("book with role R0260 on a %s schedule: created %v, %v", sl.Role, created, err)
			}
			if a.PractitionerRole != sl.Role {
				t.Errorf("booked appointment has role %q, want the schedule's %q", a.PractitionerRole, sl.Role)
			}
			read, err := st.AppointmentByID(ctx, 7, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if read.PractitionerRole != sl.Role {
				t.Errorf("stored appointment has role %q, want the schedule's %q", read.PractitionerRole, sl.Role)
			}
			var busy string
			if err := st.DB().GetContext(ctx, &busy, st.DB().Rebind(`SELECT status FROM slots WHERE id = ?`), sl.ID); err != nil || busy != string(scheduling.SlotBusy) {
				t.Errorf("slot %d is %q after the booking (%v)", sl.ID, busy, err)
			}
		})
	}
}
