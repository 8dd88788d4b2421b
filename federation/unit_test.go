package federation

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

func TestSplitWindows(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, scheduling.London)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name       string
		start, end string
		want       [][2]string
	}{
		{"Empty", "2026-03-01 00:00", "2026-03-01 00:00", nil},
		{"Inverted", "2026-03-02 00:00", "2026-03-01 00:00", nil},
		{"OneWindow", "2026-03-01 00:00", "2026-03-15 00:00", [][2]string{{"2026-03-01 00:00", "2026-03-15 00:00"}}},
		// 29 March 2026 is the spring change: 14 wall-clock days are 335 hours, and still one window.
		{"SpringChangeIsOneWindow", "2026-03-20 09:00", "2026-04-03 09:00", [][2]string{{"2026-03-20 09:00", "2026-04-03 09:00"}}},
		// Consecutive windows share a day, so a slot across a boundary lies whole in one.
		// Across the autumn change (25 October 2026) 14 wall-clock days are
		// 337 hours; a window stops at 336, an hour short on the wall clock.
		{"ThirtyDays", "2026-10-20 00:00", "2026-11-19 00:00", [][2]string{
			{"2026-10-20 00:00", "2026-11-02 23:00"}, {"2026-11-01 23:00", "2026-11-15 23:00"}, {"2026-11-14 23:00", "2026-11-19 00:00"}}},
		// 01:30 on 28 March 2027 does not exist: the window before it ends at
		// 00:30, not at 02:30 (14 days and an hour on the wall clock).
		{"EndInSpringGap", "2027-03-14 01:30", "2027-04-10 00:00", [][2]string{
			{"2027-03-14 01:30", "2027-03-28 00:30"}, {"2027-03-27 00:30", "2027-04-10 00:00"}}},
		{"OddStart", "2026-12-08 10:02", "2027-01-07 10:02", [][2]string{
			{"2026-12-08 10:02", "2026-12-22 10:02"}, {"2026-12-21 10:02", "2027-01-04 10:02"}, {"2027-01-03 10:02", "2027-01-07 10:02"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got [][2]string
			for _, w := range SplitWindows(at(tt.start), at(tt.end)) {
				got = append(got, [2]string{w.Start.In(scheduling.London).Format("2006-01-02 15:04"), w.End.In(scheduling.London).Format("2006-01-02 15:04")})
			}
			if want, got := tt.want, got; !reflect.DeepEqual(want, got) {
				t.Fatalf("windows: got %v, want %v", got, want)
			}
		})
	}
}

// TestSplitWindowsEveryStart: for a start every 10 minutes through the
// fortnights before both 2027 clock changes, every window is at most 14 days
// on the UK wall clock (the spec's measure, the provider's own check) and in
// elapsed time (336 hours), the windows cover the range, and consecutive
// windows share a day.
func TestSplitWindowsEveryStart(t *testing.T) {
	for _, change := range []time.Time{
		time.Date(2027, 3, 28, 1, 0, 0, 0, time.UTC),
		time.Date(2027, 10, 31, 1, 0, 0, 0, time.UTC),
	} {
		for s := change.AddDate(0, 0, -16); s.Before(change.AddDate(0, 0, 2)); s = s.Add(10 * time.Minute) {
			end := s.AddDate(0, 0, 30)
			ws := SplitWindows(s, end)
			if len(ws) == 0 || !ws[0].Start.Equal(s) || !ws[len(ws)-1].End.Equal(end) {
				t.Fatalf("start %s: windows %v do not cover the range to %s", s, ws, end)
			}
			for i, w := range ws {
				if wall := scheduling.WallClock(w.End).Sub(scheduling.WallClock(w.Start)); wall > MaxWindowDays*24*time.Hour {
					t.Fatalf("start %s: window %d %s to %s is %s on the wall clock", s, i, w.Start, w.End, wall)
				}
				if d := w.End.Sub(w.Start); d > MaxWindowDays*24*time.Hour || d <= 0 {
					t.Fatalf("start %s: window %d %s to %s lasts %s", s, i, w.Start, w.End, d)
				}
				if i > 0 && ws[i-1].End.Sub(w.Start) < WindowOverlap {
					t.Fatalf("start %s: windows %d and %d share less than a day", s, i-1, i)
				}
			}
		}
	}
}

