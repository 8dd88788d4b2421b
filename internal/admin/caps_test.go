package admin_test

import (
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/admin"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// TestCapCountsOnlyHeldPlaces: a profile's cap limits the slots consumers
// hold, so a booking whose slot is over gives its place back: at once to a
// booking that meets the full cap, and to searches and explain once the
// release has run. Before, the counter kept every booking ever made and a
// capped profile stopped offering anything for good.
func TestCapCountsOnlyHeldPlaces(t *testing.T) {
	for _, e := range storetest.Engines(true) {
		t.Run(e.Name, func(t *testing.T) {
			f := newFx(t, e)
			p, err := f.svc.CreateProfile(f.ctx, f.cli, ods, admin.ProfileInput{Name: ptr("one at a time"), Cap: ptr(1)})
			f.ok(err)
			slots := f.ids(`SELECT id FROM slots WHERE schedule_id = ? ORDER BY start_at`, f.openSession())
			first, later, last := slots[0], slots[2], slots[4]
			for _, id := range []int64{first, later, last} {
				_, err := f.svc.SetSlotProfile(f.ctx, f.cli, ods, id, p.ID)
				f.ok(err)
			}
			bookAt := func(slotID int64, now time.Time) error {
				_, err := f.bookAt(slotID, now)
				return err
			}
			slotEnd := func(id int64) time.Time {
				return time.Unix(f.scalar(`SELECT end_at FROM slots WHERE id = ?`, id), 0)
			}
			booked := func() int64 { return f.scalar(`SELECT booked FROM access_profiles WHERE id = ?`, p.ID) }
			consumer := scheduling.Consumer{OrgType: "urgent-care", ODS: "GPCA0001"}
			offered := func(id int64, now time.Time) bool {
				res, err := f.st.SearchFreeSlots(f.ctx, scheduling.SlotSearch{PracticeID: f.org.ID, Start: now, End: now.Add(3 * 24 * time.Hour), Consumer: consumer, Now: now})
				f.ok(err)
				for _, s := range res.Slots {
					if s.ID == id {
						return true
					}
				}
				return false
			}

			f.ok(bookAt(first, f.now))
			if err := bookAt(later, f.now); scheduling.ErrorCode(err) != scheduling.EINVALID {
				t.Fatalf("second booking while the first is held: %v, want the cap refusal", err)
			}
			// The first slot is over: a booking that meets the full counter recounts and goes through.
			afterFirst := slotEnd(first).Add(time.Second)
			f.ok(bookAt(later, afterFirst))
			if n := booked(); n != 1 {
				t.Fatalf("counter %d after the recount and the second booking, want 1", n)
			}
			// The second is over too: the counter still says 1 until the release runs.
			afterLater := slotEnd(later).Add(time.Second)
			if offered(last, afterLater) {
				t.Fatal("the last slot was offered before the release ran: the counter test is not testing anything")
			}
			// A second before the slot's end it is still held.
			if n, err := f.st.ReleaseEndedBookings(f.ctx, slotEnd(later).Add(-time.Second)); err != nil || n != 0 {
				t.Fatalf("release before the slot's end released %d (%v), want 0", n, err)
			}
			n, err := f.st.ReleaseEndedBookings(f.ctx, afterLater)
			if err != nil || n != 1 || booked() != 0 {
				t.Fatalf("release released %d (%v), counter %d; want 1 and 0", n, err, booked())
			}
			if !offered(last, afterLater) {
				t.Fatal("the last slot is not offered after its cap place was released")
			}
			ex, err := f.svc.Explain(f.ctx, f.cli, ods, admin.ExplainInput{OrgType: consumer.OrgType, ConsumerODS: consumer.ODS,
				Start: afterLater, End: afterLater.Add(24 * time.Hour), Now: afterLater})
			f.ok(err)
			if count(ex.Removed, "cap_reached") != 0 {
				t.Fatalf("explain still counts the cap as reached: %+v", ex.Removed)
			}
			// Setting the cap again recounts at the service's now: the two
			// bookings are over, so a cap of one is not below what is held.
			f.svc.Now = func() time.Time { return afterLater }
			_, err = f.svc.UpdateProfile(f.ctx, f.cli, ods, p.ID, admin.ProfileInput{Cap: ptr(2)})
			f.ok(err)
			_, err = f.svc.UpdateProfile(f.ctx, f.cli, ods, p.ID, admin.ProfileInput{Cap: ptr(1)})
			f.ok(err)
			if booked() != 0 {
				t.Fatalf("counter %d after the admin recount, want 0", booked())
			}
		})
	}
}
