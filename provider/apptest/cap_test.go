package apptest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// TestCapUnderContention: an access profile capped at N slots, open to a
// list of consumer ODS codes, and more consumers on that list than N racing
// at once, each for a different free slot of the profile. Exactly N win.
//
// The losers get 422 INVALID_RESOURCE (diagnostics naming the cap), not 409
// DUPLICATE_REJECTED: their slot is still free, so this is the §6.4 row
// "Slot-availability business rule broken (organisation slot limit, …)",
// for which the spec requires an error and recommends 422 INVALID_RESOURCE.
// 409 would tell the consumer to pick another slot, which cannot help while
// the cap is used up. A consumer not on the profile's list is refused the
// same way without using the cap. Cancelling one winner frees exactly one
// place, which a second race then fills exactly once.
func TestCapUnderContention(t *testing.T) {
	const (
		capN      = 5
		consumers = 40
	)
	for _, e := range storetest.Engines(true) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			st, srv := newServer(t, e)
			var codes []string
			for c := 0; c < consumers; c++ {
				codes = append(codes, fmt.Sprintf("K%04d", c))
			}
			profileID := addCappedSession(t, st, scheduling.AccessProfile{Name: "race-cap", Bookable: true, ODSCodes: codes, Cap: capN})
			var targets []target
			if err := st.DB().SelectContext(ctx, &targets, st.DB().Rebind(`SELECT s.id, s.start_at, s.end_at, sc.location_id FROM slots s
				JOIN schedules sc ON sc.id = s.schedule_id WHERE s.access_profile_id = ? AND s.status = 'free' AND s.start_at > ?
				ORDER BY s.start_at LIMIT ?`), profileID, time.Now().Add(3*time.Hour).Unix(), 2*consumers+1); err != nil || len(targets) != 2*consumers+1 {
				t.Fatalf("need %d capped slots, got %d (%v)", 2*consumers+1, len(targets), err)
			}
			var pid int64
			if err := st.DB().GetContext(ctx, &pid, st.DB().Rebind(`SELECT id FROM patients WHERE nhs_number = ?`), "9658218865"); err != nil {
				t.Fatal(err)
			}
			w := &wire{base: srv.URL, client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: consumers + 1}, Timeout: 60 * time.Second}}

			// race sends one booking per consumer at once, consumer c for slots[c];
			// it returns the outcome counts and the winners' replies.
			race := func(slots []target, ods []string) (map[string]int, []reply) {
				var mu sync.Mutex
				counts := map[string]int{}
				var won []reply
				start := make(chan struct{})
				var wg sync.WaitGroup
				for c := range ods {
					wg.Add(1)
					go func(c int) {
						defer wg.Done()
						req, err := w.request(http.MethodPost, "Appointment", gpconnect.CreateAppointment, bookBody(slots[c], pid, ods[c]), nil)
						<-start
						var rep reply
						if err == nil {
							rep, err = w.send(req)
						}
						mu.Lock()
						defer mu.Unlock()
						if err != nil {
							counts["transport error"]++
							return
						}
						key := fmt.Sprint(rep.status)
						if rep.status != http.StatusCreated {
							key += " " + spineCode(rep.body)
							if !strings.Contains(strings.ToLower(diagnostics(rep.body)), "cap") && !strings.Contains(diagnostics(rep.body), "ods") {
								counts["refused without naming the rule: "+diagnostics(rep.body)]++
							}
						} else {
							won = append(won, rep)
						}
						counts[key]++
					}(c)
				}
				close(start)
				wg.Wait()
				return counts, won
			}

			// Round 1: every listed consumer plus one not on the list.
			ods := append(append([]string{}, codes...), "Z9999")
			counts, won := race(targets[:consumers+1], ods)
			want := map[string]int{"201": capN, "422 INVALID_RESOURCE": consumers + 1 - capN}
			if fmt.Sprint(counts) != fmt.Sprint(want) {
				t.Fatalf("round 1 outcomes = %v, want %v", counts, want)
			}
			for _, rep := range won {
				if strings.Contains(string(rep.body), "Z9999") {
					t.Errorf("the consumer outside the profile won a slot")
				}
			}
			checkCap(t, st, profileID, capN)
			checkInvariants(t, st)

			// Cancel one winner: exactly one place opens for a second race.
			a := decodeAppointment(t, won[0].body)
			reason := "cap test"
			a.Status = "cancelled"
			a.Extension = append(a.Extension, fhir.Extension{URL: gpconnect.ExtCancellationReason, ValueString: &reason})
			rep, err := w.call(http.MethodPut, "Appointment/"+a.ID, gpconnect.CancelAppointment, encodeJSON(t, a), nil)
			if err != nil || rep.status != http.StatusOK {
				t.Fatalf("cancel: %v %d %s", err, rep.status, rep.body)
			}
			checkCap(t, st, profileID, capN-1)
			counts, _ = race(targets[consumers+1:], codes)
			want = map[string]int{"201": 1, "422 INVALID_RESOURCE": consumers - 1}
			if fmt.Sprint(counts) != fmt.Sprint(want) {
				t.Fatalf("round 2 outcomes = %v, want %v", counts, want)
			}
			checkCap(t, st, profileID, capN)
			checkInvariants(t, st)
		})
	}
}

// addCappedSession saves the profile at A20047 with an evening session on
// every day at Location/1 and materialises its slots. It returns the profile id.
func addCappedSession(t *testing.T, st *store.Store, p scheduling.AccessProfile) int64 {
	t.Helper()
	ctx := context.Background()
	p.PracticeID = 7
	id, err := st.SaveAccessProfile(ctx, &p)
	if err != nil {
		t.Fatal(err)
	}
	for d := time.Sunday; d <= time.Saturday; d++ {
		tpl := &scheduling.SessionTemplate{PracticeID: 7, Name: fmt.Sprintf("%s %s", d, p.Name), Weekday: d, StartLocal: "18:00", EndLocal: "22:00",
			SlotMinutes: 10, LocationID: 1, PractitionerID: 1, Role: "R0260", ServiceCategory: "Capped", ServiceType: "Capped slot",
			Channels: []string{"In-person"}, AccessProfileID: id, Active: true}
		if _, err := st.SaveSessionTemplate(ctx, tpl); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	if _, err := st.Materialise(ctx, 7, scheduling.LocalMidnight(now), now.Add(10*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	return id
}

// checkCap: the profile's counter and its active bookings both equal n.
func checkCap(t *testing.T, st *store.Store, profileID int64, n int) {
	t.Helper()
	ctx := context.Background()
	var booked, active int
	if err := st.DB().GetContext(ctx, &booked, st.DB().Rebind(`SELECT booked FROM access_profiles WHERE id = ?`), profileID); err != nil {
		t.Fatal(err)
	}
	if err := st.DB().GetContext(ctx, &active, st.DB().Rebind(`SELECT COUNT(*) FROM appointment_slots a JOIN slots s ON s.id = a.slot_id
		WHERE a.active = TRUE AND s.access_profile_id = ?`), profileID); err != nil {
		t.Fatal(err)
	}
	if booked != n || active != n {
		t.Errorf("cap counter %d, active bookings %d, want %d", booked, active, n)
	}
}

func diagnostics(b []byte) string {
	var oo fhir.OperationOutcome
	if err := json.Unmarshal(b, &oo); err != nil || len(oo.Issue) == 0 {
		return ""
	}
	return oo.Issue[0].Diagnostics
}

func decodeAppointment(t *testing.T, b []byte) *fhir.Appointment {
	t.Helper()
	var a fhir.Appointment
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatalf("appointment: %v", err)
	}
	return &a
}

func encodeJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
