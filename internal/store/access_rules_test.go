package store_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// TestStoreMatchingTable runs every row of the spec §5.4 access-profile table
// through SearchFreeSlots on every engine: one session per kind of slot
// restriction, and each kind of consumer filter, matching or not.
func TestStoreMatchingTable(t *testing.T) {
	for _, e := range storetest.Engines(true) {
		t.Run(e.Name, func(t *testing.T) {
			f := newFx(t, e)
			a := f.practice("A11111")
			loc := f.location(a, "Main")
			day := localDay(2026, 6, 1) // a Monday
			for i, p := range []scheduling.AccessProfile{
				{Name: "unrestricted"},
				{Name: "type", OrgTypes: []string{"urgent-care"}},
				{Name: "types", OrgTypes: []string{"gp-practice", "urgent-care"}},
				{Name: "ods", ODSCodes: []string{"A12345"}},
				{Name: "odsList", ODSCodes: []string{"B22222", "A12345"}},
				{Name: "both", OrgTypes: []string{"urgent-care"}, ODSCodes: []string{"A12345"}},
			} {
				p.PracticeID, p.Bookable = a, true
				id := f.profile(p)
				start := time.Date(2000, 1, 1, 9+i, 0, 0, 0, time.UTC).Format("15:04")
				f.template(scheduling.SessionTemplate{PracticeID: a, Name: p.Name, Weekday: time.Monday, StartLocal: start,
					EndLocal: strings.Replace(start, ":00", ":15", 1), LocationID: loc, AccessProfileID: id})
			}
			_, err := f.st.Materialise(f.ctx, a, day, scheduling.AddDaysLocal(day, 1))
			f.ok(err)
			names := map[string]string{} // local start "HH:MM" -> profile name
			for i, n := range []string{"unrestricted", "type", "types", "ods", "odsList", "both"} {
				names[time.Date(2000, 1, 1, 9+i, 0, 0, 0, time.UTC).Format("15:04")] = n
			}
			all := []string{"unrestricted", "type", "types", "ods", "odsList", "both"}
			cases := []struct {
				row      string
				consumer scheduling.Consumer
				want     []string
			}{
				{"None", scheduling.Consumer{}, []string{"unrestricted"}},
				{"TypeOnly/Match", scheduling.Consumer{OrgType: "urgent-care"}, []string{"unrestricted", "type", "types"}},
				{"TypeOnly/Other", scheduling.Consumer{OrgType: "gp-practice"}, []string{"unrestricted", "types"}},
				{"TypeOnly/Unknown", scheduling.Consumer{OrgType: "pharmacy"}, []string{"unrestricted"}},
				{"ODSOnly/Match", scheduling.Consumer{ODS: "A12345"}, []string{"unrestricted", "ods", "odsList"}},
				{"ODSOnly/Other", scheduling.Consumer{ODS: "Z99999"}, []string{"unrestricted"}},
				{"Both/Match", scheduling.Consumer{OrgType: "urgent-care", ODS: "A12345"}, all},
				{"Both/TypeMatchesODSOther", scheduling.Consumer{OrgType: "urgent-care", ODS: "Z99999"}, []string{"unrestricted", "type", "types"}},
				{"Both/ODSMatchesTypeOther", scheduling.Consumer{OrgType: "gp-practice", ODS: "B22222"}, []string{"unrestricted", "types", "odsList"}},
				{"Both/NeitherMatches", scheduling.Consumer{OrgType: "pharmacy", ODS: "Z99999"}, []string{"unrestricted"}},
			}
			for _, c := range cases {
				t.Run(c.row, func(t *testing.T) {
					res, err := f.st.SearchFreeSlots(f.ctx, scheduling.SlotSearch{PracticeID: a, Start: day, End: scheduling.AddDaysLocal(day, 1),
						Consumer: c.consumer, Now: day.Add(-time.Hour)})
					f.ok(err)
					var got []string
					for _, sl := range res.Slots {
						got = append(got, names[sl.Start.In(scheduling.London).Format("15:04")])
					}
					if !slices.Equal(got, c.want) {
						t.Fatalf("%+v: got %v, want %v", c.consumer, got, c.want)
					}
				})
			}
		})
	}
}

