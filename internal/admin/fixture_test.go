package admin_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/admin"
	"github.com/slotbridge/slotbridge/internal/demo"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// fixtureNow is a Wednesday morning four days before the spring clock change
// (Sunday 29 March 2026), so ten days of demo sessions span it.
var fixtureNow = time.Date(2026, 3, 25, 10, 0, 0, 0, time.UTC)

const ods = "A20047"

// fx is a fresh store with the demo data, and the admin service over it.
type fx struct {
	t    *testing.T
	ctx  context.Context
	st   *store.Store
	svc  *admin.Service
	cli  admin.Actor
	org  *scheduling.Organisation
	now  time.Time
	pat  int64
	open int64 // the demo's unrestricted profile at A20047
}

func newFx(t *testing.T, e storetest.Engine) *fx { return newFxAt(t, e, fixtureNow, false) }

// newFxAt loads the demo data as at now; with realClock the service keeps the
// real clock (for tests that go through the provider, which has one).
func newFxAt(t *testing.T, e storetest.Engine, now time.Time, realClock bool) *fx {
	t.Helper()
	st := storetest.Open(t, e)
	ctx := t.Context()
	if err := demo.Load(ctx, st, now, 10*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	svc := admin.New(st)
	if !realClock {
		svc.Now = func() time.Time { return now }
	}
	svc.Horizon = 10 * 24 * time.Hour
	f := &fx{t: t, ctx: ctx, st: st, svc: svc, cli: admin.Actor{Name: "cli:test"}, now: now}
	org, err := st.OrganisationByODS(ctx, ods)
	f.ok(err)
	f.org = org
	f.pat = f.scalar(`SELECT id FROM patients WHERE nhs_number = ? AND practice_id = ?`, "9658218865", org.ID)
	f.open = f.scalar(`SELECT id FROM access_profiles WHERE practice_id = ? AND name = 'open'`, org.ID)
	return f
}

func (f *fx) ok(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fx) scalar(q string, args ...any) int64 {
	f.t.Helper()
	var n int64
	db := f.st.DB()
	if err := db.GetContext(f.ctx, &n, db.Rebind(q), args...); err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
	return n
}

func (f *fx) ids(q string, args ...any) []int64 {
	f.t.Helper()
	var out []int64
	db := f.st.DB()
	if err := db.SelectContext(f.ctx, &out, db.Rebind(q), args...); err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
	return out
}

// openSession returns a future session at A20047 whose slots all use the open profile.
func (f *fx) openSession() int64 {
	f.t.Helper()
	return f.scalar(`SELECT sc.id FROM schedules sc WHERE sc.practice_id = ? AND sc.access_profile_id = ? AND sc.start_at > ? AND sc.status = 'active'
		ORDER BY sc.start_at, sc.id LIMIT 1`, f.org.ID, f.open, f.now.Add(24*time.Hour).Unix())
}

// book books one slot for the demo patient, as an urgent-care consumer.
func (f *fx) book(slotID int64) *scheduling.Appointment {
	f.t.Helper()
	a, err := f.bookErr(slotID)
	f.ok(err)
	return a
}

// tryBook books like book but returns the error (safe from any goroutine).
func (f *fx) tryBook(slotID int64) error {
	_, err := f.bookErr(slotID)
	return err
}

func (f *fx) bookErr(slotID int64) (*scheduling.Appointment, error) { return f.bookAt(slotID, f.now) }

// bookAt books like bookErr, as at now.
func (f *fx) bookAt(slotID int64, now time.Time) (*scheduling.Appointment, error) {
	var row struct {
		Start int64 `db:"start_at"`
		End   int64 `db:"end_at"`
		Loc   int64 `db:"location_id"`
	}
	db := f.st.DB()
	if err := db.GetContext(f.ctx, &row, db.Rebind(`SELECT s.start_at, s.end_at, sc.location_id FROM slots s JOIN schedules sc ON sc.id = s.schedule_id
		WHERE s.id = ?`), slotID); err != nil {
		return nil, err
	}
	start, end := time.Unix(row.Start, 0), time.Unix(row.End, 0)
	a, _, err := f.st.Book(f.ctx, &scheduling.BookRequest{PracticeID: f.org.ID, PatientID: f.pat, LocationID: row.Loc, SlotIDs: []int64{slotID},
		Start: start, End: end, StartText: scheduling.FormatLocal(start), EndText: scheduling.FormatLocal(end), Description: "test",
		BookingOrg: scheduling.BookingOrg{ODS: "GPCA0001", Name: "Test", Type: "urgent-care"}, Now: now,
		TraceID: fmt.Sprintf("admin-test-%d", traces.Add(1))}) // each booking a new request (spec §2.1)
	return a, err
}

var traces atomic.Int64

func wantCode(t *testing.T, err error, code scheduling.Code) {
	t.Helper()
	var e *scheduling.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("err = %v, want code %s", err, code)
	}
}

func ptr[T any](v T) *T { return &v }
