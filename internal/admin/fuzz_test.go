package admin_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/admin"
	"github.com/slotbridge/slotbridge/internal/demo"
	"github.com/slotbridge/slotbridge/internal/jsonapi/jsonapitest"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// FuzzAdminAPI sends arbitrary methods, paths (under /admin/api/practices/)
// and bodies, with a valid token of A20047, to the admin API over the demo data, on SQLite and, when
// SLOTBRIDGE_TEST_DATABASE_URL is set, on PostgreSQL too (each input goes to
// both; each fuzzing process has its own databases, and the changes that
// succeed pile up, as an admin's would). Bad input must get a 4xx with a JSON error: never a
// panic (the handler would turn it into a 500) and never a 500, which here
// would mean a database error that the input provoked and nobody mapped.
func FuzzAdminAPI(f *testing.F) {
	ctx := context.Background()
	type target struct {
		name string
		h    http.Handler
		tok  string
	}
	var targets []target
	for _, e := range storetest.Engines(false) {
		st := storetest.Open(f, e)
		if err := demo.Load(ctx, st, time.Now(), 10*24*time.Hour); err != nil {
			f.Fatal(err)
		}
		svc := admin.New(st)
		svc.Horizon = 10 * 24 * time.Hour
		tok, _, err := svc.CreateToken(ctx, admin.Actor{Name: "cli:fuzz"}, "A20047", "fuzz")
		if err != nil {
			f.Fatal(err)
		}
		targets = append(targets, target{e.Name, admin.NewHandler(svc, slog.New(slog.DiscardHandler)), tok})
	}
	methods := []string{"GET", "POST", "PATCH", "PUT", "DELETE"}

	f.Add(uint8(1), "A20047/profiles", `{"name":"fz","bookable":true,"org_types":["urgent-care"],"ods_codes":["A81001"],"cap":3,"booking_window":"14d","embargo":"2h"}`)
	f.Add(uint8(2), "A20047/profiles/1", `{"cap":-1}`)
	f.Add(uint8(2), "A20047/profiles/1", `{"booking_window":"1.5s","release_time":"25:00"}`)
	f.Add(uint8(1), "A20047/templates", `{"name":"fz","practitioner_id":1,"location_id":1,"weekday":"Monday","start":"09:00","end":"08:00","slot_minutes":0,"access_profile_id":1}`)
	f.Add(uint8(1), "A20047/templates", `{"name":"fz","practitioner_id":1,"location_id":1,"weekday":"Tuesday","start":"09:00","end":"10:00","slot_minutes":10,"role":"R0260","service_category":"GP","service_type":"Routine","channels":["In-person"],"access_profile_id":1}`)
	f.Add(uint8(2), "A20047/templates/1", `{"start":"23:50","end":"00:10","version":1}`)
	f.Add(uint8(1), "A20047/templates", `{"weekday":9,"start":"9","end":"x","slot_minutes":1e9}`)
	f.Add(uint8(1), "A20047/sessions", `{"date":"2026-02-30","start":"09:00","end":"12:00","slot_minutes":10}`)
	f.Add(uint8(1), "A20047/sessions", `{"date":"`+time.Now().AddDate(0, 0, 3).Format("2006-01-02")+`","start":"01:30","end":"02:30","slot_minutes":7,"location_id":1,"practitioner_id":1,"role":"R0260","service_category":"GP","service_type":"Routine","channels":["Telephone"],"access_profile_id":1}`)
	f.Add(uint8(1), "A20047/sessions/1/block", ``)
	f.Add(uint8(1), "A20047/sessions/999999999999/cancel", `{}`)
	f.Add(uint8(1), "A20047/slots/1/profile", `{"access_profile_id":"x"}`)
	f.Add(uint8(2), "A20047/switches", `{"gp_connect_enabled":null}`)
	f.Add(uint8(1), "A20047/services", `{"dos_id":"","name":"`+strings.Repeat("n", 300)+`"}`)
	f.Add(uint8(4), "A20047/services/1", ``)
	f.Add(uint8(0), "A20047/explain?start=2026-01-01&end=2025-01-01&org_type=x", ``)
	f.Add(uint8(0), "A20047/audit?limit=-1", ``)
	f.Add(uint8(0), "A20047/slots/%2e%2e", ``)
	f.Add(uint8(1), "A20047/profiles", `[`)
	// Text PostgreSQL cannot hold, and other practices.
	f.Add(uint8(0), "A20047%00", ``)
	f.Add(uint8(0), "%FF/profiles", ``)
	f.Add(uint8(0), "B82005/profiles", ``)
	f.Add(uint8(1), "A20047/services", `{"dos_id":"20000\u0000","name":"n\u0000"}`)
	f.Add(uint8(1), "A20047/profiles", `{"name":"p","ods_codes":["A\u000081001"],"org_types":["urgent\u0000care"],"release_time":"08:0\u0000"}`)
	f.Add(uint8(0), "A20047/explain?start=2026-12-01&end=2026-12-02&org_type=%00&consumer_ods=%FF", ``)
	f.Add(uint8(1), "A20047/profiles", `{"name":"a","name":"b","extra":1}`)

	f.Fuzz(func(t *testing.T, m uint8, path, body string) {
		for _, tg := range targets {
			req, err := http.NewRequest(methods[int(m)%len(methods)], "http://admin.test/admin/api/practices/"+path, strings.NewReader(body))
			if err != nil {
				return // not a request a client could send
			}
			req.Header.Set("Authorization", "Bearer "+tg.tok)
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			tg.h.ServeHTTP(rec, req)
			if err := jsonapitest.Check(rec.Code, rec.Body.Bytes()); err != nil {
				t.Fatalf("%s: %s %s %q: %v", tg.name, req.Method, path, body, err)
			}
		}
	})
}
