package provider_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/admin"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// TestCancelledSlotFollowsSessionProfile (black-box review): slot 1 of a
// session on an open profile is booked; the practice moves the session to
// a profile capped at one (admin sessions … profile), which slot 1 does not
// take while booked. Its appointment is cancelled: slot 1 is then on the
// capped profile like the rest of the session, so once slot 2 has the
// cap's one place, slot 1 is neither offered nor bookable. Before, slot 1
// stayed on the open profile after the cancel and was booked around the cap.
func TestCancelledSlotFollowsSessionProfile(t *testing.T) {
	for _, eng := range storetest.Engines(false) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			a := newApptEnv(t, eng)
			ctx := context.Background()
			svc := admin.New(a.st)
			cli := admin.Actor{Name: "cli:test"}
			pid := a.patientID(t, "9658218865")
			s := a.take(t, "own-practice", 2, 3*time.Hour, true)

			a1 := a.mustBook(t, newBooking(pid, s[0]))
			one := 1
			capped, err := svc.CreateProfile(ctx, cli, odsLegg, admin.ProfileInput{Name: ptr("one place"), ODSCodes: &[]string{odsLegg}, Cap: &one})
			if err != nil {
				t.Fatal(err)
			}
			ch, err := svc.SetSessionProfile(ctx, cli, odsLegg, s[0].ScheduleID, capped.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(ch.KeptBooked) != 1 {
				t.Fatalf("session change %+v, want the booking kept", ch)
			}

			withReason(a1, "Patient no longer requires appointment")
			if r := a.put(t, iidCancel, a1, false, ifMatch(a1.Meta.VersionID)); r.status != http.StatusOK {
				t.Fatalf("cancel: %d %s", r.status, r.body)
			}
			sl, err := svc.Slot(ctx, cli, odsLegg, s[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			if sl.AccessProfileID != capped.ID {
				t.Fatalf("cancelled slot on profile %d, want the session's %d", sl.AccessProfileID, capped.ID)
			}

			a.mustBook(t, newBooking(pid, s[1])) // the cap's one place
			wantOutcome(t, a.book(t, newBooking(pid, s[0]), false, nil), 422, "INVALID_RESOURCE")
			if st := a.slotStatus(t, s[0].ID); st != "free" {
				t.Fatalf("slot %d is %q", s[0].ID, st)
			}
			p, err := svc.Profile(ctx, cli, odsLegg, capped.ID)
			if err != nil || p.Booked != 1 {
				t.Fatalf("capped profile %+v (%v), want one booked", p, err)
			}
		})
	}
}
