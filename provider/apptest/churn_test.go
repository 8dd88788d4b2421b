package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/auth"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// wire is a goroutine-safe GP Connect caller (no t.Fatal off the test goroutine).
type wire struct {
	base   string
	client *http.Client
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (w *wire) call(method, path string, iid gpconnect.InteractionID, body []byte, hdr map[string]string) (reply, error) {
	req, err := w.request(method, path, iid, body, hdr)
	if err != nil {
		return reply{}, err
	}
	return w.send(req)
}

// request builds a call without sending it, so that racers can do all
// their preparation before a start barrier and only send after it.
func (w *wire) request(method, path string, iid gpconnect.InteractionID, body []byte, hdr map[string]string) (*http.Request, error) {
	req, err := http.NewRequest(method, w.base+"/A20047/STU3/1/gpconnect/"+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	tok, err := auth.Mint(auth.DefaultTestIdentity(), iid.Scope(), time.Now())
	if err != nil {
		return nil, err
	}
	req.Header.Set("Ssp-TraceID", fmt.Sprintf("churn-%d", rand.Int64()))
	req.Header.Set("Ssp-From", "200000000359")
	req.Header.Set("Ssp-To", asid)
	req.Header.Set("Ssp-InteractionID", string(iid))
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != nil {
		req.Header.Set("Content-Type", "application/fhir+json;charset=utf-8")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return req, nil
}

// send sends a request built by request.
func (w *wire) send(req *http.Request) (reply, error) {
	resp, err := w.client.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: b}, err
}

// seen is everything the clients learnt about one appointment from successful responses.
type seen struct {
	mu      sync.Mutex
	slotIDs []int64
	latest  []byte // the body with the highest versionId seen
	version int64
	status  string
	desc    string
	refused bool // an amend or cancel was refused as 422 (only legal once it is cancelled)
}

func (s *seen) learn(body []byte) error {
	var a fhir.Appointment
	if err := json.Unmarshal(body, &a); err != nil {
		return err
	}
	v, err := strconv.ParseInt(a.Meta.VersionID, 10, 64)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if v == s.version && s.status != a.Status {
		return fmt.Errorf("appointment %s: version %d seen as both %s and %s", a.ID, v, s.status, a.Status)
	}
	if v > s.version {
		s.version, s.latest, s.status, s.desc = v, body, a.Status, a.Description
	}
	return nil
}

// TestChurnNoDoubleBooking: clients book, amend, read, cancel and re-book a
// small pool of slots concurrently, plus two-slot bookings of overlapping
// adjacent pairs (which must take both slots or neither). Afterwards no slot has two active
// appointments, busy slots and active bookings match one for one, every 201
// is in the database, and each appointment's stored version, status and
// description are those of the newest successful response about it.
func TestChurnNoDoubleBooking(t *testing.T) {
	const (
		nclients = 16
		npool    = 10
		nops     = 40
	)
	for _, e := range storetest.Engines(true) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			st, srv := newServer(t, e)
			var pids []int64
			if err := st.DB().SelectContext(ctx, &pids, `SELECT id FROM patients WHERE practice_id = 7 AND active = TRUE AND sensitive = FALSE AND deceased = '' ORDER BY id`); err != nil || len(pids) < 5 {
				t.Fatalf("patients: %v", err)
			}
			pool := openTargets(t, st, npool)
			run := nurseRun(t, st, 6)
			w := &wire{base: srv.URL, client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: nclients}, Timeout: 60 * time.Second}}

			var mu sync.Mutex
			appts := map[string]*seen{}
			var ids []string
			counts := map[string]int{}
			var problems []string
			// Replays whose original 201 had not been recorded yet when they
			// arrived: with SQLite's group commit the original and its replay
			// can be answered by the same commit, in either order.
			var lateReplays [][]byte
			problem := func(f string, args ...any) {
				mu.Lock()
				problems = append(problems, fmt.Sprintf(f, args...))
				mu.Unlock()
			}
			pick := func(r *rand.Rand) (string, *seen) {
				mu.Lock()
				defer mu.Unlock()
				if len(ids) == 0 {
					return "", nil
				}
				// Prefer appointments still booked, so amend and cancel mostly race on live ones.
				var id string
				for try := 0; try < 4; try++ {
					id = ids[r.IntN(len(ids))]
					s := appts[id]
					s.mu.Lock()
					live := s.status == "booked"
					s.mu.Unlock()
					if live {
						break
					}
				}
				return id, appts[id]
			}
			start := make(chan struct{})
			var wg sync.WaitGroup
			for c := 0; c < nclients; c++ {
				wg.Add(1)
				go func(c int) {
					defer wg.Done()
					r := rand.New(rand.NewPCG(uint64(c), 7))
					ods := fmt.Sprintf("Q%04d", c)
					<-start
					for op := 0; op < nops; op++ {
						kind := []string{"book", "book", "book2", "amend", "amend", "cancel", "read"}[r.IntN(7)]
						id, s := pick(r)
						if s == nil {
							kind = "book"
						}
						var rep reply
						var err error
						switch kind {
						case "book", "book2":
							var tgs []target
							var body []byte
							if kind == "book" {
								tgs = []target{pool[r.IntN(len(pool))]}
								body = bookBody(tgs[0], pids[r.IntN(len(pids))], ods)
							} else {
								// Two adjacent nurse-clinic slots; neighbouring pairs overlap, so a
								// booking can find one of its two slots taken and must take neither.
								i := r.IntN(len(run) - 1)
								tgs = run[i : i+2]
								body = multiBody(tgs, pids[r.IntN(len(pids))], "A20047")
							}
							rep, err = w.call(http.MethodPost, "Appointment", gpconnect.CreateAppointment, body, nil)
							if err == nil && rep.status == http.StatusCreated && rep.header.Get("X-Slotbridge-Replayed") == "true" {
								// A replay answers only a resend of one request (same
								// Ssp-TraceID); every churn request has its own trace id,
								// so "book-replay" is not an allowed outcome below: it
								// would mean a new request was answered as a retry.
								kind = "book-replay"
								var a fhir.Appointment
								_ = json.Unmarshal(rep.body, &a)
								mu.Lock()
								s = appts[a.ID]
								if s == nil {
									lateReplays = append(lateReplays, rep.body)
								}
								mu.Unlock()
								if s != nil {
									if err := s.learn(rep.body); err != nil {
										problem("%v", err)
									}
								}
								s = nil
							} else if err == nil && rep.status == http.StatusCreated {
								var a fhir.Appointment
								if json.Unmarshal(rep.body, &a) != nil {
									problem("book: bad body %s", rep.body)
									continue
								}
								ns := &seen{}
								for _, tg := range tgs {
									ns.slotIDs = append(ns.slotIDs, tg.SlotID)
								}
								if err := ns.learn(rep.body); err != nil {
									problem("%v", err)
								}
								mu.Lock()
								if appts[a.ID] != nil {
									problems = append(problems, fmt.Sprintf("appointment id %s returned by two 201s", a.ID))
								}
								appts[a.ID] = ns
								ids = append(ids, a.ID)
								mu.Unlock()
							}
						case "read":
							rep, err = w.call(http.MethodGet, "Appointment/"+id, gpconnect.ReadAppointment, nil, nil)
						case "amend", "cancel":
							s.mu.Lock()
							body, ver, status := s.latest, s.version, s.status
							s.mu.Unlock()
							var a fhir.Appointment
							_ = json.Unmarshal(body, &a)
							iid := gpconnect.UpdateAppointment
							if kind == "amend" {
								a.Description = fmt.Sprintf("amended by %s op %d", ods, op)
							} else {
								iid = gpconnect.CancelAppointment
								reason := "churn " + ods
								a.Status = "cancelled"
								a.Extension = append(a.Extension, fhir.Extension{URL: gpconnect.ExtCancellationReason, ValueString: &reason})
							}
							if a.Status == "cancelled" && kind == "amend" {
								kind = "amend-cancelled" // the consumer knows it is cancelled: expect 422
							}
							if kind == "cancel" && status == "cancelled" {
								kind = "cancel-cancelled"
							}
							b, _ := json.Marshal(&a)
							rep, err = w.call(http.MethodPut, "Appointment/"+id, iid, b, map[string]string{"If-Match": fmt.Sprintf(`W/"%d"`, ver)})
							if err == nil && rep.status == http.StatusUnprocessableEntity {
								s.mu.Lock()
								s.refused = true
								s.mu.Unlock()
							}
						}
						if err != nil {
							problem("%s: %v", kind, err)
							continue
						}
						key := kind + " " + strconv.Itoa(rep.status)
						if rep.status >= 400 {
							key += " " + spineCode(rep.body)
						}
						mu.Lock()
						counts[key]++
						mu.Unlock()
						if rep.status == http.StatusOK && s != nil {
							if err := s.learn(rep.body); err != nil {
								problem("%v", err)
							}
						}
					}
				}(c)
			}
			close(start)
			wg.Wait()
			for _, body := range lateReplays {
				var a fhir.Appointment
				_ = json.Unmarshal(body, &a)
				if s := appts[a.ID]; s == nil {
					problems = append(problems, fmt.Sprintf("replayed booking %s was never created", a.ID))
				} else if err := s.learn(body); err != nil {
					problems = append(problems, err.Error())
				}
			}
			t.Logf("outcomes: %v", counts)
			for _, p := range problems {
				t.Error(p)
			}
			allowed := map[string]bool{
				"book 201": true, "book 409 DUPLICATE_REJECTED": true,
				"book2 201": true, "book2 409 DUPLICATE_REJECTED": true,
				"read 200":  true,
				"amend 200": true, "amend 409 FHIR_CONSTRAINT_VIOLATION": true, "amend 422 INVALID_RESOURCE": true,
				"amend-cancelled 422 INVALID_RESOURCE": true, "amend-cancelled 409 FHIR_CONSTRAINT_VIOLATION": true,
				"cancel 200": true, "cancel 409 FHIR_CONSTRAINT_VIOLATION": true, "cancel 422 INVALID_RESOURCE": true,
				"cancel-cancelled 200": true, "cancel-cancelled 422 INVALID_RESOURCE": true, "cancel-cancelled 409 FHIR_CONSTRAINT_VIOLATION": true,
			}
			for k := range counts {
				if !allowed[k] {
					t.Errorf("unexpected outcome %q (%d times)", k, counts[k])
				}
			}
			if counts["book 201"] < npool || counts["book2 201"] == 0 || counts["book2 409 DUPLICATE_REJECTED"] == 0 ||
				counts["cancel 200"] == 0 || counts["amend 200"] == 0 {
				t.Errorf("too little churn to prove anything: %v", counts)
			}
			checkInvariants(t, st)
			checkAppointments(t, st, appts)
		})
	}
}

