package bench

import (
	"math"
	"math/bits"
	"time"
)

// subBits sets the histogram's precision: 2^subBits buckets per power of
// two, so a recorded latency is off by under 1% (HDR-histogram style).
const subBits = 7

// Histogram records latencies in nanoseconds in log-linear buckets. It is
// not safe for concurrent use: give each worker its own and Merge them.
type Histogram struct {
	counts   []uint64
	n        uint64
	min, max int64
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram { return &Histogram{min: math.MaxInt64} }

func bucketOf(v int64) int {
	if v < 1<<subBits {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - 1 - subBits
	return (shift+1)<<subBits + int(v>>shift) - 1<<subBits
}

// bucketMid is the middle of a bucket's range.
func bucketMid(i int) int64 {
	if i < 1<<subBits {
		return int64(i)
	}
	shift := i>>subBits - 1
	mant := int64(i&(1<<subBits-1)) + 1<<subBits
	lo := mant << shift
	return lo + (int64(1)<<shift)/2
}

// Record adds one latency.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	b := bucketOf(v)
	if b >= len(h.counts) {
		n := make([]uint64, b+1+64)
		copy(n, h.counts)
		h.counts = n
	}
	h.counts[b]++
	h.n++
	if v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
}

// Merge adds every value recorded in o.
func (h *Histogram) Merge(o *Histogram) {
	if o == nil || o.n == 0 {
		return
	}
	if len(o.counts) > len(h.counts) {
		n := make([]uint64, len(o.counts))
		copy(n, h.counts)
		h.counts = n
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.min = min(h.min, o.min)
	h.max = max(h.max, o.max)
}

// Count is the number of values recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest latency recorded.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Quantile returns the latency at q (0..1), e.g. 0.99 for p99.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	if rank == 0 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			v := bucketMid(i)
			return time.Duration(min(max(v, h.min), h.max))
		}
	}
	return time.Duration(h.max)
}
