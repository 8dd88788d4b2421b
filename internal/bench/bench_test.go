package bench

import (
	"context"
	"encoding/json"
	"io"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/store"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// testData is a small data set of the generator's shape: two practices, two weeks.
var testData = DataConfig{Tag: "T", Practices: 2, Clinicians: 20, Weeks: 2, Patients: 5}

func genTest(tb testing.TB, e storetest.Engine) (*store.Store, *Dataset) {
	tb.Helper()
	st := storetest.Open(tb, e)
	ds, err := Generate(context.Background(), st, testData, time.Now(), io.Discard)
	if err != nil {
		tb.Fatal(err)
	}
	return st, ds
}

// searchOnce runs one search over HTTP and returns the slots in the Bundle.
func searchOnce(tb testing.TB, c *http.Client, base string, w window, bearer string) int {
	req, _ := http.NewRequest(http.MethodGet, w.url(base), nil)
	SetGPConnectHeaders(req.Header, w.practice.ASID, "test", gpconnect.SearchSlot, bearer)
	body, err := do(c, req, http.StatusOK, nil)
	if err != nil {
		tb.Fatal(err)
	}
	var b struct {
		Entry []struct {
			Resource struct {
				ResourceType string `json:"resourceType"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		tb.Fatal(err)
	}
	n := 0
	for _, e := range b.Entry {
		if e.Resource.ResourceType == "Slot" {
			n++
		}
	}
	return n
}

// TestGeneratedDataShape: the generator makes the promised slots, a second
// Generate finds the data instead of adding to it, and the two search sizes
// return 100 and 8 days' worth of slots through the real provider.
func TestGeneratedDataShape(t *testing.T) {
	for _, e := range storetest.Engines(false) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			st, ds := genTest(t, e)
			want := testData.Practices * testData.Clinicians * len(ds.Days) * slotsPerDay
			count := func() int {
				var n int
				if err := st.DB().GetContext(ctx, &n, `SELECT COUNT(*) FROM slots`); err != nil {
					t.Fatal(err)
				}
				return n
			}
			if got := count(); got != want || len(ds.Days) != 10 {
				t.Fatalf("slots = %d over %d days, want %d over 10", got, len(ds.Days), want)
			}
			again, err := Generate(ctx, st, testData, time.Now(), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if got := count(); got != want || len(again.Practices) != len(ds.Practices) || again.Practices[1].ID != ds.Practices[1].ID {
				t.Fatalf("second Generate changed the data: %d slots", got)
			}
			if len(ds.Practices[0].Patients) != testData.Patients {
				t.Fatalf("patients = %d", len(ds.Practices[0].Patients))
			}
			prov, lb, err := providerServer(st)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { lb.Close(); prov.Close() }()
			var toks Tokens
			bearer, _ := toks.Bearer(gpconnect.SearchSlot.Scope())
			c := NewClient(1)
			rng := rand.New(rand.NewSource(1))
			future := ds.FutureDays(time.Now())
			for i := 0; i < 5; i++ {
				if n := searchOnce(t, c, lb.URL, pickWindow(ds, future, false, rng), bearer); n != 100 {
					t.Errorf("typical search: %d slots, want 100", n)
				}
			}
			if n := searchOnce(t, c, lb.URL, pickWindow(ds, future, true, rng), bearer); n != 8*testData.Clinicians*slotsPerDay {
				t.Errorf("large search: %d slots, want %d", n, 8*testData.Clinicians*slotsPerDay)
			}
		})
	}
}

// TestBookRun: a short booking run over HTTP and raw books only distinct
// slots, with no errors, and the invariants hold afterwards.
func TestBookRun(t *testing.T) {
	for _, e := range storetest.Engines(false) {
		t.Run(e.Name, func(t *testing.T) {
			st, ds := genTest(t, e)
			rows, notes, err := RunBook(context.Background(), st, e.Name, ds, Options{Duration: 300 * time.Millisecond}, 5000)
			if err != nil {
				t.Fatal(err)
			}
			if len(notes) > 0 {
				t.Fatalf("errors during the run: %v", notes)
			}
			last := rows[len(rows)-1]
			if last.Metric != "invariants" || last.Pass == nil || !*last.Pass {
				t.Fatalf("invariants: %+v", last)
			}
			if rows[0].Value <= 0 || rows[0].Floor <= 0 {
				t.Fatalf("no bookings measured: %+v", rows[0])
			}
			// Release cancels every booking of the run, and the data stays consistent.
			n, err := Release(context.Background(), st, ds)
			if err != nil || n == 0 {
				t.Fatalf("Release: %d cancelled, %v", n, err)
			}
			if c, err := st.CheckBook(context.Background()); err != nil || !c.OK() || c.ActiveBookings != 0 {
				t.Fatalf("after Release: %s %v", c, err)
			}
			// The check must catch a busy slot that no booking holds.
			if _, err := st.DB().Exec(`UPDATE slots SET status = 'busy' WHERE id = (SELECT MIN(id) FROM slots WHERE status = 'free')`); err != nil {
				t.Fatal(err)
			}
			if c, err := st.CheckBook(context.Background()); err != nil || c.OK() || c.BusyWithoutBooking != 1 {
				t.Fatalf("CheckBook after breaking a slot: %s %v", c, err)
			}
		})
	}
}

// BenchmarkSearchHTTP is issue 3's search over loopback HTTP (provider,
// audit on, every include) with a random practice and window per request.
func BenchmarkSearchHTTP(b *testing.B) {
	for _, e := range storetest.Engines(true) {
		b.Run(e.Name, func(b *testing.B) {
			st, ds := genTest(b, e)
			prov, lb, err := providerServer(st)
			if err != nil {
				b.Fatal(err)
			}
			defer func() { lb.Close(); prov.Close() }()
			var toks Tokens
			bearer, _ := toks.Bearer(gpconnect.SearchSlot.Scope())
			c := NewClient(1)
			future := ds.FutureDays(time.Now())
			for _, size := range SearchSizes {
				b.Run(size.Name, func(b *testing.B) {
					rng := rand.New(rand.NewSource(1))
					var buf []byte
					b.ReportAllocs()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						w := pickWindow(ds, future, size.Large, rng)
						req, _ := http.NewRequest(http.MethodGet, w.url(lb.URL), nil)
						SetGPConnectHeaders(req.Header, w.practice.ASID, "bench", gpconnect.SearchSlot, bearer)
						if buf, err = do(c, req, http.StatusOK, buf); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// BenchmarkSearchHandler is the provider's search handler alone (no
// network): the server-side CPU and allocations per request. Every request
// must be answered 200, or the figures would be an error response's.
func BenchmarkSearchHandler(b *testing.B) {
	for _, e := range storetest.Engines(true) {
		b.Run(e.Name, func(b *testing.B) {
			st, ds := genTest(b, e)
			prov, lb, err := providerServer(st)
			if err != nil {
				b.Fatal(err)
			}
			defer func() { lb.Close(); prov.Close() }()
			h := prov.Handler()
			var toks Tokens
			bearer, _ := toks.Bearer(gpconnect.SearchSlot.Scope())
			future := ds.FutureDays(time.Now())
			for _, size := range SearchSizes {
				b.Run(size.Name, func(b *testing.B) {
					rng := rand.New(rand.NewSource(1))
					dw := &discardWriter{}
					b.ReportAllocs()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						w := pickWindow(ds, future, size.Large, rng)
						req, _ := http.NewRequest(http.MethodGet, w.url(""), nil)
						SetGPConnectHeaders(req.Header, w.practice.ASID, "bench", gpconnect.SearchSlot, bearer)
						dw.reset()
						h.ServeHTTP(dw, req)
						if st := dw.Status(); st != http.StatusOK {
							b.StopTimer()
							b.Fatal(notOK(h, req, st))
						}
					}
				})
			}
		})
	}
}

// TestHandlerAllocsWants200: the allocation count refuses a handler that
// does not answer 200 (an error response would be counted as a search),
// whether the first request fails or one in the counted pass does; the
// writer sees the status whether the handler sets it or only writes a body.
func TestHandlerAllocsWants200(t *testing.T) {
	mk := func(*rand.Rand) *http.Request { return httptest.NewRequest(http.MethodGet, "/x", nil) }
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	if _, err := handlerAllocs(ok, mk); err != nil {
		t.Errorf("a handler answering 200: %v", err)
	}
	for _, c := range []struct {
		name string
		h    http.Handler
	}{
		{"always 401", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte("no"))
		})},
		{"one 500 in the counted pass", func() http.Handler {
			var calls int
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls++
				if calls == 1+50+7 { // the warm-up request, the first pass, then 7 into the count
					w.WriteHeader(http.StatusInternalServerError)
				}
				w.Write([]byte("x"))
			})
		}()},
	} {
		if _, err := handlerAllocs(c.h, mk); err == nil || !strings.Contains(err.Error(), "status") {
			t.Errorf("%s: err = %v, want a status error", c.name, err)
		}
	}
	dw := &discardWriter{}
	dw.reset()
	dw.Write([]byte("body"))
	dw.WriteHeader(http.StatusNotFound) // too late: the body already sent 200
	if dw.Status() != http.StatusOK {
		t.Errorf("status after a body = %d, want 200", dw.Status())
	}
	dw.reset()
	dw.WriteHeader(http.StatusNotFound)
	if dw.Status() != http.StatusNotFound {
		t.Errorf("status = %d, want 404", dw.Status())
	}
	// The writer adds nothing beyond the header map reset gives each request.
	if n := testing.AllocsPerRun(100, func() {
		dw.reset()
		dw.WriteHeader(http.StatusOK)
		dw.Write([]byte("body"))
		_ = dw.Status()
	}); n > 1 {
		t.Errorf("discardWriter allocates %.0f times per request, want at most the header map's 1", n)
	}
}
