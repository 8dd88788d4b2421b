package fhirtest_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/slotbridge/slotbridge/internal/fhirtest"
)

const validSlot = `{
  "resourceType": "Slot",
  "id": "1001",
  "meta": {
    "versionId": "1",
    "profile": ["https://fhir.nhs.uk/STU3/StructureDefinition/GPConnect-Slot-1"]
  },
  "extension": [{
    "url": "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-DeliveryChannel-2",
    "valueCode": "In-person"
  }],
  "serviceCategory": {"text": "GP"},
  "serviceType": [{"text": "General GP Appointment"}],
  "schedule": {"reference": "Schedule/14"},
  "status": "free",
  "start": "2024-03-26T09:00:00+00:00",
  "end": "2024-03-26T09:10:00+00:00"
}`

func TestValidSlotPasses(t *testing.T) {
	if err := fhirtest.Validate([]byte(validSlot)); err != nil {
		t.Fatal(err)
	}
	fhirtest.ValidateSTU3(t, []byte(validSlot))
}

func TestInvalidSlotsFail(t *testing.T) {
	for name, tc := range map[string]struct{ from, to, wantErr string }{
		"unknown element": {
			`"status": "free"`, `"status": "free", "colour": "red"`,
			`error at "Slot": unknown field`,
		},
		"bad status code": {
			`"status": "free"`, `"status": "available"`,
			`error at "Slot.status": code type mismatch`,
		},
		"R4 array serviceCategory": {
			`"serviceCategory": {"text": "GP"}`, `"serviceCategory": [{"text": "GP"}]`,
			`error at "Slot.serviceCategory"`,
		},
		"missing required end": {
			`,
  "end": "2024-03-26T09:10:00+00:00"`, ``,
			`missing required field "end"`,
		},
		"dateTime without zone": {
			`"2024-03-26T09:00:00+00:00"`, `"2024-03-26T09:00:00"`,
			`error at "Slot.start"`,
		},
		"schedule references a Practitioner": {
			`"Schedule/14"`, `"Practitioner/14"`,
			`error at "Slot.schedule": invalid reference to a Practitioner resource`,
		},
		"not JSON": {
			`{`, `[`,
			`invalid JSON`,
		},
	} {
		t.Run(name, func(t *testing.T) {
			doc := strings.Replace(validSlot, tc.from, tc.to, 1)
			if doc == validSlot {
				t.Fatalf("test edit %q did not apply", tc.from)
			}
			err := fhirtest.Validate([]byte(doc))
			if err == nil {
				t.Fatalf("no error for\n%s", doc)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not contain %q", err, tc.wantErr)
			}
		})
	}
}

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	failed bool
	msg    string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.failed = true
	r.msg = format
}

func TestValidateSTU3FailsTheTest(t *testing.T) {
	rec := &recorder{TB: t}
	fhirtest.ValidateSTU3(rec, []byte(strings.Replace(validSlot, `"free"`, `"freeish"`, 1)))
	if !rec.failed {
		t.Fatal("ValidateSTU3 did not fail the test")
	}
	rec = &recorder{TB: t}
	fhirtest.ValidateSTU3(rec, []byte(validSlot))
	if rec.failed {
		t.Fatal("ValidateSTU3 failed a valid Slot")
	}
}

// The documented leniencies: if an upgrade starts rejecting these, update
// the package comment.
func TestKnownLeniencies(t *testing.T) {
	for name, doc := range map[string]string{
		"empty status": strings.Replace(validSlot, `"status": "free"`, `"status": ""`, 1),
		"div without XHTML namespace": strings.Replace(validSlot, `"id": "1001",`,
			`"id": "1001", "text": {"status": "generated", "div": "<div>x</div>"},`, 1),
		"extension without value": strings.Replace(validSlot, `"valueCode": "In-person"`, `"extension": []`, 1),
		"empty optional array":    strings.Replace(validSlot, `"serviceType": [{"text": "General GP Appointment"}]`, `"serviceType": []`, 1),
		"dangling contained reference": `{"resourceType": "Appointment", "status": "booked",
			"contained": [{"resourceType": "Organization", "contained": [{"resourceType": "Organization"}]}],
			"participant": [{"actor": {"reference": "#nope"}, "status": "accepted"}]}`,
	} {
		if err := fhirtest.Validate([]byte(doc)); err != nil {
			t.Errorf("%s: now rejected: %v", name, err)
		}
	}
}

func TestValidateConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fhirtest.Validate([]byte(validSlot)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}
