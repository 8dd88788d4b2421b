package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// heldPlaces is the query counting the places of a profile's cap in use at
// a time (its one parameter): the slots of active bookings that took a
// place of the profile (an id column, or "?"; appointment_slots records it
// per slot, as one appointment may hold slots of several profiles) and that
// have not ended. A booking gives its places back when it is cancelled, and
// when its slots are over: the cap limits what consumers hold, not what
// they have ever booked (before, a capped profile filled up for good). The
// non-zero term repeats the predicate of the index it reads
// (appointment_slots_places), which a parameter alone does not imply.
func heldPlaces(profile string) string {
	return `SELECT COUNT(*) FROM appointment_slots aps JOIN slots s ON s.id = aps.slot_id
	WHERE aps.active = TRUE AND aps.access_profile_id <> 0 AND aps.access_profile_id = ` + profile + ` AND s.end_at > ?`
}

// recountCap sets a profile's booked counter to the places in use at now and
// returns it. On PostgreSQL it first holds the profile's row, so a booking
// committing meanwhile is waited for and then counted (the count is a new
// statement, so under READ COMMITTED it sees that booking); SQLite
// serialises writers.
func recountCap(ctx context.Context, tx *sqlx.Tx, profileID int64, now time.Time) (int, error) {
	// The claim's own lock strength (see forUpdate): FOR UPDATE would also
	// hold off a session being added on the profile (its foreign key check).
	if lock := forUpdate(tx); lock != "" {
		var id int64
		if err := tx.GetContext(ctx, &id, tx.Rebind(`SELECT id FROM access_profiles WHERE id = ?`+lock), profileID); err != nil {
			return 0, fmt.Errorf("store: lock profile %d: %w", profileID, err)
		}
	}
	var n int
	if err := tx.GetContext(ctx, &n, tx.Rebind(heldPlaces("?")), profileID, now.Unix()); err != nil {
		return 0, fmt.Errorf("store: count held places of profile %d: %w", profileID, err)
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE access_profiles SET booked = ? WHERE id = ? AND booked <> ?`), n, profileID, n); err != nil {
		return 0, fmt.Errorf("store: recount profile %d: %w", profileID, err)
	}
	return n, nil
}

// ReleaseEndedBookings gives back, on every capped profile, the places held
// by bookings whose slots ended by now, so searches offer those places
// again (serve runs it every minute; a booking that meets a full cap
// recounts by itself). Returns how many places were released.
func (s *Store) ReleaseEndedBookings(ctx context.Context, now time.Time) (int, error) {
	var stale []struct {
		ID     int64 `db:"id"`
		Booked int   `db:"booked"`
	}
	if err := s.r.SelectContext(ctx, &stale, s.r.Rebind(`SELECT p.id, p.booked FROM access_profiles p WHERE p.cap > 0 AND p.booked > 0
		AND p.booked > (`+heldPlaces("p.id")+`) ORDER BY p.id`), now.Unix()); err != nil {
		return 0, fmt.Errorf("store: profiles holding ended bookings: %w", err)
	}
	released := 0
	for _, p := range stale {
		// One short transaction per profile keeps SQLite's write lock short.
		var n int
		err := s.inTx(ctx, func(tx *sqlx.Tx) error {
			var err error
			n, err = recountCap(ctx, tx, p.ID, now)
			return err
		})
		if err != nil {
			return released, err
		}
		if n < p.Booked {
			released += p.Booked - n
		}
	}
	return released, nil
}
