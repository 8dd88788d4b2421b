package admin_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/admin"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// TestPractitionersAndLocations: a practice admin adds a clinician and a
// site over the admin API, runs a template with them, and corrects them;
// the GP Connect slot search shows each change at once (the search's cached
// copy of practitioners and locations follows), every change is audited,
// and another practice's token reaches none of it.
func TestPractitionersAndLocations(t *testing.T) {
	for _, e := range storetest.Engines(false) {
		t.Run(e.Name, func(t *testing.T) {
			a := newAPIFx(t, e)
			expect := func(c call, want int, what string) map[string]any {
				t.Helper()
				status, _, m, raw := a.do(c)
				if status != want {
					t.Fatalf("%s: %d %s, want %d", what, status, raw, want)
				}
				return m
			}
			m := expect(call{"POST", pp + "/practitioners", a.token,
				`{"sds_user_id":" G12121212 ","family":"Locum","given":["Lee"],"prefix":["Dr"],"gender":"Female","role_profile_ids":["PT9999"]}`, ""}, 201, "create practitioner")
			if m["sds_user_id"] != "G12121212" || m["gender"] != "female" || m["version"] != float64(1) {
				t.Fatalf("created practitioner %v", m)
			}
			prac := itoa(int64(m["id"].(float64)))
			expect(call{"POST", pp + "/practitioners", a.token, `{"sds_user_id":"G12121212","family":"Other"}`, ""}, 409, "second practitioner with the SDS id")
			m = expect(call{"POST", pp + "/practitioners", a.token, `{"sds_user_id":"G 1","family":"  ","gender":"x","given":["a",""],"role_profile_ids":["PT1","PT1"]}`, ""}, 422, "bad practitioner")
			for _, want := range []string{"family is required", `sds_user_id "G 1"`, "gender", "given[1] is required", `"PT1" is given twice`} {
				if !strings.Contains(m["error"].(string), want) {
					t.Errorf("bad practitioner: %q does not say %q", m["error"], want)
				}
			}
			m = expect(call{"POST", pp + "/locations", a.token,
				`{"name":"Branch surgery","site_code":"z99999","phone":"0113 496 0000","address":{"lines":["1 High Street"],"city":"Leeds","postalCode":"ls1 4ap"}}`, ""}, 201, "create location")
			if m["site_code"] != "Z99999" || m["address"].(map[string]any)["postalCode"] != "LS1 4AP" {
				t.Fatalf("created location %v", m)
			}
			loc := itoa(int64(m["id"].(float64)))
			expect(call{"POST", pp + "/locations", a.token, `{"name":"x","phone":"call us"}`, ""}, 422, "location with a bad phone")
			expect(call{"POST", pp + "/locations", a.token, `{"site_code":"Z1"}`, ""}, 422, "location without a name")

			// Another practice's admin reaches neither list nor either record.
			for _, p := range []string{"/practitioners", "/practitioners/" + prac, "/locations", "/locations/" + loc} {
				expect(call{"GET", pp + p, a.other, "", ""}, 403, "B82005's token on "+p)
			}
			expect(call{"GET", "/admin/api/practices/B82005/practitioners/" + prac, a.other, "", ""}, 404, "A20047's practitioner under B82005")

			// A template runs with them, and the slot search shows both.
			tpl := `{"name":"Locum clinic","weekday":"sunday","start":"10:00","end":"11:00","slot_minutes":15,"location_id":` + loc +
				`,"practitioner_id":` + prac + `,"role":"R0260","service_category":"Clinic","service_type":"Clinic slot","channels":["In-person"],"access_profile_id":` + itoa(a.open) + `}`
			expect(call{"POST", pp + "/templates", a.token, tpl, ""}, 201, "template with the new clinician and site")
			start, end := time.Now().Format("2006-01-02"), time.Now().AddDate(0, 0, 13).Format("2006-01-02")
			search := func(want ...string) {
				t.Helper()
				b, status := a.providerSearchBody(start, end, "urgent-care", "A20047")
				for _, w := range want {
					if status != 200 || !bytes.Contains(b, []byte(w)) {
						t.Fatalf("slot search: %d, no %s in %.300s", status, w, b)
					}
				}
			}
			search(`"family":"Locum"`, `"name":"Branch surgery"`, `"value":"G12121212"`)

			// Corrections: stale versions refused, current ones shown at once.
			expect(call{"PATCH", pp + "/practitioners/" + prac, a.token, `{"family":"Locum-Smith","version":7}`, ""}, 409, "stale practitioner version")
			m = expect(call{"PATCH", pp + "/practitioners/" + prac, a.token, `{"family":"Locum-Smith","version":1}`, ""}, 200, "rename practitioner")
			if m["family"] != "Locum-Smith" || m["version"] != float64(2) || len(m["given"].([]any)) != 1 {
				t.Fatalf("renamed practitioner %v", m)
			}
			expect(call{"PATCH", pp + "/locations/" + loc, a.token, `{"name":"Branch Surgery North"}`, ""}, 200, "rename location")
			search(`"family":"Locum-Smith"`, `"name":"Branch Surgery North"`)
			m = expect(call{"GET", pp + "/locations/" + loc, a.token, "", ""}, 200, "read location")
			if m["version"] != float64(2) || m["address"].(map[string]any)["city"] != "Leeds" {
				t.Fatalf("location after rename %v", m)
			}

			_, _, _, raw := a.do(call{"GET", pp + "/audit?limit=20", a.token, "", ""})
			for _, want := range []string{`"practitioner.create"`, `"practitioner.update"`, `"location.create"`, `"location.update"`} {
				if !bytes.Contains(raw, []byte(want)) {
					t.Errorf("audit has no %s: %.400s", want, raw)
				}
			}
		})
	}
}