func TestMergeDedupeFilter(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	sl := func(ods, id string, min int, ch, role string) Slot {
		return Slot{ODS: ods, ID: id, Start: t0.Add(time.Duration(min) * time.Minute), End: t0.Add(time.Duration(min+10) * time.Minute), DeliveryChannel: ch, SlotSchedule: &SlotSchedule{RoleCode: role}}
	}
	a := dedupe([]Slot{sl("A", "3", 20, "Telephone", "R0260"), sl("A", "1", 0, "In-person", "R0260"), sl("A", "1", 0, "In-person", "R0260"), sl("A", "2", 10, "Video", "R0620")})
	b := dedupe([]Slot{sl("B", "9", 0, "Telephone", "R0260"), sl("B", "8", 30, "In-person", "R0260")})
	c := dedupe([]Slot{sl("C", "5", 5, "Telephone", "R0260")})
	refs := func(s []Slot) []string {
		var out []string
		for _, x := range s {
			out = append(out, x.Ref())
		}
		return out
	}
	if want, got := []string{"A/1", "B/9", "C/5", "A/2", "A/3", "B/8"}, refs(mergeSlots([][]Slot{a, b, c})); !reflect.DeepEqual(want, got) {
		t.Fatalf("merge: got %v, want %v", got, want)
	}
	q := Query{Start: t0, End: t0.Add(35 * time.Minute), Channels: []string{"telephone"}, Roles: []string{"R0260"}}
	got := refs(mergeSlots([][]Slot{filterSlots(append([]Slot(nil), a...), q, time.Time{}), filterSlots(append([]Slot(nil), b...), q, time.Time{}), filterSlots(append([]Slot(nil), c...), q, time.Time{})}))
	if want, got := []string{"B/9", "C/5", "A/3"}, got; !reflect.DeepEqual(want, got) {
		t.Fatalf("filtered merge: got %v, want %v", got, want)
	}
	// The end bound is inclusive of a slot ending exactly at it, and excludes one straddling it.
	q = Query{Start: t0, End: t0.Add(30 * time.Minute)}
	if want, got := []string{"A/1", "A/2", "A/3"}, refs(filterSlots(append([]Slot(nil), a...), q, time.Time{})); !reflect.DeepEqual(want, got) {
		t.Fatalf("date filter: got %v, want %v", got, want)
	}
	// A slot that has started by now is left out: one starting exactly now
	// goes, one starting a second later stays.
	if want, got := []string{"A/2", "A/3"}, refs(filterSlots(append([]Slot(nil), a...), q, t0)); !reflect.DeepEqual(want, got) {
		t.Fatalf("started slots: got %v, want %v", got, want)
	}
	if want, got := []string{"A/2", "A/3"}, refs(filterSlots(append([]Slot(nil), a...), q, t0.Add(10*time.Minute-time.Second))); !reflect.DeepEqual(want, got) {
		t.Fatalf("a second before the start: got %v, want %v", got, want)
	}
}

func TestBreaker(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	b := &Breaker{Threshold: 3, Cooldown: time.Minute, Now: func() time.Time { return now }}
	for i := range 3 {
		if !b.Allow("A") {
			t.Fatalf("call %d refused before the threshold", i)
		}
		b.Failure("A")
	}
	if b.Allow("A") || b.State("A") != "open" {
		t.Fatalf("open circuit allowed a call (state %s)", b.State("A"))
	}
	if !b.Allow("B") {
		t.Fatal("another practice was refused")
	}
	now = now.Add(time.Minute)
	if !b.Allow("A") {
		t.Fatal("no probe after the cooldown")
	}
	if b.Allow("A") {
		t.Fatal("a second probe while the first is in flight")
	}
	b.Failure("A")
	if b.Allow("A") {
		t.Fatal("a failed probe did not reopen the circuit")
	}
	now = now.Add(time.Minute)
	if !b.Allow("A") {
		t.Fatal("no probe after the second cooldown")
	}
	b.Release("A")
	if !b.Allow("A") {
		t.Fatal("a released probe blocked the next one")
	}
	b.Success("A")
	if b.State("A") != "closed" || !b.Allow("A") || !b.Allow("A") {
		t.Fatal("a good probe did not close the circuit")
	}
}

// FuzzDecodeSlots: whatever a provider sends, the fan-out's decoder returns
// slots or an error, never a panic, and every slot it returns has a schedule.
func FuzzDecodeSlots(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Slot","id":"1","schedule":{"reference":"Schedule/2"},"status":"free","start":"2026-11-23T09:00:00+00:00","end":"2026-11-23T09:10:00+00:00","extension":[{"url":"https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-DeliveryChannel-2","valueCode":"Telephone"}]}},{"resource":{"resourceType":"Schedule","id":"2","actor":[{"reference":"Location/3"},{"reference":"Practitioner/4"}]}},{"resource":{"resourceType":"Location","id":"3","name":"Surgery","address":{"line":["1 Road"],"city":"Leeds"}}},{"resource":{"resourceType":"Practitioner","id":"4","name":[{"family":"Smith","given":["Jo"]}]}}]}`))
	f.Add([]byte(`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Slot","id":"1","schedule":{"reference":"Schedule/9"},"start":"x","end":"y"}},{"resource":null},{}]}`))
	f.Add([]byte(`{"resourceType":"Patient"}`))
	f.Add([]byte("\x00\xff"))
	f.Fuzz(func(t *testing.T, body []byte) {
		slots, _, err := decodeSlots("A", body)
		if err != nil {
			return
		}
		for _, s := range slots {
			if s.SlotSchedule == nil || s.ID == "" {
				t.Fatalf("slot without schedule or id: %+v", s)
			}
		}
	})
}

