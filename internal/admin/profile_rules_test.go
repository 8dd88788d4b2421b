package admin_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/admin"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// TestProfileEmbargoAgainstRelease: a profile whose embargo and release
// time together leave no moment at which any slot could be booked is
// refused, and every profile accepted leaves some slot of a day bookable.
// The check is against the rule itself (AccessProfile.Timing), minute by
// minute, not against the validation's own arithmetic.
func TestProfileEmbargoAgainstRelease(t *testing.T) {
	e := storetest.Engines(false)[0]
	f := newFx(t, e)
	day := time.Date(2026, 12, 9, 0, 0, 0, 0, scheduling.London) // a day far from the clock changes
	bookable := func(p *scheduling.AccessProfile) bool {
		for m := 0; m < 24*60; m += 5 {
			start := day.Add(time.Duration(m) * time.Minute)
			// The best moment to book: the release (or the embargo's edge if later).
			rel, _ := time.Parse("15:04", p.ReleaseTime)
			at := scheduling.AtLocal(scheduling.AddDaysLocal(day, -p.ReleaseDaysBefore), rel.Hour(), rel.Minute())
			if p.Timing(at, start) == scheduling.ReasonNone {
				return true
			}
		}
		return false
	}
	for i, c := range []struct {
		embargo time.Duration
		release string
		days    int
	}{
		{24 * time.Hour, "08:00", 0},   // the reviewer's case: released 08:00 the same day, 1 day's notice
		{16 * time.Hour, "08:00", 0},   // exactly the last minute's lead: still nothing
		{15 * time.Hour, "08:00", 0},   // late slots can be booked
		{48 * time.Hour, "08:00", 1},   // one day ahead cannot give two days' notice
		{30 * time.Hour, "08:00", 1},   // evening slots can
		{2 * time.Hour, "00:00", 0},    // released at midnight: most of the day
		{24 * time.Hour, "00:00", 0},   // a whole day's notice at midnight release: none
		{23 * time.Hour, "23:30", 1},   // released 23:30 the evening before: late slots
		{time.Hour, "23:59", 0},        // one minute left in the day
		{2 * time.Minute, "23:59", 0},  // the day's last slot starts at 23:55, before the release
		{30 * time.Minute, "12:00", 2}, // ordinary
	} {
		name := fmt.Sprintf("p%d", i)
		_, err := f.svc.CreateProfile(f.ctx, f.cli, ods, admin.ProfileInput{Name: &name, Embargo: ptr(admin.Span(c.embargo)),
			ReleaseTime: ptr(c.release), ReleaseDaysBefore: ptr(c.days)})
		want := bookable(&scheduling.AccessProfile{Bookable: true, Embargo: c.embargo, ReleaseTime: c.release, ReleaseDaysBefore: c.days})
		switch {
		case want && err != nil:
			t.Errorf("embargo %s, release %s %d day(s) before: refused (%v), but slots of a day can be booked", c.embargo, c.release, c.days, err)
		case !want && scheduling.ErrorCode(err) != scheduling.EINVALID:
			t.Errorf("embargo %s, release %s %d day(s) before: got %v, but no slot of a day can ever be booked", c.embargo, c.release, c.days, err)
		}
	}
}

// TestAddSessionAtMissingTime: a one-off session at a time the spring clock
// change skips is refused, not moved an hour later; the same time on the
// autumn change, and on ordinary days, is accepted as asked.
func TestAddSessionAtMissingTime(t *testing.T) {
	e := storetest.Engines(false)[0]
	f := newFx(t, e)
	loc := f.scalar(`SELECT id FROM locations WHERE practice_id = ? ORDER BY id LIMIT 1`, f.org.ID)
	add := func(date, start, end string) (admin.Session, error) {
		return f.svc.AddSession(f.ctx, f.cli, ods, admin.SessionInput{Date: date, Start: start, End: end, SlotMinutes: 10, LocationID: loc,
			Role: "R0260", ServiceCategory: "GP", ServiceType: "Night", Channels: []string{"Telephone"}, AccessProfileID: f.open})
	}
	for _, c := range []struct{ date, start, end string }{
		{"2026-03-29", "01:00", "01:50"}, // the fixture's spring change: 01:00–01:59 is skipped
		{"2026-03-29", "01:30", "02:30"},
		{"2026-03-29", "00:30", "01:30"}, // the end is the missing time
	} {
		_, err := add(c.date, c.start, c.end)
		wantCode(t, err, scheduling.EINVALID)
		if !strings.Contains(scheduling.ErrorMessage(err), "does not exist") {
			t.Errorf("%v: message %q does not say the time does not exist", c, scheduling.ErrorMessage(err))
		}
	}
	for _, c := range []struct{ date, start, end, wantStart string }{
		{"2026-03-29", "02:00", "02:30", "2026-03-29T02:00:00+01:00"},
		{"2026-10-25", "01:00", "01:30", "2026-10-25T01:00:00"}, // the repeated hour: either reading
		{"2026-03-30", "01:00", "01:30", "2026-03-30T01:00:00+01:00"},
	} {
		s, err := add(c.date, c.start, c.end)
		f.ok(err)
		if !strings.HasPrefix(s.Start, c.wantStart) {
			t.Errorf("%v: session starts %s, want %s", c, s.Start, c.wantStart)
		}
	}
}

