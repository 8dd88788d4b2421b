package store_test

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// TestSearchFractionalStart: a start with a fraction of a second still
// excludes a slot on the whole second before it (the start used to be
// truncated to the second, which let that slot in).
func TestSearchFractionalStart(t *testing.T) {
	for _, e := range storetest.Engines(true) {
		t.Run(e.Name, func(t *testing.T) {
			f := newFx(t, e)
			sx := f.searchFixture()
			match := scheduling.Consumer{OrgType: "urgent-care", ODS: "A12345"}
			now := scheduling.AddDaysLocal(sx.at(12, 0), -1)
			for _, c := range []struct {
				name  string
				start time.Time
				want  []string
			}{
				{"HalfSecondLate", sx.at(9, 15).Add(500 * time.Millisecond), []string{"open-b@09:30"}},
				{"OneNanosecondLate", sx.at(9, 15).Add(time.Nanosecond), []string{"open-b@09:30"}},
				{"HalfSecondEarly", sx.at(9, 15).Add(-500 * time.Millisecond), []string{"open-b@09:15", "open-a@09:15", "open-b@09:30"}},
			} {
				t.Run(c.name, func(t *testing.T) {
					res, err := f.st.SearchFreeSlots(f.ctx, scheduling.SlotSearch{PracticeID: sx.practice, Start: c.start, End: sx.at(9, 45),
						Consumer: match, Now: now})
					f.ok(err)
					if got := sx.keys(t, res); !slices.Equal(got, c.want) {
						t.Fatalf("slots:\n got %v\nwant %v", got, c.want)
					}
				})
			}
		})
	}
}

// TestSearchSeesReferenceChanges: the search's cached access profiles,
// schedules, locations and practitioners never outlive a change, whoever
// makes it: each change
// here is plain SQL on the pool (as another instance or a DBA would make it),
// not a store method, so only the database's triggers can tell the search.
func TestSearchSeesReferenceChanges(t *testing.T) {
	for _, e := range storetest.Engines(true) {
		t.Run(e.Name, func(t *testing.T) {
			f := newFx(t, e)
			sx := f.searchFixture()
			q := scheduling.SlotSearch{PracticeID: sx.practice, Start: sx.at(9, 0), End: sx.at(10, 0),
				Consumer: scheduling.Consumer{OrgType: "urgent-care", ODS: "A12345"}, Now: scheduling.AddDaysLocal(sx.at(12, 0), -1)}
			search := func() *scheduling.SlotResult {
				t.Helper()
				res, err := f.st.SearchFreeSlots(f.ctx, q)
				f.ok(err)
				if len(res.Slots) == 0 {
					t.Fatal("the search found no slots")
				}
				return res
			}
			first := search()
			sl := first.Slots[0]
			sc := first.Schedules[sl.ScheduleID]
			if sc == nil || first.Locations[sc.LocationID] == nil {
				t.Fatalf("the first search lacks its schedule or location: %+v", first)
			}
			search() // a second search answers from the cache

			f.exec(`UPDATE locations SET name = ? WHERE id = ?`, "Renamed surgery", sc.LocationID)
			if got := search().Locations[sc.LocationID].Name; got != "Renamed surgery" {
				t.Fatalf("location name after a rename: %q", got)
			}
			var pracID int64
			for _, s := range first.Slots {
				if p := first.Schedules[s.ScheduleID].PractitionerID; p != 0 {
					pracID = p
					break
				}
			}
			if pracID == 0 {
				t.Fatal("no slot with a practitioner")
			}
			f.exec(`UPDATE practitioners SET family = ? WHERE id = ?`, "Newname", pracID)
			if got := search().Practitioners[pracID].Family; got != "Newname" {
				t.Fatalf("practitioner family name after a change: %q", got)
			}
			f.exec(`UPDATE schedules SET service_category = ? WHERE id = ?`, "Changed category", sl.ScheduleID)
			if got := search().Schedules[sl.ScheduleID].ServiceCategory; got != "Changed category" {
				t.Fatalf("schedule service category after a change: %q", got)
			}
			// A schedule of another practice changing does not matter here,
			// but must not break anything either.
			f.exec(`UPDATE schedules SET service_category = ? WHERE practice_id <> ?`, "Elsewhere", sx.practice)
			if got := search().Schedules[sl.ScheduleID].ServiceCategory; got != "Changed category" {
				t.Fatalf("schedule service category after another practice's change: %q", got)
			}
			// Access profiles are cached too: a full cap (the booked counter
			// moves on every capped booking) and a rule change must both count.
			f.exec(`UPDATE access_profiles SET cap = 1, booked = 1 WHERE id = ?`, sl.AccessProfileID)
			capped, err := f.st.SearchFreeSlots(f.ctx, q)
			f.ok(err)
			for _, s := range capped.Slots {
				if s.AccessProfileID == sl.AccessProfileID {
					t.Fatalf("slot %d offered although its profile's cap is reached", s.ID)
				}
			}
			f.exec(`UPDATE access_profiles SET booked = 0 WHERE id = ?`, sl.AccessProfileID)
			if got := search().Slots[0]; got.ID != sl.ID {
				t.Fatalf("after the cap freed up, the first slot is %d, want %d", got.ID, sl.ID)
			}
			f.exec(`UPDATE access_profiles SET bookable = FALSE WHERE practice_id = ?`, sx.practice)
			res, err := f.st.SearchFreeSlots(f.ctx, q)
			f.ok(err)
			if len(res.Slots) != 0 {
				t.Fatalf("%d slots offered after every profile stopped being bookable", len(res.Slots))
			}
		})
	}
}

