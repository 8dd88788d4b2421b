package admin_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/admin"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// TestSessionChangesRaceBookings races, on every engine, the booking-side
// transactions (book, cancel) against the practice-side ones (a session's
// block, profile or cancellation; a profile's new cap) that judge the same
// rows, and checks after each round the rule both sides must keep. On
// PostgreSQL each side read the other's rows from a snapshot taken before
// the other committed (an HTTP audit found every one of these in roughly
// half its rounds): a slot was freed into a blocked session and booked, a
// freed slot kept a profile its session had left, a session was cancelled
// under a booking, and a cap of 1 was set on a profile two bookings held.
// The sessions and their locks now make one side wait for the other.
func TestSessionChangesRaceBookings(t *testing.T) {
	const rounds = 7
	for _, e := range storetest.Engines(true) {
		t.Run(e.Name, func(t *testing.T) {
			f := newFx(t, e)
			sessions := f.ids(`SELECT id FROM schedules WHERE practice_id = ? AND access_profile_id = ? AND start_at > ? AND status = 'active'
				ORDER BY start_at, id`, f.org.ID, f.open, f.now.Add(24*time.Hour).Unix())
			if len(sessions) < 4*rounds {
				t.Fatalf("the demo data has %d open sessions after tomorrow, want %d", len(sessions), 4*rounds)
			}
			next := func() int64 { s := sessions[0]; sessions = sessions[1:]; return s }
			freeSlot := func(session int64, nth int) int64 {
				return f.ids(`SELECT id FROM slots WHERE schedule_id = ? AND status = 'free' ORDER BY start_at, id`, session)[nth]
			}
			both := func(a, b func() error) (errA, errB error) {
				var wg sync.WaitGroup
				wg.Add(2)
				go func() { defer wg.Done(); errA = a() }()
				go func() { defer wg.Done(); errB = b() }()
				wg.Wait()
				return
			}
			cancel := func(a *scheduling.Appointment) func() error {
				return func() error {
					_, err := f.st.Cancel(f.ctx, f.org.ID, a.ID, scheduling.AnyVersion, "race", f.now, nil)
					return err
				}
			}
			other := f.scalar(`SELECT id FROM access_profiles WHERE practice_id = ? AND id <> ? ORDER BY id LIMIT 1`, f.org.ID, f.open)

			t.Run("CancelAgainstSessionBlock", func(t *testing.T) {
				f := f.on(t)
				for range rounds {
					s := next()
					a := f.book(freeSlot(s, 0))
					errC, errB := both(cancel(a), func() error { _, err := f.svc.BlockSession(f.ctx, f.cli, ods, s); return err })
					f.ok(errC)
					f.ok(errB)
					// Whichever came first, the freed slot is blocked with the session's other free slots.
					if n := f.scalar(`SELECT COUNT(*) FROM slots WHERE schedule_id = ? AND status = 'free'`, s); n != 0 {
						t.Fatalf("session %d is blocked but %d of its slots are free (appointment %d's slot was freed into it)", s, n, a.ID)
					}
				}
			})
			t.Run("CancelAgainstSessionProfile", func(t *testing.T) {
				f := f.on(t)
				for range rounds {
					s := next()
					a := f.book(freeSlot(s, 0))
					errC, errP := both(cancel(a), func() error { _, err := f.svc.SetSessionProfile(f.ctx, f.cli, ods, s, other); return err })
					f.ok(errC)
					f.ok(errP)
					if n := f.scalar(`SELECT COUNT(*) FROM slots WHERE schedule_id = ? AND access_profile_id <> ?`, s, other); n != 0 {
						t.Fatalf("session %d is on profile %d but %d of its slots (appointment %d's, freed) are not", s, other, n, a.ID)
					}
				}
			})
			t.Run("BookAgainstSessionCancel", func(t *testing.T) {
				f := f.on(t)
				for range rounds {
					s := next()
					slot := freeSlot(s, 0)
					errB, errC := both(func() error { return f.tryBook(slot) },
						func() error { _, err := f.svc.CancelSession(f.ctx, f.cli, ods, s); return err })
					if errB == nil && errC == nil {
						t.Fatalf("session %d was cancelled while a booking of its slot %d committed", s, slot)
					}
					if held := f.scalar(`SELECT COUNT(*) FROM appointments a JOIN schedules sc ON sc.id = a.schedule_id
						WHERE sc.id = ? AND sc.status = 'cancelled' AND a.status = 'booked'`, s); held != 0 {
						t.Fatalf("cancelled session %d holds %d booked appointment(s)", s, held)
					}
				}
			})
			t.Run("BookAgainstNewCap", func(t *testing.T) {
				f := f.on(t)
				for i := range rounds {
					s := next()
					p, err := f.svc.CreateProfile(f.ctx, f.cli, ods, admin.ProfileInput{Name: ptr(fmt.Sprintf("race-cap-%d", i)), Bookable: ptr(true)})
					f.ok(err)
					_, err = f.svc.SetSessionProfile(f.ctx, f.cli, ods, s, p.ID)
					f.ok(err)
					f.book(freeSlot(s, 0))
					slot := freeSlot(s, 0)
					errB, errU := both(func() error { return f.tryBook(slot) },
						func() error {
							_, err := f.svc.UpdateProfile(f.ctx, f.cli, ods, p.ID, admin.ProfileInput{Cap: ptr(1)})
							return err
						})
					if errB == nil && errU == nil {
						t.Fatalf("profile %d took a cap of 1 while a second booking of it committed", p.ID)
					}
					cur, err := f.svc.Profile(f.ctx, f.cli, ods, p.ID)
					f.ok(err)
					held := f.scalar(`SELECT COUNT(*) FROM appointment_slots aps JOIN slots s ON s.id = aps.slot_id WHERE aps.active = TRUE AND s.access_profile_id = ?`, p.ID)
					if cur.Cap > 0 && (held > int64(cur.Cap) || int64(cur.Booked) != held) {
						t.Fatalf("profile %d: cap %d, counter %d, %d slots held", p.ID, cur.Cap, cur.Booked, held)
					}
				}
			})
		})
	}
}

