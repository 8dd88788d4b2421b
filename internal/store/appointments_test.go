package store_test

import (
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/demo"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// apptSlot is a free demo slot at A20047 and its schedule's location.
type apptSlot struct {
	ID         int64 `db:"id"`
	StartAt    int64 `db:"start_at"`
	EndAt      int64 `db:"end_at"`
	LocationID int64 `db:"location_id"`
}

// freeSlots returns free A20047 slots of the named demo profile, in time order,
// starting at least after from now; with adjacent, n consecutive slots of one schedule.
func freeSlots(t *testing.T, st *store.Store, profile string, after time.Duration, n int, adjacent bool, skip map[int64]bool) []apptSlot {
	t.Helper()
	var rows []struct {
		apptSlot
		ScheduleID int64 `db:"schedule_id"`
	}
	if err := st.DB().SelectContext(t.Context(), &rows, st.DB().Rebind(`SELECT s.id, s.start_at, s.end_at, sc.location_id, s.schedule_id FROM slots s
		JOIN schedules sc ON sc.id = s.schedule_id JOIN access_profiles p ON p.id = s.access_profile_id
		WHERE s.practice_id = 7 AND s.status = 'free' AND p.name = ? AND s.start_at > ? ORDER BY sc.start_at, s.schedule_id, s.start_at`),
		profile, time.Now().Add(after).Unix()); err != nil {
		t.Fatal(err)
	}
	var out []apptSlot
	var sched int64
	for _, r := range rows {
		if skip[r.ID] || adjacent && len(out) > 0 && (r.ScheduleID != sched || out[len(out)-1].EndAt != r.StartAt) {
			out = out[:0]
		}
		if skip[r.ID] {
			continue
		}
		out, sched = append(out, r.apptSlot), r.ScheduleID
		if len(out) == n {
			for _, s := range out {
				skip[s.ID] = true
			}
			return out
		}
	}
	t.Fatalf("no %d free %s slots", n, profile)
	return nil
}

func bookReq(practiceID, patientID int64, ods string, slots ...apptSlot) *scheduling.BookRequest {
	start, end := time.Unix(slots[0].StartAt, 0), time.Unix(slots[len(slots)-1].EndAt, 0)
	// Each request has a trace id of its own, as spec §2.1 has consumers
	// send; sending the same *BookRequest again is a resend (a retry).
	r := &scheduling.BookRequest{PracticeID: practiceID, PatientID: patientID, LocationID: slots[0].LocationID, Start: start, End: end,
		StartText: scheduling.FormatLocal(start), EndText: scheduling.FormatLocal(end), Description: "store test", Now: time.Now(),
		Created: time.Now(), BookingOrg: scheduling.BookingOrg{ODS: ods, Name: "Org " + ods}, TraceID: newTrace()}
	for _, s := range slots {
		r.SlotIDs = append(r.SlotIDs, s.ID)
	}
	return r
}

var traces atomic.Int64

// newTrace is a trace id no other request of the test run has.
func newTrace() string { return fmt.Sprintf("store-test-%d", traces.Add(1)) }

// TestAppointmentLifecycle exercises Book, PatientAppointments, Amend and
// Cancel directly on every engine and driver (lib/pq included, which the
// HTTP tests do not reach).
func TestAppointmentLifecycle(t *testing.T) {
	for _, e := range storetest.Engines(true) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			st := storetest.Open(t, e)
			if err := demo.Load(ctx, st, time.Now(), 10*24*time.Hour); err != nil {
				t.Fatal(err)
			}
			var pid, other, sensitive int64
			for nhs, dst := range map[string]*int64{"9658218865": &pid, "9658218873": &other, "9658220142": &sensitive} {
				if err := st.DB().GetContext(ctx, dst, st.DB().Rebind(`SELECT id FROM patients WHERE nhs_number = ? AND practice_id = 7`), nhs); err != nil {
					t.Fatal(err)
				}
			}
			used := map[int64]bool{}
			// A two-slot appointment (the nurse clinic is one channel, open to A20047 only),
			// and two single-slot ones on later days; the second patient's must not show.
			pair := freeSlots(t, st, "own-practice", 3*time.Hour, 2, true, used)
			a1, created, err := st.Book(ctx, bookReq(7, pid, "A20047", pair...))
			if err != nil || !created {
				t.Fatalf("book pair: %v %v", created, err)
			}
			a2, _, err := st.Book(ctx, bookReq(7, pid, "A20047", freeSlots(t, st, "open", 50*time.Hour, 1, false, used)...))
			if err != nil {
				t.Fatal(err)
			}
			a3, _, err := st.Book(ctx, bookReq(7, pid, "A20047", freeSlots(t, st, "open", 100*time.Hour, 1, false, used)...))
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := st.Book(ctx, bookReq(7, other, "A20047", freeSlots(t, st, "open", 3*time.Hour, 1, false, used)...)); err != nil {
				t.Fatal(err)
			}
			_, _, err = st.Book(ctx, bookReq(7, sensitive, "A20047", freeSlots(t, st, "open", 3*time.Hour, 1, false, used)...))
			wantErr(t, err, scheduling.ENOTFOUND, "patient") // spec 7 IG: as if not found

			today := scheduling.LocalMidnight(time.Now())
			list := func(from, to time.Time) []int64 {
				t.Helper()
				got, err := st.PatientAppointments(ctx, scheduling.AppointmentFilter{PracticeID: 7, PatientID: pid, From: from, To: to})
				if err != nil {
					t.Fatal(err)
				}
				var ids []int64
				for _, a := range got {
					ids = append(ids, a.ID)
					if a.ID == a1.ID && !slices.Equal(a.SlotIDs, []int64{pair[0].ID, pair[1].ID}) {
						t.Errorf("two-slot appointment lists slots %v", a.SlotIDs)
					}
					if len(a.SlotIDs) == 0 || a.BookingOrg.ODS != "A20047" {
						t.Errorf("appointment %d read back incomplete: %+v", a.ID, a)
					}
				}
				return ids
			}
			all := list(today, scheduling.AddDaysLocal(today, 15))
			if want := []int64{a1.ID, a2.ID, a3.ID}; !slices.Equal(all, want) {
				t.Errorf("PatientAppointments = %v, want %v in start order", all, want)
			}
			if got := list(scheduling.LocalMidnight(a3.Start), scheduling.AddDaysLocal(scheduling.LocalMidnight(a3.Start), 1)); !slices.Equal(got, []int64{a3.ID}) {
				t.Errorf("one-day range = %v, want [%d]", got, a3.ID)
			}
			if got := list(scheduling.AddDaysLocal(today, 12), scheduling.AddDaysLocal(today, 13)); len(got) != 0 {
				t.Errorf("empty range = %v", got)
			}

			now := time.Now()
			_, err = st.Amend(ctx, 7, a1.ID, 9, "d", "c", now, nil)
			wantErr(t, err, scheduling.ESTALE, "")
			am, err := st.Amend(ctx, 7, a1.ID, 1, "amended", "note", now, nil)
			if err != nil || am.Version != 2 || am.Description != "amended" || am.Comment != "note" {
				t.Fatalf("amend: %+v %v", am, err)
			}
			_, err = st.Cancel(ctx, 7, a1.ID, 1, "stale", now, nil)
			wantErr(t, err, scheduling.ESTALE, "")
			_, err = st.Amend(ctx, 11, a1.ID, 0, "d", "c", now, nil) // another practice
			wantErr(t, err, scheduling.ENOTFOUND, "appointment")
			_, err = st.Amend(ctx, 7, 999999, 0, "d", "c", now, nil)
			wantErr(t, err, scheduling.ENOTFOUND, "appointment")
			// Spec 7: today's appointments count as future, even once started;
			// from the next local day on they are past.
			_, err = st.Amend(ctx, 7, a2.ID, 0, "d", "c", scheduling.AddDaysLocal(scheduling.LocalMidnight(a2.Start), 1), nil)
			wantErr(t, err, scheduling.EINVALID, "")
			if _, err := st.Amend(ctx, 7, a2.ID, 0, "started today", "c", a2.Start.Add(time.Minute), nil); err != nil {
				t.Errorf("amend of an appointment that started today: %v", err)
			}
			c, err := st.Cancel(ctx, 7, a1.ID, 2, "no longer needed", now, nil)
			if err != nil || c.Version != 3 || c.Status != scheduling.ApptCancelled || c.CancellationReason != "no longer needed" || c.Comment != "note" {
				t.Fatalf("cancel: %+v %v", c, err)
			}
			for _, s := range pair {
				var status string
				if err := st.DB().GetContext(ctx, &status, st.DB().Rebind(`SELECT status FROM slots WHERE id = ?`), s.ID); err != nil || status != "free" {
					t.Errorf("slot %d is %q after cancel (%v)", s.ID, status, err)
				}
			}
			_, err = st.Amend(ctx, 7, a1.ID, 0, "d", "c", now, nil)
			wantErr(t, err, scheduling.EINVALID, "")
			_, err = st.Cancel(ctx, 7, a1.ID, 0, "again", now, nil)
			wantErr(t, err, scheduling.EINVALID, "")
			// The freed slots can be booked again, and the cancelled appointment still lists them.
			// The nurse clinic is open to A20047 only: another booking organisation
			// is refused by the access rule (EINVALID naming the ODS restriction),
			// not by the slot being taken or some other fault.
			_, _, err = st.Book(ctx, bookReq(7, other, "B81016", pair[0]))
			wantErr(t, err, scheduling.EINVALID, "")
			if want := "the slot is not available to this booking organisation (" + string(scheduling.ReasonODS) + ")"; scheduling.ErrorMessage(err) != want {
				t.Errorf("refusal message %q, want %q", scheduling.ErrorMessage(err), want)
			}
			if _, _, err := st.Book(ctx, bookReq(7, other, "A20047", pair...)); err != nil {
				t.Errorf("re-book freed slots: %v", err)
			}
			if got := list(today, scheduling.AddDaysLocal(today, 15)); len(got) != 3 {
				t.Errorf("after cancel PatientAppointments = %v, want all 3 (cancelled included)", got)
			}
		})
	}
}

