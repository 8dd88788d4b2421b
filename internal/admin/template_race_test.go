package admin_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/admin"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// templateDays checks what a template's sessions look like from today to
// the end of the service's horizon: each of its days runs exactly one active
// session attached to it (none on the days in skip: the practice cancelled
// them, or they kept a session of an earlier shape, listed in kept), and
// every such session not in kept has the template's current shape (the
// template as stored now, not as some change read it).
func (f *fx) templateDays(tplID int64, kept map[int64]bool, skip map[int64]bool) {
	f.t.Helper()
	tpls, err := f.st.SessionTemplates(f.ctx, f.org.ID)
	f.ok(err)
	var tpl *scheduling.SessionTemplate
	for _, t := range tpls {
		if t.ID == tplID {
			tpl = t
		}
	}
	if tpl == nil {
		f.t.Fatalf("no template %d", tplID)
	}
	now := f.svc.Now()
	from, to := scheduling.LocalMidnight(now), now.Add(f.svc.Horizon)
	want := map[int64]scheduling.Session{} // by local day
	if tpl.Active {
		for _, s := range tpl.Sessions(from, to) {
			want[scheduling.LocalMidnight(s.Schedule.Start).Unix()] = s
		}
	}
	var rows []struct {
		ID    int64 `db:"id"`
		Start int64 `db:"start_at"`
		End   int64 `db:"end_at"`
		Slots int   `db:"n"`
	}
	db := f.st.DB()
	f.ok(db.SelectContext(f.ctx, &rows, db.Rebind(`SELECT sc.id, sc.start_at, sc.end_at, (SELECT COUNT(*) FROM slots s WHERE s.schedule_id = sc.id) AS n
		FROM schedules sc WHERE sc.template_id = ? AND sc.status = 'active' AND sc.start_at >= ? ORDER BY sc.start_at, sc.id`), tplID, from.Unix()))
	seen := map[int64]int64{}
	for _, r := range rows {
		day := scheduling.LocalMidnight(time.Unix(r.Start, 0)).Unix()
		if other, dup := seen[day]; dup {
			f.t.Fatalf("template %d (%s %s-%s) runs sessions %d and %d on %s", tplID, tpl.Weekday, tpl.StartLocal, tpl.EndLocal,
				other, r.ID, scheduling.FormatDate(time.Unix(day, 0)))
		}
		seen[day] = r.ID
		if kept[r.ID] {
			continue
		}
		w, ok := want[day]
		if !ok || skip[day] {
			f.t.Fatalf("template %d (%s %s-%s) runs session %d at %s, on a day it should not", tplID, tpl.Weekday, tpl.StartLocal, tpl.EndLocal,
				r.ID, scheduling.FormatLocal(time.Unix(r.Start, 0)))
		}
		if r.Start != w.Schedule.Start.Unix() || r.End != w.Schedule.End.Unix() || r.Slots != len(w.Slots) {
			f.t.Fatalf("template %d is %s-%s in %d-minute slots, but its session %d runs %s to %s in %d slots", tplID, tpl.StartLocal, tpl.EndLocal,
				tpl.SlotMinutes, r.ID, scheduling.FormatLocal(time.Unix(r.Start, 0)), scheduling.FormatLocal(time.Unix(r.End, 0)), r.Slots)
		}
	}
	for day := range want {
		if _, ok := seen[day]; !ok && !skip[day] {
			f.t.Fatalf("template %d runs no session on %s", tplID, scheduling.FormatDate(time.Unix(day, 0)))
		}
	}
}

// on is the fixture reporting to t (a subtest sharing the store).
func (f *fx) on(t *testing.T) *fx {
	g := *f
	g.t = t
	return &g
}

// topUpMakesNone runs the horizon top-up and checks that it makes no session
// of the template.
func (f *fx) topUpMakesNone(tplID int64) {
	f.t.Helper()
	q := `SELECT COUNT(*) FROM schedules WHERE template_id = ?`
	before := f.scalar(q, tplID)
	now := f.svc.Now()
	_, err := f.st.Materialise(f.ctx, f.org.ID, scheduling.LocalMidnight(now), now.Add(f.svc.Horizon))
	f.ok(err)
	if after := f.scalar(q, tplID); after != before {
		f.t.Fatalf("top-up made %d sessions of template %d", after-before, tplID)
	}
}