// TestAppointmentsAPI: the admin API lists a session's appointments and
// cancels one with a reason (POST …/appointments/{id}/cancel), refusing a
// body without one; unknown parameters are refused, not ignored.
func TestAppointmentsAPI(t *testing.T) {
	a := newAPIFx(t, storetest.Engines(false)[0])
	ses := a.openSession()
	slot := a.ids(`SELECT id FROM slots WHERE schedule_id = ? AND status = 'free' ORDER BY start_at LIMIT 1`, ses)[0]
	ap := a.book(slot)
	status, _, _, raw := a.do(call{"GET", pp + "/appointments?session=" + itoa(ses), a.token, "", ""})
	if status != 200 || !bytes.Contains(raw, []byte(`"id": `+itoa(ap.ID)+`,`)) || !bytes.Contains(raw, []byte(`"nhs_number": "9658218865"`)) {
		t.Fatalf("list: %d %s", status, raw)
	}
	if status, _, _, raw = a.do(call{"GET", pp + "/appointments?sesion=" + itoa(ses), a.token, "", ""}); status != 400 {
		t.Fatalf("misspelt parameter: %d %s, want 400", status, raw)
	}
	path := pp + "/appointments/" + itoa(ap.ID)
	if status, _, _, raw = a.do(call{"POST", path + "/cancel", a.token, `{}`, ""}); status != 422 {
		t.Fatalf("cancel without a reason: %d %s, want 422", status, raw)
	}
	if status, _, _, raw = a.do(call{"POST", path + "/cancel", a.other, `{"reason":"x"}`, ""}); status != 403 {
		t.Fatalf("another practice's token: %d %s, want 403", status, raw)
	}
	status, _, m, raw := a.do(call{"POST", path + "/cancel", a.token, `{"reason":"Clinician unwell"}`, ""})
	if status != 200 || m["status"] != "cancelled" || m["cancellation_reason"] != "Clinician unwell" {
		t.Fatalf("cancel: %d %s", status, raw)
	}
	if status, _, m, raw = a.do(call{"GET", path, a.token, "", ""}); status != 200 || m["status"] != "cancelled" {
		t.Fatalf("read after cancel: %d %s", status, raw)
	}
}

