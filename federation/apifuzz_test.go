package federation_test

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/federation"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/jsonapi/jsonapitest"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// bookingPath is the hub booking API's part of the hub's paths: its routes
// and everything under /hub/{name}/Appointment/, which it answers in its own
// error body, matched as net/http's mux matches them, on the escaped path a
// segment at a time. Any other path under /hub/, such as /hub/h/Slot/x, is
// answered by the search's catch-all 404, an OperationOutcome.
var bookingPath = regexp.MustCompile(`^/hub/[^/]+/Appointment(/.*)?$`)

// FuzzHubAPI sends any method, path, query and body, with the API token, to
// the hub API and the federation admin API over a simulated hub of two
// practices (real providers on loopback), with the directory on SQLite and,
// when SLOTBRIDGE_TEST_DATABASE_URL is set, on PostgreSQL too (each input
// goes to both). Every answer must be a 2xx or 4xx in JSON: from the hub
// search's routes FHIR JSON, a searchset Bundle or an OperationOutcome with
// a Spine code (checkHubFHIR); from the booking and admin APIs their error
// body. A 500 here would be input that reached the store or the fan-out
// unchecked. Endpoints the fuzzer saves point the hub anywhere, so calls to
// them are cut short by a small deadline.
func FuzzHubAPI(f *testing.F) {
	type target struct {
		name string
		h    http.Handler
	}
	var targets []target
	var ods string
	for i, e := range storetest.Engines(false) {
		s, hub, dir, _ := newFederationOn(f, e, 2, federation.Config{PracticeTimeout: 200 * time.Millisecond, Deadline: 300 * time.Millisecond})
		api := &federation.API{Hub: hub, Store: dir, Token: "fuzz-token", AdminToken: "fuzz-token"}
		targets = append(targets, target{e.Name, api.Handler()})
		if i == 0 {
			ods = s.Endpoints[0].ODS
		}
	}
	methods := []string{"GET", "POST", "PUT", "DELETE", "PATCH"}

	f.Add(uint8(0), "hub/h/Slot?start=today&end=%2B3d&org-type=urgent-care&channel=Telephone,In-person&role=R0260", "")
	f.Add(uint8(0), "hub/h/Slot?start=2026-13-01&end=yesterday", "")
	f.Add(uint8(0), "hub/h/Slot?start=ge2026-12-01T00:00:00%2B00:00&end=le2027-12-01&practice="+ods, "")
	f.Add(uint8(0), "hub/nope/Slot?start=now&end=%2B366d", "")
	f.Add(uint8(0), "admin/api/federation/directory", "")
	f.Add(uint8(2), "admin/api/federation/directory/"+ods, `{"serviceRoot":"http://127.0.0.1:1/X/STU3/1/gpconnect","asid":"918999198993","enabled":true,"interactions":["x"]}`)
	f.Add(uint8(2), "admin/api/federation/directory/A%2FB", `{"serviceRoot":"ftp://x/","asid":""}`)
	f.Add(uint8(1), "admin/api/federation/import", `{"endpoints":[{"ods":"Y1","serviceRoot":"http://127.0.0.1:1/","asid":"1"}],"hubs":[{"name":"g","members":["Y1"]}]}`)
	f.Add(uint8(1), "admin/api/federation/hubs", `{"name":"pcn2","members":["`+ods+`","Y99999"]}`)
	f.Add(uint8(2), "admin/api/federation/hubs/pcn2/members/"+ods, "")
	f.Add(uint8(3), "admin/api/federation/hubs/h/members/"+ods, "")
	f.Add(uint8(1), "admin/api/federation/hubs", `[`)
	// Text PostgreSQL cannot hold, in paths and in bodies.
	f.Add(uint8(2), "admin/api/federation/directory/Y00001", `{"serviceRoot":"http://127.0.0.1:1/X","asid":"9\u0000","name":"n\u0000"}`)
	f.Add(uint8(1), "admin/api/federation/hubs", `{"name":"h\u0000"}`)
	f.Add(uint8(1), "admin/api/federation/import", `{"hubs":[{"name":"g\u0001","members":[]}]}`)
	f.Add(uint8(2), "admin/api/federation/directory/A%0047", `{"serviceRoot":"http://127.0.0.1:1/X/STU3/1/gpconnect","asid":"9\u0000"}`)
	f.Add(uint8(1), "admin/api/federation/hubs", `{"name":"h\u0000","members":["%FF"]}`)
	f.Add(uint8(0), "hub/h%00/Slot?start=today&end=tomorrow&practice=%FF", "")
	// The booking API.
	f.Add(uint8(1), "hub/h/Appointment", `{"slot":"`+ods+`/1","patient":{"nhsNumber":"9658218865","family":"Wright","given":"Garth","gender":"male","birthDate":"1933-11-14"}}`)
	f.Add(uint8(1), "hub/h/Appointment", `{"slot":"`+ods+`-1","patient":{"nhsNumber":"1"},"from":"tomorrow","to":"today"}`)
	f.Add(uint8(0), "hub/h/Appointment?patient=9658218865&from=yesterday&to=%2B3d", "")
	f.Add(uint8(1), "hub/h/Appointment/"+ods+"-1/$amend", `{"comment":"x"}`)
	f.Add(uint8(1), "hub/h/Appointment/"+ods+"-1/$cancel", `{"reason":"\u0000"}`)
	f.Add(uint8(1), "hub/h/Appointment/"+ods+"%2F1/$cancel", `{}`)
	f.Add(uint8(0), "hub/h/Appointment/"+ods+"-1", "")
	f.Add(uint8(1), "hub/h/Appointment/"+ods+"-1", `{}`)
	f.Add(uint8(0), "hub/h/Appointment/"+ods+"-1/$cancel/x", "")
	// Not the booking API's: the hub's FHIR 404.
	f.Add(uint8(1), "hub/h/Slot/x", "")

	f.Fuzz(func(t *testing.T, m uint8, path, body string) {
		for _, tg := range targets {
			req, err := http.NewRequest(methods[int(m)%len(methods)], "http://127.0.0.1/"+path, strings.NewReader(body))
			if err != nil {
				return // not a request a client could send
			}
			req.Header.Set("Authorization", "Bearer fuzz-token")
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			tg.h.ServeHTTP(rec, req)
			var bad error
			switch {
			case rec.Code >= 300 && rec.Code < 400:
				// net/http's mux redirects an unclean path before any handler runs.
			case strings.HasPrefix(req.URL.Path, "/admin/api/federation/"):
				bad = jsonapitest.Check(rec.Code, rec.Body.Bytes())
			case bookingPath.MatchString(req.URL.EscapedPath()):
				// The booking API passes on a practice's failure as 502 or
				// 504, in the same error body as its own refusals.
				code := rec.Code
				if code == http.StatusBadGateway || code == http.StatusGatewayTimeout {
					code = http.StatusUnprocessableEntity
				}
				bad = jsonapitest.Check(code, rec.Body.Bytes())
			case rec.Code >= 500:
				bad = fmt.Errorf("%d %s", rec.Code, rec.Body)
			case strings.HasPrefix(req.URL.Path, "/hub/"):
				bad = checkHubFHIR(rec.Code, rec.Header().Get("Content-Type"), rec.Body.Bytes())
			case rec.Code == http.StatusNotFound:
				// Outside the API's mounts: serve sends it elsewhere.
			case rec.Code != http.StatusNoContent && !json.Valid(rec.Body.Bytes()):
				bad = fmt.Errorf("%d with a body that is not JSON: %q", rec.Code, rec.Body)
			}
			if bad != nil {
				t.Fatalf("%s: %s /%s %q: %v", tg.name, req.Method, path, body, bad)
			}
		}
	})
}

