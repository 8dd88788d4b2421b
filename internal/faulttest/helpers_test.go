package faulttest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/auth"
	"github.com/slotbridge/slotbridge/internal/lockedbuf"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store"
)

// Demo identifiers (internal/demo): practice A20047 and one of its patients.
const (
	ods        = "A20047"
	asid       = "918999198993"
	fromASID   = "200000000359"
	patientNHS = "9658218865"
)

// Generous bounds: the machine running CI may be small and busy.
const (
	startTimeout   = 4 * time.Minute
	requestTimeout = 90 * time.Second
)

var (
	buildOnce sync.Once
	binPath   string
	binDir    string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binary builds cmd/slotbridge once per test run and returns its path. The
// directory is world-readable so the binary can also run as an unprivileged
// user (see asNobody).
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "slotbridge-faulttest-")
		if buildErr != nil {
			return
		}
		if buildErr = os.Chmod(binDir, 0o755); buildErr != nil {
			return
		}
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		binPath = filepath.Join(binDir, "slotbridge")
		cmd := exec.Command(goTool, "build", "-o", binPath, "github.com/slotbridge/slotbridge/cmd/slotbridge")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// server is one `slotbridge serve` child process.
type server struct {
	t      *testing.T
	cmd    *exec.Cmd
	base   string
	stderr *lockedbuf.Buffer
	done   chan struct{}
	err    error // the exit status, once done is closed
}

// serveOpts says how to start the child.
type serveOpts struct {
	args []string            // after "serve"; --addr 127.0.0.1:0 is added
	cred *syscall.Credential // run as this user (nil: as we are)
}

// startServe starts `slotbridge serve` and returns once it listens; it is
// killed when the test ends. A child that exits before listening fails the test.
func startServe(t *testing.T, o serveOpts) *server {
	t.Helper()
	s, err := tryServe(t, o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// tryServe starts the child and waits until it listens or exits.
func tryServe(t *testing.T, o serveOpts) (*server, error) {
	t.Helper()
	args := append([]string{"serve", "--addr", "127.0.0.1:0"}, o.args...)
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(os.Environ(), "SLOTBRIDGE_DATABASE_URL=", "SLOTBRIDGE_DATA=")
	if o.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: o.cred}
		cmd.Dir = "/"
	}
	s := &server{t: t, cmd: cmd, stderr: &lockedbuf.Buffer{}, done: make(chan struct{})}
	cmd.Stderr = s.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "slotbridge listening on "); ok {
				addr <- a
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() {
		s.err = cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		s.kill()
		if t.Failed() {
			t.Logf("server %v stderr (last 4000 bytes):\n%s", args, tail(s.stderr.String(), 4000))
		}
	})
	select {
	case a := <-addr:
		s.base = a
	case <-s.done:
		return s, fmt.Errorf("slotbridge %v exited before listening: %v\n%s", args, s.err, tail(s.stderr.String(), 4000))
	case <-time.After(startTimeout):
		s.kill()
		return s, fmt.Errorf("slotbridge %v did not listen within %s\n%s", args, startTimeout, tail(s.stderr.String(), 4000))
	}
	if err := s.waitHealthy(startTimeout); err != nil {
		return s, err
	}
	return s, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// running reports whether the child is still alive.
func (s *server) running() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL: no shutdown, no flushing, as a crash would.
func (s *server) kill() {
	if s.running() {
		s.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-s.done
}

// stop asks the server to shut down (SIGTERM) and waits for it to exit.
func (s *server) stop(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(startTimeout):
		s.kill()
		t.Fatalf("the server did not stop within %s of SIGTERM", startTimeout)
	}
	if s.err != nil {
		t.Fatalf("the server exited with %v on SIGTERM\n%s", s.err, tail(s.stderr.String(), 4000))
	}
}

