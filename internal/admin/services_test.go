package admin_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/admin"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// TestHealthcareServices runs the service-filtering admin cases on every engine, each on a fresh store.
func TestHealthcareServices(t *testing.T) {
	cases := []struct {
		name string
		fn   func(t *testing.T, f *fx)
	}{
		{"CRUD", testServiceCRUD},
		{"DeleteRefusedWhileInUse", testServiceDeleteInUse},
		{"TemplateServiceRefs", testTemplateServiceRefs},
		{"TemplateServiceChangeRelinksFutureSessions", testTemplateServiceRelink},
		{"SessionService", testSessionService},
		{"ServiceFilteringSwitch", testServiceFilteringSwitch},
		{"OtherPracticesToken", testServiceTokenScope},
		{"DeleteRacesLink", testServiceDeleteRacesLink},
	}
	for _, e := range storetest.Engines(false) {
		t.Run(e.Name, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) { c.fn(t, newFx(t, e)) })
			}
		})
	}
}

// service creates a healthcare service at ods.
func (f *fx) service(at, dosID, name string) admin.HealthcareService {
	f.t.Helper()
	h, err := f.svc.CreateHealthcareService(f.ctx, f.cli, at, admin.ServiceInput{DOSID: &dosID, Name: &name})
	f.ok(err)
	return h
}

// serviceOf reads a session's or an appointment's stored service link.
func (f *fx) serviceOf(table string, id int64) int64 {
	f.t.Helper()
	return f.scalar(`SELECT healthcare_service_id FROM `+table+` WHERE id = ?`, id)
}

func testServiceCRUD(t *testing.T, f *fx) {
	h := f.service(ods, " 990001 ", "Minor injuries")
	if h.ID <= 0 || h.DOSID != "990001" || h.Name != "Minor injuries" || h.Version != 1 || h.TemplateIDs == nil || len(h.TemplateIDs) != 0 {
		t.Fatalf("created %+v", h)
	}
	a := f.lastAudit()
	if a.Action != "service.create" || a.Target != "service/"+itoa(h.ID) || a.Before != nil || !strings.Contains(string(a.After), `"990001"`) {
		t.Fatalf("audit %+v", a)
	}
	other := f.service(ods, "990002", "Physiotherapy")

	t.Run("ErrInvalid", func(t *testing.T) {
		n := f.auditCount()
		for name, in := range map[string]admin.ServiceInput{
			"NoDOSID":        {Name: ptr("x")},
			"NoName":         {DOSID: ptr("990009")},
			"BlankName":      {DOSID: ptr("990009"), Name: ptr("  ")},
			"SpaceInDOSID":   {DOSID: ptr("99 0009"), Name: ptr("x")},
			"PipeInDOSID":    {DOSID: ptr("990|009"), Name: ptr("x")},
			"LongDOSID":      {DOSID: ptr(strings.Repeat("9", scheduling.MaxDOSID+1)), Name: ptr("x")},
			"ControlInName":  {DOSID: ptr("990009"), Name: ptr("a\x00b")},
			"NameTooLong":    {DOSID: ptr("990009"), Name: ptr(strings.Repeat("n", 201))},
			"NothingAtAll":   {},
			"NameOnlySpaces": {DOSID: ptr("990009"), Name: ptr("\t")},
		} {
			t.Run(name, func(t *testing.T) {
				_, err := f.svc.CreateHealthcareService(f.ctx, f.cli, ods, in)
				wantCode(t, err, scheduling.EINVALID)
			})
		}
		if f.auditCount() != n {
			t.Fatal("a refused service was audited")
		}
	})
	t.Run("ErrDuplicateDOSID", func(t *testing.T) {
		_, err := f.svc.CreateHealthcareService(f.ctx, f.cli, ods, admin.ServiceInput{DOSID: ptr("990001"), Name: ptr("again")})
		wantCode(t, err, scheduling.EDUPLICATE)
		// Another practice may list the same DOS id: uniqueness is per practice.
		f.service("B82005", "990001", "Minor injuries at B82005")
	})
	t.Run("GetAndList", func(t *testing.T) {
		got, err := f.svc.HealthcareService(f.ctx, f.cli, ods, h.ID)
		f.ok(err)
		if got.DOSID != "990001" || got.Version != 1 {
			t.Fatalf("read back %+v", got)
		}
		l, err := f.svc.HealthcareServices(f.ctx, f.cli, ods)
		f.ok(err)
		var ids []int64
		for _, s := range l {
			ids = append(ids, s.ID)
		}
		if !slices.IsSorted(ids) || !slices.Contains(ids, h.ID) || !slices.Contains(ids, other.ID) {
			t.Fatalf("list %+v", l)
		}
	})
	t.Run("Update", func(t *testing.T) {
		up, err := f.svc.UpdateHealthcareService(f.ctx, f.cli, ods, h.ID, admin.ServiceInput{Name: ptr("Minor injuries unit"), Version: ptr(int64(1))})
		f.ok(err)
		if up.Name != "Minor injuries unit" || up.DOSID != "990001" || up.Version != 2 {
			t.Fatalf("updated %+v", up)
		}
		a := f.lastAudit()
		var before, after map[string]any
		f.ok(json.Unmarshal(a.Before, &before))
		f.ok(json.Unmarshal(a.After, &after))
		if a.Action != "service.update" || before["name"] != "Minor injuries" || after["name"] != "Minor injuries unit" || after["version"] != float64(2) {
			t.Fatalf("audit %+v", a)
		}
		up, err = f.svc.UpdateHealthcareService(f.ctx, f.cli, ods, h.ID, admin.ServiceInput{DOSID: ptr("990011")})
		f.ok(err)
		if up.DOSID != "990011" || up.Name != "Minor injuries unit" || up.Version != 3 {
			t.Fatalf("new DOS id %+v", up)
		}
		n := f.auditCount()
		same, err := f.svc.UpdateHealthcareService(f.ctx, f.cli, ods, h.ID, admin.ServiceInput{DOSID: ptr("990011"), Name: ptr("Minor injuries unit")})
		f.ok(err)
		if same.Version != 3 || f.auditCount() != n {
			t.Fatalf("a no-op update changed the version (%d) or was audited", same.Version)
		}
	})
	t.Run("UpdateErrors", func(t *testing.T) {
		foreign := f.scalar(`SELECT MIN(id) FROM healthcare_services WHERE practice_id <> ?`, f.org.ID)
		for _, c := range []struct {
			name string
			id   int64
			in   admin.ServiceInput
			code scheduling.Code
		}{
			{"DuplicateDOSID", h.ID, admin.ServiceInput{DOSID: ptr("990002")}, scheduling.EDUPLICATE},
			{"Stale", h.ID, admin.ServiceInput{Name: ptr("x"), Version: ptr(int64(1))}, scheduling.ESTALE},
			{"Invalid", h.ID, admin.ServiceInput{DOSID: ptr("")}, scheduling.EINVALID},
			{"Unknown", 999999, admin.ServiceInput{Name: ptr("x")}, scheduling.ENOTFOUND},
			{"OtherPractices", foreign, admin.ServiceInput{Name: ptr("x")}, scheduling.ENOTFOUND},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := f.svc.UpdateHealthcareService(f.ctx, f.cli, ods, c.id, c.in)
				wantCode(t, err, c.code)
			})
		}
		_, err := f.svc.HealthcareService(f.ctx, f.cli, ods, foreign)
		wantCode(t, err, scheduling.ENOTFOUND)
		_, err = f.svc.DeleteHealthcareService(f.ctx, f.cli, ods, foreign)
		wantCode(t, err, scheduling.ENOTFOUND)
	})
	t.Run("Delete", func(t *testing.T) {
		gone, err := f.svc.DeleteHealthcareService(f.ctx, f.cli, ods, other.ID)
		f.ok(err)
		if gone.ID != other.ID || gone.DOSID != "990002" {
			t.Fatalf("deleted %+v", gone)
		}
		if a := f.lastAudit(); a.Action != "service.delete" || a.Target != "service/"+itoa(other.ID) || a.After != nil ||
			!strings.Contains(string(a.Before), `"990002"`) {
			t.Fatalf("audit %+v", a)
		}
		_, err = f.svc.HealthcareService(f.ctx, f.cli, ods, other.ID)
		wantCode(t, err, scheduling.ENOTFOUND)
		_, err = f.svc.DeleteHealthcareService(f.ctx, f.cli, ods, other.ID)
		wantCode(t, err, scheduling.ENOTFOUND)
		// Its DOS id is free again.
		f.service(ods, "990002", "Physiotherapy again")
	})
}

