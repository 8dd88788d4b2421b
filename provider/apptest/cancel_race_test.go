package apptest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// TestCancelRace: many consumers cancel the same appointment at once (no
// If-Match, as a retrying consumer would). Every one gets what a second
// cancel in sequence gets, 200 with the appointment cancelled, never a 422
// or 409 for having lost the race; the appointment is cancelled once
// (version 2), its slot freed once, and the capped profile's counter given
// back once.
func TestCancelRace(t *testing.T) {
	const racers = 16
	for _, e := range storetest.Engines(true) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			st, srv := newServer(t, e)
			profileID := addCappedSession(t, st, scheduling.AccessProfile{Name: "cancel-race", Bookable: true, Cap: 3})
			var tg target
			if err := st.DB().GetContext(ctx, &tg, st.DB().Rebind(`SELECT s.id, s.start_at, s.end_at, sc.location_id FROM slots s
				JOIN schedules sc ON sc.id = s.schedule_id WHERE s.access_profile_id = ? AND s.status = 'free' AND s.start_at > ?
				ORDER BY s.start_at LIMIT 1`), profileID, time.Now().Add(3*time.Hour).Unix()); err != nil {
				t.Fatal(err)
			}
			var pid int64
			if err := st.DB().GetContext(ctx, &pid, st.DB().Rebind(`SELECT id FROM patients WHERE nhs_number = ?`), "9658218865"); err != nil {
				t.Fatal(err)
			}
			w := &wire{base: srv.URL, client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: racers}, Timeout: 60 * time.Second}}
			rep, err := w.call(http.MethodPost, "Appointment", gpconnect.CreateAppointment, bookBody(tg, pid, "A20047"), nil)
			if err != nil || rep.status != http.StatusCreated {
				t.Fatalf("book: %v %d %s", err, rep.status, rep.body)
			}
			checkCap(t, st, profileID, 1)
			a := decodeAppointment(t, rep.body)
			reason := "cancel race"
			a.Status = "cancelled"
			a.Extension = append(a.Extension, fhir.Extension{URL: gpconnect.ExtCancellationReason, ValueString: &reason})
			body := encodeJSON(t, a)

			var mu sync.Mutex
			counts := map[string]int{}
			start := make(chan struct{})
			var wg sync.WaitGroup
			for range racers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					req, err := w.request(http.MethodPut, "Appointment/"+a.ID, gpconnect.CancelAppointment, body, nil)
					<-start
					var rep reply
					if err == nil {
						rep, err = w.send(req)
					}
					key := "transport error"
					if err == nil {
						key = fmt.Sprint(rep.status)
						if rep.status == http.StatusOK {
							// Decoded here without t: FailNow belongs to the test's own goroutine.
							var got fhir.Appointment
							if err := json.Unmarshal(rep.body, &got); err != nil || got.Meta == nil {
								key += " undecodable: " + string(rep.body)
							} else {
								key += " " + got.Status + " v" + got.Meta.VersionID
							}
						} else {
							key += " " + spineCode(rep.body) + ": " + diagnostics(rep.body)
						}
					}
					mu.Lock()
					counts[key]++
					mu.Unlock()
				}()
			}
			close(start)
			wg.Wait()
			if want := map[string]int{"200 cancelled v2": racers}; fmt.Sprint(counts) != fmt.Sprint(want) {
				t.Fatalf("outcomes %v, want %v", counts, want)
			}
			checkCap(t, st, profileID, 0)
			var status string
			if err := st.DB().GetContext(ctx, &status, st.DB().Rebind(`SELECT status FROM slots WHERE id = ?`), tg.SlotID); err != nil || status != "free" {
				t.Errorf("slot after the cancels: %q %v, want free", status, err)
			}
			checkInvariants(t, st)
		})
	}
}
