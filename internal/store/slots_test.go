package store_test

import (
	"slices"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// TestSearchFractionalStart: a start with a fraction of a second still
// excludes a slot on the whole second before it (the start used to be
// truncated to the second, which let that slot in).
func TestSearchFractionalStart(t *testing.T) {
	for _, e := range storetest.Engines(true) {
		t.Run(e.Name, func(t *testing.T) {
			f := newFx(t, e)
			sx := f.searchFixture()
			match := scheduling.Consumer{OrgType: "urgent-care", ODS: "A12345"}
			now := scheduling.AddDaysLocal(sx.at(12, 0), -1)
			for _, c := range []struct {
				name  string
				start time.Time
				want  []string
			}{
				{"HalfSecondLate", sx.at(9, 15).Add(500 * time.Millisecond), []string{"open-b@09:30"}},
				{"OneNanosecondLate", sx.at(9, 15).Add(time.Nanosecond), []string{"open-b@09:30"}},
				{"HalfSecondEarly", sx.at(9, 15).Add(-500 * time.Millisecond), []string{"open-b@09:15", "open-a@09:15", "open-b@09:30"}},
			} {
				t.Run(c.name, func(t *testing.T) {
					res, err := f.st.SearchFreeSlots(f.ctx, scheduling.SlotSearch{PracticeID: sx.practice, Start: c.start, End: sx.at(9, 45),
						Consumer: match, Now: now})
					f.ok(err)
					if got := sx.keys(t, res); !slices.Equal(got, c.want) {
						t.Fatalf("slots:\n got %v\nwant %v", got, c.want)
					}
				})
			}
		})
	}
}
