package admin_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/admin"
)

// TestParseSpan: spans read as written, and one too long for the column is
// refused rather than wrapped round to a short (or zero, unlimited) one.
func TestParseSpan(t *testing.T) {
	for in, want := range map[string]time.Duration{"14d": 14 * 24 * time.Hour, "1d12h": 36 * time.Hour, "90m": 90 * time.Minute, "3660d": 3660 * 24 * time.Hour} {
		got, err := admin.ParseSpan(in)
		if err != nil || time.Duration(got) != want {
			t.Errorf("ParseSpan(%q) = %v, %v; want %v", in, time.Duration(got), err, want)
		}
	}
	for _, in := range []string{"213504d", "3661d", "3660d1h", "200000d", "2562047h", "-1d", "x"} {
		if got, err := admin.ParseSpan(in); err == nil {
			t.Errorf("ParseSpan(%q) = %v, want an error", in, time.Duration(got))
		}
	}
	for _, in := range []string{`18446744074`, `9223372036`, `-5`} {
		var s admin.Span
		if err := json.Unmarshal([]byte(in), &s); err == nil {
			t.Errorf("span %s seconds = %v, want an error", in, time.Duration(s))
		}
	}
}