// testServiceDeleteInUse: a service that a template, a session or an
// appointment refers to is not deleted, and the refusal says how often it is
// referred to; appointments keep their service, so a booked one stays.
func testServiceDeleteInUse(t *testing.T, f *fx) {
	h := f.service(ods, "990101", "Minor injuries")
	in := f.withProfile(tplIn)
	in.ServiceID = &h.ID
	tc, err := f.svc.CreateTemplate(f.ctx, f.cli, ods, in)
	f.ok(err)
	if tc.Template.ServiceID != h.ID || tc.Created != 2 {
		t.Fatalf("template %+v", tc)
	}
	ses, err := f.svc.AddSession(f.ctx, f.cli, ods, admin.SessionInput{Date: f.tomorrow(), Start: "13:00", End: "14:00", SlotMinutes: 15, LocationID: 1,
		Role: "R0260", ServiceCategory: "Extra", ServiceType: "Extra slot", Channels: []string{"Telephone"}, AccessProfileID: f.open, ServiceID: h.ID})
	f.ok(err)
	appt := f.book(f.ids(`SELECT id FROM slots WHERE schedule_id = ? ORDER BY start_at`, ses.ID)[0])
	if got := f.serviceOf("appointments", appt.ID); got != h.ID {
		t.Fatalf("the appointment was booked under service %d, want %d", got, h.ID)
	}
	got, err := f.svc.HealthcareService(f.ctx, f.cli, ods, h.ID)
	f.ok(err)
	if !slices.Equal(got.TemplateIDs, []int64{tc.Template.ID}) {
		t.Fatalf("linked templates %v, want [%d]", got.TemplateIDs, tc.Template.ID)
	}

	refused := func(uses int) {
		t.Helper()
		n := f.auditCount()
		_, err := f.svc.DeleteHealthcareService(f.ctx, f.cli, ods, h.ID)
		wantCode(t, err, scheduling.ECONFLICT)
		if msg := scheduling.ErrorMessage(err); !strings.Contains(msg, itoa(int64(uses))+" time(s)") {
			t.Fatalf("message %q does not say it is referred to %d time(s)", msg, uses)
		}
		if f.auditCount() != n {
			t.Fatal("a refused delete was audited")
		}
		if _, err := f.svc.HealthcareService(f.ctx, f.cli, ods, h.ID); err != nil {
			t.Fatalf("the service is gone after a refused delete: %v", err)
		}
	}
	// The template, its two sessions, the one-off session and the appointment.
	refused(5)
	_, err = f.svc.UpdateTemplate(f.ctx, f.cli, ods, tc.Template.ID, admin.TemplateInput{ServiceID: ptr(int64(0))})
	f.ok(err)
	refused(2)
	_, err = f.svc.SetSessionService(f.ctx, f.cli, ods, ses.ID, 0)
	f.ok(err)
	refused(1) // the appointment keeps the service it was booked under

	// A service whose links are all undone can go.
	h2 := f.service(ods, "990102", "Short-lived")
	in.Name, in.ServiceID = ptr("Short-lived template"), &h2.ID
	in.Start, in.End = ptr("19:00"), ptr("20:00") // its practitioner works 18:00-19:00 under the first
	tc2, err := f.svc.CreateTemplate(f.ctx, f.cli, ods, in)
	f.ok(err)
	_, err = f.svc.DeleteHealthcareService(f.ctx, f.cli, ods, h2.ID)
	wantCode(t, err, scheduling.ECONFLICT)
	_, err = f.svc.UpdateTemplate(f.ctx, f.cli, ods, tc2.Template.ID, admin.TemplateInput{ServiceID: ptr(int64(0))})
	f.ok(err)
	_, err = f.svc.DeleteHealthcareService(f.ctx, f.cli, ods, h2.ID)
	f.ok(err)
}

