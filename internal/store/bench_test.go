package store_test

import (
	"context"
	"math/rand"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/demo"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// BenchmarkSearchFreeSlots runs the slot search query path (range query,
// profiles, schedules, practitioners, locations) on every engine and driver,
// over the demo data, with a random 1–3 day window per call so no cache flatters it.
func BenchmarkSearchFreeSlots(b *testing.B) {
	for _, e := range storetest.Engines(true) {
		b.Run(e.Name, func(b *testing.B) {
			ctx := context.Background()
			st := storetest.Open(b, e)
			now := time.Now()
			if err := demo.Load(ctx, st, now, 15*24*time.Hour); err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewSource(1))
			day0 := scheduling.AddDaysLocal(scheduling.LocalMidnight(now), 1)
			b.ReportAllocs()
			b.ResetTimer()
			slots := 0
			for i := 0; i < b.N; i++ {
				start := scheduling.AddDaysLocal(day0, rng.Intn(10))
				res, err := st.SearchFreeSlots(ctx, scheduling.SlotSearch{PracticeID: 7, Start: start, End: scheduling.AddDaysLocal(start, 1),
					Consumer: scheduling.Consumer{OrgType: "urgent-care", ODS: "A20047"}, Now: now})
				if err != nil {
					b.Fatal(err)
				}
				slots += len(res.Slots)
			}
			b.ReportMetric(float64(slots)/float64(b.N), "slots/op")
		})
	}
}
