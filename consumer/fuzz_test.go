package consumer_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/consumer"
	"github.com/slotbridge/slotbridge/fhir"
)

// canned is a RoundTripper that answers every request with one response,
// so the fuzzer reaches the decoder without a network.
type canned struct {
	status int
	ct     string
	gzip   bool
	body   []byte
}

func (c canned) RoundTrip(r *http.Request) (*http.Response, error) {
	h := http.Header{}
	if c.ct != "" {
		h.Set("Content-Type", c.ct)
	}
	if c.gzip {
		h.Set("Content-Encoding", "gzip")
	}
	return &http.Response{StatusCode: c.status, Header: h, Body: io.NopCloser(bytes.NewReader(c.body)), Request: r}, nil
}

// FuzzResponses: whatever a provider answers, typed calls return a value or
// a typed error (*Error, *ProtocolError, *TransportError) and never panic.
func FuzzResponses(f *testing.F) {
	f.Add(200, fhirJSON, false, []byte(capJSON))
	f.Add(200, fhirJSON, false, []byte(`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Slot","schedule":{"reference":"Schedule/1"}}},{"resource":null}]}`))
	f.Add(201, fhirJSON, false, []byte(`{"resourceType":"Appointment","contained":[{"resourceType":"Organization"}],"meta":{"versionId":"1"}}`))
	f.Add(422, fhirJSON, false, []byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid","details":{"coding":[]}}]}`))
	f.Add(409, fhirJSON, false, []byte(`{"resourceType":"OperationOutcome","issue":[]}`))
	f.Add(200, "text/html", true, []byte("\x1f\x8b\x08garbage"))
	f.Add(302, "", false, []byte{})
	f.Fuzz(func(t *testing.T, status int, ct string, gz bool, body []byte) {
		if status < 100 || status > 999 {
			status = 200
		}
		cfg := testConfig("https://provider.example/A20047/STU3/1/gpconnect", leggASID)
		cfg.HTTPClient = &http.Client{Transport: canned{status: status, ct: ct, gzip: gz, body: body}}
		cfg.MaxBody = 1 << 16
		c, err := consumer.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		typed := func(err error) {
			if err == nil {
				return
			}
			var e *consumer.Error
			var pe *consumer.ProtocolError
			var te *consumer.TransportError
			if !errors.As(err, &e) && !errors.As(err, &pe) && !errors.As(err, &te) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
		}
		_, err = c.Metadata(ctx)
		typed(err)
		res, err := c.SearchSlots(ctx, consumer.SlotQuery{Start: time.Now(), End: time.Now().Add(time.Hour)})
		typed(err)
		if err == nil {
			for _, s := range res.Slots {
				res.Location(s)
				res.Practitioner(s)
			}
		}
		_, err = c.ReadAppointment(ctx, "1")
		typed(err)
		_, err = c.Cancel(ctx, &fhir.Appointment{ResourceType: "Appointment", ID: "1"}, "x")
		typed(err)
		_, err = c.FindPatient(ctx, "9658218865")
		typed(err)
	})
}
