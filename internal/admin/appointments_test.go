package admin_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/admin"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// TestPracticeCancelsAppointments: a practice whose clinician is off sick
// lists the session's appointments, cancels each with a reason, and can
// then cancel the session, which a booked appointment had stopped. The
// slots go back as a consumer's cancel leaves them, the booker reads the
// reason, and each cancel is audited; a second cancel is refused.
func TestPracticeCancelsAppointments(t *testing.T) {
	for _, e := range storetest.Engines(true) {
		t.Run(e.Name, func(t *testing.T) {
			f := newFx(t, e)
			ses := f.openSession()
			slots := f.ids(`SELECT id FROM slots WHERE schedule_id = ? AND status = 'free' ORDER BY start_at LIMIT 2`, ses)
			a1, a2 := f.book(slots[0]), f.book(slots[1])
			if _, err := f.svc.CancelSession(f.ctx, f.cli, ods, ses); scheduling.ErrorCode(err) != scheduling.ECONFLICT ||
				!strings.Contains(err.Error(), "appointments cancel") {
				t.Fatalf("cancel of a session holding bookings: %v, want a conflict pointing at appointments cancel", err)
			}

			list, err := f.svc.Appointments(f.ctx, f.cli, ods, time.Time{}, time.Time{}, ses)
			f.ok(err)
			if len(list) != 2 || list[0].ID != a1.ID || list[1].ID != a2.ID || list[0].NHSNumber != "9658218865" || list[0].SessionID != ses ||
				list[0].BookedBy != "GPCA0001 Test" || list[0].Status != "booked" {
				t.Fatalf("the session's appointments: %+v", list)
			}
			if _, err := f.svc.CancelAppointment(f.ctx, f.cli, ods, a1.ID, "  "); scheduling.ErrorCode(err) != scheduling.EINVALID {
				t.Fatalf("cancel without a reason: %v, want EINVALID", err)
			}
			for _, ap := range []*scheduling.Appointment{a1, a2} {
				got, err := f.svc.CancelAppointment(f.ctx, f.cli, ods, ap.ID, "Clinician unwell")
				f.ok(err)
				if got.Status != "cancelled" || got.CancellationReason != "Clinician unwell" {
					t.Fatalf("cancelled appointment %+v", got)
				}
				if e := f.lastAudit(); e.Action != "appointment.cancel" || e.Target != "appointment/"+itoa(ap.ID) {
					t.Fatalf("audit %+v", e)
				}
			}
			// As the booker reads it (GP Connect Read goes through the store).
			stored, err := f.st.AppointmentByID(f.ctx, f.org.ID, a1.ID)
			f.ok(err)
			if stored.Status != scheduling.ApptCancelled || stored.CancellationReason != "Clinician unwell" || stored.Version != a1.Version+1 {
				t.Fatalf("stored appointment %+v", stored)
			}
			if n := f.scalar(`SELECT COUNT(*) FROM slots WHERE id IN (?, ?) AND status = 'free'`, slots[0], slots[1]); n != 2 {
				t.Fatalf("%d of the 2 slots free after the cancels", n)
			}
			if _, err := f.svc.CancelAppointment(f.ctx, f.cli, ods, a1.ID, "again"); scheduling.ErrorCode(err) != scheduling.EINVALID {
				t.Fatalf("second cancel: %v, want EINVALID", err)
			}
			if _, err := f.svc.CancelSession(f.ctx, f.cli, ods, ses); err != nil {
				t.Fatalf("cancel of the session once its appointments are cancelled: %v", err)
			}

			// The list covers a period too, and refuses one too long or backwards.
			all, err := f.svc.Appointments(f.ctx, f.cli, ods, f.now, f.now.AddDate(0, 0, 10), 0)
			f.ok(err)
			if len(all) < 2 {
				t.Fatalf("%d appointments in ten days, want the 2 booked", len(all))
			}
			for _, bad := range [][2]time.Time{{f.now, f.now.AddDate(0, 0, admin.MaxAppointmentListDays+1)}, {f.now, f.now.Add(-time.Hour)}} {
				if _, err := f.svc.Appointments(f.ctx, f.cli, ods, bad[0], bad[1], 0); scheduling.ErrorCode(err) != scheduling.EPARAM {
					t.Errorf("period %v: %v, want EPARAM", bad, err)
				}
			}
			// Another practice's admin reaches none of it.
			other := admin.Actor{Name: "token:9", PracticeID: f.scalar(`SELECT id FROM organisations WHERE ods = 'B82005'`)}
			if _, err := f.svc.CancelAppointment(f.ctx, other, ods, a2.ID, "x"); scheduling.ErrorCode(err) != scheduling.EFORBIDDEN {
				t.Fatalf("B82005's admin cancelling at A20047: %v, want EFORBIDDEN", err)
			}
		})
	}
}

