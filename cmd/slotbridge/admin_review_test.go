package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// TestAdminExplainPeriod: explain answers for a consumer's slot search, so
// it refuses each period that search refuses (spec §5.1–5.3), naming the
// flag and saying the search would refuse it, and with a dateTime the
// offset of that date's season; date-only periods work as before.
func TestAdminExplainPeriod(t *testing.T) {
	c := newCLIFx(t, storetest.Engines(false)[0])
	for _, p := range [][2]string{{"2026-12-01", "2026-12-15"}, {"2026-12-08", "2026-12-08"}, {"2026-12-08T09:00:00+00:00", "2026-12-08T12:00:00+00:00"}} {
		if out := c.must("explain", "--ods", "A20047", "--start", p[0], "--end", p[1]); !strings.Contains(out, "slot(s) in the period") {
			t.Errorf("explain %s to %s:\n%s", p[0], p[1], out)
		}
	}
	for _, bad := range []struct {
		start, end string
		want       []string
	}{
		{"2026-12-08T09:00:00Z", "2026-12-09", []string{"--start", "refuse", "2026-12-08T09:00:00+00:00"}},
		{"2026-12-08T09:00:00", "2026-12-09", []string{"--start", "2026-12-08T09:00:00+00:00"}},
		{"2026-07-08", "2026-07-08T17:00:00", []string{"--end", "2026-07-08T17:00:00+01:00"}},
		{"2026-12-08T09:00:00+01:00", "2026-12-09", []string{"--start", "offset in force", "2026-12-08T09:00:00+00:00"}},
		{"2026-12-08T09:00:00.5+00:00", "2026-12-09", []string{"--start", "2026-12-08T09:00:00+00:00"}},
		{"2026-12-09", "2026-12-08", []string{"--start", "--end", "before its start"}},
		{"2026-12-01", "2026-12-16", []string{"max is 14 days"}},
	} {
		out, _, err := c.run("explain", "--ods", "A20047", "--start", bad.start, "--end", bad.end)
		if err == nil {
			t.Errorf("explain --start %s --end %s accepted:\n%s", bad.start, bad.end, out)
			continue
		}
		for _, w := range bad.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("explain --start %s --end %s: %q does not say %q", bad.start, bad.end, err, w)
			}
		}
	}
}

// TestAdminUsageListsEverySubcommand: `admin --help` names every subcommand
// runAdmin accepts (it lacked profiles get and slots get), and each one's
// --help answers.
func TestAdminUsageListsEverySubcommand(t *testing.T) {
	listed := map[string]map[string]bool{}
	for _, m := range regexp.MustCompile(`admin ([a-z]+) ([a-z|]+)`).FindAllStringSubmatch(adminUsage, -1) {
		if listed[m[1]] == nil {
			listed[m[1]] = map[string]bool{}
		}
		for _, sub := range strings.Split(m[2], "|") {
			listed[m[1]][sub] = true
		}
	}
	for group, subs := range adminSubcommands {
		for _, sub := range subs {
			if !listed[group][sub] {
				t.Errorf("admin --help does not list %q", "admin "+group+" "+sub)
			}
			if _, _, err := runShort(t, "admin", group, sub, "--help"); err != nil {
				t.Errorf("admin %s %s --help: %v", group, sub, err)
			}
		}
		for sub := range listed[group] {
			if !slices.Contains(subs, sub) {
				t.Errorf("admin --help lists %q, which does not exist", "admin "+group+" "+sub)
			}
		}
	}
}

// TestAdminSubcommandFlags: each subcommand's --help shows the flags it
// reads and no others, and refuses the others rather than ignore them.
func TestAdminSubcommandFlags(t *testing.T) {
	for _, c := range []struct {
		args     []string
		has, not []string
	}{
		{[]string{"explain"}, []string{"-start", "-org-type", "-ods", "-json", "-data"}, []string{"-horizon-weeks", "-id"}},
		{[]string{"templates", "create"}, []string{"-horizon-weeks", "-weekday", "-slot-minutes"}, []string{"-id"}},
		{[]string{"templates", "end"}, []string{"-horizon-weeks", "-id"}, []string{"-weekday"}},
		{[]string{"profiles", "list"}, []string{"-ods"}, []string{"-name", "-id", "-horizon-weeks", "-cap"}},
		{[]string{"profiles", "update"}, []string{"-id", "-name", "-release-days"}, []string{"-horizon-weeks"}},
		{[]string{"sessions", "block"}, []string{"-id"}, []string{"-slot-minutes", "-from", "-horizon-weeks"}},
		{[]string{"sessions", "add"}, []string{"-slot-minutes", "-date", "-service"}, []string{"-id", "-from"}},
		{[]string{"slots", "list"}, []string{"-session"}, []string{"-id", "-profile"}},
		{[]string{"token", "create"}, []string{"-label"}, []string{"-id"}},
		{[]string{"audit"}, []string{"-limit"}, []string{"-horizon-weeks"}},
	} {
		_, usage, err := runShort(t, append(append([]string{"admin"}, c.args...), "--help")...)
		if err != nil {
			t.Fatalf("admin %v --help: %v", c.args, err)
		}
		for _, f := range c.has {
			if !regexp.MustCompile(`(?m)^\s+` + f + `\b`).MatchString(usage) {
				t.Errorf("admin %v --help lacks %s:\n%s", c.args, f, usage)
			}
		}
		for _, f := range c.not {
			if regexp.MustCompile(`(?m)^\s+` + f + `\b`).MatchString(usage) {
				t.Errorf("admin %v --help shows %s, which it does not read:\n%s", c.args, f, usage)
			}
		}
	}
	if _, _, err := runShort(t, "admin", "profiles", "list", "--ods", "A20047", "--name", "x"); err == nil || !strings.Contains(err.Error(), "-name") {
		t.Errorf("profiles list --name: %v, want the flag refused", err)
	}
}

