package federation_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/slotbridge/slotbridge/federation"
)

// jsonCall sends method path with a JSON body (none when body is "") and
// returns the status, the Location header and the decoded answer.
func jsonCall(t *testing.T, base, method, path, body string) (int, string, map[string]any) {
	t.Helper()
	status, h, raw := call(t, base, method, path, body)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s %s: %d, not a JSON object: %s", method, path, status, raw)
	}
	return status, h.Get("Location"), m
}

// call sends a request, with a JSON body when there is one, and returns the
// status, headers and body of the answer.
func call(t *testing.T, base, method, path, body string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), method, base+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, raw
}

// TestHubBookingAPI books, finds, amends and cancels a slot through the
// hub's HTTP booking API, over simulated practices, and checks its refusals.
func TestHubBookingAPI(t *testing.T) {
	ctx := context.Background()
	s, hub, dir, _ := newFederation(t, 2, federation.Config{})
	srv := httptest.NewServer((&federation.API{Hub: hub, Store: dir, Local: true}).Handler())
	t.Cleanup(srv.Close)
	start, end := tomorrow()
	res, err := hub.Search(ctx, "h", federation.Query{Start: start, End: end})
	if err != nil || len(res.Slots) < 2 {
		t.Fatalf("search: %v, %d slots", err, len(res.Slots))
	}
	slot := res.Slots[0]
	p := s.Patients[0]
	patient := fmt.Sprintf(`{"nhsNumber":%q,"family":%q,"given":%q,"gender":%q,"birthDate":%q}`, p.NHSNumber, p.Family, p.Given, p.Gender, p.BirthDate)
	body := fmt.Sprintf(`{"slot":%q,"patient":%s,"description":"Booked over the hub API"}`, slot.Ref(), patient)

	st, loc, m := jsonCall(t, srv.URL, "POST", "/hub/h/Appointment", body)
	ref, _ := m["ref"].(string)
	if st != 201 || ref == "" || !strings.HasPrefix(ref, slot.ODS+"-") || loc != "/hub/h/Appointment/"+ref || m["registered"] != true {
		t.Fatalf("book: %d Location %q %v", st, loc, m)
	}
	if appt, _ := m["appointment"].(map[string]any); appt["status"] != "booked" || appt["description"] != "Booked over the hub API" {
		t.Fatalf("booked appointment: %v", m["appointment"])
	}
	// The Location answers: the appointment, read at its practice.
	st, _, m = jsonCall(t, srv.URL, "GET", loc, "")
	if appt, _ := m["appointment"].(map[string]any); st != 200 || m["ref"] != ref || m["ods"] != slot.ODS || appt["status"] != "booked" {
		t.Fatalf("GET %s: %d %v", loc, st, m)
	}
	// The same booking again (a retry after a lost answer) is that booking.
	if st, _, m := jsonCall(t, srv.URL, "POST", "/hub/h/Appointment", body); st != 200 || m["alreadyBooked"] != true || m["ref"] != ref {
		t.Fatalf("book again: %d %v", st, m)
	}
	// Another patient finds the slot taken: 409, as when the practice
	// refuses it (spec §13: search again), naming what was searched and the
	// API's own fields, not the CLI's flags.
	o := s.Patients[1]
	other := fmt.Sprintf(`{"slot":%q,"patient":{"nhsNumber":%q,"family":%q,"given":%q,"gender":%q,"birthDate":%q}}`,
		slot.Ref(), o.NHSNumber, o.Family, o.Given, o.Gender, o.BirthDate)
	st, _, m = jsonCall(t, srv.URL, "POST", "/hub/h/Appointment", other)
	msg := fmt.Sprint(m["error"])
	if st != 409 || m["code"] != "conflict" || !strings.Contains(msg, "not free") || !strings.Contains(msg, "no organisation type") ||
		!strings.Contains(msg, "from and to") || !strings.Contains(msg, "orgType") || strings.Contains(msg, "--") {
		t.Fatalf("book a taken slot: %d %v, want 409 conflict naming the range, the organisation type and the API's fields", st, m)
	}

	st, _, m = jsonCall(t, srv.URL, "GET", "/hub/h/Appointment?patient="+url.QueryEscape(p.NHSNumber), "")
	list, _ := m["appointments"].([]any)
	if st != 200 || len(list) != 1 || list[0].(map[string]any)["ref"] != ref {
		t.Fatalf("list: %d %v", st, m)
	}
	st, _, m = jsonCall(t, srv.URL, "POST", "/hub/h/Appointment/"+ref+"/$amend", `{"comment":"Wheelchair access"}`)
	if appt, _ := m["appointment"].(map[string]any); st != 200 || appt["comment"] != "Wheelchair access" {
		t.Fatalf("amend: %d %v", st, m)
	}
	st, _, m = jsonCall(t, srv.URL, "POST", "/hub/h/Appointment/"+ref+"/$cancel", `{"reason":"Recovered"}`)
	if appt, _ := m["appointment"].(map[string]any); st != 200 || appt["status"] != "cancelled" || m["alreadyCancelled"] != nil {
		t.Fatalf("cancel: %d %v", st, m)
	}
	st, _, m = jsonCall(t, srv.URL, "POST", "/hub/h/Appointment/"+ref+"/$cancel", `{"reason":"Again"}`)
	if appt, _ := m["appointment"].(map[string]any); st != 200 || appt["status"] != "cancelled" || m["alreadyCancelled"] != true {
		t.Fatalf("second cancel: %d %v, want the appointment and alreadyCancelled", st, m)
	}

	// Refusals, each in the {"error", "code"} body.
	for _, c := range []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"POST", "/hub/h/Appointment", `{"slot":`, 400, "invalid_param"},
		{"POST", "/hub/h/Appointment", `{"slot":"x","extra":1}`, 400, "invalid_param"},
		{"POST", "/hub/h/Appointment", fmt.Sprintf(`{"slot":%q,"patient":{"nhsNumber":"123"}}`, res.Slots[1].Ref()), 422, "nhs_number"},
		{"GET", "/hub/h/Appointment?patient=9990000019", ``, 422, "nhs_number"},
		{"POST", "/hub/h/Appointment", fmt.Sprintf(`{"slot":%q,"patient":%s,"description":%q}`, res.Slots[1].Ref(), patient, strings.Repeat("x", 101)), 422, "invalid"},
		{"POST", "/hub/h/Appointment", fmt.Sprintf(`{"slot":%q,"patient":%s,"to":"yesterday"}`, res.Slots[1].Ref(), patient), 400, "invalid_param"},
		{"POST", "/hub/nope/Appointment", fmt.Sprintf(`{"slot":%q,"patient":%s}`, res.Slots[1].Ref(), patient), 404, "not_found"},
		{"POST", "/hub/h/Appointment/" + ref + "/$amend", `{}`, 400, "invalid_param"},
		// A booking's body is small: 64 KiB is plenty (the 8 MiB of a directory import is not).
		{"POST", "/hub/h/Appointment", fmt.Sprintf(`{"slot":%q,"patient":%s,"description":%q}`, res.Slots[1].Ref(), patient, strings.Repeat("x", 70<<10)), 413, "too_large"},
		{"POST", "/hub/h/Appointment/" + ref + "/$cancel", fmt.Sprintf(`{"reason":%q}`, strings.Repeat("x", 70<<10)), 413, "too_large"},
		{"POST", "/hub/h/Appointment/" + ref + "/$delete", `{}`, 404, "not_found"},
		{"GET", "/hub/h/Appointment/" + ref + "/$cancel", ``, 405, "method_not_allowed"},
		// An operation that does not exist is 404 whatever the method (a 405
		// would say POST is allowed, and the POST would then be 404).
		{"GET", "/hub/h/Appointment/" + ref + "/x", ``, 404, "not_found"},
		{"DELETE", "/hub/h/Appointment/" + ref + "/$delete", ``, 404, "not_found"},
		{"DELETE", "/hub/h/Appointment", ``, 405, "method_not_allowed"},
		{"POST", "/hub/h/Appointment/" + ref, `{}`, 405, "method_not_allowed"},
		{"GET", "/hub/h/Appointment/" + slot.ODS + "-999999", ``, 404, "no_record_found"},
		{"GET", "/hub/h/Appointment/nonsense", ``, 422, "invalid"},
		// Unknown paths under the booking API answer its error body too.
		{"GET", "/hub/h/Appointment/" + ref + "/$cancel/x", ``, 404, "not_found"},
		{"GET", "/hub/h/Appointment/", ``, 404, "not_found"},
	} {
		st, _, m := jsonCall(t, srv.URL, c.method, c.path, c.body)
		if st != c.status || m["error"] == nil || (c.code != "" && m["code"] != c.code) {
			t.Errorf("%s %s %s: %d %v, want %d %s", c.method, c.path, c.body, st, m, c.status, c.code)
		}
	}
	// The rest of /hub/ stays the FHIR search's: an OperationOutcome.
	if st, h, body := call(t, srv.URL, "GET", "/hub/h/Slot/x", ""); st != 404 || !strings.HasPrefix(h.Get("Content-Type"), "application/fhir+json") ||
		!strings.Contains(string(body), `"OperationOutcome"`) {
		t.Errorf("GET /hub/h/Slot/x: %d %s %s, want a FHIR 404", st, h.Get("Content-Type"), body)
	}
}

