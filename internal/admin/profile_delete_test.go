package admin_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/admin"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// TestDeleteProfile: a profile nothing refers to can be deleted (and the
// delete is audited); one a template (ended or not), session, slot or
// appointment refers to cannot, and the refusal counts the uses.
func TestDeleteProfile(t *testing.T) {
	for _, e := range storetest.Engines(false) {
		t.Run(e.Name, func(t *testing.T) {
			f := newFx(t, e)
			p, err := f.svc.CreateProfile(f.ctx, f.cli, ods, admin.ProfileInput{Name: ptr("made in error")})
			f.ok(err)
			got, err := f.svc.DeleteProfile(f.ctx, f.cli, ods, p.ID)
			f.ok(err)
			if got.ID != p.ID || got.Name != "made in error" {
				t.Errorf("delete answered %+v, want the deleted profile", got)
			}
			_, err = f.svc.Profile(f.ctx, f.cli, ods, p.ID)
			wantCode(t, err, scheduling.ENOTFOUND)
			_, err = f.svc.DeleteProfile(f.ctx, f.cli, ods, p.ID)
			wantCode(t, err, scheduling.ENOTFOUND)
			if a := f.lastAudit(); a.Action != "profile.delete" || a.Target != fmt.Sprintf("profile/%d", p.ID) || a.After != nil || a.Before == nil {
				t.Errorf("audit %+v, want profile.delete with the profile before", a)
			}

			// Another practice's profile is not this practice's to delete.
			foreign := f.scalar(`SELECT MIN(id) FROM access_profiles WHERE practice_id <> ?`, f.org.ID)
			_, err = f.svc.DeleteProfile(f.ctx, f.cli, ods, foreign)
			wantCode(t, err, scheduling.ENOTFOUND)

			// The demo's open profile holds sessions, slots and templates.
			_, err = f.svc.DeleteProfile(f.ctx, f.cli, ods, f.open)
			wantCode(t, err, scheduling.ECONFLICT)

			// A template on a profile, even once ended, keeps it.
			q, err := f.svc.CreateProfile(f.ctx, f.cli, ods, admin.ProfileInput{Name: ptr("evenings")})
			f.ok(err)
			tc, err := f.svc.CreateTemplate(f.ctx, f.cli, ods, admin.TemplateInput{Name: ptr("Evening"), Weekday: ptr("sat"), Start: ptr("18:00"),
				End: ptr("19:00"), SlotMinutes: ptr(30), LocationID: ptr(int64(1)), Role: ptr("R0260"), ServiceCategory: ptr("Evening"),
				ServiceType: ptr("Evening slot"), Channels: &[]string{"In-person"}, AccessProfileID: &q.ID})
			f.ok(err)
			_, err = f.svc.EndTemplate(f.ctx, f.cli, ods, tc.Template.ID)
			f.ok(err)
			_, err = f.svc.DeleteProfile(f.ctx, f.cli, ods, q.ID)
			wantCode(t, err, scheduling.ECONFLICT)

			// One slot given its own profile keeps it too.
			r, err := f.svc.CreateProfile(f.ctx, f.cli, ods, admin.ProfileInput{Name: ptr("one slot")})
			f.ok(err)
			slot := f.ids(`SELECT id FROM slots WHERE schedule_id = ? AND status = 'free' ORDER BY start_at`, f.openSession())[0]
			_, err = f.svc.SetSlotProfile(f.ctx, f.cli, ods, slot, r.ID)
			f.ok(err)
			_, err = f.svc.DeleteProfile(f.ctx, f.cli, ods, r.ID)
			wantCode(t, err, scheduling.ECONFLICT)
		})
	}
}

