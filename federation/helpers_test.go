package federation_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/federation"
	"github.com/slotbridge/slotbridge/federation/sim"
	"github.com/slotbridge/slotbridge/internal/auth"
	"github.com/slotbridge/slotbridge/internal/store"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// testIdentity is the hub's GP Connect identity in tests.
func testIdentity() federation.Identity {
	return federation.Identity{ASID: "200000000359", ODS: "Y90001", OrgName: "Test Federation Hub", Phone: "01632 960500",
		Token: auth.DefaultTestIdentity()}
}

// newFederation starts a simulated federation of n practices and a hub
// over a fresh directory store holding hub "h" of every practice.
func newFederation(t testing.TB, n int, cfg federation.Config) (*sim.Sim, *federation.Hub, *store.Store, *http.Client) {
	return newFederationOn(t, storetest.Engines(false)[0], n, cfg)
}

// newFederationOn is newFederation with both the providers' store and the
// hub's directory on engine e.
func newFederationOn(t testing.TB, e storetest.Engine, n int, cfg federation.Config) (*sim.Sim, *federation.Hub, *store.Store, *http.Client) {
	t.Helper()
	return newFederationSim(t, e, sim.Config{Practices: n, Days: 3, Seed: 1}, cfg)
}

// newFederationSim is newFederationOn with the simulation sc (its Store is
// set here for engines other than SQLite).
func newFederationSim(t testing.TB, e storetest.Engine, sc sim.Config, cfg federation.Config) (*sim.Sim, *federation.Hub, *store.Store, *http.Client) {
	t.Helper()
	ctx := context.Background()
	if e.Engine != store.EngineSQLite {
		sc.Store = storetest.Open(t, e)
	}
	s, err := sim.Start(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	dir := storetest.Open(t, e)
	f := s.Directory("h")
	if _, _, err := federation.Import(ctx, dir, &f); err != nil {
		t.Fatal(err)
	}
	hc := federation.NewHTTPClient(cfg.Concurrency)
	t.Cleanup(hc.CloseIdleConnections)
	hub := &federation.Hub{Dir: dir, Client: federation.NewGPConnect(testIdentity(), hc, ""), Breaker: &federation.Breaker{}, Config: cfg}
	return s, hub, dir, hc
}

// tomorrow is the whole of tomorrow, UK time.
func tomorrow() (time.Time, time.Time) {
	l, _ := time.LoadLocation("Europe/London")
	n := time.Now().In(l)
	s := time.Date(n.Year(), n.Month(), n.Day()+1, 0, 0, 0, 0, l)
	return s, time.Date(n.Year(), n.Month(), n.Day()+1, 23, 59, 0, 0, l)
}
