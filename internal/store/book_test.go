package store_test

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/demo"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// TestBookReturnsStoredAppointment: Book builds the appointment it returns
// without reading it back, so it must equal what a read returns afterwards.
func TestBookReturnsStoredAppointment(t *testing.T) {
	for _, e := range storetest.Engines(true) {
		t.Run(e.Name, func(t *testing.T) {
			ctx, st, now, org, patientID := demoBooking(t, e)
			var slots []struct {
				ID         int64 `db:"id"`
				StartAt    int64 `db:"start_at"`
				EndAt      int64 `db:"end_at"`
				LocationID int64 `db:"location_id"`
			}
			err := st.DB().SelectContext(ctx, &slots, st.DB().Rebind(`SELECT s.id, s.start_at, s.end_at, sc.location_id FROM slots s
				JOIN schedules sc ON sc.id = s.schedule_id JOIN access_profiles p ON p.id = s.access_profile_id
				WHERE s.practice_id = ? AND s.status = 'free' AND p.bookable = TRUE AND p.org_types = '' AND p.ods_codes = '' AND p.cap = 0
				AND p.window_secs = 0 AND p.embargo_secs = 0 AND p.release_time = '' AND s.start_at > ? ORDER BY s.start_at, s.id LIMIT 2`),
				org.ID, now.Add(3*time.Hour).Unix())
			if err != nil || len(slots) != 2 {
				t.Fatalf("need two open slots: %v %+v", err, slots)
			}
			prio, mins := 1, int((slots[0].EndAt-slots[0].StartAt)/60)
			start, end := time.Unix(slots[0].StartAt, 0), time.Unix(slots[0].EndAt, 0)
			req := &scheduling.BookRequest{PracticeID: org.ID, PatientID: patientID, LocationID: slots[0].LocationID,
				SlotIDs: []int64{slots[0].ID}, Start: start, End: end, StartText: scheduling.FormatLocal(start), EndText: scheduling.FormatLocal(end),
				Description: "Check <&> é", Comment: "A comment", Created: now.Add(-time.Minute),
				BookingOrg: scheduling.BookingOrg{ODS: "A12345", Name: "Booker", Type: "urgent-care", Raw: []byte(`{"resourceType":"Organization"}`)},
				Priority:   &prio, MinutesDuration: &mins, Identifiers: []scheduling.Identifier{{System: "urn:x", Value: "1"}},
				Participants: []scheduling.Participant{{Reference: "Patient/1", Status: "accepted"}}, Now: now}
			got, created, err := st.Book(ctx, req)
			if err != nil || !created {
				t.Fatalf("Book: created %v, %v", created, err)
			}
			read, err := st.AppointmentByID(ctx, org.ID, got.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, read) {
				t.Fatalf("Book returned\n%+v\nbut a read gives\n%+v", got, read)
			}
			// The same booking again is a retry; from another consumer system
			// it is another booking, and the slot is taken.
			retry := *req
			if again, created, err := st.Book(ctx, &retry); err != nil || created || again.ID != got.ID {
				t.Fatalf("the same booking again: created %v, %v", created, err)
			}
			retry.ConsumerASID = "200000000999"
			if _, _, err := st.Book(ctx, &retry); scheduling.ErrorCode(err) != scheduling.ECONFLICT {
				t.Fatalf("the same booking from another consumer system: %v, want ECONFLICT", err)
			}
			// And a bare booking (no optional fields) too.
			req2 := *req
			req2.SlotIDs, req2.Priority, req2.MinutesDuration, req2.Identifiers, req2.Participants, req2.Comment = nil, nil, nil, nil, nil, ""
			req2.SlotIDs, req2.LocationID = []int64{slots[1].ID}, slots[1].LocationID
			req2.Start, req2.End = time.Unix(slots[1].StartAt, 0), time.Unix(slots[1].EndAt, 0)
			req2.StartText, req2.EndText = scheduling.FormatLocal(req2.Start), scheduling.FormatLocal(req2.End)
			got2, _, err := st.Book(ctx, &req2)
			if err != nil {
				t.Fatal(err)
			}
			read2, err := st.AppointmentByID(ctx, org.ID, got2.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got2, read2) {
				t.Fatalf("Book returned\n%+v\nbut a read gives\n%+v", got2, read2)
			}
		})
	}
}