// TestTemplateEditRacesBooking: a booking made while a shape change retires
// the session it books never ends in a retired session. Each round books a
// free slot of every future session of the template and changes the
// template's start at the same moment, behind one start barrier; afterwards
// every booking is in an active session still attached to the template,
// and no day runs two of the template's sessions. The bookings are then
// cancelled, so that the next round has sessions to retire again.
func TestTemplateEditRacesBooking(t *testing.T) {
	for _, e := range storetest.Engines(true) {
		t.Run(e.Name, func(t *testing.T) {
			f := newFx(t, e)
			tc, _ := f.sixThursdays(f.withProfile(tplIn))
			tpl := tc.Template.ID
			const rounds = 40
			won, lost := 0, 0
			for round := range rounds {
				slots := f.ids(`SELECT MIN(s.id) FROM slots s JOIN schedules sc ON sc.id = s.schedule_id
					WHERE sc.template_id = ? AND sc.status = 'active' AND sc.start_at > ? AND s.status = 'free' GROUP BY sc.id ORDER BY MIN(s.id)`,
					tpl, f.now.Unix())
				if len(slots) == 0 {
					t.Fatalf("round %d: no free slot to book", round)
				}
				start := ptr("18:20")
				if round%2 == 1 {
					start = ptr("18:00")
				}
				var (
					wg     sync.WaitGroup
					gate   = make(chan struct{})
					upErr  error
					booked = make([]*scheduling.Appointment, len(slots))
					errs   = make([]error, len(slots))
				)
				wg.Add(1 + len(slots))
				go func() {
					defer wg.Done()
					<-gate
					_, upErr = f.svc.UpdateTemplate(f.ctx, f.cli, ods, tpl, admin.TemplateInput{Start: start})
				}()
				for i, id := range slots {
					// Spread over the change's transaction, so that some bookings
					// commit between its read of the sessions and their retirement.
					delay := time.Duration(rand.IntN(4000)) * time.Microsecond
					go func() {
						defer wg.Done()
						<-gate
						time.Sleep(delay)
						booked[i], errs[i] = f.bookErr(id)
					}()
				}
				close(gate)
				wg.Wait()
				f.ok(upErr)
				for i, err := range errs {
					if err != nil {
						if scheduling.ErrorCode(err) != scheduling.ECONFLICT {
							t.Fatalf("round %d: booking slot %d: %v, want success or a conflict", round, slots[i], err)
						}
						lost++
						continue
					}
					won++
				}
				// No booking is in a retired session, and every booked session
				// is active and still the template's.
				var bad []struct {
					Appt    int64  `db:"id"`
					Session int64  `db:"schedule_id"`
					Status  string `db:"status"`
					Tpl     int64  `db:"template_id"`
				}
				db := f.st.DB()
				f.ok(db.SelectContext(f.ctx, &bad, db.Rebind(`SELECT a.id, a.schedule_id, sc.status, sc.template_id FROM appointments a
					JOIN schedules sc ON sc.id = a.schedule_id WHERE a.status = 'booked' AND a.practice_id = ? AND a.start_at > ?
					AND (sc.status <> 'active' OR (sc.template_id <> ? AND sc.id IN (SELECT s.schedule_id FROM slots s WHERE s.id IN (`+
					joinIDs(slots)+`))))`), f.org.ID, f.now.Unix(), tpl))
				if len(bad) > 0 {
					t.Fatalf("round %d: booked appointments in sessions no longer the template's: %+v", round, bad)
				}
				kept := map[int64]bool{}
				for _, a := range booked {
					if a != nil {
						kept[a.ScheduleID] = true
					}
				}
				f.templateDays(tpl, kept, nil)
				for _, a := range booked {
					if a != nil {
						_, err := f.st.Cancel(f.ctx, f.org.ID, a.ID, scheduling.AnyVersion, "test", f.now, nil)
						f.ok(err)
					}
				}
			}
			t.Logf("%d bookings won, %d lost to the change", won, lost)
		})
	}
}

func joinIDs(ids []int64) string {
	s := ""
	for i, id := range ids {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprint(id)
	}
	return s
}

// TestConcurrentTemplateEdits: template changes running at once never
// leave sessions of a replaced shape active beside the current one: after
// parallel changes of one template, a change beside the horizon top-up,
// and a change beside the creation of another template, every active
// session of the template has its current shape, one on each of its days.
func TestConcurrentTemplateEdits(t *testing.T) {
	starts := []string{"17:00", "17:20", "17:40", "18:00", "18:20", "18:40"}
	for _, e := range storetest.Engines(true) {
		t.Run(e.Name, func(t *testing.T) {
			f := newFx(t, e)
			tc, _ := f.sixThursdays(f.withProfile(tplIn))
			tpl := tc.Template.ID
			// run starts fn(0..n-1) behind one barrier, waits for them and
			// checks that none failed.
			run := func(f *fx, n int, fn func(i int) error) {
				f.t.Helper()
				var wg sync.WaitGroup
				gate := make(chan struct{})
				errs := make([]error, n)
				for i := range n {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-gate
						errs[i] = fn(i)
					}()
				}
				close(gate)
				wg.Wait()
				for _, err := range errs {
					f.ok(err)
				}
			}
			patch := func(start string) error {
				_, err := f.svc.UpdateTemplate(f.ctx, f.cli, ods, tpl, admin.TemplateInput{Start: &start})
				return err
			}
			t.Run("ParallelChanges", func(t *testing.T) {
				f := f.on(t)
				for round := range 5 {
					run(f, len(starts), func(i int) error { return patch(starts[(i+round)%len(starts)]) })
					f.templateDays(tpl, nil, nil)
				}
			})
			t.Run("ChangeBesideTopUp", func(t *testing.T) {
				f := f.on(t)
				for round := range 20 {
					run(f, 4, func(i int) error {
						if i == 0 {
							return patch(starts[round%len(starts)])
						}
						_, err := f.st.Materialise(f.ctx, f.org.ID, scheduling.LocalMidnight(f.now), f.now.Add(f.svc.Horizon))
						return err
					})
					f.templateDays(tpl, nil, nil)
				}
			})
			t.Run("ChangeBesideCreate", func(t *testing.T) {
				f := f.on(t)
				for round := range 20 {
					run(f, 2, func(i int) error {
						if i == 0 {
							return patch(starts[round%len(starts)])
						}
						in := f.withProfile(tplIn)
						in.Name, in.Weekday, in.PractitionerID = ptr(fmt.Sprintf("other %d", round)), ptr("tue"), ptr(int64(0))
						_, err := f.svc.CreateTemplate(f.ctx, f.cli, ods, in)
						return err
					})
					f.templateDays(tpl, nil, nil)
				}
			})
		})
	}
}

