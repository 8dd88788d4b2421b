package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// TestStoreContract runs one store contract suite on every engine:
// SQLite always, and PostgreSQL through pgx and lib/pq when
// SLOTBRIDGE_TEST_DATABASE_URL is set. Every case opens its own fresh store.
func TestStoreContract(t *testing.T) {
	cases := []struct {
		name string
		fn   func(t *testing.T, e storetest.Engine)
	}{
		{"MigrationsApplied", testMigrationsApplied},
		{"ReopenIsNoOp", testReopenIsNoOp},
		{"ConcurrentOpenMigratesOnce", testConcurrentOpen},
		{"OpenWithOneConnection", testOpenWithOneConnection},
		{"OrganisationUpsertByODS", testOrganisationUpsert},
		{"OrganisationExplicitIDsThenNewID", testOrganisationIDs},
		{"OrganisationNotFound", testOrganisationNotFound},
		{"SetSwitches", testSetSwitches},
		{"Locations", testLocations},
		{"Practitioners", testPractitioners},
		{"Patients", testPatients},
		{"PatientUnchangedSaveKeepsVersion", testPatientUnchangedSaveKeepsVersion},
		{"PatientCommunication", testPatientCommunication},
		{"RegisterTemporary", testRegisterTemporary},
		{"PDSLookup", testPDSLookup},
		{"AccessProfileUpsertByName", testAccessProfiles},
		{"SessionTemplateUpsertByName", testSessionTemplates},
		{"MaterialiseIdempotent", testMaterialiseIdempotent},
		{"MaterialiseKeepsLocalTimeAcrossClockChanges", testMaterialiseClockChanges},
		{"SearchFreeSlots", testSearchFreeSlots},
		{"AuditRoundTrip", testAuditRoundTrip},
		{"AuditAppendOnly", testAuditAppendOnly},
	}
	for _, e := range storetest.Engines(true) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) { c.fn(t, e) })
			}
		})
	}
}

// TestPostgresSuiteRan makes CI fail when it would silently run the contract
// suite on SQLite only.
func TestPostgresSuiteRan(t *testing.T) {
	if os.Getenv("CI") != "true" {
		t.Skip("CI is not \"true\": PostgreSQL is optional outside CI (set " + storetest.EnvURL + " to run it)")
	}
	if os.Getenv(storetest.EnvURL) == "" {
		t.Fatalf("CI=true but %s is empty: the store contract suite would skip PostgreSQL", storetest.EnvURL)
	}
	var names []string
	for _, e := range storetest.Engines(true) {
		names = append(names, e.Name)
	}
	if want := []string{"sqlite", "postgres-pgx", "postgres-pq"}; !slices.Equal(names, want) {
		t.Fatalf("engines = %v, want %v", names, want)
	}
}

// ---- helpers ----

// fx is a fresh store under test with small builders that fail the test on error.
type fx struct {
	t   *testing.T
	ctx context.Context
	st  *store.Store
}

func newFx(t *testing.T, e storetest.Engine) *fx {
	t.Helper()
	st := storetest.Open(t, e)
	st.Now = func() time.Time { return time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC) }
	return &fx{t: t, ctx: t.Context(), st: st}
}

func (f *fx) ok(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fx) id(id int64, err error) int64 {
	f.t.Helper()
	f.ok(err)
	if id <= 0 {
		f.t.Fatalf("id = %d, want > 0", id)
	}
	return id
}

// exec runs a statement on the store's database (used to set up states the
// store API does not expose yet, such as a busy slot).
func (f *fx) exec(q string, args ...any) {
	f.t.Helper()
	db := f.st.DB()
	if _, err := db.ExecContext(f.ctx, db.Rebind(q), args...); err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
}

func (f *fx) count(q string, args ...any) int {
	f.t.Helper()
	db := f.st.DB()
	var n int
	if err := db.GetContext(f.ctx, &n, db.Rebind(q), args...); err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
	return n
}

func (f *fx) practice(ods string) int64 {
	f.t.Helper()
	return f.id(f.st.SaveOrganisation(f.ctx, &scheduling.Organisation{ODS: ods, Name: "Practice " + ods, Kind: scheduling.KindPractice,
		ASID: "9" + ods, GPConnectEnabled: true, AppointmentsEnabled: true}))
}

func (f *fx) location(practiceID int64, name string) int64 {
	f.t.Helper()
	return f.id(f.st.SaveLocation(f.ctx, &scheduling.Location{PracticeID: practiceID, Name: name, SiteCode: "S" + name}))
}

func (f *fx) practitioner(practiceID int64, sds string) int64 {
	f.t.Helper()
	return f.id(f.st.SavePractitioner(f.ctx, &scheduling.Practitioner{PracticeID: practiceID, SDSUserID: sds, Family: "Doctor" + sds,
		Given: []string{"Pat"}, Prefix: []string{"Dr"}, RoleProfileIDs: []string{"R" + sds}, Gender: "unknown"}))
}

func (f *fx) profile(p scheduling.AccessProfile) int64 {
	f.t.Helper()
	return f.id(f.st.SaveAccessProfile(f.ctx, &p))
}

// template saves a 15-minute-slot template with sensible defaults for the fields the test leaves empty.
func (f *fx) template(tpl scheduling.SessionTemplate) int64 {
	f.t.Helper()
	if tpl.SlotMinutes == 0 {
		tpl.SlotMinutes = 15
	}
	if tpl.Role == "" {
		tpl.Role = "R0260"
	}
	if tpl.ServiceCategory == "" {
		tpl.ServiceCategory = "GP session"
	}
	if tpl.ServiceType == "" {
		tpl.ServiceType = "Routine"
	}
	if tpl.Channels == nil {
		tpl.Channels = []string{"In-person", "Telephone"}
	}
	tpl.Active = true
	return f.id(f.st.SaveSessionTemplate(f.ctx, &tpl))
}

// wantErr checks that err is a *scheduling.Error with the code (and kind, when not "").
func wantErr(t *testing.T, err error, code scheduling.Code, kind string) {
	t.Helper()
	var e *scheduling.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want *scheduling.Error with code %s", err, err, code)
	}
	if e.Code != code || e.Kind != kind {
		t.Fatalf("err = %+v, want code %q kind %q", e, code, kind)
	}
}

// nhsNumber returns a valid (Modulus 11) NHS number derived from n.
func nhsNumber(t *testing.T, n int) string {
	t.Helper()
	for base := 900000000 + n*7; ; base++ {
		digits := []byte(strings.Repeat("0", 9))
		for i, v := 8, base; i >= 0; i, v = i-1, v/10 {
			digits[i] = byte('0' + v%10)
		}
		for c := byte('0'); c <= '9'; c++ {
			if s := string(digits) + string(c); scheduling.ValidNHSNumber(s) {
				return s
			}
		}
	}
}

// ---- migrations ----

func embeddedMigrations(t *testing.T, engine string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join("migrations", engine))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sql") {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		t.Fatalf("no migrations found for %s", engine)
	}
	return names
}

type migrationRow struct {
	Name      string `db:"name"`
	AppliedAt int64  `db:"applied_at"`
}

func appliedMigrations(t *testing.T, st *store.Store) []migrationRow {
	t.Helper()
	var rows []migrationRow
	if err := st.DB().SelectContext(t.Context(), &rows, `SELECT name, applied_at FROM schema_migrations ORDER BY name`); err != nil {
		t.Fatal(err)
	}
	return rows
}

func testMigrationsApplied(t *testing.T, e storetest.Engine) {
	f := newFx(t, e)
	if got := f.st.Engine(); got != e.Engine {
		t.Fatalf("Engine() = %q, want %q", got, e.Engine)
	}
	var got []string
	for _, r := range appliedMigrations(t, f.st) {
		got = append(got, r.Name)
	}
	if want := embeddedMigrations(t, e.Engine); !slices.Equal(got, want) {
		t.Fatalf("applied migrations = %v, want %v", got, want)
	}
	for _, table := range []string{"organisations", "locations", "practitioners", "patients", "pds_people", "access_profiles",
		"session_templates", "schedules", "slots", "appointments", "appointment_slots", "audit", "admin_audit"} {
		if n := f.count(`SELECT COUNT(*) FROM ` + table); n != 0 {
			t.Errorf("fresh store: %s has %d rows, want 0", table, n)
		}
	}
	f.ok(f.st.Ping(f.ctx))
}

// reopenConfig returns a store.Config for a fresh database that can be opened
// more than once (storetest.Open hides where its database lives).
func reopenConfig(t *testing.T, e storetest.Engine) store.Config {
	t.Helper()
	if e.Engine == store.EngineSQLite {
		return store.Config{Path: filepath.Join(t.TempDir(), "reopen.db"), Synchronous: "NORMAL"}
	}
	dsn, drop := storetest.FreshDatabase(t)
	t.Cleanup(drop)
	return store.Config{URL: dsn, PGDriver: e.PGDriver, MaxConns: 4}
}