// testTemplateServiceRefs: a template or one-off session can only link to a service of its own practice.
func testTemplateServiceRefs(t *testing.T, f *fx) {
	mine := f.service(ods, "990201", "Mine")
	foreign := f.service("B82005", "990202", "Theirs")
	tc, err := f.svc.CreateTemplate(f.ctx, f.cli, ods, f.withProfile(tplIn))
	f.ok(err)
	if tc.Template.ServiceID != 0 {
		t.Fatalf("a template created without service_id is linked to %d", tc.Template.ServiceID)
	}
	for _, c := range []struct {
		name string
		id   int64
		want string
	}{
		{"Unknown", 999999, "999999"},
		{"OtherPractices", foreign.ID, itoa(foreign.ID)},
		{"Negative", -1, "service_id"},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := f.auditCount()
			in := f.withProfile(tplIn)
			in.Name, in.ServiceID = ptr("bad "+c.name), ptr(c.id)
			_, err := f.svc.CreateTemplate(f.ctx, f.cli, ods, in)
			wantCode(t, err, scheduling.EINVALID)
			if !strings.Contains(scheduling.ErrorMessage(err), c.want) {
				t.Errorf("create: message %q does not mention %q", scheduling.ErrorMessage(err), c.want)
			}
			_, err = f.svc.UpdateTemplate(f.ctx, f.cli, ods, tc.Template.ID, admin.TemplateInput{ServiceID: ptr(c.id)})
			wantCode(t, err, scheduling.EINVALID)
			_, err = f.svc.AddSession(f.ctx, f.cli, ods, admin.SessionInput{Date: f.tomorrow(), Start: "13:00", End: "14:00", SlotMinutes: 15,
				LocationID: 1, Role: "R0260", ServiceCategory: "Extra", ServiceType: "Extra slot", Channels: []string{"Telephone"},
				AccessProfileID: f.open, ServiceID: c.id})
			wantCode(t, err, scheduling.EINVALID)
			_, err = f.svc.SetSessionService(f.ctx, f.cli, ods, f.openSession(), c.id)
			wantCode(t, err, scheduling.EINVALID)
			if f.auditCount() != n {
				t.Fatal("a refused link was audited")
			}
		})
	}
	in := f.withProfile(tplIn)
	in.Name, in.ServiceID = ptr("linked"), &mine.ID
	in.Start, in.End = ptr("20:00"), ptr("21:00") // beside the other templates of its practitioner
	linked, err := f.svc.CreateTemplate(f.ctx, f.cli, ods, in)
	f.ok(err)
	for _, id := range f.ids(`SELECT id FROM schedules WHERE template_id = ?`, linked.Template.ID) {
		if got := f.serviceOf("schedules", id); got != mine.ID {
			t.Fatalf("session %d of a linked template has service %d, want %d", id, got, mine.ID)
		}
	}
	l, err := f.svc.Templates(f.ctx, f.cli, ods)
	f.ok(err)
	for _, tpl := range l {
		if tpl.ID == linked.Template.ID && tpl.ServiceID != mine.ID {
			t.Fatalf("template list shows service %d, want %d", tpl.ServiceID, mine.ID)
		}
	}
}

