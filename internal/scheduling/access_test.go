package scheduling

import (
	"fmt"
	"testing"
	"time"
)

// TestMatchesSpecTable walks every row of the access-profile table of spec
// §5.4 against every kind of slot restriction, with the sent values matching
// and not matching. The expected answers are written out per case from the
// table, not computed by the rule under test.
func TestMatchesSpecTable(t *testing.T) {
	profiles := map[string]*AccessProfile{
		"unrestricted": {Bookable: true},
		"type":         {Bookable: true, OrgTypes: []string{"urgent-care"}},
		"types":        {Bookable: true, OrgTypes: []string{"gp-practice", "urgent-care"}},
		"ods":          {Bookable: true, ODSCodes: []string{"A11111"}},
		"odsList":      {Bookable: true, ODSCodes: []string{"B22222", "A11111"}},
		"both":         {Bookable: true, OrgTypes: []string{"urgent-care"}, ODSCodes: []string{"A11111"}},
	}
	consumers := map[string]Consumer{
		"none":             {},
		"typeMatch":        {OrgType: "urgent-care"},
		"typeOther":        {OrgType: "gp-practice-x"},
		"odsMatch":         {ODS: "A11111"},
		"odsOther":         {ODS: "Z99999"},
		"bothMatch":        {OrgType: "urgent-care", ODS: "A11111"},
		"bothTypeOnlyOK":   {OrgType: "urgent-care", ODS: "Z99999"},
		"bothODSOnlyOK":    {OrgType: "gp-practice-x", ODS: "A11111"},
		"bothNeitherMatch": {OrgType: "gp-practice-x", ODS: "Z99999"},
		// Several values of one system (searchFilter is 0..n): a restricted
		// slot is offered only when every value is allowed.
		"twoTypes":    {OrgType: "gp-practice", MoreOrgTypes: []string{"urgent-care"}},
		"twoTypesOut": {OrgType: "urgent-care", MoreOrgTypes: []string{"Other"}},
		"twoODS":      {ODS: "A11111", MoreODS: []string{"B22222"}},
		"twoODSOut":   {ODS: "A11111", MoreODS: []string{"Z99999"}},
	}
	// want[consumer][profile]: "" offered, else the reason.
	want := map[string]map[string]Reason{
		// Row "none": no org-type restriction and no ODS restriction.
		"none": {"unrestricted": "", "type": ReasonOrgType, "types": ReasonOrgType, "ods": ReasonODS, "odsList": ReasonODS, "both": ReasonOrgType},
		// Row "org type only": no ODS restriction and (no type restriction or it contains the type).
		"typeMatch": {"unrestricted": "", "type": "", "types": "", "ods": ReasonODS, "odsList": ReasonODS, "both": ReasonODS},
		"typeOther": {"unrestricted": "", "type": ReasonOrgType, "types": ReasonOrgType, "ods": ReasonODS, "odsList": ReasonODS, "both": ReasonOrgType},
		// Row "ODS code only": no type restriction and (no ODS restriction or it contains the code).
		"odsMatch": {"unrestricted": "", "type": ReasonOrgType, "types": ReasonOrgType, "ods": "", "odsList": "", "both": ReasonOrgType},
		"odsOther": {"unrestricted": "", "type": ReasonOrgType, "types": ReasonOrgType, "ods": ReasonODS, "odsList": ReasonODS, "both": ReasonOrgType},
		// Row "both": (no type restriction or match) and (no ODS restriction or match).
		"bothMatch":        {"unrestricted": "", "type": "", "types": "", "ods": "", "odsList": "", "both": ""},
		"bothTypeOnlyOK":   {"unrestricted": "", "type": "", "types": "", "ods": ReasonODS, "odsList": ReasonODS, "both": ReasonODS},
		"bothODSOnlyOK":    {"unrestricted": "", "type": ReasonOrgType, "types": ReasonOrgType, "ods": "", "odsList": "", "both": ReasonOrgType},
		"bothNeitherMatch": {"unrestricted": "", "type": ReasonOrgType, "types": ReasonOrgType, "ods": ReasonODS, "odsList": ReasonODS, "both": ReasonOrgType},
		"twoTypes":         {"unrestricted": "", "type": ReasonOrgType, "types": "", "ods": ReasonODS, "odsList": ReasonODS, "both": ReasonOrgType},
		"twoTypesOut":      {"unrestricted": "", "type": ReasonOrgType, "types": ReasonOrgType, "ods": ReasonODS, "odsList": ReasonODS, "both": ReasonOrgType},
		"twoODS":           {"unrestricted": "", "type": ReasonOrgType, "types": ReasonOrgType, "ods": ReasonODS, "odsList": "", "both": ReasonOrgType},
		"twoODSOut":        {"unrestricted": "", "type": ReasonOrgType, "types": ReasonOrgType, "ods": ReasonODS, "odsList": ReasonODS, "both": ReasonOrgType},
	}
	now := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	for cn, c := range consumers {
		for pn, p := range profiles {
			t.Run(cn+"/"+pn, func(t *testing.T) {
				w := want[cn][pn]
				if got := p.Matches(c); got != w {
					t.Fatalf("Matches = %q, want %q", got, w)
				}
				// Offer (the rule search and booking call) agrees, and so does Why on a free future slot.
				if got := p.Offer(c, now, now.Add(time.Hour)); got != w {
					t.Fatalf("Offer = %q, want %q", got, w)
				}
				sl := Slot{ID: 1, Status: SlotFree, Start: now.Add(time.Hour), End: now.Add(2 * time.Hour), AccessProfileID: 7}
				if got := Why(sl, map[int64]*AccessProfile{7: p}, c, now); got != w {
					t.Fatalf("Why = %q, want %q", got, w)
				}
			})
		}
	}
	t.Run("NilProfileIsUnrestrictedButNotBookable", func(t *testing.T) {
		var p *AccessProfile
		if p.Matches(Consumer{}) != ReasonNone || p.Offer(Consumer{}, now, now.Add(time.Hour)) != ReasonNotBookable {
			t.Fatal("nil profile")
		}
	})
	t.Run("NotBookableWinsOverMatch", func(t *testing.T) {
		p := &AccessProfile{OrgTypes: []string{"urgent-care"}}
		if got := p.Offer(Consumer{OrgType: "urgent-care"}, now, now.Add(time.Hour)); got != ReasonNotBookable {
			t.Fatalf("Offer = %q", got)
		}
	})
}

