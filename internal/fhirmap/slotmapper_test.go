package fhirmap

import (
	"encoding/json"
	"math/rand"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// TestFormatLocalMatches: the hand-written formatter agrees with
// scheduling.FormatLocal, across both clock changes and odd years.
func TestFormatLocalMatches(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	times := []time.Time{{}, time.Date(2026, 3, 29, 0, 59, 59, 0, time.UTC), time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC),
		time.Date(2026, 10, 25, 0, 59, 59, 999, time.UTC), time.Date(2026, 10, 25, 1, 0, 0, 0, time.UTC), time.Date(999, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1847, 12, 1, 0, 0, 0, 0, time.UTC)}
	for i := 0; i < 20000; i++ {
		times = append(times, time.Unix(rng.Int63n(4102444800), rng.Int63n(1e9)))
	}
	for _, tm := range times {
		if got, want := formatLocal(tm), scheduling.FormatLocal(tm); got != want {
			t.Fatalf("formatLocal(%v) = %q, want %q", tm, got, want)
		}
	}
}

// TestSlotBundleMatchesSlot: the Bundle's slots are exactly what Slot maps.
func TestSlotBundleMatchesSlot(t *testing.T) {
	t0 := time.Date(2026, 10, 24, 9, 0, 0, 0, scheduling.London)
	res := &scheduling.SlotResult{Schedules: map[int64]*scheduling.Schedule{}}
	channels := []string{"In-person", "Telephone", ""}
	types := []string{"Routine", "", "<Urgent>"}
	for i := 0; i < 300; i++ {
		st := t0.Add(time.Duration(i) * 7 * time.Hour)
		res.Slots = append(res.Slots, scheduling.Slot{ID: int64(i + 1), ScheduleID: int64(i%7 + 1), Start: st, End: st.Add(10 * time.Minute),
			Status: scheduling.SlotFree, DeliveryChannel: channels[i%3], ServiceType: types[i%5%3], Version: int64(i%2 + 1)})
	}
	b := SlotBundle(res, &scheduling.Organisation{ID: 1, ODS: "A1", Kind: scheduling.KindPractice}, Includes{})
	for i := range res.Slots {
		got, _ := json.Marshal(b.Entry[i].Resource)
		want, _ := json.Marshal(Slot(&res.Slots[i]))
		if string(got) != string(want) {
			t.Fatalf("slot %d:\n got %s\nwant %s", i, got, want)
		}
	}
}