func testReopenIsNoOp(t *testing.T, e storetest.Engine) {
	ctx := t.Context()
	cfg := reopenConfig(t, e)
	st1, err := store.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	first := appliedMigrations(t, st1)
	id, err := st1.SaveOrganisation(ctx, &scheduling.Organisation{ODS: "R1A1", Name: "Kept", Kind: scheduling.KindPractice})
	if err != nil {
		t.Fatal(err)
	}
	if err := st1.Close(); err != nil {
		t.Fatal(err)
	}

	st2, err := store.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("re-open: %v", err)
	}
	defer st2.Close()
	if again := appliedMigrations(t, st2); !reflect.DeepEqual(again, first) {
		t.Fatalf("schema_migrations after re-open = %+v, want unchanged %+v", again, first)
	}
	o, err := st2.OrganisationByODS(ctx, "R1A1")
	if err != nil {
		t.Fatal(err)
	}
	if o.ID != id || o.Name != "Kept" || o.Version != 1 {
		t.Fatalf("after re-open: %+v, want id %d, name Kept, version 1", o, id)
	}
}

// testConcurrentOpen opens one empty database from several goroutines at once,
// as several processes starting together would: each must succeed and the
// migrations must be applied exactly once.
func testConcurrentOpen(t *testing.T, e storetest.Engine) {
	ctx := t.Context()
	cfg := reopenConfig(t, e)
	errs := make([]error, 4)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			st, err := store.Open(ctx, cfg)
			if err == nil {
				err = st.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("open %d: %v", i, err)
		}
	}
	st, err := store.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got, want := len(appliedMigrations(t, st)), len(embeddedMigrations(t, e.Engine)); got != want {
		t.Fatalf("%d migrations recorded, want %d", got, want)
	}
}

// testOpenWithOneConnection opens PostgreSQL with a pool of one connection.
func testOpenWithOneConnection(t *testing.T, e storetest.Engine) {
	if e.Engine == store.EngineSQLite {
		t.Skip("MaxConns bounds the PostgreSQL pool only")
	}
	cfg := reopenConfig(t, e)
	cfg.MaxConns = 1
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.SaveOrganisation(ctx, &scheduling.Organisation{ODS: "ONE1", Name: "One", Kind: scheduling.KindOther}); err != nil {
		t.Fatal(err)
	}
}

// ---- organisations ----

func testOrganisationUpsert(t *testing.T, e storetest.Engine) {
	f := newFx(t, e)
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	f.st.Now = func() time.Time { return t0 }
	org := scheduling.Organisation{ID: 100, ODS: "A11111", Name: "Alpha Surgery", Kind: scheduling.KindPractice, ASID: "918999198738",
		Phone: "0113 496 0000", Address: scheduling.Address{Use: "work", Lines: []string{"1 High Street"}, City: "Leeds", PostalCode: "LS1 1AA"},
		GPConnectEnabled: true, AppointmentsEnabled: false}
	in := org
	if id := f.id(f.st.SaveOrganisation(f.ctx, &in)); id != 100 {
		t.Fatalf("insert with explicit id: got id %d, want 100", id)
	}
	check := func(wantVersion int64, wantUpdated time.Time, want scheduling.Organisation) {
		t.Helper()
		got, err := f.st.OrganisationByODS(f.ctx, want.ODS)
		f.ok(err)
		want.Version, want.Updated = wantVersion, wantUpdated
		if !got.Updated.Equal(wantUpdated) {
			t.Fatalf("Updated = %v, want %v", got.Updated, wantUpdated)
		}
		got.Updated = wantUpdated
		if !reflect.DeepEqual(*got, want) {
			t.Fatalf("OrganisationByODS:\n got %+v\nwant %+v", *got, want)
		}
		byID, err := f.st.OrganisationByID(f.ctx, want.ID)
		f.ok(err)
		byID.Updated = wantUpdated
		if !reflect.DeepEqual(byID, got) {
			t.Fatalf("OrganisationByID = %+v, want %+v", byID, got)
		}
	}
	check(1, t0, org)

	// The same values again: no change, no version bump, no new timestamp.
	f.st.Now = func() time.Time { return t0.Add(time.Hour) }
	same := org
	same.ID = 0
	if id := f.id(f.st.SaveOrganisation(f.ctx, &same)); id != 100 {
		t.Fatalf("unchanged save: id %d, want 100", id)
	}
	check(1, t0, org)

	// A change bumps the version; the row is found by ODS whatever ID says.
	t1 := t0.Add(2 * time.Hour)
	f.st.Now = func() time.Time { return t1 }
	changed := org
	changed.ID = 555
	changed.Name = "Alpha Medical Centre"
	changed.AppointmentsEnabled = true
	changed.Address.Lines = []string{"1 High Street", "Headingley"}
	if id := f.id(f.st.SaveOrganisation(f.ctx, &changed)); id != 100 {
		t.Fatalf("changed save: id %d, want 100", id)
	}
	changed.ID = 100
	check(2, t1, changed)
	if _, err := f.st.OrganisationByID(f.ctx, 555); scheduling.ErrorCode(err) != scheduling.ENOTFOUND {
		t.Fatalf("update by ODS must not create id 555: err = %v", err)
	}

	// Organisations lists every organisation by ODS code.
	f.practice("Z00001")
	f.practice("B00001")
	all, err := f.st.Organisations(f.ctx)
	f.ok(err)
	var odss []string
	for _, o := range all {
		odss = append(odss, o.ODS)
	}
	if want := []string{"A11111", "B00001", "Z00001"}; !slices.Equal(odss, want) {
		t.Fatalf("Organisations = %v, want %v", odss, want)
	}
}

// testOrganisationIDs checks that explicit ids are kept and that a later insert
// without an id gets a fresh one (on PostgreSQL the sequence must be moved past
// explicit ids, or the next insert collides).
func testOrganisationIDs(t *testing.T, e storetest.Engine) {
	f := newFx(t, e)
	save := func(id int64, ods string) int64 {
		t.Helper()
		return f.id(f.st.SaveOrganisation(f.ctx, &scheduling.Organisation{ID: id, ODS: ods, Name: ods, Kind: scheduling.KindOther}))
	}
	if got := save(1, "E1"); got != 1 {
		t.Fatalf("explicit id 1: got %d", got)
	}
	if got := save(100, "E100"); got != 100 {
		t.Fatalf("explicit id 100: got %d", got)
	}
	n1 := save(0, "N1")
	if n1 <= 100 {
		t.Fatalf("insert after explicit ids 1 and 100 got id %d, want > 100", n1)
	}
	// An explicit id below the current maximum must not pull the sequence back.
	if got := save(50, "E50"); got != 50 {
		t.Fatalf("explicit id 50: got %d", got)
	}
	n2 := save(0, "N2")
	if n2 <= n1 {
		t.Fatalf("second insert got id %d, want > %d", n2, n1)
	}
	for id, ods := range map[int64]string{1: "E1", 100: "E100", 50: "E50", n1: "N1", n2: "N2"} {
		o, err := f.st.OrganisationByID(f.ctx, id)
		f.ok(err)
		if o.ODS != ods {
			t.Fatalf("id %d has ODS %q, want %q", id, o.ODS, ods)
		}
	}
	// Other tables share the same insert path: check one of them too.
	pr := n1
	if got := f.id(f.st.SaveLocation(f.ctx, &scheduling.Location{ID: 40, PracticeID: pr, Name: "Explicit"})); got != 40 {
		t.Fatalf("location explicit id: got %d, want 40", got)
	}
	if got := f.location(pr, "Next"); got <= 40 {
		t.Fatalf("location after explicit id 40 got id %d, want > 40", got)
	}
}

func testOrganisationNotFound(t *testing.T, e storetest.Engine) {
	f := newFx(t, e)
	f.practice("A11111")
	_, err := f.st.OrganisationByODS(f.ctx, "X99999")
	wantErr(t, err, scheduling.ENOTFOUND, "organisation")
	_, err = f.st.OrganisationByID(f.ctx, 424242)
	wantErr(t, err, scheduling.ENOTFOUND, "organisation")
}

func testSetSwitches(t *testing.T, e storetest.Engine) {
	f := newFx(t, e)
	f.practice("A11111")
	for i, sw := range []struct{ gpc, appts bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
		f.ok(f.st.SetSwitches(f.ctx, "A11111", sw.gpc, sw.appts))
		o, err := f.st.OrganisationByODS(f.ctx, "A11111")
		f.ok(err)
		if o.GPConnectEnabled != sw.gpc || o.AppointmentsEnabled != sw.appts {
			t.Fatalf("after SetSwitches(%v, %v): got %v, %v", sw.gpc, sw.appts, o.GPConnectEnabled, o.AppointmentsEnabled)
		}
		if want := int64(i + 2); o.Version != want {
			t.Fatalf("version = %d, want %d", o.Version, want)
		}
	}
	wantErr(t, f.st.SetSwitches(f.ctx, "X99999", true, true), scheduling.ENOTFOUND, "organisation")
}

