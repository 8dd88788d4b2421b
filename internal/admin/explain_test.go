package admin_test

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/admin"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// TestExplainAgreesWithSearch: for many random consumers, periods and
// moments, the number of slots explain says are offered equals the number the
// slot search returns, and every slot in the period is counted exactly once.
// The practice has every kind of rule in play (restrictions, window, embargo,
// release time, cap, blocked and booked slots), so each reason must show up.
func TestExplainAgreesWithSearch(t *testing.T) {
	for _, e := range storetest.Engines(false) {
		t.Run(e.Name, func(t *testing.T) {
			f := newFx(t, e)
			mk := func(in admin.ProfileInput) int64 {
				p, err := f.svc.CreateProfile(f.ctx, f.cli, ods, in)
				f.ok(err)
				return p.ID
			}
			window := mk(admin.ProfileInput{Name: ptr("two days ahead"), BookingWindow: ptr(admin.Span(48 * time.Hour))})
			embargo := mk(admin.ProfileInput{Name: ptr("three hours notice"), Embargo: ptr(admin.Span(3 * time.Hour))})
			release := mk(admin.ProfileInput{Name: ptr("released 08:00 day before"), ReleaseTime: ptr("08:00"), ReleaseDaysBefore: ptr(1)})
			capped := mk(admin.ProfileInput{Name: ptr("cap one"), Cap: ptr(1)})
			odsOnly := mk(admin.ProfileInput{Name: ptr("hub only"), ODSCodes: &[]string{"Y11111", "A20047"}})
			both := mk(admin.ProfileInput{Name: ptr("uc hub"), ODSCodes: &[]string{"Y11111"}, OrgTypes: &[]string{"urgent-care"}})
			extra := []int64{window, embargo, release, capped, odsOnly, both}

			rng := rand.New(rand.NewPCG(7, 42))
			slots := f.ids(`SELECT id FROM slots WHERE practice_id = ? AND status = 'free' AND start_at > ? ORDER BY id`, f.org.ID, f.now.Unix())
			var cappedSlot int64
			for _, id := range slots {
				switch r := rng.IntN(100); {
				case r < 40:
					p := extra[rng.IntN(len(extra))]
					_, err := f.svc.SetSlotProfile(f.ctx, f.cli, ods, id, p)
					f.ok(err)
					if p == capped && cappedSlot == 0 {
						cappedSlot = id
					}
				case r < 45:
					_, err := f.svc.BlockSlot(f.ctx, f.cli, ods, id)
					f.ok(err)
				case r < 48:
					_, err := f.svc.SetSlotProfile(f.ctx, f.cli, ods, id, f.open)
					f.ok(err)
					f.book(id)
				}
			}
			if cappedSlot == 0 {
				t.Fatal("no slot got the capped profile")
			}
			f.book(cappedSlot) // uses up the cap of one

			seen := map[string]int{}
			orgTypes := []string{"", "urgent-care", "gp-practice", "other"}
			consumers := []string{"", "A20047", "Y11111", "B82005", "Z99999"}
			// A20047 has service filtering on in the demo data, with
			// HealthcareService/1 (DOS 2000041001, no session linked) and /2
			// (DOS 2000041002, the GP afternoon, HCA afternoon and triage sessions).
			services := []struct {
				dos string
				id  int64
			}{{"", 0}, {"2000041001", 1}, {"2000041002", 2}}
			for i := range 150 {
				svc := services[rng.IntN(len(services))]
				c := scheduling.Consumer{OrgType: orgTypes[rng.IntN(len(orgTypes))], ODS: consumers[rng.IntN(len(consumers))]}
				start := f.now.Add(time.Duration(rng.IntN(10*24*60)-24*60) * time.Minute)
				if rng.IntN(3) == 0 {
					start = start.Add(time.Duration(rng.IntN(60)) * time.Second) // off the minute
				}
				end := start.Add(time.Duration(rng.IntN(14*24*60+1)) * time.Minute)
				now := f.now.Add(time.Duration(rng.IntN(4*24*60)-60) * time.Minute)
				ex, err := f.svc.Explain(f.ctx, f.cli, ods, admin.ExplainInput{OrgType: c.OrgType, ConsumerODS: c.ODS, Start: start, End: end, Now: now,
					DOSID: svc.dos})
				f.ok(err)
				res, err := f.st.SearchFreeSlots(f.ctx, scheduling.SlotSearch{PracticeID: f.org.ID, Start: start, End: end, Consumer: c, Now: now})
				f.ok(err)
				if svc.id != 0 {
					res.OnlyService(svc.id) // as the provider's search does with service.identifier
				}
				if ex.Offered != len(res.Slots) {
					t.Fatalf("case %d %+v [%s, %s] now %s: explain offers %d, search returns %d", i, c,
						scheduling.FormatLocal(start), scheduling.FormatLocal(end), scheduling.FormatLocal(now), ex.Offered, len(res.Slots))
				}
				inside := f.scalar(`SELECT COUNT(*) FROM slots WHERE practice_id = ? AND start_at >= ? AND end_at <= ?`, f.org.ID, start.Unix(), end.Unix())
				sum, perSession := ex.Offered, 0
				for _, r := range ex.Removed {
					sum += r.Count
					if r.Count > 0 {
						seen[r.Reason]++
					}
				}
				for _, s := range ex.Sessions {
					perSession += s.Total
				}
				if int64(ex.Total) != inside || sum != ex.Total || perSession != ex.Total {
					t.Fatalf("case %d: total %d, slots inside %d, offered+removed %d, sessions %d", i, ex.Total, inside, sum, perSession)
				}
				if ex.Offered > 0 {
					seen["offered"]++
				}
			}
			for _, r := range []string{"offered", "past", "booked", "blocked", "not_bookable", "org_type", "ods_code", "booking_window", "embargo", "cap_reached",
				"other_service"} {
				if seen[r] == 0 {
					t.Errorf("no case exercised %q (seen %v): the comparison is weaker than it looks", r, seen)
				}
			}
		})
	}
}

