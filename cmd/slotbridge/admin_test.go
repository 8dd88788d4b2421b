package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/admin"
	"github.com/slotbridge/slotbridge/internal/demo"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// cliFx runs admin commands through run() against a database holding the demo data.
type cliFx struct {
	t  *testing.T
	db []string // --data or --database
	st *store.Store
}

func newCLIFx(t *testing.T, e storetest.Engine) *cliFx {
	t.Helper()
	ctx := context.Background()
	var cfg store.Config
	var db []string
	if e.Engine == store.EngineSQLite {
		dir := t.TempDir()
		cfg = store.Config{Path: filepath.Join(dir, "slotbridge.db")}
		db = []string{"--data", dir}
	} else {
		url, drop := storetest.FreshDatabase(t)
		t.Cleanup(drop)
		cfg = store.Config{URL: url}
		db = []string{"--database", url}
	}
	st, err := store.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := demo.Load(ctx, st, time.Now(), 8*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	return &cliFx{t: t, db: db, st: st}
}

// run runs "slotbridge admin <args> <db flags>" and returns stdout, stderr and the error.
func (c *cliFx) run(args ...string) (string, string, error) {
	c.t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), append(append([]string{"admin"}, args...), c.db...), &out, &errb)
	return out.String(), errb.String(), err
}

func (c *cliFx) must(args ...string) string {
	c.t.Helper()
	out, stderr, err := c.run(args...)
	if err != nil {
		c.t.Fatalf("admin %v: %v\n%s", args, err, stderr)
	}
	return out
}

func (c *cliFx) mustJSON(v any, args ...string) {
	c.t.Helper()
	out := c.must(append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		c.t.Fatalf("admin %v: output is not JSON: %v\n%s", args, err, out)
	}
}

