// Package sim runs a simulated federation on loopback: N real Slotbridge
// providers (one shared store holding N practices behind one provider
// handler), each at its own service root with its own ODS code and ASID,
// behind a fault-injecting middleware per practice (latency, 5xx, hangs,
// garbage and wrong content types) so that hub code meets the failures it
// must survive.
package sim

import (
	"encoding/json"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Mode is a fixed misbehaviour of a practice, applied to every request.
type Mode string

// Modes.
const (
	// ModeNormal answers through the real provider (after any latency and random faults).
	ModeNormal Mode = ""
	// ModeGarbage answers 200 application/fhir+json with a body that is not JSON.
	ModeGarbage Mode = "garbage"
	// ModeHTML answers 200 text/html, as a misconfigured proxy or login page would.
	ModeHTML Mode = "html"
	// ModeError answers 500 with no OperationOutcome.
	ModeError Mode = "error"
	// ModeHang never answers until the client gives up.
	ModeHang Mode = "hang"
	// ModeWrongBundle answers 200 with a FHIR resource that is not a searchset Bundle.
	ModeWrongBundle Mode = "wrong-bundle"
)

// Faults is how one practice misbehaves.
type Faults struct {
	// Latency is the median added delay.
	Latency time.Duration
	// Jitter is "none" (fixed Latency), "lognormal" (median Latency, Sigma) or "uniform" (0 to 2×Latency).
	Jitter string
	// Sigma is the lognormal shape (default 0.5).
	Sigma float64
	// Fail is the fraction of requests answered 502, 503 or 504.
	Fail float64
	// Hang is the fraction of requests held until the client gives up.
	Hang float64
	// Mode is a fixed misbehaviour applied to every request.
	Mode Mode
}

// delay draws one latency.
func (f *Faults) delay(r *rand.Rand) time.Duration {
	if f.Latency <= 0 {
		return 0
	}
	switch f.Jitter {
	case "lognormal":
		s := f.Sigma
		if s <= 0 {
			s = 0.5
		}
		return time.Duration(float64(f.Latency) * math.Exp(s*r.NormFloat64()))
	case "uniform":
		return time.Duration(r.Float64() * 2 * float64(f.Latency))
	}
	return f.Latency
}

// Injector wraps a provider handler and applies each practice's faults,
// choosing the practice by the first path segment (the ODS code).
type Injector struct {
	next    http.Handler
	mu      sync.RWMutex
	def     Faults
	byODS   map[string]Faults
	rngMu   sync.Mutex
	rng     *rand.Rand
	closing chan struct{}
	once    sync.Once

	// cache, when not nil, replays each practice's first good answer to a
	// slot search with the same query (see Config.CacheSearches).
	cacheMu sync.Mutex
	cache   map[string]*cachedAnswer
}

// cachedAnswer is a recorded 200 answer.
type cachedAnswer struct {
	header http.Header
	body   []byte
}

// recorder keeps a copy of what the provider wrote.
type recorder struct {
	http.ResponseWriter
	status int
	body   []byte
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body = append(r.body, b...)
	return r.ResponseWriter.Write(b)
}

// CacheSearches makes the injector replay each practice's first good answer
// to a slot search with the same query string, so that a benchmark of the
// hub measures the hub and not the simulated providers' CPU (they share the
// machine). Faults still apply before a replay.
func (in *Injector) CacheSearches() {
	in.cacheMu.Lock()
	in.cache = map[string]*cachedAnswer{}
	in.cacheMu.Unlock()
}

// NewInjector wraps next with def applied to every practice.
func NewInjector(next http.Handler, def Faults, seed uint64) *Injector {
	return &Injector{next: next, def: def, byODS: map[string]Faults{}, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), closing: make(chan struct{})}
}

// Set gives one practice its own faults.
func (in *Injector) Set(ods string, f Faults) {
	in.mu.Lock()
	in.byODS[ods] = f
	in.mu.Unlock()
}

// SetDefault changes the faults of every practice without its own.
func (in *Injector) SetDefault(f Faults) {
	in.mu.Lock()
	in.def = f
	in.mu.Unlock()
}

