package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/slotbridge/slotbridge/internal/scheduling"
)

type orgRow struct {
	ID           int64  `db:"id"`
	ODS          string `db:"ods"`
	Name         string `db:"name"`
	Kind         string `db:"kind"`
	ASID         string `db:"asid"`
	Phone        string `db:"phone"`
	Address      string `db:"address"`
	GPCEnabled   bool   `db:"gpc_enabled"`
	ApptsEnabled bool   `db:"appts_enabled"`
	Filtering    bool   `db:"service_filtering"`
	Version      int64  `db:"version"`
	Updated      int64  `db:"updated"`
}

const orgCols = `id, ods, name, kind, asid, phone, address, gpc_enabled, appts_enabled, service_filtering, version, updated`

func (r orgRow) domain() *scheduling.Organisation {
	o := &scheduling.Organisation{ID: r.ID, ODS: r.ODS, Name: r.Name, Kind: r.Kind, ASID: r.ASID, Phone: r.Phone,
		GPConnectEnabled: r.GPCEnabled, AppointmentsEnabled: r.ApptsEnabled, ServiceFiltering: r.Filtering, Version: r.Version, Updated: time.Unix(r.Updated, 0)}
	_ = json.Unmarshal([]byte(r.Address), &o.Address)
	return o
}

func toJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "null"
	}
	return string(b)
}

// joinList encodes a list column as a JSON array, so values may hold commas;
// the empty list is stored as the empty string, as before, so queries for "no restriction" still work.
func joinList(l []string) string {
	if len(l) == 0 {
		return ""
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // store "<" as is, as migration 0002 does
	if err := enc.Encode(l); err != nil {
		return ""
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// splitList decodes a list column. A value that is not a JSON array is read
// as the comma-joined form used before migration 0002.
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	if s[0] == '[' {
		var l []string
		if err := json.Unmarshal([]byte(s), &l); err == nil {
			return l
		}
	}
	return strings.Split(s, ",")
}

// OrganisationByODS finds an organisation by ODS code. Returns ENOTFOUND (kind "organisation").
func (s *Store) OrganisationByODS(ctx context.Context, ods string) (*scheduling.Organisation, error) {
	var r orgRow
	err := s.r.GetContext(ctx, &r, s.r.Rebind(`SELECT `+orgCols+` FROM organisations WHERE ods = ?`), ods)
	if err != nil {
		return nil, notFound(err, "organisation", "no organisation with ODS code %q", ods)
	}
	return r.domain(), nil
}

// OrganisationByID finds an organisation by id. Returns ENOTFOUND (kind "organisation").
func (s *Store) OrganisationByID(ctx context.Context, id int64) (*scheduling.Organisation, error) {
	var r orgRow
	err := s.r.GetContext(ctx, &r, s.r.Rebind(`SELECT `+orgCols+` FROM organisations WHERE id = ?`), id)
	if err != nil {
		return nil, notFound(err, "organisation", "no organisation with id %d", id)
	}
	return r.domain(), nil
}

// Organisations lists every organisation, by ODS code.
func (s *Store) Organisations(ctx context.Context) ([]*scheduling.Organisation, error) {
	var rows []orgRow
	if err := s.r.SelectContext(ctx, &rows, `SELECT `+orgCols+` FROM organisations ORDER BY ods`); err != nil {
		return nil, err
	}
	out := make([]*scheduling.Organisation, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// SaveOrganisation inserts or updates an organisation by ODS code (bumping its
// version on change) and returns its id. An explicit ID is kept on insert.
func (s *Store) SaveOrganisation(ctx context.Context, o *scheduling.Organisation) (int64, error) {
	var id int64
	defer s.orgEpoch.Add(1)
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		id, err = saveOrganisation(ctx, tx, o, s.Now())
		return err
	})
	return id, err
}

func saveOrganisation(ctx context.Context, tx *sqlx.Tx, o *scheduling.Organisation, now time.Time) (int64, error) {
	var existing orgRow
	err := tx.GetContext(ctx, &existing, tx.Rebind(`SELECT `+orgCols+` FROM organisations WHERE ods = ?`), o.ODS)
	addr := toJSON(o.Address)
	if err == nil {
		if existing.Name == o.Name && existing.Kind == o.Kind && existing.ASID == o.ASID && existing.Phone == o.Phone &&
			existing.Address == addr && existing.GPCEnabled == o.GPConnectEnabled && existing.ApptsEnabled == o.AppointmentsEnabled &&
			existing.Filtering == o.ServiceFiltering {
			return existing.ID, nil
		}
		_, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE organisations SET name = ?, kind = ?, asid = ?, phone = ?, address = ?,
			gpc_enabled = ?, appts_enabled = ?, service_filtering = ?, version = version + 1, updated = ? WHERE id = ?`),
			o.Name, o.Kind, o.ASID, o.Phone, addr, o.GPConnectEnabled, o.AppointmentsEnabled, o.ServiceFiltering, now.Unix(), existing.ID)
		return existing.ID, err
	}
	if err := notFound(err, "", ""); scheduling.ErrorCode(err) != scheduling.ENOTFOUND {
		return 0, err
	}
	return insertReturningID(ctx, tx, "organisations", o.ID,
		[]string{"ods", "name", "kind", "asid", "phone", "address", "gpc_enabled", "appts_enabled", "service_filtering", "updated"},
		o.ODS, o.Name, o.Kind, o.ASID, o.Phone, addr, o.GPConnectEnabled, o.AppointmentsEnabled, o.ServiceFiltering, now.Unix())
}

// SetSwitches sets a practice's GP Connect and Appointment Management switches.
func (s *Store) SetSwitches(ctx context.Context, ods string, gpc, appts bool) error {
	defer s.orgEpoch.Add(1)
	res, err := s.w.ExecContext(ctx, s.w.Rebind(`UPDATE organisations SET gpc_enabled = ?, appts_enabled = ?, version = version + 1, updated = ? WHERE ods = ?`),
		gpc, appts, s.Now().Unix(), ods)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return scheduling.NotFound("organisation", "no organisation with ODS code %q", ods)
	}
	return nil
}

// insertReturningID inserts a row, with an explicit id when id > 0, and returns the id.
// On PostgreSQL an explicit id also moves the sequence past it.
func insertReturningID(ctx context.Context, tx *sqlx.Tx, table string, id int64, cols []string, args ...any) (int64, error) {
	if id > 0 {
		cols = append([]string{"id"}, cols...)
		args = append([]any{id}, args...)
	}
	ph := strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ")
	q := fmt.Sprintf(`INSERT INTO %s (%s) VALUES (%s) RETURNING id`, table, strings.Join(cols, ", "), ph)
	var out int64
	if err := tx.GetContext(ctx, &out, tx.Rebind(q), args...); err != nil {
		return 0, fmt.Errorf("store: insert %s: %w", table, err)
	}
	if id > 0 && tx.DriverName() != "sqlite" {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('%s', 'id'), GREATEST((SELECT MAX(id) FROM %s), 1))`, table, table)); err != nil {
			return 0, fmt.Errorf("store: sequence %s: %w", table, err)
		}
	}
	return out, nil
}