func TestAdminCLI(t *testing.T) {
	for _, e := range storetest.Engines(false) {
		t.Run(e.Name, func(t *testing.T) {
			c := newCLIFx(t, e)
			ctx := context.Background()

			// token create prints a token that authenticates for A20047 only.
			tok := strings.TrimSpace(c.must("token", "create", "--ods", "A20047", "--label", "ops"))
			actor, err := admin.New(c.st).Authenticate(ctx, tok)
			if err != nil || actor.PracticeID == 0 {
				t.Fatalf("token %q does not authenticate: %v", tok, err)
			}
			if out := c.must("token", "list", "--ods", "A20047"); !strings.Contains(out, "ops") || strings.Contains(out, tok) {
				t.Fatalf("token list:\n%s", out)
			}

			var p admin.Profile
			c.mustJSON(&p, "profiles", "create", "--ods", "A20047", "--name", "111, weekends", "--org-types", "urgent-care", "--window", "7d", "--embargo", "30m")
			if p.Name != "111, weekends" || p.BookingWindow.String() != "7d" || p.Embargo.String() != "30m" || len(p.OrgTypes) != 1 {
				t.Fatalf("created %+v", p)
			}
			c.mustJSON(&p, "profiles", "update", "--ods", "A20047", "--id", strconv.FormatInt(p.ID, 10), "--cap", "4")
			if p.Cap != 4 || p.Name != "111, weekends" || p.Embargo.String() != "30m" {
				t.Fatalf("update changed more than --cap: %+v", p)
			}
			if out := c.must("profiles", "list", "--ods", "A20047"); !strings.Contains(out, "111, weekends") || !strings.Contains(out, "urgent-care") {
				t.Fatalf("profiles list:\n%s", out)
			}
			// With --json a refusal is the admin API's error body on stdout, exit status 1.
			out, stderr, err := c.run("profiles", "create", "--ods", "A20047", "--name", "111, weekends", "--json")
			var e struct{ Error, Code string }
			if err == nil || json.Unmarshal([]byte(out), &e) != nil || e.Code != "duplicate" || e.Error == "" || !strings.Contains(stderr+err.Error(), "duplicate") {
				t.Fatalf("duplicate profile with --json: %v\nstdout %s\nstderr %s", err, out, stderr)
			}
			if _, _, err := c.run("audit", "--ods", "A20047", "--limit", "0"); err == nil || !strings.Contains(err.Error(), "limit") {
				t.Fatalf("audit --limit 0: %v, want a refusal", err)
			}
			var typo admin.Profile
			c.mustJSON(&typo, "profiles", "create", "--ods", "A20047", "--name", "typo")
			if out := c.must("profiles", "delete", "--ods", "A20047", "--id", strconv.FormatInt(typo.ID, 10)); !strings.Contains(out, `"typo") deleted`) {
				t.Fatalf("profiles delete:\n%s", out)
			}
			var all []admin.Profile
			c.mustJSON(&all, "profiles", "list", "--ods", "A20047")
			if !slices.ContainsFunc(all, func(q admin.Profile) bool { return q.Name == "open" }) {
				t.Fatalf("the demo has no profile named open: %+v", all)
			}
			for _, q := range all {
				if q.Name != "open" {
					continue
				}
				if _, _, err := c.run("profiles", "delete", "--ods", "A20047", "--id", strconv.FormatInt(q.ID, 10)); scheduling.ErrorCode(err) != scheduling.ECONFLICT {
					t.Fatalf("profiles delete of the demo's open profile, which its sessions use: %v, want a conflict", err)
				}
			}

			date := time.Now().Add(72 * time.Hour).In(time.UTC).Format("2006-01-02")
			var s admin.Session
			c.mustJSON(&s, "sessions", "add", "--ods", "A20047", "--date", date, "--start", "06:00", "--end", "07:00", "--slot-minutes", "20",
				"--location", "1", "--role", "R0260", "--category", "Early", "--type", "Early slot", "--channels", "Telephone", "--profile", strconv.FormatInt(p.ID, 10))
			if s.Free != 3 {
				t.Fatalf("session %+v", s)
			}
			sid := strconv.FormatInt(s.ID, 10)
			if out := c.must("sessions", "list", "--ods", "A20047", "--from", date, "--to", date); !strings.Contains(out, sid) {
				t.Fatalf("sessions list has no session %s:\n%s", sid, out)
			}
			var got admin.Session
			if c.mustJSON(&got, "sessions", "get", "--ods", "A20047", "--id", sid); got.ID != s.ID || got.Free != 3 || got.Start != s.Start {
				t.Fatalf("sessions get: %+v, want %+v", got, s)
			}
			if _, _, err := c.run("sessions", "get", "--ods", "B82005", "--id", sid); scheduling.ErrorCode(err) != scheduling.ENOTFOUND {
				t.Fatalf("sessions get of A20047's session at B82005: %v, want not found", err)
			}

			// The session's slot ids, for slots block|unblock|profile.
			var sl []admin.Slot
			c.mustJSON(&sl, "slots", "list", "--ods", "A20047", "--session", sid)
			if len(sl) != 3 || sl[0].SessionID != s.ID {
				t.Fatalf("slots list: %+v", sl)
			}
			if out := c.must("slots", "list", "--ods", "A20047", "--session", sid); !strings.Contains(out, strconv.FormatInt(sl[2].ID, 10)) || !strings.Contains(out, "OWN BLOCK") {
				t.Fatalf("slots list table:\n%s", out)
			}
			if _, _, err := c.run("slots", "list", "--ods", "A20047"); err == nil || !strings.Contains(err.Error(), "--session") {
				t.Fatalf("slots list without --session: %v", err)
			}

			out = c.must("explain", "--ods", "A20047", "--org-type", "urgent-care", "--consumer-ods", "Y11111", "--start", date, "--end", date)
			for _, want := range []string{"REMOVED BY", "not_enabled", "cap_reached", "SESSION", "CLINICIAN", sid} {
				if !strings.Contains(out, want) {
					t.Fatalf("explain table lacks %q:\n%s", want, out)
				}
			}
			var ex admin.Explanation
			c.mustJSON(&ex, "explain", "--ods", "A20047", "--org-type", "gp-practice", "--start", date, "--end", date)
			for _, se := range ex.Sessions {
				if se.ID == s.ID && (se.Offered != 0 || se.Total != 3) {
					t.Fatalf("gp-practice should not be offered the urgent-care session: %+v", se)
				}
			}

			if out := c.must("sessions", "block", "--ods", "A20047", "--id", sid); !strings.Contains(out, "3 slot(s) changed") {
				t.Fatalf("block:\n%s", out)
			}
			c.must("sessions", "cancel", "--ods", "A20047", "--id", sid)
			if out := c.must("disable", "--ods", "A20047", "--switch", "appointments"); !strings.Contains(out, "Appointment Management off") {
				t.Fatalf("disable:\n%s", out)
			}
			if out := c.must("status", "--ods", "A20047"); !strings.Contains(out, "GP Connect on, Appointment Management off") {
				t.Fatalf("status after disable:\n%s", out)
			}
			if out := c.must("enable", "--ods", "A20047"); !strings.Contains(out, "GP Connect on, Appointment Management on") {
				t.Fatalf("enable:\n%s", out)
			}
			var pr admin.Practice
			if c.mustJSON(&pr, "status", "--ods", "A20047"); !pr.GPConnectEnabled || !pr.AppointmentsEnabled || pr.ODS != "A20047" {
				t.Fatalf("status --json after enable: %+v", pr)
			}
			var tc admin.TemplateChange
			c.mustJSON(&tc, "templates", "create", "--ods", "A20047", "--name", "Sat", "--weekday", "sat", "--start", "09:00", "--end", "10:00",
				"--slot-minutes", "30", "--location", "1", "--role", "R0260", "--category", "Sat", "--type", "Sat slot", "--channels", "In-person",
				"--profile", strconv.FormatInt(p.ID, 10))
			if tc.Created < 1 {
				t.Fatalf("template %+v", tc)
			}
			var tg admin.Template
			if c.mustJSON(&tg, "templates", "get", "--ods", "A20047", "--id", strconv.FormatInt(tc.Template.ID, 10)); !reflect.DeepEqual(tg, tc.Template) {
				t.Fatalf("templates get: %+v, want %+v", tg, tc.Template)
			}
			c.must("templates", "end", "--ods", "A20047", "--id", strconv.FormatInt(tc.Template.ID, 10))
			if out := c.must("templates", "get", "--ods", "A20047", "--id", strconv.FormatInt(tc.Template.ID, 10)); !strings.Contains(out, "false") {
				t.Fatalf("templates get after end:\n%s", out)
			}

			audit := c.must("audit", "--ods", "A20047")
			for _, want := range []string{"cli:", "token.create", "profile.create", "profile.update", "session.add", "session.block",
				"session.cancel", "practice.switches", "template.create", "template.end"} {
				if !strings.Contains(audit, want) {
					t.Errorf("audit lacks %q:\n%s", want, audit)
				}
			}

			for _, group := range []string{"profiles", "templates", "sessions", "slots", "services", "token"} {
				if out := c.must(group, "--help"); !strings.Contains(out, "admin "+group+" ") {
					t.Errorf("admin %s --help does not show the %s commands:\n%s", group, group, out)
				}
			}

			for _, bad := range [][]string{
				{"profiles", "list"},                              // no --ods
				{"profiles", "fly", "--ods", "A20047"},            // unknown subcommand
				{"sessions", "block", "--ods", "A20047"},          // no --id
				{"explain", "--ods", "A20047"},                    // no period
				{"profiles", "create", "--ods", "A20047"},         // no name
				{"enable", "--ods", "A20047", "--switch", "most"}, // bad switch
				{"profiles", "list", "--ods", "ZZZZZ9"},           // unknown practice
				{"frobnicate"},                                    // unknown command
				{"profiles", "create", "--ods", "A20047", "--name", "x", "--window", "a while"},
			} {
				if _, _, err := c.run(bad...); err == nil {
					t.Errorf("admin %v succeeded", bad)
				}
			}
		})
	}
}

