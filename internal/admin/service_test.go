package admin_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/admin"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// TestService runs the service cases on every engine, each on a fresh store.
func TestService(t *testing.T) {
	cases := []struct {
		name string
		fn   func(t *testing.T, f *fx)
	}{
		{"Profiles", testProfiles},
		{"ProfileCapBelowBooked", testProfileCapBelowBooked},
		{"ProfileCapCountsEarlierBookings", testProfileCapCountsEarlierBookings},
		{"WindowCheckedOnEverySlotOfABooking", testWindowEverySlot},
		{"Templates", testTemplates},
		{"TemplateTopUpCountedApart", testTemplateTopUp},
		{"TemplateShapeChangeKeepsBookedSessions", testTemplateShapeChange},
		{"OneOffSession", testOneOffSession},
		{"BlockAndCancelSession", testBlockCancelSession},
		{"SessionProfile", testSessionProfile},
		{"Slots", testSlots},
		{"SlotOwnBlock", testSlotOwnBlock},
		{"PractitionerClash", testPractitionerClash},
		{"RetiredSessionsNotExplained", testRetiredNotExplained},
		{"Switches", testSwitches},
		{"Tokens", testTokens},
		{"TokenScope", testTokenScope},
		{"AuditAppendOnly", testAdminAuditAppendOnly},
	}
	for _, e := range storetest.Engines(false) {
		t.Run(e.Name, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) { c.fn(t, newFx(t, e)) })
			}
		})
	}
}

// lastAudit returns the newest admin audit entry.
func (f *fx) lastAudit() admin.AuditEntry {
	f.t.Helper()
	es, err := f.svc.Audit(f.ctx, f.cli, ods, 1)
	f.ok(err)
	if len(es) == 0 {
		f.t.Fatal("no audit entry")
	}
	return es[0]
}

func (f *fx) auditCount() int64 { return f.scalar(`SELECT COUNT(*) FROM admin_audit`) }

