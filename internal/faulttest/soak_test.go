package faulttest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// soakSample is one look at the server process.
type soakSample struct {
	at         time.Duration
	rssKB      int
	fds        int
	goroutines int
	done       int64
}

// TestSoak runs the server for SLOTBRIDGE_SOAK (e.g. 10m) at half the
// capacity it measures first, with a mix of slot searches, bookings and
// cancellations, and checks that its resident memory, goroutines and open
// file descriptors stay flat and that no request fails. It is not part of
// CI. Run it with:
//
//	SLOTBRIDGE_SOAK=10m go test -run TestSoak -timeout 30m -v ./internal/faulttest
//
// SLOTBRIDGE_SOAK_ENGINE=postgres runs it on a fresh database of
// SLOTBRIDGE_TEST_DATABASE_URL instead of SQLite.
func TestSoak(t *testing.T) {
	v := os.Getenv("SLOTBRIDGE_SOAK")
	if v == "" {
		t.Skip("the soak runs only when SLOTBRIDGE_SOAK is set to a duration, e.g. SLOTBRIDGE_SOAK=10m")
	}
	total, err := time.ParseDuration(v)
	if err != nil || total < time.Minute {
		t.Fatalf("SLOTBRIDGE_SOAK=%q: want a duration of at least 1m", v)
	}
	args := []string{"--demo"}
	var cfg store.Config
	if os.Getenv("SLOTBRIDGE_SOAK_ENGINE") == "postgres" {
		u, drop := storetest.FreshDatabase(t)
		t.Cleanup(drop)
		args = append(args, "--database", u)
		cfg = store.Config{URL: u}
	} else {
		dir := t.TempDir()
		args = append(args, "--data", dir)
		cfg = store.Config{Path: filepath.Join(dir, "slotbridge.db")}
	}
	debug := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	srv := startServe(t, serveOpts{args: append(args, "--debug-addr", debug)})
	st, err := store.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pool := make(chan target, 400)
	for _, tg := range freeTargets(t, st, 400) {
		pool <- tg
	}
	patient := patientID(t, st)
	st.Close()

	// Sixteen clients on at most sixteen connections, in both phases: the
	// capacity phase opens every connection the soak will use, so anything
	// that grows after it is the server's own doing.
	const clients = 16
	client := &http.Client{Timeout: requestTimeout, Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}
	var done, failed atomic.Int64
	var failMu sync.Mutex
	failures := map[string]int{}
	fail := func(what string) {
		failed.Add(1)
		failMu.Lock()
		failures[what]++
		failMu.Unlock()
	}
	// op is one unit of the mix: four searches to one booking and its cancellation.
	var seq atomic.Int64
	op := func() {
		n := seq.Add(1) // ops started; each is one search, or one booking with its cancellation
		if n%5 != 0 {
			start := scheduling.AddDaysLocal(scheduling.LocalMidnight(time.Now()), 1+int(n%5))
			q := url.Values{
				"start": {"ge" + start.In(scheduling.London).Format("2006-01-02T15:04:05-07:00")}, "end": {"le" + scheduling.AddDaysLocal(start, 7).In(scheduling.London).Format("2006-01-02T15:04:05-07:00")},
				"status": {"free"}, "_include": {"Slot:schedule"}, "_include:recurse": {"Schedule:actor:Practitioner", "Schedule:actor:Location"},
				"searchFilter": {gpconnect.SystemODSOrganisation + "|" + ods},
			}
			r, err := callWith(context.Background(), client, srv.base, http.MethodGet, "Slot?"+q.Encode(), gpconnect.SearchSlot, fmt.Sprintf("soak-%d", n), nil, nil)
			switch {
			case err != nil:
				fail("search: " + err.Error())
			case r.status != http.StatusOK:
				fail(fmt.Sprintf("search: %d %s", r.status, spineCode(r.body)))
			}
			done.Add(1)
			return
		}
		var tg target
		select {
		case tg = <-pool:
		default:
			fail("book: no free slot in the pool")
			return
		}
		r, err := callWith(context.Background(), client, srv.base, http.MethodPost, "Appointment", gpconnect.CreateAppointment, fmt.Sprintf("soak-%d", n), bookBody(tg, patient, "Soak"), nil)
		done.Add(1)
		if err != nil || r.status != http.StatusCreated {
			fail(fmt.Sprintf("book: %v %d %s", err, r.status, spineCode(r.body)))
			return
		}
		var a fhir.Appointment
		if err := json.Unmarshal(r.body, &a); err != nil {
			fail("book: " + err.Error())
			return
		}
		a.Status = "cancelled"
		reason := "Soak test"
		a.Extension = append(a.Extension, fhir.Extension{URL: gpconnect.ExtCancellationReason, ValueString: &reason})
		body, _ := json.Marshal(&a)
		r, err = callWith(context.Background(), client, srv.base, http.MethodPut, "Appointment/"+a.ID, gpconnect.CancelAppointment, fmt.Sprintf("soak-%d-c", n), body, nil)
		done.Add(1)
		if err != nil || r.status != http.StatusOK {
			fail(fmt.Sprintf("cancel: %v %d %s", err, r.status, spineCode(r.body)))
			return
		}
		pool <- tg
	}

	// Capacity: closed loop, all clients busy, for a tenth of the soak (at most 60s).
	measure := min(total/10, time.Minute)
	var wg sync.WaitGroup
	stopAt := time.Now().Add(measure)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stopAt) {
				op()
			}
		}()
	}
	wg.Wait()
	capacity := float64(seq.Load()) / measure.Seconds()
	rate := capacity / 2
	t.Logf("capacity %.0f ops/s (%.0f requests/s) over %s (failures %d); soaking at %.0f ops/s for %s",
		capacity, float64(done.Load())/measure.Seconds(), measure, failed.Load(), rate, total)
	if failed.Load() > 0 {
		t.Fatalf("failures while measuring capacity: %v", failures)
	}

	// Soak: open loop at half capacity; a tick with no idle client is counted, not queued.
	done.Store(0)
	seq.Store(0)
	ticks := make(chan struct{})
	var missed atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), total)
	defer cancel()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range ticks {
				op()
			}
		}()
	}
	go func() {
		defer close(ticks)
		interval := time.Duration(float64(time.Second) / rate)
		next := time.Now()
		for ctx.Err() == nil {
			next = next.Add(interval)
			time.Sleep(time.Until(next))
			select {
			case ticks <- struct{}{}:
			default:
				missed.Add(1)
			}
		}
	}()
	var samples []soakSample
	began := time.Now()
	every := max(total/30, 5*time.Second)
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-time.After(every):
			s, err := sampleProcess(srv.cmd.Process.Pid, debug)
			if err != nil {
				t.Fatalf("sample: %v", err)
			}
			s.at, s.done = time.Since(began).Round(time.Second), done.Load()
			samples = append(samples, s)
			t.Logf("%6s  rss %7d kB  goroutines %5d  fds %4d  requests %d", s.at, s.rssKB, s.goroutines, s.fds, s.done)
		}
	}
	wg.Wait()
	if !srv.running() {
		t.Fatalf("the server exited: %v", srv.err)
	}
	t.Logf("%d ops, %d requests in %s (%.0f ops/s), %d ticks missed, failures %v", seq.Load(), done.Load(), total, float64(seq.Load())/total.Seconds(), missed.Load(), failures)
	if failed.Load() > 0 {
		t.Errorf("%d requests failed during the soak: %v", failed.Load(), failures)
	}
	if len(samples) < 6 {
		t.Fatalf("only %d samples", len(samples))
	}
	// Flat: the last third against the first third after warm-up (the first
	// sample is skipped). Memory is compared by the median; goroutines and
	// descriptors by the minimum, because requests in flight move them up
	// and down, and a leak shows as a rising floor.
	third := (len(samples) - 1) / 3
	early, late := samples[1:1+third], samples[len(samples)-third:]
	sorted := func(s []soakSample, f func(soakSample) int) []int {
		v := make([]int, len(s))
		for i := range s {
			v[i] = f(s[i])
		}
		sort.Ints(v)
		return v
	}
	med := func(s []soakSample, f func(soakSample) int) int { v := sorted(s, f); return v[len(v)/2] }
	low := func(s []soakSample, f func(soakSample) int) int { return sorted(s, f)[0] }
	rss := func(s soakSample) int { return s.rssKB }
	gor := func(s soakSample) int { return s.goroutines }
	fds := func(s soakSample) int { return s.fds }
	if e, l := med(early, rss), med(late, rss); l > e+e/4+16*1024 {
		t.Errorf("resident memory grew from %d kB to %d kB", e, l)
	}
	if e, l := low(early, gor), low(late, gor); l > e+20 {
		t.Errorf("goroutines grew from %d to %d", e, l)
	}
	if e, l := low(early, fds), low(late, fds); l > e+20 {
		t.Errorf("open file descriptors grew from %d to %d", e, l)
	}
}

// sampleProcess reads a process's resident memory and open descriptors from
// /proc and its goroutine count from its debug listener.
func sampleProcess(pid int, debug string) (soakSample, error) {
	var s soakSample
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			s.rssKB, _ = strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
		}
	}
	f.Close()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return s, err
	}
	s.fds = len(ents)
	resp, err := http.Get("http://" + debug + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil {
		return s, err
	}
	if _, err := fmt.Sscanf(line, "goroutine profile: total %d", &s.goroutines); err != nil {
		return s, fmt.Errorf("goroutine profile header %q: %v", line, err)
	}
	return s, nil
}
