package federation

import (
	"sync"
	"time"
)

// Breaker is a per-practice circuit breaker. After Threshold consecutive
// failures a practice is skipped for Cooldown; then one probe request is let
// through (half-open): success closes the circuit, failure opens it again.
// It only saves time: no correctness depends on it.
type Breaker struct {
	// Threshold is how many consecutive failures open the circuit (default 3).
	Threshold int
	// Cooldown is how long an open circuit skips the practice (default 30s).
	Cooldown time.Duration
	// Now is the clock (tests move it).
	Now func() time.Time

	mu sync.Mutex
	m  map[string]*circuit
}

type circuit struct {
	failures  int
	openUntil time.Time
	probing   bool
}

func (b *Breaker) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// Allow reports whether a request to the practice may go ahead. When it
// returns true for a half-open circuit, the caller is the one probe and must
// call Success or Failure.
func (b *Breaker) Allow(ods string) bool {
	if b == nil {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.m[ods]
	if c == nil || c.openUntil.IsZero() {
		return true
	}
	if b.now().Before(c.openUntil) || c.probing {
		return false
	}
	c.probing = true
	return true
}

// State names the practice's circuit state: "closed", "open" or "half-open".
func (b *Breaker) State(ods string) string {
	if b == nil {
		return "closed"
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.m[ods]
	switch {
	case c == nil || c.openUntil.IsZero():
		return "closed"
	case c.probing || !b.now().Before(c.openUntil):
		return "half-open"
	}
	return "open"
}

// Success records a good answer: the circuit closes.
func (b *Breaker) Success(ods string) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.m, ods)
}

// Failure records a failed call; enough in a row (or a failed probe) open the circuit.
func (b *Breaker) Failure(ods string) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[string]*circuit{}
	}
	c := b.m[ods]
	if c == nil {
		c = &circuit{}
		b.m[ods] = c
	}
	c.failures++
	th := b.Threshold
	if th <= 0 {
		th = 3
	}
	cool := b.Cooldown
	if cool <= 0 {
		cool = 30 * time.Second
	}
	if c.probing || c.failures >= th {
		c.openUntil = b.now().Add(cool)
		c.probing = false
	}
}

// Release ends a call that gave no verdict (it was cancelled by the caller),
// so a half-open circuit may be probed again.
func (b *Breaker) Release(ods string) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if c := b.m[ods]; c != nil {
		c.probing = false
	}
}