// TestHubBookingAPIPracticeRefusal: the practice's own refusal keeps its
// Spine code, with the status it means for the caller.
func TestHubBookingAPIPracticeRefusal(t *testing.T) {
	f, srv := fakeBookingAPI(t)
	st, _, m := jsonCall(t, srv.URL, "POST", "/hub/h/Appointment", `{"slot":"`+fakeODS+`/7","patient":{"nhsNumber":"9658218865"}}`)
	if st != 409 || m["code"] != "duplicate_rejected" {
		t.Fatalf("practice's 409: %d %v", st, m)
	}
	f.set("POST /Appointment", fakeAnswer{status: 500, body: "oops"})
	st, _, m = jsonCall(t, srv.URL, "POST", "/hub/h/Appointment", `{"slot":"`+fakeODS+`/7","patient":{"nhsNumber":"9658218865"}}`)
	if st != 502 || m["code"] != "practice_error" || !strings.Contains(fmt.Sprint(m["error"]), "may have been made") {
		t.Fatalf("practice's 500: %d %v", st, m)
	}
	// A 4xx with no Spine code (an HTML 404 from something in the way) is
	// an answer the hub cannot use, as a 5xx is: practice_error, 502.
	f.set("POST /Appointment", fakeAnswer{status: 404, body: "<html>not here</html>"})
	st, _, m = jsonCall(t, srv.URL, "POST", "/hub/h/Appointment", `{"slot":"`+fakeODS+`/7","patient":{"nhsNumber":"9658218865"}}`)
	if st != 502 || m["code"] != "practice_error" {
		t.Fatalf("practice's HTML 404: %d %v", st, m)
	}
}
