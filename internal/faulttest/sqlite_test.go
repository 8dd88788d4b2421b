package faulttest

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/store"
)

// TestSQLiteDiskFull fills the SQLite database (its max_page_count is capped
// at its current size, which SQLite reports exactly as a full disk) while
// booking. The booking that does not fit gets a 500 OperationOutcome that
// says the database is unavailable and names nothing internal; reads go on;
// nothing half-written is left; once there is room again the same server
// books again, and the failed request's audit row, held back while the disk
// was full, is written.
func TestSQLiteDiskFull(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(context.Background(), store.Config{Path: filepath.Join(dir, "slotbridge.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	prov, srv := inProcess(t, st)
	ctx := context.Background()
	targets := freeTargets(t, st, 400)
	patient := patientID(t, st)
	run := fmt.Sprintf("full-%d", time.Now().UnixNano())
	description := "Fault test " + run
	b := newBookings()
	next := 0
	bookNext := func() reply {
		tg := targets[next]
		next++
		b.mu.Lock()
		b.sent[tg.SlotID] = true
		b.mu.Unlock()
		r, err := call(ctx, srv.URL, http.MethodPost, "Appointment", gpconnect.CreateAppointment, fmt.Sprintf("%s-%d", run, tg.SlotID), bookBody(tg, patient, description), nil)
		if err != nil {
			t.Fatalf("book: %v", err)
		}
		b.mu.Lock()
		b.statuses[fmt.Sprintf("%d %s", r.status, spineCode(r.body))]++
		b.mu.Unlock()
		if r.status == http.StatusCreated {
			id, err := appointmentID(r.header)
			if err != nil {
				t.Fatal(err)
			}
			b.mu.Lock()
			b.created[id] = tg.SlotID
			b.mu.Unlock()
		}
		return r
	}
	for range 5 {
		if r := bookNext(); r.status != http.StatusCreated {
			t.Fatalf("booking before the disk filled: %d %s", r.status, r.body)
		}
	}

	var pages int64
	if err := st.DB().GetContext(ctx, &pages, `PRAGMA page_count`); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetMaxPageCount(ctx, pages); err != nil {
		t.Fatal(err)
	}
	var full reply
	var fullSlot int64
	for next < len(targets)-1 {
		r := bookNext()
		if r.status != http.StatusCreated {
			full, fullSlot = r, targets[next-1].SlotID
			break
		}
	}
	if full.status == 0 {
		t.Fatalf("%d bookings fitted in a database capped at %d pages; the cap did not bite", next, pages)
	}
	if full.status != http.StatusInternalServerError || spineCode(full.body) != string(gpconnect.InternalServerError) {
		t.Fatalf("booking on a full disk: %d %s", full.status, full.body)
	}
	var oo struct {
		Issue []struct{ Diagnostics string } `json:"issue"`
	}
	json.Unmarshal(full.body, &oo)
	if len(oo.Issue) != 1 || !strings.Contains(oo.Issue[0].Diagnostics, "database is unavailable") {
		t.Errorf("the 500 does not say what is wrong: %s", full.body)
	}
	for _, leak := range []string{dir, "sqlite", "SQLITE", "(13)", "disk is full", ".db", "INSERT", "goroutine"} {
		if strings.Contains(string(full.body), leak) {
			t.Errorf("the 500 leaks %q: %s", leak, full.body)
		}
	}
	t.Logf("disk full after %d bookings (%d pages): %s", len(b.created), pages, full.body)

	// Reads still work on a full disk.
	for id := range b.created {
		r, err := call(ctx, srv.URL, http.MethodGet, "Appointment/"+strconv.FormatInt(id, 10), gpconnect.ReadAppointment, run+"-read", nil, nil)
		if err != nil || r.status != http.StatusOK {
			t.Fatalf("read on a full disk: %v %d %s", err, r.status, r.body)
		}
		break
	}
	var status string
	if err := st.DB().GetContext(ctx, &status, `SELECT status FROM slots WHERE id = ?`, fullSlot); err != nil || status != "free" {
		t.Errorf("the slot whose booking failed is %q (%v), want free", status, err)
	}
	checkSQLiteIntegrity(t, st)

	// Room again: the same server books again.
	if _, err := st.SetMaxPageCount(ctx, 1<<30); err != nil {
		t.Fatal(err)
	}
	if r := bookNext(); r.status != http.StatusCreated {
		t.Fatalf("booking after space came back: %d %s", r.status, r.body)
	}
	prov.Close() // flush the asynchronous audit writer, which retried through the full disk
	checkBookings(t, st, b, description, run)
	checkSQLiteIntegrity(t, st)
	var failedRows int
	st.DB().GetContext(ctx, &failedRows, `SELECT COUNT(*) FROM audit WHERE trace_id = ? AND status = 500`, fmt.Sprintf("%s-%d", run, fullSlot))
	if failedRows != 1 {
		t.Errorf("the failed booking has %d audit rows with status 500, want 1", failedRows)
	}
}

// readOnlyUser says how to run the server so that a directory without write
// permission really cannot be written: as ourselves when we are not root,
// or as the user "nobody" when we are (root ignores permission bits, so
// chmod alone would prove nothing). ok is false when neither is possible.
func readOnlyUser(t *testing.T) (cred *syscall.Credential, chown func(path string) error, why string) {
	if os.Geteuid() != 0 {
		return nil, func(string) error { return nil }, ""
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		return nil, nil, "running as root and there is no user nobody to run the server as: " + err.Error()
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, func(p string) error { return os.Lchown(p, uid, gid) }, ""
}

// worldDir makes a directory that an unprivileged user can reach (t.TempDir
// is under a directory only we can enter).
func worldDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "slotbridge-ro-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			os.Chmod(p, 0o755)
			return nil
		})
		os.RemoveAll(dir)
	})
	return dir
}