// TestExplainSwitchesAndSessions: a switched-off practice offers nothing and
// says why; sessions are named with clinician, location and counts.
func TestExplainSwitchesAndSessions(t *testing.T) {
	for _, e := range storetest.Engines(false) {
		t.Run(e.Name, func(t *testing.T) {
			f := newFx(t, e)
			day := scheduling.AddDaysLocal(scheduling.LocalMidnight(f.now), 1)
			in := admin.ExplainInput{OrgType: "urgent-care", ConsumerODS: "Y11111", Start: day, End: scheduling.AddDaysLocal(day, 1)}
			ex, err := f.svc.Explain(f.ctx, f.cli, ods, in)
			f.ok(err)
			if ex.Total == 0 || ex.Offered == 0 || len(ex.Sessions) == 0 {
				t.Fatalf("expected slots offered on %s: %+v", scheduling.FormatDate(day), ex)
			}
			named := false
			for _, s := range ex.Sessions {
				if s.Clinician != "" && s.Location != "" && s.Start != "" && s.Type != "" && s.TemplateID != 0 {
					named = true
				}
			}
			if !named {
				t.Fatalf("no session named with clinician, location, type and template: %+v", ex.Sessions)
			}
			for _, c := range []struct {
				which  string
				reason string
			}{{"appointments", "capability_off"}, {"gp_connect", "not_enabled"}} {
				sw, err := admin.SwitchesFor(c.which, false)
				f.ok(err)
				_, err = f.svc.SetSwitches(f.ctx, f.cli, ods, sw)
				f.ok(err)
				ex, err := f.svc.Explain(f.ctx, f.cli, ods, in)
				f.ok(err)
				if ex.Offered != 0 || count(ex.Removed, c.reason) != ex.Total || !strings.Contains(strings.Join(ex.Notes, " "), "403") {
					t.Fatalf("%s off: offered %d, %s %d of %d, notes %v", c.which, ex.Offered, c.reason, count(ex.Removed, c.reason), ex.Total, ex.Notes)
				}
			}
			typo, err := f.svc.Explain(f.ctx, f.cli, ods, admin.ExplainInput{OrgType: "urgent_care", Start: day, End: scheduling.AddDaysLocal(day, 1)})
			f.ok(err)
			if !strings.Contains(strings.Join(typo.Notes, " "), `"urgent_care" is not a GPConnect-OrganisationType-1 code`) {
				t.Fatalf("no note about the unknown organisation type: %v", typo.Notes)
			}
			_, err = f.svc.Explain(f.ctx, f.cli, ods, admin.ExplainInput{Start: day, End: day.Add(-time.Second)})
			wantCode(t, err, scheduling.EPARAM)
			_, err = f.svc.Explain(f.ctx, f.cli, ods, admin.ExplainInput{Start: day, End: day.Add(admin.MaxExplainPeriod + time.Second)})
			wantCode(t, err, scheduling.EPARAM)
		})
	}
}