// openTargets picks n free A20047 slots with no access restriction, cap, window or embargo.
func openTargets(t *testing.T, st *store.Store, n int) []target {
	t.Helper()
	var targets []target
	err := st.DB().SelectContext(context.Background(), &targets, st.DB().Rebind(`SELECT s.id, s.start_at, s.end_at, sc.location_id FROM slots s
		JOIN schedules sc ON sc.id = s.schedule_id JOIN access_profiles p ON p.id = s.access_profile_id
		WHERE s.practice_id = 7 AND s.status = 'free' AND p.bookable = TRUE AND p.org_types = '' AND p.ods_codes = '' AND p.cap = 0
		AND p.window_secs = 0 AND p.embargo_secs = 0 AND p.release_time = '' AND s.start_at > ? ORDER BY s.start_at, s.id LIMIT ?`),
		time.Now().Add(3*time.Hour).Unix(), n)
	if err != nil || len(targets) != n {
		t.Fatalf("need %d open slots, got %d (%v)", n, len(targets), err)
	}
	return targets
}

// checkAppointments compares the database with what the clients were told:
// every 201 is stored on its slot; version, status and description are the
// newest response's; a 422 on amend or cancel only ever hit a cancelled
// appointment; booked appointments hold their slot, cancelled ones none.
func checkAppointments(t *testing.T, st *store.Store, appts map[string]*seen) {
	t.Helper()
	ctx := context.Background()
	type row struct {
		ID          int64  `db:"id"`
		Status      string `db:"status"`
		Description string `db:"description"`
		Version     int64  `db:"version"`
	}
	var rows []row
	if err := st.DB().SelectContext(ctx, &rows, `SELECT id, status, description, version FROM appointments`); err != nil {
		t.Fatal(err)
	}
	db := map[string]row{}
	for _, r := range rows {
		db[strconv.FormatInt(r.ID, 10)] = r
	}
	if len(db) != len(appts) {
		t.Errorf("%d appointments stored, %d created (201)", len(db), len(appts))
	}
	for id, s := range appts {
		r, ok := db[id]
		if !ok {
			t.Errorf("appointment %s was created (201) but is not stored", id)
			continue
		}
		if r.Version != s.version || r.Status != s.status || r.Description != s.desc {
			t.Errorf("appointment %s stored as v%d %s %q, newest response said v%d %s %q", id, r.Version, r.Status, r.Description, s.version, s.status, s.desc)
		}
		if s.refused && r.Status != "cancelled" {
			t.Errorf("appointment %s: an amend or cancel was refused 422 but it is %s", id, r.Status)
		}
		var slots []int64
		if err := st.DB().SelectContext(ctx, &slots, st.DB().Rebind(`SELECT slot_id FROM appointment_slots WHERE appointment_id = ? ORDER BY slot_id`), r.ID); err != nil {
			t.Fatal(err)
		}
		var active int
		if err := st.DB().GetContext(ctx, &active, st.DB().Rebind(`SELECT COUNT(*) FROM appointment_slots WHERE appointment_id = ? AND active = TRUE`), r.ID); err != nil {
			t.Fatal(err)
		}
		want := slices.Sorted(slices.Values(s.slotIDs))
		if !slices.Equal(slots, want) {
			t.Errorf("appointment %s is on slots %v, booked on %v", id, slots, want)
		}
		if r.Status == "booked" && active != len(want) || r.Status == "cancelled" && active != 0 {
			t.Errorf("appointment %s is %s with %d of %d slot bookings active", id, r.Status, active, len(want))
		}
	}
}

