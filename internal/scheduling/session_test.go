package scheduling

import (
	"strings"
	"testing"
	"time"
)

// TestTemplateSlotLength: a slot length past the session's is "longer than
// the session", however long; "must be positive" is for zero and below.
func TestTemplateSlotLength(t *testing.T) {
	for minutes, want := range map[int]string{
		0:      "slot length must be positive",
		-5:     "slot length must be positive",
		181:    "the slot length (181 minutes) is longer than the session (180 minutes)",
		1441:   "the slot length (1441 minutes) is longer than the session (180 minutes)",
		100000: "the slot length (100000 minutes) is longer than the session (180 minutes)",
	} {
		tpl := SessionTemplate{Name: "t", StartLocal: "09:00", EndLocal: "12:00", SlotMinutes: minutes, LocationID: 1, Role: "R0260",
			ServiceCategory: "c", ServiceType: "t", Channels: []string{"In-person"}, AccessProfileID: 1}
		if err := tpl.Validate(); ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), want) {
			t.Errorf("slot length %d: %v, want %q", minutes, err, want)
		}
	}
}

// TestTemplateOnSpringChange: on the spring-change Sunday (29 March 2026)
// the UK clock jumps from 01:00 GMT to 02:00 BST. A weekly session whose
// start or end falls in the missing hour runs from (or to) the jump, as the
// clock passes that time then; one wholly inside it has no session that day.
// Other Sundays keep their times.
func TestTemplateOnSpringChange(t *testing.T) {
	from := time.Date(2026, 3, 22, 0, 0, 0, 0, London)
	to := time.Date(2026, 4, 6, 0, 0, 0, 0, London)
	for _, c := range []struct {
		start, end string
		want       []string // each Sunday's session, start-end as RFC 3339
	}{
		{"01:30", "02:30", []string{
			"2026-03-22T01:30:00Z-2026-03-22T02:30:00Z",
			"2026-03-29T02:00:00+01:00-2026-03-29T02:30:00+01:00",
			"2026-04-05T01:30:00+01:00-2026-04-05T02:30:00+01:00"}},
		{"01:30", "04:00", []string{
			"2026-03-22T01:30:00Z-2026-03-22T04:00:00Z",
			"2026-03-29T02:00:00+01:00-2026-03-29T04:00:00+01:00",
			"2026-04-05T01:30:00+01:00-2026-04-05T04:00:00+01:00"}},
		{"00:00", "01:30", []string{
			"2026-03-22T00:00:00Z-2026-03-22T01:30:00Z",
			"2026-03-29T00:00:00Z-2026-03-29T02:00:00+01:00",
			"2026-04-05T00:00:00+01:00-2026-04-05T01:30:00+01:00"}},
		{"01:10", "01:50", []string{
			"2026-03-22T01:10:00Z-2026-03-22T01:50:00Z",
			"2026-04-05T01:10:00+01:00-2026-04-05T01:50:00+01:00"}},
		{"09:00", "12:00", []string{
			"2026-03-22T09:00:00Z-2026-03-22T12:00:00Z",
			"2026-03-29T09:00:00+01:00-2026-03-29T12:00:00+01:00",
			"2026-04-05T09:00:00+01:00-2026-04-05T12:00:00+01:00"}},
	} {
		tpl := SessionTemplate{Name: "t", Weekday: time.Sunday, StartLocal: c.start, EndLocal: c.end, SlotMinutes: 10, LocationID: 1,
			Role: "R0260", ServiceCategory: "c", ServiceType: "t", Channels: []string{"In-person"}, AccessProfileID: 1}
		var got []string
		for _, s := range tpl.Sessions(from, to) {
			got = append(got, s.Schedule.Start.Format(time.RFC3339)+"-"+s.Schedule.End.Format(time.RFC3339))
			if n, want := len(s.Slots), int(s.Schedule.End.Sub(s.Schedule.Start)/(10*time.Minute)); n != want {
				t.Errorf("%s-%s on %s: %d slots, want %d", c.start, c.end, s.Schedule.Start.Format(time.DateOnly), n, want)
			}
		}
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("%s-%s: sessions\n%s\nwant\n%s", c.start, c.end, strings.Join(got, "\n"), strings.Join(c.want, "\n"))
		}
	}
	// A release time in the gap is the jump too: released at 02:00 BST.
	p := AccessProfile{Bookable: true, ReleaseTime: "01:30"}
	at, ok := p.releaseAt(time.Date(2026, 3, 29, 9, 0, 0, 0, London))
	if want := time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC); !ok || !at.Equal(want) {
		t.Errorf("release at 01:30 on the spring-change Sunday: %v, want %v", at, want.In(London))
	}
}