// TestConcurrentBookingsGroupCommit: many bookings at once (on SQLite they
// share group commits, each in its own savepoint), eight booking
// organisations per slot, all released together by one barrier so they
// really race. Exactly one per slot wins; every loser gets ECONFLICT and
// changes nothing.
func TestConcurrentBookingsGroupCommit(t *testing.T) {
	for _, e := range storetest.Engines(true) {
		t.Run(e.Name, func(t *testing.T) {
			ctx, st, now, org, patientID := demoBooking(t, e)
			var slots []struct {
				ID         int64 `db:"id"`
				StartAt    int64 `db:"start_at"`
				EndAt      int64 `db:"end_at"`
				LocationID int64 `db:"location_id"`
			}
			if err := st.DB().SelectContext(ctx, &slots, st.DB().Rebind(`SELECT s.id, s.start_at, s.end_at, sc.location_id FROM slots s
				JOIN schedules sc ON sc.id = s.schedule_id JOIN access_profiles p ON p.id = s.access_profile_id
				WHERE s.practice_id = ? AND s.status = 'free' AND p.bookable = TRUE AND p.org_types = '' AND p.ods_codes = '' AND p.cap = 0
				AND p.window_secs = 0 AND p.embargo_secs = 0 AND p.release_time = '' AND s.start_at > ? ORDER BY s.start_at, s.id LIMIT 20`),
				org.ID, now.Add(3*time.Hour).Unix()); err != nil || len(slots) != 20 {
				t.Fatalf("need 20 open slots: %v (%d)", err, len(slots))
			}
			type outcome struct {
				slot int64
				err  error
			}
			// Each contender is a different booking organisation, so none is a
			// retry of another; all wait on start and go at once.
			const contenders = 8
			n := contenders * len(slots)
			out := make(chan outcome, n)
			start := make(chan struct{})
			for i := 0; i < n; i++ {
				sl := slots[i%len(slots)]
				req := &scheduling.BookRequest{PracticeID: org.ID, PatientID: patientID, LocationID: sl.LocationID, SlotIDs: []int64{sl.ID},
					Start: time.Unix(sl.StartAt, 0), End: time.Unix(sl.EndAt, 0), StartText: scheduling.FormatLocal(time.Unix(sl.StartAt, 0)),
					EndText: scheduling.FormatLocal(time.Unix(sl.EndAt, 0)), Description: "Group", Created: now,
					BookingOrg: scheduling.BookingOrg{ODS: "R" + strconv.Itoa(i), Name: "R", Type: "urgent-care"}, Now: now}
				go func() {
					<-start
					_, _, err := st.Book(ctx, req)
					out <- outcome{sl.ID, err}
				}()
			}
			close(start)
			wins := map[int64]int{}
			outcomes := map[string]int{}
			for i := 0; i < n; i++ {
				o := <-out
				switch {
				case o.err == nil:
					wins[o.slot]++
					outcomes["booked"]++
				case scheduling.ErrorCode(o.err) == scheduling.ECONFLICT:
					outcomes["conflict"]++
				default:
					outcomes["other"]++
					t.Errorf("slot %d: %v (code %s), want ECONFLICT", o.slot, o.err, scheduling.ErrorCode(o.err))
				}
			}
			if want := map[string]int{"booked": len(slots), "conflict": n - len(slots)}; !reflect.DeepEqual(outcomes, want) {
				t.Errorf("outcomes %v, want %v", outcomes, want)
			}
			for _, sl := range slots {
				if wins[sl.ID] != 1 {
					t.Errorf("slot %d booked %d times", sl.ID, wins[sl.ID])
				}
			}
			var busy, active, appts int
			if err := st.DB().GetContext(ctx, &busy, `SELECT COUNT(*) FROM slots WHERE status = 'busy'`); err != nil {
				t.Fatal(err)
			}
			if err := st.DB().GetContext(ctx, &active, `SELECT COUNT(*) FROM appointment_slots WHERE active = TRUE`); err != nil {
				t.Fatal(err)
			}
			if err := st.DB().GetContext(ctx, &appts, `SELECT COUNT(*) FROM appointments`); err != nil {
				t.Fatal(err)
			}
			if busy != len(slots) || active != len(slots) || appts != len(slots) {
				t.Errorf("busy slots %d, active bookings %d, appointments %d, want %d each", busy, active, appts, len(slots))
			}
		})
	}
}

