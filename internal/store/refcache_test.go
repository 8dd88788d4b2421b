package store

import (
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// TestRefCacheEvictsByPractice: past its bound the cache drops ended
// schedules first, then whole practices, stale ones and then those searched
// least recently, and never the practice being added.
func TestRefCacheEvictsByPractice(t *testing.T) {
	future := time.Now().Add(24 * time.Hour)
	set := func(firstID int64, n int, end time.Time) *scheduling.SlotResult {
		r := newSlotResult()
		for i := range n {
			id := firstID + int64(i)
			r.Schedules[id] = &scheduling.Schedule{ID: id, End: end}
		}
		return r
	}
	held := func(c *refCache, practice int64) int {
		if e := c.practices[practice]; e != nil {
			return len(e.schedules)
		}
		return 0
	}
	c := &refCache{limit: 10}
	c.add(1, 1, set(100, 4, future), true)
	time.Sleep(time.Millisecond)
	c.add(2, 1, set(200, 4, future), true)
	time.Sleep(time.Millisecond)
	// Practice 1 is searched after practice 2 was added: 2 is now the least recent.
	if missing, whole := c.fill(1, 1, []int64{100}, newSlotResult()); len(missing) != 0 || !whole {
		t.Fatalf("fill practice 1: missing %v, whole %v", missing, whole)
	}
	c.add(3, 1, set(300, 4, future), true)
	if held(c, 1) != 4 || held(c, 2) != 0 || held(c, 3) != 4 || c.n != 8 {
		t.Fatalf("after the third practice: 1 holds %d, 2 holds %d, 3 holds %d, n = %d; want 4, 0, 4, 8",
			held(c, 1), held(c, 2), held(c, 3), c.n)
	}
	// Ended schedules go first, then the practice searched least recently
	// (1, found before 3 was added).
	c.add(4, 1, set(400, 1, time.Now().Add(-time.Hour)), false)
	time.Sleep(time.Millisecond)
	c.add(5, 1, set(500, 2, future), true)
	if held(c, 4) != 0 || held(c, 1) != 0 || held(c, 3) != 4 || held(c, 5) != 2 || c.n != 6 {
		t.Fatalf("after practice 5: 1, 3, 4, 5 hold %d, %d, %d, %d, n = %d; want 0, 4, 0, 2, 6",
			held(c, 1), held(c, 3), held(c, 4), held(c, 5), c.n)
	}
	// A stale entry goes before a fresh one, however recently it was used.
	c.practices[3].at = time.Now().Add(-2 * refMaxAge)
	c.practices[3].used.Store(time.Now().UnixNano())
	c.add(6, 1, set(600, 5, future), true)
	if held(c, 3) != 0 || held(c, 5) != 2 || held(c, 6) != 5 || c.n != 7 {
		t.Fatalf("after practice 6: 3, 5, 6 hold %d, %d, %d, n = %d; want 0, 2, 5, 7", held(c, 3), held(c, 5), held(c, 6), c.n)
	}
}