// checkHubFHIR checks an answer from the hub search's routes (all of /hub/
// but the booking API): FHIR JSON, a searchset Bundle on a 200 and an
// OperationOutcome with a Spine code on a 4xx, which is what a FHIR client
// of the hub reads; json.Valid alone would pass the booking API's error
// body or a Bundle-shaped mistake.
func checkHubFHIR(code int, ct string, body []byte) error {
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != gpconnect.MediaJSON {
		return fmt.Errorf("%d in %q, not FHIR JSON: %.300q", code, ct, body)
	}
	var r struct {
		ResourceType string
		Type         string
		Issue        []struct {
			Details struct {
				Coding []struct{ System, Code string }
			}
		}
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("%d with a body that is not a JSON resource (%v): %.300q", code, err, body)
	}
	switch {
	case code == http.StatusOK:
		if r.ResourceType != "Bundle" || r.Type != "searchset" {
			return fmt.Errorf("200 with a %q %q, not a searchset Bundle: %.300q", r.ResourceType, r.Type, body)
		}
	case code/100 == 4:
		if r.ResourceType != "OperationOutcome" || len(r.Issue) == 0 || len(r.Issue[0].Details.Coding) == 0 ||
			r.Issue[0].Details.Coding[0].System != gpconnect.SystemSpineError || r.Issue[0].Details.Coding[0].Code == "" {
			return fmt.Errorf("%d without an OperationOutcome carrying a Spine code: %.300q", code, body)
		}
	default:
		return fmt.Errorf("%d from a FHIR search route: %.300q", code, body)
	}
	return nil
}
