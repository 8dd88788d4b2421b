package bench

import (
	"math/rand"
	"sort"
	"testing"
	"time"
)

func TestHistogramQuantiles(t *testing.T) {
	h := NewHistogram()
	rng := rand.New(rand.NewSource(1))
	var vals []int64
	for i := 0; i < 100000; i++ {
		v := int64(rng.ExpFloat64() * float64(time.Millisecond))
		vals = append(vals, v)
		h.Record(time.Duration(v))
	}
	sort.Slice(vals, func(i, j int) bool { return vals[i] < vals[j] })
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		exact := vals[int(q*float64(len(vals)))-1]
		got := int64(h.Quantile(q))
		if diff := float64(got-exact) / float64(exact); diff > 0.01 || diff < -0.01 {
			t.Errorf("q%.3f = %d, exact %d (%.2f%% off)", q, got, exact, diff*100)
		}
	}
	if h.Count() != 100000 || h.Max() != time.Duration(vals[len(vals)-1]) {
		t.Errorf("count %d max %v", h.Count(), h.Max())
	}
}

func TestHistogramMerge(t *testing.T) {
	a, b := NewHistogram(), NewHistogram()
	for i := 1; i <= 50; i++ {
		a.Record(time.Duration(i) * time.Microsecond)
		b.Record(time.Duration(i+50) * time.Microsecond)
	}
	a.Merge(b)
	if a.Count() != 100 {
		t.Fatalf("count %d", a.Count())
	}
	if p := a.Quantile(0.5); p < 49*time.Microsecond || p > 51*time.Microsecond {
		t.Errorf("p50 after merge = %v, want ~50µs", p)
	}
	if a.Max() != 100*time.Microsecond {
		t.Errorf("max = %v", a.Max())
	}
}
