package store_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// TestAuditBulkRoundTrip: records written by AuditBulk (more than one
// multi-row statement's worth) read back exactly, in order.
func TestAuditBulkRoundTrip(t *testing.T) {
	for _, e := range storetest.Engines(true) {
		t.Run(e.Name, func(t *testing.T) {
			f := newFx(t, e)
			base := time.Date(2026, 5, 1, 10, 0, 0, 123456000, time.UTC)
			var recs []scheduling.AuditRecord
			for len(recs) < 1203 {
				for _, r := range auditRecords(base.Add(time.Duration(len(recs)) * time.Second)) {
					recs = append(recs, r)
				}
			}
			f.ok(f.st.AuditBulk(f.ctx, recs))
			f.ok(f.st.AuditBulk(f.ctx, nil))
			got, err := f.st.AuditRecords(f.ctx, scheduling.AuditFilter{})
			f.ok(err)
			if len(got) != len(recs) {
				t.Fatalf("%d records, want %d", len(got), len(recs))
			}
			for i, g := range got {
				want := recs[len(recs)-1-i]
				g.At = g.At.UTC()
				want.ID = g.ID
				if !reflect.DeepEqual(g, want) {
					t.Fatalf("record %d:\n got %+v\nwant %+v", i, g, want)
				}
			}
		})
	}
}