// ---- directory ----

func testLocations(t *testing.T, e storetest.Engine) {
	f := newFx(t, e)
	a, b := f.practice("A11111"), f.practice("B22222")
	in := scheduling.Location{PracticeID: a, Name: "Main Surgery", SiteCode: "A11111-1", Phone: "0113 1",
		Address: scheduling.Address{Lines: []string{"1 Main Road"}, City: "Leeds", PostalCode: "LS2 2BB"}}
	id := f.id(f.st.SaveLocation(f.ctx, &in))
	got, err := f.st.LocationByID(f.ctx, a, id)
	f.ok(err)
	want := in
	want.ID, want.Status, want.Version = id, "active", 1
	if !reflect.DeepEqual(*got, want) {
		t.Fatalf("LocationByID:\n got %+v\nwant %+v", *got, want)
	}

	// Practice scoping and unknown ids.
	_, err = f.st.LocationByID(f.ctx, b, id)
	wantErr(t, err, scheduling.ENOTFOUND, "location")
	_, err = f.st.LocationByID(f.ctx, a, id+1000)
	wantErr(t, err, scheduling.ENOTFOUND, "location")

	// Saving the same values keeps the version; a change bumps it.
	same := want
	if got := f.id(f.st.SaveLocation(f.ctx, &same)); got != id {
		t.Fatalf("unchanged save: id %d, want %d", got, id)
	}
	if got, _ := f.st.LocationByID(f.ctx, a, id); got.Version != 1 {
		t.Fatalf("unchanged save bumped version to %d", got.Version)
	}
	changed := want
	changed.Name, changed.Status = "Main Surgery (closed)", "inactive"
	if got := f.id(f.st.SaveLocation(f.ctx, &changed)); got != id {
		t.Fatalf("changed save: id %d, want %d", got, id)
	}
	got, err = f.st.LocationByID(f.ctx, a, id)
	f.ok(err)
	changed.Version = 2
	if !reflect.DeepEqual(*got, changed) {
		t.Fatalf("after change:\n got %+v\nwant %+v", *got, changed)
	}

	other := f.location(b, "Branch")
	la, err := f.st.Locations(f.ctx, a)
	f.ok(err)
	if len(la) != 1 || la[0].ID != id {
		t.Fatalf("Locations(A) = %+v, want only %d", la, id)
	}
	byIDs, err := f.st.LocationsByIDs(f.ctx, []int64{id, other, 987654})
	f.ok(err)
	if len(byIDs) != 2 || byIDs[id] == nil || byIDs[other] == nil || byIDs[other].PracticeID != b {
		t.Fatalf("LocationsByIDs = %+v", byIDs)
	}
	if m, err := f.st.LocationsByIDs(f.ctx, nil); err != nil || len(m) != 0 {
		t.Fatalf("LocationsByIDs(nil) = %v, %v", m, err)
	}
}

func testPractitioners(t *testing.T, e storetest.Engine) {
	f := newFx(t, e)
	a, b := f.practice("A11111"), f.practice("B22222")
	in := scheduling.Practitioner{PracticeID: a, SDSUserID: "G13579", RoleProfileIDs: []string{"R8000", "R8003"}, Family: "Jones",
		Given: []string{"Ann", "Marie"}, Prefix: []string{"Dr"}, Gender: "female"}
	id := f.id(f.st.SavePractitioner(f.ctx, &in))
	got, err := f.st.PractitionerByID(f.ctx, a, id)
	f.ok(err)
	want := in
	want.ID, want.Version = id, 1
	if !reflect.DeepEqual(*got, want) {
		t.Fatalf("PractitionerByID:\n got %+v\nwant %+v", *got, want)
	}

	// A practitioner of practice A is not found through practice B.
	_, err = f.st.PractitionerByID(f.ctx, b, id)
	wantErr(t, err, scheduling.ENOTFOUND, "practitioner")
	_, err = f.st.PractitionerByID(f.ctx, a, id+1000)
	wantErr(t, err, scheduling.ENOTFOUND, "practitioner")

	// Upsert by (practice, SDS user id).
	same := in
	if got := f.id(f.st.SavePractitioner(f.ctx, &same)); got != id {
		t.Fatalf("unchanged save: id %d, want %d", got, id)
	}
	changed := in
	changed.Family, changed.RoleProfileIDs = "Jones-Smith", []string{"R8000"}
	if got := f.id(f.st.SavePractitioner(f.ctx, &changed)); got != id {
		t.Fatalf("changed save: id %d, want %d", got, id)
	}
	got, err = f.st.PractitionerByID(f.ctx, a, id)
	f.ok(err)
	if got.Family != "Jones-Smith" || !slices.Equal(got.RoleProfileIDs, []string{"R8000"}) || got.Version != 2 {
		t.Fatalf("after change: %+v, want family Jones-Smith, roles [R8000], version 2", got)
	}

	// The same SDS user id at another practice is another record.
	atB := in
	atB.PracticeID = b
	idB := f.id(f.st.SavePractitioner(f.ctx, &atB))
	if idB == id {
		t.Fatal("practitioner at practice B reused practice A's record")
	}
	for _, c := range []struct {
		practice int64
		want     int64
	}{{a, id}, {b, idB}} {
		l, err := f.st.PractitionersBySDS(f.ctx, c.practice, "G13579")
		f.ok(err)
		if len(l) != 1 || l[0].ID != c.want {
			t.Fatalf("PractitionersBySDS(%d) = %+v, want id %d", c.practice, l, c.want)
		}
	}
	if l, err := f.st.PractitionersBySDS(f.ctx, a, "G00000"); err != nil || len(l) != 0 {
		t.Fatalf("PractitionersBySDS(unknown) = %v, %v; want empty", l, err)
	}
	m, err := f.st.PractitionersByIDs(f.ctx, []int64{id, idB})
	f.ok(err)
	if len(m) != 2 || m[id].PracticeID != a || m[idB].PracticeID != b {
		t.Fatalf("PractitionersByIDs = %+v", m)
	}
}

// ---- patients ----

func testPatients(t *testing.T, e storetest.Engine) {
	f := newFx(t, e)
	a, b := f.practice("A11111"), f.practice("B22222")
	loc, gp := f.location(a, "Main"), f.practitioner(a, "G1")
	nhs := nhsNumber(t, 1)
	in := scheduling.Patient{PracticeID: a, NHSNumber: nhs, Family: "Smith", Given: []string{"John", "Paul"}, Prefix: []string{"Mr"},
		Gender: "male", BirthDate: "1970-01-31",
		Telecoms:  []scheduling.Telecom{{System: "phone", Value: "07700 900000", Use: "mobile"}, {System: "email", Value: "j@example.org"}},
		Addresses: []scheduling.Address{{Use: "home", Lines: []string{"2 Low Lane"}, City: "Leeds", PostalCode: "LS3 3CC"}},
		Active:    true, RegistrationType: scheduling.RegRegular, RegistrationStart: "2001-02-03", PreferredLocationID: loc,
		GPPractitionerID: gp, Communication: fullCommunication()}
	id := f.id(f.st.SavePatient(f.ctx, &in))
	want := in
	want.ID, want.Version = id, 1
	got, err := f.st.PatientByID(f.ctx, a, id)
	f.ok(err)
	if !reflect.DeepEqual(*got, want) {
		t.Fatalf("PatientByID:\n got %+v\nwant %+v", *got, want)
	}
	got, err = f.st.PatientByNHSNumber(f.ctx, a, nhs)
	f.ok(err)
	if !reflect.DeepEqual(*got, want) {
		t.Fatalf("PatientByNHSNumber:\n got %+v\nwant %+v", *got, want)
	}

	// Practice scoping and unknown keys.
	_, err = f.st.PatientByID(f.ctx, b, id)
	wantErr(t, err, scheduling.ENOTFOUND, "patient")
	_, err = f.st.PatientByNHSNumber(f.ctx, b, nhs)
	wantErr(t, err, scheduling.ENOTFOUND, "patient")
	_, err = f.st.PatientByNHSNumber(f.ctx, a, nhsNumber(t, 2))
	wantErr(t, err, scheduling.ENOTFOUND, "patient")

	// Saving again replaces the practice's record for the NHS number.
	same := in
	if got := f.id(f.st.SavePatient(f.ctx, &same)); got != id {
		t.Fatalf("unchanged save: id %d, want %d", got, id)
	}
	changed := in
	changed.Family, changed.Telecoms = "Smythe", nil
	if got := f.id(f.st.SavePatient(f.ctx, &changed)); got != id {
		t.Fatalf("changed save: id %d, want %d", got, id)
	}
	got, err = f.st.PatientByID(f.ctx, a, id)
	f.ok(err)
	if got.Family != "Smythe" || len(got.Telecoms) != 0 || got.Version <= 1 {
		t.Fatalf("after change: %+v, want family Smythe, no telecoms, version > 1", got)
	}
}

