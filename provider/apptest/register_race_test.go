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
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// TestRegisterRace: many consumers register the same patient at the same
// moment. Exactly one gets 200; the rest get 409 DUPLICATE_REJECTED (spec
// §12.4: the patient is already registered), and one record exists. This
// is run for a person new to the practice (a racing insert) and for an
// inactive record being re-activated as temporary (a racing update).
//
// A warm-up round first registers racers different people at once (all must
// succeed), so that the HTTP connections and the store's database
// connections are open before the races: otherwise opening them spaces the
// racers out so much on PostgreSQL that the first has committed before the
// others look, and the racing insert, whose unique-violation error the store
// must read from each driver's own error type, is never reached.
func TestRegisterRace(t *testing.T) {
	const racers = 24
	for _, e := range storetest.Engines(true) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			st, srv := newServer(t, e)
			w := &wire{base: srv.URL, client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: racers}, Timeout: 60 * time.Second}}
			var fresh []struct {
				NHS    string `db:"nhs_number"`
				Family string `db:"family"`
				Given  string `db:"given"`
				Birth  string `db:"birth_date"`
			}
			if err := st.DB().SelectContext(ctx, &fresh, st.DB().Rebind(`SELECT nhs_number, family, given, birth_date FROM pds_people
				WHERE nhs_number NOT IN (SELECT nhs_number FROM patients) AND deceased = '' AND sensitive = FALSE AND superseded = FALSE
				AND invalid = FALSE ORDER BY nhs_number LIMIT ?`), racers+1); err != nil || len(fresh) != racers+1 {
				t.Fatalf("need %d unregistered PDS people, got %d (%v)", racers+1, len(fresh), err)
			}
			registerBody := func(nhs, family, given, birth string) []byte {
				pat := &fhir.Patient{ResourceType: "Patient", Identifier: []fhir.Identifier{{System: gpconnect.SystemNHSNumber, Value: nhs}},
					Name: []fhir.HumanName{{Use: "official", Family: family, Given: []string{given}}}, BirthDate: birth}
				body, _ := json.Marshal(&fhir.Parameters{ResourceType: "Parameters", Parameter: []fhir.ParametersParameter{{Name: "registerPatient", Resource: pat}}})
				return body
			}

			// Warm-up: racers different people at once, every one registered.
			warm := map[string]int{}
			var wmu sync.Mutex
			wstart := make(chan struct{})
			var wwg sync.WaitGroup
			for _, f := range fresh[:racers] {
				wwg.Add(1)
				go func() {
					defer wwg.Done()
					req, err := w.request(http.MethodPost, "Patient/$gpc.registerpatient", gpconnect.RegisterPatient, registerBody(f.NHS, f.Family, f.Given, f.Birth), nil)
					<-wstart
					key := "transport error"
					if err == nil {
						var rep reply
						if rep, err = w.send(req); err == nil {
							key = fmt.Sprint(rep.status)
						}
					}
					wmu.Lock()
					warm[key]++
					wmu.Unlock()
				}()
			}
			close(wstart)
			wwg.Wait()
			if want := map[string]int{"200": racers}; fmt.Sprint(warm) != fmt.Sprint(want) {
				t.Fatalf("warm-up registrations of different people = %v, want %v", warm, want)
			}

			last := fresh[racers]
			people := []struct{ name, nhs, family, given, birth string }{
				{"New", last.NHS, last.Family, last.Given, last.Birth},
				{"Reactivate", "9658219748", "ORME", "Lynda", "1979-10-06"}, // patient21, inactive
			}
			for _, p := range people {
				t.Run(p.name, func(t *testing.T) {
					body := registerBody(p.nhs, p.family, p.given, p.birth)
					var mu sync.Mutex
					counts := map[string]int{}
					start := make(chan struct{})
					var wg sync.WaitGroup
					for i := 0; i < racers; i++ {
						wg.Add(1)
						go func() {
							defer wg.Done()
							req, err := w.request(http.MethodPost, "Patient/$gpc.registerpatient", gpconnect.RegisterPatient, body, nil)
							<-start
							var rep reply
							if err == nil {
								rep, err = w.send(req)
							}
							key := "transport error"
							if err == nil {
								key = fmt.Sprint(rep.status)
								if rep.status != http.StatusOK {
									key += " " + spineCode(rep.body)
								}
							}
							mu.Lock()
							counts[key]++
							mu.Unlock()
						}()
					}
					close(start)
					wg.Wait()
					want := map[string]int{"200": 1, "409 DUPLICATE_REJECTED": racers - 1}
					if fmt.Sprint(counts) != fmt.Sprint(want) {
						t.Errorf("outcomes = %v, want %v", counts, want)
					}
					var n int
					if err := st.DB().GetContext(ctx, &n, st.DB().Rebind(`SELECT COUNT(*) FROM patients WHERE practice_id = 7 AND nhs_number = ? AND active = TRUE`), p.nhs); err != nil {
						t.Fatal(err)
					}
					if n != 1 {
						t.Errorf("%d active records for %s, want 1", n, p.nhs)
					}
				})
			}
		})
	}
}