// TestAdminCLIErrorsNameFlags: a refusal the service words with the API's
// field names names the CLI's flags when it comes from the CLI.
func TestAdminCLIErrorsNameFlags(t *testing.T) {
	c := newCLIFx(t, storetest.Engines(false)[0])
	for _, bad := range []struct {
		args      []string
		want, not string
	}{
		{[]string{"profiles", "create", "--ods", "A20047", "--name", "r", "--release-days", "2"}, "--release-days needs a --release-time", "release_"},
		{[]string{"profiles", "create", "--ods", "A20047", "--name", "r", "--release-time", "8am"}, "--release-time must be HH:MM", "release_"},
		{[]string{"profiles", "create", "--ods", "A20047", "--name", "r", "--ods-codes", manyODSCodes(1001)}, "--ods-codes has 1001 codes", "ods_codes"},
		// A blank item is not dropped: "," would otherwise clear the restriction.
		{[]string{"profiles", "create", "--ods", "A20047", "--name", "r", "--ods-codes", ","}, "--ods-codes has an empty entry", "ods_codes"},
		{[]string{"profiles", "create", "--ods", "A20047", "--name", "r", "--org-types", "urgent-care, "}, "--org-types has an empty entry", "org_types"},
	} {
		out, _, err := c.run(bad.args...)
		if err == nil || !strings.Contains(err.Error(), bad.want) || strings.Contains(err.Error(), bad.not) {
			t.Errorf("admin %v: %v, want it to say %q", bad.args, err, bad.want)
		}
		if out, _, _ = c.run(append(bad.args, "--json")...); !strings.Contains(out, bad.want) {
			t.Errorf("admin %v --json: error body %s, want it to say %q", bad.args, out, bad.want)
		}
	}
}

// manyODSCodes is n distinct ODS codes, comma-separated.
func manyODSCodes(n int) string {
	codes := make([]string, n)
	for i := range codes {
		codes[i] = fmt.Sprintf("X%05d", i)
	}
	return strings.Join(codes, ",")
}

// TestAdminTokenLabel: a label with a control character is refused, so the
// token list stays one row per token.
func TestAdminTokenLabel(t *testing.T) {
	c := newCLIFx(t, storetest.Engines(false)[0])
	if _, _, err := c.run("token", "create", "--ods", "A20047", "--label", "a\nb"); err == nil || !strings.Contains(err.Error(), "label") {
		t.Fatalf("token create --label with a newline: %v, want a refusal naming the label", err)
	}
	c.must("token", "create", "--ods", "A20047", "--label", "front desk")
	if out := c.must("token", "list", "--ods", "A20047"); strings.Count(out, "\n") != 2 || !strings.Contains(out, "front desk") {
		t.Fatalf("token list:\n%s", out)
	}
}

// TestAdminSlotCancelIsBlock: there is no slot cancel; the usage says a
// slot is withdrawn by blocking it, and "slots cancel" points there.
func TestAdminSlotCancelIsBlock(t *testing.T) {
	if !strings.Contains(adminUsage, "withdrawn by blocking it") {
		t.Errorf("admin --help does not say how a slot is cancelled:\n%s", adminUsage)
	}
	if _, _, err := runShort(t, "admin", "slots", "cancel", "--ods", "A20047", "--id", "1"); err == nil || !strings.Contains(err.Error(), "admin slots block") {
		t.Errorf("admin slots cancel: %v, want it to point at slots block", err)
	}
}