func count(l []admin.ReasonCount, reason string) int {
	for _, r := range l {
		if r.Reason == reason {
			return r.Count
		}
	}
	return -1
}

// TestExplainServiceFilter: a DOS id the practice does not list is refused
// (the search would answer 404), and with filtering off the DOS id changes
// nothing and a note says why.
func TestExplainServiceFilter(t *testing.T) {
	for _, e := range storetest.Engines(false) {
		t.Run(e.Name, func(t *testing.T) {
			f := newFx(t, e)
			in := admin.ExplainInput{OrgType: "urgent-care", ConsumerODS: "A20047", Start: f.now, End: f.now.Add(7 * 24 * time.Hour)}
			plain, err := f.svc.Explain(f.ctx, f.cli, ods, in)
			f.ok(err)
			in.DOSID = "2000041002"
			on, err := f.svc.Explain(f.ctx, f.cli, ods, in)
			f.ok(err)
			if on.ServiceFiltering != "enabled" || on.Offered == 0 || on.Offered >= plain.Offered {
				t.Errorf("filtering %q: %d offered with the DOS id, %d without; want some, and fewer", on.ServiceFiltering, on.Offered, plain.Offered)
			}
			bad := in
			bad.DOSID = "999"
			if _, err := f.svc.Explain(f.ctx, f.cli, ods, bad); scheduling.ErrorCode(err) != scheduling.EPARAM || !strings.Contains(err.Error(), "404") {
				t.Errorf("unknown DOS id: %v, want EPARAM naming the search's 404", err)
			}
			f.ok(f.st.SetServiceFiltering(f.ctx, ods, false))
			off, err := f.svc.Explain(f.ctx, f.cli, ods, in)
			f.ok(err)
			if off.ServiceFiltering != "organization-disabled" || off.Offered != plain.Offered ||
				!strings.Contains(strings.Join(off.Notes, " "), "service.identifier is ignored") {
				t.Errorf("filtering off: status %q, %d offered (want %d), notes %q", off.ServiceFiltering, off.Offered, plain.Offered, off.Notes)
			}
		})
	}
}

