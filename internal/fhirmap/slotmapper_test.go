package fhirmap

import (
	"encoding/json"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// TestFormatLocalMatches: the hand-written formatter agrees with
// scheduling.FormatLocal, across both clock changes and odd years.
func TestFormatLocalMatches(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	times := []time.Time{{}, time.Date(2026, 3, 29, 0, 59, 59, 0, time.UTC), time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC),
		time.Date(2026, 10, 25, 0, 59, 59, 999, time.UTC), time.Date(2026, 10, 25, 1, 0, 0, 0, time.UTC), time.Date(999, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1847, 12, 1, 0, 0, 0, 0, time.UTC)}
	for i := 0; i < 20000; i++ {
		times = append(times, time.Unix(rng.Int63n(4102444800), rng.Int63n(1e9)))
	}
	for _, tm := range times {
		if got, want := formatLocal(tm), scheduling.FormatLocal(tm); got != want {
			t.Fatalf("formatLocal(%v) = %q, want %q", tm, got, want)
		}
	}
}

// TestSlotBundleMatchesSlot: the Bundle's slots are exactly what Slot maps.
func TestSlotBundleMatchesSlot(t *testing.T) {
	t0 := time.Date(2026, 10, 24, 9, 0, 0, 0, scheduling.London)
	res := &scheduling.SlotResult{Schedules: map[int64]*scheduling.Schedule{}}
	channels := []string{"In-person", "Telephone", ""}
	types := []string{"Routine", "", "<Urgent>"}
	for i := 0; i < 300; i++ {
		st := t0.Add(time.Duration(i) * 7 * time.Hour)
		res.Slots = append(res.Slots, scheduling.Slot{ID: int64(i + 1), ScheduleID: int64(i%7 + 1), Start: st, End: st.Add(10 * time.Minute),
			Status: scheduling.SlotFree, DeliveryChannel: channels[i%3], ServiceType: types[i%5%3], Version: int64(i%2 + 1)})
	}
	b := SlotBundle(res, &scheduling.Organisation{ID: 1, ODS: "A1", Kind: scheduling.KindPractice}, Includes{})
	for i := range res.Slots {
		got, _ := json.Marshal(b.Entry[i].Resource)
		want, _ := json.Marshal(Slot(&res.Slots[i]))
		if string(got) != string(want) {
			t.Fatalf("slot %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

// TestSlotBundlePooledMatches: the pooled Bundle, whose schedules,
// practitioners and locations are encoded once and remembered, writes the
// same JSON and XML as the plain one, the first time and from the memo.
func TestSlotBundlePooledMatches(t *testing.T) {
	t0 := time.Date(2026, 10, 24, 9, 0, 0, 0, scheduling.London)
	res := &scheduling.SlotResult{Schedules: map[int64]*scheduling.Schedule{}, Practitioners: map[int64]*scheduling.Practitioner{},
		Locations: map[int64]*scheduling.Location{}}
	for i := int64(1); i <= 3; i++ {
		res.Locations[i] = &scheduling.Location{ID: i, PracticeID: 1, Name: "Site <" + string(rune('A'+i)) + ">", Status: "active", Version: i}
		res.Practitioners[i] = &scheduling.Practitioner{ID: i, PracticeID: 1, SDSUserID: "G1000" + string(rune('0'+i)), Family: "Parsons",
			Given: []string{"Ann", "é"}, Prefix: []string{"Dr"}, Gender: "female", RoleProfileIDs: []string{"R1"}, Version: 2}
		res.Schedules[i] = &scheduling.Schedule{ID: i, PracticeID: 1, LocationID: i, PractitionerID: i % 3, Role: "R0260",
			ServiceCategory: "GP \"clinic\"", Start: t0, End: t0.Add(3 * time.Hour), Version: i}
	}
	for i := 0; i < 30; i++ {
		st := t0.Add(time.Duration(i) * 10 * time.Minute)
		res.Slots = append(res.Slots, scheduling.Slot{ID: int64(i + 1), ScheduleID: int64(i%3 + 1), Start: st, End: st.Add(10 * time.Minute),
			Status: scheduling.SlotFree, DeliveryChannel: "In-person", ServiceType: "Routine", Version: 1})
	}
	org := &scheduling.Organisation{ID: 1, ODS: "A1", Name: "Practice", Kind: scheduling.KindPractice}
	inc := Includes{Practitioner: true, Location: true}
	plain := SlotBundle(res, org, inc)
	wantJSON, err := fhir.MarshalJSON(plain)
	if err != nil {
		t.Fatal(err)
	}
	wantXML, err := fhir.MarshalXML(plain)
	if err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 2; round++ {
		b, release := SlotBundlePooled(res, org, inc)
		encoded := 0
		for _, e := range b.Entry {
			if _, ok := e.Resource.(*fhir.Encoded); ok {
				encoded++
			}
		}
		if encoded != 8 { // 3 schedules, 2 practitioners (one schedule has none), 3 locations
			t.Fatalf("round %d: %d encoded entries, want 8", round, encoded)
		}
		gotJSON, err := fhir.MarshalJSON(b)
		if err != nil {
			t.Fatal(err)
		}
		gotXML, err := fhir.MarshalXML(b)
		if err != nil {
			t.Fatal(err)
		}
		release()
		if string(gotJSON) != string(wantJSON) {
			t.Fatalf("round %d JSON:\n got %s\nwant %s", round, gotJSON, wantJSON)
		}
		if string(gotXML) != string(wantXML) {
			t.Fatalf("round %d XML:\n got %s\nwant %s", round, gotXML, wantXML)
		}
	}
	// A changed schedule is a new value with the same id: the memo is keyed
	// by the value, so the new content is what is written.
	changed := *res.Schedules[1]
	changed.ServiceCategory, changed.Version = "Changed clinic", 9
	res.Schedules[1] = &changed
	want, err := fhir.MarshalJSON(SlotBundle(res, org, inc))
	if err != nil {
		t.Fatal(err)
	}
	b, release := SlotBundlePooled(res, org, inc)
	got, err := fhir.MarshalJSON(b)
	release()
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) || !strings.Contains(string(got), "Changed clinic") {
		t.Fatalf("after a schedule changed:\n got %s\nwant %s", got, want)
	}
}
