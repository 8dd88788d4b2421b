package store

import (
	"context"
	"database/sql"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// ---- admin tokens ----

type adminTokenRow struct {
	ID         int64  `db:"id"`
	PracticeID int64  `db:"practice_id"`
	Hash       string `db:"hash"`
	Label      string `db:"label"`
	CreatedAt  int64  `db:"created_at"`
	Revoked    bool   `db:"revoked"`
}

const adminTokenCols = `id, practice_id, hash, label, created_at, revoked`

func (r adminTokenRow) domain() *scheduling.AdminToken {
	return &scheduling.AdminToken{ID: r.ID, PracticeID: r.PracticeID, Hash: r.Hash, Label: r.Label, Created: time.Unix(r.CreatedAt, 0), Revoked: r.Revoked}
}

// CreateAdminToken stores a token (its hash) and the audit record of its
// creation in one transaction, and returns the token's id.
func (s *Store) CreateAdminToken(ctx context.Context, t *scheduling.AdminToken, rec scheduling.AdminAuditRecord) (int64, error) {
	var id int64
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		id, err = insertReturningID(ctx, tx, "admin_tokens", 0, []string{"practice_id", "hash", "label", "created_at"},
			t.PracticeID, t.Hash, t.Label, t.Created.Unix())
		if err != nil {
			return err
		}
		rec.Target = "token/" + itoa64(id)
		return appendAdminAudit(ctx, tx, rec)
	})
	return id, err
}

// AdminTokenByID reads a token. Returns ENOTFOUND (kind "token").
func (s *Store) AdminTokenByID(ctx context.Context, id int64) (*scheduling.AdminToken, error) {
	var r adminTokenRow
	if err := s.r.GetContext(ctx, &r, s.r.Rebind(`SELECT `+adminTokenCols+` FROM admin_tokens WHERE id = ?`), id); err != nil {
		return nil, notFound(err, "token", "no admin token %d", id)
	}
	return r.domain(), nil
}

