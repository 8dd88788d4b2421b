package consumer_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/slotbridge/slotbridge/consumer"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
)

// readAnswer is an appointment as a provider might return it, with elements
// the fhir structs do not model: language, implicitRules, a primitive's _start
// sibling, modifierExtension, an extension valued with valueDate, a nested
// extension with a valueDate, an unknown member of the contained
// Organization and a participant's _status.
const readAnswer = `{"resourceType":"Appointment","id":"1","meta":{"versionId":"7","profile":["https://fhir.nhs.uk/STU3/StructureDefinition/GPConnect-Appointment-1"]},` +
	`"implicitRules":"https://example.org/rules","language":"en-GB",` +
	`"contained":[{"resourceType":"Organization","id":"1","meta":{"profile":["https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-GPC-Organization-1"]},` +
	`"identifier":[{"system":"https://fhir.nhs.uk/Id/ods-organization-code","value":"A20047"}],"name":"Booker","telecom":[{"system":"phone","value":"01632 960999"}],"_name":{"id":"n"}}],` +
	`"extension":[{"url":"https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-BookingOrganisation-1","valueReference":{"reference":"#1"}},` +
	`{"url":"https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-DeliveryChannel-2","valueCode":"In-person"},` +
	`{"url":"https://example.org/future-ext","valueDate":"2026-12-08"},` +
	`{"url":"https://example.org/complex","extension":[{"url":"when","valueDate":"2026-12-09"},{"url":"what","valueString":"x"}]}],` +
	`"modifierExtension":[{"url":"https://example.org/modifier","valueDate":"2026-12-10"}],` +
	`"status":"booked","description":"Original description","start":"2030-06-03T09:00:00+01:00","_start":{"id":"s"},` +
	`"end":"2030-06-03T09:10:00+01:00","slot":[{"reference":"Slot/3"}],"created":"2030-06-01T10:00:00+01:00","comment":"Original comment",` +
	`"participant":[{"actor":{"reference":"Patient/2"},"status":"accepted","_status":{"id":"p"}},{"actor":{"reference":"Location/1"},"status":"accepted"}]}`

// putRecorder is a loopback provider that answers GET /Appointment/1 with
// body and etag and records the PUTs it is sent.
type putRecorder struct {
	mu   sync.Mutex
	puts []*http.Request
	body []string
}

func (p *putRecorder) serve(t *testing.T, read, etag string) *consumer.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", fhirJSON)
		if etag != "" {
			w.Header().Set("ETag", etag)
		}
		if r.Method == http.MethodPut {
			p.mu.Lock()
			p.puts, p.body = append(p.puts, r), append(p.body, string(b))
			p.mu.Unlock()
			w.Write(b) // echo, as a provider returns the stored appointment
			return
		}
		w.Write([]byte(read))
	}))
	t.Cleanup(srv.Close)
	return newClient(t, testConfig(srv.URL+"/A20047/STU3/1/gpconnect", leggASID))
}

func (p *putRecorder) last(t *testing.T) (*http.Request, string) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.puts) == 0 {
		t.Fatal("no PUT was sent")
	}
	return p.puts[len(p.puts)-1], p.body[len(p.body)-1]
}

// TestAmendSendsBackWhatWasRead: an amend is the read body with only the
// description and comment changed, byte for byte (spec §7.2, §13.9).
func TestAmendSendsBackWhatWasRead(t *testing.T) {
	ctx := context.Background()
	var p putRecorder
	c := p.serve(t, readAnswer, `W/"7"`)
	rd, err := c.ReadAppointment(ctx, "1")
	if err != nil {
		t.Fatal(err)
	}
	ed := *rd.Appointment
	ed.Description, ed.Comment = "New description", "New comment & more"
	if _, err := c.Amend(ctx, &ed); err != nil {
		t.Fatal(err)
	}
	_, got := p.last(t)
	want := strings.Replace(strings.Replace(readAnswer, `"Original description"`, `"New description"`, 1),
		`"Original comment"`, `"New comment \u0026 more"`, 1)
	if got != want {
		t.Fatalf("amend body\n got %s\nwant %s", got, want)
	}
	// The read's appointment itself is untouched, so a retry starts from it.
	if rd.Appointment.Description != "Original description" {
		t.Fatalf("the read appointment was changed: %q", rd.Appointment.Description)
	}
}

// TestCancelSendsBackWhatWasRead: a cancel is the read body with status
// cancelled and the reason extension added after the others, nothing else changed.
func TestCancelSendsBackWhatWasRead(t *testing.T) {
	ctx := context.Background()
	var p putRecorder
	c := p.serve(t, readAnswer, `W/"7"`)
	rd, err := c.ReadAppointment(ctx, "1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Cancel(ctx, rd.Appointment, "Patient is better"); err != nil {
		t.Fatal(err)
	}
	_, got := p.last(t)
	want := strings.Replace(readAnswer, `"status":"booked"`, `"status":"cancelled"`, 1)
	want = strings.Replace(want, `"valueString":"x"}]}]`, `"valueString":"x"}]},{"url":"`+gpconnect.ExtCancellationReason+`","valueString":"Patient is better"}]`, 1)
	if got != want {
		t.Fatalf("cancel body\n got %s\nwant %s", got, want)
	}
	if !json.Valid([]byte(got)) {
		t.Fatal("cancel body is not JSON")
	}
}