// testTemplateServiceRelink: a template's new service is not a shape
// change: its sessions not yet started are relinked in place (bookings and
// all), the one under way keeps its service, and so does every appointment.
func testTemplateServiceRelink(t *testing.T, f *fx) {
	a := f.service(ods, "990301", "Service A")
	b := f.service(ods, "990302", "Service B")
	in := f.withProfile(tplIn)
	// Wednesdays 09:00 to 12:00: today's session (25 March) is under way at 10:00, 1 April's is to come.
	in.Name, in.Weekday, in.Start, in.End, in.ServiceID = ptr("Wednesday morning"), ptr("wed"), ptr("09:00"), ptr("12:00"), &a.ID
	tc, err := f.svc.CreateTemplate(f.ctx, f.cli, ods, in)
	f.ok(err)
	sessions := f.ids(`SELECT id FROM schedules WHERE template_id = ? ORDER BY start_at`, tc.Template.ID)
	if len(sessions) != 2 {
		t.Fatalf("sessions %v, want today's and next Wednesday's", sessions)
	}
	started, future := sessions[0], sessions[1]
	if start := f.scalar(`SELECT start_at FROM schedules WHERE id = ?`, started); start > f.now.Unix() {
		t.Fatalf("session %d starts after now; the test needs one under way", started)
	}
	appt := f.book(f.ids(`SELECT id FROM slots WHERE schedule_id = ? ORDER BY start_at`, future)[0])

	up, err := f.svc.UpdateTemplate(f.ctx, f.cli, ods, tc.Template.ID, admin.TemplateInput{ServiceID: &b.ID})
	f.ok(err)
	if up.Template.ServiceID != b.ID || len(up.Retired) != 0 || len(up.Kept) != 0 || up.Created != 0 {
		t.Fatalf("service change %+v: want no retired, kept or new sessions", up)
	}
	for _, c := range []struct {
		what  string
		table string
		id    int64
		want  int64
	}{
		{"session under way", "schedules", started, a.ID},
		{"session to come", "schedules", future, b.ID},
		{"appointment", "appointments", appt.ID, a.ID},
	} {
		if got := f.serviceOf(c.table, c.id); got != c.want {
			t.Errorf("%s %d: service %d, want %d", c.what, c.id, got, c.want)
		}
	}
	if n := f.scalar(`SELECT COUNT(*) FROM appointments WHERE id = ? AND status = 'booked'`, appt.ID); n != 1 {
		t.Fatal("the booked appointment was touched")
	}
	ss, err := f.svc.Sessions(f.ctx, f.cli, ods, f.now.Add(-24*time.Hour), f.now.Add(10*24*time.Hour))
	f.ok(err)
	for _, s := range ss {
		if s.ID == future && s.ServiceID != b.ID {
			t.Fatalf("session view %+v, want service_id %d", s, b.ID)
		}
	}
	au := f.lastAudit()
	if au.Action != "template.update" || !strings.Contains(au.Detail, "relinked to healthcare service "+itoa(b.ID)) ||
		!strings.Contains(string(au.Before), `"service_id":`+itoa(a.ID)) || !strings.Contains(string(au.After), `"service_id":`+itoa(b.ID)) {
		t.Fatalf("audit %+v", au)
	}
	// Sessions made later follow the template's new service.
	_, err = f.st.Materialise(f.ctx, f.org.ID, scheduling.LocalMidnight(f.now), f.now.Add(20*24*time.Hour))
	f.ok(err)
	later := f.ids(`SELECT id FROM schedules WHERE template_id = ? ORDER BY start_at`, tc.Template.ID)
	if len(later) != 3 || f.serviceOf("schedules", later[2]) != b.ID {
		t.Fatalf("sessions after a top-up %v; the new one should have service %d", later, b.ID)
	}
}

