package demo_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/demo"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store"
)

const horizon = 16 * 24 * time.Hour

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{Path: ":memory:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func load(t *testing.T, st *store.Store, now time.Time) {
	t.Helper()
	st.Now = func() time.Time { return now }
	if err := demo.Load(context.Background(), st, now, horizon); err != nil {
		t.Fatal(err)
	}
}

func london(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, scheduling.London)
	if err != nil {
		panic(err)
	}
	return t
}

var tables = []string{"organisations", "locations", "practitioners", "patients", "pds_people", "access_profiles",
	"session_templates", "schedules", "slots"}

// snapshot counts the rows of each table and sums the versions, which would
// move if a second load updated anything.
func snapshot(t *testing.T, st *store.Store) map[string][2]int64 {
	t.Helper()
	out := map[string][2]int64{}
	for _, tbl := range tables {
		var n, v int64
		q := `SELECT COUNT(*), 0 FROM ` + tbl
		if tbl != "pds_people" {
			q = `SELECT COUNT(*), COALESCE(SUM(version), 0) FROM ` + tbl
		}
		if err := st.DB().QueryRowx(q).Scan(&n, &v); err != nil {
			t.Fatal(err)
		}
		out[tbl] = [2]int64{n, v}
	}
	return out
}

func TestLoadIsIdempotent(t *testing.T) {
	st := openStore(t)
	now := london("2026-06-10 10:15")
	load(t, st, now)
	first := snapshot(t, st)
	for _, tbl := range tables {
		if first[tbl][0] == 0 {
			t.Errorf("%s is empty after Load", tbl)
		}
	}
	load(t, st, now)
	second := snapshot(t, st)
	for _, tbl := range tables {
		if first[tbl] != second[tbl] {
			t.Errorf("%s: (rows, sum of versions) %v after the first load, %v after the second", tbl, first[tbl], second[tbl])
		}
	}
	t.Logf("rows: %v", first)
}

// TestReloadKeepsSwitches: once a practice exists its switches are the
// admin's; loading the demo again (serve --demo on restart) must not undo them.
func TestReloadKeepsSwitches(t *testing.T) {
	st := openStore(t)
	now := london("2026-06-10 10:15")
	load(t, st, now)
	ctx := context.Background()
	if err := st.SetSwitches(ctx, "A20047", true, false); err != nil {
		t.Fatal(err)
	}
	if err := st.SetSwitches(ctx, "D81001", true, true); err != nil {
		t.Fatal(err)
	}
	load(t, st, now)
	for _, c := range []struct {
		ods        string
		gpc, appts bool
	}{{"A20047", true, false}, {"D81001", true, true}, {"B82005", true, true}} {
		o, err := st.OrganisationByODS(ctx, c.ods)
		if err != nil {
			t.Fatal(err)
		}
		if o.GPConnectEnabled != c.gpc || o.AppointmentsEnabled != c.appts {
			t.Errorf("%s after reload: switches (%v, %v), want (%v, %v)", c.ods, o.GPConnectEnabled, o.AppointmentsEnabled, c.gpc, c.appts)
		}
	}
}