// TestBookUniqueIndexBackstop: when a slot's status says free but the slot
// has an active booking (the claim's conditional UPDATE cannot see it), the
// unique index on active slot bookings refuses the second booking, and Book
// reports it as ECONFLICT (409) on every engine and driver. This is the one
// booking path decided by the database driver's error type (a unique
// violation read from *pgconn.PgError, *pq.Error or *sqlite.Error); the
// races do not reach it on PostgreSQL, where the conditional UPDATE waits
// for the winner and then finds the slot busy.
//
// On SQLite the failed appointment_slots insert does not abort the
// transaction, so Book's after-conflict retry check must not take the row
// the attempt itself inserted for "an identical booking won" (it did, and
// returned a rolled-back appointment with no error).
func TestBookUniqueIndexBackstop(t *testing.T) {
	for _, e := range storetest.Engines(true) {
		t.Run(e.Name, func(t *testing.T) {
			ctx, st, now, org, patientID := demoBooking(t, e)
			var sl struct {
				ID         int64 `db:"id"`
				StartAt    int64 `db:"start_at"`
				EndAt      int64 `db:"end_at"`
				LocationID int64 `db:"location_id"`
			}
			if err := st.DB().GetContext(ctx, &sl, st.DB().Rebind(`SELECT s.id, s.start_at, s.end_at, sc.location_id FROM slots s
				JOIN schedules sc ON sc.id = s.schedule_id JOIN access_profiles p ON p.id = s.access_profile_id
				WHERE s.practice_id = ? AND s.status = 'free' AND p.bookable = TRUE AND p.org_types = '' AND p.ods_codes = '' AND p.cap = 0
				AND p.window_secs = 0 AND p.embargo_secs = 0 AND p.release_time = '' AND s.start_at > ? ORDER BY s.start_at, s.id LIMIT 1`),
				org.ID, now.Add(3*time.Hour).Unix()); err != nil {
				t.Fatal(err)
			}
			req := func(ods string) *scheduling.BookRequest {
				start, end := time.Unix(sl.StartAt, 0), time.Unix(sl.EndAt, 0)
				return &scheduling.BookRequest{PracticeID: org.ID, PatientID: patientID, LocationID: sl.LocationID, SlotIDs: []int64{sl.ID},
					Start: start, End: end, StartText: scheduling.FormatLocal(start), EndText: scheduling.FormatLocal(end), Description: "Backstop",
					Created: now, BookingOrg: scheduling.BookingOrg{ODS: ods, Name: ods, Type: "urgent-care"}, Now: now}
			}
			first, _, err := st.Book(ctx, req("R0001"))
			if err != nil {
				t.Fatal(err)
			}
			// The slot's status is made to lie: free, though the booking holds it.
			if _, err := st.DB().Exec(st.DB().Rebind(`UPDATE slots SET status = 'free' WHERE id = ?`), sl.ID); err != nil {
				t.Fatal(err)
			}
			_, _, err = st.Book(ctx, req("R0002"))
			if scheduling.ErrorCode(err) != scheduling.ECONFLICT || scheduling.ErrorMessage(err) != fmt.Sprintf("slot %d is already booked", sl.ID) {
				t.Fatalf("second booking of a held slot: %v (code %q), want ECONFLICT \"slot %d is already booked\"", err, scheduling.ErrorCode(err), sl.ID)
			}
			// The refused booking left nothing behind: one appointment, one active booking.
			var appts, active int
			if err := st.DB().GetContext(ctx, &appts, `SELECT COUNT(*) FROM appointments`); err != nil {
				t.Fatal(err)
			}
			if err := st.DB().GetContext(ctx, &active, st.DB().Rebind(`SELECT COUNT(*) FROM appointment_slots WHERE slot_id = ? AND active = TRUE`), sl.ID); err != nil {
				t.Fatal(err)
			}
			if appts != 1 || active != 1 {
				t.Errorf("after the refusal: %d appointments, %d active bookings of the slot; want 1 and 1 (appointment %d)", appts, active, first.ID)
			}
		})
	}
}

