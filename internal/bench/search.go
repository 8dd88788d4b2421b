package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store"
)

// Options tune a benchmark run.
type Options struct {
	// Warmup runs before each measured period; Duration is the measured period.
	Warmup, Duration time.Duration
	// Ramp adds the open-loop ramp; RampStep is how long each rate is held.
	Ramp     bool
	RampStep time.Duration
	// Release cancels the booking benchmark's bookings after its checks, so
	// a small data set can be reused run after run.
	Release bool
	// Log receives progress lines.
	Log io.Writer
}

// QuickOptions are the smoke-run timings.
var QuickOptions = Options{Warmup: 250 * time.Millisecond, Duration: time.Second, RampStep: time.Second, Release: true}

// FullOptions are the timings of a full run.
var FullOptions = Options{Warmup: 2 * time.Second, Duration: 10 * time.Second, RampStep: 3 * time.Second}

func (o *Options) logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format+"\n", args...)
	}
}

// SearchSize is one of the two searches of issue 3.
type SearchSize struct {
	// Name is "100 slots" or "5000 slots".
	Name string
	// Large picks 8 whole weekdays; otherwise one 50-minute window.
	Large bool
	// P50, P99 are the goals at c=1 (0 = none); Rate the goal at c=32 per engine.
	P50, P99           time.Duration
	RatePG, RateSQLite float64
	MinRatio           float64
}

// SearchSizes are the typical (~100 slots) and large (~5,000 slots, every include) searches.
var SearchSizes = []SearchSize{
	{Name: "100 slots", P50: time.Millisecond, P99: 5 * time.Millisecond, RatePG: 1800, RateSQLite: 1500, MinRatio: 0.85},
	{Name: "5000 slots", Large: true, P50: 18 * time.Millisecond},
}

// window is one search: a practice and a period, as URL values and as the bounds the SQL uses.
type window struct {
	practice   *Practice
	start, end string // search parameter values, prefix included
	from, to   int64  // unix seconds: slots with start >= from and end <= to
}

// pickWindow chooses a random practice and period of the given size.
func pickWindow(ds *Dataset, future []time.Time, large bool, rng *rand.Rand) window {
	p := &ds.Practices[rng.Intn(len(ds.Practices))]
	if large {
		j := rng.Intn(len(future) - 7)
		first, last := future[j], future[j+7]
		return window{practice: p, start: "ge" + scheduling.FormatDate(first), end: "le" + scheduling.FormatDate(last),
			from: first.Unix(), to: scheduling.AddDaysLocal(last, 1).Unix()}
	}
	day := future[rng.Intn(len(future))]
	off := rng.Intn(slotsPerDay-4) * slotMinutes
	start := scheduling.AtLocal(day, dayStartHour, dayStartMin).Add(time.Duration(off) * time.Minute)
	end := start.Add(5 * slotMinutes * time.Minute)
	return window{practice: p, start: "ge" + scheduling.FormatLocal(start), end: "le" + scheduling.FormatLocal(end), from: start.Unix(), to: end.Unix()}
}

// SearchURL is the search-for-free-slots URL of a window with every include.
func (w window) url(base string) string {
	q := url.Values{}
	q.Set("start", w.start)
	q.Set("end", w.end)
	q.Set("status", "free")
	q["_include"] = []string{"Slot:schedule"}
	q["_include:recurse"] = []string{"Schedule:actor:Practitioner", "Schedule:actor:Location"}
	q["searchFilter"] = []string{gpconnect.SystemOrganisationType + "|urgent-care", gpconnect.SystemODSOrganisation + "|GPCA0001"}
	return base + "/" + w.practice.ODS + "/STU3/1/gpconnect/Slot?" + q.Encode()
}

// rangeSQL is the bare range query the slot search starts with (the store's
// own condition), read through database/sql with plain Scan.
const rangeSQL = `SELECT id, schedule_id, start_at, end_at, channel, service_type, access_profile_id, version FROM slots
	WHERE ` + store.FreeSlotsWhere + ` ORDER BY start_at, id`

