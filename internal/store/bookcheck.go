package store

import (
	"context"
	"fmt"
)

// BookCheck counts breaches of the appointment book's invariants: no slot
// in two active appointments, and busy slots exactly the slots of active
// appointments. The booking path keeps them in one transaction; the
// benchmarks, fault and race tests and fuzzers check them afterwards.
type BookCheck struct {
	DoubleBooked       int // slots held by more than one active appointment
	BusyWithoutBooking int // busy slots that no active appointment holds
	BookedNotBusy      int // active appointment slots whose slot is not busy
	ActiveBookings     int // active appointment slots in all
}

// OK reports whether every invariant holds.
func (c BookCheck) OK() bool {
	return c.DoubleBooked == 0 && c.BusyWithoutBooking == 0 && c.BookedNotBusy == 0
}

// String says what was counted, for test failures and the benchmark table.
func (c BookCheck) String() string {
	return fmt.Sprintf("%d double-booked slots, %d busy without booking, %d booked not busy (%d active bookings)",
		c.DoubleBooked, c.BusyWithoutBooking, c.BookedNotBusy, c.ActiveBookings)
}

// CheckBook counts the appointment book's invariant breaches. The second
// invariant is found by counting (busy slots, active appointment slots, and
// the active ones on busy slots, joined through the slots' primary key), so
// it stays linear on millions of slots; a double booking, which would skew
// those counts, is counted on its own. The counts are separate statements:
// run it when no booking is in flight.
func (s *Store) CheckBook(ctx context.Context) (BookCheck, error) {
	var c BookCheck
	var busy, activeBusy int
	for _, q := range []struct {
		dst *int
		sql string
	}{
		{&c.DoubleBooked, `SELECT COUNT(*) FROM (SELECT slot_id FROM appointment_slots WHERE active = TRUE GROUP BY slot_id HAVING COUNT(*) > 1) d`},
		{&busy, `SELECT COUNT(*) FROM slots WHERE status = 'busy'`},
		{&c.ActiveBookings, `SELECT COUNT(*) FROM appointment_slots WHERE active = TRUE`},
		{&activeBusy, `SELECT COUNT(*) FROM appointment_slots a JOIN slots s ON s.id = a.slot_id WHERE a.active = TRUE AND s.status = 'busy'`},
	} {
		if err := s.r.GetContext(ctx, q.dst, q.sql); err != nil {
			return BookCheck{}, fmt.Errorf("store: check the appointment book: %w", err)
		}
	}
	c.BusyWithoutBooking, c.BookedNotBusy = busy-activeBusy, c.ActiveBookings-activeBusy
	return c, nil
}
