package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/federation/sim"
	"github.com/slotbridge/slotbridge/internal/bench"
)

// TestFederationCommands drives the CLI as a newcomer would: a simulated
// federation, its directory imported as a hub, a search, and a booking
// amended, listed and cancelled, all through run().
func TestFederationCommands(t *testing.T) {
	ctx := context.Background()
	s, file, data := startSim(t, sim.Config{Practices: 4, Days: 3, Seed: 3}, "")
	dir := filepath.Dir(file)
	cli := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if err := run(ctx, append(args, data), &out, &errb); err != nil {
			t.Fatalf("slotbridge %s: %v\n%s", strings.Join(args, " "), err, errb.String())
		}
		return out.String()
	}

	// A --hub the file names too is one hub, not two.
	fileWithHub := filepath.Join(dir, "directory-pcn.json")
	if err := s.WriteDirectory(fileWithHub, "pcn"); err != nil {
		t.Fatal(err)
	}
	if out := cli("directory", "import", fileWithHub, "--hub", "pcn"); !strings.Contains(out, "endpoints and 1 hub from") {
		t.Fatalf("import with the file's own hub:\n%s", out)
	}
	cli("directory", "import", file, "--hub", "pcn")
	// Switching a practice off and on changes nothing else about its entry.
	before := cli("directory", "list", "--json")
	cli("directory", "set", "Y00002", "--disabled")
	if out := cli("directory", "list"); !strings.Contains(out, "Y00002") || !regexp.MustCompile(`Y00002\s+\S+\s+false`).MatchString(out) {
		t.Fatalf("directory set --disabled did not switch Y00002 off:\n%s", out)
	}
	cli("directory", "set", "Y00002", "--enabled")
	if after := cli("directory", "list", "--json"); after != before {
		t.Fatalf("off and on again changed the entry:\n%s\nwas\n%s", after, before)
	}
	cli("hub", "create", "other")
	if out := cli("hub", "add-practice", "other", "Y00002", "Y99999", "Y00002"); !strings.Contains(out, "added Y00002 Y99999\n") ||
		strings.Contains(out, "already members") || !strings.Contains(out, "not in the endpoint directory yet (searches will report them unknown): Y99999") {
		t.Fatalf("add-practice should say what it did with each code:\n%s", out)
	}
	cli("hub", "remove-practice", "other", "Y00002")
	if out := cli("hub", "list"); !strings.Contains(out, "pcn    4        0") || !strings.Contains(out, "other  1        1") {
		t.Fatalf("hub list:\n%s", out)
	}
	if out := cli("directory", "list"); strings.Count(out, "\nY0000") != 4 {
		t.Fatalf("directory list:\n%s", out)
	}
	// A hub can be deleted; a directory entry removed says which hubs still list it.
	cli("hub", "create", "typo")
	if out := cli("hub", "delete", "typo"); !strings.Contains(out, `hub "typo" deleted`) {
		t.Fatalf("hub delete:\n%s", out)
	}
	if out := cli("hub", "list"); strings.Contains(out, "typo") {
		t.Fatalf("deleted hub still listed:\n%s", out)
	}
	if err := run(ctx, []string{"hub", "delete", "typo", data}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "typo") {
		t.Fatalf("deleting a hub twice: %v", err)
	}
	cli("directory", "set", "Y00009", "--url", "http://127.0.0.1:9/Y00009/STU3/1/gpconnect", "--asid", "918999198999")
	cli("hub", "add-practice", "other", "Y00009")
	if out := cli("directory", "remove", "Y00009"); !strings.Contains(out, "removed Y00009") || !strings.Contains(out, `still members of hub "other"`) {
		t.Fatalf("directory remove:\n%s", out)
	}
	if err := run(ctx, []string{"directory", "remove", "Y00009", data}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "Y00009") {
		t.Fatalf("removing an entry twice: %v", err)
	}
	cli("hub", "remove-practice", "other", "Y00009")

	var res struct {
		Slots []struct {
			Ref   string `json:"ref"`
			Start string `json:"start"`
		} `json:"slots"`
		Failures []struct{ ODS string } `json:"failures"`
	}
	if err := json.Unmarshal([]byte(cli("slots", "--hub", "pcn", "--start", "tomorrow", "--end", "tomorrow", "--json")), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Slots) < 4*20 || len(res.Failures) != 0 {
		t.Fatalf("%d slots, failures %v", len(res.Slots), res.Failures)
	}
	// Every practice of "other" fails: the table says why, and the exit status says so.
	var sout, serr bytes.Buffer
	err := run(ctx, []string{"slots", "--hub", "other", "--start", "tomorrow", "--end", "tomorrow", data}, &sout, &serr)
	if !strings.Contains(sout.String(), "Y99999") || !strings.Contains(sout.String(), "unknown") {
		t.Fatalf("slots table should report the unknown practice:\n%s", sout.String())
	}
	if err == nil || !strings.Contains(err.Error(), "no practice") {
		t.Fatalf("a search no practice answered exited with %v, want an error", err)
	}
	if err := run(ctx, []string{"slots", "--hub", "pcn", "--start", "tomorrow", "--end", "tomorrow", "--org-type", "bogus", data}, &sout, &serr); err == nil {
		t.Fatal("slots --org-type bogus was accepted")
	}

	p := s.Patients[1]
	ref := res.Slots[len(res.Slots)/2].Ref
	out := cli("book", "--hub", "pcn", "--slot", ref, "--patient", p.NHSNumber, "--family", p.Family, "--given", p.Given, "--gender", p.Gender, "--birth-date", p.BirthDate)
	if !strings.Contains(out, "registered "+p.NHSNumber) || !strings.Contains(out, "booked ") {
		t.Fatalf("book:\n%s", out)
	}
	appt := strings.Fields(out[strings.Index(out, "booked ")+len("booked "):])[0]
	// The amendment shows what changed: the comment is not in the one-line summary.
	if out := cli("book", "amend", "--hub", "pcn", "--appointment", appt, "--comment", "Wheelchair access"); !strings.Contains(out, "amended") ||
		!strings.Contains(out, `comment: "Wheelchair access"`) || !strings.Contains(out, "description: ") {
		t.Fatalf("amend does not show the change:\n%s", out)
	}
	if out := cli("book", "list", "--hub", "pcn", "--patient", p.NHSNumber); !strings.Contains(out, "1 appointment for") || !strings.Contains(out, appt) {
		t.Fatalf("list:\n%s", out)
	}
	if out := cli("book", "cancel", "--hub", "pcn", "--appointment", appt, "--reason", "Recovered"); !strings.Contains(out, "cancelled") || strings.Contains(out, "already") {
		t.Fatalf("cancel:\n%s", out)
	}
	if out := cli("book", "cancel", "--hub", "pcn", "--appointment", appt, "--reason", "Again"); !strings.Contains(out, "already cancelled (nothing was sent") {
		t.Fatalf("second cancel:\n%s", out)
	}
	if out := cli("slots", "--hub", "pcn", "--start", "tomorrow", "--end", "tomorrow", "--limit", "0"); !strings.Contains(out, ref+" ") {
		t.Fatalf("cancelled slot %s not offered again", ref)
	}

	var errb bytes.Buffer
	if err := run(ctx, []string{"book", "--hub", "pcn", "--slot", "nonsense", "--patient", p.NHSNumber, data}, &bytes.Buffer{}, &errb); err == nil {
		t.Fatal("a bad slot reference was accepted")
	}
}

