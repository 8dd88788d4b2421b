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
	for _, in := range []string{"213504d", "3661d", "3660d1h", "200000d", "2562047h", "-1d", "x", "1.5s", "500ms", "1d0.5s"} {
		if got, err := admin.ParseSpan(in); err == nil {
			t.Errorf("ParseSpan(%q) = %v, want an error", in, time.Duration(got))
		}
	}
	// A bare number has no unit: 14 meant as days must not become 14 s.
	for _, in := range []string{`14`, `2`, `18446744074`, `9223372036`, `-5`, `1.5`, `true`, `[]`} {
		var s admin.Span
		if err := json.Unmarshal([]byte(in), &s); err == nil {
			t.Errorf("span %s = %v, want an error", in, time.Duration(s))
		}
	}
	for _, in := range []string{`0`, `"0"`, `""`, `0.0`} {
		s := admin.Span(time.Hour)
		if err := json.Unmarshal([]byte(in), &s); err != nil || s != 0 {
			t.Errorf("span %s = %v, %v; want 0", in, time.Duration(s), err)
		}
	}
}

// FuzzParseSpan: ParseSpan never panics; what it accepts is whole seconds
// within MaxSpanDays (the database keeps seconds), and it reads back the
// same from its String and from its JSON, so what an admin sees is what is
// stored.
func FuzzParseSpan(f *testing.F) {
	for _, s := range []string{"14d", "1d12h", "90m", "2h30m", "0", "", "3660d", "1.5s", "500ms", "+1d", "1d-1h", "1dd", " 7d ", "1e3h", "0d0s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		sp, err := admin.ParseSpan(in)
		if err != nil {
			return
		}
		d := time.Duration(sp)
		if d < 0 || d > admin.MaxSpanDays*24*time.Hour || d%time.Second != 0 {
			t.Fatalf("ParseSpan(%q) = %v: want whole seconds from 0 to %d days", in, d, admin.MaxSpanDays)
		}
		back, err := admin.ParseSpan(sp.String())
		if err != nil || back != sp {
			t.Fatalf("ParseSpan(%q) = %v, written %q, read back %v, %v", in, d, sp.String(), time.Duration(back), err)
		}
		b, err := json.Marshal(sp)
		if err != nil {
			t.Fatal(err)
		}
		var js admin.Span
		if err := json.Unmarshal(b, &js); err != nil || js != sp {
			t.Fatalf("ParseSpan(%q) = %v, JSON %s read back %v, %v", in, d, b, time.Duration(js), err)
		}
	})
}