// testSessionService: a session moves to another service, or to none; its
// appointments keep theirs; a session that is over keeps its own.
func testSessionService(t *testing.T, f *fx) {
	a := f.service(ods, "990401", "Service A")
	b := f.service(ods, "990402", "Service B")
	s, err := f.svc.AddSession(f.ctx, f.cli, ods, admin.SessionInput{Date: f.tomorrow(), Start: "13:00", End: "14:00", SlotMinutes: 15, LocationID: 1,
		Role: "R0260", ServiceCategory: "Extra", ServiceType: "Extra slot", Channels: []string{"Telephone"}, AccessProfileID: f.open, ServiceID: a.ID})
	f.ok(err)
	if s.ServiceID != a.ID || f.serviceOf("schedules", s.ID) != a.ID {
		t.Fatalf("one-off session %+v, want service %d", s, a.ID)
	}
	if au := f.lastAudit(); !strings.Contains(string(au.After), `"service_id":`+itoa(a.ID)) {
		t.Fatalf("session.add audit %+v lacks the service", au)
	}
	appt := f.book(f.ids(`SELECT id FROM slots WHERE schedule_id = ? ORDER BY start_at`, s.ID)[0])

	for _, step := range []struct {
		to      int64
		audited bool
	}{{b.ID, true}, {b.ID, false}, {0, true}} {
		n := f.auditCount()
		ch, err := f.svc.SetSessionService(f.ctx, f.cli, ods, s.ID, step.to)
		f.ok(err)
		if ch.Session.ServiceID != step.to || f.serviceOf("schedules", s.ID) != step.to || ch.Changed != 0 {
			t.Fatalf("to %d: change %+v", step.to, ch)
		}
		if audited := f.auditCount() != n; audited != step.audited {
			t.Fatalf("to %d: audited %v, want %v", step.to, audited, step.audited)
		}
		if step.audited {
			if !slices.Equal(ch.KeptBooked, []int64{appt.ID}) {
				t.Fatalf("to %d: kept %v, want the booking %d", step.to, ch.KeptBooked, appt.ID)
			}
			if au := f.lastAudit(); au.Action != "session.service" || au.Target != "session/"+itoa(s.ID) ||
				!strings.Contains(string(au.After), `"service_id":`+itoa(step.to)) {
				t.Fatalf("audit %+v", au)
			}
		}
		if got := f.serviceOf("appointments", appt.ID); got != a.ID {
			t.Fatalf("the appointment moved to service %d; it was booked under %d", got, a.ID)
		}
	}
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := f.svc.SetSessionService(f.ctx, f.cli, ods, f.scalar(`SELECT MIN(id) FROM schedules WHERE practice_id <> ?`, f.org.ID), a.ID)
		wantCode(t, err, scheduling.ENOTFOUND)
	})
	t.Run("ErrSessionOver", func(t *testing.T) {
		in := f.withProfile(tplIn)
		in.Name, in.Weekday, in.Start, in.End = ptr("Early Wednesday"), ptr("wed"), ptr("08:00"), ptr("09:00")
		tc, err := f.svc.CreateTemplate(f.ctx, f.cli, ods, in)
		f.ok(err)
		over := f.scalar(`SELECT id FROM schedules WHERE template_id = ? AND end_at <= ?`, tc.Template.ID, f.now.Unix())
		_, err = f.svc.SetSessionService(f.ctx, f.cli, ods, over, a.ID)
		wantCode(t, err, scheduling.EINVALID)
		if f.serviceOf("schedules", over) != 0 {
			t.Fatal("a session that is over was relinked")
		}
	})
}

// testServiceFilteringSwitch: the organisation switch is set on its own, is
// audited, and the practice view shows it with the status consumers get,
// which the supplier switch can hold off.
func testServiceFilteringSwitch(t *testing.T, f *fx) {
	// The demo may have it either way: start from off.
	p, err := f.svc.SetSwitches(f.ctx, f.cli, ods, admin.Switches{ServiceFiltering: ptr(false)})
	f.ok(err)
	if p.ServiceFiltering || p.ServiceFilteringStatus != scheduling.FilteringOrganisationDisabled {
		t.Fatalf("%+v: want the switch off", p)
	}
	if p, err = f.svc.Practice(f.ctx, f.cli, ods); err != nil || p.ServiceFiltering {
		t.Fatalf("practice view %+v (%v): want the switch off", p, err)
	}
	all, err := admin.SwitchesFor("all", true)
	f.ok(err)
	if all.ServiceFiltering != nil {
		t.Fatal(`"all" reaches the service-filtering switch`)
	}
	on, err := admin.SwitchesFor("service-filtering", true)
	f.ok(err)
	if on.GPConnect != nil || on.Appointments != nil || on.ServiceFiltering == nil || !*on.ServiceFiltering {
		t.Fatalf("service_filtering switches %+v", on)
	}
	p, err = f.svc.SetSwitches(f.ctx, f.cli, ods, on)
	f.ok(err)
	if !p.ServiceFiltering || p.ServiceFilteringStatus != scheduling.FilteringEnabled || !p.GPConnectEnabled || !p.AppointmentsEnabled {
		t.Fatalf("after on: %+v", p)
	}
	org, err := f.st.OrganisationByODS(f.ctx, ods)
	f.ok(err)
	if !org.ServiceFiltering || org.Version != p.Version {
		t.Fatalf("stored %+v, view version %d", org, p.Version)
	}
	a := f.lastAudit()
	var before, after admin.Practice
	f.ok(json.Unmarshal(a.Before, &before))
	f.ok(json.Unmarshal(a.After, &after))
	if a.Action != "practice.switches" || a.Target != "practice/"+ods || before.ServiceFiltering || !after.ServiceFiltering ||
		after.ServiceFilteringStatus != scheduling.FilteringEnabled {
		t.Fatalf("audit %+v", a)
	}
	n := f.auditCount()
	if _, err = f.svc.SetSwitches(f.ctx, f.cli, ods, on); err != nil || f.auditCount() != n {
		t.Fatalf("switching it on again: err %v, audited %v", err, f.auditCount() != n)
	}

	for _, c := range []struct {
		name     string
		supplier string
		want     scheduling.ServiceFilteringStatus
	}{
		{"SupplierOn", "on", scheduling.FilteringEnabled},
		{"SupplierOff", "off", scheduling.FilteringSupplierDisabled},
		{"SelectedElsewhere", "B82005,Y11111", scheduling.FilteringSupplierDisabled},
		{"SelectedHere", "b82005, a20047", scheduling.FilteringEnabled},
	} {
		t.Run(c.name, func(t *testing.T) {
			sup, err := scheduling.ParseSupplierFiltering(c.supplier)
			f.ok(err)
			f.svc.Supplier = sup
			defer func() { f.svc.Supplier = scheduling.SupplierFiltering{} }()
			p, err := f.svc.Practice(f.ctx, f.cli, ods)
			f.ok(err)
			if !p.ServiceFiltering || p.ServiceFilteringStatus != c.want {
				t.Fatalf("%+v, want the switch on and status %s", p, c.want)
			}
		})
	}

	off, _ := admin.SwitchesFor("service_filtering", false)
	p, err = f.svc.SetSwitches(f.ctx, f.cli, ods, off)
	f.ok(err)
	if p.ServiceFiltering || p.ServiceFilteringStatus != scheduling.FilteringOrganisationDisabled || !p.GPConnectEnabled {
		t.Fatalf("after off: %+v", p)
	}
	if a := f.lastAudit(); a.Action != "practice.switches" || !strings.Contains(string(a.After), `"service_filtering":false`) {
		t.Fatalf("audit %+v", a)
	}
	// Turning GP Connect off leaves the service-filtering switch as it is.
	f.ok(func() error { _, err := f.svc.SetSwitches(f.ctx, f.cli, ods, on); return err }())
	p, err = f.svc.SetSwitches(f.ctx, f.cli, ods, admin.Switches{GPConnect: ptr(false)})
	f.ok(err)
	if p.GPConnectEnabled || !p.ServiceFiltering {
		t.Fatalf("after gp_connect off: %+v", p)
	}
}

