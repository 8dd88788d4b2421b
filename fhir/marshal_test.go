package fhir

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"strings"
	"testing"
)

var tricky = []string{"", "free", "In-person", "<b>&amp;</b>", "quote \" back \\ slash", "\x00\x01\b\f\n\r\t\x1f\x7f", "é 😀 \u2028\u2029",
	"bad \xff\xfe utf8", "\xe2\x82", "Slot/12", "https://fhir.nhs.uk/STU3/StructureDefinition/GPConnect-Slot-1"}

func pick(rng *rand.Rand) string { return tricky[rng.Intn(len(tricky))] }

func randomSlot(rng *rand.Rand) *Slot {
	s := &Slot{ResourceType: "Slot", ID: pick(rng), Status: pick(rng), Start: pick(rng), End: pick(rng), Comment: pick(rng),
		Schedule: Reference{Reference: pick(rng), Display: pick(rng)}}
	if rng.Intn(4) > 0 {
		s.Meta = &Meta{VersionID: pick(rng)}
		for n := rng.Intn(3); n > 0; n-- {
			s.Meta.Profile = append(s.Meta.Profile, pick(rng))
		}
	}
	for n := rng.Intn(3); n > 0; n-- {
		e := Extension{URL: pick(rng)}
		if rng.Intn(3) > 0 {
			v := pick(rng)
			e.ValueCode = &v
		}
		s.Extension = append(s.Extension, e)
	}
	if rng.Intn(5) == 0 {
		s.Extension = []Extension{}
	}
	if rng.Intn(4) == 0 {
		c := randomConcept(rng)
		s.Extension = append(s.Extension, Extension{URL: pick(rng), ValueCodeableConcept: &c})
	}
	for n := rng.Intn(3); n > 0; n-- {
		c := CodeableConcept{Text: pick(rng)}
		for k := rng.Intn(3); k > 0; k-- {
			c.Coding = append(c.Coding, Coding{System: pick(rng), Version: pick(rng), Code: pick(rng), Display: pick(rng)})
		}
		s.ServiceType = append(s.ServiceType, c)
	}
	// Elements the fast path leaves to encoding/json.
	switch rng.Intn(8) {
	case 0:
		s.Identifier = []Identifier{{System: pick(rng), Value: pick(rng)}}
	case 1:
		b := true
		s.Overbooked = &b
	case 2:
		s.Meta = &Meta{LastUpdated: pick(rng)}
	case 3:
		v := pick(rng)
		s.Extension = append(s.Extension, Extension{URL: pick(rng), ValueString: &v})
	case 4:
		u := false
		s.ServiceType = []CodeableConcept{{Coding: []Coding{{Code: pick(rng), UserSelected: &u}}}}
	case 5:
		s.Schedule.Identifier = &Identifier{Value: pick(rng)}
	}
	return s
}

func randomConcept(rng *rand.Rand) CodeableConcept {
	c := CodeableConcept{Text: pick(rng)}
	for k := rng.Intn(3); k > 0; k-- {
		c.Coding = append(c.Coding, Coding{System: pick(rng), Version: pick(rng), Code: pick(rng), Display: pick(rng)})
	}
	return c
}

func randomSchedule(rng *rand.Rand) *Schedule {
	s := &Schedule{ResourceType: "Schedule", ID: pick(rng), Comment: pick(rng)}
	if rng.Intn(4) > 0 {
		s.Meta = &Meta{VersionID: pick(rng), Profile: []string{pick(rng)}}
	}
	if rng.Intn(2) == 0 {
		c := randomConcept(rng)
		s.Extension = []Extension{{URL: pick(rng), ValueCodeableConcept: &c}}
	}
	if rng.Intn(2) == 0 {
		c := randomConcept(rng)
		s.ServiceCategory = &c
	}
	switch rng.Intn(4) {
	case 0:
		s.Actor = nil
	case 1:
		s.Actor = []Reference{}
	default:
		for n := rng.Intn(3) + 1; n > 0; n-- {
			s.Actor = append(s.Actor, Reference{Reference: pick(rng), Display: pick(rng)})
		}
	}
	if rng.Intn(3) > 0 {
		s.PlanningHorizon = &Period{Start: pick(rng), End: pick(rng)}
	}
	// Elements the fast path leaves to encoding/json.
	switch rng.Intn(8) {
	case 0:
		b := true
		s.Active = &b
	case 1:
		s.ServiceType = []CodeableConcept{{Text: pick(rng)}}
	case 2:
		s.Actor = append(s.Actor, Reference{Identifier: &Identifier{Value: pick(rng)}})
	case 3:
		u := true
		s.ServiceCategory = &CodeableConcept{Coding: []Coding{{UserSelected: &u}}}
	case 4:
		v, w := pick(rng), pick(rng)
		s.Extension = append(s.Extension, Extension{URL: pick(rng), ValueCode: &v, ValueString: &w})
	}
	return s
}