// TestAdminPractitionersAndLocationsCLI: the CLI adds and corrects a
// practice's clinicians and sites; a refusal names the CLI's flags, and an
// address change from --city alone keeps the lines.
func TestAdminPractitionersAndLocationsCLI(t *testing.T) {
	c := newCLIFx(t, storetest.Engines(false)[0])
	out := c.must("practitioners", "create", "--ods", "A20047", "--sds-id", "G12121212", "--family", "Locum", "--given", "Lee", "--prefix", "Dr", "--gender", "female")
	if !strings.Contains(out, "G12121212") || !strings.Contains(out, "Dr Lee Locum") {
		t.Fatalf("practitioners create:\n%s", out)
	}
	if _, _, err := c.run("practitioners", "create", "--ods", "A20047", "--sds-id", "G 1", "--family", "X"); err == nil || !strings.Contains(err.Error(), "--sds-id") {
		t.Errorf("bad SDS id: %v, want the flag named", err)
	}
	if out = c.must("practitioners", "list", "--ods", "A20047"); !strings.Contains(out, "Dr Lee Locum") {
		t.Fatalf("practitioners list:\n%s", out)
	}
	out = c.must("locations", "create", "--ods", "A20047", "--name", "Branch", "--line", "1 High Street", "--line", "Flat 2", "--city", "Leeds", "--postcode", "ls1 4ap")
	if !strings.Contains(out, "1 High Street, Flat 2, Leeds, LS1 4AP") {
		t.Fatalf("locations create:\n%s", out)
	}
	id := strings.Fields(strings.Split(out, "\n")[1])[0]
	if out = c.must("locations", "update", "--ods", "A20047", "--id", id, "--city", "York"); !strings.Contains(out, "1 High Street, Flat 2, York, LS1 4AP") {
		t.Fatalf("locations update --city:\n%s", out)
	}
	if _, _, err := c.run("locations", "update", "--ods", "A20047", "--id", id, "--site-code", "Z1"); err == nil || !strings.Contains(err.Error(), "--site-code") {
		t.Errorf("bad site code: %v, want the flag named", err)
	}
	if _, _, err := c.run("locations", "delete", "--ods", "A20047", "--id", id); err == nil {
		t.Error("locations delete should not exist")
	}
}

// TestAdminPracticesCLI: an operator adds a practice from the CLI and is
// told what comes next; practices list takes no --ods.
func TestAdminPracticesCLI(t *testing.T) {
	c := newCLIFx(t, storetest.Engines(false)[0])
	out := c.must("practices", "create", "--ods", "Y12345", "--name", "New Surgery", "--asid", "918999100001", "--postcode", "ls1 1aa")
	if !strings.Contains(out, "Y12345 (New Surgery): GP Connect off") || !strings.Contains(out, "admin enable --ods Y12345") {
		t.Fatalf("practices create:\n%s", out)
	}
	if out = c.must("practices", "list"); !strings.Contains(out, "918999100001") || !strings.Contains(out, "A20047") {
		t.Fatalf("practices list:\n%s", out)
	}
	if _, _, err := c.run("practices", "list", "--ods", "A20047"); err == nil {
		t.Error("practices list --ods should be refused")
	}
	if _, _, err := c.run("practices", "create", "--ods", "Y12345", "--name", "x", "--asid", "918999100002"); err == nil || !strings.Contains(err.Error(), "exists already") {
		t.Errorf("second create: %v", err)
	}
}

// TestAdminPDSImport: the operator loads the PDS stand-in from CSV, whole
// or not at all; a record with the same NHS number is replaced.
func TestAdminPDSImport(t *testing.T) {
	c := newCLIFx(t, storetest.Engines(false)[0])
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.csv", "nhs_number,family,given,gender,birth_date,deceased\n9651258500,Rea,Clive James,MALE,1951-03-10,\n9990000018,Smith,Ann,female,1980-01-02,\n")
	if out := c.must("pds", "import", "--file", good); !strings.Contains(out, "loaded 2 people") {
		t.Fatalf("pds import:\n%s", out)
	}
	p, err := c.st.PDSLookup(context.Background(), "9651258500")
	if err != nil || p.Family != "Rea" || p.Gender != "male" || len(p.Given) != 1 || p.Given[0] != "Clive James" {
		t.Fatalf("PDS record after import: %+v, %v", p, err)
	}
	bad := write("bad.csv", "nhs_number,family,given,gender,birth_date\n9651258500,Changed,X,male,1951-03-10\n1234567890,X,Y,male,1990-01-01\n9990000018,,Y,male,1990-01-01\n9990000026,Z,Y,bloke,1990-13-01\n")
	_, _, err = c.run("pds", "import", "--file", bad)
	for _, want := range []string{"line 3: \"1234567890\" is not a valid NHS number", "line 4: family is required", "line 5: gender"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("bad file: %v, want it to say %q", err, want)
		}
	}
	if p, _ := c.st.PDSLookup(context.Background(), "9651258500"); p == nil || p.Family != "Rea" {
		t.Fatalf("a refused file changed the stand-in: %+v", p)
	}
	if _, _, err := c.run("pds", "import", "--file", write("h.csv", "nhs,name\n")); err == nil || !strings.Contains(err.Error(), "header") {
		t.Errorf("wrong header: %v", err)
	}
}
