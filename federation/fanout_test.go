package federation_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/federation"
	"github.com/slotbridge/slotbridge/federation/sim"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

func TestSearchAllGood(t *testing.T) {
	_, hub, _, _ := newFederation(t, 5, federation.Config{})
	start, end := tomorrow()
	res, err := hub.Search(context.Background(), "h", federation.Query{Start: start, End: end})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failures) != 0 {
		t.Fatalf("failures: %v", res.Failures)
	}
	if len(res.Practices) != 5 {
		t.Fatalf("%d practices reported, want 5", len(res.Practices))
	}
	for _, p := range res.Practices {
		if p.Slots < 20 || p.Slots > 100 {
			t.Errorf("%s: %d slots, want 20-100", p.ODS, p.Slots)
		}
	}
	t.Logf("%d slots in %v; first %+v", len(res.Slots), res.Elapsed, res.Slots[0])
}

// TestLongRangeSplit: a 20-day search is two calls per practice (no
// provider refuses it as over 14 days), and the slots of both windows merge
// in start order with none twice.
func TestLongRangeSplit(t *testing.T) {
	ctx := context.Background()
	_, hub, _, _ := newFederation(t, 2, federation.Config{})
	start, _ := tomorrow()
	start = start.Add(-24 * time.Hour) // today 00:00: the sim has today and the next two days
	res, err := hub.Search(ctx, "h", federation.Query{Start: start, End: start.Add(20 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failures) != 0 {
		t.Fatalf("failures: %v", res.Failures)
	}
	one, err := hub.Search(ctx, "h", federation.Query{Start: start, End: start.Add(14 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Practices) != 2 {
		t.Fatalf("%d practices reported, want 2", len(res.Practices))
	}
	for _, p := range res.Practices {
		if p.Calls != 2 {
			t.Errorf("%s: %d calls, want 2", p.ODS, p.Calls)
		}
	}
	seen := map[string]bool{}
	for i, sl := range res.Slots {
		if seen[sl.Ref()] {
			t.Fatalf("%s twice", sl.Ref())
		}
		seen[sl.Ref()] = true
		if i > 0 && sl.Start.Before(res.Slots[i-1].Start) {
			t.Fatalf("out of order at %d", i)
		}
	}
	if len(res.Slots) != len(one.Slots) || len(res.Slots) == 0 {
		t.Fatalf("20 days gave %d slots, 14 days %d (the sim has 3 days)", len(res.Slots), len(one.Slots))
	}
}

// TestLongRangeKeepsBoundarySlots: a slot that crosses the boundary between
// two 14-day windows (the range starts at an odd minute) is still found:
// providers return only slots wholly inside a window, so windows overlap.
func TestLongRangeKeepsBoundarySlots(t *testing.T) {
	ctx := context.Background()
	_, hub, _, _ := newFederation(t, 2, federation.Config{})
	start, _ := tomorrow()
	day, err := hub.Search(ctx, "h", federation.Query{Start: start, End: start.Add(24 * time.Hour)})
	if err != nil || len(day.Slots) == 0 {
		t.Fatalf("tomorrow: %v, %d slots", err, len(day.Slots))
	}
	x := day.Slots[len(day.Slots)/2]
	boundary := x.Start.Add(time.Minute) // inside x: the first window ends here
	res, err := hub.Search(ctx, "h", federation.Query{Start: scheduling.AddDaysLocal(boundary, -federation.MaxWindowDays), End: boundary.Add(24 * time.Hour)})
	if err != nil || len(res.Failures) != 0 {
		t.Fatalf("long search: %v, failures %v", err, res.Failures)
	}
	for _, sl := range res.Slots {
		if sl.Ref() == x.Ref() {
			return
		}
	}
	t.Fatalf("slot %s (%s-%s) across the window boundary %s is missing from the long search", x.Ref(), x.Start, x.End, boundary)
}

// peakTransport counts the requests in flight through it and keeps the peak.
type peakTransport struct {
	rt        http.RoundTripper
	now, peak atomic.Int64
}

func (p *peakTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	n := p.now.Add(1)
	defer p.now.Add(-1)
	for {
		old := p.peak.Load()
		if n <= old || p.peak.CompareAndSwap(old, n) {
			break
		}
	}
	resp, err := p.rt.RoundTrip(r)
	if err == nil {
		// Read the body here, so that a call counts until its answer is in.
		b, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(b))
		err = rerr
	}
	return resp, err
}

// TestMaxInFlightAcrossFanOuts: fan-outs running together share the Hub's
// bound on calls in flight (each alone would use up to Concurrency), every
// practice still answers when there is time, and a practice that finds no
// room before the deadline is reported as a timeout, not lost.
func TestMaxInFlightAcrossFanOuts(t *testing.T) {
	s, hub, _, hc := newFederation(t, 8, federation.Config{Concurrency: 8, MaxInFlight: 3, Deadline: 5 * time.Second})
	for _, e := range s.Endpoints {
		s.Injector.Set(e.ODS, sim.Faults{Latency: 40 * time.Millisecond})
	}
	pt := &peakTransport{rt: hc.Transport}
	hub.Client = federation.NewGPConnect(testIdentity(), &http.Client{Transport: pt}, "")
	start, end := tomorrow()
	var wg sync.WaitGroup
	results := make([]*federation.Result, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := hub.Search(context.Background(), "h", federation.Query{Start: start, End: end})
			if err != nil {
				t.Error(err)
				return
			}
			results[i] = res
		}()
	}
	wg.Wait()
	if got := pt.peak.Load(); got > 3 || got < 2 {
		t.Fatalf("peak calls in flight %d across 4 fan-outs of 8 practices, want at most MaxInFlight=3 (and more than 1)", got)
	}
	for i, res := range results {
		if res == nil {
			continue
		}
		if len(res.Failures) != 0 || len(res.Practices) != 8 {
			t.Errorf("fan-out %d: %d practices, failures %v", i, len(res.Practices), res.Failures)
		}
	}

	// With no time to wait for room, the waiting practices are timeouts.
	short := &federation.Hub{Dir: hub.Dir, Client: hub.Client, Breaker: &federation.Breaker{},
		Config: federation.Config{Concurrency: 8, MaxInFlight: 1, Deadline: 100 * time.Millisecond, PracticeTimeout: time.Second}}
	res, err := short.Search(context.Background(), "h", federation.Query{Start: start, End: end})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Practices) != 8 || len(res.Failures) < 5 {
		t.Fatalf("one call at a time, 40 ms each, 100 ms deadline: %d practices, %d failures, want 8 and most failed", len(res.Practices), len(res.Failures))
	}
	for _, f := range res.Failures {
		if f.Reason != federation.ReasonTimeout {
			t.Errorf("%s: %s (%s), want a timeout", f.ODS, f.Reason, f.Detail)
		}
	}
}

// TestHubHTTPClientHoldsMaxInFlight: the pool a Hub's calls go through (one
// host, behind an SSP) has room for every call MaxInFlight lets through.
func TestHubHTTPClientHoldsMaxInFlight(t *testing.T) {
	for _, c := range []struct {
		cfg  federation.Config
		want int // MaxInFlight after defaults
	}{
		{federation.Config{}, 512},
		{federation.Config{Concurrency: 8}, 32},
		{federation.Config{Concurrency: 8, MaxInFlight: 101}, 101},
		{federation.Config{Concurrency: 64, MaxInFlight: 16}, 16},
	} {
		tr, ok := federation.NewHubHTTPClient(c.cfg).Transport.(*http.Transport)
		if !ok {
			t.Fatalf("transport is %T", federation.NewHubHTTPClient(c.cfg).Transport)
		}
		if tr.MaxConnsPerHost < c.want {
			t.Errorf("%+v: %d connections per host, want at least %d", c.cfg, tr.MaxConnsPerHost, c.want)
		}
	}
}