// TestMarshalJSONMatchesEncodingJSON: the hand-written Bundle and Slot
// encoder writes exactly the bytes encoding/json writes.
func TestMarshalJSONMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	check := func(name string, r Resource) {
		t.Helper()
		want, err1 := json.Marshal(r)
		got, err2 := MarshalJSON(r)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: errors %v / %v", name, err1, err2)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
	for i := 0; i < 5000; i++ {
		b := NewSearchset()
		for n := rng.Intn(5); n > 0; n-- {
			e := BundleEntry{Resource: randomSlot(rng)}
			switch rng.Intn(6) {
			case 0:
				e.FullURL = pick(rng)
			case 1:
				e.Search = &BundleEntrySearch{Mode: pick(rng)}
			case 2:
				e.Resource = randomSchedule(rng)
			case 3:
				e.Resource = nil
			case 4:
				e.Resource = (*Slot)(nil)
			}
			b.Entry = append(b.Entry, e)
		}
		switch rng.Intn(5) {
		case 0:
			b.Entry = nil
		case 1:
			n := rng.Intn(9)
			b.Total, b.ID = &n, pick(rng)
		case 2:
			b.Meta = &Meta{Extension: []Extension{{URL: pick(rng)}}}
			b.Link = []BundleLink{{Relation: "self", URL: pick(rng)}}
		case 3:
			b.Entry = append(b.Entry, BundleEntry{Resource: &RawResource{Type: "Foo", JSON: []byte(` { "resourceType" : "Foo", "a": "<x>" } `)}})
		}
		check("bundle", b)
	}
	check("not a bundle", &OperationOutcome{ResourceType: "OperationOutcome", Issue: []OperationOutcomeIssue{{Severity: "error", Code: "<x>"}}})
	check("nil bundle", (*Bundle)(nil))
}

func BenchmarkMarshalSlotBundle(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	bundle := NewSearchset()
	for i := 0; i < 5000; i++ {
		ch := "In-person"
		bundle.Entry = append(bundle.Entry, BundleEntry{Resource: &Slot{ResourceType: "Slot", ID: "123456", Meta: &Meta{VersionID: "1",
			Profile: []string{"https://fhir.nhs.uk/STU3/StructureDefinition/GPConnect-Slot-1"}},
			Extension:   []Extension{{URL: "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-DeliveryChannel-2", ValueCode: &ch}},
			ServiceType: []CodeableConcept{{Text: "Routine GP appointment"}}, Schedule: Reference{Reference: "Schedule/" + pick(rng)},
			Status: "free", Start: "2026-11-24T09:10:00+00:00", End: "2026-11-24T09:20:00+00:00"}})
	}
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			json.Marshal(bundle)
		}
	})
	b.Run("MarshalJSON", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			MarshalJSON(bundle)
		}
	})
}

// TestAppendJSONStringMatches: strings of every length up to 40, built from
// bytes that need escaping and bytes that do not (invalid UTF-8 included),
// encode exactly as encoding/json encodes them.
func TestAppendJSONStringMatches(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	pieces := []string{"a", "Z", "0", " ", "<", ">", "&", `"`, `\`, "\n", "\x00", "\x1f", "\x7f", "é", "\u2028", "\u2029", "\xff", "\xe2\x80", "日本"}
	for i := 0; i < 50000; i++ {
		var b strings.Builder
		for n := rng.Intn(40); n > 0; n-- {
			if rng.Intn(3) > 0 {
				b.WriteByte(byte('a' + rng.Intn(26)))
			} else {
				b.WriteString(pieces[rng.Intn(len(pieces))])
			}
		}
		s := b.String()
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Fatalf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	}
}
