package store

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/slotbridge/slotbridge/internal/scheduling"
)

type auditRow struct {
	ID          int64  `db:"id"`
	At          int64  `db:"at"`
	TraceID     string `db:"trace_id"`
	Interaction string `db:"interaction"`
	Method      string `db:"method"`
	Path        string `db:"path"`
	PracticeODS string `db:"practice_ods"`
	FromASID    string `db:"from_asid"`
	ToASID      string `db:"to_asid"`
	ReqOrg      string `db:"req_org"`
	ReqUser     string `db:"req_practitioner"`
	ReqDevice   string `db:"req_device"`
	Status      int    `db:"status"`
	SpineCode   string `db:"spine_code"`
	ResourceIDs string `db:"resource_ids"`
	DurationUS  int64  `db:"duration_us"`
}

const auditInsert = `INSERT INTO audit (at, trace_id, interaction, method, path, practice_ods, from_asid, to_asid,
	req_org, req_practitioner, req_device, status, spine_code, resource_ids, duration_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func auditArgs(a *scheduling.AuditRecord) []any {
	t := auditText
	return []any{a.At.UnixMicro(), t(a.TraceID), t(a.Interaction), t(a.Method), t(a.Path), t(a.PracticeODS), t(a.FromASID), t(a.ToASID),
		t(a.RequestingOrg), t(a.RequestingUser), t(a.RequestingDevice), a.Status, t(a.SpineCode), t(a.ResourceIDs), a.Duration.Microseconds()}
}

// auditText makes a value storable in any engine's text column: PostgreSQL
// refuses a NUL and invalid UTF-8, which a request can carry (a JSON token
// claim "\u0000", a path segment %FF). The audit records what was asked,
// whatever it was, so such a value is kept with U+FFFD in place of the bad
// bytes rather than fail the write (and, for a command, the command with it).
func auditText(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// Audit appends one record. The table refuses updates and deletes.
func (s *Store) Audit(ctx context.Context, a *scheduling.AuditRecord) error {
	_, err := s.w.ExecContext(ctx, s.w.Rebind(auditInsert), auditArgs(a)...)
	return err
}

// audited wraps the body of a command's transaction so that, when the body
// succeeds, the command's audit record is inserted in the same transaction:
// the change and its audit row commit together or not at all, so a crash
// cannot leave a change that was answered as done without its record.
// resource names the changed resource ("Appointment/12") once the body has
// run. With a nil record the body runs unchanged (store-level callers).
func audited(ctx context.Context, a *scheduling.AuditRecord, resource func() string, fn func(tx *sqlx.Tx) error) func(tx *sqlx.Tx) error {
	if a == nil {
		return fn
	}
	return func(tx *sqlx.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, tx.Rebind(auditInsert), auditArgs(completed(a, resource()))...)
		return err
	}
}

// completed is a command's audit record as written once the command is
// done: the resource it touched, and its duration unless the caller set one.
func completed(a *scheduling.AuditRecord, resource string) *scheduling.AuditRecord {
	rec := *a
	rec.ResourceIDs = resource
	if rec.Duration == 0 && !rec.At.IsZero() {
		rec.Duration = time.Since(rec.At)
	}
	return &rec
}

// AuditRecords lists audit records, newest first.
func (s *Store) AuditRecords(ctx context.Context, f scheduling.AuditFilter) ([]scheduling.AuditRecord, error) {
	q := `SELECT id, at, trace_id, interaction, method, path, practice_ods, from_asid, to_asid, req_org, req_practitioner, req_device,
		status, spine_code, resource_ids, duration_us FROM audit WHERE at >= ?`
	args := []any{f.Since.UnixMicro()}
	if f.PracticeODS != "" {
		q += ` AND practice_ods = ?`
		args = append(args, f.PracticeODS)
	}
	q += ` ORDER BY id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	var rows []auditRow
	if err := s.r.SelectContext(ctx, &rows, s.r.Rebind(q), args...); err != nil {
		return nil, err
	}
	out := make([]scheduling.AuditRecord, len(rows))
	for i, r := range rows {
		out[i] = scheduling.AuditRecord{ID: r.ID, At: time.UnixMicro(r.At), TraceID: r.TraceID, Interaction: r.Interaction, Method: r.Method,
			Path: r.Path, PracticeODS: r.PracticeODS, FromASID: r.FromASID, ToASID: r.ToASID, RequestingOrg: r.ReqOrg, RequestingUser: r.ReqUser,
			RequestingDevice: r.ReqDevice, Status: r.Status, SpineCode: r.SpineCode, ResourceIDs: r.ResourceIDs, Duration: time.Duration(r.DurationUS) * time.Microsecond}
	}
	return out, nil
}

// AuditBatch appends several records in one transaction.
func (s *Store) AuditBatch(ctx context.Context, recs []scheduling.AuditRecord) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		q := tx.Rebind(auditInsert)
		for i := range recs {
			a := &recs[i]
			if _, err := tx.ExecContext(ctx, q, auditArgs(a)...); err != nil {
				return err
			}
		}
		return nil
	})
}
