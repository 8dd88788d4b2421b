package store_test

import (
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// TestMaterialiseDecidedDays: Materialise makes no session on a day the
// template has already decided (it has a session there that is not retired:
// active, of whatever shape, or cancelled), and a retired session does not
// decide its day, even one an earlier version left attached to the
// template at the very start the template makes (which the (template_id,
// start_at) key alone would have let stand in the way, losing the day).
func TestMaterialiseDecidedDays(t *testing.T) {
	for _, e := range storetest.Engines(false) {
		t.Run(e.Name, func(t *testing.T) {
			f := newFx(t, e)
			sf := f.sessionFixture()
			tpl := scheduling.SessionTemplate{PracticeID: sf.practice, Name: "Monday", Weekday: time.Monday, StartLocal: "09:00", EndLocal: "10:00",
				SlotMinutes: 15, LocationID: sf.location, PractitionerID: sf.practitioner, Role: "R0260", ServiceCategory: "GP session",
				ServiceType: "Routine", Channels: []string{"In-person"}, AccessProfileID: sf.profile, Active: true}
			tpl.ID = f.template(tpl)
			// Mondays 1 and 8 June.
			n, err := f.st.Materialise(f.ctx, sf.practice, localDay(2026, 6, 1), localDay(2026, 6, 15))
			f.ok(err)
			if n != 2 {
				t.Fatalf("made %d sessions, want 2", n)
			}
			day := func(d int) int64 { return localDay(2026, 6, d).Unix() }
			on := func(d int, extra string) int {
				return f.count(`SELECT COUNT(*) FROM schedules WHERE template_id = ? AND start_at >= ? AND start_at < ?`+extra, tpl.ID, day(d), day(d+1))
			}
			// 1 June: the practice cancels it. 8 June: retired, but left
			// attached, as the keep-booked-days pass of earlier versions left
			// a new-shape session it retired.
			f.exec(`UPDATE schedules SET status = 'cancelled' WHERE template_id = ? AND start_at >= ? AND start_at < ?`, tpl.ID, day(1), day(2))
			f.exec(`UPDATE schedules SET status = ? WHERE template_id = ? AND start_at >= ? AND start_at < ?`, scheduling.SessionRetired, tpl.ID, day(8), day(9))

			// 1 June stays cancelled; 8 June and 15 June run a session.
			n, err = f.st.Materialise(f.ctx, sf.practice, localDay(2026, 6, 1), localDay(2026, 6, 22))
			f.ok(err)
			if n != 2 || on(1, ` AND status = 'active'`) != 0 || on(8, ` AND status = 'active'`) != 1 || on(15, ` AND status = 'active'`) != 1 {
				t.Fatalf("made %d; active on 1, 8, 15 June: %d, %d, %d; want 2 made, 0, 1, 1", n,
					on(1, ` AND status = 'active'`), on(8, ` AND status = 'active'`), on(15, ` AND status = 'active'`))
			}
			if r := on(8, ` AND status = 'retired'`); r != 0 {
				t.Fatalf("the retired session of 8 June is still attached (%d)", r)
			}

			// The template moves to 09:30 without its sessions being retired
			// (SaveSessionTemplate, as an import does): every day it has a
			// session on is decided, whatever that session's start; a day
			// new to the window gets the new shape.
			tpl.StartLocal, tpl.EndLocal = "09:30", "10:30"
			_, err = f.st.SaveSessionTemplate(f.ctx, &tpl)
			f.ok(err)
			n, err = f.st.Materialise(f.ctx, sf.practice, localDay(2026, 6, 1), localDay(2026, 6, 29))
			f.ok(err)
			if n != 1 {
				t.Fatalf("made %d sessions after the move, want 1 (22 June)", n)
			}
			for _, d := range []int{1, 8, 15, 22} {
				if got := on(d, ` AND status <> 'retired'`); got != 1 {
					t.Fatalf("%d June: %d sessions of the template, want 1", d, got)
				}
			}
			if at := f.count(`SELECT COUNT(*) FROM schedules WHERE template_id = ? AND start_at = ?`, tpl.ID,
				scheduling.AtLocal(localDay(2026, 6, 22), 9, 30).Unix()); at != 1 {
				t.Fatal("22 June is not in the new shape")
			}
		})
	}
}

// TestRetireSessionRefusesBooked: RetireSession never retires a session
// holding a booked slot; it reports false and changes nothing.
func TestRetireSessionRefusesBooked(t *testing.T) {
	for _, e := range storetest.Engines(false) {
		t.Run(e.Name, func(t *testing.T) {
			f := newFx(t, e)
			sf := f.sessionFixture()
			id := f.template(scheduling.SessionTemplate{PracticeID: sf.practice, Name: "Monday", Weekday: time.Monday, StartLocal: "09:00",
				EndLocal: "10:00", LocationID: sf.location, PractitionerID: sf.practitioner, AccessProfileID: sf.profile})
			_, err := f.st.Materialise(f.ctx, sf.practice, localDay(2026, 6, 1), localDay(2026, 6, 15))
			f.ok(err)
			var ids []int64
			f.ok(f.st.DB().SelectContext(f.ctx, &ids, f.st.DB().Rebind(`SELECT id FROM schedules WHERE template_id = ? ORDER BY start_at`), id))
			booked, free := ids[0], ids[1]
			f.exec(`UPDATE slots SET status = 'busy' WHERE id = (SELECT MIN(id) FROM slots WHERE schedule_id = ?)`, booked)
			var got [2]bool
			f.ok(f.st.AdminChange(f.ctx, func(tx *store.AdminTx) (*scheduling.AdminAuditRecord, error) {
				for i, sid := range []int64{booked, free} {
					ok, err := tx.RetireSession(sid)
					if err != nil {
						return nil, err
					}
					got[i] = ok
				}
				return nil, nil
			}))
			if got != [2]bool{false, true} {
				t.Fatalf("RetireSession(booked, free) = %v, want false, true", got)
			}
			if n := f.count(`SELECT COUNT(*) FROM schedules WHERE id = ? AND status = 'active' AND template_id = ?`, booked, id); n != 1 {
				t.Fatal("the booked session was retired or detached")
			}
			if n := f.count(`SELECT COUNT(*) FROM slots WHERE schedule_id = ? AND status = 'free'`, booked); n != 3 {
				t.Fatalf("the booked session has %d free slots, want its other 3 untouched", n)
			}
			if n := f.count(`SELECT COUNT(*) FROM schedules WHERE id = ? AND status = ? AND template_id = 0`, free, scheduling.SessionRetired); n != 1 ||
				f.count(`SELECT COUNT(*) FROM slots WHERE schedule_id = ? AND status = 'free'`, free) != 0 {
				t.Fatal("the free session was not retired, detached and blocked")
			}
		})
	}
}
