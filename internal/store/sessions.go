package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/slotbridge/slotbridge/internal/scheduling"
)

type profileRow struct {
	ID          int64  `db:"id"`
	PracticeID  int64  `db:"practice_id"`
	Name        string `db:"name"`
	Bookable    bool   `db:"bookable"`
	OrgTypes    string `db:"org_types"`
	ODSCodes    string `db:"ods_codes"`
	Cap         int    `db:"cap"`
	Booked      int    `db:"booked"`
	WindowSecs  int64  `db:"window_secs"`
	EmbargoSecs int64  `db:"embargo_secs"`
	ReleaseTime string `db:"release_time"`
	ReleaseDays int    `db:"release_days"`
	Version     int64  `db:"version"`
}

const profileCols = `id, practice_id, name, bookable, org_types, ods_codes, cap, booked, window_secs, embargo_secs, release_time, release_days, version`

func (r profileRow) domain() *scheduling.AccessProfile {
	return &scheduling.AccessProfile{ID: r.ID, PracticeID: r.PracticeID, Name: r.Name, Bookable: r.Bookable, OrgTypes: splitList(r.OrgTypes),
		ODSCodes: splitList(r.ODSCodes), Cap: r.Cap, Booked: r.Booked, BookingWindow: time.Duration(r.WindowSecs) * time.Second,
		Embargo: time.Duration(r.EmbargoSecs) * time.Second, ReleaseTime: r.ReleaseTime, ReleaseDaysBefore: r.ReleaseDays, Version: r.Version}
}

// AccessProfiles lists a practice's access profiles keyed by id, each with
// the places its active bookings hold (see heldUncapped).
func (s *Store) AccessProfiles(ctx context.Context, practiceID int64) (map[int64]*scheduling.AccessProfile, error) {
	var rows []profileRow
	if err := s.r.SelectContext(ctx, &rows, s.r.Rebind(`SELECT `+profileCols+` FROM access_profiles WHERE practice_id = ? ORDER BY id`), practiceID); err != nil {
		return nil, err
	}
	held, err := heldUncapped(ctx, s.r, practiceID, 0, s.Now())
	if err != nil {
		return nil, err
	}
	out := make(map[int64]*scheduling.AccessProfile, len(rows))
	for _, r := range rows {
		out[r.ID] = r.withHeld(held).domain()
	}
	return out, nil
}

// heldUncapped counts, for each profile of a practice (only profile when
// not 0), the places its active bookings hold at now: booked slots of the
// profile that are not over, as a cap counts them (heldPlaces). A capped
// profile keeps that count in its booked counter, which the booking
// claims; an uncapped one does not, so that a booking under it writes no
// profile row (every booking of a popular open profile would queue on
// it), and the count is made here, for listings, instead. The sessions
// that have not ended are named as well as the slots, so the planner may
// start from the practice's (schedules_practice_end) or from the active
// bookings, whichever it expects fewer of.
func heldUncapped(ctx context.Context, q querier, practiceID, profile int64, now time.Time) (map[int64]int, error) {
	query, args := `SELECT s.access_profile_id AS id, COUNT(*) AS n FROM schedules sc JOIN slots s ON s.schedule_id = sc.id
		JOIN appointment_slots aps ON aps.slot_id = s.id AND aps.active = TRUE
		WHERE sc.practice_id = ? AND sc.end_at > ? AND s.end_at > ?`, []any{practiceID, now.Unix(), now.Unix()}
	if profile != 0 {
		query += ` AND s.access_profile_id = ?`
		args = append(args, profile)
	}
	var rows []struct {
		ID int64 `db:"id"`
		N  int   `db:"n"`
	}
	if err := q.SelectContext(ctx, &rows, q.Rebind(query+` GROUP BY s.access_profile_id`), args...); err != nil {
		return nil, fmt.Errorf("store: places held under the practice's profiles: %w", err)
	}
	out := make(map[int64]int, len(rows))
	for _, r := range rows {
		out[r.ID] = r.N
	}
	return out, nil
}

