package scheduling

import (
	"fmt"
	"time"
	_ "time/tzdata" // a clean machine may lack the zoneinfo files; UK time must always work
)

// London is the UK civil time zone all GP Connect times are shown in.
var London = mustLoad("Europe/London")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(fmt.Sprintf("scheduling: load %s: %v", name, err))
	}
	return loc
}

// LocalLayout is the GP Connect dateTime layout: local time, seconds, numeric offset, never Z.
const LocalLayout = "2006-01-02T15:04:05-07:00"

// FormatLocal formats t in UK local time with a numeric offset.
func FormatLocal(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(London).Format(LocalLayout)
}

// FormatDate formats t as a UK local date.
func FormatDate(t time.Time) string { return t.In(London).Format("2006-01-02") }

// LocalMidnight returns 00:00 UK local time on the day of t.
func LocalMidnight(t time.Time) time.Time {
	l := t.In(London)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, London)
}

// AtLocal returns the instant of wall-clock hh:mm on the local day of day.
func AtLocal(day time.Time, hh, mm int) time.Time {
	l := day.In(London)
	return time.Date(l.Year(), l.Month(), l.Day(), hh, mm, 0, 0, London)
}

// MaxSearchDays is the longest slot search GP Connect allows in one request
// (spec §5.2), counted on the UK wall clock (see WallClock).
const MaxSearchDays = 14

// DaysText says how long a span is, exactly: "15 days", or "14 days
// 01:00:00" when it is not a whole number of days.
func DaysText(d time.Duration) string {
	days, rest := d/(24*time.Hour), d%(24*time.Hour)
	if rest == 0 {
		return fmt.Sprintf("%d days", days)
	}
	rest = rest.Truncate(time.Second)
	return fmt.Sprintf("%d days %02d:%02d:%02d", days, rest/time.Hour, rest%time.Hour/time.Minute, rest%time.Minute/time.Second)
}

// WallClock reads an instant's UK wall-clock date and time, to the whole
// second, as if it were UTC, so that two readings subtract as calendar time:
// across a clock change 09:00 to 09:00 the next day is 24 hours, as the
// spec's 14-day limits count.
func WallClock(t time.Time) time.Time {
	l := t.In(London)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), 0, time.UTC)
}

// AddDaysLocal moves t by n calendar days, keeping the local wall-clock time.
func AddDaysLocal(t time.Time, n int) time.Time {
	l := t.In(London)
	return time.Date(l.Year(), l.Month(), l.Day()+n, l.Hour(), l.Minute(), l.Second(), 0, London)
}
