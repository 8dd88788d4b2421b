package federation_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/federation"
	"github.com/slotbridge/slotbridge/federation/sim"
	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/internal/fhirtest"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

func TestHubAPI(t *testing.T) {
	s, hub, dir, _ := newFederation(t, 4, federation.Config{PracticeTimeout: 300 * time.Millisecond, Deadline: 2 * time.Second})
	s.Injector.Set(s.Endpoints[2].ODS, sim.Faults{Mode: sim.ModeHang})
	api := &federation.API{Hub: hub, Store: dir, Local: true}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	get := func(path string) (int, []byte) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: no Cache-Control: no-store", path)
		}
		return resp.StatusCode, b
	}

	t.Run("OK", func(t *testing.T) {
		start, end := tomorrow()
		q := url.Values{"start": {scheduling.FormatLocal(start)}, "end": {scheduling.FormatLocal(end)}}
		st, body := get("/hub/h/Slot?" + q.Encode())
		if st != 200 {
			t.Fatalf("status %d: %s", st, body)
		}
		fhirtest.ValidateSTU3(t, body)
		r, err := fhir.UnmarshalResource(body)
		if err != nil {
			t.Fatal(err)
		}
		b := r.(*fhir.Bundle)
		modes := map[string]int{}
		var outcome *fhir.OperationOutcome
		for _, e := range b.Entry {
			modes[e.Search.Mode+"/"+e.Resource.GetResourceType()]++
			if oo, ok := e.Resource.(*fhir.OperationOutcome); ok {
				outcome = oo
			}
		}
		if modes["match/Slot"] == 0 || modes["match/Slot"] != *b.Total || modes["include/Organization"] != 3 || modes["outcome/OperationOutcome"] != 1 {
			t.Fatalf("entries by mode: %v (total %d)", modes, *b.Total)
		}
		if outcome.ID != s.Endpoints[2].ODS || !strings.Contains(outcome.Issue[0].Diagnostics, "timeout") {
			t.Fatalf("outcome %+v", outcome.Issue)
		}
	})
	t.Run("ErrUnknownHub", func(t *testing.T) {
		st, body := get("/hub/nope/Slot?start=today&end=tomorrow")
		if st != 404 || !strings.Contains(string(body), "NO_RECORD_FOUND") {
			t.Fatalf("%d %s", st, body)
		}
		fhirtest.ValidateSTU3(t, body)
	})
	t.Run("ErrMethodNotAllowed", func(t *testing.T) {
		resp, err := http.Post(srv.URL+"/hub/h/Slot?start=today&end=tomorrow", "application/fhir+json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET" || !strings.Contains(string(body), "BAD_REQUEST") {
			t.Fatalf("%d Allow=%q %s", resp.StatusCode, resp.Header.Get("Allow"), body)
		}
		fhirtest.ValidateSTU3(t, body)
	})
	t.Run("ErrMissingStart", func(t *testing.T) {
		st, body := get("/hub/h/Slot?end=tomorrow")
		if st != 400 || !strings.Contains(string(body), "BAD_REQUEST") {
			t.Fatalf("%d %s", st, body)
		}
	})
	t.Run("ErrBadDates", func(t *testing.T) {
		st, body := get("/hub/h/Slot?start=2026-13-01&end=yesterday")
		if st != 422 || !strings.Contains(string(body), "start:") || !strings.Contains(string(body), "end:") {
			t.Fatalf("want both problems reported: %d %s", st, body)
		}
	})

	// A misspelt filter or a second org-type is refused, not read as "no
	// filter"; FHIR's _ parameters pass. Dates before 2000 are refused by
	// the hub, not sent on with London's local-mean-time offset.
	t.Run("ErrStrictParameters", func(t *testing.T) {
		for _, q := range []string{"chanel=Telephone", "org_type=urgent-care", "org-type=urgent-care&org-type=gp-practice"} {
			if st, body := get("/hub/h/Slot?start=today&end=tomorrow&" + q); st != 422 || !strings.Contains(string(body), "INVALID_PARAMETER") {
				t.Errorf("%s: %d %s", q, st, body)
			}
		}
		if st, body := get("/hub/h/Slot?start=0001-01-01&end=0001-01-02"); st != 422 || !strings.Contains(string(body), "2000") {
			t.Errorf("year 1: %d %s", st, body)
		}
		if st, body := get("/hub/h/Slot?start=today&end=tomorrow&_format=json"); st != 200 {
			t.Errorf("_format: %d %s", st, body)
		}
	})

	t.Run("Admin", func(t *testing.T) {
		do := func(method, path, body string) (int, string) {
			status, _, b := call(t, srv.URL, method, path, body)
			return status, string(b)
		}
		if st, b := do("POST", "/admin/api/federation/hubs", `{"name":"pcn2"}`); st != 201 {
			t.Fatalf("create hub: %d %s", st, b)
		}
		if st, b := do("POST", "/admin/api/federation/hubs", `{"name":"pcn2"}`); st != 409 {
			t.Fatalf("duplicate hub: %d %s", st, b)
		}
		if st, b := do("PUT", "/admin/api/federation/directory/A20047", `{"serviceRoot":"http://x/A20047/STU3/1/gpconnect","asid":"918999198993"}`); st != 200 {
			t.Fatalf("put endpoint: %d %s", st, b)
		}
		// A query, a fragment or credentials in a service root are refused:
		// the first two would swallow the interaction's path.
		for _, root := range []string{"http://x/A20047/STU3/1/gpconnect?x=1", "http://x/A20047/STU3/1/gpconnect#f", "http://u:p@x/A20047/STU3/1/gpconnect"} {
			if st, b := do("PUT", "/admin/api/federation/directory/A20047", `{"serviceRoot":"`+root+`","asid":"918999198993"}`); st != 422 {
				t.Errorf("service root %s: %d %s", root, st, b)
			}
		}
		if st, b := do("PUT", "/admin/api/federation/directory/A20047", `{"serviceRoot":"ftp://x/","asid":""}`); st != 422 {
			t.Fatalf("bad endpoint: %d %s", st, b)
		}
		// A file with any mistake imports nothing: not its good entries, not its hubs.
		for name, file := range map[string]string{
			"bad member":   `{"endpoints":[{"ods":"IMP01","serviceRoot":"http://x/IMP01/STU3/1/gpconnect","asid":"918999198993"}],"hubs":[{"name":"imphub","members":["bad!"]}]}`,
			"bad hub name": `{"endpoints":[{"ods":"IMP01","serviceRoot":"http://x/IMP01/STU3/1/gpconnect","asid":"918999198993"}],"hubs":[{"name":"a/b","members":[]}]}`,
			"listed twice": `{"endpoints":[{"ods":"IMP01","serviceRoot":"http://x/IMP01/STU3/1/gpconnect","asid":"918999198993"},{"ods":"IMP01","serviceRoot":"http://y/IMP01/STU3/1/gpconnect","asid":"918999198994"}]}`,
		} {
			if st, b := do("POST", "/admin/api/federation/import", file); st != 422 {
				t.Fatalf("import with a %s: %d %s", name, st, b)
			}
			if _, b := do("GET", "/admin/api/federation/directory", ""); strings.Contains(b, "IMP01") {
				t.Fatalf("import with a %s saved IMP01: %s", name, b)
			}
			if _, b := do("GET", "/admin/api/federation/hubs", ""); strings.Contains(b, "imphub") {
				t.Fatalf("import with a %s created its hub: %s", name, b)
			}
		}
		// A hub name with spaces around it is the trimmed name, throughout.
		if st, b := do("POST", "/admin/api/federation/import", `{"endpoints":[{"ods":"IMP02","serviceRoot":"http://x/IMP02/STU3/1/gpconnect","asid":"918999198993"}],"hubs":[{"name":" pcn9 ","members":["IMP02"]}]}`); st != 200 {
			t.Fatalf("import with a padded hub name: %d %s", st, b)
		}
		if _, b := do("GET", "/admin/api/federation/hubs", ""); !regexp.MustCompile(`"name": "pcn9",\s*"members": \[\s*"IMP02"`).MatchString(b) {
			t.Fatalf("hub pcn9 should hold IMP02: %s", b)
		}
		if st, b := do("PUT", "/admin/api/federation/hubs/pcn2/members/A20047", ""); st != 204 {
			t.Fatalf("add member: %d %s", st, b)
		}
		st, b := do("GET", "/admin/api/federation/hubs", "")
		var hubs []struct {
			Name    string
			Members []string
		}
		if st != 200 || json.Unmarshal([]byte(b), &hubs) != nil || len(hubs) != 3 || hubs[1].Name != "pcn2" || len(hubs[1].Members) != 1 {
			t.Fatalf("hubs: %d %s", st, b)
		}
		if st, b := do("DELETE", "/admin/api/federation/hubs/pcn2/members/A20047", ""); st != 204 {
			t.Fatalf("remove member: %d %s", st, b)
		}
		if st, b := do("DELETE", "/admin/api/federation/hubs/pcn2/members/A20047", ""); st != 404 {
			t.Fatalf("remove twice: %d %s", st, b)
		}
		// One hub reads alone; deleting a directory entry leaves the hubs'
		// member lists alone; deleting a hub frees its name.
		if st, b := do("PUT", "/admin/api/federation/hubs/pcn2/members/A20047", ""); st != 204 {
			t.Fatalf("add member again: %d %s", st, b)
		}
		if st, b := do("GET", "/admin/api/federation/hubs/pcn2", ""); st != 200 || !regexp.MustCompile(`"name": "pcn2",\s*"members": \[\s*"A20047"\s*\]`).MatchString(b) {
			t.Fatalf("read hub: %d %s", st, b)
		}
		if st, b := do("DELETE", "/admin/api/federation/directory/A20047", ""); st != 204 {
			t.Fatalf("delete endpoint: %d %s", st, b)
		}
		if st, b := do("DELETE", "/admin/api/federation/directory/A20047", ""); st != 404 || !strings.Contains(b, `"code"`) {
			t.Fatalf("delete endpoint twice: %d %s", st, b)
		}
		if _, b := do("GET", "/admin/api/federation/directory", ""); strings.Contains(b, "A20047") {
			t.Fatalf("deleted endpoint still listed: %s", b)
		}
		if st, b := do("GET", "/admin/api/federation/hubs/pcn2", ""); st != 200 || !strings.Contains(b, "A20047") {
			t.Fatalf("hub after endpoint delete: %d %s", st, b)
		}
		if st, b := do("DELETE", "/admin/api/federation/hubs/pcn2", ""); st != 204 {
			t.Fatalf("delete hub: %d %s", st, b)
		}
		for _, m := range []string{"GET", "DELETE"} {
			if st, b := do(m, "/admin/api/federation/hubs/pcn2", ""); st != 404 || !strings.Contains(b, `"code"`) {
				t.Fatalf("%s deleted hub: %d %s", m, st, b)
			}
		}
		if st, b := do("POST", "/admin/api/federation/hubs", `{"name":"pcn2"}`); st != 201 || !strings.Contains(b, `"members": []`) {
			t.Fatalf("recreate hub: %d %s", st, b)
		}
		// Unknown paths and methods answer in JSON too, a 405 with Allow.
		for _, c := range []struct {
			method, path string
			status       int
		}{{"GET", "/admin/api/federation/nothing", 404}, {"PATCH", "/admin/api/federation/hubs", 405}, {"GET", "/admin/api/federation/import", 405},
			{"POST", "/admin/api/federation/hubs/pcn2", 405}} {
			st, b := do(c.method, c.path, "")
			var e struct{ Error, Code string }
			if st != c.status || json.Unmarshal([]byte(b), &e) != nil || e.Error == "" || e.Code == "" {
				t.Errorf("%s %s: %d %s, want %d with a JSON error", c.method, c.path, st, b, c.status)
			}
		}
		// Bodies are read as the practice admin API reads them, and refused
		// in the same body: {"error": message, "code": code}.
		for _, c := range []struct {
			name, ctype, body string
			status            int
			code              string
		}{
			{"not JSON", "application/json", `{"name":`, 400, "invalid_param"},
			{"two values", "application/json", `{"name":"a"}{}`, 400, "invalid_param"},
			{"unknown field", "application/json", `{"name":"a","x":1}`, 400, "invalid_param"},
			{"no body", "application/json", ``, 400, "invalid_param"},
			{"form post", "text/plain", `{"name":"a"}`, 415, "unsupported_media_type"},
			{"no type", "", `{"name":"a"}`, 415, "unsupported_media_type"},
			{"unstorable name", "application/json", `{"name":"h\u0001"}`, 422, "invalid"},
		} {
			req, _ := http.NewRequestWithContext(context.Background(), "POST", srv.URL+"/admin/api/federation/hubs", strings.NewReader(c.body))
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var e struct{ Error, Code string }
			if resp.StatusCode != c.status || json.Unmarshal(b, &e) != nil || e.Code != c.code || e.Error == "" {
				t.Errorf("%s: %d %s, want %d with code %s", c.name, resp.StatusCode, b, c.status, c.code)
			}
		}
	})
	t.Run("ErrTokenRequired", func(t *testing.T) {
		api.Token, api.AdminToken = "s3cret", "adm1n"
		defer func() { api.Token, api.AdminToken = "", "" }()
		st, _ := get("/hub/h/Slot?start=today&end=tomorrow")
		if st != 401 {
			t.Fatalf("no token: %d, want 401", st)
		}
		// The management API answers a missing token as the admin API does.
		st, body := get("/admin/api/federation/hubs")
		var e struct{ Error, Code string }
		if st != 401 || json.Unmarshal(body, &e) != nil || e.Code != "unauthorized" || e.Error == "" {
			t.Fatalf("no token on the management API: %d %s, want 401 with code unauthorized", st, body)
		}
	})
	// The hub's token opens only the hub routes, the admin token only the
	// management routes: a booking front end cannot rewrite the directory.
	t.Run("TokensApart", func(t *testing.T) {
		api.Token, api.AdminToken = "s3cret", "adm1n"
		defer func() { api.Token, api.AdminToken = "", "" }()
		search := "/hub/h/Slot?start=today&end=tomorrow"
		for _, c := range []struct {
			path  string
			token []string // one Authorization header each
			want  int
		}{
			{search, []string{"s3cret"}, 200}, {search, []string{"adm1n"}, 401},
			{"/admin/api/federation/hubs", []string{"adm1n"}, 200}, {"/admin/api/federation/hubs", []string{"s3cret"}, 401},
			// Two headers are refused in either order, not judged by the first.
			{search, []string{"s3cret", "wrong"}, 401}, {search, []string{"wrong", "s3cret"}, 401},
			{"/admin/api/federation/hubs", []string{"adm1n", "adm1n"}, 401},
		} {
			req, _ := http.NewRequestWithContext(context.Background(), "GET", srv.URL+c.path, nil)
			for _, tok := range c.token {
				req.Header.Add("Authorization", "Bearer "+tok)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Errorf("%s with %s: %d, want %d", c.path, c.token, resp.StatusCode, c.want)
			}
		}
	})
	// Without a token and without Local the routes are closed, even to a
	// caller that looks local: a forwarder on the same host (stunnel, an
	// SSH tunnel, a proxy adding no X-Forwarded-For) would look the same.
	t.Run("ErrClosedByDefault", func(t *testing.T) {
		api.Local = false
		defer func() { api.Local = true }()
		for _, path := range []string{"/hub/h/Slot?start=today&end=tomorrow", "/admin/api/federation/hubs"} {
			st, body := get(path)
			if st != 403 || !strings.Contains(string(body), "SLOTBRIDGE_HUB_") {
				t.Errorf("%s: %d %s, want 403 naming the setting", path, st, body)
			}
		}
	})
	t.Run("ErrNotLocalWithoutToken", func(t *testing.T) {
		for name, set := range map[string]func(*http.Request){
			"X-Forwarded-For": func(r *http.Request) { r.Header.Set("X-Forwarded-For", "203.0.113.9") },
			"Forwarded":       func(r *http.Request) { r.Header.Set("Forwarded", "for=203.0.113.9") },
			"rebound Host":    func(r *http.Request) { r.Host = "evil.example" },
		} {
			for _, path := range []string{"/hub/h/Slot?start=today&end=tomorrow", "/admin/api/federation/hubs"} {
				req, _ := http.NewRequestWithContext(context.Background(), "GET", srv.URL+path, nil)
				set(req)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 403 {
					t.Errorf("%s %s: %d, want 403", name, path, resp.StatusCode)
				}
			}
		}
	})
	t.Run("ErrBodyNotJSON", func(t *testing.T) {
		resp, err := http.Post(srv.URL+"/admin/api/federation/hubs", "text/plain", strings.NewReader(`{"name":"csrf"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode < 400 || resp.StatusCode > 499 {
			t.Fatalf("text/plain body: %d, want 4xx", resp.StatusCode)
		}
	})
}

// TestHubAPIPlusHint: a "+" sent raw in a query string arrives as a space,
// so "…T09:00:00+00:00" reads "…T09:00:00 00:00"; the refusal says to send
// it as %2B, and only when a "+" there would have made the value good.
func TestHubAPIPlusHint(t *testing.T) {
	_, hub, dir, _ := newFederation(t, 1, federation.Config{})
	srv := httptest.NewServer((&federation.API{Hub: hub, Store: dir, Local: true}).Handler())
	t.Cleanup(srv.Close)
	day := time.Now().AddDate(0, 0, 1).Format(time.DateOnly)
	for name, c := range map[string]struct {
		query string
		hint  bool
	}{
		"ErrRawPlusInOffsets": {"start=" + day + "T09:00:00+00:00&end=" + day + "T17:00:00+01:00", true},
		"ErrRawPlusInEndOnly": {"start=" + day + "&end=" + day + "T17:00:00+00:00", true},
		"ErrRawPlusDays":      {"start=today&end=+2d", true},
		"ErrNoPlusToBlame":    {"start=" + day + "T09:00:00Z00&end=2026-13-01T17:00:00%2000:00", false},
	} {
		t.Run(name, func(t *testing.T) {
			resp, err := http.Get(srv.URL + "/hub/h/Slot?" + c.query)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 422 || !strings.Contains(string(body), "INVALID_PARAMETER") {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			if got := strings.Contains(string(body), "%2B"); got != c.hint {
				t.Fatalf("hint to send + as %%2B: %v, want %v: %s", got, c.hint, body)
			}
		})
	}
	t.Run("OK", func(t *testing.T) {
		q := url.Values{"start": {day + "T09:00:00+00:00"}, "end": {day + "T17:00:00+00:00"}}
		resp, err := http.Get(srv.URL + "/hub/h/Slot?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("the same search with %%2B: %d", resp.StatusCode)
		}
	})
}