// Close releases every hanging request.
func (in *Injector) Close() { in.once.Do(func() { close(in.closing) }) }

func (in *Injector) faults(ods string) Faults {
	in.mu.RLock()
	defer in.mu.RUnlock()
	if f, ok := in.byODS[ods]; ok {
		return f
	}
	return in.def
}

// ControlPath is where a running simulator takes new default faults
// (PUT, JSON {"latency":"60ms","jitter":"lognormal","sigma":0.5,"fail":0.02,"hang":0.01}),
// so a benchmark can change them without restarting N practices.
const ControlPath = "/_sim/faults"

// faultsJSON is the control body.
type faultsJSON struct {
	Latency string  `json:"latency"`
	Jitter  string  `json:"jitter"`
	Sigma   float64 `json:"sigma"`
	Fail    float64 `json:"fail"`
	Hang    float64 `json:"hang"`
}

// MarshalJSON writes the control body for f.
func (f Faults) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultsJSON{Latency: f.Latency.String(), Jitter: f.Jitter, Sigma: f.Sigma, Fail: f.Fail, Hang: f.Hang})
}

func (in *Injector) control(w http.ResponseWriter, r *http.Request) {
	var fj faultsJSON
	if r.Method != http.MethodPut || json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&fj) != nil {
		http.Error(w, "PUT a JSON body {latency, jitter, sigma, fail, hang}", http.StatusBadRequest)
		return
	}
	d, err := time.ParseDuration(fj.Latency)
	if fj.Latency == "" {
		d, err = 0, nil
	}
	if err != nil || fj.Fail < 0 || fj.Hang < 0 || fj.Fail+fj.Hang > 1 {
		http.Error(w, "bad latency or rates", http.StatusBadRequest)
		return
	}
	in.SetDefault(Faults{Latency: d, Jitter: fj.Jitter, Sigma: fj.Sigma, Fail: fj.Fail, Hang: fj.Hang})
	w.WriteHeader(http.StatusNoContent)
}

// ServeHTTP implements http.Handler.
func (in *Injector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == ControlPath {
		in.control(w, r)
		return
	}
	ods, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	f := in.faults(ods)
	in.rngMu.Lock()
	d := f.delay(in.rng)
	roll := in.rng.Float64()
	code := []int{http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}[in.rng.IntN(3)]
	in.rngMu.Unlock()
	if f.Mode == ModeHang || roll < f.Hang {
		select {
		case <-r.Context().Done():
		case <-in.closing:
		}
		return
	}
	if d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		case <-in.closing:
			t.Stop()
			return
		}
	}
	switch {
	case f.Mode == ModeGarbage:
		w.Header().Set("Content-Type", "application/fhir+json;charset=utf-8")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Slot",` + "\x00\xff garbage"))
		return
	case f.Mode == ModeHTML:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte("<html><body>Please log in</body></html>"))
		return
	case f.Mode == ModeError:
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte("internal error"))
		return
	case f.Mode == ModeWrongBundle:
		w.Header().Set("Content-Type", "application/fhir+json;charset=utf-8")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(`{"resourceType":"Patient","id":"1"}`))
		return
	case roll < f.Hang+f.Fail:
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(code)
		w.Write([]byte(http.StatusText(code)))
		return
	}
	in.cacheMu.Lock()
	caching := in.cache != nil && r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/Slot")
	var hit *cachedAnswer
	key := r.URL.Path + "?" + r.URL.RawQuery + "\x00" + r.Header.Get("Accept-Encoding")
	if caching {
		hit = in.cache[key]
	}
	in.cacheMu.Unlock()
	if hit != nil {
		for k, v := range hit.header {
			w.Header()[k] = v
		}
		w.WriteHeader(http.StatusOK)
		w.Write(hit.body)
		return
	}
	if !caching {
		in.next.ServeHTTP(w, r)
		return
	}
	rec := &recorder{ResponseWriter: w}
	in.next.ServeHTTP(rec, r)
	if rec.status == http.StatusOK {
		in.cacheMu.Lock()
		in.cache[key] = &cachedAnswer{header: w.Header().Clone(), body: rec.body}
		in.cacheMu.Unlock()
	}
}
