package admin_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/admin"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// TestTemplateChangeKeepsEditedSessions: a template change must not undo
// what the practice did by hand to one of its sessions. Each case runs on
// every engine, on a fresh store.
func TestTemplateChangeKeepsEditedSessions(t *testing.T) {
	cases := []struct {
		name string
		fn   func(t *testing.T, f *fx)
	}{
		{"SlotLengthChange", func(t *testing.T, f *fx) {
			testShapeChangeKeepsEdited(t, f, admin.TemplateInput{SlotMinutes: ptr(30)}, 2)
		}},
		{"StartAndSlotLengthChange", func(t *testing.T, f *fx) {
			testShapeChangeKeepsEdited(t, f, admin.TemplateInput{Start: ptr("17:30"), SlotMinutes: ptr(30)}, 3)
		}},
		{"OwnServiceKeptThroughServiceAndShapeChange", testShapeChangeKeepsOwnService},
		{"EndRetiresEditedSessionsWithoutBookings", testEndRetiresEdited},
		{"ShorterHorizonKeepsReach", func(t *testing.T, f *fx) { testShorterHorizonKeepsReach(t, f, tplIn) }},
		{"ShorterHorizonKeepsReachFromMidnight", func(t *testing.T, f *fx) {
			in := tplIn
			in.Start, in.End = ptr("00:00"), ptr("01:00")
			testShorterHorizonKeepsReach(t, f, in)
		}},
	}
	for _, e := range storetest.Engines(false) {
		t.Run(e.Name, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) { c.fn(t, newFx(t, e)) })
			}
		})
	}
}

// sixThursdays makes the Thursday-evening template over six weeks (26 March
// to 30 April) and returns it with its sessions, by start.
func (f *fx) sixThursdays(in admin.TemplateInput) (admin.TemplateChange, []int64) {
	f.t.Helper()
	f.svc.Horizon = 42 * 24 * time.Hour
	tc, err := f.svc.CreateTemplate(f.ctx, f.cli, ods, in)
	f.ok(err)
	sessions := f.ids(`SELECT id FROM schedules WHERE template_id = ? ORDER BY start_at`, tc.Template.ID)
	if len(sessions) != 6 {
		f.t.Fatalf("template made sessions %v, want six Thursdays", sessions)
	}
	return tc, sessions
}

// hub makes a second access profile, for overrides.
func (f *fx) hub() int64 {
	f.t.Helper()
	p, err := f.svc.CreateProfile(f.ctx, f.cli, ods, admin.ProfileInput{Name: ptr("hub"), OrgTypes: &[]string{"urgent-care"}})
	f.ok(err)
	return p.ID
}

// sessionState is a session and its slots as the admin API shows them.
type sessionState struct {
	Session admin.Session
	Slots   []admin.Slot
}

func (f *fx) state(id int64) sessionState {
	f.t.Helper()
	s, err := f.svc.Session(f.ctx, f.cli, ods, id)
	f.ok(err)
	sl, err := f.svc.SessionSlots(f.ctx, f.cli, ods, id)
	f.ok(err)
	return sessionState{s, sl}
}

// dayActive lists the template's active sessions on the day of session sid,
// and sid itself if it is still active (a retired one is detached).
func (f *fx) dayActive(templateID, sid int64) []int64 {
	f.t.Helper()
	day := scheduling.LocalMidnight(time.Unix(f.scalar(`SELECT start_at FROM schedules WHERE id = ?`, sid), 0))
	return f.ids(`SELECT id FROM schedules WHERE practice_id = ? AND status = 'active' AND start_at >= ? AND start_at < ?
		AND (template_id = ? OR id = ?) ORDER BY id`, f.org.ID, day.Unix(), scheduling.AddDaysLocal(day, 1).Unix(), templateID, sid)
}

func keptByID(l []admin.KeptSession) map[int64]admin.KeptSession {
	m := make(map[int64]admin.KeptSession, len(l))
	for _, k := range l {
		m[k.ID] = k
	}
	return m
}

