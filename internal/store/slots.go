package store

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/slotbridge/slotbridge/internal/scheduling"
)

type slotRow struct {
	ID              int64  `db:"id"`
	ScheduleID      int64  `db:"schedule_id"`
	PracticeID      int64  `db:"practice_id"`
	StartAt         int64  `db:"start_at"`
	EndAt           int64  `db:"end_at"`
	Status          string `db:"status"`
	Channel         string `db:"channel"`
	ServiceType     string `db:"service_type"`
	AccessProfileID int64  `db:"access_profile_id"`
	Version         int64  `db:"version"`
}

const slotCols = `id, schedule_id, practice_id, start_at, end_at, status, channel, service_type, access_profile_id, version`

func (r *slotRow) domain() scheduling.Slot {
	return scheduling.Slot{ID: r.ID, ScheduleID: r.ScheduleID, PracticeID: r.PracticeID, Start: time.Unix(r.StartAt, 0), End: time.Unix(r.EndAt, 0),
		Status: scheduling.SlotStatus(r.Status), DeliveryChannel: r.Channel, ServiceType: r.ServiceType, AccessProfileID: r.AccessProfileID, Version: r.Version}
}

type scheduleRow struct {
	ID              int64  `db:"id"`
	PracticeID      int64  `db:"practice_id"`
	LocationID      int64  `db:"location_id"`
	PractitionerID  int64  `db:"practitioner_id"`
	Role            string `db:"role"`
	ServiceCategory string `db:"service_category"`
	StartAt         int64  `db:"start_at"`
	EndAt           int64  `db:"end_at"`
	AccessProfileID int64  `db:"access_profile_id"`
	TemplateID      int64  `db:"template_id"`
	Status          string `db:"status"`
	Version         int64  `db:"version"`
}

const scheduleCols = `id, practice_id, location_id, practitioner_id, role, service_category, start_at, end_at, access_profile_id, template_id, status, version`

func (r *scheduleRow) domain() *scheduling.Schedule {
	return &scheduling.Schedule{ID: r.ID, PracticeID: r.PracticeID, LocationID: r.LocationID, PractitionerID: r.PractitionerID, Role: r.Role,
		ServiceCategory: r.ServiceCategory, Start: time.Unix(r.StartAt, 0), End: time.Unix(r.EndAt, 0), AccessProfileID: r.AccessProfileID,
		TemplateID: r.TemplateID, Status: r.Status, Version: r.Version}
}

// SearchFreeSlots finds the free slots that lie fully inside [Start, End], start
// after Now, and are offered to the consumer by their access profiles, ordered
// by start then id, with the schedules, practitioners and locations they need.
func (s *Store) SearchFreeSlots(ctx context.Context, q scheduling.SlotSearch) (*scheduling.SlotResult, error) {
	// A slot must start at or after Start: round a fractional-second Start up,
	// so a slot on the whole second before it is not included.
	from := q.Start.Unix()
	if q.Start.Nanosecond() != 0 {
		from++
	}
	if n := q.Now.Unix() + 1; n > from {
		from = n
	}
	rows, err := s.freeSlotRows(ctx, q.PracticeID, from, q.End.Unix())
	if err != nil {
		return nil, err
	}
	res := &scheduling.SlotResult{Schedules: map[int64]*scheduling.Schedule{}, Practitioners: map[int64]*scheduling.Practitioner{}, Locations: map[int64]*scheduling.Location{}}
	if len(rows) == 0 {
		return res, nil
	}
	profiles, err := s.AccessProfiles(ctx, q.PracticeID)
	if err != nil {
		return nil, err
	}
	cands := make([]scheduling.Slot, len(rows))
	for i := range rows {
		cands[i] = rows[i].domain()
	}
	res.Slots = scheduling.Offered(cands, profiles, q.Consumer, q.Now)
	if len(res.Slots) == 0 {
		return res, nil
	}
	ids := make([]int64, 0, 8)
	seen := map[int64]bool{}
	for _, sl := range res.Slots {
		if !seen[sl.ScheduleID] {
			seen[sl.ScheduleID] = true
			ids = append(ids, sl.ScheduleID)
		}
	}
	if res.Schedules, err = s.SchedulesByIDs(ctx, ids); err != nil {
		return nil, err
	}
	var locIDs, pracIDs []int64
	for _, sc := range res.Schedules {
		locIDs = append(locIDs, sc.LocationID)
		if sc.PractitionerID != 0 {
			pracIDs = append(pracIDs, sc.PractitionerID)
		}
	}
	if res.Locations, err = s.LocationsByIDs(ctx, dedupe(locIDs)); err != nil {
		return nil, err
	}
	if res.Practitioners, err = s.PractitionersByIDs(ctx, dedupe(pracIDs)); err != nil {
		return nil, err
	}
	return res, nil
}

func dedupe(ids []int64) []int64 {
	seen := make(map[int64]bool, len(ids))
	out := ids[:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// freeSlotRows runs the search's range query. It scans columns by hand: on a
// search of thousands of slots, sqlx's reflection was a fifth of the CPU.
func (s *Store) freeSlotRows(ctx context.Context, practiceID, from, to int64) ([]slotRow, error) {
	rs, err := s.r.QueryContext(ctx, s.r.Rebind(`SELECT `+slotCols+` FROM slots
		WHERE practice_id = ? AND status = 'free' AND start_at >= ? AND end_at <= ? ORDER BY start_at, id`), practiceID, from, to)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	rows := make([]slotRow, 0, 64)
	for rs.Next() {
		rows = append(rows, slotRow{})
		r := &rows[len(rows)-1]
		if err := rs.Scan(&r.ID, &r.ScheduleID, &r.PracticeID, &r.StartAt, &r.EndAt, &r.Status, &r.Channel, &r.ServiceType, &r.AccessProfileID, &r.Version); err != nil {
			return nil, err
		}
	}
	return rows, rs.Err()
}

// SchedulesByIDs reads several schedules at once, keyed by id.
func (s *Store) SchedulesByIDs(ctx context.Context, ids []int64) (map[int64]*scheduling.Schedule, error) {
	out := map[int64]*scheduling.Schedule{}
	if len(ids) == 0 {
		return out, nil
	}
	q, args, err := sqlx.In(`SELECT `+scheduleCols+` FROM schedules WHERE id IN (?)`, ids)
	if err != nil {
		return nil, err
	}
	var rows []scheduleRow
	if err := s.r.SelectContext(ctx, &rows, s.r.Rebind(q), args...); err != nil {
		return nil, err
	}
	for i := range rows {
		out[rows[i].ID] = rows[i].domain()
	}
	return out, nil
}