func TestOrganisationsLocationsPractitioners(t *testing.T) {
	st := openStore(t)
	load(t, st, london("2026-06-10 10:15"))
	ctx := context.Background()

	orgs := []struct {
		ods, name, kind, asid string
		id                    int64
		on                    bool
	}{
		{"GPC001", "GP Connect Demonstrator", scheduling.KindOther, "", 1, false},
		{"R1A14", "Test GP Care Trust", scheduling.KindOther, "", 2, false},
		{"R1A17", "Test GP Second Care Trust", scheduling.KindOther, "", 3, false},
		{"A20047", "Dr Legg's Surgery", scheduling.KindPractice, "918999198993", 7, true},
		{"B82005", "Northgate Medical Centre", scheduling.KindPractice, "918999198994", 11, true},
		{"C81001", "Castle Hill Practice", scheduling.KindPractice, "918999198995", 12, true},
		{"D81001", "Westbrook Surgery", scheduling.KindPractice, "918999198996", 13, false},
	}
	for _, want := range orgs {
		o, err := st.OrganisationByODS(ctx, want.ods)
		if err != nil {
			t.Fatalf("%s: %v", want.ods, err)
		}
		if o.ID != want.id || o.Name != want.name || o.Kind != want.kind || o.ASID != want.asid ||
			o.GPConnectEnabled != want.on || o.AppointmentsEnabled != want.on {
			t.Errorf("%s: got %+v", want.ods, o)
		}
		if o.IsPractice() && (o.Phone == "" || len(o.Address.Lines) == 0 || o.Address.PostalCode == "") {
			t.Errorf("%s: practice without address or phone: %+v", want.ods, o)
		}
	}
	for _, ods := range []string{"INVOC1", "X12345", "B81016"} {
		if _, err := st.OrganisationByODS(ctx, ods); scheduling.ErrorCode(err) != scheduling.ENOTFOUND {
			t.Errorf("%s: want not found, got %v", ods, err)
		}
	}

	locs := []struct {
		id         int64
		name, site string
	}{{1, "Building A", "Z26556"}, {8, "Building 8", "Z33432"}, {3, "Building C", "Z33433"}}
	for _, want := range locs {
		l, err := st.LocationByID(ctx, 7, want.id)
		if err != nil {
			t.Fatalf("location %d: %v", want.id, err)
		}
		a := l.Address
		if l.Name != want.name || l.SiteCode != want.site || l.Status != "active" || l.Phone == "" ||
			len(a.Lines) == 0 || a.City == "" || a.District == "" || a.PostalCode == "" {
			t.Errorf("location %d: got %+v", want.id, l)
		}
	}

	gps := []struct {
		sds, family, given, prefix, gender string
		roles                              []string
	}{
		{"G13579135", "Gilbert", "Nichole", "Miss", "female", nil},
		{"G11111116", "Parsons", "Melissa", "Mrs", "female", []string{"PT1234"}},
		{"G22345655", "Slater", "Kibo", "Mr", "male", []string{"PT1122", "PT1234"}},
	}
	for _, want := range gps {
		ps, err := st.PractitionersBySDS(ctx, 7, want.sds)
		if err != nil || len(ps) != 1 {
			t.Fatalf("%s: %v %v", want.sds, ps, err)
		}
		p := ps[0]
		if p.Family != want.family || !slices.Equal(p.Given, []string{want.given}) || !slices.Equal(p.Prefix, []string{want.prefix}) ||
			p.Gender != want.gender || !slices.Equal(p.RoleProfileIDs, want.roles) {
			t.Errorf("%s: got %+v", want.sds, p)
		}
	}
	for _, sds := range []string{"G99999999", "unknownSDSUserID"} {
		if ps, _ := st.PractitionersBySDS(ctx, 7, sds); len(ps) != 0 {
			t.Errorf("%s must not exist", sds)
		}
	}
}