// TestAdminCLIServices: healthcare services, their links and the
// service-filtering switch, through the same commands a practice would run.
func TestAdminCLIServices(t *testing.T) {
	for _, e := range storetest.Engines(false) {
		t.Run(e.Name, func(t *testing.T) {
			c := newCLIFx(t, e)
			var h admin.HealthcareService
			c.mustJSON(&h, "services", "create", "--ods", "A20047", "--dos-id", "990701", "--name", "Minor injuries")
			if h.ID <= 0 || h.DOSID != "990701" || h.Version != 1 {
				t.Fatalf("created %+v", h)
			}
			hid := strconv.FormatInt(h.ID, 10)
			c.mustJSON(&h, "services", "update", "--ods", "A20047", "--id", hid, "--name", "Minor injuries unit")
			if h.Name != "Minor injuries unit" || h.DOSID != "990701" || h.Version != 2 {
				t.Fatalf("update changed more than --name: %+v", h)
			}
			if out := c.must("services", "list", "--ods", "A20047"); !strings.Contains(out, "DOS ID") || !strings.Contains(out, "Minor injuries unit") {
				t.Fatalf("services list:\n%s", out)
			}

			profile := strconv.FormatInt(c.scalar(`SELECT id FROM access_profiles WHERE name = 'open' AND practice_id =
				(SELECT id FROM organisations WHERE ods = 'A20047')`), 10)
			var tc admin.TemplateChange
			c.mustJSON(&tc, "templates", "create", "--ods", "A20047", "--name", "Sat", "--weekday", "sat", "--start", "09:00", "--end", "10:00",
				"--slot-minutes", "30", "--location", "1", "--role", "R0260", "--category", "Sat", "--type", "Sat slot", "--channels", "In-person",
				"--profile", profile, "--service", hid)
			if tc.Template.ServiceID != h.ID {
				t.Fatalf("template %+v, want service %d", tc.Template, h.ID)
			}
			date := time.Now().Add(72 * time.Hour).In(time.UTC).Format("2006-01-02")
			var s admin.Session
			c.mustJSON(&s, "sessions", "add", "--ods", "A20047", "--date", date, "--start", "06:00", "--end", "07:00", "--slot-minutes", "20",
				"--location", "1", "--role", "R0260", "--category", "Early", "--type", "Early slot", "--channels", "Telephone", "--profile", profile,
				"--service", hid)
			if s.ServiceID != h.ID {
				t.Fatalf("session %+v, want service %d", s, h.ID)
			}
			sid := strconv.FormatInt(s.ID, 10)

			_, _, err := c.run("services", "delete", "--ods", "A20047", "--id", hid)
			if err == nil || !strings.Contains(err.Error(), "time(s)") {
				t.Fatalf("deleting a linked service: %v", err)
			}
			if out := c.must("sessions", "service", "--ods", "A20047", "--id", sid, "--service", "0"); !strings.Contains(out, "healthcare service 0") {
				t.Fatalf("sessions service:\n%s", out)
			}
			c.mustJSON(&tc, "templates", "update", "--ods", "A20047", "--id", strconv.FormatInt(tc.Template.ID, 10), "--service", "0")
			if tc.Template.ServiceID != 0 || len(tc.Retired) != 0 {
				t.Fatalf("unlinking the template %+v: want no retired sessions", tc)
			}
			if out := c.must("services", "delete", "--ods", "A20047", "--id", hid); !strings.Contains(out, "deleted") {
				t.Fatalf("services delete:\n%s", out)
			}

			if out := c.must("enable", "--ods", "A20047", "--switch", "service_filtering"); !strings.Contains(out, "service filtering on") {
				t.Fatalf("enable service filtering:\n%s", out)
			}
			var p admin.Practice
			c.mustJSON(&p, "disable", "--ods", "A20047", "--switch", "service-filtering")
			if p.ServiceFiltering || p.ServiceFilteringStatus != "organization-disabled" || !p.GPConnectEnabled {
				t.Fatalf("after disable --switch service-filtering: %+v", p)
			}

			audit := c.must("audit", "--ods", "A20047")
			for _, want := range []string{"service.create", "service.update", "service.delete", "session.service", "practice.switches"} {
				if !strings.Contains(audit, want) {
					t.Errorf("audit lacks %q:\n%s", want, audit)
				}
			}
			for _, bad := range [][]string{
				{"services", "update", "--ods", "A20047", "--name", "x"},                     // no --id
				{"services", "create", "--ods", "A20047", "--name", "no DOS id"},             // no --dos-id
				{"services", "fly", "--ods", "A20047"},                                       // unknown subcommand
				{"sessions", "service", "--ods", "A20047", "--id", sid},                      // no --service
				{"sessions", "service", "--ods", "A20047", "--id", sid, "--service", "9999"}, // unknown service
			} {
				if _, _, err := c.run(bad...); err == nil {
					t.Errorf("admin %v succeeded", bad)
				}
			}
		})
	}
}

