package federation

import (
	"time"

	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// MaxWindowDays is the longest range one slot search may ask for (spec §5.2).
const MaxWindowDays = 14

// Window is one search range.
type Window struct{ Start, End time.Time }

// SplitWindows cuts [start, end] into consecutive ranges of at most 14 days,
// measured in UK wall-clock days as providers measure them, so a range that
// spans a clock change is not refused as 14 days and an hour.
// An empty or inverted range gives no windows.
func SplitWindows(start, end time.Time) []Window {
	if !end.After(start) {
		return nil
	}
	var out []Window
	for s := start; s.Before(end); {
		e := scheduling.AddDaysLocal(s, MaxWindowDays)
		if e.After(end) {
			e = end
		}
		out = append(out, Window{Start: s, End: e})
		s = e
	}
	return out
}