// testServiceTokenScope: a token of another practice reaches none of this
// practice's services, and this practice's service ids mean nothing at its own.
func testServiceTokenScope(t *testing.T, f *fx) {
	h := f.service(ods, "990501", "Minor injuries")
	tok, _, err := f.svc.CreateToken(f.ctx, f.cli, "B82005", "other")
	f.ok(err)
	other, err := f.svc.Authenticate(f.ctx, tok)
	f.ok(err)
	n := f.auditCount()
	for name, call := range map[string]func() error{
		"List": func() error { _, err := f.svc.HealthcareServices(f.ctx, other, ods); return err },
		"Get":  func() error { _, err := f.svc.HealthcareService(f.ctx, other, ods, h.ID); return err },
		"Create": func() error {
			_, err := f.svc.CreateHealthcareService(f.ctx, other, ods, admin.ServiceInput{DOSID: ptr("1"), Name: ptr("x")})
			return err
		},
		"Update": func() error {
			_, err := f.svc.UpdateHealthcareService(f.ctx, other, ods, h.ID, admin.ServiceInput{Name: ptr("x")})
			return err
		},
		"Delete": func() error { _, err := f.svc.DeleteHealthcareService(f.ctx, other, ods, h.ID); return err },
		"SessionService": func() error {
			_, err := f.svc.SetSessionService(f.ctx, other, ods, f.openSession(), h.ID)
			return err
		},
		"Switch": func() error {
			_, err := f.svc.SetSwitches(f.ctx, other, ods, admin.Switches{ServiceFiltering: ptr(true)})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) { wantCode(t, call(), scheduling.EFORBIDDEN) })
	}
	_, err = f.svc.HealthcareService(f.ctx, other, "B82005", h.ID)
	wantCode(t, err, scheduling.ENOTFOUND)
	_, err = f.svc.DeleteHealthcareService(f.ctx, other, "B82005", h.ID)
	wantCode(t, err, scheduling.ENOTFOUND)
	if f.auditCount() != n {
		t.Fatal("a refused call was audited")
	}
	if _, err := f.svc.HealthcareService(f.ctx, f.cli, ods, h.ID); err != nil {
		t.Fatalf("the service is gone: %v", err)
	}
}