// TestProfileODSList: a profile holds at most MaxODSCodes consumer codes
// (duplicates and case apart), and a list of many bad codes is refused with
// an error that names a few of them and counts the rest, not one the size
// of the request.
func TestProfileODSList(t *testing.T) {
	e := storetest.Engines(false)[0]
	f := newFx(t, e)
	codes := func(n int, format string) []string {
		l := make([]string, n)
		for i := range l {
			l[i] = fmt.Sprintf(format, i)
		}
		return l
	}
	// MaxODSCodes distinct codes, each sent twice and once in lower case: one list of MaxODSCodes.
	full := codes(admin.MaxODSCodes, "Q%06d")
	sent := append(append(slices.Clone(full), full...), strings.ToLower(full[0]))
	p, err := f.svc.CreateProfile(f.ctx, f.cli, ods, admin.ProfileInput{Name: ptr("many"), ODSCodes: &sent})
	if err != nil || len(p.ODSCodes) != admin.MaxODSCodes {
		t.Fatalf("%d distinct codes: %d kept, %v", admin.MaxODSCodes, len(p.ODSCodes), err)
	}
	over := codes(admin.MaxODSCodes+1, "Q%06d")
	_, err = f.svc.CreateProfile(f.ctx, f.cli, ods, admin.ProfileInput{Name: ptr("too many"), ODSCodes: &over})
	wantCode(t, err, scheduling.EINVALID)
	if !strings.Contains(err.Error(), fmt.Sprint(admin.MaxODSCodes+1)) {
		t.Fatalf("the error does not say how many were sent: %v", err)
	}
	bad := codes(500, "bad-%d")
	_, err = f.svc.CreateProfile(f.ctx, f.cli, ods, admin.ProfileInput{Name: ptr("bad"), ODSCodes: &bad})
	wantCode(t, err, scheduling.EINVALID)
	if msg := err.Error(); len(msg) > 300 || !strings.Contains(msg, `"BAD-0"`) || !strings.Contains(msg, "495 more") {
		t.Fatalf("error for 500 bad codes (%d bytes): %s", len(msg), msg)
	}
}

// TestProfileBlankEntries: an org_types or ods_codes list holding a blank
// entry is refused, on create and on update, and the profile is left as it
// was. Dropping the blank would leave [""] an empty list, which opens the
// profile to every consumer: the opposite of a restriction.
func TestProfileBlankEntries(t *testing.T) {
	e := storetest.Engines(false)[0]
	f := newFx(t, e)
	p, err := f.svc.CreateProfile(f.ctx, f.cli, ods, admin.ProfileInput{Name: ptr("A81001 only"),
		OrgTypes: &[]string{"urgent-care"}, ODSCodes: &[]string{"A81001"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		in   admin.ProfileInput
	}{
		{"ods_codes [\"\"]", admin.ProfileInput{ODSCodes: &[]string{""}}},
		{"ods_codes with a space", admin.ProfileInput{ODSCodes: &[]string{"B82005", "  "}}},
		{"org_types [\"\"]", admin.ProfileInput{OrgTypes: &[]string{""}}},
	} {
		_, err := f.svc.UpdateProfile(f.ctx, f.cli, ods, p.ID, c.in)
		wantCode(t, err, scheduling.EINVALID)
		if !strings.Contains(err.Error(), "empty entry") {
			t.Errorf("update %s: %v", c.name, err)
		}
		in := c.in
		in.Name = ptr("new " + c.name)
		_, err = f.svc.CreateProfile(f.ctx, f.cli, ods, in)
		wantCode(t, err, scheduling.EINVALID)
	}
	got, err := f.svc.Profile(f.ctx, f.cli, ods, p.ID)
	if err != nil || !slices.Equal(got.ODSCodes, []string{"A81001"}) || !slices.Equal(got.OrgTypes, []string{"urgent-care"}) {
		t.Fatalf("the profile changed: %+v, %v", got, err)
	}
	// [] still clears a restriction.
	if got, err = f.svc.UpdateProfile(f.ctx, f.cli, ods, p.ID, admin.ProfileInput{ODSCodes: &[]string{}}); err != nil || len(got.ODSCodes) != 0 {
		t.Fatalf("[] did not clear the codes: %+v, %v", got, err)
	}
}