func TestPatients(t *testing.T) {
	st := openStore(t)
	load(t, st, london("2026-06-10 10:15"))
	ctx := context.Background()
	gilbert, err := st.PractitionersBySDS(ctx, 7, "G13579135")
	if err != nil || len(gilbert) != 1 {
		t.Fatal(gilbert, err)
	}

	type want struct {
		nhs, given, family, birth, gender string
		active, findable                  bool
		deceased                          string
	}
	rows := map[int64]want{
		1: {"9658218865", "Garth", "WRIGHT", "1933-11-14", "male", true, true, ""}, 2: {"9658218873", "Mike", "MEAKIN", "1927-06-19", "male", true, true, ""},
		3: {"9658218881", "Kevin", "LEACH", "1921-08-08", "male", true, true, ""}, 4: {"9658218903", "Arnold", "OLLEY", "1939-07-21", "male", true, true, ""},
		5: {"9658218989", "Mina", "LEECH", "1918-09-19", "female", true, true, ""}, 6: {"9658218997", "Lauren", "CORR", "1944-12-28", "female", true, true, ""},
		7: {"9658219004", "Cassie", "BRAY", "1939-06-09", "female", true, true, ""}, 8: {"9658219012", "Kim", "GRIGG", "1925-10-05", "female", true, true, ""},
		9: {"9658220142", "Emilie", "KEWN", "1999-10-03", "female", true, false, ""}, 10: {"9658220150", "Amanda", "CURRIE", "1964-02-13", "female", true, false, ""},
		11: {"9658220223", "Dilys", "TABRON", "1969-11-27", "female", true, true, ""}, 12: {"9658220215", "Emilia", "CRAGG", "1968-02-05", "female", true, true, ""},
		13: {"9658219691", "Anne", "RUMBLE", "1987-05-13", "female", true, true, ""}, 15: {"9658220169", "Loren", "HUSON", "1958-12-08", "female", true, true, ""},
		16: {"9658219705", "Zelma", "DIMECK", "1989-07-21", "female", true, true, ""}, 17: {"9658219713", "Dee", "REAY", "1995-07-04", "female", true, true, ""},
		18: {"9658220290", "Dan", "BISSET", "1969-11-23", "male", true, false, "2005-01-13"},
		20: {"9658219721", "Muriel", "MAY", "1980-06-30", "female", true, true, ""}, 21: {"9658219748", "Lynda", "ORME", "1979-10-06", "female", false, false, ""},
	}
	for id, w := range rows {
		p, err := st.PatientByNHSNumber(ctx, 7, w.nhs)
		if err != nil {
			t.Fatalf("patient%d %s: %v", id, w.nhs, err)
		}
		if p.ID != id || p.Family != w.family || !slices.Equal(p.Given, []string{w.given}) || p.BirthDate != w.birth || p.Gender != w.gender ||
			p.Active != w.active || p.Findable() != w.findable || p.Deceased != w.deceased || p.RegistrationType != scheduling.RegRegular ||
			p.RegistrationStart != "1962-07-13" || p.PreferredLocationID != 1 || p.GPPractitionerID != gilbert[0].ID {
			t.Errorf("patient%d: got %+v", id, p)
		}
		if len(p.Addresses) != 1 || p.Addresses[0].Use != "home" || len(p.Addresses[0].Lines) == 0 || p.Addresses[0].PostalCode == "" {
			t.Errorf("patient%d: address %+v", id, p.Addresses)
		}
		if len(p.Telecoms) != 1 || p.Telecoms[0].System != "phone" || p.Telecoms[0].Use != "home" || p.Telecoms[0].Value == "" {
			t.Errorf("patient%d: telecoms %+v", id, p.Telecoms)
		}
	}
	var n int
	if err := st.DB().Get(&n, `SELECT COUNT(*) FROM patients WHERE practice_id = 7`); err != nil || n != len(rows) {
		t.Errorf("A20047 has %d patients, want %d (%v)", n, len(rows), err)
	}

	// patient14: in this system (at GPC001, as in the reference demonstrator) but not on PDS.
	p14, err := st.PatientByNHSNumber(ctx, 1, "9476718943")
	if err != nil || p14.Family != "HOPLEY" || p14.BirthDate != "1927-05-15" || p14.RegistrationStart != "1935-11-05" {
		t.Errorf("patient14: %+v %v", p14, err)
	}
	if _, err := st.PDSLookup(ctx, "9476718943"); scheduling.ErrorCode(err) != scheduling.ENOTFOUND {
		t.Errorf("patient14 must not be on PDS: %v", err)
	}

	// Never present: patient19, patientNotInSystem, and every number the suite registers.
	absent := append([]string{"9866105660", "9999999999"}, registerNumbers(t)...)
	for _, nhs := range absent {
		if err := st.DB().Get(&n, st.DB().Rebind(`SELECT COUNT(*) FROM patients WHERE nhs_number = ?`), nhs); err != nil || n != 0 {
			t.Errorf("%s must not be a patient (%d, %v)", nhs, n, err)
		}
	}

	// Every NHS number held anywhere is Modulus 11 valid.
	var all []string
	if err := st.DB().Select(&all, `SELECT nhs_number FROM patients UNION SELECT nhs_number FROM pds_people`); err != nil {
		t.Fatal(err)
	}
	for _, nhs := range all {
		if !scheduling.ValidNHSNumber(nhs) {
			t.Errorf("NHS number %q fails the Modulus 11 check", nhs)
		}
	}

	// Explicit demo ids leave the id sequences usable: a new record gets a fresh id.
	newID, err := st.SavePatient(ctx, &scheduling.Patient{PracticeID: 7, NHSNumber: "9651258500", Family: "REA", Given: []string{"Clive"},
		Active: true, RegistrationType: scheduling.RegTemporary})
	if err != nil || newID <= 121 {
		t.Errorf("a patient saved after Load got id %d (%v)", newID, err)
	}
}