// testShapeChangeKeepsEdited: sessions the practice blocked, gave their
// own profile, or whose slots it blocked or gave their own profile, are
// kept exactly as they are through a shape change, each with its reason,
// beside a booked one; their days get no new-shape session; the one
// session nobody touched is retired and made again in the new shape
// (newSlots slots).
func testShapeChangeKeepsEdited(t *testing.T, f *fx, change admin.TemplateInput, newSlots int) {
	tc, s := f.sixThursdays(f.withProfile(tplIn))
	tpl := tc.Template.ID
	hub := f.hub()
	slotsOf := func(sid int64) []int64 {
		return f.ids(`SELECT id FROM slots WHERE schedule_id = ? ORDER BY start_at`, sid)
	}

	// s[0]: the GP's leave day; s[1]: given to the hub; s[2]: one slot
	// blocked; s[3]: one slot for the hub; s[4]: untouched; s[5]: booked.
	_, err := f.svc.BlockSession(f.ctx, f.cli, ods, s[0])
	f.ok(err)
	_, err = f.svc.SetSessionProfile(f.ctx, f.cli, ods, s[1], hub)
	f.ok(err)
	_, err = f.svc.BlockSlot(f.ctx, f.cli, ods, slotsOf(s[2])[1])
	f.ok(err)
	_, err = f.svc.SetSlotProfile(f.ctx, f.cli, ods, slotsOf(s[3])[0], hub)
	f.ok(err)
	appt := f.book(slotsOf(s[5])[0])
	want := map[int64][]admin.KeepReason{
		s[0]: {admin.KeepSessionBlocked},
		s[1]: {admin.KeepSessionProfile},
		s[2]: {admin.KeepSlotBlocked},
		s[3]: {admin.KeepSlotProfile},
		s[5]: {admin.KeepBookings},
	}
	before := map[int64]sessionState{}
	for sid := range want {
		before[sid] = f.state(sid)
	}

	up, err := f.svc.UpdateTemplate(f.ctx, f.cli, ods, tpl, change)
	f.ok(err)
	if !slices.Equal(up.Retired, []int64{s[4]}) || up.Created != 1 {
		t.Fatalf("change retired %v and made %d sessions; want only the untouched session %d retired and made again", up.Retired, up.Created, s[4])
	}
	kept := keptByID(up.Kept)
	if len(up.Kept) != len(want) {
		t.Fatalf("kept %+v, want sessions %v", up.Kept, want)
	}
	for sid, because := range want {
		k, ok := kept[sid]
		if !ok || !slices.Equal(k.Because, because) {
			t.Fatalf("session %d: kept %v with reasons %v, want %v", sid, ok, k.Because, because)
		}
		// Kept exactly as it was: the session, its version and every slot.
		if after := f.state(sid); !reflect.DeepEqual(after, before[sid]) {
			t.Fatalf("session %d changed:\nbefore %+v\nafter  %+v", sid, before[sid], after)
		}
		if !reflect.DeepEqual(k.Session, before[sid].Session) {
			t.Fatalf("session %d is listed as %+v, not as it is (%+v)", sid, k.Session, before[sid].Session)
		}
		// Its day runs only the kept session.
		if got := f.dayActive(tpl, sid); !slices.Equal(got, []int64{sid}) {
			t.Fatalf("day of kept session %d runs %v", sid, got)
		}
	}
	if !slices.Equal(kept[s[5]].AppointmentIDs, []int64{appt.ID}) {
		t.Fatalf("booked session listed as %+v", kept[s[5]])
	}

	// The leave day stays blocked: no slot of it is free, and the search
	// (through explain, which uses its rule) offers none.
	leave := f.state(s[0])
	if !leave.Session.SessionBlocked || leave.Session.Status != "active" || leave.Session.Free != 0 {
		t.Fatalf("leave day after the change %+v", leave.Session)
	}
	day := scheduling.LocalMidnight(time.Unix(f.scalar(`SELECT start_at FROM schedules WHERE id = ?`, s[0]), 0))
	ex, err := f.svc.Explain(f.ctx, f.cli, ods, admin.ExplainInput{Start: day, End: scheduling.AddDaysLocal(day, 1)})
	f.ok(err)
	for _, es := range ex.Sessions {
		if es.TemplateID == tpl && (es.ID != s[0] || es.Offered != 0) {
			t.Fatalf("explain of the leave day: %+v", es)
		}
	}

	// The untouched day is remade in the new shape, free.
	if st := f.state(s[4]).Session.Status; st != scheduling.SessionRetired {
		t.Fatalf("untouched session %d is %s, want retired", s[4], st)
	}
	remade := f.dayActive(tpl, s[4])
	if len(remade) != 1 || remade[0] == s[4] {
		t.Fatalf("untouched day runs %v", remade)
	}
	if r := f.state(remade[0]).Session; r.Free != newSlots || r.AccessProfileID != f.open || r.SessionBlocked {
		t.Fatalf("remade session %+v, want %d free slots under the template's profile", r, newSlots)
	}

	// A later top-up does not bring the new shape back beside a kept session.
	n, err := f.st.Materialise(f.ctx, f.org.ID, scheduling.LocalMidnight(f.now), f.now.Add(f.svc.Horizon))
	f.ok(err)
	if n != 0 {
		t.Fatalf("top-up after the change made %d sessions", n)
	}

	// The answer says why, per session, at the session's level in JSON.
	b, err := json.Marshal(up)
	f.ok(err)
	var js struct {
		Kept []map[string]any `json:"kept_sessions"`
	}
	f.ok(json.Unmarshal(b, &js))
	for _, k := range js.Kept {
		if k["id"] == float64(s[0]) && (fmt.Sprint(k["kept_because"]) != "[session_blocked]" || k["session_blocked"] != true) {
			t.Fatalf("JSON of the kept leave day: %v", k)
		}
		if k["id"] == float64(s[5]) && fmt.Sprint(k["kept_because"]) != "[bookings]" {
			t.Fatalf("JSON of the kept booked day: %v", k)
		}
	}
	// So does the audit trail.
	es, err := f.svc.Audit(f.ctx, f.cli, ods, 5)
	f.ok(err)
	var rec *admin.AuditEntry
	for i := range es {
		if es[i].Action == "template.update" {
			rec = &es[i]
			break
		}
	}
	if rec == nil {
		t.Fatalf("no template.update in %+v", es)
	}
	for _, w := range []string{itoa(s[0]) + " (blocked by the practice)", itoa(s[5]) + " (holds bookings)", "own access profile", "slots blocked on their own"} {
		if !strings.Contains(rec.Detail, w) {
			t.Fatalf("audit detail %q lacks %q", rec.Detail, w)
		}
	}
}