// TestSearchOddTexts: delivery channels and slot types holding the packed
// SQLite format's own punctuation, digits and multi-byte characters come back
// exactly, on every engine.
func TestSearchOddTexts(t *testing.T) {
	for _, e := range storetest.Engines(true) {
		t.Run(e.Name, func(t *testing.T) {
			f := newFx(t, e)
			sx := f.searchFixture()
			ch, typ := "12:In,person:", "Routine, é 日本 3:x"
			if e.Name == "sqlite" {
				// SQLite text may hold a NUL (PostgreSQL refuses one).
				ch += "\x00after"
			}
			f.exec(`UPDATE slots SET channel = ?, service_type = ? WHERE practice_id = ?`, ch, typ, sx.practice)
			// An hour, and two days: lib/pq reads searches of more than a day
			// as rows, not packed.
			for _, end := range []time.Time{sx.at(10, 0), scheduling.AddDaysLocal(sx.at(9, 0), 2)} {
				res, err := f.st.SearchFreeSlots(f.ctx, scheduling.SlotSearch{PracticeID: sx.practice, Start: sx.at(9, 0), End: end,
					Consumer: scheduling.Consumer{OrgType: "urgent-care", ODS: "A12345"}, Now: scheduling.AddDaysLocal(sx.at(12, 0), -1)})
				f.ok(err)
				if len(res.Slots) < 2 {
					t.Fatalf("to %v: %d slots, want several", end, len(res.Slots))
				}
				for _, sl := range res.Slots {
					if sl.DeliveryChannel != ch || sl.ServiceType != typ {
						t.Fatalf("to %v: slot %d: channel %q, type %q", end, sl.ID, sl.DeliveryChannel, sl.ServiceType)
					}
				}
			}
		})
	}
}

