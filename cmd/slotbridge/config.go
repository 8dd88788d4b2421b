package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"

	"github.com/slotbridge/slotbridge/internal/store"
)

// dbConfig is the shared database selection of every subcommand.
type dbConfig struct {
	data     string
	database string
	pgDriver string
	sync     string
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func (c *dbConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.data, "data", envOr("SLOTBRIDGE_DATA", "./slotbridge-data"), "data directory for the embedded SQLite database")
	fs.StringVar(&c.database, "database", envOr("SLOTBRIDGE_DATABASE_URL", ""), "PostgreSQL URL (postgres://...); empty means SQLite under --data")
	fs.StringVar(&c.pgDriver, "pg-driver", envOr("SLOTBRIDGE_PG_DRIVER", store.DriverPgx), "PostgreSQL driver: pgx (default, faster) or postgres (lib/pq)")
	fs.StringVar(&c.sync, "sqlite-synchronous", envOr("SLOTBRIDGE_SQLITE_SYNCHRONOUS", "FULL"), "SQLite synchronous pragma (FULL is durable)")
}

func (c *dbConfig) open(ctx context.Context) (*store.Store, error) {
	return store.Open(ctx, store.Config{URL: c.database, PGDriver: c.pgDriver, Path: filepath.Join(c.data, "slotbridge.db"), Synchronous: c.sync})
}
