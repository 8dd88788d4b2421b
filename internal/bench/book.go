package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/fhirmap"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store"
)

// bookTarget is a free slot to book, with what the booking body needs.
type bookTarget struct {
	SlotID     int64 `db:"id"`
	PracticeID int64 `db:"practice_id"`
	StartAt    int64 `db:"start_at"`
	EndAt      int64 `db:"end_at"`
	LocationID int64 `db:"location_id"`
}

// pool hands each booking a different free slot, in random order.
type pool struct {
	targets []bookTarget
	next    atomic.Int64
}

var errPoolEmpty = errors.New("bench: no free slots left to book; use a fresh database or shorter runs")

func (p *pool) take() (*bookTarget, error) {
	i := p.next.Add(1) - 1
	if i >= int64(len(p.targets)) {
		return nil, errPoolEmpty
	}
	return &p.targets[i], nil
}

// loadPool picks up to n random free slots at least two hours ahead in the data set's practices.
func loadPool(ctx context.Context, st *store.Store, ds *Dataset, n int) (*pool, error) {
	ids := make([]int64, len(ds.Practices))
	for i, p := range ds.Practices {
		ids[i] = p.ID
	}
	q, args, err := sqlx.In(`SELECT s.id, s.practice_id, s.start_at, s.end_at, sc.location_id FROM slots s JOIN schedules sc ON sc.id = s.schedule_id
		WHERE s.status = 'free' AND s.start_at > ? AND s.practice_id IN (?) ORDER BY random() LIMIT ?`, time.Now().Add(2*time.Hour).Unix(), ids, n)
	if err != nil {
		return nil, err
	}
	p := &pool{}
	if err := st.DB().SelectContext(ctx, &p.targets, st.DB().Rebind(q), args...); err != nil {
		return nil, err
	}
	return p, nil
}

// bookBody is a minimal valid GP Connect booking of one slot for a patient,
// by a booking organisation named from n (so no two bookings look like retries).
func bookBody(t *bookTarget, patientID int64, n int64) []byte {
	var b bytes.Buffer
	b.Grow(1200)
	ods := "BK" + strconv.FormatInt(n%100000, 10)
	fmt.Fprintf(&b, `{"resourceType":"Appointment","meta":{"profile":[%q]},"contained":[{"resourceType":"Organization","id":"1",`+
		`"meta":{"profile":[%q]},"identifier":[{"system":%q,"value":%q}],"name":"Bench Org %s","telecom":[{"system":"phone","value":"01632960001"}]}],`+
		`"extension":[{"url":%q,"valueReference":{"reference":"#1"}}],"status":"booked","description":"Bench booking",`+
		`"start":%q,"end":%q,"slot":[{"reference":"Slot/%d"}],"created":%q,"participant":[`+
		`{"actor":{"reference":"Patient/%d"},"status":"accepted"},{"actor":{"reference":"Location/%d"},"status":"accepted"}]}`,
		gpconnect.ProfileAppointment, gpconnect.ProfileOrganization, gpconnect.SystemODSOrganisation, ods, ods, gpconnect.ExtBookingOrganisation,
		scheduling.FormatLocal(time.Unix(t.StartAt, 0)), scheduling.FormatLocal(time.Unix(t.EndAt, 0)), t.SlotID,
		scheduling.FormatLocal(time.Now()), patientID, t.LocationID)
	return b.Bytes()
}

// BookGoals are issue 4's goals at 32 clients.
type BookGoals struct {
	Rate     float64
	P99      time.Duration
	MinRatio float64
}

// bookGoals gives the goals for the engine.
func bookGoals(engine string) BookGoals {
	if engine == store.EnginePostgres {
		return BookGoals{Rate: 1500, P99: 50 * time.Millisecond, MinRatio: 0.6}
	}
	return BookGoals{Rate: 1200, MinRatio: 0.6}
}