// TestStoreTimingEdgesAcrossClockChanges: booking window, embargo and release
// time exactly on the boundary and one second either side, for slots on the
// Monday after each clock change, with searches whose period crosses the change.
func TestStoreTimingEdgesAcrossClockChanges(t *testing.T) {
	for _, e := range storetest.Engines(false) {
		t.Run(e.Name, func(t *testing.T) {
			f := newFx(t, e)
			a := f.practice("A11111")
			loc := f.location(a, "Main")
			profiles := map[string]int64{
				"window":  f.profile(scheduling.AccessProfile{PracticeID: a, Name: "window", Bookable: true, BookingWindow: 48 * time.Hour}),
				"embargo": f.profile(scheduling.AccessProfile{PracticeID: a, Name: "embargo", Bookable: true, Embargo: 2 * time.Hour}),
				"release": f.profile(scheduling.AccessProfile{PracticeID: a, Name: "release", Bookable: true, ReleaseTime: "08:00", ReleaseDaysBefore: 1}),
			}
			starts := map[string]string{"window": "09:00", "embargo": "10:00", "release": "11:00"}
			for name, id := range profiles {
				f.template(scheduling.SessionTemplate{PracticeID: a, Name: name, Weekday: time.Monday, StartLocal: starts[name],
					EndLocal: strings.Replace(starts[name], ":00", ":15", 1), LocationID: loc, AccessProfileID: id})
			}
			for _, change := range []struct {
				name     string
				saturday time.Time
				offset   string // on the Monday
			}{{"Spring", localDay(2026, 3, 28), "+01:00"}, {"Autumn", localDay(2026, 10, 24), "+00:00"}} {
				monday := scheduling.AddDaysLocal(change.saturday, 2)
				_, err := f.st.Materialise(f.ctx, a, change.saturday, scheduling.AddDaysLocal(change.saturday, 3))
				f.ok(err)
				slotAt := func(hh int) time.Time { return scheduling.AtLocal(monday, hh, 0) }
				if got := scheduling.FormatLocal(slotAt(9)); !strings.HasSuffix(got, change.offset) {
					t.Fatalf("%s: Monday slot %s, want offset %s", change.name, got, change.offset)
				}
				edges := []struct {
					profile string
					on      time.Time
					// offered one second before, on, and one second after the edge
					want [3]bool
				}{
					{"window", slotAt(9).Add(-48 * time.Hour), [3]bool{false, true, true}},
					{"embargo", slotAt(10).Add(-2 * time.Hour), [3]bool{true, true, false}},
					{"release", scheduling.AtLocal(scheduling.AddDaysLocal(monday, -1), 8, 0), [3]bool{false, true, true}},
				}
				for _, ed := range edges {
					for i, d := range []time.Duration{-time.Second, 0, time.Second} {
						now := ed.on.Add(d)
						t.Run(change.name+"/"+ed.profile+"/"+[]string{"OneSecondBefore", "ExactlyOn", "OneSecondAfter"}[i], func(t *testing.T) {
							// The period starts on the Saturday, before the change, and ends after the Monday.
							res, err := f.st.SearchFreeSlots(f.ctx, scheduling.SlotSearch{PracticeID: a, Start: change.saturday,
								End: scheduling.AddDaysLocal(change.saturday, 3), Consumer: scheduling.Consumer{}, Now: now})
							f.ok(err)
							got := false
							for _, sl := range res.Slots {
								if sl.Start.Equal(slotAt(map[string]int{"window": 9, "embargo": 10, "release": 11}[ed.profile])) {
									got = true
								}
							}
							if got != ed.want[i] {
								t.Fatalf("now %s: offered %v, want %v", scheduling.FormatLocal(now), got, ed.want[i])
							}
						})
					}
				}
			}
		})
	}
}

// TestListColumnsHoldCommas: list values holding commas (and quotes) come
// back whole on every engine and driver; saving them unchanged changes nothing.
func TestListColumnsHoldCommas(t *testing.T) {
	for _, e := range storetest.Engines(true) {
		t.Run(e.Name, func(t *testing.T) {
			f := newFx(t, e)
			a := f.practice("A11111")
			given := []string{"Mary, Jane", `Anne "Nan"`, `back\slash`, "<b>"}
			id := f.id(f.st.SavePractitioner(f.ctx, &scheduling.Practitioner{PracticeID: a, SDSUserID: "G1", Family: "Smith", Given: given,
				Prefix: []string{"Dr, PhD"}, RoleProfileIDs: []string{"R1,2"}}))
			p, err := f.st.PractitionerByID(f.ctx, a, id)
			f.ok(err)
			if !slices.Equal(p.Given, given) || !slices.Equal(p.Prefix, []string{"Dr, PhD"}) || !slices.Equal(p.RoleProfileIDs, []string{"R1,2"}) {
				t.Fatalf("practitioner %+v", p)
			}
			f.id(f.st.SavePractitioner(f.ctx, p))
			if again, _ := f.st.PractitionerByID(f.ctx, a, id); again.Version != p.Version {
				t.Fatalf("an unchanged save bumped the version %d -> %d", p.Version, again.Version)
			}
			pid := f.profile(scheduling.AccessProfile{PracticeID: a, Name: "p", Bookable: true, ODSCodes: []string{"A1,B2"}})
			ps, err := f.st.AccessProfiles(f.ctx, a)
			f.ok(err)
			if !slices.Equal(ps[pid].ODSCodes, []string{"A1,B2"}) {
				t.Fatalf("profile ODS codes %q", ps[pid].ODSCodes)
			}
			// The empty list stays the empty string, so queries for "no restriction" keep working.
			open := f.profile(scheduling.AccessProfile{PracticeID: a, Name: "open", Bookable: true})
			if n := f.count(`SELECT COUNT(*) FROM access_profiles WHERE id = ? AND org_types = '' AND ods_codes = ''`, open); n != 1 {
				t.Fatal("an empty list is not stored as ''")
			}
		})
	}
}

