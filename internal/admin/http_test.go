package admin_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/admin"
	"github.com/slotbridge/slotbridge/internal/auth"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
	"github.com/slotbridge/slotbridge/provider"
)

// apiFx is the admin API and the GP Connect provider served together on
// loopback, as serve mounts them, over a store with demo data as at now.
type apiFx struct {
	*fx
	base  string
	token string
	other string // a token of another practice
}

func newAPIFx(t *testing.T, e storetest.Engine) *apiFx {
	t.Helper()
	f := newFxAt(t, e, time.Now(), true)
	log := slog.New(slog.DiscardHandler)
	prov := provider.New(f.st, &auth.Verifier{}, log, provider.Config{PracticeCacheTTL: time.Nanosecond})
	mux := http.NewServeMux()
	mux.Handle("/admin/api/", admin.NewHandler(f.svc, log))
	mux.Handle("/", prov.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { srv.Close(); prov.Close() })
	tok, _, err := f.svc.CreateToken(f.ctx, f.cli, ods, "api test")
	f.ok(err)
	other, _, err := f.svc.CreateToken(f.ctx, f.cli, "B82005", "other")
	f.ok(err)
	return &apiFx{fx: f, base: srv.URL, token: tok, other: other}
}

type call struct {
	method, path string
	token        string // "" = no Authorization header
	body         string
	ctype        string
}

