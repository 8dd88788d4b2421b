package faulttest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/auth"
	"github.com/slotbridge/slotbridge/internal/demo"
	"github.com/slotbridge/slotbridge/internal/store"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
	"github.com/slotbridge/slotbridge/provider"
)

// inProcess serves the provider over a fresh demo store on loopback, in this
// process (for faults the test injects through the store).
func inProcess(t *testing.T, st *store.Store) (*provider.Server, *httptest.Server) {
	t.Helper()
	if err := demo.Load(context.Background(), st, time.Now(), 10*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	prov := provider.New(st, &auth.Verifier{}, slog.New(slog.NewTextHandler(io.Discard, nil)), provider.Config{})
	srv := httptest.NewServer(prov.Handler())
	t.Cleanup(func() { srv.Close(); prov.Close() })
	return prov, srv
}

type auditRow struct {
	Interaction string `db:"interaction"`
	Status      int    `db:"status"`
	SpineCode   string `db:"spine_code"`
	ResourceIDs string `db:"resource_ids"`
	ReqOrg      string `db:"req_org"`
}

func auditRows(t *testing.T, st *store.Store, trace string) []auditRow {
	t.Helper()
	var rows []auditRow
	db := st.DB()
	if err := db.SelectContext(context.Background(), &rows, db.Rebind(`SELECT interaction, status, spine_code, resource_ids, req_org
		FROM audit WHERE trace_id = ? ORDER BY id`), trace); err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestCommandAuditWrittenOnce: book, amend, cancel and register write their
// audit row in their own transaction, so it is there as soon as the answer
// is; the asynchronous writer does not add a second one; and a command that
// fails still gets its row (from the asynchronous writer).
func TestCommandAuditWrittenOnce(t *testing.T) {
	for _, e := range storetest.Engines(false) {
		t.Run(e.Name, func(t *testing.T) {
			st := storetest.Open(t, e)
			prov, srv := inProcess(t, st)
			ctx := context.Background()
			tg := freeTargets(t, st, 1)[0]
			patient := patientID(t, st)

			r, err := call(ctx, srv.URL, http.MethodPost, "Appointment", gpconnect.CreateAppointment, "aud-book", bookBody(tg, patient, "Audit test"), nil)
			if err != nil || r.status != http.StatusCreated {
				t.Fatalf("book: %v %d %s", err, r.status, r.body)
			}
			id, _ := appointmentID(r.header)
			ref := "Appointment/" + strconv.FormatInt(id, 10)
			var appt fhir.Appointment
			if err := json.Unmarshal(r.body, &appt); err != nil {
				t.Fatal(err)
			}
			appt.Comment = "Amended by the audit test"
			body, _ := json.Marshal(&appt)
			r, err = call(ctx, srv.URL, http.MethodPut, "Appointment/"+appt.ID, gpconnect.UpdateAppointment, "aud-amend", body, nil)
			if err != nil || r.status != http.StatusOK {
				t.Fatalf("amend: %v %d %s", err, r.status, r.body)
			}
			json.Unmarshal(r.body, &appt)
			appt.Status = "cancelled"
			reason := "Audit test"
			appt.Extension = append(appt.Extension, fhir.Extension{URL: gpconnect.ExtCancellationReason, ValueString: &reason})
			body, _ = json.Marshal(&appt)
			r, err = call(ctx, srv.URL, http.MethodPut, "Appointment/"+appt.ID, gpconnect.CancelAppointment, "aud-cancel", body, nil)
			if err != nil || r.status != http.StatusOK {
				t.Fatalf("cancel: %v %d %s", err, r.status, r.body)
			}
			reg := `{"resourceType":"Parameters","parameter":[{"name":"registerPatient","resource":{"resourceType":"Patient",
				"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9651258500"}],
				"name":[{"use":"official","family":"REA","given":["Clive"]}],"gender":"male","birthDate":"1951-03-10"}}]}`
			r, err = call(ctx, srv.URL, http.MethodPost, "Patient/$gpc.registerpatient", gpconnect.RegisterPatient, "aud-register", []byte(reg), nil)
			if err != nil || r.status != http.StatusOK {
				t.Fatalf("register: %v %d %s", err, r.status, r.body)
			}
			var bundle fhir.Bundle
			if err := json.Unmarshal(r.body, &bundle); err != nil || len(bundle.Entry) != 1 {
				t.Fatalf("register answer: %v %s", err, r.body)
			}
			patientRef := "Patient/" + bundle.Entry[0].Resource.(*fhir.Patient).ID
			// A second registration of the same patient fails: 409, audited asynchronously.
			r, err = call(ctx, srv.URL, http.MethodPost, "Patient/$gpc.registerpatient", gpconnect.RegisterPatient, "aud-register-again", []byte(reg), nil)
			if err != nil || r.status != http.StatusConflict {
				t.Fatalf("second register: %v %d %s", err, r.status, r.body)
			}

			const org = "GPCA0001" // the requesting organisation of auth.DefaultTestIdentity
			want := map[string]auditRow{
				"aud-book":     {string(gpconnect.CreateAppointment), 201, "", ref, org},
				"aud-amend":    {string(gpconnect.UpdateAppointment), 200, "", ref, org},
				"aud-cancel":   {string(gpconnect.CancelAppointment), 200, "", ref, org},
				"aud-register": {string(gpconnect.RegisterPatient), 200, "", patientRef, org},
			}
			// Committed with the change: there before any flush.
			for trace, w := range want {
				if rows := auditRows(t, st, trace); len(rows) != 1 || rows[0] != w {
					t.Errorf("%s before flush: %+v, want [%+v]", trace, rows, w)
				}
			}
			prov.Close() // flush the asynchronous writer
			want["aud-register-again"] = auditRow{string(gpconnect.RegisterPatient), 409, "DUPLICATE_REJECTED", "", org}
			for trace, w := range want {
				if rows := auditRows(t, st, trace); len(rows) != 1 || rows[0] != w {
					t.Errorf("%s after flush: %+v, want [%+v]", trace, rows, w)
				}
			}
		})
	}
}