func (c *cliFx) scalar(q string, args ...any) int64 {
	c.t.Helper()
	var n int64
	db := c.st.DB()
	if err := db.GetContext(context.Background(), &n, db.Rebind(q), args...); err != nil {
		c.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// TestAdminEnableSaysWhatConsumersGet: with the supplier switch holding
// service filtering off, enabling it at the practice says so, rather than
// reading "service filtering on" alone.
func TestAdminEnableSaysWhatConsumersGet(t *testing.T) {
	c := newCLIFx(t, storetest.Engines(false)[0])
	t.Setenv("SLOTBRIDGE_SERVICE_FILTERING", "off")
	out := c.must("enable", "--ods", "A20047", "--switch", "service_filtering")
	if !strings.Contains(out, "service filtering on (consumers get supplier-disabled") {
		t.Fatalf("enable with the supplier switch off:\n%s", out)
	}
}

// TestAdminNeedsDatabase: on a --data directory with no database the admin
// commands say so and create nothing.
func TestAdminNeedsDatabase(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "typo")
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"admin", "profiles", "list", "--ods", "A20047", "--data", dir}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "no database at") {
		t.Fatalf("admin on a missing database: %v", err)
	}
	if _, serr := os.Stat(dir); !os.IsNotExist(serr) {
		t.Fatalf("the admin command created %s", dir)
	}
}