func (a *apiFx) do(c call) (int, http.Header, map[string]any, []byte) {
	a.t.Helper()
	req, err := http.NewRequest(c.method, a.base+c.path, strings.NewReader(c.body))
	a.ok(err)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.ctype != "" {
		req.Header.Set("Content-Type", c.ctype)
	} else if c.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	a.ok(err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, resp.Header, m, b
}

const pp = "/admin/api/practices/A20047"

// TestAdminAPIErrors: every refusal is a JSON {"error", "code"} with the right 4xx.
func TestAdminAPIErrors(t *testing.T) {
	for _, e := range storetest.Engines(false) {
		t.Run(e.Name, func(t *testing.T) {
			a := newAPIFx(t, e)
			big := `{"name":"` + strings.Repeat("x", admin.MaxBody) + `"}`
			cases := []struct {
				name   string
				c      call
				status int
				code   string
			}{
				{"NoToken", call{"GET", pp + "/profiles", "", "", ""}, 401, "unauthorized"},
				{"NoTokenUnknownPath", call{"GET", "/admin/api/nothing", "", "", ""}, 401, "unauthorized"},
				{"BadToken", call{"GET", pp + "/profiles", "sbadm_1_wrong", "", ""}, 401, "unauthorized"},
				{"OtherPractice", call{"GET", "/admin/api/practices/B82005/profiles", a.token, "", ""}, 403, "forbidden"},
				{"OtherPracticesToken", call{"GET", pp + "/profiles", a.other, "", ""}, 403, "forbidden"},
				{"UnknownPractice", call{"GET", "/admin/api/practices/ZZZZZ9", a.token, "", ""}, 403, "forbidden"},
				{"UnknownPath", call{"GET", "/admin/api/nothing", a.token, "", ""}, 404, "not_found"},
				{"MethodNotAllowed", call{"DELETE", pp + "/profiles", a.token, "", ""}, 405, "method_not_allowed"},
				{"BadJSON", call{"POST", pp + "/profiles", a.token, `{"name":`, ""}, 400, "invalid_param"},
				{"WrongType", call{"POST", pp + "/profiles", a.token, `{"name":7}`, ""}, 400, "invalid_param"},
				{"UnknownField", call{"POST", pp + "/profiles", a.token, `{"name":"x","colour":"red"}`, ""}, 400, "invalid_param"},
				{"TrailingData", call{"POST", pp + "/profiles", a.token, `{"name":"x"} {}`, ""}, 400, "invalid_param"},
				{"EmptyBody", call{"POST", pp + "/profiles", a.token, ``, ""}, 400, "invalid_param"},
				{"NotAnObject", call{"POST", pp + "/profiles", a.token, `[1,2]`, ""}, 400, "invalid_param"},
				{"BadSpan", call{"POST", pp + "/profiles", a.token, `{"name":"x","embargo":"soon"}`, ""}, 400, "invalid_param"},
				{"TooLarge", call{"POST", pp + "/profiles", a.token, big, ""}, 413, "too_large"},
				{"WrongMediaType", call{"POST", pp + "/profiles", a.token, `{"name":"x"}`, "text/plain"}, 415, "unsupported_media_type"},
				{"Invalid", call{"POST", pp + "/profiles", a.token, `{"name":"x","org_types":["pharmacy"]}`, ""}, 422, "invalid"},
				{"Duplicate", call{"POST", pp + "/profiles", a.token, `{"name":"open"}`, ""}, 409, "duplicate"},
				{"BadID", call{"GET", pp + "/profiles/abc", a.token, "", ""}, 400, "invalid_param"},
				{"NoSuchProfile", call{"GET", pp + "/profiles/999999", a.token, "", ""}, 404, "not_found"},
				{"UnknownSessionAction", call{"POST", pp + "/sessions/1/explode", a.token, "", ""}, 404, "not_found"},
				{"ExplainNoPeriod", call{"GET", pp + "/explain", a.token, "", ""}, 400, "invalid_param"},
				{"ExplainBadTime", call{"GET", pp + "/explain?start=tomorrow&end=2026-01-01", a.token, "", ""}, 400, "invalid_param"},
				{"AuditBadLimit", call{"GET", pp + "/audit?limit=-1", a.token, "", ""}, 400, "invalid_param"},
				{"AuditLimitTooHigh", call{"GET", pp + "/audit?limit=1001", a.token, "", ""}, 400, "invalid_param"},
				{"SlotActionWithFields", call{"POST", pp + "/slots/1/unblock", a.token, `{"all":true}`, ""}, 400, "invalid_param"},
				{"ReleaseDaysWithoutTime", call{"POST", pp + "/profiles", a.token, `{"name":"r2","release_days_before":2}`, ""}, 422, "invalid"},
				{"SessionNotWholeSlots", call{"POST", pp + "/sessions", a.token, `{"date":"` + scheduling.FormatDate(time.Now().Add(72*time.Hour)) +
					`","start":"10:00","end":"10:25","slot_minutes":10,"location_id":1,"role":"R0260","service_category":"c","service_type":"t",` +
					`"channels":["In-person"],"access_profile_id":1}`, ""}, 422, "invalid"},
				{"SwitchesEmpty", call{"PATCH", pp + "/switches", a.token, `{}`, ""}, 422, "invalid"},
				{"EnableBadSwitch", call{"POST", pp + "/enable?switch=everything", a.token, "", ""}, 400, "invalid_param"},
				// enable and disable are as strict as every other action: a body or a
				// misspelt or repeated parameter must not fall back to "all".
				{"DisableWithBody", call{"POST", pp + "/disable", a.token, `{"switch":"service_filtering"}`, ""}, 400, "invalid_param"},
				{"DisableMisspeltParam", call{"POST", pp + "/disable?Switch=appointments", a.token, "", ""}, 400, "invalid_param"},
				{"DisableRepeatedSwitch", call{"POST", pp + "/disable?switch=service_filtering&switch=all", a.token, "", ""}, 400, "invalid_param"},
				// A template's weekday has no default: the zero weekday would be Sunday.
				{"TemplateWithoutWeekday", call{"POST", pp + "/templates", a.token, `{"name":"noday","practitioner_id":1,"location_id":1,"start":"09:00",` +
					`"end":"10:00","slot_minutes":10,"role":"R0260","service_category":"GP","service_type":"Routine","channels":["In-person"],"access_profile_id":1}`, ""}, 422, "invalid"},
				{"ProfileNameC1Control", call{"POST", pp + "/profiles", a.token, `{"name":"a\u0085b"}`, ""}, 422, "invalid"},
				{"ProfileNameBidiOverride", call{"POST", pp + "/profiles", a.token, `{"name":"a\u202eb"}`, ""}, 422, "invalid"},
				{"ProfileName101Characters", call{"POST", pp + "/profiles", a.token, `{"name":"` + strings.Repeat("é", 101) + `"}`, ""}, 422, "invalid"},
				// Every endpoint refuses query parameters it does not read, so that
				// nothing is answered or done as if they had been honoured.
				{"SessionsUnknownParam", call{"GET", pp + "/sessions?start=2026-12-01", a.token, "", ""}, 400, "invalid_param"},
				{"SessionsRepeatedFrom", call{"GET", pp + "/sessions?from=2026-12-01&from=2026-12-02", a.token, "", ""}, 400, "invalid_param"},
				{"AuditUnknownParam", call{"GET", pp + "/audit?actor=someone", a.token, "", ""}, 400, "invalid_param"},
				{"ProfilesListWithFilter", call{"GET", pp + "/profiles?bookable=false", a.token, "", ""}, 400, "invalid_param"},
				{"DeleteServiceWithParam", call{"DELETE", pp + "/services/1?force=true", a.token, "", ""}, 400, "invalid_param"},
				{"SessionActionWithParam", call{"POST", pp + "/sessions/1/cancel?notify=all", a.token, "", ""}, 400, "invalid_param"},
				{"SlotActionWithParam", call{"POST", pp + "/slots/1/block?until=never", a.token, "", ""}, 400, "invalid_param"},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					status, hdr, m, raw := a.do(c.c)
					if status != c.status || m["code"] != c.code || m["error"] == "" || m["error"] == nil {
						t.Fatalf("status %d code %v, want %d %s: %s", status, m["code"], c.status, c.code, raw)
					}
					if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
						t.Fatalf("Content-Type %q", ct)
					}
					if status == 401 && hdr.Get("WWW-Authenticate") == "" {
						t.Fatal("401 without WWW-Authenticate")
					}
					if status == 405 && hdr.Get("Allow") == "" {
						t.Fatal("405 without Allow")
					}
				})
			}
			// Two Authorization headers are refused in either order, not judged by the first.
			for _, order := range [][]string{{a.token, "sbadm_1_wrong"}, {"sbadm_1_wrong", a.token}, {a.token, a.token}} {
				req, err := http.NewRequest("GET", a.base+pp+"/profiles", nil)
				a.ok(err)
				for _, tok := range order {
					req.Header.Add("Authorization", "Bearer "+tok)
				}
				resp, err := http.DefaultClient.Do(req)
				a.ok(err)
				resp.Body.Close()
				if resp.StatusCode != 401 {
					t.Fatalf("two Authorization headers: %d, want 401", resp.StatusCode)
				}
			}
			// The refused actions did nothing: session 1 is not cancelled, slot 1 not blocked.
			if status, _, m, raw := a.do(call{"GET", pp + "/sessions/1", a.token, "", ""}); status != 200 || m["status"] == "cancelled" {
				t.Fatalf("session 1 after the refused cancel: %d %s", status, raw)
			}
			if status, _, m, raw := a.do(call{"GET", pp + "/slots/1", a.token, "", ""}); status != 200 || m["slot_blocked"] == true {
				t.Fatalf("slot 1 after the refused block: %d %s", status, raw)
			}
			// None of the refused switches changed anything.
			if status, _, m, raw := a.do(call{"GET", pp, a.token, "", ""}); status != 200 || m["gp_connect_enabled"] != true || m["appointments_enabled"] != true {
				t.Fatalf("after the refused switches: %d %s", status, raw)
			}
			// A name is measured in characters, not bytes: 100 of them fit.
			if status, _, _, raw := a.do(call{"POST", pp + "/profiles", a.token, `{"name":"` + strings.Repeat("é", 100) + `"}`, ""}); status != 201 {
				t.Fatalf("a 100-character name of 200 bytes: %d %s", status, raw)
			}
			// A zero-width joiner (emoji, Indic scripts) is text, not a control.
			if status, _, _, raw := a.do(call{"POST", pp + "/profiles", a.token, `{"name":"team \ud83d\udc69\u200d\ud83d\udcbb"}`, ""}); status != 201 {
				t.Fatalf("a name with a zero-width joiner: %d %s", status, raw)
			}
		})
	}
}

