package bench

import (
	"context"
	"fmt"
	"math/rand"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Op is one request of a load test. worker is the caller's index (0..n-1) and
// rng its private random source, so ops can pick random inputs without locks.
type Op func(ctx context.Context, worker int, rng *rand.Rand) error

// LoadResult is what one load run measured.
type LoadResult struct {
	// Ops counts the requests completed in the measured period, Errors those that failed.
	Ops, Errors int64
	// FirstErr is the first error seen, to show what went wrong.
	FirstErr error
	// Elapsed is the measured period (warm-up excluded).
	Elapsed time.Duration
	// Latency holds every measured request, failed ones included.
	Latency *Histogram
}

// Rate is completed requests per second.
func (r *LoadResult) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Ops) / r.Elapsed.Seconds()
}

// P is the latency quantile q (0.5 for p50).
func (r *LoadResult) P(q float64) time.Duration { return r.Latency.Quantile(q) }

type errs struct {
	mu    sync.Mutex
	first error
	n     atomic.Int64
}

func (e *errs) add(err error) {
	if e.n.Add(1) == 1 {
		e.mu.Lock()
		e.first = err
		e.mu.Unlock()
	}
}

// mallocs is the process's heap allocations so far.
func mallocs() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.Mallocs
}

// Closed runs a closed-loop load: clients workers each issue op back to back
// for warmup (not measured) and then for dur (measured), or until maxOps
// measured requests (0 = no limit) or ctx ends. Requests started in the
// measured period are waited for and counted, and the period ends with the last.
func Closed(ctx context.Context, clients int, warmup, dur time.Duration, maxOps int64, op Op) LoadResult {
	if clients < 1 {
		clients = 1
	}
	var recording, stop atomic.Bool
	var done atomic.Int64
	var e errs
	hists := make([]*Histogram, clients)
	var wg sync.WaitGroup
	for w := 0; w < clients; w++ {
		hists[w] = NewHistogram()
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(w)*7919 + time.Now().UnixNano()))
			h := hists[w]
			for !stop.Load() && ctx.Err() == nil {
				rec := recording.Load()
				t0 := time.Now()
				err := op(ctx, w, rng)
				d := time.Since(t0)
				if !rec {
					continue
				}
				// A request started in the measured period counts even when it
				// ends after it (the period then lasts until it ends), so slow
				// requests are never left out of the figures.
				h.Record(d)
				if err != nil {
					e.add(err)
				}
				if n := done.Add(1); maxOps > 0 && n >= maxOps {
					stop.Store(true)
				}
			}
		}(w)
	}
	sleepCtx(ctx, warmup)
	t0 := time.Now()
	recording.Store(true)
	timer := time.NewTimer(dur)
	tick := time.NewTicker(10 * time.Millisecond)
	timeUp := false
wait:
	for {
		select {
		case <-ctx.Done():
			break wait
		case <-timer.C:
			// A period shorter than one operation would measure nothing:
			// it lasts until at least one operation started in it ends.
			if done.Load() > 0 {
				break wait
			}
			timeUp = true
		case <-tick.C:
			if stop.Load() || timeUp && done.Load() > 0 {
				break wait
			}
		}
	}
	tick.Stop()
	timer.Stop()
	stop.Store(true)
	wg.Wait()
	return collect(hists, &e, done.Load(), time.Since(t0))
}

func collect(hists []*Histogram, e *errs, done int64, elapsed time.Duration) LoadResult {
	all := NewHistogram()
	for _, h := range hists {
		all.Merge(h)
	}
	e.mu.Lock()
	first := e.first
	e.mu.Unlock()
	return LoadResult{Ops: done - e.n.Load(), Errors: e.n.Load(), FirstErr: first, Elapsed: elapsed, Latency: all}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// Open runs an open-loop load at a fixed arrival rate (requests per second)
// for dur, with at most maxInFlight requests outstanding. Latency counts from
// each request's scheduled arrival, not from when a worker got to it, so a
// server that falls behind shows its queueing delay (no coordinated omission).
func Open(ctx context.Context, rate float64, dur time.Duration, maxInFlight int, op Op) LoadResult {
	if maxInFlight < 1 {
		maxInFlight = 1
	}
	interval := time.Duration(float64(time.Second) / rate)
	total := int64(dur / interval)
	if total < 1 {
		total = 1
	}
	arrivals := make(chan time.Time, maxInFlight*4)
	var e errs
	var done atomic.Int64
	hists := make([]*Histogram, maxInFlight)
	var wg sync.WaitGroup
	for w := 0; w < maxInFlight; w++ {
		hists[w] = NewHistogram()
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(w)*104729 + time.Now().UnixNano()))
			for at := range arrivals {
				err := op(ctx, w, rng)
				hists[w].Record(time.Since(at))
				if err != nil {
					e.add(err)
				}
				done.Add(1)
			}
		}(w)
	}
	t0 := time.Now()
	for i := int64(0); i < total && ctx.Err() == nil; i++ {
		at := t0.Add(time.Duration(i) * interval)
		if d := time.Until(at); d > 0 {
			sleepCtx(ctx, d)
		}
		arrivals <- at
	}
	close(arrivals)
	wg.Wait()
	elapsed := time.Since(t0)
	return collect(hists, &e, done.Load(), elapsed)
}

// RampStep is one rate tried by Ramp.
type RampStep struct {
	Rate   float64    `json:"rate"`
	Result LoadResult `json:"-"`
	P99    float64    `json:"p99_ms"`
	OK     bool       `json:"ok"`
	// Why says what failed at this rate ("" when it held).
	Why string `json:"why,omitempty"`
}

// RampConfig says how Ramp raises the rate.
type RampConfig struct {
	// Start is the first rate tried (req/s); each step multiplies it by Factor (default 1.25).
	Start, Factor float64
	// Max stops the ramp at this rate even when the limit is never crossed.
	Max float64
	// Step is how long each rate is held.
	Step time.Duration
	// Limit is the p99 latency a rate must stay under.
	Limit time.Duration
	// MaxInFlight bounds outstanding requests (default 256).
	MaxInFlight int
}

// Ramp raises an open-loop arrival rate step by step until p99 crosses
// cfg.Limit (or more than 1% of requests fail, or the rate is not achieved)
// and returns every step and the highest rate that held.
func Ramp(ctx context.Context, cfg RampConfig, op Op) (steps []RampStep, sustained float64) {
	if cfg.Factor <= 1 {
		cfg.Factor = 1.25
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 256
	}
	for rate := cfg.Start; rate <= cfg.Max && ctx.Err() == nil; rate *= cfg.Factor {
		r := Open(ctx, rate, cfg.Step, cfg.MaxInFlight, op)
		p99 := r.P(0.99)
		why := ""
		switch {
		case p99 > cfg.Limit:
			why = fmt.Sprintf("p99 %.1f ms over the limit", ms(p99))
		case float64(r.Errors) > 0.01*float64(r.Ops+r.Errors):
			why = fmt.Sprintf("%d of %d requests failed", r.Errors, r.Ops+r.Errors)
		case r.Rate() < 0.9*rate:
			why = fmt.Sprintf("only %.0f/s achieved (p99 %.1f ms)", r.Rate(), ms(p99))
		}
		steps = append(steps, RampStep{Rate: rate, Result: r, P99: ms(p99), OK: why == "", Why: why})
		if why != "" {
			break
		}
		sustained = rate
	}
	return steps, sustained
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