// TestRefGenerationsBumps: each kind of change the search cache depends on
// moves the practice's generations, and a booking's or cancellation's change
// of a capped profile's booked counter moves neither (the search reads the
// counter live, and a booking must not lock the generations row).
func TestRefGenerationsBumps(t *testing.T) {
	for _, e := range storetest.Engines(true) {
		t.Run(e.Name, func(t *testing.T) {
			f := newFx(t, e)
			sx := f.searchFixture()
			gens := func() (refs, profiles int64) {
				t.Helper()
				err := f.st.DB().QueryRowContext(f.ctx, f.st.DB().Rebind(`SELECT CAST(COALESCE(SUM(refs), 0) AS BIGINT), CAST(COALESCE(SUM(profiles), 0) AS BIGINT)
					FROM ref_generations WHERE practice_id IN (0, ?)`), sx.practice).Scan(&refs, &profiles)
				f.ok(err)
				return refs, profiles
			}
			var profileID, scheduleID int64
			f.ok(f.st.DB().QueryRowContext(f.ctx, f.st.DB().Rebind(`SELECT MIN(id) FROM access_profiles WHERE practice_id = ?`), sx.practice).Scan(&profileID))
			f.ok(f.st.DB().QueryRowContext(f.ctx, f.st.DB().Rebind(`SELECT MIN(id) FROM schedules WHERE practice_id = ?`), sx.practice).Scan(&scheduleID))
			for _, c := range []struct {
				name                 string
				sql                  string
				args                 []any
				wantRefs, wantProfil bool
			}{
				{"schedule", `UPDATE schedules SET role = 'R9999' WHERE id = ?`, []any{scheduleID}, true, false},
				{"location", `UPDATE locations SET phone = '01234' WHERE id = ?`, []any{sx.location}, true, false},
				{"practitioner", `UPDATE practitioners SET gender = 'other' WHERE id = ?`, []any{sx.pracs[0]}, true, false},
				{"profile rule", `UPDATE access_profiles SET cap = 10 WHERE id = ?`, []any{profileID}, false, true},
				{"booked only", `UPDATE access_profiles SET booked = booked + 1 WHERE id = ?`, []any{profileID}, false, false},
				{"new profile", `INSERT INTO access_profiles (practice_id, name) VALUES (?, 'Another')`, []any{sx.practice}, false, true},
				{"dropped profile", `DELETE FROM access_profiles WHERE practice_id = ? AND name = 'Another'`, []any{sx.practice}, false, true},
				{"another practice's schedule", `UPDATE schedules SET role = 'R9999' WHERE practice_id <> ?`, []any{sx.practice}, false, false},
			} {
				r0, p0 := gens()
				f.exec(c.sql, c.args...)
				r1, p1 := gens()
				if (r1 != r0) != c.wantRefs || (p1 != p0) != c.wantProfil {
					t.Errorf("%s: refs %d -> %d (want change %v), profiles %d -> %d (want change %v)", c.name, r0, r1, c.wantRefs, p0, p1, c.wantProfil)
				}
				if r1 < r0 || p1 < p0 {
					t.Errorf("%s: a generation went backwards", c.name)
				}
			}
		})
	}
}