// TestFederationMounts checks that serve routes /hub/ and the federation
// admin API to the federation handlers.
func TestFederationMounts(t *testing.T) {
	t.Setenv("SLOTBRIDGE_HUB_LOCAL", "1") // the requests below come from a local caller
	ctx := context.Background()
	db := dbConfig{data: t.TempDir(), sync: "NORMAL"}
	st, err := db.open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, err := withMounts(mountEnv{st: st, log: slog.New(slog.NewTextHandler(io.Discard, nil)), horizon: horizonFor(6)}, http.NotFoundHandler())
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{
		"/hub/nope/Slot?start=today&end=tomorrow": 404,
		"/hub/nope/Slot?end=tomorrow":             400,
		"/admin/api/federation/hubs":              200,
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", path, nil)
		// A local caller: loopback peer addressing the loopback listener
		// (httptest's default Host, example.com, is not a local caller).
		req.RemoteAddr = "127.0.0.1:5555"
		req.Host = "127.0.0.1:8080"
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("GET %s: %d, want %d: %s", path, rec.Code, want, rec.Body)
		}
	}
}

// TestBenchFanoutRuns runs a tiny bench fanout end to end (child simulator,
// both phases) and checks the JSON table's shape, not the figures: each size
// has every metric, figures have their floors, and the goals are where the
// issue puts them.
func TestBenchFanoutRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child simulator; skipped with -short")
	}
	t.Setenv("SLOTBRIDGE_TEST_AS_MAIN", "1")
	var out, errb bytes.Buffer
	// 20% hangs so that the few rounds find hung practices at 3 and 5 practices.
	args := []string{"--sizes", "3,5", "--rounds", "2", "--throughput-for", "200ms", "--practice-timeout", "300ms", "--latency", "5ms", "--hang", "20%", "--json"}
	if err := runBenchFanout(context.Background(), args, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	var tb bench.Table
	if err := json.Unmarshal(out.Bytes(), &tb); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	checkFanoutRows(t, tb, []int{3, 5})
	if !strings.Contains(strings.Join(tb.Notes, "\n"), "fanout 5 practices:") || tb.Meta["fanout hub"] == "" {
		t.Errorf("notes or meta missing: %v %v", tb.Notes, tb.Meta)
	}
	// The text table too.
	out.Reset()
	if err := runBenchFanout(context.Background(), args[:len(args)-1], &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "over slowest p50") || !strings.Contains(out.String(), "5 practices") {
		t.Errorf("text table:\n%s", out.String())
	}
}