type locRow struct {
	ID         int64  `db:"id"`
	PracticeID int64  `db:"practice_id"`
	Name       string `db:"name"`
	SiteCode   string `db:"site_code"`
	Phone      string `db:"phone"`
	Address    string `db:"address"`
	Status     string `db:"status"`
	Version    int64  `db:"version"`
}

const locCols = `id, practice_id, name, site_code, phone, address, status, version`

func (r locRow) domain() *scheduling.Location {
	l := &scheduling.Location{ID: r.ID, PracticeID: r.PracticeID, Name: r.Name, SiteCode: r.SiteCode, Phone: r.Phone, Status: r.Status, Version: r.Version}
	_ = json.Unmarshal([]byte(r.Address), &l.Address)
	return l
}

// LocationByID reads a location of a practice. Returns ENOTFOUND (kind "location").
func (s *Store) LocationByID(ctx context.Context, practiceID, id int64) (*scheduling.Location, error) {
	var r locRow
	err := s.r.GetContext(ctx, &r, s.r.Rebind(`SELECT `+locCols+` FROM locations WHERE id = ? AND practice_id = ?`), id, practiceID)
	if err != nil {
		return nil, notFound(err, "location", "no location with id %d", id)
	}
	return r.domain(), nil
}

// LocationsByIDs reads several locations at once, keyed by id.
func (s *Store) LocationsByIDs(ctx context.Context, ids []int64) (map[int64]*scheduling.Location, error) {
	out := map[int64]*scheduling.Location{}
	if len(ids) == 0 {
		return out, nil
	}
	q, args, err := sqlx.In(`SELECT `+locCols+` FROM locations WHERE id IN (?)`, ids)
	if err != nil {
		return nil, err
	}
	var rows []locRow
	if err := s.r.SelectContext(ctx, &rows, s.r.Rebind(q), args...); err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.ID] = r.domain()
	}
	return out, nil
}

