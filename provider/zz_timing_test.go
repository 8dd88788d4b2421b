package provider_test

import (
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/fhirtest"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

func TestZZTiming(t *testing.T) {
	e := newEnv(t, storetest.Engines(false)[0], time.Time{})
	q := slotQuery(e.now, 14)
	t0 := time.Now()
	res := e.searchSlots(t, q)
	t1 := time.Now()
	fhirtest.Validate(res.body)
	t2 := time.Now()
	b := wantJSON(t, res, 200)
	checkSlotBundle(t, b, q)
	t3 := time.Now()
	t.Logf("bytes %d search %v validate %v check %v", len(res.body), t1.Sub(t0), t2.Sub(t1), t3.Sub(t2))
}