// checkFanoutRows checks that tb has the fanout rows of each size.
func checkFanoutRows(t *testing.T, tb bench.Table, sizes []int) {
	t.Helper()
	got := map[string]bench.Row{}
	for _, r := range tb.Rows {
		if r.Bench == "fanout" {
			got[r.Case+"/"+r.Metric] = r
		}
	}
	for _, n := range sizes {
		cs := fmt.Sprintf("%d practices", n)
		for _, m := range []string{"over slowest p50", "over slowest p90", "wall p50", "hang wall p50", "hang wall max", "fan-outs/s", "peak RSS"} {
			r, ok := got[cs+"/"+m]
			if !ok {
				t.Errorf("no row %s %s", cs, m)
				continue
			}
			if r.Value <= 0 && m != "over slowest p50" && m != "over slowest p90" {
				t.Errorf("%s %s: value %v", cs, m, r.Value)
			}
			if floored := m != "over slowest p50" && m != "over slowest p90"; floored && (r.Floor <= 0 || r.FloorOf == "" || r.Ratio <= 0) {
				t.Errorf("%s %s: no floor or ratio: %+v", cs, m, r)
			}
		}
		if r := got[cs+"/over slowest p50"]; r.Goal != "<= 10 ms" || r.Pass == nil {
			t.Errorf("%s over slowest p50: goal %q", cs, r.Goal)
		}
		if r := got[cs+"/hang wall p50"]; r.Floor != 300 || r.Goal != "<= deadline + 30 ms" || r.Pass == nil {
			t.Errorf("%s hang wall p50: %+v", cs, r)
		}
		if r := got[cs+"/peak RSS"]; r.Unit != "MB" || r.Pass != nil {
			t.Errorf("%s peak RSS: a goal below 500 practices: %+v", cs, r)
		}
	}
}

