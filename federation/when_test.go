package federation_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/federation"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// TestParseWhen reads every form ParseWhen documents, as a start and as an
// end, on the day before the spring change (28 March 2026), so "tomorrow"
// and "+1d" fall on a 23-hour day and their ends are in BST.
func TestParseWhen(t *testing.T) {
	london := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04:05", s, scheduling.London)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	now := london("2026-03-28 10:30:15")
	tests := []struct {
		in    string
		isEnd bool
		want  string // London wall clock; "" means an error
	}{
		{"now", false, "2026-03-28 10:30:15"},
		{"now", true, "2026-03-28 10:30:15"},
		{"today", false, "2026-03-28 00:00:00"},
		{"today", true, "2026-03-28 23:59:59"},
		{"  today\t", false, "2026-03-28 00:00:00"},
		{"tomorrow", false, "2026-03-29 00:00:00"},
		{"tomorrow", true, "2026-03-29 23:59:59"},
		{"+0d", false, "2026-03-28 00:00:00"},
		{"+0d", true, "2026-03-28 23:59:59"},
		{"+1d", false, "2026-03-29 00:00:00"},
		{"+3d", true, "2026-03-31 23:59:59"},
		{"+007d", true, "2026-04-04 23:59:59"},
		{"+366d", true, "2027-03-29 23:59:59"},
		{"+367d", true, ""},
		{"+99999999999999999999d", true, ""},
		{"+-1d", false, ""},
		// Signs inside N are not "+Nd" (strconv.Atoi would take them).
		{"+-0d", false, ""},
		{"++5d", false, ""},
		{"+ 5d", false, ""},
		{"+d", false, ""},
		{"+5", false, ""},
		{"5d", false, ""},
		{"+5D", false, ""},
		// A date: its start as a start, its last second as an end.
		{"2026-03-29", false, "2026-03-29 00:00:00"},
		{"2026-03-29", true, "2026-03-29 23:59:59"},
		{"2026-10-25", true, "2026-10-25 23:59:59"},
		{"ge2026-03-29", false, "2026-03-29 00:00:00"},
		{"le2026-03-29", true, "2026-03-29 23:59:59"},
		{"le2026-03-29", false, "2026-03-29 00:00:00"}, // the prefix is ignored, not obeyed
		{"getoday", false, "2026-03-28 00:00:00"},
		{"le+2d", true, "2026-03-30 23:59:59"},
		{"genow", false, "2026-03-28 10:30:15"},
		// One prefix only.
		{"gele2026-03-29", false, ""},
		{"lege2026-03-29", false, ""},
		{"gege2026-03-29", false, ""},
		{"ge 2026-03-29", false, ""},
		{"2026-02-29", false, ""},
		{"2026-3-29", false, ""},
		{"29/03/2026", false, ""},
		// RFC 3339: the instant as given, whatever isEnd.
		{"2026-03-29T10:00:00Z", true, "2026-03-29 11:00:00"},
		{"2026-03-29T10:00:00+01:00", false, "2026-03-29 10:00:00"},
		{"ge2026-06-01T09:15:00-05:00", false, "2026-06-01 15:15:00"},
		{"2026-03-29T10:00:00", false, ""}, // no offset
		{"2026-03-29 10:00:00Z", false, ""},
		{"", false, ""},
		{"ge", false, ""},
		{"yesterday", false, ""},
		{"Today", false, ""},
		{"now\x00", false, ""},
	}
	for _, tc := range tests {
		got, err := federation.ParseWhen(tc.in, tc.isEnd, now)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("ParseWhen(%q, %v) = %v, want an error", tc.in, tc.isEnd, got)
		case tc.want == "":
			checkWhenError(t, tc.in, got, err)
		case err != nil:
			t.Errorf("ParseWhen(%q, %v): %v", tc.in, tc.isEnd, err)
		case !got.Equal(london(tc.want)):
			t.Errorf("ParseWhen(%q, %v) = %s, want %s London", tc.in, tc.isEnd, got.In(scheduling.London), tc.want)
		}
	}
	// A fractional second is an instant too, kept to the nanosecond.
	if got, err := federation.ParseWhen("2026-03-29T10:00:00.123456789Z", false, now); err != nil || got.Nanosecond() != 123456789 {
		t.Errorf("fractional seconds: %v %v", got, err)
	}
}

// checkWhenError checks a refusal: no time, and a message naming the input
// (quoted, so a control character in it reaches neither a terminal nor an
// OperationOutcome as it is) and the forms wanted, since callers pass it on
// to the user as it is (the CLI wrapped, the hub API in a 422).
func checkWhenError(t *testing.T, in string, got time.Time, err error) {
	t.Helper()
	msg := err.Error()
	if !got.IsZero() {
		t.Errorf("ParseWhen(%q) refused with a time: %v", in, got)
	}
	if !strings.Contains(msg, ": want ") || !strings.Contains(msg, `"`) || !scheduling.PlainText(msg) {
		t.Errorf("ParseWhen(%q): unclear error %q", in, msg)
	}
}

// nDays is the "+Nd" form exactly: digits only.
var nDays = regexp.MustCompile(`^\+([0-9]+)d$`)