// TestAdminAPIServices drives healthcare services, their links and the
// service-filtering switch through the JSON API, with a token per practice.
func TestAdminAPIServices(t *testing.T) {
	for _, e := range storetest.Engines(false) {
		t.Run(e.Name, func(t *testing.T) {
			a := newAPIFx(t, e)
			status, _, m, raw := a.do(call{"POST", pp + "/services", a.token, `{"dos_id":"990601","name":"Minor injuries"}`, ""})
			if status != 201 || m["dos_id"] != "990601" || m["version"] != float64(1) {
				t.Fatalf("create service: %d %s", status, raw)
			}
			sid := int64(m["id"].(float64))
			svcPath := pp + "/services/" + itoa(sid)
			foreign := a.service("B82005", "990609", "Theirs")

			for _, c := range []struct {
				name   string
				c      call
				status int
				code   string
			}{
				{"DuplicateDOSID", call{"POST", pp + "/services", a.token, `{"dos_id":"990601","name":"again"}`, ""}, 409, "duplicate"},
				{"NoName", call{"POST", pp + "/services", a.token, `{"dos_id":"990602"}`, ""}, 422, "invalid"},
				{"UnknownField", call{"POST", pp + "/services", a.token, `{"dos_id":"990602","name":"x","ods":"A20047"}`, ""}, 400, "invalid_param"},
				{"BadDOSIDOnUpdate", call{"PATCH", svcPath, a.token, `{"dos_id":"has space"}`, ""}, 422, "invalid"},
				{"Stale", call{"PATCH", svcPath, a.token, `{"name":"x","version":7}`, ""}, 409, "stale"},
				{"NoSuchService", call{"GET", pp + "/services/999999", a.token, "", ""}, 404, "not_found"},
				{"BadID", call{"DELETE", pp + "/services/x", a.token, "", ""}, 400, "invalid_param"},
				{"MethodNotAllowed", call{"PUT", svcPath, a.token, `{"name":"x"}`, ""}, 405, "method_not_allowed"},
				{"OtherPracticesTokenList", call{"GET", pp + "/services", a.other, "", ""}, 403, "forbidden"},
				{"OtherPracticesTokenCreate", call{"POST", pp + "/services", a.other, `{"dos_id":"1","name":"x"}`, ""}, 403, "forbidden"},
				{"OtherPracticesTokenDelete", call{"DELETE", svcPath, a.other, "", ""}, 403, "forbidden"},
				{"OtherPracticesTokenSwitch", call{"PATCH", pp + "/switches", a.other, `{"service_filtering":true}`, ""}, 403, "forbidden"},
				{"ThisServiceAtOtherPractice", call{"GET", "/admin/api/practices/B82005/services/" + itoa(sid), a.other, "", ""}, 404, "not_found"},
				{"TokenAtOtherPractice", call{"GET", "/admin/api/practices/B82005/services", a.token, "", ""}, 403, "forbidden"},
				{"TemplateUnknownService", call{"POST", pp + "/templates", a.token, `{"name":"bad","weekday":"sunday","start":"10:00","end":"11:00",
					"slot_minutes":15,"location_id":1,"role":"R0260","service_category":"C","service_type":"T","channels":["Video"],
					"access_profile_id":` + itoa(a.open) + `,"service_id":999999}`, ""}, 422, "invalid"},
				{"SessionServiceNoBody", call{"POST", pp + "/sessions/" + itoa(a.openSession()) + "/service", a.token, `{}`, ""}, 400, "invalid_param"},
				{"SessionForeignService", call{"POST", pp + "/sessions/" + itoa(a.openSession()) + "/service", a.token,
					`{"service_id":` + itoa(foreign.ID) + `}`, ""}, 422, "invalid"},
				{"ForeignServiceHere", call{"GET", pp + "/services/" + itoa(foreign.ID), a.token, "", ""}, 404, "not_found"},
			} {
				t.Run(c.name, func(t *testing.T) {
					status, _, m, raw := a.do(c.c)
					if status != c.status || m["code"] != c.code {
						t.Fatalf("status %d code %v, want %d %s: %s", status, m["code"], c.status, c.code, raw)
					}
				})
			}

			status, _, m, raw = a.do(call{"PATCH", svcPath, a.token, `{"name":"Minor injuries unit","version":1}`, ""})
			if status != 200 || m["name"] != "Minor injuries unit" || m["dos_id"] != "990601" || m["version"] != float64(2) {
				t.Fatalf("patch service: %d %s", status, raw)
			}

			// A template and a one-off session linked to the service. The
			// template's weekday is never today's: a session of today that has
			// started keeps its service when the template is unlinked, so on
			// that weekday the service could not be deleted below.
			weekday := strings.ToLower(time.Now().Add(48 * time.Hour).In(scheduling.London).Weekday().String())
			tpl := `{"name":"Clinic","weekday":"` + weekday + `","start":"10:00","end":"11:00","slot_minutes":15,"location_id":1,
				"role":"R0260","service_category":"Clinic","service_type":"Clinic slot","channels":["Video"],"access_profile_id":` + itoa(a.open) +
				`,"service_id":` + itoa(sid) + `}`
			status, _, m, raw = a.do(call{"POST", pp + "/templates", a.token, tpl, ""})
			if status != 201 || m["template"].(map[string]any)["service_id"] != float64(sid) {
				t.Fatalf("create linked template: %d %s", status, raw)
			}
			tid := int64(m["template"].(map[string]any)["id"].(float64))
			date := scheduling.FormatDate(time.Now().Add(48 * time.Hour))
			body := `{"date":"` + date + `","start":"07:00","end":"08:00","slot_minutes":30,"location_id":1,"role":"R0260",
				"service_category":"Early","service_type":"Early slot","channels":["In-person"],"access_profile_id":` + itoa(a.open) +
				`,"service_id":` + itoa(sid) + `}`
			status, _, m, raw = a.do(call{"POST", pp + "/sessions", a.token, body, ""})
			if status != 201 || m["service_id"] != float64(sid) {
				t.Fatalf("add linked session: %d %s", status, raw)
			}
			sess := int64(m["id"].(float64))

			status, _, m, raw = a.do(call{"GET", svcPath, a.token, "", ""})
			if status != 200 || !strings.Contains(string(raw), `"template_ids": [`) || len(m["template_ids"].([]any)) != 1 ||
				m["template_ids"].([]any)[0] != float64(tid) {
				t.Fatalf("get service: %d %s", status, raw)
			}
			status, _, m, raw = a.do(call{"DELETE", svcPath, a.token, "", ""})
			if status != 409 || m["code"] != "conflict" || !strings.Contains(m["error"].(string), "time(s)") {
				t.Fatalf("delete a linked service: %d %s", status, raw)
			}

			status, _, m, raw = a.do(call{"POST", pp + "/sessions/" + itoa(sess) + "/service", a.token, `{"service_id":0}`, ""})
			if status != 200 || m["session"].(map[string]any)["service_id"] != float64(0) {
				t.Fatalf("unlink session: %d %s", status, raw)
			}
			status, _, m, raw = a.do(call{"PATCH", pp + "/templates/" + itoa(tid), a.token, `{"service_id":0}`, ""})
			if status != 200 || m["template"].(map[string]any)["service_id"] != float64(0) || len(m["retired_sessions"].([]any)) != 0 {
				t.Fatalf("unlink template: %d %s", status, raw)
			}
			status, _, m, raw = a.do(call{"DELETE", svcPath, a.token, "", ""})
			if status != 200 || m["id"] != float64(sid) {
				t.Fatalf("delete an unlinked service: %d %s", status, raw)
			}
			status, _, m, raw = a.do(call{"GET", pp + "/services", a.token, "", ""})
			if status != 200 || strings.Contains(string(raw), "990601") {
				t.Fatalf("list after delete: %d %s", status, raw)
			}

			// The organisation switch, through PATCH /switches and POST /disable?switch=service_filtering.
			status, _, m, raw = a.do(call{"PATCH", pp + "/switches", a.token, `{"service_filtering":true}`, ""})
			if status != 200 || m["service_filtering"] != true || m["service_filtering_status"] != "enabled" {
				t.Fatalf("switch on: %d %s", status, raw)
			}
			status, _, m, raw = a.do(call{"POST", pp + "/disable?switch=service_filtering", a.token, "", ""})
			if status != 200 || m["service_filtering"] != false || m["service_filtering_status"] != "organization-disabled" || m["gp_connect_enabled"] != true {
				t.Fatalf("switch off: %d %s", status, raw)
			}
			status, _, m, raw = a.do(call{"GET", pp, a.token, "", ""})
			if status != 200 || m["service_filtering"] != false || m["service_filtering_status"] != "organization-disabled" {
				t.Fatalf("practice: %d %s", status, raw)
			}

			status, _, _, raw = a.do(call{"GET", pp + "/audit?limit=50", a.token, "", ""})
			var entries []admin.AuditEntry
			a.ok(json.Unmarshal(raw, &entries))
			actions := map[string]bool{}
			for _, en := range entries {
				if strings.HasPrefix(en.Actor, "token:") {
					actions[en.Action] = true
				}
			}
			for _, want := range []string{"service.create", "service.update", "service.delete", "session.service", "template.update", "practice.switches"} {
				if !actions[want] {
					t.Errorf("audit has no %s by the token (status %d): %v", want, status, actions)
				}
			}
		})
	}
}