// TestMigration0002ConvertsLegacyLists: comma-joined values written before
// migration 0002 become JSON arrays of the same items when its statements run.
func TestMigration0002ConvertsLegacyLists(t *testing.T) {
	for _, e := range storetest.Engines(false) {
		t.Run(e.Name, func(t *testing.T) {
			f := newFx(t, e)
			a := f.practice("A11111")
			loc := f.location(a, "Main")
			id := f.id(f.st.SavePractitioner(f.ctx, &scheduling.Practitioner{PracticeID: a, SDSUserID: "G1", Family: "Smith"}))
			pid := f.profile(scheduling.AccessProfile{PracticeID: a, Name: "p", Bookable: true})
			tid := f.template(scheduling.SessionTemplate{PracticeID: a, Name: "t", Weekday: time.Monday, StartLocal: "09:00", EndLocal: "10:00",
				LocationID: loc, AccessProfileID: pid})
			// The old encoding, as the store wrote it before 0002.
			f.exec(`UPDATE practitioners SET given = ?, prefix = ?, role_profile_ids = ? WHERE id = ?`, `Ann,O"Neil,back\slash`, "Dr", "", id)
			f.exec(`UPDATE access_profiles SET org_types = ?, ods_codes = ? WHERE id = ?`, "urgent-care,gp-practice", "A12345", pid)
			f.exec(`UPDATE session_templates SET channels = ? WHERE id = ?`, "In-person,Video", tid)
			body, err := os.ReadFile(filepath.Join("migrations", e.Engine, "0002_admin.sql"))
			f.ok(err)
			ran := 0
			for _, line := range strings.Split(string(body), "\n") {
				if strings.HasPrefix(line, "UPDATE ") {
					f.exec(line)
					ran++
				}
			}
			if ran != 9 {
				t.Fatalf("ran %d list conversions, want 9", ran)
			}
			var raw string
			f.ok(f.st.DB().GetContext(f.ctx, &raw, f.st.DB().Rebind(`SELECT given FROM practitioners WHERE id = ?`), id))
			if raw != `["Ann","O\"Neil","back\\slash"]` {
				t.Fatalf("converted given = %s", raw)
			}
			p, err := f.st.PractitionerByID(f.ctx, a, id)
			f.ok(err)
			if !slices.Equal(p.Given, []string{"Ann", `O"Neil`, `back\slash`}) || !slices.Equal(p.Prefix, []string{"Dr"}) || len(p.RoleProfileIDs) != 0 {
				t.Fatalf("practitioner %+v", p)
			}
			ps, err := f.st.AccessProfiles(f.ctx, a)
			f.ok(err)
			if !slices.Equal(ps[pid].OrgTypes, []string{"urgent-care", "gp-practice"}) || !slices.Equal(ps[pid].ODSCodes, []string{"A12345"}) {
				t.Fatalf("profile %+v", ps[pid])
			}
			ts, err := f.st.SessionTemplates(f.ctx, a)
			f.ok(err)
			if !slices.Equal(ts[0].Channels, []string{"In-person", "Video"}) {
				t.Fatalf("template channels %q", ts[0].Channels)
			}
			// A value in the old form that was never migrated still reads (the decoder falls back).
			f.exec(`UPDATE session_templates SET channels = ? WHERE id = ?`, "Telephone,Video", tid)
			ts, err = f.st.SessionTemplates(f.ctx, a)
			f.ok(err)
			if got := ts[0].Channels; !slices.Equal(got, []string{"Telephone", "Video"}) {
				t.Fatalf("legacy channels %q", got)
			}
		})
	}
}

// TestMaterialiseCount: the count is the sessions actually created, per run.
// (The retry path that used to double-count needs a serialization failure to
// reach; the count is now taken only from the attempt that committed.)
func TestMaterialiseCount(t *testing.T) {
	for _, e := range storetest.Engines(false) {
		t.Run(e.Name, func(t *testing.T) {
			f := newFx(t, e)
			sf := f.sessionFixture()
			for _, wd := range []time.Weekday{time.Monday, time.Tuesday, time.Friday} {
				f.template(scheduling.SessionTemplate{PracticeID: sf.practice, Name: wd.String(), Weekday: wd, StartLocal: "09:00", EndLocal: "10:00",
					LocationID: sf.location, AccessProfileID: sf.profile})
			}
			var counts []int
			for _, to := range []time.Time{localDay(2026, 6, 8), localDay(2026, 6, 8), localDay(2026, 6, 22)} {
				n, err := f.st.Materialise(f.ctx, sf.practice, localDay(2026, 6, 1), to)
				f.ok(err)
				counts = append(counts, n)
			}
			if !slices.Equal(counts, []int{3, 0, 6}) || f.count(`SELECT COUNT(*) FROM schedules`) != 9 {
				t.Fatalf("counts %v, schedules %d; want [3 0 6], 9", counts, f.count(`SELECT COUNT(*) FROM schedules`))
			}
		})
	}
}
