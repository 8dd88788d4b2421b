package federation

import (
	"time"

	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// MaxWindowDays is the longest range one slot search may ask for (spec §5.2).
const MaxWindowDays = 14

// Window is one search range.
type Window struct{ Start, End time.Time }

// WindowOverlap is how much consecutive windows share. A provider returns
// only slots wholly inside a window, so without it a slot that crosses the
// boundary between two windows (one starting 10:00 when the range starts at
// 10:02) would be in neither; with it, any slot shorter than a day lies whole
// in one window. The fan-out drops the repeats.
const WindowOverlap = 24 * time.Hour

// SplitWindows cuts [start, end] into ranges of at most 14 days, measured in
// UK wall-clock days as providers measure them (so a range that spans a clock
// change is not refused as 14 days and an hour), each starting a day before
// the previous one ends. An empty or inverted range gives no windows.
func SplitWindows(start, end time.Time) []Window {
	if !end.After(start) {
		return nil
	}
	var out []Window
	for s := start; ; {
		e := scheduling.AddDaysLocal(s, MaxWindowDays)
		if !e.Before(end) {
			return append(out, Window{Start: s, End: end})
		}
		out = append(out, Window{Start: s, End: e})
		s = e.Add(-WindowOverlap)
	}
}
