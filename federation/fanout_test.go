package federation_test

import (
	"context"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/federation"
)

func TestSearchAllGood(t *testing.T) {
	_, hub, _, _ := newFederation(t, 5, federation.Config{})
	start, end := tomorrow()
	res, err := hub.Search(context.Background(), "h", federation.Query{Start: start, End: end})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failures) != 0 {
		t.Fatalf("failures: %v", res.Failures)
	}
	if len(res.Practices) != 5 {
		t.Fatalf("%d practices reported, want 5", len(res.Practices))
	}
	for _, p := range res.Practices {
		if p.Slots < 20 || p.Slots > 100 {
			t.Errorf("%s: %d slots, want 20-100", p.ODS, p.Slots)
		}
	}
	t.Logf("%d slots in %v; first %+v", len(res.Slots), res.Elapsed, res.Slots[0])
}

// TestLongRangeSplit: a 20-day search is two calls per practice (no
// provider refuses it as over 14 days), and the slots of both windows merge
// in start order with none twice.
func TestLongRangeSplit(t *testing.T) {
	ctx := context.Background()
	_, hub, _, _ := newFederation(t, 2, federation.Config{})
	start, _ := tomorrow()
	start = start.Add(-24 * time.Hour) // today 00:00: the sim has today and the next two days
	res, err := hub.Search(ctx, "h", federation.Query{Start: start, End: start.Add(20 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failures) != 0 {
		t.Fatalf("failures: %v", res.Failures)
	}
	one, err := hub.Search(ctx, "h", federation.Query{Start: start, End: start.Add(14 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Practices) != 2 {
		t.Fatalf("%d practices reported, want 2", len(res.Practices))
	}
	for _, p := range res.Practices {
		if p.Calls != 2 {
			t.Errorf("%s: %d calls, want 2", p.ODS, p.Calls)
		}
	}
	seen := map[string]bool{}
	for i, sl := range res.Slots {
		if seen[sl.Ref()] {
			t.Fatalf("%s twice", sl.Ref())
		}
		seen[sl.Ref()] = true
		if i > 0 && sl.Start.Before(res.Slots[i-1].Start) {
			t.Fatalf("out of order at %d", i)
		}
	}
	if len(res.Slots) != len(one.Slots) || len(res.Slots) == 0 {
		t.Fatalf("20 days gave %d slots, 14 days %d (the sim has 3 days)", len(res.Slots), len(one.Slots))
	}
}
