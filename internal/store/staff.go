package store

import (
	"context"

	"github.com/jmoiron/sqlx"

	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// A practice's clinicians and locations as its admins change them. Every
// change bumps the row's version; the ref_generations triggers tell the
// slot search's cached copy, on this instance and any other.

// Practitioners lists a practice's practitioners by id.
func (s *Store) Practitioners(ctx context.Context, practiceID int64) ([]*scheduling.Practitioner, error) {
	var rows []pracRow
	if err := s.r.SelectContext(ctx, &rows, s.r.Rebind(`SELECT `+pracCols+` FROM practitioners WHERE practice_id = ? ORDER BY id`), practiceID); err != nil {
		return nil, err
	}
	out := make([]*scheduling.Practitioner, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// Practitioner reads a practitioner of the practice, locked on PostgreSQL
// so that a concurrent change waits. Returns ENOTFOUND (kind "practitioner").
func (a *AdminTx) Practitioner(practiceID, id int64) (*scheduling.Practitioner, error) {
	var r pracRow
	err := a.tx.GetContext(a.ctx, &r, a.tx.Rebind(`SELECT `+pracCols+` FROM practitioners WHERE id = ? AND practice_id = ?`+forUpdate(a.tx)), id, practiceID)
	if err != nil {
		return nil, notFound(err, "practitioner", "no practitioner with id %d", id)
	}
	return r.domain(), nil
}

// InsertPractitioner adds a practitioner. Returns EDUPLICATE when the
// practice already has one with that SDS user id.
func (a *AdminTx) InsertPractitioner(p *scheduling.Practitioner) (int64, error) {
	id, err := insertReturningID(a.ctx, a.tx, "practitioners", 0, []string{"practice_id", "sds_user_id", "role_profile_ids", "family", "given", "prefix", "gender"},
		p.PracticeID, p.SDSUserID, joinList(p.RoleProfileIDs), p.Family, joinList(p.Given), joinList(p.Prefix), p.Gender)
	if isUniqueViolation(err) {
		return 0, duplicateSDS(p.SDSUserID)
	}
	return id, err
}

// UpdatePractitioner writes a practitioner and bumps its version. Returns
// EDUPLICATE when another of the practice's practitioners has the SDS user id.
func (a *AdminTx) UpdatePractitioner(p *scheduling.Practitioner) error {
	_, err := a.tx.ExecContext(a.ctx, a.tx.Rebind(`UPDATE practitioners SET sds_user_id = ?, role_profile_ids = ?, family = ?, given = ?, prefix = ?, gender = ?,
		version = version + 1 WHERE id = ? AND practice_id = ?`),
		p.SDSUserID, joinList(p.RoleProfileIDs), p.Family, joinList(p.Given), joinList(p.Prefix), p.Gender, p.ID, p.PracticeID)
	if isUniqueViolation(err) {
		return duplicateSDS(p.SDSUserID)
	}
	return err
}

func duplicateSDS(sds string) error {
	return scheduling.Errorf(scheduling.EDUPLICATE, "the practice already has a practitioner with SDS user id %q", sds)
}

// Location reads a location of the practice, locked on PostgreSQL so that
// a concurrent change waits. Returns ENOTFOUND (kind "location").
func (a *AdminTx) Location(practiceID, id int64) (*scheduling.Location, error) {
	var r locRow
	err := a.tx.GetContext(a.ctx, &r, a.tx.Rebind(`SELECT `+locCols+` FROM locations WHERE id = ? AND practice_id = ?`+forUpdate(a.tx)), id, practiceID)
	if err != nil {
		return nil, notFound(err, "location", "no location with id %d", id)
	}
	return r.domain(), nil
}

// InsertLocation adds an active location.
func (a *AdminTx) InsertLocation(l *scheduling.Location) (int64, error) {
	return insertReturningID(a.ctx, a.tx, "locations", 0, []string{"practice_id", "name", "site_code", "phone", "address", "status"},
		l.PracticeID, l.Name, l.SiteCode, l.Phone, toJSON(l.Address), "active")
}

// UpdateLocation writes a location's name, site code, phone and address and bumps its version.
func (a *AdminTx) UpdateLocation(l *scheduling.Location) error {
	_, err := a.tx.ExecContext(a.ctx, a.tx.Rebind(`UPDATE locations SET name = ?, site_code = ?, phone = ?, address = ?, version = version + 1
		WHERE id = ? AND practice_id = ?`), l.Name, l.SiteCode, l.Phone, toJSON(l.Address), l.ID, l.PracticeID)
	return err
}

// InsertPractice adds a practice with both switches off, to be set up by
// its admins before it is enabled. Returns EDUPLICATE when the ODS code is
// taken (by a practice or by another organisation).
func (a *AdminTx) InsertPractice(o *scheduling.Organisation) (int64, error) {
	id, err := insertReturningID(a.ctx, a.tx, "organisations", 0,
		[]string{"ods", "name", "kind", "asid", "phone", "address", "gpc_enabled", "appts_enabled", "service_filtering", "updated"},
		o.ODS, o.Name, scheduling.KindPractice, o.ASID, o.Phone, toJSON(o.Address), false, false, false, a.now.Unix())
	if isUniqueViolation(err) {
		return 0, scheduling.Errorf(scheduling.EDUPLICATE, "an organisation with ODS code %s exists already", o.ODS)
	}
	return id, err
}

// PatientNHSNumbers maps those of the ids that are the practice's patients to their NHS numbers, in one query.
func (s *Store) PatientNHSNumbers(ctx context.Context, practiceID int64, ids []int64) (map[int64]string, error) {
	out := map[int64]string{}
	if len(ids) == 0 {
		return out, nil
	}
	q, args, err := sqlx.In(`SELECT id, nhs_number FROM patients WHERE practice_id = ? AND id IN (?)`, practiceID, ids)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		ID  int64  `db:"id"`
		NHS string `db:"nhs_number"`
	}
	if err := s.r.SelectContext(ctx, &rows, s.r.Rebind(q), args...); err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.ID] = r.NHS
	}
	return out, nil
}
