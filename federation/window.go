package federation

import (
	"time"

	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// MaxWindowDays is the longest range one slot search may ask for (spec §5.2).
const MaxWindowDays = scheduling.MaxSearchDays

// Window is one search range.
type Window struct{ Start, End time.Time }

// WindowOverlap is how much consecutive windows share. A provider returns
// only slots wholly inside a window, so without it a slot that crosses the
// boundary between two windows (one starting 10:00 when the range starts at
// 10:02) would be in neither; with it, any slot shorter than a day lies whole
// in one window. The fan-out drops the repeats.
const WindowOverlap = 24 * time.Hour

// SplitWindows cuts [start, end] into ranges of at most 14 days, each
// starting a day before the previous one ends. A window is 14 days both on
// the UK wall clock, as the spec has providers measure it, and in elapsed
// time, as some providers measure it instead, so no provider refuses one as
// 14 days and an hour (see windowEnd). An empty or inverted range gives no
// windows.
func SplitWindows(start, end time.Time) []Window {
	if !end.After(start) {
		return nil
	}
	var out []Window
	for s := start; ; {
		e := windowEnd(s)
		if !e.Before(end) {
			return append(out, Window{Start: s, End: end})
		}
		out = append(out, Window{Start: s, End: e})
		s = e.Add(-WindowOverlap)
	}
}

// windowEnd is the latest end of a window starting at s. The same wall-clock
// time 14 days on is the natural end, but two clock changes stretch it:
//   - in spring that time may not exist (01:30 on the change day): Go reads
//     it an hour later, 14 days and an hour on the wall clock, so the end
//     steps back by the overshoot;
//   - across the autumn change 14 wall-clock days are 337 hours, which a
//     provider measuring elapsed time refuses, so the end is at most 336
//     hours on.
//
// The windows' day of overlap keeps the hour either rule gives up covered.
func windowEnd(s time.Time) time.Time {
	e := scheduling.AddDaysLocal(s, MaxWindowDays)
	if over := scheduling.WallClock(e).Sub(scheduling.WallClock(s).AddDate(0, 0, MaxWindowDays)); over > 0 {
		e = e.Add(-over)
	}
	if limit := s.Add(MaxWindowDays * 24 * time.Hour); e.After(limit) {
		e = limit
	}
	return e
}