// TestQueryCheck: the rules every hub search obeys, whether it comes from the
// CLI or over HTTP.
func TestQueryCheck(t *testing.T) {
	t0 := time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		q    Query
		ok   bool
	}{
		{"OneDay", Query{Start: t0, End: t0.Add(24 * time.Hour)}, true},
		{"NinetyTwoDays", Query{Start: t0, End: t0.Add(MaxSearchDays * 24 * time.Hour), OrgType: "urgent-care"}, true},
		{"Empty", Query{Start: t0, End: t0}, false},
		{"Inverted", Query{Start: t0, End: t0.Add(-time.Hour)}, false},
		{"TooLong", Query{Start: t0, End: t0.Add(MaxSearchDays*24*time.Hour + time.Second)}, false},
		// 92 UK days across the October clock change are 92 days and an hour.
		{"NinetyTwoDaysOverTheClockChange", Query{Start: time.Date(2027, 9, 1, 9, 0, 0, 0, time.UTC),
			End: scheduling.AddDaysLocal(time.Date(2027, 9, 1, 9, 0, 0, 0, time.UTC), MaxSearchDays)}, true},
		{"BadOrgType", Query{Start: t0, End: t0.Add(time.Hour), OrgType: "bogus"}, false},
		{"Channels", Query{Start: t0, End: t0.Add(time.Hour), Channels: []string{"telephone", "In-person", "VIDEO"}}, true},
		{"BadChannel", Query{Start: t0, End: t0.Add(time.Hour), Channels: []string{"Telephone", "Fax"}}, false},
		{"RoleCodeAndName", Query{Start: t0, End: t0.Add(time.Hour), Roles: []string{"R0260", "r0260", "nurse"}}, true},
		{"RoleOutsideTheValueSet", Query{Start: t0, End: t0.Add(time.Hour), Roles: []string{"R9999"}}, true},
	} {
		err := c.q.Check()
		if (err == nil) != c.ok || err != nil && scheduling.ErrorCode(err) != scheduling.EPARAM {
			t.Errorf("%s: %v, want ok=%v (EPARAM otherwise)", c.name, err, c.ok)
		}
	}
}

// TestParseRef: the CLI takes a slot as the table shows it ({ODS}/{id}) or as
// the HTTP searchset names it ({ODS}-{id}).
func TestParseRef(t *testing.T) {
	for _, c := range []struct{ ref, ods, id string }{
		{"Y00001/89", "Y00001", "89"},
		{"Y00001-89", "Y00001", "89"},
		{"Y00001-a-b", "Y00001", "a-b"},
		{"Y00001/", "", ""},
		{"y0-89", "", ""},
		{"89", "", ""},
		{"A/B/C", "", ""},
	} {
		ods, id, err := ParseRef(c.ref)
		if ods != c.ods || id != c.id || (err == nil) != (c.ods != "") {
			t.Errorf("ParseRef(%q) = %q, %q, %v; want %q, %q", c.ref, ods, id, err, c.ods, c.id)
		}
	}
}

func TestDemographicsDiffer(t *testing.T) {
	pt := &fhir.Patient{Name: []fhir.HumanName{{Use: "official", Family: "WRIGHT", Given: []string{"Garth", "John"}}, {Use: "usual", Family: "Wrighte"}},
		Gender: "male", BirthDate: "1933-11-14"}
	for _, c := range []struct {
		p    PatientDetails
		want string
	}{
		{PatientDetails{Family: "wright", Given: " john ", Gender: "MALE", BirthDate: "1933-11-14"}, ""},
		{PatientDetails{Family: "Wrighte"}, ""},
		{PatientDetails{}, ""},
		{PatientDetails{Family: "Wrong", Given: "Garth", Gender: "female", BirthDate: "1933-11-15"}, "family name,gender,birth date"},
		{PatientDetails{Given: "Gareth"}, "given name"},
		{PatientDetails{Given: "Garth John"}, ""},
		{PatientDetails{Given: "Garth Gareth"}, "given name"},
	} {
		if got := strings.Join(demographicsDiffer(pt, c.p), ","); got != c.want {
			t.Errorf("%+v: differ in %q, want %q", c.p, got, c.want)
		}
	}
}
