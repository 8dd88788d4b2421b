package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/slotbridge/slotbridge/internal/store"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// hubCLI runs the hub and directory commands on a fresh database of engine
// e: SQLite under a temporary --data, or a fresh PostgreSQL database.
type hubCLI struct {
	t  *testing.T
	db string
}

func newHubCLI(t *testing.T, e storetest.Engine) *hubCLI {
	if e.Engine == store.EngineSQLite {
		return &hubCLI{t: t, db: "--data=" + t.TempDir()}
	}
	dsn, drop := storetest.FreshDatabase(t)
	t.Cleanup(drop)
	return &hubCLI{t: t, db: "--database=" + dsn}
}

// on is c reporting to t, for use inside a subtest.
func (c *hubCLI) on(t *testing.T) *hubCLI { return &hubCLI{t: t, db: c.db} }

// run runs one command and returns its stdout, stderr and error.
func (c *hubCLI) run(args ...string) (string, string, error) {
	var out, errb bytes.Buffer
	err := run(context.Background(), append(args, c.db), &out, &errb)
	return out.String(), errb.String(), err
}

// ok runs one command that must succeed and returns its stdout and stderr.
func (c *hubCLI) ok(args ...string) (string, string) {
	c.t.Helper()
	out, errs, err := c.run(args...)
	if err != nil {
		c.t.Fatalf("slotbridge %s: %v\n%s", strings.Join(args, " "), err, errs)
	}
	return out, errs
}

// members reads the hub's members through hub list --json.
func (c *hubCLI) members(hub string) []string {
	c.t.Helper()
	out, _ := c.ok("hub", "list", "--json")
	var hubs []struct {
		Name    string   `json:"name"`
		Members []string `json:"members"`
	}
	if err := json.Unmarshal([]byte(out), &hubs); err != nil {
		c.t.Fatalf("hub list --json: %v\n%s", err, out)
	}
	for _, h := range hubs {
		if h.Name == hub {
			return h.Members
		}
	}
	c.t.Fatalf("no hub %q in %s", hub, out)
	return nil
}

// directory reads the directory's ODS codes through directory list --json.
func (c *hubCLI) directory() []string {
	c.t.Helper()
	out, _ := c.ok("directory", "list", "--json")
	var f struct {
		Endpoints []struct {
			ODS string `json:"ods"`
		} `json:"endpoints"`
	}
	if err := json.Unmarshal([]byte(out), &f); err != nil {
		c.t.Fatalf("directory list --json: %v\n%s", err, out)
	}
	var codes []string
	for _, e := range f.Endpoints {
		codes = append(codes, e.ODS)
	}
	return codes
}

func (c *hubCLI) setEndpoint(ods string) {
	c.t.Helper()
	c.ok("directory", "set", ods, "--url", "http://127.0.0.1:9/"+ods+"/STU3/1/gpconnect", "--asid", "918999198999")
}