// TestPracticeCancelRacesConsumer: an admin cancel and a consumer's cancel
// of one appointment at once: one wins, the admin never hears "stale" (it
// gave no version), and the slot is freed once, so it can be booked again
// exactly once. Then an admin cancel against a consumer's amend without
// If-Match: neither hears "stale"; the amend lands first or is refused as
// on a cancelled appointment, and the cancel always lands.
func TestPracticeCancelRacesConsumer(t *testing.T) {
	for _, e := range storetest.Engines(true) {
		t.Run(e.Name, func(t *testing.T) {
			f := newFx(t, e)
			ses := f.openSession()
			slots := f.ids(`SELECT id FROM slots WHERE schedule_id = ? AND status = 'free' ORDER BY start_at LIMIT 8`, ses)
			for round, slot := range slots {
				ap := f.book(slot)
				var adminErr, consumerErr error
				var wg sync.WaitGroup
				wg.Add(2)
				go func() {
					defer wg.Done()
					_, adminErr = f.svc.CancelAppointment(f.ctx, f.cli, ods, ap.ID, "Clinician unwell")
				}()
				go func() {
					defer wg.Done()
					_, consumerErr = f.st.Cancel(f.ctx, f.org.ID, ap.ID, scheduling.AnyVersion, "Patient cancelled", f.now, nil)
				}()
				wg.Wait()
				if c := scheduling.ErrorCode(adminErr); adminErr != nil && c != scheduling.EINVALID {
					t.Fatalf("round %d: admin cancel %v, want success or \"cancelled already\"", round, adminErr)
				}
				if (adminErr == nil) == (consumerErr == nil) {
					t.Fatalf("round %d: admin %v, consumer %v: want exactly one cancel", round, adminErr, consumerErr)
				}
				if n := f.scalar(`SELECT COUNT(*) FROM slots WHERE id = ? AND status = 'free'`, slot); n != 1 {
					t.Fatalf("round %d: slot not free after the cancels", round)
				}
				var ok int
				var mu sync.Mutex
				wg.Add(2)
				for range 2 {
					go func() {
						defer wg.Done()
						if f.tryBook(slot) == nil {
							mu.Lock()
							ok++
							mu.Unlock()
						}
					}()
				}
				wg.Wait()
				if ok != 1 {
					t.Fatalf("round %d: %d bookings of the freed slot, want 1", round, ok)
				}
			}
			for round, slot := range slots {
				ap, err := f.st.AppointmentByID(f.ctx, f.org.ID, f.scalar(`SELECT appointment_id FROM appointment_slots WHERE slot_id = ? AND active = TRUE`, slot))
				f.ok(err)
				var adminErr, amendErr error
				var wg sync.WaitGroup
				wg.Add(2)
				go func() {
					defer wg.Done()
					_, adminErr = f.svc.CancelAppointment(f.ctx, f.cli, ods, ap.ID, "Clinician unwell")
				}()
				go func() {
					defer wg.Done()
					_, amendErr = f.st.Amend(f.ctx, f.org.ID, ap.ID, scheduling.AnyVersion, "test", "moved", f.now, nil)
				}()
				wg.Wait()
				if adminErr != nil {
					t.Fatalf("round %d: admin cancel against an amend: %v, want it done", round, adminErr)
				}
				if amendErr != nil && scheduling.ErrorCode(amendErr) != scheduling.EINVALID {
					t.Fatalf("round %d: amend against an admin cancel: %v, want done or refused as cancelled", round, amendErr)
				}
			}
		})
	}
}
