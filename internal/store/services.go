package store

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// Healthcare services (spec §5.10). A practice has a handful, so they are
// read when needed rather than cached: the slot search reads them only when
// service filtering is on and the consumer asked for it.

type serviceRow struct {
	ID         int64  `db:"id"`
	PracticeID int64  `db:"practice_id"`
	DOSID      string `db:"dos_id"`
	Name       string `db:"name"`
	Version    int64  `db:"version"`
	Updated    int64  `db:"updated"`
}

const serviceCols = `id, practice_id, dos_id, name, version, updated`

func (r serviceRow) domain() scheduling.HealthcareService {
	return scheduling.HealthcareService{ID: r.ID, PracticeID: r.PracticeID, DOSID: r.DOSID, Name: r.Name, Version: r.Version,
		Updated: time.Unix(r.Updated, 0)}
}

func servicesOf(rows []serviceRow) []scheduling.HealthcareService {
	out := make([]scheduling.HealthcareService, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out
}

// HealthcareServices lists a practice's services in id order.
func (s *Store) HealthcareServices(ctx context.Context, practiceID int64) ([]scheduling.HealthcareService, error) {
	var rows []serviceRow
	if err := s.r.SelectContext(ctx, &rows, s.r.Rebind(`SELECT `+serviceCols+` FROM healthcare_services WHERE practice_id = ? ORDER BY id`), practiceID); err != nil {
		return nil, unavailable(err)
	}
	return servicesOf(rows), nil
}

// HealthcareService reads one of a practice's services. Returns ENOTFOUND (kind "service").
func (s *Store) HealthcareService(ctx context.Context, practiceID, id int64) (*scheduling.HealthcareService, error) {
	var r serviceRow
	if err := s.r.GetContext(ctx, &r, s.r.Rebind(`SELECT `+serviceCols+` FROM healthcare_services WHERE id = ? AND practice_id = ?`), id, practiceID); err != nil {
		return nil, notFound(err, "service", "no healthcare service %d at this practice", id)
	}
	h := r.domain()
	return &h, nil
}

// HealthcareServiceByDOS reads a practice's service by its DOS id. Returns ENOTFOUND (kind "service").
func (s *Store) HealthcareServiceByDOS(ctx context.Context, practiceID int64, dosID string) (*scheduling.HealthcareService, error) {
	var r serviceRow
	if err := s.r.GetContext(ctx, &r, s.r.Rebind(`SELECT `+serviceCols+` FROM healthcare_services WHERE practice_id = ? AND dos_id = ?`), practiceID, dosID); err != nil {
		return nil, notFound(err, "service", "no healthcare service with DOS id %q at this practice", dosID)
	}
	h := r.domain()
	return &h, nil
}

// SaveHealthcareService adds a service unless the practice already has it,
// by its ID (when set) or by its DOS id, and returns its id. A service that
// exists is left as it is: once loaded, a service belongs to the practice's
// admins, who may rename it or change its DOS id. An explicit ID is kept on
// insert (the demo data's ids are the test pack's); one that another
// practice's service holds is EDUPLICATE.
func (s *Store) SaveHealthcareService(ctx context.Context, h *scheduling.HealthcareService) (int64, error) {
	if err := h.Validate(); err != nil {
		return 0, err
	}
	var id int64
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var cur serviceRow
		if h.ID != 0 {
			err := tx.GetContext(ctx, &cur, tx.Rebind(`SELECT `+serviceCols+` FROM healthcare_services WHERE id = ?`), h.ID)
			if err == nil {
				if cur.PracticeID != h.PracticeID {
					return scheduling.Errorf(scheduling.EDUPLICATE, "healthcare service id %d belongs to another practice", h.ID)
				}
				id = cur.ID
				return nil
			}
			if scheduling.ErrorCode(notFound(err, "", "")) != scheduling.ENOTFOUND {
				return err
			}
		}
		err := tx.GetContext(ctx, &cur, tx.Rebind(`SELECT `+serviceCols+` FROM healthcare_services WHERE practice_id = ? AND dos_id = ?`), h.PracticeID, h.DOSID)
		if err == nil {
			id = cur.ID
			return nil
		}
		if scheduling.ErrorCode(notFound(err, "", "")) != scheduling.ENOTFOUND {
			return err
		}
		c := *h
		c.Updated = s.Now()
		id, err = (&AdminTx{ctx: ctx, tx: tx, now: c.Updated}).insertService(&c, h.ID)
		return err
	})
	return id, err
}

// HealthcareService reads one of a practice's services, holding a share
// lock on it (PostgreSQL) until the transaction ends, so that a link made in
// this transaction and a delete in another cannot both commit (the delete
// counts the links first). Returns ENOTFOUND (kind "service").
func (a *AdminTx) HealthcareService(practiceID, id int64) (*scheduling.HealthcareService, error) {
	return a.service(practiceID, id, " FOR SHARE")
}