// TestFanoutGoals checks the goals of the issue by hub size.
func TestFanoutGoals(t *testing.T) {
	r := fanoutRow{Practices: 500, OverP50: 31 * time.Millisecond, WallP50: time.Second, SlowestP50: 900 * time.Millisecond,
		HangDeadline: time.Second, HangWallP50: 1020 * time.Millisecond, HangWall: 1100 * time.Millisecond, HangRounds: 3,
		FanOutsPerSec: 2, Parallel: 4, RestRSS: 20 << 20, PeakRSS: 65 << 20}
	pass := map[string]bool{}
	for _, row := range r.rows() {
		if row.Pass != nil {
			pass[row.Metric] = *row.Pass
		}
	}
	if len(pass) != 3 || pass["over slowest p50"] || !pass["hang wall p50"] || pass["peak RSS"] {
		t.Errorf("500 practices: %v", pass)
	}
	for n, want := range map[int]time.Duration{50: 10 * time.Millisecond, 51: 20 * time.Millisecond, 200: 20 * time.Millisecond, 500: 30 * time.Millisecond} {
		if got := fanoutGoal(n); got != want {
			t.Errorf("goal at %d: %v, want %v", n, got, want)
		}
	}
}

// init lets a test start this test binary as the slotbridge command (bench
// fanout starts `slotbridge sim` as a child process). An init, not a
// TestMain, so that other test files of the package stay free to add one.
func init() {
	if os.Getenv("SLOTBRIDGE_TEST_AS_MAIN") == "1" {
		if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "slotbridge:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

// TestFederationAPIClosedByDefault: serve's hub and federation APIs answer
// nobody until a token (or SLOTBRIDGE_HUB_LOCAL) is set, not even a caller
// that looks local, and the two tokens open one API each. A bad
// SLOTBRIDGE_HUB_LOCAL stops serve.
func TestFederationAPIClosedByDefault(t *testing.T) {
	db := dbConfig{data: t.TempDir(), sync: "NORMAL"}
	st, err := db.open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	env := mountEnv{st: st, log: slog.New(slog.NewTextHandler(io.Discard, nil)), horizon: horizonFor(6)}
	status := func(h http.Handler, path, bearer string) int {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", path, nil)
		req.RemoteAddr, req.Host = "127.0.0.1:5555", "127.0.0.1:8080"
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	const hubs = "/admin/api/federation/hubs"
	h, err := withMounts(env, http.NotFoundHandler())
	if err != nil {
		t.Fatal(err)
	}
	if got := status(h, hubs, ""); got != http.StatusForbidden {
		t.Errorf("no token, no SLOTBRIDGE_HUB_LOCAL: %s answered %d, want 403", hubs, got)
	}
	t.Setenv("SLOTBRIDGE_HUB_API_TOKEN", "front-end")
	t.Setenv("SLOTBRIDGE_HUB_ADMIN_TOKEN", "operator")
	if h, err = withMounts(env, http.NotFoundHandler()); err != nil {
		t.Fatal(err)
	}
	if got := status(h, hubs, "front-end"); got != http.StatusUnauthorized {
		t.Errorf("the hub API's token on %s: %d, want 401", hubs, got)
	}
	if got := status(h, hubs, "operator"); got != http.StatusOK {
		t.Errorf("the admin token on %s: %d, want 200", hubs, got)
	}
	if err := checkMounts(); err != nil {
		t.Errorf("two different hub tokens: %v", err)
	}
	t.Setenv("SLOTBRIDGE_HUB_ADMIN_TOKEN", "front-end")
	if err := checkMounts(); err == nil || !strings.Contains(err.Error(), "are the same") {
		t.Errorf("one value for both hub tokens: %v, want serve refused", err)
	}
	t.Setenv("SLOTBRIDGE_HUB_ADMIN_TOKEN", "operator")
	t.Setenv("SLOTBRIDGE_HUB_LOCAL", "maybe")
	if _, err := withMounts(env, http.NotFoundHandler()); err == nil || !strings.Contains(err.Error(), "SLOTBRIDGE_HUB_LOCAL") {
		t.Errorf("a bad SLOTBRIDGE_HUB_LOCAL: %v, want an error naming it", err)
	}
}