// fullCommunication has every part of an NHSCommunication extension, with
// a second coding and a text so that a store that kept only one would show.
func fullCommunication() *scheduling.Communication {
	yes, no := true, false
	return &scheduling.Communication{
		Language: scheduling.Concept{Coding: []scheduling.Coding{
			{System: "https://fhir.nhs.uk/STU3/CodeSystem/CareConnect-HumanLanguage-1", Code: "cy", Display: "Welsh"},
			{System: "urn:ietf:bcp:47", Version: "1", Code: "cy-GB", UserSelected: &yes}}, Text: "Cymraeg"},
		Preferred: &yes,
		Modes: []scheduling.Concept{
			{Coding: []scheduling.Coding{{System: "https://fhir.nhs.uk/STU3/CodeSystem/CareConnect-LanguageAbilityMode-1", Code: "RSP", Display: "Received spoken"}}},
			{Coding: []scheduling.Coding{{System: "https://fhir.nhs.uk/STU3/CodeSystem/CareConnect-LanguageAbilityMode-1", Code: "ESP", Display: "Expressed spoken"}}}},
		Proficiency: &scheduling.Concept{Coding: []scheduling.Coding{
			{System: "https://fhir.nhs.uk/STU3/CodeSystem/CareConnect-LanguageAbilityProficiency-1", Code: "E", Display: "Excellent"}}},
		InterpreterRequired: &no,
	}
}

// testPatientCommunication: the NHSCommunication held is read back as
// saved, nil stays nil (not an empty extension), and a row written before
// migration 0009 (language and interpreter only) reads as it did then.
func testPatientCommunication(t *testing.T, e storetest.Engine) {
	f := newFx(t, e)
	a := f.practice("A11111")
	read := func(id int64) *scheduling.Communication {
		t.Helper()
		p, err := f.st.PatientByID(f.ctx, a, id)
		f.ok(err)
		return p.Communication
	}

	none := f.id(f.st.SavePatient(f.ctx, &scheduling.Patient{PracticeID: a, NHSNumber: nhsNumber(t, 4), Family: "Quiet", Active: true,
		RegistrationType: scheduling.RegRegular}))
	if c := read(none); c != nil {
		t.Fatalf("no communication saved, read %+v", c)
	}
	if n := f.count(`SELECT COUNT(*) FROM patients WHERE id = ? AND communication = '' AND language = '' AND interpreter = FALSE`, none); n != 1 {
		t.Fatalf("no communication saved, but the columns are not empty")
	}

	yes := true
	onlyLang := &scheduling.Communication{Language: scheduling.Concept{Coding: []scheduling.Coding{{Code: "pl"}}}}
	for _, c := range []struct {
		name      string
		nhs       int
		in        *scheduling.Communication
		lang      string
		interpret bool
	}{
		{"Full", 5, fullCommunication(), "cy", false},
		{"LanguageOnly", 6, onlyLang, "pl", false},
		{"InterpreterRequired", 7, &scheduling.Communication{Language: onlyLang.Language, InterpreterRequired: &yes}, "pl", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := f.id(f.st.SavePatient(f.ctx, &scheduling.Patient{PracticeID: a, NHSNumber: nhsNumber(t, c.nhs), Family: c.name,
				Active: true, RegistrationType: scheduling.RegRegular, Communication: c.in}))
			if got := read(id); !reflect.DeepEqual(got, c.in) {
				t.Fatalf("communication read back\n got %+v\nwant %+v", got, c.in)
			}
			// The older columns still say what an older binary would show.
			if n := f.count(`SELECT COUNT(*) FROM patients WHERE id = ? AND language = ? AND interpreter = ?`, id, c.lang, c.interpret); n != 1 {
				t.Fatalf("language/interpreter columns do not hold %q/%v", c.lang, c.interpret)
			}
		})
	}

	legacy := f.id(f.st.SavePatient(f.ctx, &scheduling.Patient{PracticeID: a, NHSNumber: nhsNumber(t, 30), Family: "Older", Active: true,
		RegistrationType: scheduling.RegRegular}))
	f.exec(`UPDATE patients SET language = 'so', interpreter = TRUE, communication = '' WHERE id = ?`, legacy)
	want := &scheduling.Communication{Language: scheduling.Concept{Coding: []scheduling.Coding{
		{System: "https://fhir.nhs.uk/STU3/CodeSystem/CareConnect-HumanLanguage-1", Code: "so"}}}, InterpreterRequired: &yes}
	if got := read(legacy); !reflect.DeepEqual(got, want) {
		t.Fatalf("row from before migration 0009 reads\n got %+v\nwant %+v", got, want)
	}
}

// testPatientUnchangedSaveKeepsVersion is separate so a failure names the
// no-op rule precisely.
func testPatientUnchangedSaveKeepsVersion(t *testing.T, e storetest.Engine) {
	f := newFx(t, e)
	a := f.practice("A11111")
	// Empty lists exercise the nil-versus-empty distinction in the change check.
	in := scheduling.Patient{PracticeID: a, NHSNumber: nhsNumber(t, 3), Family: "Plain", Active: true, RegistrationType: scheduling.RegRegular}
	id := f.id(f.st.SavePatient(f.ctx, &in))
	for range 2 {
		again := in
		f.id(f.st.SavePatient(f.ctx, &again))
	}
	got, err := f.st.PatientByID(f.ctx, a, id)
	f.ok(err)
	if got.Version != 1 {
		t.Fatalf("saving an unchanged patient twice moved the version to %d, want 1", got.Version)
	}
}