// TestSQLiteReadOnlyDataDirectory starts the server on a data directory,
// and on a database file, that it may not write. It must refuse to start
// with an error that says so, instead of opening the database read-only and
// failing every booking later, and the data must be untouched.
func TestSQLiteReadOnlyDataDirectory(t *testing.T) {
	cred, chown, why := readOnlyUser(t)
	if why != "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(why)
		}
		t.Skip(why)
	}
	for _, c := range []struct {
		name      string
		dirMode   fs.FileMode
		fileMode  fs.FileMode
		wantError string
	}{
		{"Directory", 0o555, 0o444, "is not writable"},
		{"DatabaseFile", 0o755, 0o444, "database file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := worldDir(t)
			data := filepath.Join(root, "data")
			// A database with bookings, made by a normal run and shut down cleanly.
			srv := startServe(t, serveOpts{args: []string{"--demo", "--data", data}})
			st, err := store.Open(context.Background(), store.Config{Path: filepath.Join(data, "slotbridge.db")})
			if err != nil {
				t.Fatal(err)
			}
			run := fmt.Sprintf("ro-%d", time.Now().UnixNano())
			description := "Fault test " + run
			b := newBookings()
			patient := patientID(t, st)
			for _, tg := range freeTargets(t, st, 5) {
				b.book(context.Background(), srv.base, tg, patient, fmt.Sprintf("%s-%d", run, tg.SlotID), description)
			}
			st.Close()
			if b.count201() != 5 {
				t.Fatalf("setup bookings: %v", b.statuses)
			}
			srv.stop(t)

			// Hand the files to the server's user, then take write permission away.
			err = filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if err := chown(p); err != nil {
					return err
				}
				if d.IsDir() {
					return os.Chmod(p, c.dirMode)
				}
				return os.Chmod(p, c.fileMode)
			})
			if err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, data)

			s, err := tryServe(t, serveOpts{args: []string{"--data", data}, cred: cred})
			if err == nil {
				t.Fatalf("the server started on a read-only %s; it should refuse", c.name)
			}
			if !strings.Contains(err.Error(), c.wantError) {
				t.Fatalf("the refusal does not say what is wrong (want %q): %v", c.wantError, err)
			}
			if s != nil && s.running() {
				t.Fatal("the server is still running")
			}
			if after := snapshot(t, data); after != before {
				t.Errorf("the read-only data changed:\nbefore %s\nafter  %s", before, after)
			}

			// The data is intact: open it normally again.
			filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
				return os.Chmod(p, 0o755)
			})
			st, err = store.Open(context.Background(), store.Config{Path: filepath.Join(data, "slotbridge.db")})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			checkSQLiteIntegrity(t, st)
			checkBookings(t, st, b, description, run)
		})
	}
}

// snapshot lists the files under a directory with their sizes and times
// (directories are left out: the server's write probe may touch their time).
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, fmt.Sprintf("%s %d %s", strings.TrimPrefix(p, dir), info.Size(), info.ModTime().Format(time.RFC3339Nano)))
		return nil
	})
	return strings.Join(out, "; ")
}