// TestHubRemovalAllOrNothing: hub remove-practice and directory remove
// change nothing when any code given is not a member (not in the
// directory), as add-practice and import refuse as a whole; on every engine.
func TestHubRemovalAllOrNothing(t *testing.T) {
	for _, e := range storetest.Engines(false) {
		t.Run(e.Name, func(t *testing.T) {
			c := newHubCLI(t, e)
			c.ok("hub", "create", "pcn2")
			c.ok("hub", "add-practice", "pcn2", "Y00001", "Y00002", "Y00003")

			t.Run("ErrOneNotMember", func(t *testing.T) {
				c := c.on(t)
				_, _, err := c.run("hub", "remove-practice", "pcn2", "Y00001", "Y00077")
				if err == nil || !strings.Contains(err.Error(), "Y00077") || !strings.Contains(err.Error(), "nothing was removed") {
					t.Fatalf("err = %v, want Y00077 named and nothing removed", err)
				}
				if got, want := c.members("pcn2"), []string{"Y00001", "Y00002", "Y00003"}; !reflect.DeepEqual(got, want) {
					t.Fatalf("members %v, want %v", got, want)
				}
			})
			t.Run("ErrEveryMissingCodeNamed", func(t *testing.T) {
				c := c.on(t)
				_, _, err := c.run("hub", "remove-practice", "pcn2", "Y99999", "Y00001", "Y00088")
				if err == nil || !strings.Contains(err.Error(), "Y99999") || !strings.Contains(err.Error(), "Y00088") || strings.Contains(err.Error(), "Y00001") {
					t.Fatalf("err = %v, want Y99999 and Y00088 named (and not Y00001)", err)
				}
				if got := c.members("pcn2"); len(got) != 3 {
					t.Fatalf("members %v, want all three kept", got)
				}
			})
			t.Run("OK", func(t *testing.T) {
				c := c.on(t)
				// A code given twice is removed once, and reported once.
				out, _ := c.ok("hub", "remove-practice", "pcn2", "Y00002", "Y00001", "Y00002")
				if !strings.Contains(out, `hub "pcn2": removed Y00002 Y00001`+"\n") {
					t.Fatalf("remove-practice said:\n%s", out)
				}
				if got, want := c.members("pcn2"), []string{"Y00003"}; !reflect.DeepEqual(got, want) {
					t.Fatalf("members %v, want %v", got, want)
				}
			})

			c.setEndpoint("Y00050")
			c.setEndpoint("Y00051")
			t.Run("ErrDirectoryOneMissing", func(t *testing.T) {
				c := c.on(t)
				_, _, err := c.run("directory", "remove", "Y00050", "Y99998")
				if err == nil || !strings.Contains(err.Error(), "Y99998") || !strings.Contains(err.Error(), "nothing was removed") {
					t.Fatalf("err = %v, want Y99998 named and nothing removed", err)
				}
				if got, want := c.directory(), []string{"Y00050", "Y00051"}; !reflect.DeepEqual(got, want) {
					t.Fatalf("directory %v, want %v", got, want)
				}
			})
			t.Run("DirectoryOK", func(t *testing.T) {
				c := c.on(t)
				out, _ := c.ok("directory", "remove", "Y00051", "Y00050", "Y00051")
				if !strings.Contains(out, "directory: removed Y00051 Y00050\n") {
					t.Fatalf("directory remove said:\n%s", out)
				}
				if got := c.directory(); len(got) != 0 {
					t.Fatalf("directory %v, want empty", got)
				}
			})
		})
	}
}

// TestHubAddPracticeReport: add-practice reports each code once, in the
// one line that is true of it, and says so when nothing was new.
func TestHubAddPracticeReport(t *testing.T) {
	c := newHubCLI(t, storetest.Engines(false)[0])
	c.setEndpoint("Y00001")
	c.setEndpoint("Y00002")
	c.ok("hub", "create", "pcn2")
	c.ok("hub", "add-practice", "pcn2", "Y00001")

	out, _ := c.ok("hub", "add-practice", "pcn2", "Y00001", "Y00002", "Y00002")
	if !strings.Contains(out, `hub "pcn2": added Y00002`+"\n") || !strings.Contains(out, "already members: Y00001\n") || strings.Count(out, "Y00002") != 1 {
		t.Fatalf("a new code given twice is added once and reported once:\n%s", out)
	}
	out, _ = c.ok("hub", "add-practice", "pcn2", "Y00002", "Y00001")
	if strings.Contains(out, "added Y") || !strings.Contains(out, `hub "pcn2": nothing added`+"\n") || !strings.Contains(out, "already members: Y00002 Y00001\n") {
		t.Fatalf("nothing new should say so:\n%s", out)
	}
	if got, want := c.members("pcn2"), []string{"Y00001", "Y00002"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("members %v, want %v", got, want)
	}
}

// TestHubRemoveWarnsOfBookings: removing a practice from a hub warns, on
// stderr, that the hub no longer reaches the appointments it booked there.
func TestHubRemoveWarnsOfBookings(t *testing.T) {
	c := newHubCLI(t, storetest.Engines(false)[0])
	c.ok("hub", "create", "big")
	c.ok("hub", "add-practice", "big", "Y00002", "Y00003")
	out, errs := c.ok("hub", "remove-practice", "big", "Y00002")
	if strings.Contains(out, "warning") {
		t.Fatalf("the warning belongs on stderr, not with the result:\n%s", out)
	}
	if !strings.Contains(errs, "warning:") || !strings.Contains(errs, "Y00002") || !strings.Contains(errs, "no longer") || !strings.Contains(errs, "book list") {
		t.Fatalf("no warning about the appointments booked at Y00002:\n%s", errs)
	}
	// A refused removal removed nothing, and warns of nothing.
	if _, errs, err := c.run("hub", "remove-practice", "big", "Y00003", "Y00077"); err == nil || strings.Contains(errs, "warning") {
		t.Fatalf("refused removal: err %v, stderr:\n%s", err, errs)
	}
}