// TestAdminAPIFlow drives the API end to end over loopback and checks the
// effects through the GP Connect provider beside it.
func TestAdminAPIFlow(t *testing.T) {
	for _, e := range storetest.Engines(false) {
		t.Run(e.Name, func(t *testing.T) {
			a := newAPIFx(t, e)
			status, _, m, raw := a.do(call{"GET", pp, a.token, "", ""})
			if status != 200 || m["ods"] != "A20047" || m["gp_connect_enabled"] != true {
				t.Fatalf("practice: %d %s", status, raw)
			}
			status, _, m, raw = a.do(call{"POST", pp + "/profiles", a.token, `{"name":"111 only","org_types":["urgent-care"],"embargo":"1h"}`, ""})
			if status != 201 || m["embargo"] != "1h" {
				t.Fatalf("create profile: %d %s", status, raw)
			}
			pid := int64(m["id"].(float64))
			status, _, m, raw = a.do(call{"PATCH", pp + "/profiles/" + itoa(pid), a.token, `{"cap":5,"version":1}`, ""})
			if status != 200 || m["cap"] != float64(5) || m["version"] != float64(2) {
				t.Fatalf("patch profile: %d %s", status, raw)
			}
			if status, _, _, raw = a.do(call{"PATCH", pp + "/profiles/" + itoa(pid), a.token, `{"cap":6,"version":1}`, ""}); status != 409 {
				t.Fatalf("stale patch: %d %s", status, raw)
			}
			// A profile made in error is deleted; one in use is not.
			status, _, m, raw = a.do(call{"POST", pp + "/profiles", a.token, `{"name":"typo"}`, ""})
			if status != 201 {
				t.Fatalf("create profile: %d %s", status, raw)
			}
			typo := itoa(int64(m["id"].(float64)))
			if status, _, m, raw = a.do(call{"DELETE", pp + "/profiles/" + typo, a.token, "", ""}); status != 200 || m["name"] != "typo" {
				t.Fatalf("delete unused profile: %d %s", status, raw)
			}
			if status, _, m, raw = a.do(call{"GET", pp + "/profiles/" + typo, a.token, "", ""}); status != 404 || m["code"] != "not_found" {
				t.Fatalf("get deleted profile: %d %s", status, raw)
			}
			if status, _, m, raw = a.do(call{"DELETE", pp + "/profiles/" + itoa(a.open), a.token, "", ""}); status != 409 || m["code"] != "conflict" ||
				!strings.Contains(m["error"].(string), "is in use by") {
				t.Fatalf("delete profile in use: %d %s", status, raw)
			}
			if status, _, m, raw = a.do(call{"DELETE", pp + "/profiles/" + itoa(a.open), a.other, "", ""}); status != 403 || m["code"] != "forbidden" {
				t.Fatalf("delete with another practice's token: %d %s", status, raw)
			}

			date := scheduling.FormatDate(time.Now().Add(48 * time.Hour))
			body := `{"date":"` + date + `","start":"07:00","end":"08:00","slot_minutes":30,"location_id":1,"role":"R0260",
				"service_category":"Early","service_type":"Early slot","channels":["In-person"],"access_profile_id":` + itoa(pid) + `}`
			status, _, m, raw = a.do(call{"POST", pp + "/sessions", a.token, body, ""})
			if status != 201 || m["free"] != float64(2) {
				t.Fatalf("add session: %d %s", status, raw)
			}
			sid := int64(m["id"].(float64))

			// The new session is offered to urgent care only, through the provider too.
			start := scheduling.FormatLocal(scheduling.AtLocal(time.Now().Add(48*time.Hour), 7, 0))
			end := scheduling.FormatLocal(scheduling.AtLocal(time.Now().Add(48*time.Hour), 8, 0))
			for _, c := range []struct {
				orgType string
				want    int
			}{{"urgent-care", 2}, {"gp-practice", 0}} {
				got := a.explainOffered(start, end, c.orgType, "GPCA0001")
				slots, status := a.providerSearch(start, end, c.orgType, "GPCA0001")
				if status != 200 || got != c.want || slots != c.want {
					t.Fatalf("%s: explain %d, provider search %d (status %d), want %d", c.orgType, got, slots, status, c.want)
				}
			}

			status, _, m, raw = a.do(call{"GET", pp + "/sessions/" + itoa(sid), a.token, "", ""})
			if status != 200 || m["id"] != float64(sid) || m["free"] != float64(2) {
				t.Fatalf("get session: %d %s", status, raw)
			}
			// The session's slots, with the ids an admin blocks or moves.
			status, _, _, raw = a.do(call{"GET", pp + "/sessions/" + itoa(sid) + "/slots", a.token, "", ""})
			var sl []struct {
				ID        int64  `json:"id"`
				SessionID int64  `json:"session_id"`
				Status    string `json:"status"`
			}
			if status != 200 || json.Unmarshal(raw, &sl) != nil || len(sl) != 2 || sl[0].SessionID != sid || sl[0].Status != "free" || sl[0].ID >= sl[1].ID {
				t.Fatalf("session slots: %d %s", status, raw)
			}
			if status, _, m, raw = a.do(call{"GET", pp + "/sessions/" + itoa(sid) + "/slot", a.token, "", ""}); status != 404 || m["code"] != "not_found" {
				t.Fatalf("GET of another name under a session: %d %s", status, raw)
			}
			// Each sub-resource takes one method; another is 405 naming it.
			for _, c := range []struct{ method, sub, allow string }{{"POST", "/slots", "GET"}, {"GET", "/block", "POST"}, {"DELETE", "/cancel", "POST"}} {
				status, hdr, m, raw := a.do(call{c.method, pp + "/sessions/" + itoa(sid) + c.sub, a.token, "", ""})
				if status != 405 || hdr.Get("Allow") != c.allow || m["code"] != "method_not_allowed" {
					t.Fatalf("%s %s: %d Allow %q %s", c.method, c.sub, status, hdr.Get("Allow"), raw)
				}
			}
			if status, _, m, raw = a.do(call{"GET", pp + "/sessions/999999/slots", a.token, "", ""}); status != 404 {
				t.Fatalf("slots of an unknown session: %d %s", status, raw)
			}
			// An action that takes no body refuses fields, which it would ignore.
			if status, _, m, raw = a.do(call{"POST", pp + "/sessions/" + itoa(sid) + "/block", a.token, `{"reason":"training"}`, ""}); status != 400 || m["code"] != "invalid_param" {
				t.Fatalf("block with a body: %d %s", status, raw)
			}
			status, _, m, raw = a.do(call{"POST", pp + "/sessions/" + itoa(sid) + "/block", a.token, "{}", ""})
			if status != 200 || m["slots_changed"] != float64(2) {
				t.Fatalf("block session: %d %s", status, raw)
			}
			if slots, status := a.providerSearch(start, end, "urgent-care", "GPCA0001"); status != 200 || slots != 0 {
				t.Fatalf("blocked session: provider search status %d with %d slots, want 200 with none", status, slots)
			}
			status, _, _, raw = a.do(call{"POST", pp + "/sessions/" + itoa(sid) + "/cancel", a.token, "", ""})
			if status != 200 {
				t.Fatalf("cancel session: %d %s", status, raw)
			}
			status, _, m, raw = a.do(call{"GET", pp + "/sessions?from=" + date + "&to=" + date, a.token, "", ""})
			if status != 200 || !strings.Contains(string(raw), `"cancelled"`) {
				t.Fatalf("list sessions: %d %s", status, raw)
			}

			slot := a.scalar(`SELECT MIN(id) FROM slots WHERE schedule_id = ?`, a.openSession())
			for _, step := range []struct {
				path, body, status string
			}{{"/block", "", "busy-unavailable"}, {"/unblock", "", "free"}, {"/profile", `{"access_profile_id":` + itoa(pid) + `}`, "free"}} {
				status, _, m, raw = a.do(call{"POST", pp + "/slots/" + itoa(slot) + step.path, a.token, step.body, ""})
				if status != 200 || m["status"] != step.status {
					t.Fatalf("slot %s: %d %s", step.path, status, raw)
				}
			}

			status, _, m, raw = a.do(call{"GET", pp + "/slots/" + itoa(slot), a.token, "", ""})
			if status != 200 || m["access_profile_id"] != float64(pid) || m["id"] != float64(slot) {
				t.Fatalf("get slot: %d %s", status, raw)
			}

			// Templates: create, list, end.
			tpl := `{"name":"Sunday clinic","weekday":"sunday","start":"10:00","end":"11:00","slot_minutes":15,"location_id":1,
				"role":"R0260","service_category":"Clinic","service_type":"Clinic slot","channels":["Video"],"access_profile_id":` + itoa(a.open) + `}`
			status, _, m, raw = a.do(call{"POST", pp + "/templates", a.token, tpl, ""})
			if status != 201 || m["sessions_created"].(float64) < 1 {
				t.Fatalf("create template: %d %s", status, raw)
			}
			tid := int64(m["template"].(map[string]any)["id"].(float64))
			status, _, m, raw = a.do(call{"GET", pp + "/templates/" + itoa(tid), a.token, "", ""})
			if status != 200 || m["id"] != float64(tid) || m["name"] != "Sunday clinic" || m["active"] != true {
				t.Fatalf("get template: %d %s", status, raw)
			}
			status, _, m, raw = a.do(call{"DELETE", pp + "/templates/" + itoa(tid), a.token, "", ""})
			if status != 200 || m["template"].(map[string]any)["active"] != false {
				t.Fatalf("end template: %d %s", status, raw)
			}
			if status, _, m, raw = a.do(call{"GET", pp + "/templates/" + itoa(tid), a.token, "", ""}); status != 200 || m["active"] != false {
				t.Fatalf("get ended template: %d %s", status, raw)
			}
			if status, _, m, raw = a.do(call{"GET", pp + "/templates/999999", a.token, "", ""}); status != 404 || m["code"] != "not_found" {
				t.Fatalf("get unknown template: %d %s", status, raw)
			}

			// Switches: the provider answers 403 once GP Connect is off (its practice cache is 1 ns here, 2 s by default).
			if status, _, _, raw = a.do(call{"POST", pp + "/disable?switch=gp_connect", a.token, "", ""}); status != 200 {
				t.Fatalf("disable: %d %s", status, raw)
			}
			if _, status := a.providerSearch(start, end, "urgent-care", "GPCA0001"); status != 403 {
				t.Fatalf("provider search with GP Connect off: %d, want 403", status)
			}
			if status, _, m, raw = a.do(call{"PATCH", pp + "/switches", a.token, `{"gp_connect_enabled":true}`, ""}); status != 200 || m["gp_connect_enabled"] != true {
				t.Fatalf("enable: %d %s", status, raw)
			}
			if _, status := a.providerSearch(start, end, "urgent-care", "GPCA0001"); status != 200 {
				t.Fatalf("provider search with GP Connect on again: %d", status)
			}

			// Every change above is in the audit trail, by this token.
			status, _, _, raw = a.do(call{"GET", pp + "/audit?limit=50", a.token, "", ""})
			var entries []admin.AuditEntry
			a.ok(json.Unmarshal(raw, &entries))
			actions := map[string]bool{}
			for _, en := range entries {
				if strings.HasPrefix(en.Actor, "token:") {
					actions[en.Action] = true
				}
			}
			for _, want := range []string{"profile.create", "profile.update", "session.add", "session.block", "session.cancel", "slot.block",
				"slot.unblock", "slot.profile", "template.create", "template.end", "practice.switches"} {
				if !actions[want] {
					t.Errorf("audit has no %s by the token (status %d): %v", want, status, actions)
				}
			}
		})
	}
}

