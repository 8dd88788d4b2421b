package faulttest

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/store"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// freeze stops (SIGSTOP) or resumes (SIGCONT) every process of the cluster:
// the postmaster and its children. Stopped, PostgreSQL keeps its sockets
// open and answers nothing, as a hung host or a black-holing network does;
// a refused connection is another fault (TestPostgresRestartDuringLoad).
func (c *pgCluster) freeze(t *testing.T, sig syscall.Signal) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(c.data, "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	if err != nil {
		t.Fatalf("postmaster.pid: %v", err)
	}
	pids := []int{pid}
	out, _ := exec.Command("pgrep", "-P", strconv.Itoa(pid)).Output()
	for _, f := range strings.Fields(string(out)) {
		if n, err := strconv.Atoi(f); err == nil {
			pids = append(pids, n)
		}
	}
	for i, p := range pids {
		// A backend may have ended since pgrep listed it (ESRCH); the
		// postmaster may not.
		if err := syscall.Kill(p, sig); err != nil && (i == 0 || err != syscall.ESRCH) {
			t.Fatalf("signal %v to %d: %v", sig, p, err)
		}
	}
}

// TestPostgresStopsAnswering freezes PostgreSQL under a running server (pgx,
// the default driver). While it answers nothing: /healthz says 503 within
// its own bound, a booking gets the 500 "database unavailable"
// OperationOutcome once --request-timeout has passed rather than hanging,
// and SIGTERM ends the server (the audit it could not write is given up
// after its bound and counted in the log). Every wait in the test is far
// longer than the bounds it checks: it shows the server answers and exits,
// not how fast.
func TestPostgresStopsAnswering(t *testing.T) {
	if os.Getenv(storetest.EnvURL) == "" {
		mustRunOrSkip(t, storetest.EnvURL+" is not set: PostgreSQL fault tests are off")
	}
	if _, err := exec.LookPath("pgrep"); err != nil {
		mustRunOrSkip(t, "pgrep is not installed: it finds the PostgreSQL processes to freeze")
	}
	c := startCluster(t)
	admin, err := sql.Open("pgx", c.url("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE hang"); err != nil {
		t.Fatal(err)
	}
	admin.Close() // its connection must not be frozen with the cluster's
	url := c.url("hang")
	srv := startServe(t, serveOpts{args: []string{"--demo", "--database", url, "--request-timeout", "3s"}})
	st, err := store.Open(context.Background(), store.Config{URL: url, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	targets := freeTargets(t, st, 1)
	patient := patientID(t, st)
	st.Close()
	// A search first, so the server holds open connections to freeze.
	if r, err := call(context.Background(), srv.base, "GET", "Patient?identifier="+gpconnect.SystemNHSNumber+"|"+patientNHS,
		gpconnect.SearchPatient, "hang-warm", nil, nil); err != nil || r.status != 200 {
		t.Fatalf("before the freeze: %v %d %s", err, r.status, r.body)
	}

	// Thawed however the test ends: a stopped cluster would hold up its own cleanup.
	thawed := false
	thaw := func() {
		if !thawed {
			thawed = true
			c.freeze(t, syscall.SIGCONT)
		}
	}
	defer thaw()
	c.freeze(t, syscall.SIGSTOP)

	hc := &http.Client{Timeout: requestTimeout}
	resp, err := hc.Get(srv.base + "/healthz")
	if err != nil {
		t.Fatalf("/healthz with PostgreSQL frozen: %v (want a 503, not a hang)", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/healthz with PostgreSQL frozen: %d, want 503", resp.StatusCode)
	}

	r, err := call(context.Background(), srv.base, "POST", "Appointment", gpconnect.CreateAppointment, "hang-book",
		bookBody(targets[0], patient, "frozen database"), nil)
	if err != nil {
		t.Fatalf("booking with PostgreSQL frozen: %v (want an answer once --request-timeout has passed)", err)
	}
	if r.status != 500 || spineCode(r.body) != string(gpconnect.InternalServerError) || !strings.Contains(string(r.body), "database is unavailable") {
		t.Fatalf("booking with PostgreSQL frozen: %d %s, want 500 INTERNAL_SERVER_ERROR saying the database is unavailable", r.status, r.body)
	}

	srv.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-srv.done:
	case <-time.After(startTimeout):
		t.Fatalf("the server did not exit after SIGTERM with PostgreSQL frozen\n%s", tail(srv.stderr.String(), 3000))
	}
	if !strings.Contains(srv.stderr.String(), "audit records dropped") {
		t.Errorf("the log does not say the unwritten audit records were dropped:\n%s", tail(srv.stderr.String(), 3000))
	}
	thaw()
	// Thawed, the database holds no booking for the slot the server could not book.
	st, err = store.Open(context.Background(), store.Config{URL: url, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var n int
	if err := st.DB().Get(&n, fmt.Sprintf("SELECT COUNT(*) FROM appointment_slots WHERE slot_id = %d", targets[0].SlotID)); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("the slot of the unanswered booking is in %d appointment(s)", n)
	}
}