func testProfiles(t *testing.T, f *fx) {
	p, err := f.svc.CreateProfile(f.ctx, f.cli, ods, admin.ProfileInput{Name: ptr("Hub, evenings"), OrgTypes: &[]string{"urgent-care"},
		ODSCodes: &[]string{"y11111", " Y11111", "A20047"}, BookingWindow: ptr(admin.Span(14 * 24 * time.Hour)), Embargo: ptr(admin.Span(2 * time.Hour))})
	f.ok(err)
	if !p.Bookable || !slices.Equal(p.ODSCodes, []string{"Y11111", "A20047"}) || p.BookingWindow.String() != "14d" || p.Embargo.String() != "2h" {
		t.Fatalf("created %+v", p)
	}
	a := f.lastAudit()
	if a.Action != "profile.create" || a.Actor != "cli:test" || a.Before != nil || !strings.Contains(string(a.After), `"Hub, evenings"`) {
		t.Fatalf("audit %+v", a)
	}
	got, err := f.svc.Profile(f.ctx, f.cli, ods, p.ID)
	f.ok(err)
	if got.Name != "Hub, evenings" || got.Version != 1 {
		t.Fatalf("read back %+v", got)
	}

	t.Run("ErrDuplicate", func(t *testing.T) {
		_, err := f.svc.CreateProfile(f.ctx, f.cli, ods, admin.ProfileInput{Name: ptr("Hub, evenings")})
		wantCode(t, err, scheduling.EDUPLICATE)
	})
	t.Run("ErrInvalidReportsEveryProblem", func(t *testing.T) {
		n := f.auditCount()
		_, err := f.svc.CreateProfile(f.ctx, f.cli, ods, admin.ProfileInput{Name: ptr(""), OrgTypes: &[]string{"pharmacy"}, ODSCodes: &[]string{"a b"},
			Cap: ptr(-1), ReleaseTime: ptr("25:00"), BookingWindow: ptr(admin.Span(time.Hour)), Embargo: ptr(admin.Span(2 * time.Hour))})
		wantCode(t, err, scheduling.EINVALID)
		for _, want := range []string{"name", "pharmacy", `"A B"`, "cap", "release_time", "embargo"} {
			if !strings.Contains(scheduling.ErrorMessage(err), want) {
				t.Errorf("message %q does not mention %q", scheduling.ErrorMessage(err), want)
			}
		}
		if f.auditCount() != n {
			t.Fatal("a refused change was audited")
		}
		// Values too large for their columns are refused, not wrapped or 500s.
		_, err = f.svc.CreateProfile(f.ctx, f.cli, ods, admin.ProfileInput{Name: ptr("huge"), Cap: ptr(3000000000)})
		wantCode(t, err, scheduling.EINVALID)
		_, err = f.svc.CreateProfile(f.ctx, f.cli, ods, admin.ProfileInput{Name: ptr("nul\x00name")})
		wantCode(t, err, scheduling.EINVALID)
	})
	t.Run("Update", func(t *testing.T) {
		up, err := f.svc.UpdateProfile(f.ctx, f.cli, ods, p.ID, admin.ProfileInput{Cap: ptr(3), OrgTypes: &[]string{}, Version: ptr(int64(1))})
		f.ok(err)
		if up.Cap != 3 || len(up.OrgTypes) != 0 || up.Version != 2 || up.Name != "Hub, evenings" {
			t.Fatalf("updated %+v", up)
		}
		a := f.lastAudit()
		var before, after admin.Profile
		f.ok(json.Unmarshal(a.Before, &before))
		f.ok(json.Unmarshal(a.After, &after))
		if a.Action != "profile.update" || before.Cap != 0 || after.Cap != 3 || a.Target != "profile/"+itoa(p.ID) {
			t.Fatalf("audit %+v", a)
		}
		n := f.auditCount()
		same, err := f.svc.UpdateProfile(f.ctx, f.cli, ods, p.ID, admin.ProfileInput{Cap: ptr(3)})
		f.ok(err)
		if same.Version != 2 || f.auditCount() != n {
			t.Fatalf("a no-op update changed the version (%d) or was audited", same.Version)
		}
	})
	t.Run("ErrStale", func(t *testing.T) {
		_, err := f.svc.UpdateProfile(f.ctx, f.cli, ods, p.ID, admin.ProfileInput{Cap: ptr(4), Version: ptr(int64(1))})
		wantCode(t, err, scheduling.ESTALE)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		other := f.scalar(`SELECT MIN(id) FROM access_profiles WHERE practice_id <> ?`, f.org.ID)
		_, err := f.svc.UpdateProfile(f.ctx, f.cli, ods, other, admin.ProfileInput{Cap: ptr(1)})
		wantCode(t, err, scheduling.ENOTFOUND)
		_, err = f.svc.Profile(f.ctx, f.cli, ods, 999999)
		wantCode(t, err, scheduling.ENOTFOUND)
	})
	t.Run("List", func(t *testing.T) {
		l, err := f.svc.Profiles(f.ctx, f.cli, ods)
		f.ok(err)
		if len(l) < 4 || !slices.IsSortedFunc(l, func(a, b admin.Profile) int { return int(a.ID - b.ID) }) || l[len(l)-1].ID != p.ID {
			t.Fatalf("list %+v", l)
		}
	})
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func testProfileCapBelowBooked(t *testing.T, f *fx) {
	p, err := f.svc.CreateProfile(f.ctx, f.cli, ods, admin.ProfileInput{Name: ptr("capped"), Cap: ptr(2)})
	f.ok(err)
	slot := f.ids(`SELECT id FROM slots WHERE schedule_id = ? ORDER BY start_at`, f.openSession())[0]
	_, err = f.svc.SetSlotProfile(f.ctx, f.cli, ods, slot, p.ID)
	f.ok(err)
	f.book(slot)
	_, err = f.svc.UpdateProfile(f.ctx, f.cli, ods, p.ID, admin.ProfileInput{Cap: ptr(0)})
	f.ok(err) // 0 means no cap: always allowed
	_, err = f.svc.UpdateProfile(f.ctx, f.cli, ods, p.ID, admin.ProfileInput{Cap: ptr(1)})
	f.ok(err)
	got, err := f.svc.Profile(f.ctx, f.cli, ods, p.ID)
	f.ok(err)
	if got.Cap != 1 {
		t.Fatalf("cap %d, want 1", got.Cap)
	}
}

// testProfileCapCountsEarlierBookings: a cap set on a profile whose slots
// were booked while it had none counts those bookings, and cancelling one
// gives its place back.
func testProfileCapCountsEarlierBookings(t *testing.T, f *fx) {
	p, err := f.svc.CreateProfile(f.ctx, f.cli, ods, admin.ProfileInput{Name: ptr("later capped")})
	f.ok(err)
	slots := f.ids(`SELECT id FROM slots WHERE schedule_id = ? ORDER BY start_at`, f.openSession())
	for _, id := range slots[:2] {
		_, err = f.svc.SetSlotProfile(f.ctx, f.cli, ods, id, p.ID)
		f.ok(err)
	}
	first := f.book(slots[0])
	_, err = f.svc.UpdateProfile(f.ctx, f.cli, ods, p.ID, admin.ProfileInput{Cap: ptr(1)})
	f.ok(err)
	got, err := f.svc.Profile(f.ctx, f.cli, ods, p.ID)
	f.ok(err)
	if got.Booked != 1 {
		t.Fatalf("booked %d after the cap was set, want 1", got.Booked)
	}
	wantCode(t, f.tryBook(slots[1]), scheduling.EINVALID) // the cap of one is held
	if _, err := f.st.Cancel(f.ctx, f.org.ID, first.ID, 0, "test", f.now, nil); err != nil {
		t.Fatal(err)
	}
	f.book(slots[1])
}

// testWindowEverySlot: a two-slot booking whose second slot starts beyond
// the booking window is refused, as the search would not show that slot.
func testWindowEverySlot(t *testing.T, f *fx) {
	var all []struct {
		ID      int64  `db:"id"`
		Start   int64  `db:"start_at"`
		End     int64  `db:"end_at"`
		Loc     int64  `db:"location_id"`
		Channel string `db:"channel"`
	}
	sess, err := f.svc.AddSession(f.ctx, f.cli, ods, admin.SessionInput{Date: f.tomorrow(), Start: "13:00", End: "14:00", SlotMinutes: 15, LocationID: 1,
		Role: "R0260", ServiceCategory: "Extra", ServiceType: "Extra slot", Channels: []string{"Telephone"}, AccessProfileID: f.open})
	f.ok(err)
	db := f.st.DB()
	if err := db.SelectContext(f.ctx, &all, db.Rebind(`SELECT s.id, s.start_at, s.end_at, sc.location_id, s.channel FROM slots s JOIN schedules sc ON sc.id = s.schedule_id
		WHERE s.schedule_id = ? ORDER BY s.start_at`), sess.ID); err != nil {
		t.Fatal(err)
	}
	rows := all[:0]
	for i := 1; i < len(all) && len(rows) == 0; i++ { // two adjacent slots of one channel
		if all[i-1].End == all[i].Start && all[i-1].Channel == all[i].Channel {
			rows = all[i-1 : i+1]
		}
	}
	if len(rows) < 2 {
		t.Fatalf("no two adjacent slots of one channel in %d", len(all))
	}
	window := admin.Span(time.Unix(rows[1].Start, 0).Sub(f.now) - time.Second) // the first slot inside, the second not
	p, err := f.svc.CreateProfile(f.ctx, f.cli, ods, admin.ProfileInput{Name: ptr("short window"), BookingWindow: &window, OrgTypes: &[]string{}})
	f.ok(err)
	for _, r := range rows[:2] {
		_, err = f.svc.SetSlotProfile(f.ctx, f.cli, ods, r.ID, p.ID)
		f.ok(err)
	}
	start, end := time.Unix(rows[0].Start, 0), time.Unix(rows[1].End, 0)
	_, _, err = f.st.Book(f.ctx, &scheduling.BookRequest{PracticeID: f.org.ID, PatientID: f.pat, LocationID: rows[0].Loc, SlotIDs: []int64{rows[0].ID, rows[1].ID},
		Start: start, End: end, StartText: scheduling.FormatLocal(start), EndText: scheduling.FormatLocal(end), Description: "test",
		BookingOrg: scheduling.BookingOrg{ODS: "GPCA0001", Name: "Test", Type: "urgent-care"}, Now: f.now})
	if err == nil || !strings.Contains(err.Error(), "booking_window") {
		t.Fatalf("two-slot booking reaching past the window: %v, want refused for booking_window", err)
	}
	f.book(rows[0].ID) // alone, the first slot is inside the window
}

var tplIn = admin.TemplateInput{Name: ptr("Thursday evening"), Weekday: ptr("thu"), Start: ptr("18:00"), End: ptr("19:00"), SlotMinutes: ptr(20),
	LocationID: ptr(int64(1)), PractitionerID: ptr(int64(2)), Role: ptr("R0260"), ServiceCategory: ptr("Evening surgery"),
	ServiceType: ptr("GP appointment"), Channels: &[]string{"In-person", "Telephone"}}

func (f *fx) withProfile(in admin.TemplateInput) admin.TemplateInput {
	in.AccessProfileID = ptr(f.open)
	return in
}

func testTemplates(t *testing.T, f *fx) {
	ch, err := f.svc.CreateTemplate(f.ctx, f.cli, ods, f.withProfile(tplIn))
	f.ok(err)
	// Ten days from Wednesday 25 March hold Thursdays 26 March and 2 April.
	if ch.Created != 2 || ch.Template.Weekday != "thursday" || !ch.Template.Active {
		t.Fatalf("created %+v", ch)
	}
	ss, err := f.svc.Sessions(f.ctx, f.cli, ods, f.now, f.now.Add(10*24*time.Hour))
	f.ok(err)
	var mine []admin.Session
	for _, s := range ss {
		if s.TemplateID == ch.Template.ID {
			mine = append(mine, s)
		}
	}
	// 18:00 local on both sides of the clock change: GMT on 26 March, BST on 2 April.
	if len(mine) != 2 || mine[0].Start != "2026-03-26T18:00:00+00:00" || mine[1].Start != "2026-04-02T18:00:00+01:00" || mine[0].Free != 3 {
		t.Fatalf("sessions %+v", mine)
	}
	t.Run("ErrInvalid", func(t *testing.T) {
		bad := f.withProfile(tplIn)
		bad.Name, bad.Weekday, bad.Role, bad.Channels = ptr("bad"), ptr("funday"), ptr("R9999"), &[]string{"Carrier pigeon"}
		_, err := f.svc.CreateTemplate(f.ctx, f.cli, ods, bad)
		wantCode(t, err, scheduling.EINVALID)
		for _, want := range []string{"funday", "R9999", "Carrier pigeon"} {
			if !strings.Contains(scheduling.ErrorMessage(err), want) {
				t.Errorf("message %q does not mention %q", scheduling.ErrorMessage(err), want)
			}
		}
	})
	t.Run("ErrSlotLongerThanSession", func(t *testing.T) {
		bad := f.withProfile(tplIn)
		bad.Name, bad.SlotMinutes = ptr("long slots"), ptr(90) // 18:00 to 19:00
		_, err := f.svc.CreateTemplate(f.ctx, f.cli, ods, bad)
		wantCode(t, err, scheduling.EINVALID)
	})
	t.Run("ErrForeignLocation", func(t *testing.T) {
		bad := f.withProfile(tplIn)
		bad.Name = ptr("foreign")
		bad.LocationID = ptr(f.scalar(`SELECT MIN(id) FROM locations WHERE practice_id <> ?`, f.org.ID))
		_, err := f.svc.CreateTemplate(f.ctx, f.cli, ods, bad)
		wantCode(t, err, scheduling.EINVALID)
	})
	t.Run("RenameKeepsSessions", func(t *testing.T) {
		up, err := f.svc.UpdateTemplate(f.ctx, f.cli, ods, ch.Template.ID, admin.TemplateInput{Name: ptr("Thursday late")})
		f.ok(err)
		if up.Template.Name != "Thursday late" || len(up.Retired) != 0 || up.Created != 0 {
			t.Fatalf("rename %+v", up)
		}
	})
	t.Run("EndRetiresFutureSessions", func(t *testing.T) {
		end, err := f.svc.EndTemplate(f.ctx, f.cli, ods, ch.Template.ID)
		f.ok(err)
		if end.Template.Active || len(end.Retired) != 2 || end.Created != 0 {
			t.Fatalf("end %+v", end)
		}
		if a := f.lastAudit(); a.Action != "template.end" {
			t.Fatalf("audit action %q", a.Action)
		}
		for _, id := range end.Retired {
			if n := f.scalar(`SELECT COUNT(*) FROM slots WHERE schedule_id = ? AND status = 'free'`, id); n != 0 {
				t.Fatalf("retired session %d still has %d free slots", id, n)
			}
		}
	})
}

func testTemplateShapeChange(t *testing.T, f *fx) {
	ch, err := f.svc.CreateTemplate(f.ctx, f.cli, ods, f.withProfile(tplIn))
	f.ok(err)
	sessions := f.ids(`SELECT id FROM schedules WHERE template_id = ? ORDER BY start_at`, ch.Template.ID)
	booked := f.ids(`SELECT id FROM slots WHERE schedule_id = ? ORDER BY start_at`, sessions[1])[0]
	appt := f.book(booked)
	up, err := f.svc.UpdateTemplate(f.ctx, f.cli, ods, ch.Template.ID, admin.TemplateInput{Start: ptr("17:00")})
	f.ok(err)
	if !slices.Equal(up.Retired, sessions[:1]) || len(up.Kept) != 1 || up.Kept[0].ID != sessions[1] ||
		!slices.Equal(up.Kept[0].AppointmentIDs, []int64{appt.ID}) || up.Created != 1 {
		t.Fatalf("shape change %+v (sessions %v)", up, sessions)
	}
	// The kept day runs only its booked old session; the other day runs the new shape.
	for i, sid := range sessions {
		day := f.scalar(`SELECT start_at FROM schedules WHERE id = ?`, sid)
		dayStart := scheduling.LocalMidnight(time.Unix(day, 0))
		active := f.ids(`SELECT id FROM schedules WHERE practice_id = ? AND status = 'active' AND start_at >= ? AND start_at < ?
			AND (template_id = ? OR id = ?)`, f.org.ID, dayStart.Unix(), scheduling.AddDaysLocal(dayStart, 1).Unix(), ch.Template.ID, sid)
		if len(active) != 1 || (i == 1) != (active[0] == sid) {
			t.Fatalf("day %d: active sessions %v (old session %d)", i, active, sid)
		}
	}
	// A later top-up does not bring the new shape back beside the booked session.
	n, err := f.st.Materialise(f.ctx, f.org.ID, scheduling.LocalMidnight(f.now), f.now.Add(10*24*time.Hour))
	f.ok(err)
	if n != 0 {
		t.Fatalf("top-up after the shape change made %d sessions", n)
	}
	if st := f.scalar(`SELECT COUNT(*) FROM slots WHERE id = ? AND status = 'busy'`, booked); st != 1 {
		t.Fatal("the booked slot was touched")
	}
	// One record: the kept day never gets a new-shape session, so there is
	// none to retire afterwards.
	es, err := f.svc.Audit(f.ctx, f.cli, ods, 1)
	f.ok(err)
	if es[0].Action != "template.update" || !strings.Contains(es[0].Detail, "kept") ||
		!strings.Contains(string(es[0].Before), `"18:00"`) || !strings.Contains(string(es[0].After), `"17:00"`) {
		t.Fatalf("audit %+v", es)
	}
}

func (f *fx) tomorrow() string { return scheduling.FormatDate(f.now.Add(24 * time.Hour)) }

func testOneOffSession(t *testing.T, f *fx) {
	in := admin.SessionInput{Date: f.tomorrow(), Start: "13:00", End: "14:00", SlotMinutes: 15, LocationID: 1, Role: "R0260",
		ServiceCategory: "Extra", ServiceType: "Extra slot", Channels: []string{"Telephone"}, AccessProfileID: f.open}
	s, err := f.svc.AddSession(f.ctx, f.cli, ods, in)
	f.ok(err)
	if s.Free != 4 || s.TemplateID != 0 || s.Start != f.tomorrow()+"T13:00:00+00:00" {
		t.Fatalf("session %+v", s)
	}
	res, err := f.st.SearchFreeSlots(f.ctx, scheduling.SlotSearch{PracticeID: f.org.ID, Start: f.now, End: f.now.Add(48 * time.Hour), Now: f.now})
	f.ok(err)
	found := 0
	for _, sl := range res.Slots {
		if sl.ScheduleID == s.ID {
			found++
		}
	}
	if found != 4 {
		t.Fatalf("search finds %d of the one-off session's slots, want 4", found)
	}
	if a := f.lastAudit(); a.Action != "session.add" || a.Target != "session/"+itoa(s.ID) {
		t.Fatalf("audit %+v", a)
	}
	for name, mut := range map[string]func(*admin.SessionInput){
		"Past":         func(i *admin.SessionInput) { i.Date = "2026-03-01" },
		"BadDate":      func(i *admin.SessionInput) { i.Date = "1 April" },
		"NoWholeSlot":  func(i *admin.SessionInput) { i.SlotMinutes = 90 },
		"EndBefore":    func(i *admin.SessionInput) { i.End = "12:00" },
		"NoProfile":    func(i *admin.SessionInput) { i.AccessProfileID = 0 },
		"FarFuture":    func(i *admin.SessionInput) { i.Date = "9999-12-03" },
		"OneDigitHour": func(i *admin.SessionInput) { i.Start = "9:00" },
		"NULInType":    func(i *admin.SessionInput) { i.ServiceType = "Extra\x00slot" },
		"OtherPracticeProfile": func(i *admin.SessionInput) {
			i.AccessProfileID = f.scalar(`SELECT MIN(id) FROM access_profiles WHERE practice_id <> ?`, f.org.ID)
		},
	} {
		t.Run("Err"+name, func(t *testing.T) {
			bad := in
			mut(&bad)
			_, err := f.svc.AddSession(f.ctx, f.cli, ods, bad)
			wantCode(t, err, scheduling.EINVALID)
		})
	}
	// Clock-change nights (29 March and 25 October 2026): a time in the
	// missing hour is refused, and so is a session whose real length that
	// night is not a whole number of slots, though its wall-clock one is.
	for _, c := range []struct {
		name, date, start, end string
		minutes                int
		want                   string
	}{
		{"SpringMissingHour", "2026-03-29", "01:30", "03:00", 10, "01:30 does not exist on 2026-03-29"},
		{"SpringShortNight", "2026-03-29", "00:00", "03:00", 45, "on 2026-03-29 the session lasts 2h (the clocks change that night), not a whole number of 45-minute slots"},
		{"AutumnLongNight", "2026-10-25", "00:00", "02:00", 40, "on 2026-10-25 the session lasts 3h (the clocks change that night), not a whole number of 40-minute slots"},
	} {
		t.Run("Err"+c.name, func(t *testing.T) {
			bad := in
			bad.Date, bad.Start, bad.End, bad.SlotMinutes = c.date, c.start, c.end, c.minutes
			_, err := f.svc.AddSession(f.ctx, f.cli, ods, bad)
			wantCode(t, err, scheduling.EINVALID)
			if !strings.Contains(scheduling.ErrorMessage(err), c.want) {
				t.Errorf("%v, want %q", err, c.want)
			}
		})
	}
	// The same nights with a slot length that fits take the real length:
	// 00:00-02:00 is one hour in spring and three in autumn.
	for date, slots := range map[string]int{"2026-03-29": 2, "2026-10-25": 6} {
		ok := in
		ok.Date, ok.Start, ok.End, ok.SlotMinutes = date, "00:00", "02:00", 30
		s, err := f.svc.AddSession(f.ctx, f.cli, ods, ok)
		if err != nil || s.Free != slots {
			t.Errorf("%s 00:00-02:00 in 30-minute slots: %+v (%v), want %d slots", date, s, err, slots)
		}
	}
}

// testSessionProfile: a session's profile moves to another, on the session
// and its unbooked slots (a booked slot keeps its own), and is audited.
func testSessionProfile(t *testing.T, f *fx) {
	id := f.openSession()
	slots := f.ids(`SELECT id FROM slots WHERE schedule_id = ? ORDER BY start_at`, id)
	f.book(slots[0])
	p, err := f.svc.CreateProfile(f.ctx, f.cli, ods, admin.ProfileInput{Name: ptr("moved"), Bookable: ptr(false)})
	f.ok(err)
	ch, err := f.svc.SetSessionProfile(f.ctx, f.cli, ods, id, p.ID)
	f.ok(err)
	if ch.Changed != len(slots)-1 || ch.Session.AccessProfileID != p.ID || len(ch.KeptBooked) != 1 {
		t.Fatalf("change %+v, want %d slots moved and one booking kept", ch, len(slots)-1)
	}
	if n := f.scalar(`SELECT COUNT(*) FROM slots WHERE schedule_id = ? AND access_profile_id = ?`, id, p.ID); n != int64(len(slots)-1) {
		t.Fatalf("%d slots on the new profile, want %d", n, len(slots)-1)
	}
	if a := f.lastAudit(); a.Action != "session.profile" || a.Target != "session/"+itoa(id) {
		t.Fatalf("audit %+v", a)
	}
	_, err = f.svc.SetSessionProfile(f.ctx, f.cli, ods, id, f.scalar(`SELECT MIN(id) FROM access_profiles WHERE practice_id <> ?`, f.org.ID))
	wantCode(t, err, scheduling.EINVALID)
}

func testBlockCancelSession(t *testing.T, f *fx) {
	id := f.openSession()
	slots := f.ids(`SELECT id FROM slots WHERE schedule_id = ? ORDER BY start_at`, id)
	appt := f.book(slots[0])

	t.Run("CancelRefusedWhileBooked", func(t *testing.T) {
		_, err := f.svc.CancelSession(f.ctx, f.cli, ods, id)
		wantCode(t, err, scheduling.ECONFLICT)
		if !strings.Contains(scheduling.ErrorMessage(err), itoa(appt.ID)) {
			t.Fatalf("message %q does not name appointment %d", scheduling.ErrorMessage(err), appt.ID)
		}
	})
	t.Run("BlockKeepsBooking", func(t *testing.T) {
		ch, err := f.svc.BlockSession(f.ctx, f.cli, ods, id)
		f.ok(err)
		if ch.Changed != len(slots)-1 || !slices.Equal(ch.KeptBooked, []int64{appt.ID}) || ch.Session.Free != 0 || ch.Session.Booked != 1 || !ch.Session.SessionBlocked {
			t.Fatalf("block %+v", ch)
		}
		got, err := f.st.AppointmentByID(f.ctx, f.org.ID, appt.ID)
		f.ok(err)
		if got.Status != scheduling.ApptBooked {
			t.Fatalf("appointment %s after block", got.Status)
		}
		ex, err := f.svc.Explain(f.ctx, f.cli, ods, admin.ExplainInput{Start: f.now, End: f.now.Add(5 * 24 * time.Hour)})
		f.ok(err)
		for _, s := range ex.Sessions {
			if s.ID == id && (s.Offered != 0 || count(s.Removed, "blocked") != len(slots)-1 || count(s.Removed, "booked") != 1) {
				t.Fatalf("explain of the blocked session %+v", s)
			}
		}
	})
	t.Run("CancelledBookingStaysBlocked", func(t *testing.T) {
		_, err := f.st.Cancel(f.ctx, f.org.ID, appt.ID, 0, "patient cancelled", f.now, nil)
		f.ok(err)
		if n := f.scalar(`SELECT COUNT(*) FROM slots WHERE id = ? AND status = 'busy-unavailable'`, slots[0]); n != 1 {
			t.Fatal("cancelling a booking on a blocked session offered its slot again")
		}
	})
	t.Run("Unblock", func(t *testing.T) {
		ch, err := f.svc.UnblockSession(f.ctx, f.cli, ods, id)
		f.ok(err)
		if ch.Changed != len(slots) || ch.Session.Free != len(slots) || ch.Session.SessionBlocked {
			t.Fatalf("unblock %+v", ch)
		}
	})
	t.Run("CancelWhenFree", func(t *testing.T) {
		ch, err := f.svc.CancelSession(f.ctx, f.cli, ods, id)
		f.ok(err)
		if ch.Session.Status != "cancelled" || ch.Session.Free != 0 || ch.Session.Blocked != len(slots) {
			t.Fatalf("cancel %+v", ch)
		}
		_, err = f.svc.UnblockSession(f.ctx, f.cli, ods, id)
		wantCode(t, err, scheduling.EINVALID)
		_, err = f.svc.UnblockSlot(f.ctx, f.cli, ods, slots[1])
		wantCode(t, err, scheduling.EINVALID)
		// A cancelled session's profile is refused as block and unblock
		// are, and nothing is audited.
		before := f.auditCount()
		_, err = f.svc.SetSessionProfile(f.ctx, f.cli, ods, id, f.open)
		wantCode(t, err, scheduling.EINVALID)
		if msg := scheduling.ErrorMessage(err); msg != fmt.Sprintf("session %d is cancelled", id) {
			t.Fatalf("profile of a cancelled session: %q", msg)
		}
		if f.auditCount() != before {
			t.Fatal("a refused profile change was audited")
		}
		// So are its slots' own block and profile, and a new service link;
		// taking a link away stays possible, so that the service can be
		// deleted.
		_, err = f.svc.BlockSlot(f.ctx, f.cli, ods, slots[1])
		wantCode(t, err, scheduling.EINVALID)
		_, err = f.svc.SetSlotProfile(f.ctx, f.cli, ods, slots[1], f.open)
		wantCode(t, err, scheduling.EINVALID)
		h, err := f.svc.CreateHealthcareService(f.ctx, f.cli, ods, admin.ServiceInput{DOSID: ptr("990077"), Name: ptr("cancelled-session link")})
		f.ok(err)
		_, err = f.svc.SetSessionService(f.ctx, f.cli, ods, id, h.ID)
		wantCode(t, err, scheduling.EINVALID)
		if f.auditCount() != before+1 { // the service's creation only
			t.Fatalf("refused changes were audited: %d rows, want %d", f.auditCount(), before+1)
		}
		_, err = f.svc.SetSessionService(f.ctx, f.cli, ods, id, 0)
		f.ok(err)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		other := f.scalar(`SELECT MIN(id) FROM schedules WHERE practice_id <> ?`, f.org.ID)
		_, err := f.svc.BlockSession(f.ctx, f.cli, ods, other)
		wantCode(t, err, scheduling.ENOTFOUND)
	})
}

func testSlots(t *testing.T, f *fx) {
	slots := f.ids(`SELECT id FROM slots WHERE schedule_id = ? ORDER BY start_at`, f.openSession())
	appt := f.book(slots[0])
	_, err := f.svc.BlockSlot(f.ctx, f.cli, ods, slots[0])
	wantCode(t, err, scheduling.ECONFLICT)
	if !strings.Contains(scheduling.ErrorMessage(err), itoa(appt.ID)) {
		t.Fatalf("message %q does not name the appointment", scheduling.ErrorMessage(err))
	}
	s, err := f.svc.BlockSlot(f.ctx, f.cli, ods, slots[1])
	f.ok(err)
	if s.Status != string(scheduling.SlotBlocked) || f.lastAudit().Action != "slot.block" {
		t.Fatalf("blocked %+v", s)
	}
	n := f.auditCount()
	_, err = f.svc.BlockSlot(f.ctx, f.cli, ods, slots[1])
	f.ok(err)
	if f.auditCount() != n {
		t.Fatal("blocking a blocked slot was audited as a change")
	}
	// A blocked slot is never offered, whoever asks.
	for _, c := range []scheduling.Consumer{{}, {OrgType: "urgent-care", ODS: "A20047"}} {
		f.notOffered(t, c, "blocked", slots[0], slots[1])
	}
	s, err = f.svc.UnblockSlot(f.ctx, f.cli, ods, slots[1])
	f.ok(err)
	if s.Status != "free" {
		t.Fatalf("unblocked %+v", s)
	}
	_, err = f.svc.UnblockSlot(f.ctx, f.cli, ods, slots[0])
	wantCode(t, err, scheduling.ECONFLICT)
	notBookable := f.scalar(`SELECT id FROM access_profiles WHERE practice_id = ? AND name = 'not-bookable'`, f.org.ID)
	// A booked slot keeps the profile its booking counts against.
	_, err = f.svc.SetSlotProfile(f.ctx, f.cli, ods, slots[0], notBookable)
	wantCode(t, err, scheduling.ECONFLICT)

	s, err = f.svc.SetSlotProfile(f.ctx, f.cli, ods, slots[2], notBookable)
	f.ok(err)
	if s.AccessProfileID != notBookable {
		t.Fatalf("profile %+v", s)
	}
	f.notOffered(t, scheduling.Consumer{}, "a not-bookable profile of its own", slots[2])
	other := f.scalar(`SELECT MIN(id) FROM access_profiles WHERE practice_id <> ?`, f.org.ID)
	_, err = f.svc.SetSlotProfile(f.ctx, f.cli, ods, slots[2], other)
	wantCode(t, err, scheduling.EINVALID)
	_, err = f.svc.BlockSlot(f.ctx, f.cli, ods, f.scalar(`SELECT MIN(id) FROM slots WHERE practice_id <> ?`, f.org.ID))
	wantCode(t, err, scheduling.ENOTFOUND)
}

// notOffered fails the test if the store's slot search over the next five
// days offers any of the slots to the consumer.
func (f *fx) notOffered(t *testing.T, c scheduling.Consumer, why string, ids ...int64) {
	t.Helper()
	res, err := f.st.SearchFreeSlots(f.ctx, scheduling.SlotSearch{PracticeID: f.org.ID, Start: f.now, End: f.now.Add(5 * 24 * time.Hour), Consumer: c, Now: f.now})
	f.ok(err)
	for _, sl := range res.Slots {
		if slices.Contains(ids, sl.ID) {
			t.Fatalf("search offers slot %d (%s)", sl.ID, why)
		}
	}
}

// testSlotOwnBlock: a slot blocked on its own and its session's block are two
// decisions; undoing one never undoes the other.
func testSlotOwnBlock(t *testing.T, f *fx) {
	id := f.openSession()
	slots := f.ids(`SELECT id FROM slots WHERE schedule_id = ? ORDER BY start_at`, id)
	status := func(slot int64) (string, bool) {
		t.Helper()
		s, err := f.svc.Slot(f.ctx, f.cli, ods, slot)
		f.ok(err)
		return s.Status, s.SlotBlocked
	}
	// Slot 0 blocked first, then the session; slot 1 blocked inside the blocked session.
	s, err := f.svc.BlockSlot(f.ctx, f.cli, ods, slots[0])
	f.ok(err)
	if !s.SlotBlocked {
		t.Fatalf("blocked slot %+v lacks slot_blocked", s)
	}
	_, err = f.svc.BlockSession(f.ctx, f.cli, ods, id)
	f.ok(err)
	s, err = f.svc.BlockSlot(f.ctx, f.cli, ods, slots[1])
	f.ok(err)
	if !s.SlotBlocked || f.lastAudit().Action != "slot.block" {
		t.Fatalf("blocking a slot of a blocked session: %+v", s)
	}
	// Slot 2 is blocked by the session only: unblocking it alone is refused.
	_, err = f.svc.UnblockSlot(f.ctx, f.cli, ods, slots[2])
	wantCode(t, err, scheduling.EINVALID)
	// Slot 3 gets its own block and has it lifted while the session is blocked:
	// it stays blocked (by the session) and is freed with the session.
	_, err = f.svc.BlockSlot(f.ctx, f.cli, ods, slots[3])
	f.ok(err)
	s, err = f.svc.UnblockSlot(f.ctx, f.cli, ods, slots[3])
	f.ok(err)
	if s.SlotBlocked || s.Status != string(scheduling.SlotBlocked) {
		t.Fatalf("lifting a slot's own block inside a blocked session: %+v", s)
	}

	ch, err := f.svc.UnblockSession(f.ctx, f.cli, ods, id)
	f.ok(err)
	if ch.Changed != len(slots)-2 || ch.Session.Free != len(slots)-2 || ch.Session.Blocked != 2 {
		t.Fatalf("unblocking the session: %+v, want all but the two slots blocked on their own freed", ch)
	}
	for i, want := range []string{"busy-unavailable", "busy-unavailable", "free", "free"} {
		if st, own := status(slots[i]); st != want || own != (i < 2) {
			t.Errorf("slot %d after the session's unblock: %s (own block %v), want %s", i, st, own, want)
		}
	}
	f.notOffered(t, scheduling.Consumer{}, "blocked on its own", slots[0], slots[1])
	// Its own unblock frees it.
	s, err = f.svc.UnblockSlot(f.ctx, f.cli, ods, slots[0])
	f.ok(err)
	if s.SlotBlocked || s.Status != "free" {
		t.Fatalf("unblocked %+v", s)
	}
}

// testPractitionerClash: no template or one-off session may put a clinician
// in two sessions at once; sessions that only touch are fine.
func testPractitionerClash(t *testing.T, f *fx) {
	tpl := func(name, start, end string) admin.TemplateInput {
		in := f.withProfile(tplIn)
		in.Name, in.Weekday, in.Start, in.End, in.SlotMinutes, in.PractitionerID = ptr(name), ptr("tue"), ptr(start), ptr(end), ptr(10), ptr(int64(3))
		return in
	}
	tuesday := func(after time.Time) string {
		d := scheduling.AddDaysLocal(scheduling.LocalMidnight(after), 1)
		for d.Weekday() != time.Tuesday {
			d = scheduling.AddDaysLocal(d, 1)
		}
		return scheduling.FormatDate(d)
	}
	oneOff := func(date, start, end string) admin.SessionInput {
		return admin.SessionInput{Date: date, Start: start, End: end, SlotMinutes: 10, LocationID: 1, PractitionerID: 3, Role: "R0260",
			ServiceCategory: "Extra", ServiceType: "Extra slot", Channels: []string{"Telephone"}, AccessProfileID: f.open}
	}
	first, err := f.svc.CreateTemplate(f.ctx, f.cli, ods, tpl("early 1", "05:00", "06:00"))
	f.ok(err)
	n := f.auditCount()
	_, err = f.svc.CreateTemplate(f.ctx, f.cli, ods, tpl("early 2", "05:30", "06:30"))
	wantCode(t, err, scheduling.ECONFLICT)
	_, err = f.svc.AddSession(f.ctx, f.cli, ods, oneOff(tuesday(f.now), "05:40", "06:00"))
	wantCode(t, err, scheduling.ECONFLICT)
	// Beyond the horizon the template has made no session yet; its pattern still counts.
	_, err = f.svc.AddSession(f.ctx, f.cli, ods, oneOff(tuesday(f.now.Add(f.svc.Horizon+7*24*time.Hour)), "05:40", "06:00"))
	wantCode(t, err, scheduling.ECONFLICT)
	if f.auditCount() != n {
		t.Fatal("a refused clash was audited")
	}
	_, err = f.svc.CreateTemplate(f.ctx, f.cli, ods, tpl("early 3", "06:00", "07:00"))
	f.ok(err)
	_, err = f.svc.AddSession(f.ctx, f.cli, ods, oneOff(tuesday(f.now), "04:00", "05:00"))
	f.ok(err)
	// Moving the first template onto the third is refused; a rename is not a move.
	_, err = f.svc.UpdateTemplate(f.ctx, f.cli, ods, first.Template.ID, admin.TemplateInput{End: ptr("06:20")})
	wantCode(t, err, scheduling.ECONFLICT)
	_, err = f.svc.UpdateTemplate(f.ctx, f.cli, ods, first.Template.ID, admin.TemplateInput{Name: ptr("early one")})
	f.ok(err)
	// Its own sessions never clash with its new shape.
	_, err = f.svc.UpdateTemplate(f.ctx, f.cli, ods, first.Template.ID, admin.TemplateInput{Start: ptr("05:10")})
	f.ok(err)

	// A template meets a one-off session however far ahead it lies.
	far := tuesday(f.now.Add(f.svc.Horizon + 7*24*time.Hour))
	_, err = f.svc.AddSession(f.ctx, f.cli, ods, oneOff(far, "07:00", "08:00"))
	f.ok(err)
	_, err = f.svc.CreateTemplate(f.ctx, f.cli, ods, tpl("early 4", "07:30", "08:30"))
	wantCode(t, err, scheduling.ECONFLICT)

	// Two overlapping one-off sessions added at once: one wins, on every engine.
	for i := 0; i < 5; i++ {
		date := tuesday(f.now.Add(time.Duration(14+7*i) * 24 * time.Hour))
		errs := make(chan error, 2)
		for _, span := range [][2]string{{"02:00", "03:00"}, {"02:30", "03:30"}} {
			go func() {
				_, err := f.svc.AddSession(f.ctx, f.cli, ods, oneOff(date, span[0], span[1]))
				errs <- err
			}()
		}
		won := 0
		for range 2 {
			switch err := <-errs; scheduling.ErrorCode(err) {
			case "":
				won++
			case scheduling.ECONFLICT:
			default:
				t.Fatalf("concurrent add: %v", err)
			}
		}
		if won != 1 {
			t.Fatalf("%s: %d of two overlapping sessions were added, want 1", date, won)
		}
	}
}

// testRetiredNotExplained: a session its template replaced is "retired", not
// "cancelled", and explain counts only its replacement, so a template change
// neither inflates the slots that exist nor shows blocks nobody chose.
func testRetiredNotExplained(t *testing.T, f *fx) {
	in := f.withProfile(tplIn)
	in.Name, in.Weekday, in.Start, in.End, in.SlotMinutes, in.PractitionerID = ptr("to reshape"), ptr("wed"), ptr("04:00"), ptr("05:00"), ptr(10), ptr(int64(0))
	tc, err := f.svc.CreateTemplate(f.ctx, f.cli, ods, in)
	f.ok(err)
	day := scheduling.AddDaysLocal(scheduling.LocalMidnight(f.now), 1)
	for day.Weekday() != time.Wednesday {
		day = scheduling.AddDaysLocal(day, 1)
	}
	period := admin.ExplainInput{Start: day, End: scheduling.AddDaysLocal(day, 1)}
	before, err := f.svc.Explain(f.ctx, f.cli, ods, period)
	f.ok(err)
	old := f.ids(`SELECT id FROM schedules WHERE template_id = ? AND start_at >= ? AND start_at < ?`, tc.Template.ID, day.Unix(), period.End.Unix())
	if len(old) != 1 {
		t.Fatalf("template sessions that day: %v", old)
	}
	ch, err := f.svc.UpdateTemplate(f.ctx, f.cli, ods, tc.Template.ID, admin.TemplateInput{Start: ptr("04:20")})
	f.ok(err)
	if !slices.Contains(ch.Retired, old[0]) {
		t.Fatalf("change %+v did not retire session %d", ch, old[0])
	}
	ses, err := f.svc.Session(f.ctx, f.cli, ods, old[0])
	f.ok(err)
	if ses.Status != scheduling.SessionRetired {
		t.Fatalf("replaced session is %q, want %q", ses.Status, scheduling.SessionRetired)
	}
	_, err = f.svc.CancelSession(f.ctx, f.cli, ods, old[0])
	wantCode(t, err, scheduling.EINVALID)
	after, err := f.svc.Explain(f.ctx, f.cli, ods, period)
	f.ok(err)
	if after.Total != before.Total-2 { // 6 ten-minute slots became 4
		t.Fatalf("explain total %d after the reshape, want %d (%d before)", after.Total, before.Total-2, before.Total)
	}
	for _, s := range after.Sessions {
		if s.ID == old[0] {
			t.Fatalf("explain lists the retired session: %+v", s)
		}
	}
}

func testSwitches(t *testing.T, f *fx) {
	off, err := admin.SwitchesFor("gp_connect", false)
	f.ok(err)
	p, err := f.svc.SetSwitches(f.ctx, f.cli, ods, off)
	f.ok(err)
	if p.GPConnectEnabled || !p.AppointmentsEnabled {
		t.Fatalf("after disable gp_connect: %+v", p)
	}
	org, err := f.st.OrganisationByODS(f.ctx, ods)
	f.ok(err)
	if org.GPConnectEnabled || !org.AppointmentsEnabled {
		t.Fatalf("stored %+v", org)
	}
	a := f.lastAudit()
	if a.Action != "practice.switches" || !strings.Contains(string(a.Before), `"gp_connect_enabled": true`) && !strings.Contains(string(a.Before), `"gp_connect_enabled":true`) {
		t.Fatalf("audit %+v", a)
	}
	// A version read before the change is stale; the current one is not (a real change:
	// service filtering flipped, then flipped back).
	_, err = f.svc.SetSwitches(f.ctx, f.cli, ods, admin.Switches{Appointments: ptr(true), ServiceFiltering: ptr(true), Version: ptr(p.Version - 1)})
	wantCode(t, err, scheduling.ESTALE)
	if p, err = f.svc.SetSwitches(f.ctx, f.cli, ods, admin.Switches{ServiceFiltering: ptr(!p.ServiceFiltering), Version: ptr(p.Version)}); err != nil {
		t.Fatalf("switches at the current version: %v", err)
	}
	if _, err = f.svc.SetSwitches(f.ctx, f.cli, ods, admin.Switches{ServiceFiltering: ptr(!p.ServiceFiltering), Version: ptr(p.Version)}); err != nil {
		t.Fatalf("switches back at the current version: %v", err)
	}
	on, _ := admin.SwitchesFor("all", true)
	p, err = f.svc.SetSwitches(f.ctx, f.cli, ods, on)
	f.ok(err)
	if !p.GPConnectEnabled || !p.AppointmentsEnabled {
		t.Fatalf("after enable: %+v", p)
	}
	_, err = f.svc.SetSwitches(f.ctx, f.cli, ods, admin.Switches{})
	wantCode(t, err, scheduling.EINVALID)
	_, err = admin.SwitchesFor("everything", true)
	wantCode(t, err, scheduling.EPARAM)
}

func testTokens(t *testing.T, f *fx) {
	tok, rec, err := f.svc.CreateToken(f.ctx, f.cli, ods, "reception")
	f.ok(err)
	if !strings.HasPrefix(tok, "sbadm_") || len(tok) < 40 {
		t.Fatalf("token %q", tok)
	}
	// The token reads sbadm_<id>_<secret>, and the secret (base64url) may
	// itself hold "_": the whole secret is what must not be stored. Taking
	// only what follows the last "_" made the search now and then a
	// character or two, which a hex hash holds by chance.
	secret := strings.SplitN(tok, "_", 3)[2]
	if len(secret) < 40 {
		t.Fatalf("token %q: secret %q", tok, secret)
	}
	if stored := f.scalar(`SELECT COUNT(*) FROM admin_tokens WHERE hash LIKE ?`, "%"+secret+"%"); stored != 0 {
		t.Fatal("the token's secret is stored in clear")
	}
	a, err := f.svc.Authenticate(f.ctx, tok)
	f.ok(err)
	if a.PracticeID != f.org.ID || a.Name != "token:"+itoa(rec.ID) {
		t.Fatalf("actor %+v", a)
	}
	// A label with a control character would break the token list's
	// table (a newline starts a new row): refused, as in profile names.
	for _, label := range []string{"a\nb", "tab\there", "nul\x00", "del\x7f", strings.Repeat("é", admin.MaxLabel+1)} {
		before := f.auditCount()
		_, _, err := f.svc.CreateToken(f.ctx, f.cli, ods, label)
		wantCode(t, err, scheduling.EINVALID)
		if f.auditCount() != before {
			t.Fatalf("label %q: a refused token was audited", label)
		}
	}
	for name, bad := range map[string]string{
		"Empty":        "",
		"NoPrefix":     strings.TrimPrefix(tok, "sbadm_"),
		"WrongSecret":  tok[:len(tok)-1] + "x",
		"OtherID":      strings.Replace(tok, "sbadm_"+itoa(rec.ID)+"_", "sbadm_999_", 1),
		"NoSecret":     "sbadm_" + itoa(rec.ID) + "_",
		"NotANumber":   "sbadm_x_abc",
		"VeryLong":     tok + strings.Repeat("a", 300),
		"NegativeID":   "sbadm_-1_abc",
		"Unicode junk": "sbadm_1_\u00ff\u0000",
	} {
		t.Run("Err"+strings.ReplaceAll(name, " ", ""), func(t *testing.T) {
			_, err := f.svc.Authenticate(f.ctx, bad)
			wantCode(t, err, admin.EUNAUTHORIZED)
		})
	}
	l, err := f.svc.Tokens(f.ctx, f.cli, ods)
	f.ok(err)
	if len(l) != 1 || l[0].Label != "reception" || l[0].Revoked {
		t.Fatalf("list %+v", l)
	}
	f.ok(f.svc.RevokeToken(f.ctx, f.cli, ods, rec.ID))
	_, err = f.svc.Authenticate(f.ctx, tok)
	wantCode(t, err, admin.EUNAUTHORIZED)
	if a := f.lastAudit(); a.Action != "token.revoke" || a.Target != "token/"+itoa(rec.ID) {
		t.Fatalf("audit %+v", a)
	}
	wantCode(t, f.svc.RevokeToken(f.ctx, f.cli, "B82005", rec.ID), scheduling.ENOTFOUND)
	// A label is measured in characters: MaxLabel of them fit, in any script.
	if _, _, err := f.svc.CreateToken(f.ctx, f.cli, ods, strings.Repeat("é", admin.MaxLabel)); err != nil {
		t.Fatalf("a label of %d characters: %v", admin.MaxLabel, err)
	}
}

func testTokenScope(t *testing.T, f *fx) {
	tok, _, err := f.svc.CreateToken(f.ctx, f.cli, ods, "")
	f.ok(err)
	a, err := f.svc.Authenticate(f.ctx, tok)
	f.ok(err)
	_, err = f.svc.Profiles(f.ctx, a, ods)
	f.ok(err)
	for _, other := range []string{"B82005", "ZZZZZ9"} {
		_, err = f.svc.Profiles(f.ctx, a, other)
		wantCode(t, err, scheduling.EFORBIDDEN)
	}
	_, err = f.svc.Profiles(f.ctx, f.cli, "ZZZZZ9")
	wantCode(t, err, scheduling.ENOTFOUND)
	_, err = f.svc.CreateProfile(f.ctx, a, ods, admin.ProfileInput{Name: ptr("by token")})
	f.ok(err)
	if got := f.lastAudit().Actor; got != a.Name {
		t.Fatalf("audit actor %q, want %q", got, a.Name)
	}
}

func testAdminAuditAppendOnly(t *testing.T, f *fx) {
	_, err := f.svc.CreateProfile(f.ctx, f.cli, ods, admin.ProfileInput{Name: ptr("x")})
	f.ok(err)
	db := f.st.DB()
	for _, q := range []string{`UPDATE admin_audit SET actor = 'someone else'`, `DELETE FROM admin_audit`} {
		if _, err := db.ExecContext(f.ctx, q); err == nil {
			t.Fatalf("%s succeeded on the append-only admin audit", q)
		} else if !strings.Contains(err.Error(), "append-only") {
			t.Fatalf("%s failed for another reason: %v", q, err)
		}
	}
}

// TestBlockRacesBooking: a practice blocking a slot while a consumer books it
// never ends with both succeeding; the database decides, on every engine and
// driver, with all slots contended at once behind one start barrier.
func TestBlockRacesBooking(t *testing.T) {
	for _, e := range storetest.Engines(true) {
		t.Run(e.Name, func(t *testing.T) {
			f := newFx(t, e)
			slots := f.ids(`SELECT id FROM slots WHERE practice_id = ? AND access_profile_id = ? AND status = 'free' AND start_at > ? ORDER BY id LIMIT 20`,
				f.org.ID, f.open, f.now.Add(24*time.Hour).Unix())
			if len(slots) < 20 {
				t.Fatalf("only %d free slots to race for, want 20", len(slots))
			}
			// Every slot at once: a blocker and three bookers per slot, all
			// released together, so the block meets bookings in flight. The
			// bookers send one request (the store answers a repeat with the
			// first booking), so a booking win is one appointment, however
			// many of them report it.
			const bookers = 3
			type result struct {
				blocked error
				booked  [bookers]error
				appts   [bookers]*scheduling.Appointment
			}
			results := make([]result, len(slots))
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i, id := range slots {
				wg.Add(1 + bookers)
				go func() {
					defer wg.Done()
					<-start
					_, results[i].blocked = f.svc.BlockSlot(f.ctx, f.cli, ods, id)
				}()
				for b := range bookers {
					go func() {
						defer wg.Done()
						<-start
						results[i].appts[b], results[i].booked[b] = f.bookErr(id)
					}()
				}
			}
			close(start)
			wg.Wait()
			blockWins := 0
			for i, id := range slots {
				r := results[i]
				won := 0
				if r.blocked == nil {
					won++
					blockWins++
				}
				appts := map[int64]bool{}
				for b, err := range r.booked {
					if err == nil {
						appts[r.appts[b].ID] = true
					}
				}
				won += len(appts)
				if won != 1 {
					t.Fatalf("slot %d: block err %v, book errs %v; exactly one must win", id, r.blocked, r.booked)
				}
				for _, err := range append([]error{r.blocked}, r.booked[:]...) {
					if err != nil && scheduling.ErrorCode(err) != scheduling.ECONFLICT {
						t.Fatalf("slot %d: loser's error %v, want a conflict", id, err)
					}
				}
				active := f.scalar(`SELECT COUNT(*) FROM appointment_slots WHERE slot_id = ? AND active = TRUE`, id)
				busy := f.scalar(`SELECT COUNT(*) FROM slots WHERE id = ? AND status = 'busy'`, id)
				if booked := r.blocked != nil; booked != (active == 1 && busy == 1) {
					t.Fatalf("slot %d: booked %v but %d active bookings, busy %d", id, booked, active, busy)
				}
			}
			t.Logf("%d of %d slots went to the block", blockWins, len(slots))
		})
	}
}

// testTemplateTopUp: a template change also tops up the practice's other
// templates to the horizon; the answer says how many of the sessions made
// were those, and the change's audit record counts only its own template's.
func testTemplateTopUp(t *testing.T, f *fx) {
	f.svc.Horizon += 14 * 24 * time.Hour // the other templates now fall short of it
	ch, err := f.svc.CreateTemplate(f.ctx, f.cli, ods, f.withProfile(tplIn))
	f.ok(err)
	own := ch.Created - ch.ToppedUp
	// Thursdays in 24 days from Wednesday 25 March 2026: 26 March, 2, 9 and 16 April.
	if ch.ToppedUp <= 0 || own != 4 {
		t.Fatalf("made %d sessions, %d of them topping up other templates; want 4 of this template's and some others", ch.Created, ch.ToppedUp)
	}
	if a := f.lastAudit(); a.Action != "template.create" || !strings.Contains(a.Detail, fmt.Sprintf("sessions made for this template: %d", own)) {
		t.Errorf("audit %s %q, want template.create counting %d", a.Action, a.Detail, own)
	}
	ch, err = f.svc.UpdateTemplate(f.ctx, f.cli, ods, ch.Template.ID, admin.TemplateInput{Name: ptr("renamed")})
	f.ok(err)
	if ch.ToppedUp != 0 || ch.Created != 0 {
		t.Errorf("a rename after the top-up made %d sessions (%d topping up); want none", ch.Created, ch.ToppedUp)
	}
}