// nurseRun returns n consecutive free slots of one A20047 nurse-clinic session
// (one delivery channel, open to A20047 only), so adjacent pairs can be booked.
func nurseRun(t *testing.T, st *store.Store, n int) []target {
	t.Helper()
	var rows []struct {
		target
		ScheduleID int64 `db:"schedule_id"`
	}
	if err := st.DB().SelectContext(context.Background(), &rows, st.DB().Rebind(`SELECT s.id, s.start_at, s.end_at, sc.location_id, s.schedule_id
		FROM slots s JOIN schedules sc ON sc.id = s.schedule_id JOIN access_profiles p ON p.id = s.access_profile_id
		WHERE s.practice_id = 7 AND s.status = 'free' AND p.name = 'own-practice' AND s.start_at > ? ORDER BY sc.start_at, s.schedule_id, s.start_at`),
		time.Now().Add(3*time.Hour).Unix()); err != nil {
		t.Fatal(err)
	}
	var out []target
	var sched int64
	for _, r := range rows {
		if len(out) > 0 && (r.ScheduleID != sched || out[len(out)-1].EndAt != r.StartAt) {
			out = out[:0]
		}
		out, sched = append(out, r.target), r.ScheduleID
		if len(out) == n {
			return out
		}
	}
	t.Fatalf("no run of %d nurse-clinic slots", n)
	return nil
}

// multiBody is bookBody for several adjacent slots: start of the first, end of the last.
func multiBody(tgs []target, patientID int64, ods string) []byte {
	var a fhir.Appointment
	_ = json.Unmarshal(bookBody(tgs[0], patientID, ods), &a)
	a.Slot = nil
	for _, tg := range tgs {
		a.Slot = append(a.Slot, fhir.Reference{Reference: fmt.Sprintf("Slot/%d", tg.SlotID)})
	}
	a.End = scheduling.FormatLocal(time.Unix(tgs[len(tgs)-1].EndAt, 0))
	b, _ := json.Marshal(&a)
	return b
}