// AdminTokens lists a practice's tokens, revoked ones included.
func (s *Store) AdminTokens(ctx context.Context, practiceID int64) ([]*scheduling.AdminToken, error) {
	var rows []adminTokenRow
	if err := s.r.SelectContext(ctx, &rows, s.r.Rebind(`SELECT `+adminTokenCols+` FROM admin_tokens WHERE practice_id = ? ORDER BY id`), practiceID); err != nil {
		return nil, err
	}
	out := make([]*scheduling.AdminToken, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// RevokeAdminToken revokes a practice's token and audits it in one
// transaction. Revoking a revoked token changes nothing. Returns ENOTFOUND.
func (s *Store) RevokeAdminToken(ctx context.Context, practiceID, id int64, rec scheduling.AdminAuditRecord) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE admin_tokens SET revoked = TRUE, revoked_at = ? WHERE id = ? AND practice_id = ? AND revoked = FALSE`),
			rec.At.Unix(), id, practiceID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var c int
			if err := tx.GetContext(ctx, &c, tx.Rebind(`SELECT COUNT(*) FROM admin_tokens WHERE id = ? AND practice_id = ?`), id, practiceID); err != nil {
				return err
			}
			if c == 0 {
				return scheduling.NotFound("token", "no admin token %d at this practice", id)
			}
			return nil
		}
		rec.Target = "token/" + itoa64(id)
		return appendAdminAudit(ctx, tx, rec)
	})
}

// ---- admin audit ----

type adminAuditRow struct {
	ID         int64  `db:"id"`
	At         int64  `db:"at"`
	PracticeID int64  `db:"practice_id"`
	Actor      string `db:"actor"`
	Action     string `db:"action"`
	Target     string `db:"target"`
	Before     string `db:"before_json"`
	After      string `db:"after_json"`
	Detail     string `db:"detail"`
}

func appendAdminAudit(ctx context.Context, tx *sqlx.Tx, r scheduling.AdminAuditRecord) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO admin_audit (at, practice_id, actor, action, target, before_json, after_json, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), r.At.Unix(), r.PracticeID, r.Actor, r.Action, r.Target, r.Before, r.After, r.Detail)
	return err
}

// AdminAudit lists a practice's admin changes, newest first (limit <= 0 means 100).
func (s *Store) AdminAudit(ctx context.Context, practiceID int64, limit int) ([]scheduling.AdminAuditRecord, error) {
	if limit <= 0 {
		limit = 100
	}
	var rows []adminAuditRow
	if err := s.r.SelectContext(ctx, &rows, s.r.Rebind(`SELECT id, at, practice_id, actor, action, target, before_json, after_json, detail
		FROM admin_audit WHERE practice_id = ? ORDER BY id DESC LIMIT ?`), practiceID, limit); err != nil {
		return nil, err
	}
	out := make([]scheduling.AdminAuditRecord, len(rows))
	for i, r := range rows {
		out[i] = scheduling.AdminAuditRecord{ID: r.ID, At: time.Unix(r.At, 0), PracticeID: r.PracticeID, Actor: r.Actor, Action: r.Action,
			Target: r.Target, Before: r.Before, After: r.After, Detail: r.Detail}
	}
	return out, nil
}

// ---- audited changes ----

// AdminTx is one write transaction of an admin change. Its methods read and
// write within the transaction; the change and its audit record commit together.
type AdminTx struct {
	ctx context.Context
	tx  *sqlx.Tx
	now time.Time // the store's clock when the change began
}

// AdminChange runs fn in one write transaction and appends the audit record
// fn returns (none when it returns nil, e.g. for a no-op). fn may run more
// than once (the transaction is retried on serialization failures), so it
// must not change anything outside the transaction.
func (s *Store) AdminChange(ctx context.Context, fn func(a *AdminTx) (*scheduling.AdminAuditRecord, error)) error {
	// Any admin change may be a switch: caches of organisations reread.
	defer s.orgEpoch.Add(1)
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		rec, err := fn(&AdminTx{ctx: ctx, tx: tx, now: s.Now()})
		if err != nil || rec == nil {
			return err
		}
		return appendAdminAudit(ctx, tx, *rec)
	})
	if isProfileKeyViolation(err) {
		// The profile the change put a template or session on was deleted
		// by a change that committed after this one had read it.
		return scheduling.Errorf(scheduling.ECONFLICT, "the access profile this change refers to was deleted meanwhile; read the profiles again")
	}
	return err
}

// Organisation reads an organisation by ODS code. Returns ENOTFOUND.
func (a *AdminTx) Organisation(ods string) (*scheduling.Organisation, error) {
	var r orgRow
	if err := a.tx.GetContext(a.ctx, &r, a.tx.Rebind(`SELECT `+orgCols+` FROM organisations WHERE ods = ?`), ods); err != nil {
		return nil, notFound(err, "organisation", "no organisation with ODS code %q", ods)
	}
	return r.domain(), nil
}

// SetSwitches sets an organisation's GP Connect and Appointment Management switches.
func (a *AdminTx) SetSwitches(id int64, gpc, appts bool, now time.Time) error {
	_, err := a.tx.ExecContext(a.ctx, a.tx.Rebind(`UPDATE organisations SET gpc_enabled = ?, appts_enabled = ?, version = version + 1, updated = ? WHERE id = ?`),
		gpc, appts, now.Unix(), id)
	return err
}

// Profile reads a practice's access profile, with the places its active
// bookings hold (as AccessProfiles lists them). Returns ENOTFOUND (kind "profile").
func (a *AdminTx) Profile(practiceID, id int64) (*scheduling.AccessProfile, error) {
	return a.profile(practiceID, id, "")
}

// ProfileToLink is Profile for a change that puts existing slots on the
// profile (a session's or a slot's new profile): on PostgreSQL it holds
// the row FOR KEY SHARE until the change ends, so that it cannot commit
// beside a delete of the profile (DeleteProfile holds the row FOR UPDATE
// and counts its uses). Slots have no foreign key to their profile, as
// templates and sessions do, which the database checks itself. Taken only
// there, after the session's lock: taken before a change that then waits
// for sessions (a template's shape change), it would close a cycle with a
// profile rename, which needs the row exclusively, and a booking.
func (a *AdminTx) ProfileToLink(practiceID, id int64) (*scheduling.AccessProfile, error) {
	return a.profile(practiceID, id, " FOR KEY SHARE")
}

func (a *AdminTx) profile(practiceID, id int64, lock string) (*scheduling.AccessProfile, error) {
	if a.tx.DriverName() == "sqlite" {
		lock = ""
	}
	var r profileRow
	if err := a.tx.GetContext(a.ctx, &r, a.tx.Rebind(`SELECT `+profileCols+` FROM access_profiles WHERE id = ? AND practice_id = ?`+lock), id, practiceID); err != nil {
		return nil, notFound(err, "profile", "no access profile %d at this practice", id)
	}
	if r.Cap == 0 {
		held, err := heldUncapped(a.ctx, a.tx, practiceID, id, a.now)
		if err != nil {
			return nil, err
		}
		r = r.withHeld(held)
	}
	return r.domain(), nil
}

// LockProfile is Profile holding the profile's row until the change
// commits (see forUpdate): bookings of the profile in flight hold it
// shared (see bookProfiles.lock), so the change waits for them and its
// recount of a new cap counts them; and two changes of one profile run
// one after another, each judging the version the other left.
func (a *AdminTx) LockProfile(practiceID, id int64) (*scheduling.AccessProfile, error) {
	var got int64
	if err := a.tx.GetContext(a.ctx, &got, a.tx.Rebind(`SELECT id FROM access_profiles WHERE id = ? AND practice_id = ?`+forUpdate(a.tx)), id, practiceID); err != nil {
		return nil, notFound(err, "profile", "no access profile %d at this practice", id)
	}
	return a.Profile(practiceID, id)
}

// ProfileUses counts what refers to one of a practice's profiles: its
// templates (ended ones too), and its sessions and slots of any status.
// Bookings need no count of their own: a booked slot keeps its profile
// (moving it is refused), and appointments do not read theirs back.
func (a *AdminTx) ProfileUses(practiceID, id int64) (templates, sessions, slots int, err error) {
	var n struct {
		T int `db:"t"`
		S int `db:"s"`
		L int `db:"l"`
	}
	// By practice, so the indexes on the practice's sessions and on each
	// session's slots serve: the slots table holds every practice's.
	err = a.tx.GetContext(a.ctx, &n, a.tx.Rebind(`SELECT
		(SELECT COUNT(*) FROM session_templates WHERE practice_id = ? AND access_profile_id = ?) AS t,
		(SELECT COUNT(*) FROM schedules WHERE practice_id = ? AND access_profile_id = ?) AS s,
		(SELECT COUNT(*) FROM slots WHERE schedule_id IN (SELECT id FROM schedules WHERE practice_id = ?) AND access_profile_id = ?) AS l`),
		practiceID, id, practiceID, id, practiceID, id)
	return n.T, n.S, n.L, err
}

// DeleteProfile removes a profile nothing refers to. It holds the row FOR
// UPDATE (PostgreSQL) while it counts the uses: a change putting slots on
// the profile (ProfileToLink) waits and then finds no profile, and one
// adding a template or session on it fails the foreign key (AdminChange
// answers ECONFLICT). Returns ENOTFOUND, or ECONFLICT with the counts.
func (a *AdminTx) DeleteProfile(practiceID, id int64) (*scheduling.AccessProfile, error) {
	cur, err := a.profile(practiceID, id, " FOR UPDATE")
	if err != nil {
		return nil, err
	}
	templates, sessions, slots, err := a.ProfileUses(practiceID, id)
	if err != nil {
		return nil, err
	}
	if templates+sessions+slots > 0 {
		return nil, scheduling.Errorf(scheduling.ECONFLICT, "access profile %d (%q) is in use by %d template(s), %d session(s) and %d slot(s); "+
			"move them to another profile first (past sessions and slots keep theirs, so a profile that was ever used can only be renamed, or made not bookable)",
			id, cur.Name, templates, sessions, slots)
	}
	_, err = a.tx.ExecContext(a.ctx, a.tx.Rebind(`DELETE FROM access_profiles WHERE id = ? AND practice_id = ?`), id, practiceID)
	return cur, err
}

// InsertProfile inserts a profile and returns its id. Returns EDUPLICATE when
// the practice has a profile of that name.
func (a *AdminTx) InsertProfile(p *scheduling.AccessProfile) (int64, error) {
	id, err := insertReturningID(a.ctx, a.tx, "access_profiles", 0, []string{"practice_id", "name", "bookable", "org_types", "ods_codes", "cap",
		"window_secs", "embargo_secs", "release_time", "release_days"}, p.PracticeID, p.Name, p.Bookable, joinList(p.OrgTypes), joinList(p.ODSCodes),
		p.Cap, int64(p.BookingWindow/time.Second), int64(p.Embargo/time.Second), p.ReleaseTime, p.ReleaseDaysBefore)
	if isUniqueViolation(err) {
		return 0, scheduling.Errorf(scheduling.EDUPLICATE, "the practice already has an access profile named %q", p.Name)
	}
	return id, err
}

// UpdateProfile writes a profile's rules (not its booked counter) and bumps
// its version. Returns EINVALID when the cap is below the slots its bookings
// hold at now, EDUPLICATE on a name clash.
func (a *AdminTx) UpdateProfile(p *scheduling.AccessProfile, now time.Time) error {
	if p.Cap > 0 {
		// Bookings are counted against a profile only while it has a cap, so
		// a cap set now first counts what its slots already hold (and links
		// those bookings to it, so that cancelling them gives the place back).
		if err := a.recountBooked(p.ID, now); err != nil {
			return err
		}
	}
	_, err := a.tx.ExecContext(a.ctx, a.tx.Rebind(`UPDATE access_profiles SET name = ?, bookable = ?, org_types = ?, ods_codes = ?, cap = ?, window_secs = ?,
		embargo_secs = ?, release_time = ?, release_days = ?, version = version + 1 WHERE id = ? AND practice_id = ?`),
		p.Name, p.Bookable, joinList(p.OrgTypes), joinList(p.ODSCodes), p.Cap, int64(p.BookingWindow/time.Second), int64(p.Embargo/time.Second),
		p.ReleaseTime, p.ReleaseDaysBefore, p.ID, p.PracticeID)
	switch {
	case isCheckViolation(err):
		return scheduling.Errorf(scheduling.EINVALID, "the cap is below the slots already booked under this profile")
	case isUniqueViolation(err):
		return scheduling.Errorf(scheduling.EDUPLICATE, "the practice already has an access profile named %q", p.Name)
	}
	return err
}

// recountBooked sets a profile's booked counter to the places its active
// bookings hold now (recountCap: slots not yet over), after making a place
// of each booked slot of the profile that took none, because it was booked
// while the profile had no cap (a booked slot keeps the profile it was
// booked under, so the slot's profile is the one it counts against).
func (a *AdminTx) recountBooked(profileID int64, now time.Time) error {
	if _, err := a.tx.ExecContext(a.ctx, a.tx.Rebind(`UPDATE appointment_slots SET access_profile_id = ? WHERE active = TRUE AND access_profile_id = 0
		AND slot_id IN (SELECT id FROM slots WHERE access_profile_id = ?)`), profileID, profileID); err != nil {
		return err
	}
	_, err := recountCap(a.ctx, a.tx, profileID, now)
	return err
}

// Template reads a practice's session template. Returns ENOTFOUND (kind "template").
func (a *AdminTx) Template(practiceID, id int64) (*scheduling.SessionTemplate, error) {
	var r templateRow
	if err := a.tx.GetContext(a.ctx, &r, a.tx.Rebind(`SELECT `+templateCols+` FROM session_templates WHERE id = ? AND practice_id = ?`), id, practiceID); err != nil {
		return nil, notFound(err, "template", "no session template %d at this practice", id)
	}
	return r.domain(), nil
}

// LockTemplate is Template holding the template's row until the change
// commits (see forUpdate; SQLite runs one write transaction at a time), so
// that changes to one template, and the materialising of its sessions
// (materialiseTemplate holds the same row), run one after another: each
// sees the template, and its sessions, as the one before left them.
func (a *AdminTx) LockTemplate(practiceID, id int64) (*scheduling.SessionTemplate, error) {
	var r templateRow
	if err := a.tx.GetContext(a.ctx, &r, a.tx.Rebind(`SELECT `+templateCols+` FROM session_templates WHERE id = ? AND practice_id = ?`+forUpdate(a.tx)),
		id, practiceID); err != nil {
		return nil, notFound(err, "template", "no session template %d at this practice", id)
	}
	return r.domain(), nil
}

// PractitionerSessions lists the active sessions of a practice's
// practitioner that overlap [from, to), by start.
func (a *AdminTx) PractitionerSessions(practiceID, practitionerID int64, from, to time.Time) ([]*scheduling.Schedule, error) {
	var rows []scheduleRow
	if err := a.tx.SelectContext(a.ctx, &rows, a.tx.Rebind(`SELECT `+scheduleCols+` FROM schedules
		WHERE practice_id = ? AND practitioner_id = ? AND status = 'active' AND start_at < ? AND end_at > ? ORDER BY start_at, id`),
		practiceID, practitionerID, to.Unix(), from.Unix()); err != nil {
		return nil, err
	}
	out := make([]*scheduling.Schedule, len(rows))
	for i := range rows {
		out[i] = rows[i].domain()
	}
	return out, nil
}

// ActiveTemplates lists a practice's active templates, by id.
func (a *AdminTx) ActiveTemplates(practiceID int64) ([]*scheduling.SessionTemplate, error) {
	var rows []templateRow
	if err := a.tx.SelectContext(a.ctx, &rows, a.tx.Rebind(`SELECT `+templateCols+` FROM session_templates WHERE practice_id = ? AND active = TRUE ORDER BY id`),
		practiceID); err != nil {
		return nil, err
	}
	out := make([]*scheduling.SessionTemplate, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// InsertTemplate inserts a template and returns its id. Returns EDUPLICATE on a name clash.
func (a *AdminTx) InsertTemplate(t *scheduling.SessionTemplate) (int64, error) {
	id, err := insertReturningID(a.ctx, a.tx, "session_templates", 0, []string{"practice_id", "name", "weekday", "start_local", "end_local",
		"slot_minutes", "location_id", "practitioner_id", "role", "service_category", "service_type", "channels", "access_profile_id",
		"healthcare_service_id", "active"},
		t.PracticeID, t.Name, int(t.Weekday), t.StartLocal, t.EndLocal, t.SlotMinutes, t.LocationID, t.PractitionerID, t.Role, t.ServiceCategory,
		t.ServiceType, joinList(t.Channels), t.AccessProfileID, t.HealthcareServiceID, t.Active)
	if isUniqueViolation(err) {
		return 0, scheduling.Errorf(scheduling.EDUPLICATE, "the practice already has a session template named %q", t.Name)
	}
	return id, err
}

// UpdateTemplate writes a template and bumps its version. Returns EDUPLICATE on a name clash.
func (a *AdminTx) UpdateTemplate(t *scheduling.SessionTemplate) error {
	_, err := a.tx.ExecContext(a.ctx, a.tx.Rebind(`UPDATE session_templates SET name = ?, weekday = ?, start_local = ?, end_local = ?, slot_minutes = ?,
		location_id = ?, practitioner_id = ?, role = ?, service_category = ?, service_type = ?, channels = ?, access_profile_id = ?,
		healthcare_service_id = ?, active = ?, version = version + 1 WHERE id = ? AND practice_id = ?`),
		t.Name, int(t.Weekday), t.StartLocal, t.EndLocal, t.SlotMinutes, t.LocationID, t.PractitionerID, t.Role, t.ServiceCategory, t.ServiceType,
		joinList(t.Channels), t.AccessProfileID, t.HealthcareServiceID, t.Active, t.ID, t.PracticeID)
	if isUniqueViolation(err) {
		return scheduling.Errorf(scheduling.EDUPLICATE, "the practice already has a session template named %q", t.Name)
	}
	return err
}

// LocationExists reports whether the practice has the location.
func (a *AdminTx) LocationExists(practiceID, id int64) (bool, error) {
	return a.exists(`SELECT COUNT(*) FROM locations WHERE id = ? AND practice_id = ?`, id, practiceID)
}

// PractitionerExists reports whether the practice has the practitioner.
func (a *AdminTx) PractitionerExists(practiceID, id int64) (bool, error) {
	return a.exists(`SELECT COUNT(*) FROM practitioners WHERE id = ? AND practice_id = ?`, id, practiceID)
}

func (a *AdminTx) exists(q string, args ...any) (bool, error) {
	var n int
	err := a.tx.GetContext(a.ctx, &n, a.tx.Rebind(q), args...)
	return n > 0, err
}

// InsertSession stores a one-off session (schedule and slots), setting the ids.
func (a *AdminTx) InsertSession(ses *scheduling.Session) error {
	_, err := insertSession(a.ctx, a.tx, ses, false)
	return err
}

// Session reads a practice's session with its slot counts and bookings. Returns ENOTFOUND (kind "session").
func (a *AdminTx) Session(practiceID, id int64) (*scheduling.SessionSummary, error) {
	return session(a.ctx, a.tx, practiceID, id, "")
}

// LockSession is Session holding the session's row until the change
// commits, so that changes to one session and its slots (block, unblock, a
// slot's own block) do not interleave on PostgreSQL; SQLite serialises
// writers, so it needs no lock.
func (a *AdminTx) LockSession(practiceID, id int64) (*scheduling.SessionSummary, error) {
	return session(a.ctx, a.tx, practiceID, id, forUpdate(a.tx))
}

// LockPractitioner holds a practitioner's row until the change commits, so
// that two changes checking the practitioner's sessions for a clash do not
// both pass on PostgreSQL. Returns ENOTFOUND (kind "practitioner").
func (a *AdminTx) LockPractitioner(practiceID, id int64) error {
	var got int64
	if err := a.tx.GetContext(a.ctx, &got, a.tx.Rebind(`SELECT id FROM practitioners WHERE id = ? AND practice_id = ?`+forUpdate(a.tx)), id, practiceID); err != nil {
		return notFound(err, "practitioner", "no practitioner %d at this practice", id)
	}
	return nil
}

// TemplateHasSessionOn reports whether the template has a session that is
// not retired (active, kept, edited or cancelled) in [from, to): a day it
// has already decided, on which materialising makes nothing (see
// materialiseTemplate).
func (a *AdminTx) TemplateHasSessionOn(templateID int64, from, to time.Time) (bool, error) {
	return a.exists(`SELECT COUNT(*) FROM schedules WHERE template_id = ? AND status <> ? AND start_at >= ? AND start_at < ?`,
		templateID, scheduling.SessionRetired, from.Unix(), to.Unix())
}

// Session reads a practice's session with its slot counts and bookings,
// outside any change. Returns ENOTFOUND (kind "session").
func (s *Store) Session(ctx context.Context, practiceID, id int64) (*scheduling.SessionSummary, error) {
	return session(ctx, s.r, practiceID, id, "")
}

func session(ctx context.Context, q querier, practiceID, id int64, lock string) (*scheduling.SessionSummary, error) {
	var r scheduleRow
	if err := q.GetContext(ctx, &r, q.Rebind(`SELECT `+scheduleCols+` FROM schedules WHERE id = ? AND practice_id = ?`+lock), id, practiceID); err != nil {
		return nil, notFound(err, "session", "no session %d at this practice", id)
	}
	out, err := summarise(ctx, q, []scheduleRow{r})
	if err != nil {
		return nil, err
	}
	return &out[0], nil
}

// SetSessionSlots moves every slot of a session in status from to status to,
// returning how many moved. A slot blocked on its own stays blocked when its
// session's slots are freed.
func (a *AdminTx) SetSessionSlots(scheduleID int64, from, to scheduling.SlotStatus) (int, error) {
	q := `UPDATE slots SET status = ?, version = version + 1 WHERE schedule_id = ? AND status = ?`
	if from == scheduling.SlotBlocked {
		q += ` AND own_block = FALSE`
	}
	res, err := a.tx.ExecContext(a.ctx, a.tx.Rebind(q), string(to), scheduleID, string(from))
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// SetSessionProfile sets a session's access profile, on the session and on
// every slot it holds that no booking holds, a slot given a profile of its
// own included. A booked slot keeps the profile it was booked under (its
// booking counts against it) until it is freed, and then takes its
// session's (see Cancel): the session's profile is now the latest decision
// for each of its slots, so none is marked as having its own. It returns
// the number of slots whose profile changed.
func (a *AdminTx) SetSessionProfile(scheduleID, profileID int64) (int, error) {
	if _, err := a.tx.ExecContext(a.ctx, a.tx.Rebind(`UPDATE schedules SET access_profile_id = ?, version = version + 1 WHERE id = ?`), profileID, scheduleID); err != nil {
		return 0, err
	}
	res, err := a.tx.ExecContext(a.ctx, a.tx.Rebind(`UPDATE slots SET access_profile_id = ?, own_profile = FALSE, version = version + 1
		WHERE schedule_id = ? AND access_profile_id <> ? AND status <> 'busy'`), profileID, scheduleID, profileID)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	// The rest: booked slots, and free ones already on the profile. What a
	// consumer sees of them does not change, so their versions stay.
	if _, err := a.tx.ExecContext(a.ctx, a.tx.Rebind(`UPDATE slots SET own_profile = FALSE WHERE schedule_id = ? AND own_profile = TRUE`), scheduleID); err != nil {
		return 0, err
	}
	return int(n), nil
}

// SetSessionBlocked marks a session blocked or not; while blocked, a slot
// freed by cancelling its appointment is blocked instead of offered.
func (a *AdminTx) SetSessionBlocked(scheduleID int64, blocked bool) error {
	_, err := a.tx.ExecContext(a.ctx, a.tx.Rebind(`UPDATE schedules SET blocked = ?, version = version + 1 WHERE id = ? AND blocked <> ?`),
		blocked, scheduleID, blocked)
	return err
}

// SetSessionStatus sets a session's status ("active", "cancelled" or
// scheduling.SessionRetired) and bumps its version.
func (a *AdminTx) SetSessionStatus(scheduleID int64, status string) error {
	_, err := a.tx.ExecContext(a.ctx, a.tx.Rebind(`UPDATE schedules SET status = ?, version = version + 1 WHERE id = ?`), status, scheduleID)
	return err
}

// Slot reads a practice's slot. Returns ENOTFOUND (kind "slot").
func (a *AdminTx) Slot(practiceID, id int64) (*scheduling.Slot, error) {
	var r slotRow
	if err := a.tx.GetContext(a.ctx, &r, a.tx.Rebind(`SELECT `+slotCols+` FROM slots WHERE id = ? AND practice_id = ?`), id, practiceID); err != nil {
		return nil, notFound(err, "slot", "no slot %d at this practice", id)
	}
	sl := r.domain()
	return &sl, nil
}

// SetSlotOwnBlock blocks a slot on its own (block), or lifts its own block
// (!block), which frees it unless its session's block still holds it
// (sessionBlocked). It changes only a slot that is free or blocked; false
// when the slot was neither (the row is locked by the update, so this is not
// check-then-act).
func (a *AdminTx) SetSlotOwnBlock(id int64, block, sessionBlocked bool) (bool, error) {
	status := scheduling.SlotBlocked
	if !block && !sessionBlocked {
		status = scheduling.SlotFree
	}
	res, err := a.tx.ExecContext(a.ctx, a.tx.Rebind(`UPDATE slots SET status = ?, own_block = ?, version = version + 1
		WHERE id = ? AND status IN (?, ?)`), string(status), block, id, string(scheduling.SlotFree), string(scheduling.SlotBlocked))
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// SetSlotProfile gives a slot no booking holds a profile of its own, which
// it keeps when a booking of it is cancelled (until its session's profile
// next changes); false when a booking holds it (the row is locked by the
// update, so a booking committing meanwhile is seen).
func (a *AdminTx) SetSlotProfile(id, profileID int64) (bool, error) {
	res, err := a.tx.ExecContext(a.ctx, a.tx.Rebind(`UPDATE slots SET access_profile_id = ?, own_profile = TRUE, version = version + 1
		WHERE id = ? AND status <> 'busy'`), profileID, id)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// SlotAppointment returns the active appointment holding a slot, or 0.
func (a *AdminTx) SlotAppointment(slotID int64) (int64, error) {
	var ids []int64
	err := a.tx.SelectContext(a.ctx, &ids, a.tx.Rebind(`SELECT appointment_id FROM appointment_slots WHERE slot_id = ? AND active = TRUE`), slotID)
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	return ids[0], nil
}

// ---- reads for administration ----

// Sessions lists a practice's sessions starting in [from, to), by start then
// id, with their slot counts and bookings.
func (s *Store) Sessions(ctx context.Context, practiceID int64, from, to time.Time) ([]scheduling.SessionSummary, error) {
	var rows []scheduleRow
	if err := s.r.SelectContext(ctx, &rows, s.r.Rebind(`SELECT `+scheduleCols+` FROM schedules WHERE practice_id = ? AND start_at >= ? AND start_at < ?
		ORDER BY start_at, id`), practiceID, from.Unix(), to.Unix()); err != nil {
		return nil, err
	}
	return summarise(ctx, s.r, rows)
}

func summarise(ctx context.Context, q querier, rows []scheduleRow) ([]scheduling.SessionSummary, error) {
	out := make([]scheduling.SessionSummary, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	idx := make(map[int64]int, len(rows))
	ids := make([]int64, len(rows))
	for i := range rows {
		out[i].Schedule = *rows[i].domain()
		idx[rows[i].ID] = i
		ids[i] = rows[i].ID
	}
	type countRow struct {
		ScheduleID int64  `db:"schedule_id"`
		Status     string `db:"status"`
		N          int    `db:"n"`
	}
	query, args, err := sqlx.In(`SELECT schedule_id, status, COUNT(*) AS n FROM slots WHERE schedule_id IN (?) GROUP BY schedule_id, status`, ids)
	if err != nil {
		return nil, err
	}
	var counts []countRow
	if err := q.SelectContext(ctx, &counts, q.Rebind(query), args...); err != nil {
		return nil, err
	}
	for _, c := range counts {
		ss := &out[idx[c.ScheduleID]]
		switch scheduling.SlotStatus(c.Status) {
		case scheduling.SlotFree:
			ss.Free += c.N
		case scheduling.SlotBlocked:
			ss.Blocked += c.N
		default:
			ss.Booked += c.N
		}
	}
	query, args, err = sqlx.In(`SELECT id FROM schedules WHERE id IN (?) AND blocked = TRUE`, ids)
	if err != nil {
		return nil, err
	}
	var blocked []int64
	if err := q.SelectContext(ctx, &blocked, q.Rebind(query), args...); err != nil {
		return nil, err
	}
	for _, id := range blocked {
		out[idx[id]].SessionBlocked = true
	}
	type apptRef struct {
		ID         int64 `db:"id"`
		ScheduleID int64 `db:"schedule_id"`
	}
	query, args, err = sqlx.In(`SELECT id, schedule_id FROM appointments WHERE schedule_id IN (?) AND status = 'booked' ORDER BY id`, ids)
	if err != nil {
		return nil, err
	}
	var appts []apptRef
	if err := q.SelectContext(ctx, &appts, q.Rebind(query), args...); err != nil {
		return nil, err
	}
	for _, a := range appts {
		ss := &out[idx[a.ScheduleID]]
		ss.AppointmentIDs = append(ss.AppointmentIDs, a.ID)
	}
	return out, nil
}

// SlotByID reads a practice's slot. Returns ENOTFOUND (kind "slot").
func (s *Store) SlotByID(ctx context.Context, practiceID, id int64) (*scheduling.Slot, error) {
	var r slotRow
	if err := s.r.GetContext(ctx, &r, s.r.Rebind(`SELECT `+slotCols+` FROM slots WHERE id = ? AND practice_id = ?`), id, practiceID); err != nil {
		return nil, notFound(err, "slot", "no slot %d at this practice", id)
	}
	sl := r.domain()
	return &sl, nil
}

// LastSessionEnd is when the practice's latest session ends, of those a
// template change has not retired (a cancelled one still shows the day was
// made); the zero time when it has none.
func (s *Store) LastSessionEnd(ctx context.Context, practiceID int64) (time.Time, error) {
	var end sql.NullInt64
	if err := s.r.GetContext(ctx, &end, s.r.Rebind(`SELECT MAX(end_at) FROM schedules WHERE practice_id = ? AND status <> ?`), practiceID,
		scheduling.SessionRetired); err != nil {
		return time.Time{}, err
	}
	if !end.Valid {
		return time.Time{}, nil
	}
	return time.Unix(end.Int64, 0), nil
}

// SlotsInPeriod lists a practice's slots of any status lying fully inside
// [start, end] (the candidate set of a search, before any rule), by start then id.
func (s *Store) SlotsInPeriod(ctx context.Context, practiceID int64, start, end time.Time) ([]scheduling.Slot, error) {
	var rows []slotRow
	if err := s.r.SelectContext(ctx, &rows, s.r.Rebind(`SELECT `+slotCols+` FROM slots WHERE practice_id = ? AND start_at >= ? AND end_at <= ?
		ORDER BY start_at, id`), practiceID, start.Unix(), end.Unix()); err != nil {
		return nil, err
	}
	out := make([]scheduling.Slot, len(rows))
	for i := range rows {
		out[i] = rows[i].domain()
	}
	return out, nil
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

// FutureTemplateSessions lists a template's active sessions starting after t,
// with their slot counts and bookings.
func (a *AdminTx) FutureTemplateSessions(templateID int64, after time.Time) ([]scheduling.SessionSummary, error) {
	var rows []scheduleRow
	if err := a.tx.SelectContext(a.ctx, &rows, a.tx.Rebind(`SELECT `+scheduleCols+` FROM schedules WHERE template_id = ? AND start_at > ? AND status = 'active'
		ORDER BY start_at, id`), templateID, after.Unix()); err != nil {
		return nil, err
	}
	return summarise(a.ctx, a.tx, rows)
}

// SessionEdits says what was changed by hand on one of a template's
// sessions since the template made it: the facts a template change must
// not silently undo by remaking the session.
type SessionEdits struct {
	// ScheduleID is the session's id.
	ScheduleID int64 `db:"id"`
	// Blocked: the whole session is blocked (it stays active).
	Blocked bool `db:"blocked"`
	// OwnProfile and OwnService: the session's access profile or healthcare
	// service is not the template's.
	OwnProfile bool `db:"own_profile"`
	OwnService bool `db:"own_service"`
	// SlotBlocked: a slot is blocked on its own. SlotProfile: a slot's access
	// profile is not the session's.
	SlotBlocked bool `db:"slot_blocked"`
	SlotProfile bool `db:"slot_profile"`
}

// EditedTemplateSessions lists, by start, the template's active sessions
// starting after the given time that differ from what the template made: blocked, or
// with a profile other than profileID or a service other than serviceID
// (the template's, as the sessions were made or last relinked), or with a
// slot blocked on its own or with its own profile. The comparisons are SQL
// booleans, so one query serves SQLite and PostgreSQL.
func (a *AdminTx) EditedTemplateSessions(templateID int64, after time.Time, profileID, serviceID int64) ([]SessionEdits, error) {
	var out []SessionEdits
	err := a.tx.SelectContext(a.ctx, &out, a.tx.Rebind(`SELECT id, blocked, own_profile, own_service, slot_blocked, slot_profile FROM (
		SELECT sc.id, sc.start_at, sc.blocked, sc.access_profile_id <> ? AS own_profile, sc.healthcare_service_id <> ? AS own_service,
			EXISTS (SELECT 1 FROM slots s WHERE s.schedule_id = sc.id AND s.own_block = TRUE) AS slot_blocked,
			EXISTS (SELECT 1 FROM slots s WHERE s.schedule_id = sc.id AND s.access_profile_id <> sc.access_profile_id) AS slot_profile
		FROM schedules sc WHERE sc.template_id = ? AND sc.start_at > ? AND sc.status = 'active') e
		WHERE blocked OR own_profile OR own_service OR slot_blocked OR slot_profile ORDER BY start_at, id`),
		profileID, serviceID, templateID, after.Unix())
	return out, err
}

// LockFutureTemplateSessions holds, until the change commits, the rows of
// the template's active sessions starting after the given time and of every
// slot they hold (see forUpdate; in id order; SQLite runs one write
// transaction at a time, so there it does nothing). A booking claims a slot
// with a conditional update of its row (status 'free' to 'busy'), so once
// the slots are held every booking that claimed one has committed and is
// seen by the reads that follow, and every later one waits until the change
// commits and then finds the slot no longer free if it was blocked.
// Session changes (LockSession) wait as well, so bookings and hand edits
// read after this call stay true until the change commits.
func (a *AdminTx) LockFutureTemplateSessions(templateID int64, after time.Time) error {
	lock := forUpdate(a.tx)
	if lock == "" {
		return nil
	}
	var ids []int64
	if err := a.tx.SelectContext(a.ctx, &ids, a.tx.Rebind(`SELECT id FROM schedules WHERE template_id = ? AND start_at > ? AND status = 'active'
		ORDER BY id`+lock), templateID, after.Unix()); err != nil || len(ids) == 0 {
		return err
	}
	q, args, err := sqlx.In(`SELECT id FROM slots WHERE schedule_id IN (?) ORDER BY id`+lock, ids)
	if err != nil {
		return err
	}
	var slots []int64
	return a.tx.SelectContext(a.ctx, &slots, a.tx.Rebind(q), args...)
}

// RetireSession retires an active session (scheduling.SessionRetired:
// replaced, not cancelled by the practice), detaches it from its template,
// so that materialising the template's new shape may make that day's
// session again, and blocks its free slots. A session holding a booking is
// never retired: it is left as it is and false is returned. (The caller
// reads bookings after LockFutureTemplateSessions, so this is a backstop.)
func (a *AdminTx) RetireSession(id int64) (bool, error) {
	res, err := a.tx.ExecContext(a.ctx, a.tx.Rebind(`UPDATE schedules SET status = ?, template_id = 0, version = version + 1
		WHERE id = ? AND status = 'active'
		AND NOT EXISTS (SELECT 1 FROM slots WHERE schedule_id = ? AND status = ?)
		AND NOT EXISTS (SELECT 1 FROM appointments WHERE schedule_id = ? AND status = 'booked')`),
		scheduling.SessionRetired, id, id, string(scheduling.SlotBusy), id)
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return false, nil
	}
	_, err = a.SetSessionSlots(id, scheduling.SlotFree, scheduling.SlotBlocked)
	return err == nil, err
}
