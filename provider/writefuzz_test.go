package provider_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// FuzzWriteBodies sends arbitrary bodies, as JSON or XML, to the four write
// interactions (book, amend, cancel, register patient) of a provider over
// the demo data, on SQLite and, when SLOTBRIDGE_TEST_DATABASE_URL is set, on
// PostgreSQL too (each input goes to both: PostgreSQL refuses text SQLite
// keeps, such as a NUL); whatever is accepted stays, as it would in a real
// practice. Every answer must be a success or a 4xx OperationOutcome with a
// Spine code (a 500 would mean input that reached the database unchecked or
// a panic), and after every request the appointment book must still hold:
// no slot in two active appointments, and busy slots exactly the slots of
// active appointments.
func FuzzWriteBodies(f *testing.F) {
	type call struct{ method, path, iid string }
	type target struct {
		name  string
		a     *apptEnv
		calls []call
	}
	var targets []target
	for i, e := range storetest.Engines(false) {
		a := newApptEnv(f, e)
		pid := a.patientID(f, "9658218865")
		booked := a.mustBook(f, newBooking(pid, a.take(f, "open", 1, 3*time.Hour, false)...))
		// Amends go to booked and cancellations to toCancel, so that neither
		// seed is spoilt by the other.
		toCancel := a.mustBook(f, newBooking(pid, a.take(f, "open", 1, 3*time.Hour, false)...))
		targets = append(targets, target{e.Name, a, []call{
			{http.MethodPost, "Appointment", iidBook},
			{http.MethodPut, "Appointment/" + booked.ID, iidAmend},
			{http.MethodPut, "Appointment/" + toCancel.ID, iidCancel},
			{http.MethodPost, "Patient/$gpc.registerpatient", iidRegister},
		}})
		if i > 0 {
			continue
		}
		// The seeds come from the first engine's data (the demo loads the
		// same ids on each).
		u := newUnregistered(f, a)
		for _, xml := range []bool{false, true} {
			f.Add(uint8(0), xml, encodeBody(f, newBooking(pid, a.take(f, "open", 1, 3*time.Hour, false)...), xml))
			f.Add(uint8(0), xml, encodeBody(f, newBooking(pid, a.take(f, "own-practice", 2, 3*time.Hour, true)...), xml))
			amend := *booked
			amend.Description, amend.Comment = "Amended by the fuzzer", "a comment"
			f.Add(uint8(1), xml, encodeBody(f, &amend, xml))
			cancel := *toCancel
			cancel.Status = "cancelled"
			cancel.Extension = append(append([]fhir.Extension(nil), toCancel.Extension...),
				fhir.Extension{URL: extCancelReason, ValueString: ptr("Fuzzed cancellation")})
			f.Add(uint8(2), xml, encodeBody(f, &cancel, xml))
			f.Add(uint8(3), xml, encodeBody(f, registerBody(u.take(f)), xml))
		}
		// A valid booking but for a NUL in its description (valid JSON; FHIR
		// strings may not hold it, and PostgreSQL text cannot).
		nul := newBooking(pid, a.take(f, "open", 1, 3*time.Hour, false)...)
		nul.Description = "a\x00b"
		f.Add(uint8(0), false, encodeBody(f, nul, false))
	}
	f.Add(uint8(0), false, []byte(`{"resourceType":"Appointment","slot":[{"reference":"Slot/1"},{"reference":"Slot/1"}]}`))
	f.Add(uint8(0), false, []byte(`{"resourceType":"Appointment","contained":[{"resourceType":"Appointment","contained":[]}]}`))
	f.Add(uint8(1), true, []byte(`<Appointment xmlns="http://hl7.org/fhir"><id value="1"/><status value="booked"/></Appointment>`))
	// Type errors and non-objects: encoding/json's messages name Go types.
	f.Add(uint8(0), false, []byte(`{"resourceType":"Appointment","participant":{"x":1},"description":5}`))
	f.Add(uint8(1), false, []byte(`{"resourceType":"Appointment","minutesDuration":1e400}`))
	f.Add(uint8(3), false, []byte(`{"resourceType":"Parameters","parameter":[{"name":"registerPatient","resource":{"resourceType":"Patient","birthDate":19500101}}]}`))
	f.Add(uint8(0), false, []byte(`[]`))
	f.Add(uint8(3), false, []byte(`{"resourceType":"Parameters","parameter":[{"name":5,"resource":5}]}`))
	f.Add(uint8(2), true, []byte(`<?xml version="1.0" encoding="ISO-8859-1"?><Appointment xmlns="http://hl7.org/fhir"/>`))
	f.Add(uint8(3), false, []byte(`{"resourceType":"Parameters","parameter":[{"name":"registerPatient","resource":{"resourceType":"Patient","birthDate":"2000-02-30"}}]}`))

	f.Fuzz(func(t *testing.T, kind uint8, xml bool, body []byte) {
		ct := mediaJSONCT
		if xml {
			ct = mediaXMLCT
		}
		for _, tg := range targets {
			c := tg.calls[int(kind)%len(tg.calls)]
			r := tg.a.send(t, c.method, c.path, c.iid, scopePatWrite, body, ct, nil)
			switch {
			case r.status >= 500:
				t.Fatalf("%s: %s %s: %d %s", tg.name, c.method, c.path, r.status, r.body)
			case r.status >= 400 && spineCode(r.body) == "":
				t.Fatalf("%s: %s %s: %d without an OperationOutcome carrying a Spine code: %s", tg.name, c.method, c.path, r.status, r.body)
			case r.status >= 400 && leaksGo(r.body):
				t.Fatalf("%s: %s %s: %d names Go internals: %s", tg.name, c.method, c.path, r.status, r.body)
			}
			if check, err := tg.a.st.CheckBook(context.Background()); err != nil || !check.OK() {
				t.Fatalf("%s: after %s %s (%d): %s %v", tg.name, c.method, c.path, r.status, check, err)
			}
		}
	})
}

// spineCode is the Spine code of a JSON OperationOutcome's first issue, or
// "" when body is not one or carries none.
func spineCode(body []byte) string {
	var oo struct {
		ResourceType string
		Issue        []struct {
			Details struct{ Coding []struct{ Code string } }
		}
	}
	if json.Unmarshal(body, &oo) != nil || oo.ResourceType != "OperationOutcome" || len(oo.Issue) == 0 || len(oo.Issue[0].Details.Coding) == 0 {
		return ""
	}
	return oo.Issue[0].Details.Coding[0].Code
}

// goInternals are phrases of Go's own error messages (encoding/json's type
// errors, reflect, runtime) that mean nothing to a consumer and would show
// how the server is built.
var goInternals = []string{"Go struct field", "Go value of type", "json.RawMessage", "[]fhir.", "*fhir.", "reflect.", "runtime error", "goroutine ", "CharsetReader", ".plain."}

// leaksGo reports whether an answer names Go internals.
func leaksGo(body []byte) bool {
	for _, p := range goInternals {
		if bytes.Contains(body, []byte(p)) {
			return true
		}
	}
	return false
}