// LockHealthcareService is HealthcareService holding the row for update,
// for a delete: a link waits for it, and then finds no service.
func (a *AdminTx) LockHealthcareService(practiceID, id int64) (*scheduling.HealthcareService, error) {
	return a.service(practiceID, id, " FOR UPDATE")
}

// service reads a service with lock (a FOR clause) on PostgreSQL; SQLite
// serialises writers, so it needs none.
func (a *AdminTx) service(practiceID, id int64, lock string) (*scheduling.HealthcareService, error) {
	if a.tx.DriverName() == "sqlite" {
		lock = ""
	}
	var r serviceRow
	if err := a.tx.GetContext(a.ctx, &r, a.tx.Rebind(`SELECT `+serviceCols+` FROM healthcare_services WHERE id = ? AND practice_id = ?`+lock), id, practiceID); err != nil {
		return nil, notFound(err, "service", "no healthcare service %d at this practice", id)
	}
	h := r.domain()
	return &h, nil
}

// InsertHealthcareService inserts a service and returns its id. Returns EDUPLICATE when the practice already lists the DOS id.
func (a *AdminTx) InsertHealthcareService(h *scheduling.HealthcareService) (int64, error) {
	return a.insertService(h, 0)
}

func (a *AdminTx) insertService(h *scheduling.HealthcareService, id int64) (int64, error) {
	id, err := insertReturningID(a.ctx, a.tx, "healthcare_services", id, []string{"practice_id", "dos_id", "name", "updated"},
		h.PracticeID, h.DOSID, h.Name, h.Updated.Unix())
	if isUniqueViolation(err) {
		return 0, scheduling.Errorf(scheduling.EDUPLICATE, "the practice already lists the service with DOS id %q", h.DOSID)
	}
	return id, err
}

// UpdateHealthcareService writes a service's DOS id and name and bumps its
// version. Returns EDUPLICATE when the practice already lists the DOS id.
func (a *AdminTx) UpdateHealthcareService(h *scheduling.HealthcareService) error {
	_, err := a.tx.ExecContext(a.ctx, a.tx.Rebind(`UPDATE healthcare_services SET dos_id = ?, name = ?, version = version + 1, updated = ?
		WHERE id = ? AND practice_id = ?`), h.DOSID, h.Name, h.Updated.Unix(), h.ID, h.PracticeID)
	if isUniqueViolation(err) {
		return scheduling.Errorf(scheduling.EDUPLICATE, "the practice already lists the service with DOS id %q", h.DOSID)
	}
	return err
}

// ServiceUses counts what refers to a service: templates, sessions and appointments.
func (a *AdminTx) ServiceUses(id int64) (int, error) {
	var n int
	err := a.tx.GetContext(a.ctx, &n, a.tx.Rebind(`SELECT (SELECT COUNT(*) FROM session_templates WHERE healthcare_service_id = ?)
		+ (SELECT COUNT(*) FROM schedules WHERE healthcare_service_id = ?) + (SELECT COUNT(*) FROM appointments WHERE healthcare_service_id = ?)`), id, id, id)
	return n, err
}

// DeleteHealthcareService removes a service (the caller checks ServiceUses first).
func (a *AdminTx) DeleteHealthcareService(practiceID, id int64) error {
	_, err := a.tx.ExecContext(a.ctx, a.tx.Rebind(`DELETE FROM healthcare_services WHERE id = ? AND practice_id = ?`), id, practiceID)
	return err
}

// SetServiceFiltering sets an organisation's service-filtering switch.
func (a *AdminTx) SetServiceFiltering(id int64, on bool, now time.Time) error {
	_, err := a.tx.ExecContext(a.ctx, a.tx.Rebind(`UPDATE organisations SET service_filtering = ?, version = version + 1, updated = ? WHERE id = ?`),
		on, now.Unix(), id)
	return err
}

// SetSessionService links a session to a service (0 unlinks it). Its
// appointments keep the service they were booked under.
func (a *AdminTx) SetSessionService(scheduleID, serviceID int64) error {
	_, err := a.tx.ExecContext(a.ctx, a.tx.Rebind(`UPDATE schedules SET healthcare_service_id = ?, version = version + 1 WHERE id = ?`), serviceID, scheduleID)
	return err
}

// SetServiceFiltering sets a practice's service-filtering switch (spec §5.10),
// as SetSwitches sets the others: for tools and tests, unaudited. Practice
// admins change it through internal/admin, which audits every change.
func (s *Store) SetServiceFiltering(ctx context.Context, ods string, on bool) error {
	defer s.orgEpoch.Add(1)
	res, err := s.w.ExecContext(ctx, s.w.Rebind(`UPDATE organisations SET service_filtering = ?, version = version + 1, updated = ? WHERE ods = ?`),
		on, s.Now().Unix(), ods)
	if err != nil {
		return unavailable(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return scheduling.NotFound("organisation", "no organisation with ODS code %q", ods)
	}
	return nil
}