// RunSearch measures issue 3's slot search on one target: for each size,
// the search over loopback HTTP at c=1 and c=32, and in the same run its
// floors: the bare range query through the same driver and pool, and a
// static response of the same bytes over the same HTTP stack (gin, net/http).
func RunSearch(ctx context.Context, st *store.Store, target string, ds *Dataset, opt Options) ([]Row, []string, error) {
	now := time.Now()
	future := ds.FutureDays(now)
	if len(future) < 9 {
		return nil, nil, fmt.Errorf("bench: the data set has %d future days left; the large search needs 9: use a fresh database", len(future))
	}
	prov, lb, err := providerServer(st)
	if err != nil {
		return nil, nil, err
	}
	defer func() { lb.Close(); prov.Close() }()
	client := NewClient(32)
	var toks Tokens
	bearer, err := toks.Bearer(gpconnect.SearchSlot.Scope())
	if err != nil {
		return nil, nil, err
	}
	newReq := func(u string, asid string) *http.Request {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		SetGPConnectHeaders(req.Header, asid, "bench-search", gpconnect.SearchSlot, bearer)
		return req
	}
	q := st.DB().Rebind(rangeSQL)
	var rows []Row
	var notes []string
	for _, size := range SearchSizes {
		// One real response of this size is the static floor's body.
		w := pickWindow(ds, future, size.Large, rand.New(rand.NewSource(42)))
		sample, err := do(client, newReq(w.url(lb.URL), w.practice.ASID), http.StatusOK, nil)
		if err != nil {
			return nil, nil, fmt.Errorf("bench: sample search: %w", err)
		}
		static := gin.New()
		static.GET("/static", func(c *gin.Context) {
			h := c.Writer.Header()
			h.Set("Content-Type", gpconnect.MediaJSON+";charset=utf-8")
			h.Set("Cache-Control", "no-store")
			c.Writer.WriteHeader(http.StatusOK)
			c.Writer.Write(sample)
		})
		slb, err := Serve(static)
		if err != nil {
			return nil, nil, err
		}
		bufs := make([][]byte, 64)
		searchOp := func(ctx context.Context, wk int, rng *rand.Rand) error {
			w := pickWindow(ds, future, size.Large, rng)
			req := newReq(w.url(lb.URL), w.practice.ASID)
			var err error
			bufs[wk], err = do(client, req.WithContext(ctx), http.StatusOK, bufs[wk])
			return err
		}
		staticOp := func(ctx context.Context, wk int, rng *rand.Rand) error {
			w := pickWindow(ds, future, size.Large, rng)
			_, query, _ := strings.Cut(w.url(""), "?")
			req := newReq(slb.URL+"/static?"+query, w.practice.ASID)
			var err error
			bufs[wk], err = do(client, req.WithContext(ctx), http.StatusOK, bufs[wk])
			return err
		}
		sqlOp := func(ctx context.Context, wk int, rng *rand.Rand) error {
			w := pickWindow(ds, future, size.Large, rng)
			from := max(w.from, time.Now().Unix()+1)
			r, err := st.DB().QueryContext(ctx, q, w.practice.ID, from, w.to, w.to, w.practice.ID)
			if err != nil {
				return err
			}
			defer r.Close()
			var id, sid, s, e, ap, ver int64
			var ch, stype string
			for r.Next() {
				if err := r.Scan(&id, &sid, &s, &e, &ch, &stype, &ap, &ver); err != nil {
					return err
				}
			}
			return r.Err()
		}
		res := map[string]LoadResult{}
		for _, c := range []int{1, 32} {
			for _, k := range []struct {
				name string
				op   Op
			}{{"sql", sqlOp}, {"static", staticOp}, {"search", searchOp}} {
				opt.logf("%s search %s %s c=%d", target, size.Name, k.name, c)
				r := Closed(ctx, c, opt.Warmup, opt.Duration, 0, k.op)
				if r.Errors > 0 {
					notes = append(notes, fmt.Sprintf("%s search %s %s c=%d: %d errors, first: %v", target, size.Name, k.name, c, r.Errors, r.FirstErr))
				}
				res[fmt.Sprintf("%s/%d", k.name, c)] = r
			}
		}
		slb.Close()
		for _, c := range []int{1, 32} {
			sq, sr, hs := res[fmt.Sprintf("sql/%d", c)], res[fmt.Sprintf("static/%d", c)], res[fmt.Sprintf("search/%d", c)]
			cs := fmt.Sprintf("%s c=%d", size.Name, c)
			var p50Goal, p99Goal time.Duration
			if c == 1 {
				p50Goal, p99Goal = size.P50, size.P99
			}
			rows = append(rows,
				Latency("search", target, cs, "p50", hs.P(0.5), sq.P(0.5)+sr.P(0.5), p50Goal, "sql+static"),
				Latency("search", target, cs, "p99", hs.P(0.99), sq.P(0.99)+sr.P(0.99), p99Goal, "sql+static"))
			var minRate, minRatio float64
			if c == 32 {
				minRate, minRatio = size.RateSQLite, size.MinRatio
				if st.Engine() == store.EnginePostgres {
					minRate = size.RatePG
				}
			}
			rows = append(rows, Rate("search", target, cs, "req/s", hs.Rate(), Combined(sq.Rate(), sr.Rate()), minRate, minRatio, "sql+static"))
		}
		// Allocations per request in the handler alone (no client, no network), and the static handler as its floor.
		allocs, err := handlerAllocs(prov.Handler(), func(rng *rand.Rand) *http.Request {
			w := pickWindow(ds, future, size.Large, rng)
			return newReq(w.url(""), w.practice.ASID)
		})
		if err != nil {
			return nil, nil, fmt.Errorf("bench: search allocations: %w", err)
		}
		staticAllocs, err := handlerAllocs(static, func(rng *rand.Rand) *http.Request {
			return newReq("/static", "x")
		})
		if err != nil {
			return nil, nil, fmt.Errorf("bench: static allocations: %w", err)
		}
		rows = append(rows, Row{Bench: "search", Target: target, Case: size.Name, Metric: "allocs/req", Value: allocs,
			Floor: staticAllocs, FloorOf: "static handler"})
		rows = append(rows, Row{Bench: "search", Target: target, Case: size.Name, Metric: "bytes/resp", Value: float64(len(sample)), Unit: "B"})
	}
	if opt.Ramp {
		rampClient := NewClient(rampInFlight)
		op := func(ctx context.Context, wk int, rng *rand.Rand) error {
			w := pickWindow(ds, future, false, rng)
			req := newReq(w.url(lb.URL), w.practice.ASID)
			_, err := do(rampClient, req.WithContext(ctx), http.StatusOK, nil)
			return err
		}
		rows = append(rows, rampRow(ctx, "search", target, "100 slots open-loop", 3*time.Second, opt, op))
	}
	return rows, notes, nil
}

