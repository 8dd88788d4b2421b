package federation_test

import (
	"context"
	"testing"

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
	for _, p := range res.Practices {
		if p.Slots < 20 || p.Slots > 100 {
			t.Errorf("%s: %d slots, want 20-100", p.ODS, p.Slots)
		}
	}
	t.Logf("%d slots in %v; first %+v", len(res.Slots), res.Elapsed, res.Slots[0])
}
