package store

import (
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"
)

// pack writes rows as sqliteFreeSlotsQuery's format() does.
func pack(rows []slotRow) string {
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "%d,%d,%d,%d,%d,%d,%d:%s%d:%s", r.ID, r.ScheduleID, r.StartAt, r.EndAt, r.AccessProfileID, r.Version,
			len(r.Channel), r.Channel, len(r.ServiceType), r.ServiceType)
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
			rows = append(rows, slotRow{ID: rng.Int63n(1e12), ScheduleID: rng.Int63n(1e6), PracticeID: 7, StartAt: 1.7e9 + rng.Int63n(50)*600,
				EndAt: 1.8e9, Status: "free", Channel: text(), ServiceType: text(), AccessProfileID: rng.Int63n(9), Version: 1 + rng.Int63n(3)})
		}
		sc := newSlotScanner(7)
		if err := sc.unpack(pack(rows)); err != nil {
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
		"1,2,3,4,5,6,0:99999999999999999999:", ",2,3,4,5,6,0:0:", "1,2,3,4,5,6,0:0"} {
		sc := newSlotScanner(1)
		if err := sc.unpack(p); err == nil {
			t.Errorf("unpack(%q) accepted: %+v", p, sc.rows)
		}
	}
}

// FuzzUnpack: unpack never panics, and what it accepts packs back to rows
// that unpack the same.
func FuzzUnpack(f *testing.F) {
	f.Add("1,2,3,4,5,6,9:In-person7:Routine")
	f.Add("10,2,30,40,5,6,0:0:1,2,3,4,5,6,1:,1::")
	f.Add("1,2,3,4,5,6,-1:")
	f.Fuzz(func(t *testing.T, p string) {
		sc := newSlotScanner(1)
		if err := sc.unpack(p); err != nil {
			return
		}
		again := newSlotScanner(1)
		if err := again.unpack(pack(sc.rows)); err != nil {
			t.Fatalf("repacked rows do not unpack: %v", err)
		}
		if !reflect.DeepEqual(again.rows, sc.rows) {
			t.Fatalf("round trip changed the rows:\n%+v\n%+v", sc.rows, again.rows)
		}
	})
}