// TestDeleteProfileRacesItsUse races a profile's delete against a change
// putting a slot on it. Exactly one may win: never a slot on a profile
// that is gone (on PostgreSQL the change holds the profile FOR KEY SHARE and
// the delete FOR UPDATE; SQLite has one writer).
func TestDeleteProfileRacesItsUse(t *testing.T) {
	const rounds = 8
	for _, e := range storetest.Engines(true) {
		t.Run(e.Name, func(t *testing.T) {
			f := newFx(t, e)
			slots := f.ids(`SELECT id FROM slots WHERE schedule_id = ? AND status = 'free' ORDER BY start_at`, f.openSession())
			if len(slots) < rounds {
				t.Fatalf("%d free slots, want %d", len(slots), rounds)
			}
			for i := range rounds {
				p, err := f.svc.CreateProfile(f.ctx, f.cli, ods, admin.ProfileInput{Name: ptr(fmt.Sprintf("race %d", i))})
				f.ok(err)
				var wg sync.WaitGroup
				var errDel, errSet error
				wg.Add(2)
				go func() { defer wg.Done(); _, errDel = f.svc.DeleteProfile(f.ctx, f.cli, ods, p.ID) }()
				go func() { defer wg.Done(); _, errSet = f.svc.SetSlotProfile(f.ctx, f.cli, ods, slots[i], p.ID) }()
				wg.Wait()
				if (errDel == nil) == (errSet == nil) {
					t.Fatalf("round %d: delete %v, slot change %v; want exactly one to succeed", i, errDel, errSet)
				}
				n := f.scalar(`SELECT COUNT(*) FROM slots s WHERE s.id = ? AND NOT EXISTS (SELECT 1 FROM access_profiles p WHERE p.id = s.access_profile_id)`, slots[i])
				if n != 0 {
					t.Fatalf("round %d: slot %d is on a profile that no longer exists", i, slots[i])
				}
			}
			// A one-off session made on the profile: the foreign key decides,
			// and the loser is told so (a conflict or an invalid profile), not
			// an internal error.
			for i := range rounds {
				p, err := f.svc.CreateProfile(f.ctx, f.cli, ods, admin.ProfileInput{Name: ptr(fmt.Sprintf("race session %d", i))})
				f.ok(err)
				in := admin.SessionInput{Date: scheduling.FormatDate(f.now.AddDate(0, 0, 2+i)), Start: "05:00", End: "05:20", SlotMinutes: 10,
					LocationID: 1, Role: "R0260", ServiceCategory: "Early", ServiceType: "Early slot", Channels: []string{"In-person"}, AccessProfileID: p.ID}
				var wg sync.WaitGroup
				var errDel, errAdd error
				wg.Add(2)
				go func() { defer wg.Done(); _, errDel = f.svc.DeleteProfile(f.ctx, f.cli, ods, p.ID) }()
				go func() { defer wg.Done(); _, errAdd = f.svc.AddSession(f.ctx, f.cli, ods, in) }()
				wg.Wait()
				if (errDel == nil) == (errAdd == nil) {
					t.Fatalf("round %d: delete %v, session add %v; want exactly one to succeed", i, errDel, errAdd)
				}
				for _, err := range []error{errDel, errAdd} {
					if c := scheduling.ErrorCode(err); err != nil && c != scheduling.ECONFLICT && c != scheduling.EINVALID {
						t.Fatalf("round %d: the loser's error %v (%s), want a conflict or an invalid profile", i, err, c)
					}
				}
			}
		})
	}
}

// TestRenameWhileTemplateWaits: a template moved to a new profile waits for
// its sessions while a booking holds one (here a transaction holding the
// session FOR SHARE, as a booking does before it asks for its profiles). A
// rename of that profile must not queue behind the template change: the
// booking would next ask for the profile, behind the rename, and the three
// would deadlock (PostgreSQL breaks it after a second and retries). It did
// while the change wrote the template (whose foreign key holds the new
// profile) before it waited for the sessions.
func TestRenameWhileTemplateWaits(t *testing.T) {
	for _, e := range storetest.Engines(true) {
		t.Run(e.Name, func(t *testing.T) {
			if e.Engine == store.EngineSQLite {
				t.Skip("SQLite has one writer: no row locks to order")
			}
			f := newFx(t, e)
			tc, s := f.sixThursdays(f.withProfile(tplIn))
			p := f.hub()
			db := f.st.DB()
			booking, err := db.BeginTxx(f.ctx, nil)
			f.ok(err)
			defer booking.Rollback()
			var got int64
			f.ok(booking.GetContext(f.ctx, &got, db.Rebind(`SELECT id FROM schedules WHERE id = ? FOR SHARE`), s[2]))

			changed := make(chan error, 1)
			go func() {
				_, err := f.svc.UpdateTemplate(f.ctx, f.cli, ods, tc.Template.ID, admin.TemplateInput{AccessProfileID: &p})
				changed <- err
			}()
			// Wait until the template change waits for the session.
			deadline := time.Now().Add(10 * time.Second)
			for {
				if n := f.scalar(`SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`); n > 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the template change never waited for the held session")
				}
				time.Sleep(10 * time.Millisecond)
			}
			renamed := make(chan error, 1)
			go func() {
				_, err := f.svc.UpdateProfile(f.ctx, f.cli, ods, p, admin.ProfileInput{Name: ptr("hub renamed")})
				renamed <- err
			}()
			select {
			case err := <-renamed:
				f.ok(err)
			case <-time.After(10 * time.Second):
				t.Error("the rename waited for the template change, which waits for the booking")
			}
			f.ok(booking.Rollback())
			f.ok(<-changed)
		})
	}
}