func (a *apiFx) explainOffered(start, end, orgType, consumer string) int {
	a.t.Helper()
	q := url.Values{"start": {start}, "end": {end}, "org_type": {orgType}, "consumer_ods": {consumer}}
	status, _, m, raw := a.do(call{"GET", pp + "/explain?" + q.Encode(), a.token, "", ""})
	if status != 200 {
		a.t.Fatalf("explain: %d %s", status, raw)
	}
	return int(m["offered"].(float64))
}

// providerSearch searches free slots through the GP Connect API and returns the Slot count and status.
func (a *apiFx) providerSearch(start, end, orgType, consumer string) (int, int) {
	a.t.Helper()
	b, status := a.providerSearchBody(start, end, orgType, consumer)
	return bytes.Count(b, []byte(`"resourceType":"Slot"`)), status
}

// providerSearchBody is providerSearch's Bundle, with every _include:recurse.
func (a *apiFx) providerSearchBody(start, end, orgType, consumer string) ([]byte, int) {
	a.t.Helper()
	q := url.Values{"start": {"ge" + start}, "end": {"le" + end}, "status": {"free"}, "_include": {"Slot:schedule"},
		"_include:recurse": {"Schedule:actor:Practitioner", "Schedule:actor:Location", "Location:managingOrganization"},
		"searchFilter":     {gpconnect.SystemODSOrganisation + "|" + consumer, gpconnect.SystemOrganisationType + "|" + orgType}}
	req, err := http.NewRequest("GET", a.base+"/A20047/STU3/1/gpconnect/Slot?"+q.Encode(), nil)
	a.ok(err)
	tok, err := auth.Mint(auth.DefaultTestIdentity(), gpconnect.SearchSlot.Scope(), time.Now())
	a.ok(err)
	req.Header.Set("Ssp-TraceID", "admin-test")
	req.Header.Set("Ssp-From", "200000000359")
	req.Header.Set("Ssp-To", "918999198993")
	req.Header.Set("Ssp-InteractionID", string(gpconnect.SearchSlot))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	a.ok(err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b, resp.StatusCode
}
