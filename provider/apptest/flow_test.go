package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/auth"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

type client struct {
	t    *testing.T
	base string
}

func (c *client) do(method, path string, iid gpconnect.InteractionID, body []byte, hdr map[string]string) (int, http.Header, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.base+"/A20047/STU3/1/gpconnect/"+path, bytes.NewReader(body))
	tok, _ := auth.Mint(auth.DefaultTestIdentity(), iid.Scope(), time.Now())
	req.Header.Set("Ssp-TraceID", "flow")
	req.Header.Set("Ssp-From", "200000000359")
	req.Header.Set("Ssp-To", asid)
	req.Header.Set("Ssp-InteractionID", string(iid))
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != nil {
		req.Header.Set("Content-Type", "application/fhir+json;charset=utf-8")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func expect(t *testing.T, what string, status int, body []byte, wantStatus int, wantCode string) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("%s: status %d, want %d: %s", what, status, wantStatus, body)
	}
	if wantCode != "" && spineCode(body) != wantCode {
		t.Fatalf("%s: Spine code %q, want %q: %s", what, spineCode(body), wantCode, body)
	}
}

func TestAppointmentFlow(t *testing.T) {
	for _, e := range storetest.Engines(false) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			st, srv := newServer(t, e)
			c := &client{t: t, base: srv.URL}
			var pid int64
			if err := st.DB().GetContext(ctx, &pid, st.DB().Rebind(`SELECT id FROM patients WHERE nhs_number = ?`), "9658218873"); err != nil {
				t.Fatal(err)
			}
			var tg []target
			if err := st.DB().SelectContext(ctx, &tg, st.DB().Rebind(`SELECT s.id, s.start_at, s.end_at, sc.location_id FROM slots s
				JOIN schedules sc ON sc.id = s.schedule_id JOIN access_profiles p ON p.id = s.access_profile_id
				WHERE s.practice_id = 7 AND s.status = 'free' AND p.name = 'open' AND s.start_at > ? ORDER BY s.start_at LIMIT 2`), time.Now().Add(3*time.Hour).Unix()); err != nil || len(tg) != 2 {
				t.Fatalf("slots: %v", err)
			}

			// Book: 201 with Location, ETag and the stored resource.
			body := bookBody(tg[0], pid, "A20047")
			st201, h, b := c.do("POST", "Appointment", gpconnect.CreateAppointment, body, nil)
			expect(t, "book", st201, b, 201, "")
			var appt fhir.Appointment
			if err := json.Unmarshal(b, &appt); err != nil {
				t.Fatal(err)
			}
			if h.Get("ETag") != `W/"1"` || !strings.HasSuffix(h.Get("Location"), "/Appointment/"+appt.ID+"/_history/1") || h.Get("Cache-Control") != "no-store" {
				t.Fatalf("book headers: %v", h)
			}
			if appt.ServiceType == nil || appt.ServiceCategory == nil || len(appt.Contained) != 1 || len(appt.Extension) < 3 {
				t.Fatalf("booked appointment lacks derived elements: %s", b)
			}

			// A retry of the same request (its trace id too) returns the same appointment.
			stR, hR, bR := c.do("POST", "Appointment", gpconnect.CreateAppointment, body, nil)
			expect(t, "retry", stR, bR, 201, "")
			if hR.Get("Location") != h.Get("Location") {
				t.Fatalf("retry gave a different appointment: %s vs %s", hR.Get("Location"), h.Get("Location"))
			}
			// The same body as a new request, with its own trace id, asks for a
			// slot already booked: 409.
			stN, _, bN := c.do("POST", "Appointment", gpconnect.CreateAppointment, body, map[string]string{"Ssp-TraceID": "flow-again"})
			expect(t, "same body, new request", stN, bN, 409, "DUPLICATE_REJECTED")
			// The same booking with another description is not a retry: 409.
			stD, _, bD := c.do("POST", "Appointment", gpconnect.CreateAppointment,
				bytes.Replace(body, []byte(`"description":"`), []byte(`"description":"changed `), 1), nil)
			expect(t, "same slots, other description", stD, bD, 409, "DUPLICATE_REJECTED")
			// Nor is the same body from another consumer system (Ssp-From),
			// or with an identifier or a priority added: no 201 may claim
			// a creation that did not happen or drop what was sent.
			stF, _, bF := c.do("POST", "Appointment", gpconnect.CreateAppointment, body, map[string]string{"Ssp-From": "200000000999"})
			expect(t, "same body, another consumer system", stF, bF, 409, "DUPLICATE_REJECTED")
			withID := bytes.Replace(body, []byte(`"description":`), []byte(`"identifier":[{"system":"https://consumer.example/appt","value":"A-1"}],"description":`), 1)
			stI, _, bI := c.do("POST", "Appointment", gpconnect.CreateAppointment, withID, nil)
			expect(t, "same booking plus an identifier", stI, bI, 409, "DUPLICATE_REJECTED")
			withPriority := bytes.Replace(body, []byte(`"description":`), []byte(`"priority":3,"description":`), 1)
			stPr, _, bPr := c.do("POST", "Appointment", gpconnect.CreateAppointment, withPriority, nil)
			expect(t, "same booking plus a priority", stPr, bPr, 409, "DUPLICATE_REJECTED")
			// Another organisation booking the same slot loses with 409.
			st409, _, b409 := c.do("POST", "Appointment", gpconnect.CreateAppointment, bookBody(tg[0], pid, "B81016"), nil)
			expect(t, "double booking", st409, b409, 409, "DUPLICATE_REJECTED")
			// An unknown slot is 422 INVALID_RESOURCE; Prefer: return=minimal gives an empty body.
			bad := bytes.Replace(bookBody(tg[1], pid, "A20047"), []byte(fmt.Sprintf("Slot/%d", tg[1].SlotID)), []byte("Slot/999999999"), 1)
			st422, _, b422 := c.do("POST", "Appointment", gpconnect.CreateAppointment, bad, nil)
			expect(t, "unknown slot", st422, b422, 422, "INVALID_RESOURCE")
			stMin, _, bMin := c.do("POST", "Appointment", gpconnect.CreateAppointment, bookBody(tg[1], pid, "A20047"), map[string]string{"Prefer": "return=minimal"})
			if stMin != 201 || len(bMin) != 0 {
				t.Fatalf("return=minimal: %d %q", stMin, bMin)
			}

			// Read.
			stRead, hRead, bRead := c.do("GET", "Appointment/"+appt.ID, gpconnect.ReadAppointment, nil, nil)
			expect(t, "read", stRead, bRead, 200, "")
			if hRead.Get("ETag") != `W/"1"` {
				t.Fatalf("read ETag %q", hRead.Get("ETag"))
			}
			stNF, _, bNF := c.do("GET", "Appointment/Invalid4321", gpconnect.ReadAppointment, nil, nil)
			expect(t, "read unknown", stNF, bNF, 404, "NO_RECORD_FOUND")

			// Amend description and comment; a stale If-Match is 409.
			var cur fhir.Appointment
			json.Unmarshal(bRead, &cur)
			cur.Description, cur.Comment = "Amended description", "Amended comment"
			amended, _ := json.Marshal(&cur)
			stA, hA, bA := c.do("PUT", "Appointment/"+appt.ID, gpconnect.UpdateAppointment, amended, map[string]string{"If-Match": `W/"1"`})
			expect(t, "amend", stA, bA, 200, "")
			if hA.Get("ETag") != `W/"2"` || !bytes.Contains(bA, []byte("Amended comment")) {
				t.Fatalf("amend: %v %s", hA, bA)
			}
			stS, _, bS := c.do("PUT", "Appointment/"+appt.ID, gpconnect.UpdateAppointment, amended, map[string]string{"If-Match": `W/"1"`})
			expect(t, "stale amend", stS, bS, 409, "FHIR_CONSTRAINT_VIOLATION")
			cur.Start = "2030-01-01T09:00:00+00:00"
			moved, _ := json.Marshal(&cur)
			stM, _, bM := c.do("PUT", "Appointment/"+appt.ID, gpconnect.UpdateAppointment, moved, nil)
			expect(t, "amend start", stM, bM, 422, "INVALID_RESOURCE")

			// Cancel: empty reason is INVALID_PARAMETER; a real reason frees the slot.
			var latest fhir.Appointment
			json.Unmarshal(bA, &latest)
			latest.Status = "cancelled"
			empty := ""
			latest.Extension = append(latest.Extension, fhir.Extension{URL: gpconnect.ExtCancellationReason, ValueString: &empty})
			cb, _ := json.Marshal(&latest)
			stE, _, bE := c.do("PUT", "Appointment/"+appt.ID, gpconnect.CancelAppointment, cb, nil)
			expect(t, "cancel empty reason", stE, bE, 422, "INVALID_PARAMETER")
			reason := "Patient no longer requires appointment"
			latest.Extension[len(latest.Extension)-1].ValueString = &reason
			cb, _ = json.Marshal(&latest)
			stC, hC, bC := c.do("PUT", "Appointment/"+appt.ID, gpconnect.CancelAppointment, cb, map[string]string{"If-Match": `W/"2"`})
			expect(t, "cancel", stC, bC, 200, "")
			if hC.Get("ETag") != `W/"3"` || !bytes.Contains(bC, []byte(`"status":"cancelled"`)) {
				t.Fatalf("cancel: %v %s", hC, bC)
			}
			var status string
			st.DB().GetContext(ctx, &status, st.DB().Rebind(`SELECT status FROM slots WHERE id = ?`), tg[0].SlotID)
			if status != "free" {
				t.Fatalf("cancelled slot is %q, want free", status)
			}
			stAC, _, bAC := c.do("PUT", "Appointment/"+appt.ID, gpconnect.UpdateAppointment, amended, nil)
			expect(t, "amend cancelled", stAC, bAC, 422, "INVALID_RESOURCE")

			// Retrieve includes the cancelled appointment; a past range is 422.
			today := time.Now().Format("2006-01-02")
			later := time.Now().Add(12 * 24 * time.Hour).Format("2006-01-02")
			stRt, _, bRt := c.do("GET", fmt.Sprintf("Patient/%d/Appointment?start=ge%s&start=le%s", pid, today, later), gpconnect.SearchPatientAppointment, nil, nil)
			expect(t, "retrieve", stRt, bRt, 200, "")
			if bytes.Count(bRt, []byte(`"resourceType":"Appointment"`)) != 2 {
				t.Fatalf("retrieve: want 2 appointments: %s", bRt)
			}
			stP, _, bP := c.do("GET", fmt.Sprintf("Patient/%d/Appointment?start=ge2020-01-01&start=le%s", pid, later), gpconnect.SearchPatientAppointment, nil, nil)
			expect(t, "retrieve past", stP, bP, 422, "INVALID_PARAMETER")
			checkInvariants(t, st)
		})
	}
}