// TestExplainCancelledSession: a cancelled session's slots are counted as
// "cancelled", a blocked session's as "blocked", so a practice can tell which
// of its own actions withheld them; the search offers neither.
func TestExplainCancelledSession(t *testing.T) {
	for _, e := range storetest.Engines(false) {
		t.Run(e.Name, func(t *testing.T) {
			f := newFx(t, e)
			cancelled := f.openSession()
			blocked := f.scalar(`SELECT id FROM schedules WHERE practice_id = ? AND access_profile_id = ? AND start_at > ? AND status = 'active' AND id <> ?
				ORDER BY start_at, id LIMIT 1`, f.org.ID, f.open, f.now.Add(24*time.Hour).Unix(), cancelled)
			// One slot of the session to be cancelled is blocked on its own first: the cancel still explains it.
			first := f.ids(`SELECT id FROM slots WHERE schedule_id = ? ORDER BY start_at`, cancelled)[0]
			_, err := f.svc.BlockSlot(f.ctx, f.cli, ods, first)
			f.ok(err)
			_, err = f.svc.CancelSession(f.ctx, f.cli, ods, cancelled)
			f.ok(err)
			_, err = f.svc.BlockSession(f.ctx, f.cli, ods, blocked)
			f.ok(err)
			ex, err := f.svc.Explain(f.ctx, f.cli, ods, admin.ExplainInput{OrgType: "urgent-care", ConsumerODS: "A20047", Start: f.now, End: f.now.Add(7 * 24 * time.Hour)})
			f.ok(err)
			want := map[int64]string{cancelled: "cancelled", blocked: "blocked"}
			for _, s := range ex.Sessions {
				r, ok := want[s.ID]
				if !ok {
					continue
				}
				delete(want, s.ID)
				n := int(f.scalar(`SELECT COUNT(*) FROM slots WHERE schedule_id = ?`, s.ID))
				if s.Offered != 0 || count(s.Removed, r) != n || len(s.Removed) != 1 {
					t.Errorf("session %d (%s): offered %d, removed %+v; want all %d %q", s.ID, s.Status, s.Offered, s.Removed, n, r)
				}
			}
			if len(want) != 0 {
				t.Fatalf("sessions %v missing from the explanation", want)
			}
			if count(ex.Removed, "cancelled") <= 0 || count(ex.Removed, "blocked") <= 0 {
				t.Fatalf("practice-wide counts %+v", ex.Removed)
			}
		})
	}
}

// TestExplainPastTheSessions: a period running past the practice's last
// session says so (the commonest empty answer for a far period is that its
// sessions are not made yet); one inside them does not.
func TestExplainPastTheSessions(t *testing.T) {
	for _, e := range storetest.Engines(false) {
		t.Run(e.Name, func(t *testing.T) {
			f := newFx(t, e) // sessions made ten days ahead
			const note = "The practice's sessions run only to "
			has := func(ex *admin.Explanation) bool {
				return slices.ContainsFunc(ex.Notes, func(n string) bool { return strings.HasPrefix(n, note) })
			}
			day := scheduling.AddDaysLocal(scheduling.LocalMidnight(f.now), 1)
			ex, err := f.svc.Explain(f.ctx, f.cli, ods, admin.ExplainInput{Start: day, End: scheduling.AddDaysLocal(day, 2)})
			f.ok(err)
			if has(ex) {
				t.Errorf("a period inside the sessions got the note: %q", ex.Notes)
			}
			// Ending on the last session's day: every day of the period has sessions.
			var lastEnd int64
			f.ok(f.st.DB().GetContext(f.ctx, &lastEnd, f.st.DB().Rebind(`SELECT MAX(end_at) FROM schedules WHERE practice_id = ?`), f.org.ID))
			lastDay := scheduling.LocalMidnight(time.Unix(lastEnd, 0))
			ex, err = f.svc.Explain(f.ctx, f.cli, ods, admin.ExplainInput{Start: scheduling.AddDaysLocal(lastDay, -1),
				End: scheduling.AddDaysLocal(lastDay, 1).Add(-time.Second)})
			f.ok(err)
			if ex.Total == 0 || has(ex) {
				t.Errorf("a period ending on the last session's day (%s): total %d, notes %q; want slots and no note",
					scheduling.FormatDate(lastDay), ex.Total, ex.Notes)
			}
			far := scheduling.AddDaysLocal(day, 20)
			ex, err = f.svc.Explain(f.ctx, f.cli, ods, admin.ExplainInput{Start: far, End: scheduling.AddDaysLocal(far, 2)})
			f.ok(err)
			if ex.Total != 0 || !has(ex) {
				t.Errorf("a period past the sessions: total %d, notes %q; want none and the note", ex.Total, ex.Notes)
			}
		})
	}
}
