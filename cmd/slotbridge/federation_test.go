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
	"strings"
	"testing"

	"github.com/slotbridge/slotbridge/federation/sim"
)

// TestFederationCommands drives the CLI as a newcomer would: a simulated
// federation, its directory imported as a hub, a search, and a booking
// amended, listed and cancelled, all through run().
func TestFederationCommands(t *testing.T) {
	ctx := context.Background()
	s, err := sim.Start(ctx, sim.Config{Practices: 4, Days: 3, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	dir := t.TempDir()
	file := filepath.Join(dir, "directory.json")
	if err := s.WriteDirectory(file, ""); err != nil {
		t.Fatal(err)
	}
	data := "--data=" + filepath.Join(dir, "data")
	cli := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if err := run(ctx, append(args, data), &out, &errb); err != nil {
			t.Fatalf("slotbridge %s: %v\n%s", strings.Join(args, " "), err, errb.String())
		}
		return out.String()
	}

	cli("directory", "import", file, "--hub", "pcn")
	cli("hub", "create", "other")
	cli("hub", "add-practice", "other", "Y00002", "Y99999")
	cli("hub", "remove-practice", "other", "Y00002")
	if out := cli("hub", "list"); !strings.Contains(out, "pcn    4        0") || !strings.Contains(out, "other  1        1") {
		t.Fatalf("hub list:\n%s", out)
	}
	if out := cli("directory", "list"); strings.Count(out, "\nY0000") != 4 {
		t.Fatalf("directory list:\n%s", out)
	}

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
	if out := cli("slots", "--hub", "other", "--start", "tomorrow", "--end", "tomorrow"); !strings.Contains(out, "Y99999") || !strings.Contains(out, "unknown") {
		t.Fatalf("slots table should report the unknown practice:\n%s", out)
	}

	p := s.Patients[1]
	ref := res.Slots[len(res.Slots)/2].Ref
	out := cli("book", "--hub", "pcn", "--slot", ref, "--patient", p.NHSNumber, "--family", p.Family, "--given", p.Given, "--gender", p.Gender, "--birth-date", p.BirthDate)
	if !strings.Contains(out, "registered "+p.NHSNumber) || !strings.Contains(out, "booked ") {
		t.Fatalf("book:\n%s", out)
	}
	appt := strings.Fields(out[strings.Index(out, "booked ")+len("booked "):])[0]
	if out := cli("book", "amend", "--hub", "pcn", "--appointment", appt, "--comment", "Wheelchair access"); !strings.Contains(out, "amended") {
		t.Fatalf("amend:\n%s", out)
	}
	if out := cli("book", "list", "--hub", "pcn", "--patient", p.NHSNumber); !strings.Contains(out, "1 appointments") || !strings.Contains(out, appt) {
		t.Fatalf("list:\n%s", out)
	}
	if out := cli("book", "cancel", "--hub", "pcn", "--appointment", appt, "--reason", "Recovered"); !strings.Contains(out, "cancelled") {
		t.Fatalf("cancel:\n%s", out)
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
	ctx := context.Background()
	db := dbConfig{data: t.TempDir(), sync: "NORMAL"}
	st, err := db.open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, err := withMounts(st, slog.New(slog.NewTextHandler(io.Discard, nil)), http.NotFoundHandler())
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
		req.RemoteAddr = "127.0.0.1:5555"
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("GET %s: %d, want %d: %s", path, rec.Code, want, rec.Body)
		}
	}
}

// TestBenchFanoutRuns runs a tiny bench fanout end to end (child simulator,
// both phases, table and JSON). It checks the report's shape, not the figures.
func TestBenchFanoutRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child simulator; skipped with -short")
	}
	t.Setenv("SLOTBRIDGE_TEST_AS_MAIN", "1")
	var out, errb bytes.Buffer
	args := []string{"--sizes", "3,5", "--rounds", "2", "--throughput-for", "200ms", "--practice-timeout", "300ms", "--latency", "5ms", "--json"}
	if err := runBenchFanout(context.Background(), args, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	var rep struct {
		Results []fanoutRow `json:"results"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if len(rep.Results) != 2 || rep.Results[1].Practices != 5 || rep.Results[1].SlotsPerFanOut < 5*20 || rep.Results[1].Goals == "" {
		t.Fatalf("report: %+v", rep.Results)
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