// TestSlotsEmptyHub: a search of a hub with no members says so on stderr
// and exits non-zero, rather than printing an empty table as if the
// practices had no capacity.
func TestSlotsEmptyHub(t *testing.T) {
	c := newHubCLI(t, storetest.Engines(false)[0])
	c.ok("hub", "create", "empty")
	for _, extra := range [][]string{nil, {"--json"}} {
		out, errs, err := c.run(append([]string{"slots", "--hub", "empty", "--start", "tomorrow", "--end", "tomorrow"}, extra...)...)
		if err == nil || !strings.Contains(err.Error(), `hub "empty" has no member practices`) || !strings.Contains(err.Error(), "hub add-practice empty") {
			t.Fatalf("slots %v on an empty hub: err %v\nstdout:\n%s\nstderr:\n%s", extra, err, out, errs)
		}
		if extra != nil && !json.Valid([]byte(out)) {
			t.Fatalf("slots --json on an empty hub printed no JSON:\n%s", out)
		}
		if extra == nil && strings.Contains(out, "START") {
			t.Fatalf("slots on an empty hub printed an empty table:\n%s", out)
		}
	}
}

// TestUnreadFlagsRefused: the federation subcommands share a flag set per
// command, so a flag meant for another subcommand would be parsed and then
// ignored (directory import --disabled imported the practices enabled).
// It is refused before anything is opened, naming the subcommands that read it.
func TestUnreadFlagsRefused(t *testing.T) {
	for _, c := range []struct {
		args []string
		flag string
	}{
		{[]string{"directory", "import", "sim.json", "--disabled"}, "--disabled"},
		{[]string{"directory", "list", "--asid", "5"}, "--asid"},
		{[]string{"directory", "remove", "Q9", "--url", "http://x"}, "--url"},
		{[]string{"directory", "set", "Q9", "--hub", "h"}, "--hub"},
		{[]string{"hub", "create", "h", "--json"}, "--json"},
		{[]string{"book", "list", "--hub", "h", "--patient", "9658218865", "--reason", "x"}, "--reason"},
		{[]string{"book", "cancel", "--hub", "h", "--appointment", "A/1", "--reason", "x", "--slot", "A/2"}, "--slot"},
		{[]string{"book", "--hub", "h", "--slot", "A/2", "--patient", "9658218865", "--appointment", "A/1"}, "--appointment"},
		{[]string{"book", "amend", "--hub", "h", "--appointment", "A/1", "--comment", "c", "--from", "today"}, "--from"},
	} {
		dir := t.TempDir()
		_, _, err := runShort(t, append(c.args, "--data", dir)...)
		if err == nil || !strings.Contains(err.Error(), c.flag+" is not read here") {
			t.Errorf("%s: %v, want %s refused", strings.Join(c.args, " "), err, c.flag)
		}
		if _, statErr := os.Stat(filepath.Join(dir, "slotbridge.db")); statErr == nil {
			t.Errorf("%s: a database was created before the flag was refused", strings.Join(c.args, " "))
		}
	}
	// The flags each subcommand reads are still taken (here failing later, on the missing database or hub).
	for _, args := range [][]string{
		{"directory", "list", "--json"},
		{"book", "list", "--hub", "h", "--patient", "9658218865", "--from", "today", "--json"},
		{"book", "cancel", "--hub", "h", "--appointment", "A/1", "--reason", "x"},
	} {
		if _, _, err := runShort(t, append(args, "--data", t.TempDir())...); err != nil && strings.Contains(err.Error(), "is not read here") {
			t.Errorf("%s: %v", strings.Join(args, " "), err)
		}
	}
}