// TestBookRefusals: each rule Book re-checks in its transaction refuses with
// its own code and message, and changes nothing.
func TestBookRefusals(t *testing.T) {
	for _, e := range storetest.Engines(true) {
		t.Run(e.Name, func(t *testing.T) {
			ctx, st, now, org, patientID := demoBooking(t, e)
			var otherPatient int64
			if err := st.DB().GetContext(ctx, &otherPatient, st.DB().Rebind(`SELECT MIN(id) FROM patients WHERE practice_id <> ?`), org.ID); err != nil {
				t.Fatal(err)
			}
			var slots []struct {
				ID         int64 `db:"id"`
				ScheduleID int64 `db:"schedule_id"`
				StartAt    int64 `db:"start_at"`
				EndAt      int64 `db:"end_at"`
				LocationID int64 `db:"location_id"`
			}
			if err := st.DB().SelectContext(ctx, &slots, st.DB().Rebind(`SELECT s.id, s.schedule_id, s.start_at, s.end_at, sc.location_id FROM slots s
				JOIN schedules sc ON sc.id = s.schedule_id JOIN access_profiles p ON p.id = s.access_profile_id
				WHERE s.practice_id = ? AND s.status = 'free' AND p.bookable = TRUE AND p.org_types = '' AND p.ods_codes = '' AND p.cap = 0
				AND p.window_secs = 0 AND p.embargo_secs = 0 AND p.release_time = '' AND s.start_at > ? ORDER BY s.start_at, s.id LIMIT 1000`),
				org.ID, now.Add(3*time.Hour).Unix()); err != nil {
				t.Fatal(err)
			}
			// One slot from each of four sessions.
			seen := map[int64]bool{}
			picked := slots[:0]
			for _, sl := range slots {
				if !seen[sl.ScheduleID] && len(picked) < 4 {
					seen[sl.ScheduleID] = true
					picked = append(picked, sl)
				}
			}
			if slots = picked; len(slots) != 4 {
				t.Fatalf("need open slots in 4 sessions, got %d", len(slots))
			}
			req := func(i int) *scheduling.BookRequest {
				sl := slots[i]
				start, end := time.Unix(sl.StartAt, 0), time.Unix(sl.EndAt, 0)
				return &scheduling.BookRequest{PracticeID: org.ID, PatientID: patientID, LocationID: sl.LocationID, SlotIDs: []int64{sl.ID},
					Start: start, End: end, StartText: scheduling.FormatLocal(start), EndText: scheduling.FormatLocal(end), Description: "Refusal",
					Created: now, BookingOrg: scheduling.BookingOrg{ODS: "A12345", Name: "R", Type: "urgent-care"}, Now: now}
			}
			// Slot 1 loses its access profile; slot 2's session is cancelled.
			if _, err := st.DB().Exec(st.DB().Rebind(`UPDATE slots SET access_profile_id = 0 WHERE id = ?`), slots[1].ID); err != nil {
				t.Fatal(err)
			}
			if _, err := st.DB().Exec(st.DB().Rebind(`UPDATE schedules SET status = 'cancelled' WHERE id = ?`), slots[2].ScheduleID); err != nil {
				t.Fatal(err)
			}
			wrongLocation, otherPractice, noProfile, cancelled := req(0), req(0), req(1), req(2)
			wrongLocation.LocationID += 1000
			otherPractice.PatientID = otherPatient
			for _, c := range []struct {
				name string
				r    *scheduling.BookRequest
				code scheduling.Code
				msg  string
			}{
				{"WrongLocation", wrongLocation, scheduling.EINVALID, "Location participant"},
				{"PatientOfAnotherPractice", otherPractice, scheduling.EINVALID, "Patient participant"},
				{"NoAccessProfile", noProfile, scheduling.EINVALID, "not bookable through GP Connect"},
				{"SessionCancelled", cancelled, scheduling.ECONFLICT, "cancelled"},
			} {
				t.Run(c.name, func(t *testing.T) {
					_, _, err := st.Book(ctx, c.r)
					if scheduling.ErrorCode(err) != c.code || !strings.Contains(scheduling.ErrorMessage(err), c.msg) {
						t.Fatalf("got %v, want %s containing %q", err, c.code, c.msg)
					}
				})
			}
			var busy int
			if err := st.DB().GetContext(ctx, &busy, `SELECT COUNT(*) FROM slots WHERE status = 'busy'`); err != nil || busy != 0 {
				t.Fatalf("%d busy slots after refusals (%v)", busy, err)
			}
			if _, created, err := st.Book(ctx, req(3)); err != nil || !created {
				t.Fatalf("a valid booking after the refusals: %v", err)
			}
		})
	}
}

