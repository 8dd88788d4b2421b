package federation

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// ParseWhen reads a search bound as hub staff type it: a date (YYYY-MM-DD;
// as an end it means the end of that day, as GP Connect's le on a date
// does), a dateTime with offset (RFC 3339), "now", "today", "tomorrow", or
// "+Nd" (N days from today). A "ge"/"le" prefix is accepted and ignored.
func ParseWhen(s string, isEnd bool, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	// One prefix: trimming "ge" then "le" took "gele…" but not "lege…".
	if rest, ok := strings.CutPrefix(s, "ge"); ok {
		s = rest
	} else {
		s = strings.TrimPrefix(s, "le")
	}
	day := func(t time.Time) time.Time {
		if isEnd {
			return scheduling.AtLocal(t, 23, 59).Add(59 * time.Second)
		}
		return scheduling.LocalMidnight(t)
	}
	switch {
	case s == "now":
		return now, nil
	case s == "today":
		return day(now), nil
	case s == "tomorrow":
		return day(scheduling.AddDaysLocal(now, 1)), nil
	case strings.HasPrefix(s, "+") && strings.HasSuffix(s, "d"):
		// Digits only: strconv.Atoi also takes a sign ("++5d", "+-0d").
		digits := s[1 : len(s)-1]
		n, err := strconv.Atoi(digits)
		if err != nil || strings.Trim(digits, "0123456789") != "" || n > 366 {
			return time.Time{}, fmt.Errorf("%q: want +Nd with N from 0 to 366", s)
		}
		return day(scheduling.AddDaysLocal(now, n)), nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, scheduling.London); err == nil {
		return day(t), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q: want YYYY-MM-DD, a dateTime with offset, today, tomorrow or +Nd", s)
}