func testRegisterTemporary(t *testing.T, e storetest.Engine) {
	f := newFx(t, e)
	a, b := f.practice("A11111"), f.practice("B22222")
	newNHS, inactiveNHS, deadNHS, deadActiveNHS := nhsNumber(t, 10), nhsNumber(t, 11), nhsNumber(t, 12), nhsNumber(t, 13)
	commNHS := nhsNumber(t, 14)

	t.Run("NewIsTemporaryActive", func(t *testing.T) {
		in := scheduling.Patient{PracticeID: a, NHSNumber: newNHS, Family: "Visitor", Given: []string{"Val"}, Gender: "female", BirthDate: "1990-05-06",
			Telecoms: []scheduling.Telecom{{System: "phone", Value: "01632 960000", Use: "temp"}}}
		got, err := f.st.RegisterTemporary(f.ctx, &in, nil)
		f.ok(err)
		if got.ID <= 0 || !got.Active || got.RegistrationType != scheduling.RegTemporary || got.Family != "Visitor" ||
			got.PracticeID != a || len(got.Telecoms) != 1 || got.Version != 1 {
			t.Fatalf("RegisterTemporary(new) = %+v", got)
		}
		read, err := f.st.PatientByNHSNumber(f.ctx, a, newNHS)
		f.ok(err)
		if !reflect.DeepEqual(read, got) {
			t.Fatalf("stored record %+v differs from returned %+v", read, got)
		}
	})
	t.Run("ErrDuplicate", func(t *testing.T) {
		_, err := f.st.RegisterTemporary(f.ctx, &scheduling.Patient{PracticeID: a, NHSNumber: newNHS, Family: "Visitor"}, nil)
		wantErr(t, err, scheduling.EDUPLICATE, "")
	})
	t.Run("OtherPracticeIsNewRecord", func(t *testing.T) {
		got, err := f.st.RegisterTemporary(f.ctx, &scheduling.Patient{PracticeID: b, NHSNumber: newNHS, Family: "Visitor"}, nil)
		f.ok(err)
		atA, err := f.st.PatientByNHSNumber(f.ctx, a, newNHS)
		f.ok(err)
		if got.ID == atA.ID || got.PracticeID != b || !got.Active {
			t.Fatalf("registration at B = %+v (A's record id %d)", got, atA.ID)
		}
	})
	t.Run("InactiveReactivatedAsTemporary", func(t *testing.T) {
		id := f.id(f.st.SavePatient(f.ctx, &scheduling.Patient{PracticeID: a, NHSNumber: inactiveNHS, Family: "Former", Active: false,
			RegistrationType: scheduling.RegRegular, Prefix: []string{"Mrs"}, BirthDate: "1970-01-02",
			Telecoms:  []scheduling.Telecom{{System: "phone", Value: "01632 960001", Use: "home"}},
			Addresses: []scheduling.Address{{Use: "home", Lines: []string{"19 Moor Road"}, City: "Leeds", PostalCode: "LS1 1AA"}}}))
		before, err := f.st.PatientByID(f.ctx, a, id)
		f.ok(err)
		got, err := f.st.RegisterTemporary(f.ctx, &scheduling.Patient{PracticeID: a, NHSNumber: inactiveNHS, Family: "Returned", Gender: "male",
			RegistrationStart: "2026-01-01"}, nil)
		f.ok(err)
		if got.ID != id || !got.Active || got.RegistrationType != scheduling.RegTemporary || got.Family != "Returned" || got.Version != before.Version+1 ||
			got.Gender != "male" || got.RegistrationStart != "2026-01-01" {
			t.Fatalf("reactivated = %+v, want id %d active temporary Returned male from 2026-01-01 version %d", got, id, before.Version+1)
		}
		// What the registration did not send is kept, not wiped.
		if !reflect.DeepEqual(got.Prefix, before.Prefix) || got.BirthDate != before.BirthDate ||
			!reflect.DeepEqual(got.Telecoms, before.Telecoms) || !reflect.DeepEqual(got.Addresses, before.Addresses) {
			t.Fatalf("reactivated = %+v lost details of %+v", got, before)
		}
	})
	t.Run("ReactivationCommunication", func(t *testing.T) {
		// A re-registration without the extension keeps the one held; one
		// with it replaces it whole (what it leaves out is not kept).
		id := f.id(f.st.SavePatient(f.ctx, &scheduling.Patient{PracticeID: a, NHSNumber: commNHS, Family: "Former", Active: false,
			RegistrationType: scheduling.RegRegular, Communication: fullCommunication()}))
		got, err := f.st.RegisterTemporary(f.ctx, &scheduling.Patient{PracticeID: a, NHSNumber: commNHS, Family: "Former"}, nil)
		f.ok(err)
		if got.ID != id || !reflect.DeepEqual(got.Communication, fullCommunication()) {
			t.Fatalf("re-registered without nhsCommunication: %+v, want %+v kept", got.Communication, fullCommunication())
		}
		f.exec(`UPDATE patients SET active = FALSE WHERE id = ?`, id)
		sent := &scheduling.Communication{Language: scheduling.Concept{Coding: []scheduling.Coding{{Code: "de", Display: "German"}}}}
		got, err = f.st.RegisterTemporary(f.ctx, &scheduling.Patient{PracticeID: a, NHSNumber: commNHS, Family: "Former", Communication: sent}, nil)
		f.ok(err)
		if !reflect.DeepEqual(got.Communication, sent) {
			t.Fatalf("re-registered with nhsCommunication: %+v, want %+v", got.Communication, sent)
		}
	})
	t.Run("ErrDemographicsWhenDeceased", func(t *testing.T) {
		for _, c := range []struct {
			nhs    string
			active bool
		}{{deadNHS, false}, {deadActiveNHS, true}} {
			id := f.id(f.st.SavePatient(f.ctx, &scheduling.Patient{PracticeID: a, NHSNumber: c.nhs, Family: "Late", Active: c.active,
				Deceased: "2024-02-01", RegistrationType: scheduling.RegRegular}))
			before, err := f.st.PatientByID(f.ctx, a, id)
			f.ok(err)
			_, err = f.st.RegisterTemporary(f.ctx, &scheduling.Patient{PracticeID: a, NHSNumber: c.nhs, Family: "Late"}, nil)
			wantErr(t, err, scheduling.EDEMOGRAPHICS, "")
			after, err := f.st.PatientByID(f.ctx, a, id)
			f.ok(err)
			if !reflect.DeepEqual(after, before) {
				t.Fatalf("refused registration changed the record: %+v -> %+v", before, after)
			}
		}
	})
}

func testPDSLookup(t *testing.T, e storetest.Engine) {
	f := newFx(t, e)
	n1, n2 := nhsNumber(t, 20), nhsNumber(t, 21)
	people := []scheduling.PDSPerson{
		{NHSNumber: n1, Family: "Spine", Given: []string{"Sam", "Lee"}, Gender: "other", BirthDate: "1985-12-25"},
		{NHSNumber: n2, Family: "Hidden", Gender: "female", BirthDate: "1960-01-01", Deceased: "2020-03-04", Sensitive: true, Superseded: true, Invalid: true},
	}
	f.ok(f.st.SavePDSPeople(f.ctx, people))
	for _, want := range people {
		got, err := f.st.PDSLookup(f.ctx, want.NHSNumber)
		f.ok(err)
		if !reflect.DeepEqual(*got, want) {
			t.Fatalf("PDSLookup(%s):\n got %+v\nwant %+v", want.NHSNumber, *got, want)
		}
	}
	_, err := f.st.PDSLookup(f.ctx, nhsNumber(t, 22))
	wantErr(t, err, scheduling.ENOTFOUND, "pds")

	// Saving the same NHS number again replaces the record.
	repl := scheduling.PDSPerson{NHSNumber: n1, Family: "Renamed", Gender: "other", BirthDate: "1985-12-25"}
	f.ok(f.st.SavePDSPeople(f.ctx, []scheduling.PDSPerson{repl}))
	got, err := f.st.PDSLookup(f.ctx, n1)
	f.ok(err)
	if !reflect.DeepEqual(*got, repl) {
		t.Fatalf("after replace: %+v, want %+v", *got, repl)
	}
}

// ---- access profiles and templates ----

func testAccessProfiles(t *testing.T, e storetest.Engine) {
	f := newFx(t, e)
	a, b := f.practice("A11111"), f.practice("B22222")
	in := scheduling.AccessProfile{PracticeID: a, Name: "111 only", Bookable: true, OrgTypes: []string{"urgent-care", "gp-practice"},
		ODSCodes: []string{"NHS111"}, Cap: 3, BookingWindow: 14 * 24 * time.Hour, Embargo: 30 * time.Minute, ReleaseTime: "08:00", ReleaseDaysBefore: 1}
	id := f.profile(in)
	check := func(wantVersion int64, want scheduling.AccessProfile) {
		t.Helper()
		m, err := f.st.AccessProfiles(f.ctx, a)
		f.ok(err)
		want.ID, want.Version = id, wantVersion
		if got := m[id]; got == nil || !reflect.DeepEqual(*got, want) {
			t.Fatalf("AccessProfiles[%d]:\n got %+v\nwant %+v", id, got, want)
		}
	}
	check(1, in)
	if got := f.profile(in); got != id {
		t.Fatalf("unchanged save: id %d, want %d", got, id)
	}
	check(1, in)
	changed := in
	changed.Cap, changed.ODSCodes, changed.Bookable = 5, nil, false
	if got := f.profile(changed); got != id {
		t.Fatalf("changed save: id %d, want %d", got, id)
	}
	check(2, changed)

	other := f.profile(scheduling.AccessProfile{PracticeID: a, Name: "Everyone", Bookable: true})
	atB := f.profile(scheduling.AccessProfile{PracticeID: b, Name: "111 only", Bookable: true})
	if other == id || atB == id || atB == other {
		t.Fatalf("profile ids not distinct: %d %d %d", id, other, atB)
	}
	ma, err := f.st.AccessProfiles(f.ctx, a)
	f.ok(err)
	mb, err := f.st.AccessProfiles(f.ctx, b)
	f.ok(err)
	if len(ma) != 2 || len(mb) != 1 || mb[atB] == nil {
		t.Fatalf("AccessProfiles: A has %d, B has %d (%v)", len(ma), len(mb), mb)
	}
}