// registerNumbers reads the NHS numbers of the test pack's RegisterPatients list
// from the embedded CSV's source file.
func registerNumbers(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("register_patients.csv")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Scan() // header
	for sc.Scan() {
		out = append(out, strings.SplitN(sc.Text(), ",", 2)[0])
	}
	if len(out) != 158 {
		t.Fatalf("register_patients.csv has %d rows, want 158", len(out))
	}
	return out
}

func TestPDS(t *testing.T) {
	st := openStore(t)
	load(t, st, london("2026-06-10 10:15"))
	ctx := context.Background()

	reg := registerNumbers(t)
	for _, nhs := range reg {
		p, err := st.PDSLookup(ctx, nhs)
		if err != nil {
			t.Fatalf("%s: %v", nhs, err)
		}
		if p.Family == "" || len(p.Given) != 1 || (p.Gender != "male" && p.Gender != "female") || len(p.BirthDate) != 10 ||
			p.Sensitive || p.Superseded || p.Deceased != "" || p.Invalid {
			t.Errorf("%s: %+v", nhs, p)
		}
	}
	first, err := st.PDSLookup(ctx, "9651258500")
	if err != nil || first.Family != "REA" || first.Given[0] != "Clive" || first.Gender != "male" || first.BirthDate != "1951-03-10" {
		t.Errorf("9651258500: %+v %v", first, err)
	}
	last, err := st.PDSLookup(ctx, "9651260246")
	if err != nil || last.Family != "BRUCE" || last.Given[0] != "Jenna" || last.Gender != "female" || last.BirthDate != "1987-07-21" {
		t.Errorf("9651260246: %+v %v", last, err)
	}

	flags := map[string]scheduling.PDSPerson{
		"9658220142": {Sensitive: true}, "9658220150": {Sensitive: true}, "9658220223": {Superseded: true},
		"9658220290": {Deceased: "2005-01-13"}, "9658220215": {}, "9658218865": {}, "9658220169": {}, "9658219721": {}, "9658219748": {},
	}
	for nhs, w := range flags {
		p, err := st.PDSLookup(ctx, nhs)
		if err != nil {
			t.Fatalf("%s: %v", nhs, err)
		}
		if p.Sensitive != w.Sensitive || p.Superseded != w.Superseded || p.Deceased != w.Deceased || p.Invalid {
			t.Errorf("%s: %+v", nhs, p)
		}
	}
	// Test-pack patients 1-18, 20 and 21 except 14, the register list, and the federation patients.
	var n int
	if err := st.DB().Get(&n, `SELECT COUNT(*) FROM pds_people WHERE nhs_number LIKE '9658%'`); err != nil || n != 19 {
		t.Errorf("%d test-pack patients on PDS, want 19 (%v)", n, err)
	}
	if err := st.DB().Get(&n, `SELECT COUNT(*) FROM pds_people WHERE nhs_number LIKE '9651%'`); err != nil || n != 158 {
		t.Errorf("%d register-list people on PDS, want 158 (%v)", n, err)
	}
	for _, nhs := range []string{"9866105660", "9999999999", "9476718943"} {
		if _, err := st.PDSLookup(ctx, nhs); scheduling.ErrorCode(err) != scheduling.ENOTFOUND {
			t.Errorf("%s must not be on PDS: %v", nhs, err)
		}
	}
}

type slotRow struct {
	Start   int64 `db:"start_at"`
	Profile int64 `db:"access_profile_id"`
}