type timingCase struct {
	name       string
	p          *AccessProfile
	start, now time.Time
	want       Reason
}

// TestTimingEdges: the booking window, embargo and release time exactly on
// their boundary and one second either side, including across both clock changes.
func TestTimingEdges(t *testing.T) {
	// Monday 30 March 2026 09:00 BST: the day after the spring change.
	spring := AtLocal(time.Date(2026, 3, 30, 12, 0, 0, 0, time.UTC), 9, 0)
	// Monday 26 October 2026 09:00 GMT: the day after the autumn change.
	autumn := AtLocal(time.Date(2026, 10, 26, 12, 0, 0, 0, time.UTC), 9, 0)
	// Plain summer Monday.
	summer := AtLocal(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC), 9, 0)
	window := &AccessProfile{Bookable: true, BookingWindow: 48 * time.Hour}
	embargo := &AccessProfile{Bookable: true, Embargo: 2 * time.Hour}
	release := &AccessProfile{Bookable: true, ReleaseTime: "08:00", ReleaseDaysBefore: 1}
	var cases []timingCase
	for _, d := range []struct {
		name  string
		start time.Time
	}{{"Summer", summer}, {"AfterSpringChange", spring}, {"AfterAutumnChange", autumn}} {
		// The window and embargo are elapsed time: 48 h before 09:00 BST on 30 March is 08:00 GMT on 28 March.
		on := d.start.Add(-48 * time.Hour)
		cases = append(cases,
			timingCase{d.name + "/WindowOneSecondEarly", window, d.start, on.Add(-time.Second), ReasonWindow},
			timingCase{d.name + "/WindowExactlyOn", window, d.start, on, ReasonNone},
			timingCase{d.name + "/WindowOneSecondInside", window, d.start, on.Add(time.Second), ReasonNone},
		)
		eon := d.start.Add(-2 * time.Hour)
		for _, c := range []struct {
			sfx  string
			now  time.Time
			want Reason
		}{{"EmbargoOneSecondBefore", eon.Add(-time.Second), ReasonNone}, {"EmbargoExactlyOn", eon, ReasonNone}, {"EmbargoOneSecondAfter", eon.Add(time.Second), ReasonEmbargo}} {
			cases = append(cases, timingCase{d.name + "/" + c.sfx, embargo, d.start, c.now, c.want})
		}
		// Release at 08:00 local on the day before, in that day's own offset.
		ron := AtLocal(AddDaysLocal(d.start, -1), 8, 0)
		for _, c := range []struct {
			sfx  string
			now  time.Time
			want Reason
		}{{"ReleaseOneSecondBefore", ron.Add(-time.Second), ReasonEmbargo}, {"ReleaseExactlyOn", ron, ReasonNone}, {"ReleaseOneSecondAfter", ron.Add(time.Second), ReasonNone}} {
			cases = append(cases, timingCase{d.name + "/" + c.sfx, release, d.start, c.now, c.want})
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.p.Timing(c.now, c.start); got != c.want {
				t.Fatalf("Timing(now %s, start %s) = %q, want %q", FormatLocal(c.now), FormatLocal(c.start), got, c.want)
			}
		})
	}
	// Release on the spring-change Sunday happens at 08:00 BST (07:00 UTC), not 08:00 UTC.
	if got := AtLocal(AddDaysLocal(spring, -1), 8, 0).UTC().Hour(); got != 7 {
		t.Fatalf("release instant on 29 March is %02d:00 UTC, want 07:00", got)
	}
	if got := FormatLocal(spring.Add(-48 * time.Hour)); got != "2026-03-28T08:00:00+00:00" {
		t.Fatalf("48 h before 09:00 BST on 30 March = %s", got)
	}
}