// Locations lists a practice's locations.
func (s *Store) Locations(ctx context.Context, practiceID int64) ([]*scheduling.Location, error) {
	var rows []locRow
	if err := s.r.SelectContext(ctx, &rows, s.r.Rebind(`SELECT `+locCols+` FROM locations WHERE practice_id = ? ORDER BY id`), practiceID); err != nil {
		return nil, err
	}
	out := make([]*scheduling.Location, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// SaveLocation inserts a location (explicit id kept) or updates it when the id exists.
func (s *Store) SaveLocation(ctx context.Context, l *scheduling.Location) (int64, error) {
	var id int64
	status := l.Status
	if status == "" {
		status = "active"
	}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		addr := toJSON(l.Address)
		if l.ID > 0 {
			var cur locRow
			err := tx.GetContext(ctx, &cur, tx.Rebind(`SELECT `+locCols+` FROM locations WHERE id = ?`), l.ID)
			if err == nil {
				id = cur.ID
				if cur.PracticeID == l.PracticeID && cur.Name == l.Name && cur.SiteCode == l.SiteCode && cur.Phone == l.Phone && cur.Address == addr && cur.Status == status {
					return nil
				}
				_, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE locations SET practice_id = ?, name = ?, site_code = ?, phone = ?, address = ?, status = ?, version = version + 1 WHERE id = ?`),
					l.PracticeID, l.Name, l.SiteCode, l.Phone, addr, status, l.ID)
				return err
			}
			if scheduling.ErrorCode(notFound(err, "", "")) != scheduling.ENOTFOUND {
				return err
			}
		}
		var err error
		id, err = insertReturningID(ctx, tx, "locations", l.ID, []string{"practice_id", "name", "site_code", "phone", "address", "status"},
			l.PracticeID, l.Name, l.SiteCode, l.Phone, addr, status)
		return err
	})
	return id, err
}

type pracRow struct {
	ID             int64  `db:"id"`
	PracticeID     int64  `db:"practice_id"`
	SDSUserID      string `db:"sds_user_id"`
	RoleProfileIDs string `db:"role_profile_ids"`
	Family         string `db:"family"`
	Given          string `db:"given"`
	Prefix         string `db:"prefix"`
	Gender         string `db:"gender"`
	Version        int64  `db:"version"`
}

const pracCols = `id, practice_id, sds_user_id, role_profile_ids, family, given, prefix, gender, version`

func (r pracRow) domain() *scheduling.Practitioner {
	return &scheduling.Practitioner{ID: r.ID, PracticeID: r.PracticeID, SDSUserID: r.SDSUserID, RoleProfileIDs: splitList(r.RoleProfileIDs),
		Family: r.Family, Given: splitList(r.Given), Prefix: splitList(r.Prefix), Gender: r.Gender, Version: r.Version}
}

// PractitionerByID reads a practitioner of a practice. Returns ENOTFOUND (kind "practitioner").
func (s *Store) PractitionerByID(ctx context.Context, practiceID, id int64) (*scheduling.Practitioner, error) {
	var r pracRow
	err := s.r.GetContext(ctx, &r, s.r.Rebind(`SELECT `+pracCols+` FROM practitioners WHERE id = ? AND practice_id = ?`), id, practiceID)
	if err != nil {
		return nil, notFound(err, "practitioner", "no practitioner with id %d", id)
	}
	return r.domain(), nil
}

// PractitionersBySDS finds a practice's practitioners by SDS user id (0 or 1 of them).
func (s *Store) PractitionersBySDS(ctx context.Context, practiceID int64, sds string) ([]*scheduling.Practitioner, error) {
	var rows []pracRow
	if err := s.r.SelectContext(ctx, &rows, s.r.Rebind(`SELECT `+pracCols+` FROM practitioners WHERE practice_id = ? AND sds_user_id = ? ORDER BY id`), practiceID, sds); err != nil {
		return nil, err
	}
	out := make([]*scheduling.Practitioner, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// PractitionersByIDs reads several practitioners at once, keyed by id.
func (s *Store) PractitionersByIDs(ctx context.Context, ids []int64) (map[int64]*scheduling.Practitioner, error) {
	out := map[int64]*scheduling.Practitioner{}
	if len(ids) == 0 {
		return out, nil
	}
	q, args, err := sqlx.In(`SELECT `+pracCols+` FROM practitioners WHERE id IN (?)`, ids)
	if err != nil {
		return nil, err
	}
	var rows []pracRow
	if err := s.r.SelectContext(ctx, &rows, s.r.Rebind(q), args...); err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.ID] = r.domain()
	}
	return out, nil
}

// SavePractitioner inserts a practitioner or updates it, matched by (practice, SDS user id).
func (s *Store) SavePractitioner(ctx context.Context, p *scheduling.Practitioner) (int64, error) {
	var id int64
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var cur pracRow
		err := tx.GetContext(ctx, &cur, tx.Rebind(`SELECT `+pracCols+` FROM practitioners WHERE practice_id = ? AND sds_user_id = ?`), p.PracticeID, p.SDSUserID)
		roles, given, prefix := joinList(p.RoleProfileIDs), joinList(p.Given), joinList(p.Prefix)
		if err == nil {
			id = cur.ID
			if cur.RoleProfileIDs == roles && cur.Family == p.Family && cur.Given == given && cur.Prefix == prefix && cur.Gender == p.Gender {
				return nil
			}
			_, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE practitioners SET role_profile_ids = ?, family = ?, given = ?, prefix = ?, gender = ?, version = version + 1 WHERE id = ?`),
				roles, p.Family, given, prefix, p.Gender, cur.ID)
			return err
		}
		if scheduling.ErrorCode(notFound(err, "", "")) != scheduling.ENOTFOUND {
			return err
		}
		id, err = insertReturningID(ctx, tx, "practitioners", p.ID, []string{"practice_id", "sds_user_id", "role_profile_ids", "family", "given", "prefix", "gender"},
			p.PracticeID, p.SDSUserID, roles, p.Family, given, prefix, p.Gender)
		return err
	})
	return id, err
}