func testSessionTemplates(t *testing.T, e storetest.Engine) {
	f := newFx(t, e)
	a, b := f.practice("A11111"), f.practice("B22222")
	loc, gp := f.location(a, "Main"), f.practitioner(a, "G1")
	prof := f.profile(scheduling.AccessProfile{PracticeID: a, Name: "Everyone", Bookable: true})
	in := scheduling.SessionTemplate{PracticeID: a, Name: "Mon AM", Weekday: time.Monday, StartLocal: "09:00", EndLocal: "12:00", SlotMinutes: 10,
		LocationID: loc, PractitionerID: gp, Role: "R0260", ServiceCategory: "GP clinic", ServiceType: "Routine",
		Channels: []string{"In-person", "Video"}, AccessProfileID: prof, Active: true}
	id := f.id(f.st.SaveSessionTemplate(f.ctx, &in))
	check := func(wantVersion int64, want scheduling.SessionTemplate) {
		t.Helper()
		l, err := f.st.SessionTemplates(f.ctx, a)
		f.ok(err)
		want.ID, want.Version = id, wantVersion
		if len(l) != 1 || !reflect.DeepEqual(*l[0], want) {
			t.Fatalf("SessionTemplates:\n got %+v\nwant %+v", l, want)
		}
	}
	check(1, in)
	same := in
	if got := f.id(f.st.SaveSessionTemplate(f.ctx, &same)); got != id {
		t.Fatalf("unchanged save: id %d, want %d", got, id)
	}
	check(1, in)
	changed := in
	changed.EndLocal, changed.Active = "12:30", false
	if got := f.id(f.st.SaveSessionTemplate(f.ctx, &changed)); got != id {
		t.Fatalf("changed save: id %d, want %d", got, id)
	}
	check(2, changed)

	bad := in
	bad.Name = ""
	_, err := f.st.SaveSessionTemplate(f.ctx, &bad)
	wantErr(t, err, scheduling.EINVALID, "")
	bad = in
	bad.EndLocal = "08:00"
	_, err = f.st.SaveSessionTemplate(f.ctx, &bad)
	wantErr(t, err, scheduling.EINVALID, "")

	locB := f.location(b, "B main")
	profB := f.profile(scheduling.AccessProfile{PracticeID: b, Name: "Everyone", Bookable: true})
	f.template(scheduling.SessionTemplate{PracticeID: b, Name: "Mon AM", Weekday: time.Monday, StartLocal: "09:00", EndLocal: "10:00",
		LocationID: locB, AccessProfileID: profB})
	all, err := f.st.SessionTemplates(f.ctx, 0)
	f.ok(err)
	onlyB, err := f.st.SessionTemplates(f.ctx, b)
	f.ok(err)
	if len(all) != 2 || len(onlyB) != 1 || onlyB[0].PracticeID != b {
		t.Fatalf("SessionTemplates: all %d, B %d", len(all), len(onlyB))
	}
}

// ---- materialise ----

type sessionFixture struct {
	practice, location, practitioner, profile int64
}

func (f *fx) sessionFixture() sessionFixture {
	f.t.Helper()
	a := f.practice("A11111")
	return sessionFixture{practice: a, location: f.location(a, "Main"), practitioner: f.practitioner(a, "G1"),
		profile: f.profile(scheduling.AccessProfile{PracticeID: a, Name: "Everyone", Bookable: true})}
}

func localDay(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, scheduling.London)
}

func testMaterialiseIdempotent(t *testing.T, e storetest.Engine) {
	f := newFx(t, e)
	sf := f.sessionFixture()
	for _, wd := range []time.Weekday{time.Monday, time.Wednesday} {
		f.template(scheduling.SessionTemplate{PracticeID: sf.practice, Name: wd.String(), Weekday: wd, StartLocal: "09:00", EndLocal: "10:00",
			LocationID: sf.location, PractitionerID: sf.practitioner, AccessProfileID: sf.profile})
	}
	inactive := scheduling.SessionTemplate{PracticeID: sf.practice, Name: "Inactive", Weekday: time.Tuesday, StartLocal: "09:00", EndLocal: "10:00",
		SlotMinutes: 15, LocationID: sf.location, Role: "R0260", ServiceCategory: "GP", ServiceType: "Routine", Channels: []string{"In-person"},
		AccessProfileID: sf.profile, Active: false}
	f.id(f.st.SaveSessionTemplate(f.ctx, &inactive))

	// Two weeks: 2 Mondays + 2 Wednesdays, 4 slots each.
	from, to := localDay(2026, 6, 1), localDay(2026, 6, 15)
	n, err := f.st.Materialise(f.ctx, sf.practice, from, to)
	f.ok(err)
	if n != 4 {
		t.Fatalf("first Materialise created %d sessions, want 4", n)
	}
	slots := f.count(`SELECT COUNT(*) FROM slots`)
	if slots != 16 || f.count(`SELECT COUNT(*) FROM schedules`) != 4 {
		t.Fatalf("after first run: %d slots, %d schedules; want 16, 4", slots, f.count(`SELECT COUNT(*) FROM schedules`))
	}
	n, err = f.st.Materialise(f.ctx, sf.practice, from, to)
	f.ok(err)
	if n != 0 {
		t.Fatalf("second Materialise created %d sessions, want 0", n)
	}
	if got := f.count(`SELECT COUNT(*) FROM slots`); got != slots {
		t.Fatalf("second run changed slot count %d -> %d", slots, got)
	}
	// An overlapping window adds only the missing week.
	n, err = f.st.Materialise(f.ctx, sf.practice, localDay(2026, 6, 8), localDay(2026, 6, 22))
	f.ok(err)
	if n != 2 || f.count(`SELECT COUNT(*) FROM slots`) != slots+8 {
		t.Fatalf("overlapping run created %d sessions (%d slots), want 2 (%d)", n, f.count(`SELECT COUNT(*) FROM slots`), slots+8)
	}
	if got := f.count(`SELECT COUNT(*) FROM schedules WHERE start_at >= ? AND start_at < ?`,
		localDay(2026, 6, 2).Unix(), localDay(2026, 6, 3).Unix()); got != 0 {
		t.Fatalf("inactive Tuesday template produced %d sessions", got)
	}
}

func testMaterialiseClockChanges(t *testing.T, e storetest.Engine) {
	f := newFx(t, e)
	sf := f.sessionFixture()
	for _, wd := range []time.Weekday{time.Saturday, time.Sunday, time.Monday} {
		f.template(scheduling.SessionTemplate{PracticeID: sf.practice, Name: wd.String(), Weekday: wd, StartLocal: "09:00", EndLocal: "10:00",
			LocationID: sf.location, PractitionerID: sf.practitioner, AccessProfileID: sf.profile, Channels: []string{"In-person", "Telephone"}})
	}
	// Friday to Wednesday around each change: Sat, Sun (change day) and Mon.
	for _, w := range [][2]time.Time{{localDay(2026, 3, 27), localDay(2026, 4, 1)}, {localDay(2026, 10, 23), localDay(2026, 10, 28)}} {
		n, err := f.st.Materialise(f.ctx, sf.practice, w[0], w[1])
		f.ok(err)
		if n != 3 {
			t.Fatalf("Materialise(%v, %v) created %d sessions, want 3", w[0], w[1], n)
		}
	}
	var ids []int64
	f.ok(f.st.DB().SelectContext(f.ctx, &ids, `SELECT id FROM schedules ORDER BY start_at`))
	scheds, err := f.st.SchedulesByIDs(f.ctx, ids)
	f.ok(err)
	want := []string{
		"2026-03-28T09:00:00+00:00", "2026-03-29T09:00:00+01:00", "2026-03-30T09:00:00+01:00",
		"2026-10-24T09:00:00+01:00", "2026-10-25T09:00:00+00:00", "2026-10-26T09:00:00+00:00",
	}
	if len(ids) != len(want) {
		t.Fatalf("%d schedules, want %d", len(ids), len(want))
	}
	for i, id := range ids {
		sc := scheds[id]
		start, end := scheduling.FormatLocal(sc.Start), scheduling.FormatLocal(sc.End)
		if start != want[i] || end != strings.Replace(want[i], "T09:", "T10:", 1) {
			t.Errorf("schedule %d: %s to %s, want %s to 10:00 the same day", i, start, end, want[i])
		}
		if sc.End.Sub(sc.Start) != time.Hour || sc.PracticeID != sf.practice || sc.LocationID != sf.location ||
			sc.PractitionerID != sf.practitioner || sc.AccessProfileID != sf.profile || sc.TemplateID == 0 || sc.Status != "active" {
			t.Errorf("schedule %d: %+v", i, sc)
		}
	}

	// Every session has four 15-minute slots at 09:00, 09:15, 09:30 and 09:45 local.
	res, err := f.st.SearchFreeSlots(f.ctx, scheduling.SlotSearch{PracticeID: sf.practice, Start: localDay(2026, 3, 1), End: localDay(2026, 11, 1),
		Now: localDay(2026, 1, 1)})
	f.ok(err)
	if len(res.Slots) != 4*len(want) {
		t.Fatalf("%d slots, want %d", len(res.Slots), 4*len(want))
	}
	for i, sl := range res.Slots {
		day := want[i/4][:10]
		wantStart := day + "T09:" + []string{"00", "15", "30", "45"}[i%4] + ":00" + want[i/4][19:]
		if got := scheduling.FormatLocal(sl.Start); got != wantStart || sl.End.Sub(sl.Start) != 15*time.Minute {
			t.Errorf("slot %d: %s (+%v), want %s (+15m)", i, got, sl.End.Sub(sl.Start), wantStart)
		}
		if wantCh := []string{"In-person", "Telephone"}[i%2]; sl.DeliveryChannel != wantCh || sl.ServiceType != "Routine" || sl.Status != scheduling.SlotFree {
			t.Errorf("slot %d: %+v, want channel %s", i, sl, wantCh)
		}
	}
}

// ---- slot search ----

// searchFixture is one Monday (2026-06-01, BST) of a practice A with templates
// on several access profiles, plus a practice B with its own slots at the same time.
type searchFixture struct {
	practice int64
	day      time.Time
	tplName  map[int64]string
	pracs    []int64
	location int64
}

