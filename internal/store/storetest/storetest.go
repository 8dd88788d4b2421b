// Package storetest opens throw-away stores for tests on every engine:
// SQLite always, and PostgreSQL when SLOTBRIDGE_TEST_DATABASE_URL is set
// (each store gets its own fresh database, dropped when the test ends).
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/slotbridge/slotbridge/internal/store"
)

// EnvURL names the variable holding the PostgreSQL server URL for tests.
const EnvURL = "SLOTBRIDGE_TEST_DATABASE_URL"

// Engine is one way of opening a store under test.
type Engine struct {
	Name     string // "sqlite", "postgres-pgx" or "postgres-pq"
	Engine   string
	PGDriver string
}

// Engines lists the engines to test: SQLite, plus PostgreSQL (pgx) when
// SLOTBRIDGE_TEST_DATABASE_URL is set. With allDrivers, lib/pq is added too.
func Engines(allDrivers bool) []Engine {
	out := []Engine{{Name: "sqlite", Engine: store.EngineSQLite}}
	if os.Getenv(EnvURL) != "" {
		out = append(out, Engine{Name: "postgres-pgx", Engine: store.EnginePostgres, PGDriver: store.DriverPgx})
		if allDrivers {
			out = append(out, Engine{Name: "postgres-pq", Engine: store.EnginePostgres, PGDriver: store.DriverPQ})
		}
	}
	return out
}

// Open opens a fresh, migrated, empty store on the engine; it is closed (and
// its PostgreSQL database dropped) when the test ends.
func Open(tb testing.TB, e Engine) *store.Store {
	tb.Helper()
	ctx := context.Background()
	if e.Engine == store.EngineSQLite {
		st, err := store.Open(ctx, store.Config{Path: filepath.Join(tb.TempDir(), "test.db"), Synchronous: "NORMAL"})
		if err != nil {
			tb.Fatalf("open sqlite: %v", err)
		}
		tb.Cleanup(func() { st.Close() })
		return st
	}
	dsn, drop := FreshDatabase(tb)
	st, err := store.Open(ctx, store.Config{URL: dsn, PGDriver: e.PGDriver, MaxConns: 40})
	if err != nil {
		tb.Fatalf("open postgres: %v", err)
	}
	tb.Cleanup(func() { st.Close(); drop() })
	return st
}

// FreshDatabase creates an empty PostgreSQL database on the test server and
// returns its URL and a function that drops it.
func FreshDatabase(tb testing.TB) (string, func()) {
	tb.Helper()
	base := os.Getenv(EnvURL)
	if base == "" {
		tb.Fatalf("%s is not set", EnvURL)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatalf("postgres: %v", err)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "sbtest_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		admin.Close()
		tb.Fatalf("create database: %v", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("parse %s: %v", EnvURL, err)
	}
	u.Path = "/" + name
	return u.String(), func() {
		admin.Exec(fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name))
		admin.Close()
	}
}