// TestTemplateChangeOnItsDay: changing a template on its own weekday while
// that day's session is running leaves that session as the day's only
// one: the new shape starts on the next week's day.
func TestTemplateChangeOnItsDay(t *testing.T) {
	for _, e := range storetest.Engines(false) {
		t.Run(e.Name, func(t *testing.T) {
			f := newFx(t, e)
			monday := scheduling.LocalMidnight(time.Date(2026, 3, 30, 12, 0, 0, 0, scheduling.London))
			f.svc.Now = func() time.Time { return monday.Add(3 * time.Hour) }
			in := f.withProfile(tplIn)
			in.Name, in.Weekday, in.Start, in.End, in.SlotMinutes = ptr("early Monday"), ptr("mon"), ptr("04:00"), ptr("06:00"), ptr(30)
			tc, err := f.svc.CreateTemplate(f.ctx, f.cli, ods, in)
			f.ok(err)
			running := f.ids(`SELECT id FROM schedules WHERE template_id = ? AND start_at >= ? AND start_at < ?`, tc.Template.ID,
				monday.Unix(), scheduling.AddDaysLocal(monday, 1).Unix())
			if len(running) != 1 {
				t.Fatalf("today's sessions %v, want one", running)
			}
			now := monday.Add(4*time.Hour + 38*time.Minute) // 04:38, the session under way
			f.svc.Now = func() time.Time { return now }
			up, err := f.svc.UpdateTemplate(f.ctx, f.cli, ods, tc.Template.ID, admin.TemplateInput{Start: ptr("04:30"), End: ptr("06:30")})
			f.ok(err)
			if len(up.Retired) != 1 || up.Created != 1 {
				t.Fatalf("change retired %v and made %d sessions; want next Monday's remade only", up.Retired, up.Created)
			}
			if got := f.dayActive(tc.Template.ID, running[0]); len(got) != 1 || got[0] != running[0] {
				t.Fatalf("today runs %v; want only the session under way, %d", got, running[0])
			}
			f.templateDays(tc.Template.ID, map[int64]bool{running[0]: true}, nil)
			f.topUpMakesNone(tc.Template.ID)
			f.templateDays(tc.Template.ID, map[int64]bool{running[0]: true}, nil)
		})
	}
}

// TestTemplateChangeKeepsCancelledDay: a day the practice cancelled stays
// cancelled through a change of the template's start: its day gets no
// session in the new shape, from the change or a later top-up.
func TestTemplateChangeKeepsCancelledDay(t *testing.T) {
	for _, e := range storetest.Engines(false) {
		t.Run(e.Name, func(t *testing.T) {
			f := newFx(t, e)
			tc, s := f.sixThursdays(f.withProfile(tplIn))
			tpl := tc.Template.ID
			_, err := f.svc.CancelSession(f.ctx, f.cli, ods, s[1])
			f.ok(err)
			up, err := f.svc.UpdateTemplate(f.ctx, f.cli, ods, tpl, admin.TemplateInput{Start: ptr("17:00")})
			f.ok(err)
			if len(up.Retired) != 5 || up.Created != 5 {
				t.Fatalf("change retired %v and made %d sessions; want the five not cancelled remade", up.Retired, up.Created)
			}
			leave := scheduling.LocalMidnight(time.Unix(f.scalar(`SELECT start_at FROM schedules WHERE id = ?`, s[1]), 0))
			if st := f.state(s[1]).Session; st.Status != "cancelled" || st.TemplateID != tpl {
				t.Fatalf("cancelled session after the change: %+v", st)
			}
			if got := f.dayActive(tpl, s[1]); len(got) != 0 {
				t.Fatalf("the cancelled day runs %v", got)
			}
			f.templateDays(tpl, nil, map[int64]bool{leave.Unix(): true})
			f.topUpMakesNone(tpl)
			f.templateDays(tpl, nil, map[int64]bool{leave.Unix(): true})
		})
	}
}
