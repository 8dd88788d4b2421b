package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slotbridge/slotbridge/federation/sim"
)

// startSim starts a simulated federation for the test and writes its
// directory file (with hub hubName, unless empty) into a fresh temporary
// directory; data is the --data flag of a data directory beside it.
func startSim(t *testing.T, cfg sim.Config, hubName string) (s *sim.Sim, file, data string) {
	t.Helper()
	s, err := sim.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	dir := t.TempDir()
	file = filepath.Join(dir, "directory.json")
	if err := s.WriteDirectory(file, hubName); err != nil {
		t.Fatal(err)
	}
	return s, file, "--data=" + filepath.Join(dir, "data")
}

// bookSim is a simulated federation of n practices with sessions for the
// next days, imported as hub "pcn" into a fresh data directory. cli runs a
// command on it and fails the test on an error; try returns the error.
func bookSim(t *testing.T, n, days int) (s *sim.Sim, cli func(args ...string) string, try func(args ...string) (string, error)) {
	t.Helper()
	ctx := context.Background()
	s, file, data := startSim(t, sim.Config{Practices: n, Days: days, MinSlots: 20, MaxSlots: 20, Seed: 5}, "pcn")
	try = func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		err := run(ctx, append(args, data), &out, &errb)
		return out.String(), err
	}
	cli = func(args ...string) string {
		t.Helper()
		out, err := try(args...)
		if err != nil {
			t.Fatalf("slotbridge %s: %v", strings.Join(args, " "), err)
		}
		return out
	}
	cli("directory", "import", file)
	return s, cli, try
}

// slotRefs are the refs of the slots `slots --json` prints for the range.
func slotRefs(t *testing.T, cli func(args ...string) string, args ...string) []string {
	t.Helper()
	var res struct {
		Slots []struct {
			Ref string `json:"ref"`
		} `json:"slots"`
	}
	if err := json.Unmarshal([]byte(cli(append([]string{"slots", "--hub", "pcn", "--json"}, args...)...)), &res); err != nil {
		t.Fatal(err)
	}
	var refs []string
	for _, s := range res.Slots {
		refs = append(refs, s.Ref)
	}
	return refs
}

// TestBookCommandRange: a slot `slots` listed 40 days out is booked without
// --to, and `book list` without a range shows that booking; a reversed
// list range is named as reversed.
func TestBookCommandRange(t *testing.T) {
	s, cli, try := bookSim(t, 1, 45)
	refs := slotRefs(t, cli, "--start", "+40d", "--end", "+44d")
	if len(refs) == 0 {
		t.Fatal("no slots 40 to 44 days out")
	}
	p := s.Patients[0]
	out := cli("book", "--hub", "pcn", "--slot", refs[0], "--patient", p.NHSNumber, "--family", p.Family, "--given", p.Given,
		"--gender", p.Gender, "--birth-date", p.BirthDate)
	if !strings.Contains(out, "booked ") {
		t.Fatalf("book:\n%s", out)
	}
	appt := strings.Fields(out[strings.Index(out, "booked ")+len("booked "):])[0]
	if out := cli("book", "list", "--hub", "pcn", "--patient", p.NHSNumber); !strings.Contains(out, "1 appointment for") || !strings.Contains(out, appt) {
		t.Fatalf("book list does not show %s:\n%s", appt, out)
	}
	if _, err := try("book", "list", "--hub", "pcn", "--patient", p.NHSNumber, "--from", "+10d", "--to", "+5d"); err == nil || !strings.Contains(err.Error(), "reversed") {
		t.Fatalf("book list --from +10d --to +5d: %v, want the range named as reversed", err)
	}
}

// TestBookCommandTakenSlot: a slot another patient booked is reported as
// not free, with the range and organisation type searched and the flags
// that change them.
func TestBookCommandTakenSlot(t *testing.T) {
	s, cli, try := bookSim(t, 1, 3)
	refs := slotRefs(t, cli, "--start", "tomorrow", "--end", "tomorrow")
	if len(refs) == 0 {
		t.Fatal("no slots tomorrow")
	}
	book := func(i int) (string, error) {
		p := s.Patients[i]
		return try("book", "--hub", "pcn", "--slot", refs[0], "--patient", p.NHSNumber, "--family", p.Family, "--given", p.Given,
			"--gender", p.Gender, "--birth-date", p.BirthDate)
	}
	if _, err := book(0); err != nil {
		t.Fatal(err)
	}
	_, err := book(1)
	if err == nil {
		t.Fatal("a taken slot was booked again")
	}
	for _, want := range []string{"conflict", "slot " + refs[0] + " is not free", "no organisation type", "--from/--to", "--org-type"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("booking a taken slot: %v\nwant it to say %q", err, want)
		}
	}
}