// testServiceDeleteRacesLink: deleting a service while another admin links a
// template to it, at the same moment, many times. Whichever commits first,
// nothing is ever left linked to a service that no longer exists (on
// PostgreSQL the delete's count of links could miss a link committed beside
// it, until the service row was locked).
func testServiceDeleteRacesLink(t *testing.T, f *fx) {
	tc, err := f.svc.CreateTemplate(f.ctx, f.cli, ods, f.withProfile(tplIn))
	f.ok(err)
	deleted, linked := 0, 0
	for i := range 12 {
		h := f.service(ods, fmt.Sprintf("9907%02d", i), fmt.Sprintf("Race %d", i))
		var wg sync.WaitGroup
		var delErr, linkErr error
		start := make(chan struct{})
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			_, delErr = f.svc.DeleteHealthcareService(f.ctx, f.cli, ods, h.ID)
		}()
		go func() {
			defer wg.Done()
			<-start
			_, linkErr = f.svc.UpdateTemplate(f.ctx, f.cli, ods, tc.Template.ID, admin.TemplateInput{ServiceID: ptr(h.ID)})
		}()
		close(start)
		wg.Wait()
		if delErr == nil {
			deleted++
		} else if scheduling.ErrorCode(delErr) != scheduling.ECONFLICT {
			t.Fatalf("round %d: delete: %v", i, delErr)
		}
		if linkErr == nil {
			linked++
		} else if scheduling.ErrorCode(linkErr) != scheduling.EINVALID {
			t.Fatalf("round %d: link: %v", i, linkErr)
		}
		dangling := f.scalar(`SELECT (SELECT COUNT(*) FROM session_templates t WHERE t.healthcare_service_id <> 0
			AND NOT EXISTS (SELECT 1 FROM healthcare_services h WHERE h.id = t.healthcare_service_id))
			+ (SELECT COUNT(*) FROM schedules s WHERE s.healthcare_service_id <> 0
			AND NOT EXISTS (SELECT 1 FROM healthcare_services h WHERE h.id = s.healthcare_service_id))`)
		if dangling != 0 {
			t.Fatalf("round %d: delete %v, link %v: %d templates or sessions linked to a service that no longer exists", i, delErr, linkErr, dangling)
		}
		if (delErr == nil) == (linkErr == nil) {
			t.Fatalf("round %d: delete %v and link %v: exactly one should win", i, delErr, linkErr)
		}
		_, err := f.svc.UpdateTemplate(f.ctx, f.cli, ods, tc.Template.ID, admin.TemplateInput{ServiceID: ptr(int64(0))})
		f.ok(err)
	}
	t.Logf("%d rounds won by the delete, %d by the link", deleted, linked)
}