// handlerAllocs is the heap allocations per request of serving h directly
// (no network): the server's own cost per request. The requests are served
// once before they are counted, so that the figure is a search's own and
// does not depend on how many of the practices' reference cache entries
// happened to have expired (a practice's first search reads all its
// schedules: 600 rows on the bench data). Every request must be answered
// 200: an error response is cheaper than a search and would be counted as
// one.
func handlerAllocs(h http.Handler, mk func(rng *rand.Rand) *http.Request) (float64, error) {
	rng := rand.New(rand.NewSource(7))
	const n = 50
	reqs := make([]*http.Request, n)
	for i := range reqs {
		reqs[i] = mk(rng)
	}
	if err := serveOK(h, reqs[0]); err != nil {
		return 0, err
	}
	dw := &discardWriter{}
	for _, r := range reqs {
		dw.reset()
		h.ServeHTTP(dw, r)
		if dw.Status() != http.StatusOK {
			return 0, notOK(h, r, dw.Status())
		}
	}
	runtime.GC()
	bad, badStatus := -1, 0
	m0 := mallocs()
	for i, r := range reqs {
		dw.reset()
		h.ServeHTTP(dw, r)
		if st := dw.Status(); st != http.StatusOK && bad < 0 {
			bad, badStatus = i, st
		}
	}
	allocs := float64(mallocs()-m0) / n
	if bad >= 0 {
		return 0, notOK(h, reqs[bad], badStatus)
	}
	return allocs, nil
}

// serveOK serves r with a recorder and reports a status other than 200.
func serveOK(h http.Handler, r *http.Request) error {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK {
		return fmt.Errorf("%s %s: status %d, want 200: %.300s", r.Method, r.URL, rec.Code, rec.Body.Bytes())
	}
	return nil
}

// notOK describes a request a discardWriter saw answered with status (not
// 200), serving it once more with a recorder for the body.
func notOK(h http.Handler, r *http.Request, status int) error {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return fmt.Errorf("%s %s: status %d, want 200: %.300s", r.Method, r.URL, status, rec.Body.Bytes())
}

// discardWriter is a ResponseWriter that keeps nothing but the status code,
// so the writer itself adds no allocations to the count: one is used by
// pointer for every request (a pointer in an interface needs no
// allocation), and reset gives each request a new header map, as a server
// does for each response.
type discardWriter struct {
	h      http.Header
	status int
}

// reset readies the writer for the next request.
func (d *discardWriter) reset() { d.h, d.status = http.Header{}, 0 }

// Status is the status code the handler sent: the first WriteHeader, or
// 200 once it wrote a body or if it sent nothing (as net/http does).
func (d *discardWriter) Status() int {
	if d.status == 0 {
		return http.StatusOK
	}
	return d.status
}

func (d *discardWriter) Header() http.Header { return d.h }

func (d *discardWriter) Write(b []byte) (int, error) {
	if d.status == 0 {
		d.status = http.StatusOK
	}
	return len(b), nil
}

func (d *discardWriter) WriteHeader(code int) {
	if d.status == 0 {
		d.status = code
	}
}

// rampInFlight bounds the requests outstanding in a ramp (and its client's connections).
const rampInFlight = 512

// rampRow runs the open-loop ramp and reports the highest rate whose p99 held under limit.
func rampRow(ctx context.Context, bench, target, cs string, limit time.Duration, opt Options, op Op) Row {
	opt.logf("%s %s ramp (p99 limit %s)", target, bench, limit)
	steps, rate := Ramp(ctx, RampConfig{Start: 50, Factor: 1.25, Max: 50000, Step: opt.RampStep, Limit: limit, MaxInFlight: rampInFlight}, op)
	last := ""
	if n := len(steps); n > 0 {
		s := steps[n-1]
		last = fmt.Sprintf("stopped at %.0f/s: %s", s.Rate, s.Why)
		if s.OK {
			last = fmt.Sprintf("held up to the ramp's maximum %.0f/s", s.Rate)
		}
	}
	return Row{Bench: bench, Target: target, Case: cs, Metric: "ramp rate", Value: rate, Unit: "/s", Goal: "p99 <= " + limit.String() + "; " + last}
}