// TestBookCommandInteractions: after `directory set ODS --interactions
// patient.search`, book refuses that practice naming what its entry lacks,
// and registers nothing there (a later book, once the entry lists every
// interaction again, is the one that registers the patient); book list
// reports the practice as disabled, and fails when every member does.
func TestBookCommandInteractions(t *testing.T) {
	s, cli, try := bookSim(t, 2, 3)
	var ref string
	for _, r := range slotRefs(t, cli, "--start", "tomorrow", "--end", "tomorrow") {
		if strings.HasPrefix(r, "Y00002/") {
			ref = r
			break
		}
	}
	if ref == "" {
		t.Fatal("no slot at Y00002 tomorrow")
	}
	p := s.Patients[0]
	book := []string{"book", "--hub", "pcn", "--slot", ref, "--patient", p.NHSNumber, "--family", p.Family, "--given", p.Given,
		"--gender", p.Gender, "--birth-date", p.BirthDate}
	cli("directory", "set", "Y00002", "--interactions", "patient.search")
	if out := cli("slots", "--hub", "pcn", "--start", "tomorrow", "--end", "tomorrow"); !strings.Contains(out, "Y00002  disabled") {
		t.Fatalf("slots should report Y00002 disabled:\n%s", out)
	}
	_, err := try(book...)
	if err == nil || !strings.Contains(err.Error(), "forbidden") || !strings.Contains(err.Error(), "slot.search") || !strings.Contains(err.Error(), "appointment.book") {
		t.Fatalf("book at Y00002: %v, want a refusal naming slot.search and appointment.book", err)
	}
	if out := cli("book", "list", "--hub", "pcn", "--patient", p.NHSNumber); !strings.Contains(out, "failed: Y00002: disabled") || !strings.Contains(out, "appointment.retrieve") {
		t.Fatalf("book list should report Y00002 disabled for want of appointment.retrieve:\n%s", out)
	}
	// Every member failing is an outage, not "no appointments": exit 1.
	cli("directory", "set", "Y00001", "--interactions", "patient.search")
	for _, asJSON := range [][]string{nil, {"--json"}} {
		if _, err := try(append([]string{"book", "list", "--hub", "pcn", "--patient", p.NHSNumber}, asJSON...)...); err == nil || !strings.Contains(err.Error(), "no practice of hub pcn answered (2 failed)") {
			t.Fatalf("book list %v with every member failing: %v, want an error", asJSON, err)
		}
	}
	cli("directory", "set", "Y00001", "--interactions", "")
	cli("directory", "set", "Y00002", "--interactions", "all") // as directory list shows it
	if out := cli("directory", "list"); strings.Count(out, " all") < 2 {
		t.Fatalf("directory list after --interactions all:\n%s", out)
	}
	if out := cli(book...); !strings.Contains(out, "registered "+p.NHSNumber+" at Y00002") || !strings.Contains(out, "booked ") {
		t.Fatalf("book once every interaction is listed should register the patient (nothing was registered before):\n%s", out)
	}
}

// TestPlaceholderUserNoted: slots and book say on stderr when their tokens
// name the built-in user rather than a logged-on one (spec §3.2), and say
// nothing once --user and --user-name name the user.
func TestPlaceholderUserNoted(t *testing.T) {
	t.Setenv("SLOTBRIDGE_CONSUMER_USER", "")
	t.Setenv("SLOTBRIDGE_CONSUMER_USER_NAME", "")
	ctx := context.Background()
	_, file, data := startSim(t, sim.Config{Practices: 1, Days: 1, MinSlots: 5, MaxSlots: 5, Seed: 5}, "pcn")
	stderrOf := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if err := run(ctx, append(args, data), &out, &errb); err != nil {
			t.Fatalf("slotbridge %s: %v", strings.Join(args, " "), err)
		}
		return errb.String()
	}
	stderrOf("directory", "import", file)
	if e := stderrOf("slots", "--hub", "pcn", "--start", "tomorrow", "--end", "tomorrow"); !strings.Contains(e, "placeholder user hub-user") || !strings.Contains(e, "--user-name") {
		t.Fatalf("slots with the built-in user, stderr:\n%s", e)
	}
	if e := stderrOf("book", "list", "--hub", "pcn", "--patient", "9658218865"); !strings.Contains(e, "placeholder user hub-user") {
		t.Fatalf("book list with the built-in user, stderr:\n%s", e)
	}
	if e := stderrOf("slots", "--hub", "pcn", "--start", "tomorrow", "--end", "tomorrow", "--user", "u7", "--user-name", "Ann Jones"); strings.Contains(e, "placeholder") {
		t.Fatalf("slots with a named user, stderr:\n%s", e)
	}
	if e := stderrOf("slots", "--hub", "pcn", "--start", "tomorrow", "--end", "tomorrow", "--user", "u7"); !strings.Contains(e, "placeholder") {
		t.Fatalf("slots with an id under the placeholder name, stderr:\n%s", e)
	}
}