// waitHealthy polls /healthz until it answers 200.
func (s *server) waitHealthy(within time.Duration) error {
	deadline := time.Now().Add(within)
	c := &http.Client{Timeout: 10 * time.Second}
	for {
		resp, err := c.Get(s.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if !s.running() {
			return fmt.Errorf("server exited: %v\n%s", s.err, tail(s.stderr.String(), 4000))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("/healthz not OK within %s (last error %v)", within, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

var httpClient = &http.Client{
	Timeout:   requestTimeout,
	Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64},
}

// reply is one HTTP answer.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// call sends one GP Connect request to practice A20047.
func call(ctx context.Context, base, method, path string, iid gpconnect.InteractionID, trace string, body []byte, hdr map[string]string) (reply, error) {
	return callWith(ctx, httpClient, base, method, path, iid, trace, body, hdr)
}

// callWith is call through a given client.
func callWith(ctx context.Context, client *http.Client, base, method, path string, iid gpconnect.InteractionID, trace string, body []byte, hdr map[string]string) (reply, error) {
	req, err := http.NewRequestWithContext(ctx, method, base+"/"+ods+"/STU3/1/gpconnect/"+path, bytes.NewReader(body))
	if err != nil {
		return reply{}, err
	}
	tok, err := auth.Mint(auth.DefaultTestIdentity(), iid.Scope(), time.Now())
	if err != nil {
		return reply{}, err
	}
	req.Header.Set("Ssp-TraceID", trace)
	req.Header.Set("Ssp-From", fromASID)
	req.Header.Set("Ssp-To", asid)
	req.Header.Set("Ssp-InteractionID", string(iid))
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != nil {
		req.Header.Set("Content-Type", "application/fhir+json;charset=utf-8")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// target is a free slot to book, with what the booking body needs.
type target struct {
	SlotID     int64 `db:"id"`
	StartAt    int64 `db:"start_at"`
	EndAt      int64 `db:"end_at"`
	LocationID int64 `db:"location_id"`
}

// freeTargets lists up to n free slots of A20047 that any consumer may book
// (no caps, windows or embargoes), starting at least three hours from now.
func freeTargets(t *testing.T, st *store.Store, n int) []target {
	t.Helper()
	var out []target
	db := st.DB()
	err := db.SelectContext(context.Background(), &out, db.Rebind(`SELECT s.id, s.start_at, s.end_at, sc.location_id FROM slots s
		JOIN schedules sc ON sc.id = s.schedule_id JOIN access_profiles p ON p.id = s.access_profile_id JOIN organisations o ON o.id = s.practice_id
		WHERE o.ods = ? AND s.status = 'free' AND sc.status = 'active' AND p.bookable = TRUE AND p.org_types = '' AND p.ods_codes = '' AND p.cap = 0
		AND p.window_secs = 0 AND p.embargo_secs = 0 AND p.release_time = '' AND s.start_at > ? ORDER BY s.start_at, s.id LIMIT ?`),
		ods, time.Now().Add(3*time.Hour).Unix(), n)
	if err != nil {
		t.Fatalf("free slots: %v", err)
	}
	if len(out) == 0 {
		t.Fatal("no free open slots at " + ods)
	}
	return out
}

// patientID is the demo patient's id at A20047.
func patientID(t *testing.T, st *store.Store) int64 {
	t.Helper()
	var id int64
	db := st.DB()
	if err := db.GetContext(context.Background(), &id, db.Rebind(`SELECT p.id FROM patients p JOIN organisations o ON o.id = p.practice_id
		WHERE o.ods = ? AND p.nhs_number = ?`), ods, patientNHS); err != nil {
		t.Fatalf("patient: %v", err)
	}
	return id
}

// bookBody is a minimal valid GP Connect booking of one slot.
func bookBody(tg target, patient int64, description string) []byte {
	body := map[string]any{
		"resourceType": "Appointment",
		"meta":         map[string]any{"profile": []string{string(gpconnect.ProfileAppointment)}},
		"contained": []any{map[string]any{
			"resourceType": "Organization", "id": "1",
			"meta":       map[string]any{"profile": []string{string(gpconnect.ProfileOrganization)}},
			"identifier": []any{map[string]any{"system": gpconnect.SystemODSOrganisation, "value": "A20047"}},
			"name":       "Fault Test Org",
			"telecom":    []any{map[string]any{"system": "phone", "value": "01234567890"}},
		}},
		"extension":   []any{map[string]any{"url": gpconnect.ExtBookingOrganisation, "valueReference": map[string]any{"reference": "#1"}}},
		"status":      "booked",
		"description": description,
		"start":       scheduling.FormatLocal(time.Unix(tg.StartAt, 0)),
		"end":         scheduling.FormatLocal(time.Unix(tg.EndAt, 0)),
		"slot":        []any{map[string]any{"reference": fmt.Sprintf("Slot/%d", tg.SlotID)}},
		"created":     scheduling.FormatLocal(time.Now()),
		"participant": []any{
			map[string]any{"actor": map[string]any{"reference": fmt.Sprintf("Patient/%d", patient)}, "status": "accepted"},
			map[string]any{"actor": map[string]any{"reference": fmt.Sprintf("Location/%d", tg.LocationID)}, "status": "accepted"},
		},
	}
	b, _ := json.Marshal(body)
	return b
}

// spineCode is the first issue's Spine code of an OperationOutcome, or "".
func spineCode(b []byte) string {
	var oo struct {
		ResourceType string `json:"resourceType"`
		Issue        []struct {
			Details struct {
				Coding []struct{ Code string } `json:"coding"`
			} `json:"details"`
			Diagnostics string `json:"diagnostics"`
		} `json:"issue"`
	}
	if json.Unmarshal(b, &oo) != nil || oo.ResourceType != "OperationOutcome" || len(oo.Issue) == 0 || len(oo.Issue[0].Details.Coding) == 0 {
		return ""
	}
	return oo.Issue[0].Details.Coding[0].Code
}

// appointmentID reads the id of a 201's Location header (.../Appointment/{id}/_history/{v}).
func appointmentID(h http.Header) (int64, error) {
	parts := strings.Split(h.Get("Location"), "/")
	for i := range parts {
		if parts[i] == "Appointment" && i+1 < len(parts) {
			var id int64
			_, err := fmt.Sscan(parts[i+1], &id)
			return id, err
		}
	}
	return 0, errors.New("no Appointment id in Location " + h.Get("Location"))
}

// bookings is the outcome of a booking load, as the clients saw it.
type bookings struct {
	mu       sync.Mutex
	created  map[int64]int64 // appointment id -> slot id, for every 201
	statuses map[string]int  // "201", "500 INTERNAL_SERVER_ERROR", "transport error", ...
	sent     map[int64]bool  // every slot a request was sent for
}

func newBookings() *bookings {
	return &bookings{created: map[int64]int64{}, statuses: map[string]int{}, sent: map[int64]bool{}}
}

func (b *bookings) count201() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.created)
}

// book sends one booking and records what came back.
func (b *bookings) book(ctx context.Context, base string, tg target, patient int64, trace, description string) {
	b.mu.Lock()
	b.sent[tg.SlotID] = true
	b.mu.Unlock()
	r, err := call(ctx, base, http.MethodPost, "Appointment", gpconnect.CreateAppointment, trace, bookBody(tg, patient, description), nil)
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case err != nil:
		b.statuses["transport error"]++
	case r.status == http.StatusCreated:
		id, err := appointmentID(r.header)
		if err != nil {
			b.statuses["201 without id"]++
			return
		}
		b.created[id] = tg.SlotID
		b.statuses["201"]++
	case r.status == http.StatusInternalServerError && bytes.Contains(r.body, []byte("database is unavailable")):
		b.statuses["500 INTERNAL_SERVER_ERROR database unavailable"]++
	default:
		b.statuses[fmt.Sprintf("%d %s", r.status, spineCode(r.body))]++
	}
}

// load books targets with workers clients until ctx ends or the targets run
// out. Ending ctx stops new requests; those in flight run to their answer
// (or their server's death). A client that gets no 201 waits a moment
// before its next booking, as a real one would.
func (b *bookings) load(ctx context.Context, base string, targets []target, patient int64, workers int, tracePrefix, description string) *sync.WaitGroup {
	ch := make(chan target)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(ch)
		for _, tg := range targets {
			select {
			case ch <- tg:
			case <-ctx.Done():
				return
			}
		}
	}()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for tg := range ch {
				if ctx.Err() != nil {
					return
				}
				before := b.count201()
				b.book(context.Background(), base, tg, patient, fmt.Sprintf("%s-%d", tracePrefix, tg.SlotID), description)
				if b.count201() == before {
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
	return &wg
}

// waitFor polls cond until it holds or within passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