// withHeld is the row with, for an uncapped profile, the places held
// (heldUncapped's count) as its booked number; a capped one keeps its counter.
func (r profileRow) withHeld(held map[int64]int) profileRow {
	if r.Cap == 0 {
		r.Booked = held[r.ID]
	}
	return r
}

// SaveAccessProfile inserts a profile, or updates the practice's profile of the same name. Returns its id.
func (s *Store) SaveAccessProfile(ctx context.Context, p *scheduling.AccessProfile) (int64, error) {
	var id int64
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var cur profileRow
		err := tx.GetContext(ctx, &cur, tx.Rebind(`SELECT `+profileCols+` FROM access_profiles WHERE practice_id = ? AND name = ?`), p.PracticeID, p.Name)
		args := []any{p.Bookable, joinList(p.OrgTypes), joinList(p.ODSCodes), p.Cap, int64(p.BookingWindow / time.Second),
			int64(p.Embargo / time.Second), p.ReleaseTime, p.ReleaseDaysBefore}
		if err == nil {
			id = cur.ID
			c := cur.domain()
			c.Booked, c.Version, c.ID = p.Booked, p.Version, p.ID
			if sameJSON(c, p) {
				return nil
			}
			_, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE access_profiles SET bookable = ?, org_types = ?, ods_codes = ?, cap = ?, window_secs = ?,
				embargo_secs = ?, release_time = ?, release_days = ?, version = version + 1 WHERE id = ?`), append(args, cur.ID)...)
			if isCheckViolation(err) {
				return scheduling.Errorf(scheduling.EINVALID, "the cap is below the slots already booked under this profile")
			}
			return err
		}
		if scheduling.ErrorCode(notFound(err, "", "")) != scheduling.ENOTFOUND {
			return err
		}
		id, err = insertReturningID(ctx, tx, "access_profiles", p.ID, []string{"practice_id", "name", "bookable", "org_types", "ods_codes", "cap",
			"window_secs", "embargo_secs", "release_time", "release_days"}, append([]any{p.PracticeID, p.Name}, args...)...)
		return err
	})
	return id, err
}

type templateRow struct {
	ID              int64  `db:"id"`
	PracticeID      int64  `db:"practice_id"`
	Name            string `db:"name"`
	Weekday         int    `db:"weekday"`
	StartLocal      string `db:"start_local"`
	EndLocal        string `db:"end_local"`
	SlotMinutes     int    `db:"slot_minutes"`
	LocationID      int64  `db:"location_id"`
	PractitionerID  int64  `db:"practitioner_id"`
	Role            string `db:"role"`
	ServiceCategory string `db:"service_category"`
	ServiceType     string `db:"service_type"`
	Channels        string `db:"channels"`
	AccessProfileID int64  `db:"access_profile_id"`
	ServiceID       int64  `db:"healthcare_service_id"`
	Active          bool   `db:"active"`
	Version         int64  `db:"version"`
}

const templateCols = `id, practice_id, name, weekday, start_local, end_local, slot_minutes, location_id, practitioner_id, role,
	service_category, service_type, channels, access_profile_id, healthcare_service_id, active, version`

func (r templateRow) domain() *scheduling.SessionTemplate {
	return &scheduling.SessionTemplate{ID: r.ID, PracticeID: r.PracticeID, Name: r.Name, Weekday: time.Weekday(r.Weekday), StartLocal: r.StartLocal,
		EndLocal: r.EndLocal, SlotMinutes: r.SlotMinutes, LocationID: r.LocationID, PractitionerID: r.PractitionerID, Role: r.Role,
		ServiceCategory: r.ServiceCategory, ServiceType: r.ServiceType, Channels: splitList(r.Channels), AccessProfileID: r.AccessProfileID,
		HealthcareServiceID: r.ServiceID, Active: r.Active, Version: r.Version}
}

// SessionTemplates lists a practice's templates (all practices when practiceID is 0).
func (s *Store) SessionTemplates(ctx context.Context, practiceID int64) ([]*scheduling.SessionTemplate, error) {
	q, args := `SELECT `+templateCols+` FROM session_templates`, []any{}
	if practiceID != 0 {
		q += ` WHERE practice_id = ?`
		args = append(args, practiceID)
	}
	var rows []templateRow
	if err := s.r.SelectContext(ctx, &rows, s.r.Rebind(q+` ORDER BY id`), args...); err != nil {
		return nil, err
	}
	out := make([]*scheduling.SessionTemplate, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// SaveSessionTemplate inserts a template, or updates the practice's template of the same name. Returns its id.
func (s *Store) SaveSessionTemplate(ctx context.Context, t *scheduling.SessionTemplate) (int64, error) {
	if err := t.Validate(); err != nil {
		return 0, err
	}
	var id int64
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var cur templateRow
		err := tx.GetContext(ctx, &cur, tx.Rebind(`SELECT `+templateCols+` FROM session_templates WHERE practice_id = ? AND name = ?`), t.PracticeID, t.Name)
		args := []any{int(t.Weekday), t.StartLocal, t.EndLocal, t.SlotMinutes, t.LocationID, t.PractitionerID, t.Role, t.ServiceCategory,
			t.ServiceType, joinList(t.Channels), t.AccessProfileID, t.HealthcareServiceID, t.Active}
		if err == nil {
			id = cur.ID
			c := cur.domain()
			c.ID, c.Version = t.ID, t.Version
			if sameJSON(c, t) {
				return nil
			}
			_, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE session_templates SET weekday = ?, start_local = ?, end_local = ?, slot_minutes = ?,
				location_id = ?, practitioner_id = ?, role = ?, service_category = ?, service_type = ?, channels = ?, access_profile_id = ?,
				healthcare_service_id = ?, active = ?, version = version + 1 WHERE id = ?`), append(args, cur.ID)...)
			if err != nil || cur.ServiceID == t.HealthcareServiceID {
				return err
			}
			// The service link is not part of a session's shape: the
			// template's sessions still to come follow it.
			return relinkTemplateSessions(ctx, tx, cur.ID, cur.ServiceID, t.HealthcareServiceID, s.Now())
		}
		if scheduling.ErrorCode(notFound(err, "", "")) != scheduling.ENOTFOUND {
			return err
		}
		id, err = insertReturningID(ctx, tx, "session_templates", t.ID, []string{"practice_id", "name", "weekday", "start_local", "end_local",
			"slot_minutes", "location_id", "practitioner_id", "role", "service_category", "service_type", "channels", "access_profile_id",
			"healthcare_service_id", "active"}, append([]any{t.PracticeID, t.Name}, args...)...)
		return err
	})
	return id, err
}