// offered counts the free slots of practice 7 starting in [from, to) that
// are offered to c at now.
func offered(t *testing.T, st *store.Store, now, from, to time.Time, c scheduling.Consumer) int {
	t.Helper()
	profiles, err := st.AccessProfiles(context.Background(), 7)
	if err != nil {
		t.Fatal(err)
	}
	var rows []slotRow
	err = st.DB().Select(&rows, st.DB().Rebind(`SELECT s.start_at, s.access_profile_id FROM slots s JOIN access_profiles p ON p.id = s.access_profile_id
		WHERE s.practice_id = 7 AND s.status = 'free' AND s.start_at >= ? AND s.start_at < ? ORDER BY s.start_at`), from.Unix(), to.Unix())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range rows {
		start := time.Unix(r.Start, 0)
		if !start.After(now) {
			continue
		}
		if profiles[r.Profile].Offer(c, now, start) == scheduling.ReasonNone {
			n++
		}
	}
	return n
}

func TestSlotsForTestPack(t *testing.T) {
	// A weekday, a Saturday and a Sunday: the suite may run on any day.
	for _, at := range []string{"2026-06-10 10:15", "2026-06-13 16:40", "2026-06-14 23:50"} {
		t.Run(at, func(t *testing.T) {
			st := openStore(t)
			now := london(at)
			load(t, st, now)
			today := scheduling.LocalMidnight(now)
			tomorrow := scheduling.AddDaysLocal(today, 1)
			uc := scheduling.Consumer{OrgType: "urgent-care", ODS: "A20047"}

			if n := offered(t, st, now, tomorrow, scheduling.AddDaysLocal(tomorrow, 14), uc); n < 150 {
				t.Errorf("tomorrow..+14: %d slots offered to %+v, want >= 150", n, uc)
			}
			d2 := scheduling.AddDaysLocal(today, 2)
			if n := offered(t, st, now, d2, scheduling.AddDaysLocal(d2, 1), uc); n < 14 {
				t.Errorf("today+2: %d slots offered to %+v, want >= 14", n, uc)
			}
			end := scheduling.AddDaysLocal(today, 14)
			consumers := []scheduling.Consumer{{}}
			for _, typ := range []string{"", "urgent-care", "gp-practice", "oncology"} {
				for _, ods := range []string{"", "A20047", "B81016", "M85015", "RNR01"} {
					consumers = append(consumers, scheduling.Consumer{OrgType: typ, ODS: ods})
				}
			}
			for _, c := range consumers {
				if n := offered(t, st, now, today, end, c); n < 1 {
					t.Errorf("today..+14: no slot offered to %+v", c)
				}
			}
			// Unrestricted bookable slots exist (the ones a search without searchFilter sees).
			var n int
			err := st.DB().Get(&n, st.DB().Rebind(`SELECT COUNT(*) FROM slots s JOIN access_profiles p ON p.id = s.access_profile_id
				WHERE s.practice_id = 7 AND s.status = 'free' AND p.bookable = TRUE AND p.org_types = '' AND p.ods_codes = ''
				AND p.embargo_secs = 0 AND s.start_at >= ? AND s.start_at < ?`), tomorrow.Unix(), scheduling.AddDaysLocal(tomorrow, 1).Unix())
			if err != nil || n < 50 {
				t.Errorf("tomorrow: %d unrestricted bookable slots (%v)", n, err)
			}
		})
	}
}

