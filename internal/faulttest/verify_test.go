package faulttest

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"testing"

	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/store"
)

// checkBookings verifies, through the store, what a booking load left behind:
//   - every booking answered 201 is there, booked, on the slot it was for;
//   - no slot has two active bookings, and no request made two appointments;
//   - a slot is busy exactly when an active booking holds it (the whole database);
//   - the audit matches: each appointment the load created (answered or not,
//     e.g. committed just before a SIGKILL) has exactly one 201 audit row
//     with its id, and no 201 audit row names an appointment that is not there.
//
// description marks the load's appointments; tracePrefix its audit rows.
func checkBookings(t *testing.T, st *store.Store, b *bookings, description, tracePrefix string) {
	t.Helper()
	ctx := context.Background()
	db := st.DB()
	b.mu.Lock()
	defer b.mu.Unlock()

	type row struct {
		ID     int64  `db:"id"`
		Status string `db:"status"`
		SlotID int64  `db:"slot_id"`
		Active bool   `db:"active"`
	}
	var rows []row
	if err := db.SelectContext(ctx, &rows, db.Rebind(`SELECT a.id, a.status, s.slot_id, s.active FROM appointments a
		JOIN appointment_slots s ON s.appointment_id = a.id WHERE a.description = ? ORDER BY a.id`), description); err != nil {
		t.Fatal(err)
	}
	stored := map[int64]row{}
	perSlot := map[int64]int{}
	for _, r := range rows {
		if _, dup := stored[r.ID]; dup {
			t.Errorf("appointment %d holds more than one slot; the load booked one each", r.ID)
		}
		stored[r.ID] = r
		perSlot[r.SlotID]++
		if !b.sent[r.SlotID] {
			t.Errorf("appointment %d is on slot %d, for which no booking was sent", r.ID, r.SlotID)
		}
	}
	for slot, n := range perSlot {
		if n > 1 {
			t.Errorf("slot %d has %d appointments from one booking request: duplicated", slot, n)
		}
	}
	for id, slot := range b.created {
		r, ok := stored[id]
		switch {
		case !ok:
			t.Errorf("appointment %d was answered 201 but is not in the database", id)
		case r.SlotID != slot || r.Status != "booked" || !r.Active:
			t.Errorf("appointment %d answered 201 for slot %d is now slot %d, status %s, active %v", id, slot, r.SlotID, r.Status, r.Active)
		}
	}

	if c, err := st.CheckBook(ctx); err != nil || !c.OK() {
		t.Errorf("appointment book: %s %v", c, err)
	}

	var audited []string
	if err := db.SelectContext(ctx, &audited, db.Rebind(`SELECT resource_ids FROM audit WHERE interaction = ? AND status = 201 AND trace_id LIKE ?`),
		string(gpconnect.CreateAppointment), tracePrefix+"-%"); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, r := range audited {
		seen[r]++
	}
	var missing, extra []string
	for id := range stored {
		ref := "Appointment/" + strconv.FormatInt(id, 10)
		switch seen[ref] {
		case 1:
		case 0:
			missing = append(missing, ref)
		default:
			t.Errorf("%s has %d audit rows, want 1", ref, seen[ref])
		}
		delete(seen, ref)
	}
	for ref := range seen {
		extra = append(extra, ref)
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Errorf("audit does not match the bookings: %d appointments without a 201 audit row %v; %d 201 audit rows without an appointment %v",
			len(missing), clipList(missing), len(extra), clipList(extra))
	}
	t.Logf("%d requests sent, %d answered 201, %d appointments stored, %d audit rows; outcomes %v",
		len(b.sent), len(b.created), len(stored), len(audited), b.statuses)
}

func clipList(l []string) string {
	if len(l) > 10 {
		return fmt.Sprint(l[:10]) + "..."
	}
	return fmt.Sprint(l)
}

// checkSQLiteIntegrity runs SQLite's own consistency check on the file.
func checkSQLiteIntegrity(t *testing.T, st *store.Store) {
	t.Helper()
	var res []string
	if err := st.DB().SelectContext(context.Background(), &res, `PRAGMA integrity_check`); err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0] != "ok" {
		t.Errorf("integrity_check: %v", res)
	}
}
