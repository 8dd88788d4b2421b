package store

import (
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// pack writes rows as the packed queries do: text lengths in characters
// (lib/pq's) when runes is set, in bytes (SQLite's) otherwise.
func pack(rows []slotRow, runes bool) string {
	length := func(s string) int {
		if runes {
			return utf8.RuneCountInString(s)
		}
		return len(s)
	}
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "%d,%d,%d,%d,%d,%d,%d:%s%d:%s", r.ID, r.ScheduleID, r.StartAt, r.EndAt, r.AccessProfileID, r.Version,
			length(r.Channel), r.Channel, length(r.ServiceType), r.ServiceType)
	}
	return b.String()
}

// TestUnpackRoundTrip: random rows, with texts full of the format's own
// punctuation, digits and multi-byte characters, come back exactly, in
// (start, id) order whatever order they were packed in.
func TestUnpackRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	alphabet := []string{",", ":", "0", "9", "é", "a", " ", "-", "\x00", "日本"}
	text := func() string {
		var b strings.Builder
		for n := rng.Intn(6); n > 0; n-- {
			b.WriteString(alphabet[rng.Intn(len(alphabet))])
		}
		return b.String()
	}
	for round := 0; round < 200; round++ {
		var rows []slotRow
		for n := rng.Intn(40); n > 0; n-- {
			rows = append(rows, slotRow{ID: rng.Int63(), ScheduleID: rng.Int63n(1e6), PracticeID: 7, StartAt: 1.7e9 + rng.Int63n(50)*600,
				EndAt: 1.8e9, Status: "free", Channel: text(), ServiceType: text(), AccessProfileID: rng.Int63n(9), Version: 1 + rng.Int63n(3)})
		}
		runes := round%2 == 1
		sc := newSlotScanner(7)
		if err := sc.unpack(pack(rows, runes), runes); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		want := append([]slotRow(nil), rows...)
		sortRows(want)
		if len(want) == 0 {
			want = nil
		}
		got := sc.rows
		if len(got) == 0 {
			got = nil
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d:\n got %+v\nwant %+v", round, got, want)
		}
	}
}

// TestUnpackRejects: malformed values are errors, not panics or rows.
func TestUnpackRejects(t *testing.T) {
	for _, p := range []string{"1", "1,2,3,4,5,6,", "1,2,3,4,5,6,3:ab", "1,2,3,4,5,6,-1:a0:", "x,2,3,4,5,6,0:0:", "1,2,3,4,5,6,0:0:9",
		"1,2,3,4,5,6,0:99999999999999999999:", ",2,3,4,5,6,0:0:", "1,2,3,4,5,6,0:0", "9223372036854775808,2,3,4,5,6,0:0:"} {
		for _, runes := range []bool{false, true} {
			sc := newSlotScanner(1)
			if err := sc.unpack(p, runes); err == nil {
				t.Errorf("unpack(%q, %v) accepted: %+v", p, runes, sc.rows)
			}
		}
	}
	// Counted in characters, "é" is one; in bytes, two.
	for _, c := range []struct {
		p     string
		runes bool
	}{{"1,2,3,4,5,6,1:é0:", true}, {"1,2,3,4,5,6,2:é0:", false}} {
		sc := newSlotScanner(1)
		if err := sc.unpack(c.p, c.runes); err != nil || len(sc.rows) != 1 || sc.rows[0].Channel != "é" {
			t.Errorf("unpack(%q, %v) = %+v, %v", c.p, c.runes, sc.rows, err)
		}
	}
}

// FuzzUnpack: unpack never panics, and what it accepts packs back to rows
// that unpack the same.
func FuzzUnpack(f *testing.F) {
	f.Add("1,2,3,4,5,6,9:In-person7:Routine")
	f.Add("10,2,30,40,5,6,0:0:1,2,3,4,5,6,1:,1::")
	f.Add("1,2,3,4,5,6,-1:")
	f.Add("9223372036854775807,2,3,4,5,6,1:é0:")
	f.Fuzz(func(t *testing.T, p string) {
		runes := len(p)%2 == 1
		sc := newSlotScanner(1)
		if err := sc.unpack(p, runes); err != nil {
			return
		}
		if runes {
			// A character count over invalid UTF-8 does not survive a round
			// trip (the database only sends valid text).
			for _, r := range sc.rows {
				if !utf8.ValidString(r.Channel) || !utf8.ValidString(r.ServiceType) {
					return
				}
			}
		}
		again := newSlotScanner(1)
		if err := again.unpack(pack(sc.rows, runes), runes); err != nil {
			t.Fatalf("repacked rows do not unpack: %v", err)
		}
		if !reflect.DeepEqual(again.rows, sc.rows) {
			t.Fatalf("round trip changed the rows:\n%+v\n%+v", sc.rows, again.rows)
		}
	})
}