func (f *fx) searchFixture() *searchFixture {
	f.t.Helper()
	a := f.practice("A11111")
	b := f.practice("B22222")
	sx := &searchFixture{practice: a, day: localDay(2026, 6, 1), tplName: map[int64]string{}}
	sx.location = f.location(a, "Main")
	p1, p2 := f.practitioner(a, "G1"), f.practitioner(a, "G2")
	sx.pracs = []int64{p1, p2}
	open := f.profile(scheduling.AccessProfile{PracticeID: a, Name: "Everyone", Bookable: true})
	byType := f.profile(scheduling.AccessProfile{PracticeID: a, Name: "Urgent care", Bookable: true, OrgTypes: []string{"urgent-care"}})
	byODS := f.profile(scheduling.AccessProfile{PracticeID: a, Name: "Hub", Bookable: true, ODSCodes: []string{"A12345"}})
	notBookable := f.profile(scheduling.AccessProfile{PracticeID: a, Name: "Internal", Bookable: false})
	window := f.profile(scheduling.AccessProfile{PracticeID: a, Name: "Next day", Bookable: true, BookingWindow: 24 * time.Hour})
	embargo := f.profile(scheduling.AccessProfile{PracticeID: a, Name: "Embargoed", Bookable: true, Embargo: 2 * time.Hour})
	// Created in this order on purpose: "afternoon" gets the lowest slot ids
	// but the latest start, so id order and (start, id) order differ.
	for _, tpl := range []struct {
		name       string
		start, end string
		prac       int64
		profile    int64
	}{
		{"afternoon", "14:00", "14:30", 0, open},
		{"open-b", "09:00", "10:00", p2, open},
		{"open-a", "09:00", "10:00", p1, open},
		{"orgtype", "10:00", "10:15", p1, byType},
		{"ods", "10:15", "10:30", p1, byODS},
		{"notbookable", "10:30", "10:45", p1, notBookable},
		{"window", "11:00", "11:15", p1, window},
		{"embargo", "11:15", "11:30", p1, embargo},
	} {
		id := f.template(scheduling.SessionTemplate{PracticeID: a, Name: tpl.name, Weekday: time.Monday, StartLocal: tpl.start, EndLocal: tpl.end,
			LocationID: sx.location, PractitionerID: tpl.prac, AccessProfileID: tpl.profile})
		sx.tplName[id] = tpl.name
	}
	locB := f.location(b, "B main")
	profB := f.profile(scheduling.AccessProfile{PracticeID: b, Name: "Everyone", Bookable: true})
	f.template(scheduling.SessionTemplate{PracticeID: b, Name: "b-open", Weekday: time.Monday, StartLocal: "09:00", EndLocal: "10:00",
		LocationID: locB, AccessProfileID: profB})
	for _, p := range []int64{a, b} {
		if _, err := f.st.Materialise(f.ctx, p, sx.day, scheduling.AddDaysLocal(sx.day, 1)); err != nil {
			f.t.Fatal(err)
		}
	}
	// Two slots that are not free: one busy, one busy-unavailable.
	f.exec(`UPDATE slots SET status = ? WHERE practice_id = ? AND start_at = ? AND schedule_id IN
		(SELECT s.id FROM schedules s JOIN session_templates t ON t.id = s.template_id WHERE t.name = ?)`,
		string(scheduling.SlotBusy), a, sx.at(9, 30).Unix(), "open-a")
	f.exec(`UPDATE slots SET status = ? WHERE practice_id = ? AND start_at = ?`, string(scheduling.SlotBlocked), a, sx.at(14, 15).Unix())
	return sx
}

func (sx *searchFixture) at(hh, mm int) time.Time { return scheduling.AtLocal(sx.day, hh, mm) }

// keys names each result slot "template@HH:MM" (local), in result order.
func (sx *searchFixture) keys(t *testing.T, res *scheduling.SlotResult) []string {
	t.Helper()
	out := make([]string, 0, len(res.Slots))
	for _, sl := range res.Slots {
		sc := res.Schedules[sl.ScheduleID]
		if sc == nil {
			t.Fatalf("slot %d: schedule %d missing from result", sl.ID, sl.ScheduleID)
		}
		name, ok := sx.tplName[sc.TemplateID]
		if !ok {
			name = "foreign"
		}
		out = append(out, name+"@"+sl.Start.In(scheduling.London).Format("15:04"))
	}
	return out
}

func without(l []string, drop ...string) []string {
	return slices.DeleteFunc(slices.Clone(l), func(s string) bool { return slices.Contains(drop, s) })
}

func testSearchFreeSlots(t *testing.T, e storetest.Engine) {
	f := newFx(t, e)
	sx := f.searchFixture()
	dayStart, dayEnd := sx.day, scheduling.AddDaysLocal(sx.day, 1)
	match := scheduling.Consumer{OrgType: "urgent-care", ODS: "A12345"}
	dayBefore := func(hh, mm, ss int) time.Time {
		return scheduling.AddDaysLocal(sx.at(hh, mm), -1).Add(time.Duration(ss) * time.Second)
	}
	// Everything a matching consumer sees the day before at noon (the 11:00 slot
	// is 23h ahead, inside its 24h window). Not listed: open-a@09:30 (busy),
	// notbookable@10:30, afternoon@14:15 (busy-unavailable).
	all := []string{
		"open-b@09:00", "open-a@09:00", "open-b@09:15", "open-a@09:15", "open-b@09:30", "open-b@09:45", "open-a@09:45",
		"orgtype@10:00", "ods@10:15", "window@11:00", "embargo@11:15", "afternoon@14:00",
	}
	beforeNine := []string{"open-b@09:00", "open-a@09:00"}
	atNineFifteen := []string{"open-b@09:15", "open-a@09:15"}
	cases := []struct {
		name       string
		consumer   scheduling.Consumer
		now        time.Time
		start, end time.Time
		want       []string
	}{
		{"MatchingConsumer", match, dayBefore(12, 0, 0), dayStart, dayEnd, all},
		{"OrgTypeOther", scheduling.Consumer{OrgType: "gp-practice", ODS: "A12345"}, dayBefore(12, 0, 0), dayStart, dayEnd, without(all, "orgtype@10:00")},
		{"OrgTypeMissing", scheduling.Consumer{ODS: "A12345"}, dayBefore(12, 0, 0), dayStart, dayEnd, without(all, "orgtype@10:00")},
		{"ODSOther", scheduling.Consumer{OrgType: "urgent-care", ODS: "B99999"}, dayBefore(12, 0, 0), dayStart, dayEnd, without(all, "ods@10:15")},
		{"NoSearchFilter", scheduling.Consumer{}, dayBefore(12, 0, 0), dayStart, dayEnd, without(all, "orgtype@10:00", "ods@10:15")},

		// Booking window 24h on the 11:00 slot: inclusive at exactly 24h.
		{"WindowExactlyOn", match, dayBefore(11, 0, 0), dayStart, dayEnd, all},
		{"WindowOneSecondTooEarly", match, dayBefore(11, 0, -1), dayStart, dayEnd, without(all, "window@11:00")},
		{"WindowOneSecondInside", match, dayBefore(11, 0, 1), dayStart, dayEnd, all},

		// Embargo 2h on the 11:15 slot: still offered at exactly 2h. These also
		// move "now" past the earliest slots: a slot starting at now is not offered.
		{"EmbargoOneSecondBefore", match, sx.at(9, 15).Add(-time.Second), dayStart, dayEnd, without(all, beforeNine...)},
		{"EmbargoExactlyOn", match, sx.at(9, 15), dayStart, dayEnd, without(all, append(beforeNine, atNineFifteen...)...)},
		{"EmbargoOneSecondAfter", match, sx.at(9, 15).Add(time.Second), dayStart, dayEnd,
			without(all, append(append(beforeNine, atNineFifteen...), "embargo@11:15")...)},

		// Only slots fully inside [start, end].
		{"WindowBounds", match, dayBefore(12, 0, 0), sx.at(9, 15), sx.at(9, 45), []string{"open-b@09:15", "open-a@09:15", "open-b@09:30"}},
		{"StartOneSecondLate", match, dayBefore(12, 0, 0), sx.at(9, 15).Add(time.Second), sx.at(9, 45), []string{"open-b@09:30"}},
		{"StartOneSecondEarly", match, dayBefore(12, 0, 0), sx.at(9, 15).Add(-time.Second), sx.at(9, 45), []string{"open-b@09:15", "open-a@09:15", "open-b@09:30"}},
		{"EndOneSecondShort", match, dayBefore(12, 0, 0), sx.at(9, 15), sx.at(9, 45).Add(-time.Second), []string{"open-b@09:15", "open-a@09:15"}},
		{"Empty", match, dayBefore(12, 0, 0), sx.at(12, 0), sx.at(13, 0), nil},
		{"AllPast", match, dayEnd, dayStart, dayEnd, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := f.st.SearchFreeSlots(f.ctx, scheduling.SlotSearch{PracticeID: sx.practice, Start: c.start, End: c.end, Consumer: c.consumer, Now: c.now})
			f.ok(err)
			if got := sx.keys(t, res); !slices.Equal(got, c.want) {
				t.Fatalf("slots:\n got %v\nwant %v", got, c.want)
			}
			sorted := slices.IsSortedFunc(res.Slots, func(x, y scheduling.Slot) int {
				if c := x.Start.Compare(y.Start); c != 0 {
					return c
				}
				return int(x.ID - y.ID)
			})
			if !sorted {
				t.Fatalf("slots not ordered by (start, id): %+v", res.Slots)
			}
			for _, sl := range res.Slots {
				sc := res.Schedules[sl.ScheduleID]
				if sl.PracticeID != sx.practice || sl.Status != scheduling.SlotFree || res.Locations[sc.LocationID] == nil {
					t.Fatalf("slot %+v: wrong practice or status, or location %d missing", sl, sc.LocationID)
				}
				if sc.PractitionerID != 0 && res.Practitioners[sc.PractitionerID] == nil {
					t.Fatalf("slot %d: practitioner %d missing from result", sl.ID, sc.PractitionerID)
				}
			}
			if _, ok := res.Practitioners[0]; ok {
				t.Fatal("result has a practitioner with id 0")
			}
			// Only the offered slots' schedules, practitioners and locations:
			// the pgx path reads those of every candidate and must drop the rest.
			scheds, pracs, locs := map[int64]bool{}, map[int64]bool{}, map[int64]bool{}
			for _, sl := range res.Slots {
				sc := res.Schedules[sl.ScheduleID]
				scheds[sc.ID], locs[sc.LocationID] = true, true
				if sc.PractitionerID != 0 {
					pracs[sc.PractitionerID] = true
				}
			}
			if len(res.Schedules) != len(scheds) || len(res.Practitioners) != len(pracs) || len(res.Locations) != len(locs) {
				t.Fatalf("included resources: %d schedules, %d practitioners, %d locations; offered slots use %d, %d, %d",
					len(res.Schedules), len(res.Practitioners), len(res.Locations), len(scheds), len(pracs), len(locs))
			}
		})
	}
	t.Run("TiesOrderedByID", func(t *testing.T) {
		res, err := f.st.SearchFreeSlots(f.ctx, scheduling.SlotSearch{PracticeID: sx.practice, Start: sx.at(9, 0), End: sx.at(9, 15), Consumer: match,
			Now: dayBefore(12, 0, 0)})
		f.ok(err)
		if len(res.Slots) != 2 || !res.Slots[0].Start.Equal(res.Slots[1].Start) || res.Slots[0].ID >= res.Slots[1].ID {
			t.Fatalf("two slots at 09:00 ordered by id expected, got %+v", res.Slots)
		}
		if len(res.Practitioners) != 2 || len(res.Schedules) != 2 || len(res.Locations) != 1 {
			t.Fatalf("included resources: %d practitioners, %d schedules, %d locations; want 2, 2, 1",
				len(res.Practitioners), len(res.Schedules), len(res.Locations))
		}
	})
}