// TestSearchLoadsPracticeSchedules: the first search of a practice puts all
// its schedules that have not ended in the reference cache, so that a search
// of another day needs no schedule query; a schedule the cache lacks even so
// is still read by id; and searches that miss at once all get complete
// results.
func TestSearchLoadsPracticeSchedules(t *testing.T) {
	for _, e := range storetest.Engines(true) {
		t.Run(e.Name, func(t *testing.T) {
			f := newFx(t, e)
			sx := f.searchFixture()
			nextWeek := scheduling.AddDaysLocal(sx.day, 7)
			_, err := f.st.Materialise(f.ctx, sx.practice, nextWeek, scheduling.AddDaysLocal(nextWeek, 1))
			f.ok(err)
			now := scheduling.AddDaysLocal(sx.at(12, 0), -1)
			var live []int64
			f.ok(f.st.DB().SelectContext(f.ctx, &live, f.st.DB().Rebind(`SELECT id FROM schedules WHERE practice_id = ? AND end_at > ? ORDER BY id`),
				sx.practice, now.Unix()))
			if len(live) < 16 {
				t.Fatalf("%d live schedules, want the fixture's two Mondays", len(live))
			}
			match := scheduling.Consumer{OrgType: "urgent-care", ODS: "A12345"}
			search := func(day time.Time) *scheduling.SlotResult {
				t.Helper()
				res, err := f.st.SearchFreeSlots(f.ctx, scheduling.SlotSearch{PracticeID: sx.practice,
					Start: scheduling.AtLocal(day, 9, 0), End: scheduling.AtLocal(day, 10, 0), Consumer: match, Now: now})
				f.ok(err)
				if len(res.Slots) == 0 {
					t.Fatalf("no slots on %s", day.Format("2006-01-02"))
				}
				for _, sl := range res.Slots {
					sc := res.Schedules[sl.ScheduleID]
					if sc == nil || res.Locations[sc.LocationID] == nil || (sc.PractitionerID != 0 && res.Practitioners[sc.PractitionerID] == nil) {
						t.Fatalf("slot %d lacks its schedule, location or practitioner", sl.ID)
					}
				}
				return res
			}
			search(sx.day)
			cached, whole := f.st.CachedSchedules(sx.practice)
			if !whole || !slices.Equal(cached, live) {
				t.Fatalf("after one search the cache holds %v (whole %v), want every live schedule %v", cached, whole, live)
			}
			next := search(nextWeek)
			// Both Mondays in one search (lib/pq reads a search of more than a
			// day as rows, not packed): the two days' slots, in the same order.
			both, err := f.st.SearchFreeSlots(f.ctx, scheduling.SlotSearch{PracticeID: sx.practice,
				Start: scheduling.AtLocal(sx.day, 9, 0), End: scheduling.AtLocal(nextWeek, 10, 0), Consumer: match, Now: now})
			f.ok(err)
			var want, got []int64
			for _, r := range []*scheduling.SlotResult{search(sx.day), next} {
				for _, sl := range r.Slots {
					want = append(want, sl.ID)
				}
			}
			for _, sl := range both.Slots {
				if sl.Start.In(scheduling.London).Hour() < 10 {
					got = append(got, sl.ID)
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("one search over both Mondays, before 10:00: %v, want the two days' %v", got, want)
			}
			// A schedule missing from a whole load is read by id.
			gone := next.Slots[0].ScheduleID
			f.st.ForgetCachedSchedule(sx.practice, gone)
			if again := search(nextWeek); again.Schedules[gone] == nil {
				t.Fatalf("schedule %d not read back after the cache lost it", gone)
			}
			if cached, _ := f.st.CachedSchedules(sx.practice); !slices.Contains(cached, gone) {
				t.Fatalf("schedule %d read by id was not cached again", gone)
			}
			// A change moves the generation: concurrent first searches at the
			// new one share a load, and each gets everything it shows.
			f.exec(`UPDATE locations SET name = ? WHERE id = ?`, "Renamed", sx.location)
			var wg sync.WaitGroup
			errs := make(chan error, 16)
			for i := range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					day := sx.day
					if i%2 == 1 {
						day = nextWeek
					}
					res, err := f.st.SearchFreeSlots(f.ctx, scheduling.SlotSearch{PracticeID: sx.practice,
						Start: scheduling.AtLocal(day, 9, 0), End: scheduling.AtLocal(day, 10, 0), Consumer: match, Now: now})
					if err != nil {
						errs <- err
						return
					}
					for _, sl := range res.Slots {
						sc := res.Schedules[sl.ScheduleID]
						if sc == nil || res.Locations[sc.LocationID] == nil || res.Locations[sc.LocationID].Name != "Renamed" {
							errs <- fmt.Errorf("slot %d: schedule or renamed location missing", sl.ID)
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if cached, whole := f.st.CachedSchedules(sx.practice); !whole || !slices.Equal(cached, live) {
				t.Fatalf("after the change the cache holds %v (whole %v), want %v", cached, whole, live)
			}
		})
	}
}

// TestPostgresPools: on PostgreSQL, reads outside transactions have a pool of
// their own, sized by ReadConns (twice GOMAXPROCS, from 4 to 16, by default).
func TestPostgresPools(t *testing.T) {
	if os.Getenv(storetest.EnvURL) == "" {
		t.Skipf("PostgreSQL only: %s is not set", storetest.EnvURL)
	}
	dsn, drop := storetest.FreshDatabase(t)
	defer drop()
	for _, c := range []struct{ conf, want int }{{3, 3}, {0, min(max(4, 2*runtime.GOMAXPROCS(0)), 16)}} {
		st, err := store.Open(t.Context(), store.Config{URL: dsn, ReadConns: c.conf})
		if err != nil {
			t.Fatal(err)
		}
		got := st.DB().Stats().MaxOpenConnections
		st.Close()
		if got != c.want {
			t.Errorf("ReadConns %d: read pool of %d, want %d", c.conf, got, c.want)
		}
	}
}