// testShapeChangeKeepsOwnService: a session the practice linked to a
// service of its own is kept through a change of both the template's
// service and its shape, still under its own service; a session relinked
// by the template (an earlier service change) is not a hand edit and is
// remade under the template's new service. A later service change alone
// leaves the hand-linked session's service alone too.
func testShapeChangeKeepsOwnService(t *testing.T, f *fx) {
	a := f.service(ods, "990501", "Service A")
	b := f.service(ods, "990502", "Service B")
	c := f.service(ods, "990503", "Service C")
	d := f.service(ods, "990504", "Service D")
	in := f.withProfile(tplIn)
	in.ServiceID = &a.ID
	tc, s := f.sixThursdays(in)
	tpl := tc.Template.ID

	// The template moves to B first: a relink, not a hand edit.
	up, err := f.svc.UpdateTemplate(f.ctx, f.cli, ods, tpl, admin.TemplateInput{ServiceID: &b.ID})
	f.ok(err)
	if len(up.Retired) != 0 || len(up.Kept) != 0 || f.serviceOf("schedules", s[1]) != b.ID {
		t.Fatalf("service change %+v", up)
	}
	_, err = f.svc.SetSessionService(f.ctx, f.cli, ods, s[0], c.ID)
	f.ok(err)
	before := f.state(s[0])

	up, err = f.svc.UpdateTemplate(f.ctx, f.cli, ods, tpl, admin.TemplateInput{ServiceID: &d.ID, SlotMinutes: ptr(30)})
	f.ok(err)
	if len(up.Kept) != 1 || up.Kept[0].ID != s[0] || !slices.Equal(up.Kept[0].Because, []admin.KeepReason{admin.KeepSessionService}) {
		t.Fatalf("kept %+v, want session %d for its own service", up.Kept, s[0])
	}
	if !slices.Equal(up.Retired, s[1:]) || up.Created != 5 {
		t.Fatalf("retired %v, made %d; want the five sessions following the template remade", up.Retired, up.Created)
	}
	if after := f.state(s[0]); !reflect.DeepEqual(after, before) || f.serviceOf("schedules", s[0]) != c.ID {
		t.Fatalf("hand-linked session changed:\nbefore %+v\nafter  %+v", before, after)
	}
	for _, sid := range s[1:] {
		day := f.dayActive(tpl, sid)
		if len(day) != 1 || f.serviceOf("schedules", day[0]) != d.ID {
			t.Fatalf("day of session %d runs %v, want one new session under service %d", sid, day, d.ID)
		}
	}
	if got := f.dayActive(tpl, s[0]); !slices.Equal(got, []int64{s[0]}) {
		t.Fatalf("day of the hand-linked session runs %v", got)
	}

	// A service change alone relinks the sessions following the template,
	// not the one the practice linked by hand.
	up, err = f.svc.UpdateTemplate(f.ctx, f.cli, ods, tpl, admin.TemplateInput{ServiceID: &a.ID})
	f.ok(err)
	if f.serviceOf("schedules", s[0]) != c.ID || f.serviceOf("schedules", f.dayActive(tpl, s[1])[0]) != a.ID {
		t.Fatalf("service change moved the hand-linked session to %d, or left the others", f.serviceOf("schedules", s[0]))
	}
}