// relinkTemplateSessions moves the template's active sessions that have not
// started by now from service from (the template's old one) to service to
// (0 unlinks). Cancelled ones keep the service they were offered under, as
// sessions that are over do, and so does a session the practice linked to
// a service of its own: that was a decision about that day, which a change
// to the weekly pattern must not undo.
func relinkTemplateSessions(ctx context.Context, tx *sqlx.Tx, templateID, from, to int64, now time.Time) error {
	if from == to {
		return nil
	}
	_, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE schedules SET healthcare_service_id = ?, version = version + 1
		WHERE template_id = ? AND start_at > ? AND status = 'active' AND healthcare_service_id = ?`), to, templateID, now.Unix(), from)
	return err
}

// RelinkTemplateSessions moves the template's active sessions that have not
// started by now, and are still on its old service from, to service to (0 unlinks).
func (a *AdminTx) RelinkTemplateSessions(templateID, from, to int64, now time.Time) error {
	return relinkTemplateSessions(a.ctx, a.tx, templateID, from, to, now)
}

// Materialise creates the sessions and slots of every active template in
// [from, to) that do not exist yet, one transaction per template (which
// keeps write locks short on SQLite). Each template is read inside the
// transaction that makes its sessions (see materialiseTemplate), so a
// template changed meanwhile is materialised in its new shape, never in one
// read before the change. A day the template has already decided (see
// materialiseTemplate) is left alone, so running it again never duplicates.
// Returns the sessions created.
//
// The templates and their decided days are first read without a lock, to
// skip, with no transaction, the templates every day of which is decided
// (after the first run, nearly all: a top-up only adds the days coming into
// the horizon). Skipping on a stale read is safe: a template's days become
// undecided only by a change retiring its sessions, and that change makes
// the new ones in its own transaction (admin UpdateTemplate); the next
// top-up would make them otherwise.
func (s *Store) Materialise(ctx context.Context, practiceID int64, from, to time.Time) (int, error) {
	tpls, err := s.SessionTemplates(ctx, practiceID)
	if err != nil {
		return 0, err
	}
	lo, hi := scheduling.LocalMidnight(from), scheduling.AddDaysLocal(scheduling.LocalMidnight(to), 1)
	q, args := `SELECT template_id, start_at FROM schedules WHERE template_id <> 0 AND status <> ? AND start_at >= ? AND start_at < ?`,
		[]any{scheduling.SessionRetired, lo.Unix(), hi.Unix()}
	if practiceID != 0 {
		q += ` AND practice_id = ?`
		args = append(args, practiceID)
	}
	var made []struct {
		TemplateID int64 `db:"template_id"`
		Start      int64 `db:"start_at"`
	}
	if err := s.r.SelectContext(ctx, &made, s.r.Rebind(q), args...); err != nil {
		return 0, err
	}
	type day struct{ template, midnight int64 }
	decided := make(map[day]bool, len(made))
	for _, m := range made {
		decided[day{m.TemplateID, scheduling.LocalMidnight(time.Unix(m.Start, 0)).Unix()}] = true
	}
	created := 0
	for _, t := range tpls {
		if !t.Active || !slices.ContainsFunc(t.Sessions(from, to), func(ses scheduling.Session) bool {
			return !decided[day{t.ID, scheduling.LocalMidnight(ses.Schedule.Start).Unix()}]
		}) {
			continue
		}
		// n is reset on every attempt: inTx may run the function again after a
		// serialization failure, and only the committed attempt counts.
		var n int
		err := s.inTx(ctx, func(tx *sqlx.Tx) error {
			var err error
			n, err = materialiseTemplate(ctx, tx, t.ID, from, to)
			return err
		})
		if err != nil {
			return created, err
		}
		created += n
	}
	return created, nil
}

// MaterialiseTemplate creates the template's sessions in [from, to) within
// the change, as Materialise does (see materialiseTemplate), and returns how
// many it created.
func (a *AdminTx) MaterialiseTemplate(templateID int64, from, to time.Time) (int, error) {
	return materialiseTemplate(a.ctx, a.tx, templateID, from, to)
}

// forUpdate is the clause that holds the rows a SELECT reads until the
// transaction ends: on PostgreSQL FOR NO KEY UPDATE, the lock an UPDATE of
// the rows takes, which waits for (and holds off) every other update and
// lock of them, FOR UPDATE included, but not the key-share locks foreign
// key checks take: a booking that has claimed a slot goes on to insert its
// appointment, which references the session, and must not wait there for
// a change that is itself waiting for that slot (a deadlock). Nothing on
// SQLite, whose write transactions (BEGIN IMMEDIATE on the one writer
// connection) run one at a time anyway.
func forUpdate(tx *sqlx.Tx) string {
	if tx.DriverName() == "sqlite" {
		return ""
	}
	return " FOR NO KEY UPDATE"
}

// materialiseTemplate creates, in tx, the sessions of template templateID
// in [from, to) that its days still lack, and returns how many it created.
//
// The template is read here, holding its row (see forUpdate),
// and the sessions are made from that row: a change to the template that
// committed first is seen, and one still to come (which holds the same row,
// see AdminTx.LockTemplate) waits until these sessions are committed and
// then judges them like the rest. An inactive (or deleted) template makes
// nothing.
//
// A local day on which the template already has a session that is not
// retired is decided and gets no new session, whatever that session's
// shape: one active or under way, one kept through a shape change (booked
// or edited by hand), or one the practice cancelled. Retired sessions are
// detached from the template (template_id 0) and do not count; one that an
// earlier version left attached (a new-shape session it retired on a kept
// day) is detached here, so it can neither decide its day nor, through the
// (template_id, start_at) key, stop that day's session being made. That
// key's ON CONFLICT stays as a backstop.
func materialiseTemplate(ctx context.Context, tx *sqlx.Tx, templateID int64, from, to time.Time) (int, error) {
	var r templateRow
	err := tx.GetContext(ctx, &r, tx.Rebind(`SELECT `+templateCols+` FROM session_templates WHERE id = ?`+forUpdate(tx)), templateID)
	if scheduling.ErrorCode(notFound(err, "", "")) == scheduling.ENOTFOUND {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	t := r.domain()
	if !t.Active {
		return 0, nil
	}
	sessions := t.Sessions(from, to)
	if len(sessions) == 0 {
		return 0, nil
	}
	lo := scheduling.LocalMidnight(sessions[0].Schedule.Start)
	hi := scheduling.AddDaysLocal(scheduling.LocalMidnight(sessions[len(sessions)-1].Schedule.Start), 1)
	if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE schedules SET template_id = 0, version = version + 1
		WHERE template_id = ? AND status = ? AND start_at >= ? AND start_at < ?`), templateID, scheduling.SessionRetired, lo.Unix(), hi.Unix()); err != nil {
		return 0, err
	}
	var starts []int64
	if err := tx.SelectContext(ctx, &starts, tx.Rebind(`SELECT start_at FROM schedules WHERE template_id = ? AND status <> ? AND start_at >= ? AND start_at < ?`),
		templateID, scheduling.SessionRetired, lo.Unix(), hi.Unix()); err != nil {
		return 0, err
	}
	decided := make(map[int64]bool, len(starts))
	for _, at := range starts {
		decided[scheduling.LocalMidnight(time.Unix(at, 0)).Unix()] = true
	}
	n := 0
	for i := range sessions {
		if decided[scheduling.LocalMidnight(sessions[i].Schedule.Start).Unix()] {
			continue
		}
		ok, err := insertSession(ctx, tx, &sessions[i], true)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// insertSession stores a schedule and its slots. With skipExisting, a template
// session already present is skipped (reported false).
func insertSession(ctx context.Context, tx *sqlx.Tx, ses *scheduling.Session, skipExisting bool) (bool, error) {
	sc := &ses.Schedule
	q := `INSERT INTO schedules (practice_id, location_id, practitioner_id, role, service_category, start_at, end_at, access_profile_id, template_id,
		healthcare_service_id, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	if skipExisting && sc.TemplateID != 0 {
		q += ` ON CONFLICT (template_id, start_at) WHERE template_id <> 0 DO NOTHING`
	}
	q += ` RETURNING id`
	var id int64
	err := tx.GetContext(ctx, &id, tx.Rebind(q), sc.PracticeID, sc.LocationID, sc.PractitionerID, sc.Role, sc.ServiceCategory,
		sc.Start.Unix(), sc.End.Unix(), sc.AccessProfileID, sc.TemplateID, sc.HealthcareServiceID, sc.Status)
	if scheduling.ErrorCode(notFound(err, "", "")) == scheduling.ENOTFOUND {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	sc.ID = id
	ins := tx.Rebind(`INSERT INTO slots (schedule_id, practice_id, start_at, end_at, status, channel, service_type, access_profile_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	for i := range ses.Slots {
		sl := &ses.Slots[i]
		sl.ScheduleID = id
		if _, err := tx.ExecContext(ctx, ins, id, sc.PracticeID, sl.Start.Unix(), sl.End.Unix(), string(sl.Status), sl.DeliveryChannel, sl.ServiceType, sl.AccessProfileID); err != nil {
			return false, err
		}
	}
	return true, nil
}