// RunBook measures issue 4's booking on one target: bookings/s and latency
// over loopback HTTP with 8 and 32 clients, each booking a different random
// free slot, and in the same run the floor: the raw booking transaction
// (store.Book) without HTTP. It then checks that no slot has two active
// appointments and that busy slots are exactly the actively booked ones.
func RunBook(ctx context.Context, st *store.Store, target string, ds *Dataset, opt Options, poolSize int) ([]Row, []string, error) {
	opt.logf("%s book: picking %d random free slots", target, poolSize)
	pl, err := loadPool(ctx, st, ds, poolSize)
	if err != nil {
		return nil, nil, err
	}
	practices := map[int64]*Practice{}
	for i := range ds.Practices {
		practices[ds.Practices[i].ID] = &ds.Practices[i]
	}
	prov, lb, err := providerServer(st)
	if err != nil {
		return nil, nil, err
	}
	var toks Tokens
	var seq atomic.Int64
	bufs := make([][]byte, rampInFlight)
	bookVia := func(client *http.Client) Op {
		return func(ctx context.Context, wk int, rng *rand.Rand) error {
			t, err := pl.take()
			if err != nil {
				return err
			}
			p := practices[t.PracticeID]
			bearer, err := toks.Bearer(gpconnect.ScopePatientWrite)
			if err != nil {
				return err
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, lb.URL+"/"+p.ODS+"/STU3/1/gpconnect/Appointment",
				bytes.NewReader(bookBody(t, p.Patients[rng.Intn(len(p.Patients))], seq.Add(1))))
			SetGPConnectHeaders(req.Header, p.ASID, "bench-book", gpconnect.CreateAppointment, bearer)
			req.Header.Set("Content-Type", gpconnect.MediaJSON+";charset=utf-8")
			bufs[wk], err = do(client, req, http.StatusCreated, bufs[wk])
			return err
		}
	}
	httpOp := bookVia(NewClient(32))
	rawOp := func(ctx context.Context, wk int, rng *rand.Rand) error {
		t, err := pl.take()
		if err != nil {
			return err
		}
		p := practices[t.PracticeID]
		res, err := fhir.DecodeJSON(bookBody(t, p.Patients[rng.Intn(len(p.Patients))], seq.Add(1)), "Appointment")
		if err != nil {
			return err
		}
		r, err := fhirmap.BookRequest(res.(*fhir.Appointment), p.ID, time.Now())
		if err != nil {
			return err
		}
		_, created, err := st.Book(ctx, r)
		if err == nil && !created {
			err = errors.New("bench: booking taken as a retry")
		}
		return err
	}
	var rows []Row
	var notes []string
	goals := bookGoals(st.Engine())
	// Four periods share the pool; each stops at its share, so a fast machine
	// ends a period early (its rate still counts) instead of running dry.
	share := max(int64(poolSize/4-64), 1)
	for _, c := range []int{8, 32} {
		opt.logf("%s book raw c=%d", target, c)
		raw := Closed(ctx, c, opt.Warmup, opt.Duration, share, rawOp)
		opt.logf("%s book http c=%d", target, c)
		hb := Closed(ctx, c, opt.Warmup, opt.Duration, share, httpOp)
		for _, r := range []struct {
			name string
			res  *LoadResult
		}{{"raw", &raw}, {"http", &hb}} {
			if r.res.Errors > 0 {
				notes = append(notes, fmt.Sprintf("%s book %s c=%d: %d errors, first: %v", target, r.name, c, r.res.Errors, r.res.FirstErr))
			}
		}
		cs := fmt.Sprintf("%d clients", c)
		var minRate, minRatio float64
		var p99 time.Duration
		if c == 32 {
			minRate, minRatio, p99 = goals.Rate, goals.MinRatio, goals.P99
		}
		rows = append(rows,
			Rate("book", target, cs, "bookings/s", hb.Rate(), raw.Rate(), minRate, minRatio, "raw store.Book"),
			Latency("book", target, cs, "p50", hb.P(0.5), raw.P(0.5), 0, "raw store.Book"),
			Latency("book", target, cs, "p99", hb.P(0.99), raw.P(0.99), p99, "raw store.Book"))
	}
	if opt.Ramp {
		rows = append(rows, rampRow(ctx, "book", target, "open-loop", 250*time.Millisecond, opt, bookVia(NewClient(rampInFlight))))
	}
	lb.Close()
	prov.Close()
	check, err := st.CheckBook(ctx)
	if err != nil {
		return nil, nil, err
	}
	rows = append(rows, Row{Bench: "book", Target: target, Case: "after run", Metric: "invariants", Goal: check.String(), Pass: boolp(check.OK())})
	if opt.Release && st.Engine() == store.EnginePostgres {
		// (SQLite --quick runs in a fresh temporary database.)
		n, err := Release(ctx, st, ds)
		if err != nil {
			return nil, nil, err
		}
		notes = append(notes, fmt.Sprintf("%s: %d bench bookings cancelled after the run (--quick keeps its data reusable)", target, n))
	}
	return rows, notes, nil
}

// Release cancels the data set's future bookings through the store (the
// domain's own cancel), so a small data set in a reused database does not
// run out of free slots. Returns how many were cancelled.
func Release(ctx context.Context, st *store.Store, ds *Dataset) (int, error) {
	ids := make([]int64, len(ds.Practices))
	for i, p := range ds.Practices {
		ids[i] = p.ID
	}
	q, args, err := sqlx.In(`SELECT id, practice_id FROM appointments WHERE status = 'booked' AND start_at > ? AND practice_id IN (?)`,
		time.Now().Add(time.Minute).Unix(), ids)
	if err != nil {
		return 0, err
	}
	var appts []struct {
		ID         int64 `db:"id"`
		PracticeID int64 `db:"practice_id"`
	}
	if err := st.DB().SelectContext(ctx, &appts, st.DB().Rebind(q), args...); err != nil {
		return 0, err
	}
	var next, done atomic.Int64
	errc := make(chan error, 8)
	for w := 0; w < 8; w++ {
		go func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(len(appts)) {
					errc <- nil
					return
				}
				a := appts[i]
				if _, err := st.Cancel(ctx, a.PracticeID, a.ID, scheduling.AnyVersion, "bench clean-up", time.Now(), nil); err != nil {
					errc <- err
					return
				}
				done.Add(1)
			}
		}()
	}
	var first error
	for w := 0; w < 8; w++ {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	return int(done.Load()), first
}
