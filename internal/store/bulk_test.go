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

// TestAuditUnstorableText: a request can carry text PostgreSQL refuses (a NUL
// from a JSON token claim, invalid UTF-8 from a %FF in a path); the audit
// keeps the record, with U+FFFD in place of the bad bytes, through every
// write path, instead of failing the write (and with it the command whose
// transaction it is in, or the other records of its batch).
func TestAuditUnstorableText(t *testing.T) {
	for _, e := range storetest.Engines(true) {
		t.Run(e.Name, func(t *testing.T) {
			f := newFx(t, e)
			rec := func(trace string) scheduling.AuditRecord {
				return scheduling.AuditRecord{At: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC), TraceID: trace, Interaction: "x",
					Method: "GET", Path: "/A20047/STU3/1/gpconnect/Patient/\xff\xfe", PracticeODS: "A20047", RequestingOrg: "GP\x00A",
					RequestingUser: "u\x00", Status: 404}
			}
			f.ok(f.st.AuditBulk(f.ctx, []scheduling.AuditRecord{rec("bulk-1"), rec("bulk-2")}))
			f.ok(f.st.AuditBatch(f.ctx, []scheduling.AuditRecord{rec("batch")}))
			one := rec("single")
			f.ok(f.st.Audit(f.ctx, &one))
			got, err := f.st.AuditRecords(f.ctx, scheduling.AuditFilter{})
			f.ok(err)
			if len(got) != 4 {
				t.Fatalf("%d records, want 4", len(got))
			}
			for _, g := range got {
				if g.Path != "/A20047/STU3/1/gpconnect/Patient/\uFFFD" || g.RequestingOrg != "GP\uFFFDA" || g.RequestingUser != "u\uFFFD" {
					t.Errorf("%s: path %q, org %q, user %q", g.TraceID, g.Path, g.RequestingOrg, g.RequestingUser)
				}
			}
		})
	}
}
