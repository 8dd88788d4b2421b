package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/auth"
	"github.com/slotbridge/slotbridge/internal/demo"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
	"github.com/slotbridge/slotbridge/provider"
)

const (
	clients = 64
	nslots  = 50
	asid    = "918999198993"
)

type target struct {
	SlotID     int64 `db:"id"`
	StartAt    int64 `db:"start_at"`
	EndAt      int64 `db:"end_at"`
	LocationID int64 `db:"location_id"`
}

func bookBody(t target, patientID int64, ods string) []byte {
	body := map[string]any{
		"resourceType": "Appointment",
		"meta":         map[string]any{"profile": []string{string(gpconnect.ProfileAppointment)}},
		"contained": []any{map[string]any{
			"resourceType": "Organization", "id": "1",
			"meta":       map[string]any{"profile": []string{string(gpconnect.ProfileOrganization)}},
			"identifier": []any{map[string]any{"system": gpconnect.SystemODSOrganisation, "value": ods}},
			"name":       "Race Org " + ods,
			"telecom":    []any{map[string]any{"system": "phone", "value": "01234567890"}},
		}},
		"extension":   []any{map[string]any{"url": gpconnect.ExtBookingOrganisation, "valueReference": map[string]any{"reference": "#1"}}},
		"status":      "booked",
		"description": "Race test booking",
		"start":       scheduling.FormatLocal(time.Unix(t.StartAt, 0)),
		"end":         scheduling.FormatLocal(time.Unix(t.EndAt, 0)),
		"slot":        []any{map[string]any{"reference": fmt.Sprintf("Slot/%d", t.SlotID)}},
		"created":     scheduling.FormatLocal(time.Now()),
		"participant": []any{
			map[string]any{"actor": map[string]any{"reference": fmt.Sprintf("Patient/%d", patientID)}, "status": "accepted"},
			map[string]any{"actor": map[string]any{"reference": fmt.Sprintf("Location/%d", t.LocationID)}, "status": "accepted"},
		},
	}
	b, _ := json.Marshal(body)
	return b
}

func spineCode(b []byte) string {
	var oo struct {
		Issue []struct {
			Details struct {
				Coding []struct{ Code string } `json:"coding"`
			} `json:"details"`
		} `json:"issue"`
	}
	if json.Unmarshal(b, &oo) != nil || len(oo.Issue) == 0 || len(oo.Issue[0].Details.Coding) == 0 {
		return ""
	}
	return oo.Issue[0].Details.Coding[0].Code
}

// newServer opens a fresh store on the engine, loads the demo data and serves
// the provider on loopback until the test ends.
func newServer(t *testing.T, e storetest.Engine) (*store.Store, *httptest.Server) {
	t.Helper()
	st := storetest.Open(t, e)
	if err := demo.Load(context.Background(), st, time.Now(), 10*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	prov := provider.New(st, &auth.Verifier{}, slog.New(slog.NewTextHandler(io.Discard, nil)), provider.Config{})
	srv := httptest.NewServer(prov.Handler())
	t.Cleanup(func() { srv.Close(); prov.Close() })
	return st, srv
}

// TestNoDoubleBooking: 64 clients, each a different booking organisation, race
// for each of 50 free slots at the same moment. Exactly one wins each slot.
func TestNoDoubleBooking(t *testing.T) {
	for _, e := range storetest.Engines(true) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			st, srv := newServer(t, e)

			var patientID int64
			if err := st.DB().GetContext(ctx, &patientID, st.DB().Rebind(`SELECT id FROM patients WHERE nhs_number = ?`), "9658218865"); err != nil {
				t.Fatal(err)
			}
			var targets []target
			err := st.DB().SelectContext(ctx, &targets, st.DB().Rebind(`SELECT s.id, s.start_at, s.end_at, sc.location_id FROM slots s
				JOIN schedules sc ON sc.id = s.schedule_id JOIN access_profiles p ON p.id = s.access_profile_id JOIN organisations o ON o.id = s.practice_id
				WHERE o.ods = 'A20047' AND s.status = 'free' AND p.bookable = TRUE AND p.org_types = '' AND p.ods_codes = '' AND p.cap = 0
				AND p.window_secs = 0 AND p.embargo_secs = 0 AND p.release_time = '' AND s.start_at > ? ORDER BY s.start_at, s.id LIMIT ?`),
				time.Now().Add(3*time.Hour).Unix(), nslots)
			if err != nil || len(targets) != nslots {
				t.Fatalf("need %d open slots, got %d (%v)", nslots, len(targets), err)
			}
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}, Timeout: 60 * time.Second}
			id := auth.DefaultTestIdentity()
			var mu sync.Mutex
			counts := map[string]int{}
			winners := map[int64]int{}
			for _, tg := range targets {
				start := make(chan struct{})
				var wg sync.WaitGroup
				for c := 0; c < clients; c++ {
					wg.Add(1)
					go func(c int) {
						defer wg.Done()
						ods := fmt.Sprintf("R%04d", c)
						body := bookBody(tg, patientID, ods)
						tok, _ := auth.Mint(id, gpconnect.ScopePatientWrite, time.Now())
						req, _ := http.NewRequest(http.MethodPost, srv.URL+"/A20047/STU3/1/gpconnect/Appointment", bytes.NewReader(body))
						req.Header.Set("Ssp-TraceID", fmt.Sprintf("race-%d-%d", tg.SlotID, c))
						req.Header.Set("Ssp-From", "200000000359")
						req.Header.Set("Ssp-To", asid)
						req.Header.Set("Ssp-InteractionID", string(gpconnect.CreateAppointment))
						req.Header.Set("Authorization", "Bearer "+tok)
						req.Header.Set("Content-Type", "application/fhir+json;charset=utf-8")
						<-start
						resp, err := client.Do(req)
						if err != nil {
							mu.Lock()
							counts["transport error"]++
							mu.Unlock()
							return
						}
						b, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						key := fmt.Sprintf("%d", resp.StatusCode)
						if resp.StatusCode != http.StatusCreated {
							key += " " + spineCode(b)
						}
						mu.Lock()
						counts[key]++
						if resp.StatusCode == http.StatusCreated {
							winners[tg.SlotID]++
						}
						mu.Unlock()
					}(c)
				}
				close(start)
				wg.Wait()
			}
			want := map[string]int{"201": nslots, "409 DUPLICATE_REJECTED": nslots * (clients - 1)}
			if fmt.Sprint(counts) != fmt.Sprint(want) {
				t.Fatalf("outcomes = %v, want %v", counts, want)
			}
			for _, tg := range targets {
				if winners[tg.SlotID] != 1 {
					t.Errorf("slot %d has %d winners", tg.SlotID, winners[tg.SlotID])
				}
			}
			checkInvariants(t, st)
		})
	}
}

// checkInvariants: no slot has two active appointments, and busy slots and
// active appointment slots match one for one.
func checkInvariants(t *testing.T, st *store.Store) {
	t.Helper()
	if c, err := st.CheckBook(context.Background()); err != nil || !c.OK() {
		t.Errorf("appointment book: %s %v", c, err)
	}
}