// FuzzParseWhen checks ParseWhen on any text and clock: it never panics; a
// refusal is a clear error (checkWhenError); anything accepted is one of the
// documented forms after one ge/le prefix (so no leniency lets a typo
// through as some other time), and means what the form says: a day's first
// instant as a start and its last second as an end (so a date's start is
// before its end), "+Nd" only with N ≤ 366. It also formats a fuzzed
// instant in a fuzzed offset as RFC 3339 and checks it reads back as the
// same instant, with or without a prefix, as a start or an end.
func FuzzParseWhen(f *testing.F) {
	for _, s := range []string{"now", "today", "tomorrow", "+0d", "+366d", "+367d", "++5d", "+-0d", "2026-03-29",
		"le2026-10-25", "gele2026-01-01", "2026-03-29T10:00:00+01:00", "ge2026-03-29T10:00:00.5Z", " 0000-01-01 ", "9999-12-31", "+d", ""} {
		f.Add(s, true, int64(1774693815), int64(1774693815), uint32(0), int16(60))
	}
	f.Add("tomorrow", false, int64(1792630799), int64(-62135596800), uint32(999999999), int16(-1439))
	// Clocks are kept to 1970-2100 and whole seconds: an end is a day's
	// last whole second (23:59:59), so a clock inside that second would be
	// after "today" as an end, which no caller's clock can tell apart.
	const clockSpan = 4102444800 // 2100-01-01 UTC
	// RFC 3339 holds years 0000 to 9999; kept a day inside them in any offset.
	const minSec, maxSec = -62167132800, 253402214400
	f.Fuzz(func(t *testing.T, s string, isEnd bool, clock, sec int64, nsec uint32, offMin int16) {
		now := time.Unix(((clock%clockSpan)+clockSpan)%clockSpan, 0)
		got, err := federation.ParseWhen(s, isEnd, now)
		if err != nil {
			checkWhenError(t, s, got, err)
		} else {
			checkWhen(t, s, isEnd, now, got)
		}

		// The RFC 3339 round trip.
		inst := time.Unix(minSec+((sec%(maxSec-minSec))+(maxSec-minSec))%(maxSec-minSec), int64(nsec%1e9))
		zone := time.FixedZone("", (int(offMin)%1440)*60) // Go refuses offsets of 24 hours or more
		for _, in := range []string{inst.In(zone).Format(time.RFC3339Nano), inst.UTC().Format(time.RFC3339Nano), "ge" + inst.In(zone).Format(time.RFC3339)} {
			want := inst
			if !strings.Contains(in, ".") {
				want = time.Unix(inst.Unix(), 0) // formatted without its fraction
			}
			got, err := federation.ParseWhen(in, isEnd, now)
			if err != nil || !got.Equal(want) {
				t.Fatalf("ParseWhen(%q) = %v, %v; want %v", in, got, err, want)
			}
		}
	})
}

// checkWhen checks that got, accepted from s, is what s's form means.
func checkWhen(t *testing.T, s string, isEnd bool, now, got time.Time) {
	t.Helper()
	x := strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(x, "ge"); ok {
		x = rest
	} else {
		x = strings.TrimPrefix(x, "le")
	}
	// day is the London date the form names, "" for an instant.
	var day string
	loc := now.In(scheduling.London)
	after := func(n int) string {
		return time.Date(loc.Year(), loc.Month(), loc.Day()+n, 12, 0, 0, 0, scheduling.London).Format(time.DateOnly)
	}
	switch m := nDays.FindStringSubmatch(x); {
	case x == "now":
		if !got.Equal(now) {
			t.Fatalf("ParseWhen(%q) = %v, want the clock %v", s, got, now)
		}
	case x == "today":
		day = after(0)
	case x == "tomorrow":
		day = after(1)
	case m != nil:
		n, err := strconv.Atoi(m[1])
		if err != nil || n > 366 {
			t.Fatalf("ParseWhen(%q) accepted %s days, want at most 366", s, m[1])
		}
		day = after(n)
	default:
		if _, err := time.Parse(time.DateOnly, x); err == nil {
			day = x
			break
		}
		want, err := time.Parse(time.RFC3339, x)
		if err != nil {
			t.Fatalf("ParseWhen(%q) = %v: accepted as none of the documented forms", s, got)
		}
		if !got.Equal(want) {
			t.Fatalf("ParseWhen(%q) = %v, want %v", s, got, want)
		}
	}
	if day == "" {
		return
	}
	start, errS := federation.ParseWhen(s, false, now)
	end, errE := federation.ParseWhen(s, true, now)
	if errS != nil || errE != nil {
		t.Fatalf("ParseWhen(%q) accepted only as one end: %v %v", s, errS, errE)
	}
	if (isEnd && !got.Equal(end)) || (!isEnd && !got.Equal(start)) {
		t.Fatalf("ParseWhen(%q) not the same twice: %v", s, got)
	}
	ls, le := start.In(scheduling.London), end.In(scheduling.London)
	if ls.Format(time.DateOnly) != day || ls.Format(time.TimeOnly) != "00:00:00" {
		t.Fatalf("ParseWhen(%q) as a start = %v, want %s 00:00:00 London", s, ls, day)
	}
	if le.Format(time.DateOnly) != day || le.Format(time.TimeOnly) != "23:59:59" {
		t.Fatalf("ParseWhen(%q) as an end = %v, want %s 23:59:59 London", s, le, day)
	}
	if !start.Before(end) {
		t.Fatalf("ParseWhen(%q): start %v is not before end %v", s, start, end)
	}
	if x == "today" && (now.Before(start) || now.After(end)) {
		t.Fatalf("today is %v to %v: not around the clock %v", start, end, now)
	}
}