// TestSwitchedOffPractice: a practice switched off by another writer (plain
// SQL here, as another process would) shows no slots and takes no booking,
// whatever a caller's cache of its switches says; a switch made through the
// Store moves OrganisationsEpoch, which such caches check.
func TestSwitchedOffPractice(t *testing.T) {
	for _, e := range storetest.Engines(true) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			st := storetest.Open(t, e)
			if err := demo.Load(ctx, st, time.Now(), 3*24*time.Hour); err != nil {
				t.Fatal(err)
			}
			var pid int64
			if err := st.DB().GetContext(ctx, &pid, st.DB().Rebind(`SELECT id FROM patients WHERE nhs_number = ? AND practice_id = 7`), "9658218865"); err != nil {
				t.Fatal(err)
			}
			search := func() int {
				t.Helper()
				res, err := st.SearchFreeSlots(ctx, scheduling.SlotSearch{PracticeID: 7, Start: time.Now(), End: time.Now().Add(48 * time.Hour),
					Now: time.Now(), Consumer: scheduling.Consumer{OrgType: "urgent-care", ODS: "A20047"}})
				if err != nil {
					t.Fatal(err)
				}
				return len(res.Slots)
			}
			used := map[int64]bool{}
			if n := search(); n == 0 {
				t.Fatal("no slots while switched on")
			}
			for _, col := range []string{"appts_enabled", "gpc_enabled"} {
				if _, err := st.DB().ExecContext(ctx, st.DB().Rebind(`UPDATE organisations SET `+col+` = FALSE WHERE id = 7`)); err != nil {
					t.Fatal(err)
				}
				if n := search(); n != 0 {
					t.Errorf("%s off: %d slots found, want none", col, n)
				}
				_, _, err := st.Book(ctx, bookReq(7, pid, "A20047", freeSlots(t, st, "open", 3*time.Hour, 1, false, used)...))
				if scheduling.ErrorCode(err) != scheduling.EFORBIDDEN {
					t.Errorf("%s off: booking gave %v, want %s", col, err, scheduling.EFORBIDDEN)
				}
				before := st.OrganisationsEpoch()
				if err := st.SetSwitches(ctx, "A20047", true, true); err != nil {
					t.Fatal(err)
				}
				if st.OrganisationsEpoch() == before {
					t.Error("SetSwitches did not move OrganisationsEpoch")
				}
				if n := search(); n == 0 {
					t.Errorf("switched back on: no slots")
				}
				if _, _, err := st.Book(ctx, bookReq(7, pid, "A20047", freeSlots(t, st, "open", 3*time.Hour, 1, false, used)...)); err != nil {
					t.Errorf("switched back on: booking: %v", err)
				}
			}
		})
	}
}