// testEndRetiresEdited: ending a template stops its sessions; a hand edit
// does not keep one (nothing would replace it, so no edit is undone), a
// booking does.
func testEndRetiresEdited(t *testing.T, f *fx) {
	tc, s := f.sixThursdays(f.withProfile(tplIn))
	hub := f.hub()
	_, err := f.svc.BlockSession(f.ctx, f.cli, ods, s[0])
	f.ok(err)
	_, err = f.svc.SetSessionProfile(f.ctx, f.cli, ods, s[1], hub)
	f.ok(err)
	slot := f.ids(`SELECT id FROM slots WHERE schedule_id = ? ORDER BY start_at`, s[2])[0]
	f.book(slot)
	_, err = f.svc.BlockSession(f.ctx, f.cli, ods, s[2])
	f.ok(err)

	end, err := f.svc.EndTemplate(f.ctx, f.cli, ods, tc.Template.ID)
	f.ok(err)
	retired := append([]int64{s[0], s[1]}, s[3:]...)
	if !slices.Equal(end.Retired, retired) || end.Created != 0 {
		t.Fatalf("end retired %v, made %d; want %v and none", end.Retired, end.Created, retired)
	}
	if len(end.Kept) != 1 || end.Kept[0].ID != s[2] || !slices.Equal(end.Kept[0].Because, []admin.KeepReason{admin.KeepBookings}) {
		t.Fatalf("end kept %+v, want the booked session %d for its bookings", end.Kept, s[2])
	}
	if n := f.scalar(`SELECT COUNT(*) FROM slots WHERE schedule_id = ? AND status = 'free'`, s[1]); n != 0 {
		t.Fatalf("the hub's session of an ended template still offers %d slots", n)
	}
}

// testShorterHorizonKeepsReach: a shape change made with a shorter horizon
// than the one that made the template's sessions (the CLI's --horizon-weeks
// is its own flag, and may be shorter than the server's) remakes the
// sessions as far ahead as they reached, rather than leaving the weeks
// beyond its own horizon without sessions until the server's next top-up.
// A session at local midnight starts exactly where its day does, which the
// reach must still include.
func testShorterHorizonKeepsReach(t *testing.T, f *fx, in admin.TemplateInput) {
	tc, s := f.sixThursdays(f.withProfile(in))
	last := f.scalar(`SELECT start_at FROM schedules WHERE id = ?`, s[5])
	f.svc.Horizon = 10 * 24 * time.Hour
	got, err := f.svc.UpdateTemplate(f.ctx, f.cli, ods, tc.Template.ID, admin.TemplateInput{SlotMinutes: ptr(30)})
	f.ok(err)
	if len(got.Retired) != 6 || got.Created != 6 {
		t.Errorf("the change retired %v and made %d sessions, want six of each", got.Retired, got.Created)
	}
	active := f.ids(`SELECT start_at FROM schedules WHERE template_id = ? AND status = 'active' ORDER BY start_at`, tc.Template.ID)
	if len(active) != 6 || active[5] != last {
		t.Errorf("active sessions start at %v after the change, want six, the last at %d as before", active, last)
	}
	// The audit says what each change made.
	es, err := f.svc.Audit(f.ctx, f.cli, ods, 2)
	f.ok(err)
	if len(es) != 2 || es[0].Action != "template.update" || !strings.HasPrefix(es[0].Detail, "sessions made for this template: 6; retired sessions [") ||
		es[1].Action != "template.create" || es[1].Detail != "sessions made for this template: 6" {
		t.Errorf("audit %+v, want the update and the create each saying it made six sessions", es)
	}
}