func TestTemplatesAreValid(t *testing.T) {
	st := openStore(t)
	load(t, st, london("2026-06-10 10:15"))
	tpls, err := st.SessionTemplates(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	days := map[int64]map[time.Weekday]bool{}
	for _, tp := range tpls {
		if err := tp.Validate(); err != nil || !tp.Active {
			t.Errorf("%q: %v (active %v)", tp.Name, err, tp.Active)
		}
		if !gpconnect.PractitionerRole(tp.Role).Valid() {
			t.Errorf("%q: role %q not in the value set", tp.Name, tp.Role)
		}
		for _, ch := range tp.Channels {
			if !gpconnect.DeliveryChannel(ch).Valid() {
				t.Errorf("%q: channel %q not in the code system", tp.Name, ch)
			}
		}
		if days[tp.PracticeID] == nil {
			days[tp.PracticeID] = map[time.Weekday]bool{}
		}
		days[tp.PracticeID][tp.Weekday] = true
	}
	if len(days[7]) != 7 {
		t.Errorf("A20047 has sessions on %d days of the week, want 7", len(days[7]))
	}
	for _, id := range []int64{11, 12, 13} {
		if len(days[id]) < 5 {
			t.Errorf("practice %d has sessions on %d days of the week, want >= 5", id, len(days[id]))
		}
	}
}

// TestClockChanges checks that a 09:00 session stays 09:00 local time on
// both sides of each clock change (29 March and 25 October 2026).
func TestClockChanges(t *testing.T) {
	for _, tc := range []struct{ now, before, after string }{
		{"2026-03-27 12:00", "+00:00", "+01:00"},
		{"2026-10-23 12:00", "+01:00", "+00:00"},
	} {
		t.Run(tc.now, func(t *testing.T) {
			st := openStore(t)
			now := london(tc.now)
			load(t, st, now)
			var starts []int64
			err := st.DB().Select(&starts, st.DB().Rebind(`SELECT start_at FROM schedules WHERE practice_id = 7 AND start_at < ? ORDER BY start_at`),
				scheduling.AddDaysLocal(scheduling.LocalMidnight(now), 7).Unix())
			if err != nil {
				t.Fatal(err)
			}
			nineAM := map[string]string{} // local date -> offset of its 09:00 sessions
			for _, s := range starts {
				f := scheduling.FormatLocal(time.Unix(s, 0))
				hm := f[11:16]
				if !slices.Contains([]string{"08:00", "09:00", "09:40", "12:00", "14:00"}, hm) {
					t.Errorf("session starts at %s: not a template start time", f)
				}
				if hm == "09:00" {
					nineAM[f[:10]] = f[19:]
				}
			}
			if len(nineAM) != 7 {
				t.Errorf("09:00 sessions on %d days, want 7: %v", len(nineAM), nineAM)
			}
			var offsets []string
			for _, off := range nineAM {
				if !slices.Contains(offsets, off) {
					offsets = append(offsets, off)
				}
			}
			slices.Sort(offsets)
			want := []string{tc.before, tc.after}
			slices.Sort(want)
			if !slices.Equal(offsets, want) {
				t.Errorf("09:00 sessions have offsets %v, want both %v", offsets, want)
			}
		})
	}
}

// TestReloadKeepsServices: once loaded, the demo practice's healthcare
// services and its filtering switch belong to its admins. Loading again
// after an admin renamed a service, changed its DOS id and switched
// filtering off neither fails nor undoes any of it, and adds no service.
func TestReloadKeepsServices(t *testing.T) {
	st := openStore(t)
	now := london("2026-06-10 10:15")
	load(t, st, now)
	ctx := context.Background()
	org, err := st.OrganisationByODS(ctx, "A20047")
	if err != nil {
		t.Fatal(err)
	}
	if !org.ServiceFiltering {
		t.Fatalf("A20047 loads with service filtering off")
	}
	before, err := st.HealthcareServices(ctx, org.ID)
	if err != nil || len(before) != 2 || before[0].ID != 1 || before[1].ID != 2 {
		t.Fatalf("services %+v (%v), want ids 1 and 2", before, err)
	}
	if _, err := st.DB().ExecContext(ctx, st.DB().Rebind(`UPDATE healthcare_services SET dos_id = ?, name = ? WHERE id = 1`), "2000049999", "Renamed by the practice"); err != nil {
		t.Fatal(err)
	}
	if err := st.SetServiceFiltering(ctx, "A20047", false); err != nil {
		t.Fatal(err)
	}
	load(t, st, now)
	after, err := st.HealthcareServices(ctx, org.ID)
	if err != nil || len(after) != 2 || after[0].DOSID != "2000049999" || after[0].Name != "Renamed by the practice" {
		t.Errorf("services after reload %+v (%v), want the practice's changes kept and no service added", after, err)
	}
	if org, err = st.OrganisationByODS(ctx, "A20047"); err != nil || org.ServiceFiltering {
		t.Errorf("service filtering after reload: %v (%v), want off as the admin left it", org.ServiceFiltering, err)
	}
}

// TestReloadKeepsPracticeSetup: once seeded, a demo practice's access
// profiles and weekly templates are its admins'. Loading again (serve
// --demo on every restart) after an admin changed a profile, renamed a
// template, ended one and reshaped another must keep all of it: no edit
// undone, no ended template revived, no renamed one added again beside its
// new name (which would put the clinician in two sessions at once).
func TestReloadKeepsPracticeSetup(t *testing.T) {
	st := openStore(t)
	now := london("2026-06-10 10:15")
	load(t, st, now)
	ctx := context.Background()
	org, err := st.OrganisationByODS(ctx, "A20047")
	if err != nil {
		t.Fatal(err)
	}
	db := st.DB()
	exec := func(q string, args ...any) {
		t.Helper()
		res, err := db.ExecContext(ctx, db.Rebind(q), args...)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			t.Fatalf("%s changed %d rows, want 1", q, n)
		}
	}
	exec(`UPDATE access_profiles SET embargo_secs = 14400 WHERE practice_id = ? AND name = 'open'`, org.ID)
	exec(`UPDATE session_templates SET name = 'Monday surgery' WHERE practice_id = ? AND name = 'Mon GP morning'`, org.ID)
	exec(`UPDATE session_templates SET active = ? WHERE practice_id = ? AND name = 'Tue GP afternoon'`, false, org.ID)
	exec(`UPDATE session_templates SET end_local = '12:20' WHERE practice_id = ? AND name = 'Wed Same-day GP'`, org.ID)
	before := snapshot(t, st)
	templates := func() map[string]*scheduling.SessionTemplate {
		t.Helper()
		ts, err := st.SessionTemplates(ctx, org.ID)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]*scheduling.SessionTemplate{}
		for _, x := range ts {
			m[x.Name] = x
		}
		return m
	}
	want := templates()

	load(t, st, now)
	if after := snapshot(t, st); after["access_profiles"] != before["access_profiles"] || after["session_templates"] != before["session_templates"] {
		t.Errorf("profiles/templates (rows, sum of versions) %v/%v before the reload, %v/%v after",
			before["access_profiles"], before["session_templates"], after["access_profiles"], after["session_templates"])
	}
	got := templates()
	if len(got) != len(want) {
		t.Errorf("%d templates after the reload, want %d", len(got), len(want))
	}
	if _, ok := got["Mon GP morning"]; ok {
		t.Errorf("the reload added \"Mon GP morning\" again beside the admin's \"Monday surgery\"")
	}
	if x := got["Monday surgery"]; x == nil {
		t.Errorf("the renamed template is gone")
	}
	if x := got["Tue GP afternoon"]; x == nil || x.Active {
		t.Errorf("the ended template after the reload: %+v, want kept and ended", x)
	}
	if x := got["Wed Same-day GP"]; x == nil || x.EndLocal != "12:20" {
		t.Errorf("the reshaped template after the reload: %+v, want end 12:20", x)
	}
	profiles, err := st.AccessProfiles(ctx, org.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range profiles {
		if p.Name == "open" && p.Embargo != 4*time.Hour {
			t.Errorf("profile open after the reload: embargo %v, want the admin's 4h", p.Embargo)
		}
	}
}

// TestLoadAfterOtherPractices: the demo keeps the test pack's fixed ids, so
// into a database whose ids a practice added first has taken it does not
// load; it says why and what to do, rather than a bare constraint error.
func TestLoadAfterOtherPractices(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	if _, err := st.SaveOrganisation(ctx, &scheduling.Organisation{ODS: "Q12345", Name: "New Surgery", Kind: scheduling.KindPractice, ASID: "918999100099"}); err != nil {
		t.Fatal(err)
	}
	err := demo.Load(ctx, st, time.Now(), horizon)
	if err == nil || !strings.Contains(err.Error(), "a database of its own") {
		t.Fatalf("demo over a practice added first: %v, want the reason and the remedy", err)
	}
	if o, err := st.OrganisationByODS(ctx, "Q12345"); err != nil || o.Name != "New Surgery" {
		t.Fatalf("the practice added first: %+v, %v; want it untouched", o, err)
	}
}