// TestWhyOrder: past and slot state come before the profile rules, and the cap last.
func TestWhyOrder(t *testing.T) {
	now := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	full := &AccessProfile{Bookable: true, Cap: 1, Booked: 1}
	profiles := map[int64]*AccessProfile{1: full, 2: {Bookable: true, OrgTypes: []string{"urgent-care"}, Cap: 1, Booked: 1}}
	for _, c := range []struct {
		slot Slot
		want Reason
	}{
		{Slot{Status: SlotFree, Start: now, AccessProfileID: 1}, ReasonPast}, // starting now is past
		{Slot{Status: SlotBusy, Start: now.Add(-time.Hour), AccessProfileID: 1}, ReasonPast},
		{Slot{Status: SlotBusy, Start: now.Add(time.Hour), AccessProfileID: 1}, ReasonBooked},
		{Slot{Status: SlotBlocked, Start: now.Add(time.Hour), AccessProfileID: 1}, ReasonBlocked},
		{Slot{Status: SlotFree, Start: now.Add(time.Hour), AccessProfileID: 9}, ReasonNotBookable}, // unknown profile
		{Slot{Status: SlotFree, Start: now.Add(time.Hour), AccessProfileID: 2}, ReasonOrgType},
		{Slot{Status: SlotFree, Start: now.Add(time.Hour), AccessProfileID: 1}, ReasonCap},
		{Slot{Status: SlotFree, Start: now.Add(time.Second), AccessProfileID: 1}, ReasonCap},
	} {
		t.Run(fmt.Sprintf("%s", c.want), func(t *testing.T) {
			if got := Why(c.slot, profiles, Consumer{}, now); got != c.want {
				t.Fatalf("Why(%+v) = %q, want %q", c.slot, got, c.want)
			}
		})
	}
}

// TestExplainCounts: each slot is counted once, under its first reason, and
// the practice switches come first.
func TestExplainCounts(t *testing.T) {
	now := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	profiles := map[int64]*AccessProfile{1: {Bookable: true}}
	sc := map[int64]*Schedule{10: {ID: 10, Start: now.Add(2 * time.Hour)}, 11: {ID: 11, Start: now.Add(time.Hour)}}
	slots := []Slot{
		{ScheduleID: 10, Status: SlotFree, Start: now.Add(2 * time.Hour), AccessProfileID: 1},
		{ScheduleID: 10, Status: SlotBusy, Start: now.Add(3 * time.Hour), AccessProfileID: 1},
		{ScheduleID: 11, Status: SlotFree, Start: now.Add(-time.Hour), AccessProfileID: 1},
	}
	on := &Organisation{GPConnectEnabled: true, AppointmentsEnabled: true}
	ex := Explain(on, slots, sc, profiles, ExplainQuery{Now: now})
	if ex.Total != 3 || ex.Offered != 1 || ex.Removed[ReasonBooked] != 1 || ex.Removed[ReasonPast] != 1 || len(ex.Sessions) != 2 ||
		ex.Sessions[0].Schedule.ID != 11 || ex.Sessions[1].Total != 2 {
		t.Fatalf("explain %+v", ex)
	}
	off := &Organisation{GPConnectEnabled: true}
	ex = Explain(off, slots, sc, profiles, ExplainQuery{Now: now})
	if ex.Offered != 0 || ex.Removed[ReasonCapabilityOff] != 3 || ex.Switch != ReasonCapabilityOff {
		t.Fatalf("switched off %+v", ex)
	}
	ex = Explain(&Organisation{AppointmentsEnabled: true}, slots, sc, profiles, ExplainQuery{Now: now})
	if ex.Removed[ReasonNotEnabled] != 3 {
		t.Fatalf("GP Connect off %+v", ex)
	}
}
