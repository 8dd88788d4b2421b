package faulttest

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/store"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// engineSetup is how one engine is given to `slotbridge serve` and opened by the test.
type engineSetup struct {
	name  string
	flags []string
	cfg   store.Config
}

// engineCase names one way of running the server.
type engineCase struct {
	name  string
	setup func(t *testing.T) engineSetup
}

// engines gives SQLite (a fresh data directory) and, when
// SLOTBRIDGE_TEST_DATABASE_URL is set, PostgreSQL (a fresh database).
func engines() []engineCase {
	out := []engineCase{{"sqlite", func(t *testing.T) engineSetup {
		dir := t.TempDir()
		return engineSetup{name: "sqlite", flags: []string{"--data", dir}, cfg: store.Config{Path: filepath.Join(dir, "slotbridge.db")}}
	}}}
	for _, e := range storetest.Engines(false) {
		if e.Engine != store.EnginePostgres {
			continue
		}
		out = append(out, engineCase{e.Name, func(t *testing.T) engineSetup {
			url, drop := storetest.FreshDatabase(t)
			t.Cleanup(drop) // runs after the server's cleanup, which kills it
			return engineSetup{name: e.Name, flags: []string{"--database", url, "--pg-driver", e.PGDriver}, cfg: store.Config{URL: url, PGDriver: e.PGDriver}}
		}})
	}
	return out
}

// TestCrashDuringBookingLoad kills the server with SIGKILL while eight clients
// book, restarts it on the same data, and checks that every booking answered
// 201 survived once, busy slots match appointments, and every appointment
// that committed, answered or not, has its audit row (written in the
// booking's transaction, so the crash cannot separate them).
func TestCrashDuringBookingLoad(t *testing.T) {
	for _, ec := range engines() {
		t.Run(ec.name, func(t *testing.T) {
			e := ec.setup(t)
			srv := startServe(t, serveOpts{args: append([]string{"--demo"}, e.flags...)})
			st, err := store.Open(context.Background(), e.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			targets := freeTargets(t, st, 400)
			patient := patientID(t, st)

			run := fmt.Sprintf("crash-%d", time.Now().UnixNano())
			description := "Fault test " + run
			b := newBookings()
			ctx, cancel := context.WithCancel(context.Background())
			wg := b.load(ctx, srv.base, targets, patient, 8, run, description)
			// Kill in the middle of the load: once a good number have been
			// answered, while the other clients are still sending.
			want := min(40, len(targets)/4)
			waitFor(t, 3*time.Minute, fmt.Sprintf("%d bookings answered 201", want), func() bool { return b.count201() >= want || !srv.running() })
			srv.kill()
			cancel()
			wg.Wait()
			if b.count201() < want {
				t.Fatalf("only %d bookings succeeded before the kill: %v", b.count201(), b.statuses)
			}

			// Restart on the same data; it must come up and serve again.
			srv2 := startServe(t, serveOpts{args: e.flags})
			checkBookings(t, st, b, description, run)
			if e.cfg.URL == "" {
				checkSQLiteIntegrity(t, st)
			}
			after := newBookings()
			rest := targets[len(b.sent):]
			if len(rest) == 0 {
				t.Fatal("no slot left to book after the restart")
			}
			after.book(context.Background(), srv2.base, rest[0], patient, fmt.Sprintf("%s-after-%d", run, rest[0].SlotID), description+" after")
			if after.statuses["201"] != 1 {
				t.Fatalf("booking after the restart: %v", after.statuses)
			}
			checkBookings(t, st, after, description+" after", run+"-after")
		})
	}
}