// TestCreatePractice: an operator adds a practice, switched off until its
// admins have set it up; its ODS code must be new and valid and its ASID
// given; a practice's own token can neither add practices nor list them.
func TestCreatePractice(t *testing.T) {
	for _, e := range storetest.Engines(false) {
		t.Run(e.Name, func(t *testing.T) {
			f := newFx(t, e)
			p, err := f.svc.CreatePractice(f.ctx, f.cli, admin.PracticeInput{ODS: " y12345 ", Name: "New Surgery", ASID: "918999100001",
				Address: scheduling.Address{Lines: []string{"1 Road"}, City: "Leeds", PostalCode: "ls1 1aa"}})
			f.ok(err)
			if p.ODS != "Y12345" || p.GPConnectEnabled || p.AppointmentsEnabled || p.ASID != "918999100001" {
				t.Fatalf("new practice %+v", p)
			}
			es, err := f.svc.Audit(f.ctx, f.cli, "Y12345", 1)
			f.ok(err)
			if len(es) != 1 || es[0].Action != "practice.create" || es[0].Target != "practice/Y12345" {
				t.Fatalf("the new practice's audit %+v", es)
			}
			// Its admins can set it up at once.
			if _, err := f.svc.CreateLocation(f.ctx, f.cli, "Y12345", admin.LocationInput{Name: ptr("Main site")}); err != nil {
				t.Fatalf("location at the new practice: %v", err)
			}
			for _, bad := range []struct {
				in   admin.PracticeInput
				code scheduling.Code
			}{
				{admin.PracticeInput{ODS: "Y12345", Name: "Again", ASID: "918999100002"}, scheduling.EDUPLICATE},
				{admin.PracticeInput{ODS: "R1A14", Name: "An existing organisation", ASID: "918999100002"}, scheduling.EDUPLICATE},
				{admin.PracticeInput{ODS: "Y1", Name: "Short code", ASID: "918999100002"}, scheduling.EINVALID},
				{admin.PracticeInput{ODS: "Y99999", Name: "Short ASID", ASID: "12"}, scheduling.EINVALID},
				{admin.PracticeInput{ODS: "Y99999", Name: "No ASID"}, scheduling.EINVALID},
				{admin.PracticeInput{ODS: "Y99999", ASID: "1"}, scheduling.EINVALID},
				{admin.PracticeInput{ODS: "Y99999", Name: "Copied ASID", ASID: "918999198993"}, scheduling.EDUPLICATE},
			} {
				if _, err := f.svc.CreatePractice(f.ctx, f.cli, bad.in); scheduling.ErrorCode(err) != bad.code {
					t.Errorf("%+v: %v, want %s", bad.in, err, bad.code)
				}
			}
			tokenActor := admin.Actor{Name: "token:1", PracticeID: f.org.ID}
			if _, err := f.svc.CreatePractice(f.ctx, tokenActor, admin.PracticeInput{ODS: "Y99999", Name: "x", ASID: "918999100002"}); scheduling.ErrorCode(err) != scheduling.EFORBIDDEN {
				t.Errorf("a practice token adding a practice: %v, want EFORBIDDEN", err)
			}
			if _, err := f.svc.Practices(f.ctx, tokenActor); scheduling.ErrorCode(err) != scheduling.EFORBIDDEN {
				t.Errorf("a practice token listing practices: %v, want EFORBIDDEN", err)
			}
			all, err := f.svc.Practices(f.ctx, f.cli)
			f.ok(err)
			var odss []string
			for _, p := range all {
				odss = append(odss, p.ODS)
			}
			if got := strings.Join(odss, " "); !strings.Contains(got, "A20047") || !strings.Contains(got, "Y12345") || strings.Contains(got, "R1A14") {
				t.Fatalf("practices %s: want every practice and no other organisation", got)
			}
		})
	}
}