// TestIdemKey: a retry lists its slots, identifiers and participants in any
// order; everything else the booking sends (what the provider checks, and
// what it stores) is part of what makes it the same booking, so a request
// that differs in any of it is judged on its own instead of being answered
// with the original.
func TestIdemKey(t *testing.T) {
	one, two, ten := 1, 2, 10
	start := time.Date(2030, 6, 3, 9, 0, 0, 0, scheduling.London)
	base := scheduling.BookRequest{PracticeID: 7, PatientID: 3, LocationID: 2, PractitionerID: 4, HealthcareServiceID: 1, SlotIDs: []int64{5, 4},
		Start: start, End: start.Add(20 * time.Minute), StartText: "2030-06-03T09:00:00+01:00", EndText: "2030-06-03T09:20:00+01:00",
		Description: "d", ConsumerASID: "200000000359", DeliveryChannel: "In-person", PractitionerRole: "R0260", MinutesDuration: &ten,
		BookingOrg: scheduling.BookingOrg{ODS: "A1", Name: "N", Type: "urgent-care", Raw: []byte(`{"name":"N"}`)}, Priority: &one,
		Identifiers:  []scheduling.Identifier{{System: "urn:x", Value: "1"}, {System: "urn:y", Value: "2"}},
		Participants: []scheduling.Participant{{Reference: "Patient/3", Status: "accepted"}, {Reference: "Location/2", Status: "accepted"}}}
	same := base
	same.SlotIDs = []int64{4, 5}
	same.Identifiers = []scheduling.Identifier{{System: "urn:y", Value: "2"}, {System: "urn:x", Value: "1"}}
	same.Participants = []scheduling.Participant{base.Participants[1], base.Participants[0]}
	if store.IdemKey(&base) != store.IdemKey(&same) {
		t.Error("reordered slots, identifiers or participants change the retry key")
	}
	for name, change := range map[string]func(r *scheduling.BookRequest){
		"consumer":          func(r *scheduling.BookRequest) { r.ConsumerASID = "200000000999" },
		"trace id":          func(r *scheduling.BookRequest) { r.TraceID = "another-request" },
		"identifier":        func(r *scheduling.BookRequest) { r.Identifiers = r.Identifiers[:1] },
		"priority":          func(r *scheduling.BookRequest) { r.Priority = &two },
		"no priority":       func(r *scheduling.BookRequest) { r.Priority = nil },
		"comment":           func(r *scheduling.BookRequest) { r.Comment = "c" },
		"slot":              func(r *scheduling.BookRequest) { r.SlotIDs = []int64{4} },
		"start text":        func(r *scheduling.BookRequest) { r.StartText = "2030-06-03T08:00:00Z" },
		"end text":          func(r *scheduling.BookRequest) { r.EndText = "2030-06-03T09:30:00+01:00" },
		"start":             func(r *scheduling.BookRequest) { r.Start = r.Start.Add(time.Minute) },
		"end":               func(r *scheduling.BookRequest) { r.End = r.End.Add(time.Minute) },
		"delivery channel":  func(r *scheduling.BookRequest) { r.DeliveryChannel = "Telephone" },
		"no delivery chan":  func(r *scheduling.BookRequest) { r.DeliveryChannel = "" },
		"practitioner role": func(r *scheduling.BookRequest) { r.PractitionerRole = "R0620" },
		"minutes duration":  func(r *scheduling.BookRequest) { r.MinutesDuration = &one },
		"no minutes":        func(r *scheduling.BookRequest) { r.MinutesDuration = nil },
		"location":          func(r *scheduling.BookRequest) { r.LocationID = 9 },
		"practitioner":      func(r *scheduling.BookRequest) { r.PractitionerID = 0 },
		"service":           func(r *scheduling.BookRequest) { r.HealthcareServiceID = 2 },
		"participant status": func(r *scheduling.BookRequest) {
			r.Participants = []scheduling.Participant{r.Participants[0], {Reference: "Location/2", Status: "tentative"}}
		},
		"booking org name": func(r *scheduling.BookRequest) { r.BookingOrg.Name = "M" },
		"booking org type": func(r *scheduling.BookRequest) { r.BookingOrg.Type = "gp-practice" },
		"booking org raw":  func(r *scheduling.BookRequest) { r.BookingOrg.Raw = []byte(`{"name":"N","telecom":[]}`) },
		"description":      func(r *scheduling.BookRequest) { r.Description = "e" },
		// Texts that would run together if the key were a plain join.
		"description+comment": func(r *scheduling.BookRequest) { r.Description, r.Comment = "", "d" },
	} {
		r := base
		change(&r)
		if store.IdemKey(&r) == store.IdemKey(&base) {
			t.Errorf("another %s gives the same retry key", name)
		}
	}
}

// demoBooking opens a store of engine e with a week of demo data as at now,
// and returns the demo practice A20047 and its bookable demo patient.
func demoBooking(t *testing.T, e storetest.Engine) (context.Context, *store.Store, time.Time, *scheduling.Organisation, int64) {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t, e)
	now := time.Now()
	if err := demo.Load(ctx, st, now, 7*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	org, err := st.OrganisationByODS(ctx, "A20047")
	if err != nil {
		t.Fatal(err)
	}
	var patientID int64
	if err := st.DB().GetContext(ctx, &patientID, st.DB().Rebind(`SELECT id FROM patients WHERE nhs_number = ?`), "9658218865"); err != nil {
		t.Fatal(err)
	}
	return ctx, st, now, org, patientID
}