// TestTwinRetriesAudited: two identical booking requests (one resent while
// the first was in flight) both answer with the one appointment, and each
// answer is audited: the one that lost the race rolled back its
// transaction, and with it the audit record it held.
func TestTwinRetriesAudited(t *testing.T) {
	for _, e := range storetest.Engines(true) {
		t.Run(e.Name, func(t *testing.T) {
			f := newFx(t, e)
			slots := f.ids(`SELECT s.id FROM slots s JOIN schedules sc ON sc.id = s.schedule_id WHERE sc.practice_id = ? AND s.access_profile_id = ?
				AND s.status = 'free' AND s.start_at > ? ORDER BY s.start_at, s.id LIMIT 10`, f.org.ID, f.open, f.now.Add(24*time.Hour).Unix())
			for i, slot := range slots {
				trace := fmt.Sprintf("twin-%s-%d", e.Name, i)
				var row struct {
					Start int64 `db:"start_at"`
					End   int64 `db:"end_at"`
					Loc   int64 `db:"location_id"`
				}
				db := f.st.DB()
				f.ok(db.GetContext(f.ctx, &row, db.Rebind(`SELECT s.start_at, s.end_at, sc.location_id FROM slots s JOIN schedules sc ON sc.id = s.schedule_id
					WHERE s.id = ?`), slot))
				start, end := time.Unix(row.Start, 0), time.Unix(row.End, 0)
				req := func() *scheduling.BookRequest {
					return &scheduling.BookRequest{PracticeID: f.org.ID, PatientID: f.pat, LocationID: row.Loc, SlotIDs: []int64{slot},
						Start: start, End: end, StartText: scheduling.FormatLocal(start), EndText: scheduling.FormatLocal(end), Description: "twin",
						BookingOrg: scheduling.BookingOrg{ODS: "GPCA0001", Name: "Test", Type: "urgent-care"}, Now: f.now,
						ConsumerASID: "200000000359", TraceID: trace,
						Audit: &scheduling.AuditRecord{At: f.now, TraceID: trace, Method: "POST", PracticeODS: ods, Status: 201}}
				}
				var wg sync.WaitGroup
				ids := make([]int64, 2)
				errs := make([]error, 2)
				for k := range 2 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						a, _, err := f.st.Book(f.ctx, req())
						errs[k] = err
						if a != nil {
							ids[k] = a.ID
						}
					}()
				}
				wg.Wait()
				f.ok(errs[0])
				f.ok(errs[1])
				if ids[0] != ids[1] {
					t.Fatalf("twins of trace %s booked appointments %d and %d", trace, ids[0], ids[1])
				}
				if n := f.scalar(`SELECT COUNT(*) FROM audit WHERE trace_id = ?`, trace); n != 2 {
					t.Fatalf("trace %s: %d audit rows for two answers", trace, n)
				}
			}
		})
	}
}
