package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// bulkRows is how many rows one multi-row INSERT carries: 500 slots is 4,000
// parameters, well under SQLite's and PostgreSQL's limits.
const bulkRows = 500

// InsertSessions stores generated sessions (schedules and their slots) in one
// transaction with multi-row INSERTs, for loading large data sets fast (the
// bench generator). Unlike Materialise it does not skip sessions that exist:
// a template session stored twice fails on the unique index. Each session's
// Schedule.ID and its slots' ScheduleID are set on success.
func (s *Store) InsertSessions(ctx context.Context, sessions []scheduling.Session) error {
	if len(sessions) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		done, err := insertSchedules(ctx, tx, sessions)
		if err != nil || done {
			return err
		}
		return insertSlots(ctx, tx, sessions)
	})
}

// schedKey identifies a schedule within one bulk insert, so ids from RETURNING
// (whose row order neither engine promises) can be matched to their sessions.
type schedKey struct {
	practice, practitioner, location, start, end int64
}

// insertSchedules stores the schedules; done reports that it fell back to
// storing whole sessions (slots included) one at a time.
func insertSchedules(ctx context.Context, tx *sqlx.Tx, sessions []scheduling.Session) (done bool, err error) {
	keys := make(map[schedKey]int, len(sessions))
	for i := range sessions {
		sc := &sessions[i].Schedule
		k := schedKey{sc.PracticeID, sc.PractitionerID, sc.LocationID, sc.Start.Unix(), sc.End.Unix()}
		if _, dup := keys[k]; dup {
			// Two sessions look alike: store them one at a time instead.
			for j := range sessions {
				if _, err := insertSession(ctx, tx, &sessions[j], false); err != nil {
					return false, err
				}
			}
			return true, nil
		}
		keys[k] = i
	}
	const cols = 10
	for lo := 0; lo < len(sessions); lo += bulkRows {
		hi := min(lo+bulkRows, len(sessions))
		var b strings.Builder
		b.WriteString(`INSERT INTO schedules (practice_id, location_id, practitioner_id, role, service_category, start_at, end_at, access_profile_id, template_id, status) VALUES `)
		args := make([]any, 0, (hi-lo)*cols)
		for i := lo; i < hi; i++ {
			if i > lo {
				b.WriteByte(',')
			}
			b.WriteString(`(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
			sc := &sessions[i].Schedule
			args = append(args, sc.PracticeID, sc.LocationID, sc.PractitionerID, sc.Role, sc.ServiceCategory, sc.Start.Unix(), sc.End.Unix(),
				sc.AccessProfileID, sc.TemplateID, sc.Status)
		}
		b.WriteString(` RETURNING id, practice_id, practitioner_id, location_id, start_at, end_at`)
		rows, err := tx.QueryContext(ctx, tx.Rebind(b.String()), args...)
		if err != nil {
			return false, fmt.Errorf("store: insert schedules: %w", err)
		}
		n := 0
		for rows.Next() {
			var id int64
			var k schedKey
			if err := rows.Scan(&id, &k.practice, &k.practitioner, &k.location, &k.start, &k.end); err != nil {
				rows.Close()
				return false, err
			}
			i, ok := keys[k]
			if !ok {
				rows.Close()
				return false, fmt.Errorf("store: insert schedules: returned row %d matches no session", id)
			}
			sessions[i].Schedule.ID = id
			n++
		}
		if err := rows.Err(); err != nil {
			return false, err
		}
		rows.Close()
		if n != hi-lo {
			return false, fmt.Errorf("store: insert schedules: %d rows returned for %d sessions", n, hi-lo)
		}
	}
	return false, nil
}

func insertSlots(ctx context.Context, tx *sqlx.Tx, sessions []scheduling.Session) error {
	const cols = 8
	full := ""
	var batch []any
	rowsIn := 0
	flush := func() error {
		if rowsIn == 0 {
			return nil
		}
		q := full
		if rowsIn != bulkRows || q == "" {
			q = slotInsertSQL(rowsIn)
			if rowsIn == bulkRows {
				full = q
			}
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(q), batch...); err != nil {
			return fmt.Errorf("store: insert slots: %w", err)
		}
		batch, rowsIn = batch[:0], 0
		return nil
	}
	batch = make([]any, 0, bulkRows*cols)
	for i := range sessions {
		ses := &sessions[i]
		for j := range ses.Slots {
			sl := &ses.Slots[j]
			sl.ScheduleID = ses.Schedule.ID
			batch = append(batch, sl.ScheduleID, ses.Schedule.PracticeID, sl.Start.Unix(), sl.End.Unix(), string(sl.Status), sl.DeliveryChannel,
				sl.ServiceType, sl.AccessProfileID)
			rowsIn++
			if rowsIn == bulkRows {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

func slotInsertSQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO slots (schedule_id, practice_id, start_at, end_at, status, channel, service_type, access_profile_id) VALUES `)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`(?, ?, ?, ?, ?, ?, ?, ?)`)
	}
	return b.String()
}

// auditCols are the audit columns AuditBulk writes, in order.
const auditCols = `at, trace_id, interaction, method, path, practice_ods, from_asid, to_asid, req_org, req_practitioner, req_device, status, spine_code, resource_ids, duration_us`

// auditErr marks an audit write the database refused for what the records
// hold (SQLSTATE class 22, a data exception) as EINVALID, so the writer
// knows a retry cannot help; anything else may pass (the database restarting).
func auditErr(err error) error {
	if strings.HasPrefix(sqlState(err), "22") {
		return scheduling.Errorf(scheduling.EINVALID, "store: audit: the database refused a record: %v", err)
	}
	return fmt.Errorf("store: audit: %w", err)
}

// AuditBulk appends records like AuditBatch, atomically, but with multi-row
// INSERTs: the provider's audit writer sends every request's record in
// batches, and one statement per record was a round trip per request. A batch
// that fits one statement needs no transaction around it (a statement is
// atomic on its own), which saves BEGIN and COMMIT round trips.
func (s *Store) AuditBulk(ctx context.Context, recs []scheduling.AuditRecord) error {
	if len(recs) == 0 {
		return nil
	}
	if len(recs) <= bulkRows {
		q, args := auditRowsInsert(recs)
		if _, err := s.w.ExecContext(ctx, s.w.Rebind(q), args...); err != nil {
			return auditErr(err)
		}
		return nil
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		for lo := 0; lo < len(recs); lo += bulkRows {
			q, args := auditRowsInsert(recs[lo:min(lo+bulkRows, len(recs))])
			if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
				return auditErr(err)
			}
		}
		return nil
	})
}

// auditRowsInsert is one multi-row INSERT of recs (written with ?).
func auditRowsInsert(recs []scheduling.AuditRecord) (string, []any) {
	var b strings.Builder
	b.WriteString(`INSERT INTO audit (` + auditCols + `) VALUES `)
	args := make([]any, 0, len(recs)*15)
	for i := range recs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		args = append(args, auditArgs(&recs[i])...)
	}
	return b.String(), args
}