// ---- audit ----

func auditRecords(base time.Time) []scheduling.AuditRecord {
	return []scheduling.AuditRecord{
		{At: base, TraceID: "t-1", Interaction: "urn:nhs:names:services:gpconnect:fhir:rest:search:slot-1", Method: "GET",
			Path: "/A11111/STU3/1/gpconnect/Slot", PracticeODS: "A11111", FromASID: "200000000359", ToASID: "918999198738",
			RequestingOrg: "NHS111", RequestingUser: "G13579", RequestingDevice: "dev-1", Status: 200, ResourceIDs: "1,2,3",
			Duration: 1234567 * time.Microsecond},
		{At: base.Add(time.Second + 250*time.Microsecond), TraceID: "t-2", Interaction: "book", Method: "POST", PracticeODS: "A11111", Status: 409,
			SpineCode: "DUPLICATE_REJECTED", Duration: 42 * time.Microsecond},
		{At: base.Add(2 * time.Second), TraceID: "t-3", Interaction: "read", Method: "GET", PracticeODS: "B22222", Status: 404, SpineCode: "NO_RECORD_FOUND"},
		{At: base.Add(3 * time.Second), TraceID: "t-4", Interaction: "cancel", Method: "PUT", PracticeODS: "A11111", Status: 200, ResourceIDs: "9"},
	}
}

func testAuditRoundTrip(t *testing.T, e storetest.Engine) {
	f := newFx(t, e)
	base := time.Date(2026, 5, 1, 10, 0, 0, 123456000, time.UTC)
	recs := auditRecords(base)
	f.ok(f.st.Audit(f.ctx, &recs[0]))
	f.ok(f.st.AuditBatch(f.ctx, recs[1:]))
	f.ok(f.st.AuditBatch(f.ctx, nil))

	norm := func(l []scheduling.AuditRecord) []scheduling.AuditRecord {
		for i := range l {
			l[i].At = l[i].At.UTC()
		}
		return l
	}
	got, err := f.st.AuditRecords(f.ctx, scheduling.AuditFilter{})
	f.ok(err)
	got = norm(got)
	if len(got) != len(recs) {
		t.Fatalf("%d records, want %d", len(got), len(recs))
	}
	for i, g := range got {
		// Newest first: the last written comes back first.
		want := recs[len(recs)-1-i]
		if g.ID <= 0 || (i > 0 && g.ID >= got[i-1].ID) {
			t.Fatalf("record %d: id %d not descending", i, g.ID)
		}
		want.ID = g.ID
		if !reflect.DeepEqual(g, want) {
			t.Fatalf("record %d:\n got %+v\nwant %+v", i, g, want)
		}
	}

	for _, c := range []struct {
		name   string
		filter scheduling.AuditFilter
		want   []string
	}{
		{"ByPractice", scheduling.AuditFilter{PracticeODS: "A11111"}, []string{"t-4", "t-2", "t-1"}},
		{"SinceInclusive", scheduling.AuditFilter{Since: recs[1].At}, []string{"t-4", "t-3", "t-2"}},
		{"SinceOneMicroLater", scheduling.AuditFilter{Since: recs[1].At.Add(time.Microsecond)}, []string{"t-4", "t-3"}},
		{"Limit", scheduling.AuditFilter{Limit: 2}, []string{"t-4", "t-3"}},
		{"AllFilters", scheduling.AuditFilter{PracticeODS: "A11111", Since: base.Add(time.Second), Limit: 1}, []string{"t-4"}},
		{"NoMatch", scheduling.AuditFilter{PracticeODS: "Z99999"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			l, err := f.st.AuditRecords(f.ctx, c.filter)
			f.ok(err)
			var ids []string
			for _, r := range l {
				ids = append(ids, r.TraceID)
			}
			if !slices.Equal(ids, c.want) {
				t.Fatalf("got %v, want %v", ids, c.want)
			}
		})
	}
}

func testAuditAppendOnly(t *testing.T, e storetest.Engine) {
	f := newFx(t, e)
	recs := auditRecords(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	f.ok(f.st.AuditBatch(f.ctx, recs))
	a := f.practice("A11111")
	f.exec(`INSERT INTO admin_audit (at, practice_id, actor, action) VALUES (?, ?, ?, ?)`, int64(1), a, "admin", "set-switches")

	db := f.st.DB()
	for _, table := range []string{"audit", "admin_audit"} {
		before := f.count(`SELECT COUNT(*) FROM ` + table)
		for _, q := range []string{
			`UPDATE ` + table + ` SET at = at + 1`,
			`UPDATE ` + table + ` SET at = 0 WHERE id = (SELECT MIN(id) FROM ` + table + `)`,
			`DELETE FROM ` + table,
			`DELETE FROM ` + table + ` WHERE id = (SELECT MAX(id) FROM ` + table + `)`,
		} {
			_, err := db.ExecContext(f.ctx, q)
			if err == nil {
				t.Fatalf("%s: succeeded, want the append-only trigger to refuse it", q)
			}
			// The refusal must come from the trigger, not from a broken statement.
			if !strings.Contains(err.Error(), "append-only") {
				t.Fatalf("%s: %v, want the append-only trigger's error", q, err)
			}
		}
		if after := f.count(`SELECT COUNT(*) FROM ` + table); after != before {
			t.Fatalf("%s: %d rows before, %d after refused writes", table, before, after)
		}
	}
	got, err := f.st.AuditRecords(f.ctx, scheduling.AuditFilter{})
	f.ok(err)
	if len(got) != len(recs) || got[len(got)-1].At.UnixMicro() != recs[0].At.UnixMicro() {
		t.Fatalf("audit records changed after refused writes: %+v", got)
	}
}
