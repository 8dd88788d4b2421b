package bench

import (
	"context"
	"math/rand"
	"testing"
	"time"
)

// TestClosedPeriodOutlastsOneOperation: a measured period shorter than an
// operation still measures the operations started in it (it used to end with
// none recorded, and a rate of zero).
func TestClosedPeriodOutlastsOneOperation(t *testing.T) {
	op := func(ctx context.Context, w int, rng *rand.Rand) error {
		time.Sleep(30 * time.Millisecond)
		return nil
	}
	r := Closed(context.Background(), 4, 5*time.Millisecond, time.Millisecond, 0, op) // every first operation starts in the warm-up
	if r.Ops == 0 || r.Rate() <= 0 {
		t.Fatalf("%d operations, rate %v: want some", r.Ops, r.Rate())
	}
}
