package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/slotbridge/slotbridge/internal/store"
)

// dbConfig is the shared database selection of every subcommand.
type dbConfig struct {
	data     string
	database string
	pgDriver string
	sync     string
	// pgConns and pgReadConns size the PostgreSQL pools (0: the store's defaults).
	pgConns, pgReadConns int
	// envErrs are malformed pool sizes in the environment, by flag name;
	// open reports one unless its flag was given.
	envErrs map[string]error
	fs      *flag.FlagSet
}

// defaultData is the data directory when neither --data nor SLOTBRIDGE_DATA is given.
const defaultData = "./slotbridge-data"

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func (c *dbConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.data, "data", envOr("SLOTBRIDGE_DATA", defaultData), "data directory for the embedded SQLite database")
	fs.StringVar(&c.database, "database", envOr("SLOTBRIDGE_DATABASE_URL", ""), "PostgreSQL URL (postgres://...); empty means SQLite under --data")
	fs.StringVar(&c.pgDriver, "pg-driver", envOr("SLOTBRIDGE_PG_DRIVER", store.DriverPgx), "PostgreSQL driver: pgx (default, faster) or postgres (lib/pq)")
	c.fs = fs
	fs.IntVar(&c.pgConns, "pg-conns", c.envInt("pg-conns", "SLOTBRIDGE_PG_CONNS"), "PostgreSQL connections for writes (0: 32)")
	fs.IntVar(&c.pgReadConns, "pg-read-conns", c.envInt("pg-read-conns", "SLOTBRIDGE_PG_READ_CONNS"),
		"PostgreSQL connections for reads such as searches (0: twice GOMAXPROCS, from 4 to 16)")
	fs.StringVar(&c.sync, "sqlite-synchronous", envOr("SLOTBRIDGE_SQLITE_SYNCHRONOUS", "FULL"), "SQLite synchronous pragma: OFF, NORMAL, FULL or EXTRA (FULL is durable)")
}

// envInt reads the default of flag name from the environment (0 when
// unset); a value that is not a whole number >= 0 is kept for open to report.
func (c *dbConfig) envInt(name, key string) int {
	v := os.Getenv(key)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		if c.envErrs == nil {
			c.envErrs = map[string]error{}
		}
		c.envErrs[name] = fmt.Errorf("%s=%q: want a whole number of connections, 0 or more", key, v)
		return 0
	}
	return n
}

// open opens (creating if need be) the selected database.
func (c *dbConfig) open(ctx context.Context) (*store.Store, error) {
	return c.openStore(ctx, false)
}

// openExisting opens the selected database like open, but refuses a SQLite
// database file that does not exist yet, and creates nothing. Commands that
// read or change existing data use it: on a mistyped --data, or run from
// another directory, they would otherwise create an empty database and
// report an empty success. PostgreSQL URLs are unaffected.
func (c *dbConfig) openExisting(ctx context.Context) (*store.Store, error) {
	return c.openStore(ctx, true)
}

// sqliteSyncModes are the values of SQLite's synchronous pragma. SQLite
// reads any other word as NORMAL, so a typo would silently lower
// durability; and the value goes into the DSN as it is.
var sqliteSyncModes = []string{"OFF", "NORMAL", "FULL", "EXTRA"}

// checkDatabaseURL refuses a --database value that is not a PostgreSQL URL:
// pgx reads anything else as a keyword/value string and its error says
// nothing of what was meant (usually a SQLite directory).
func checkDatabaseURL(u string) error {
	l := strings.ToLower(u)
	if !strings.HasPrefix(l, "postgres://") && !strings.HasPrefix(l, "postgresql://") {
		return errors.New("--database wants a postgres:// URL; use --data for a SQLite directory")
	}
	return nil
}

// check refuses a database setting that cannot work, without opening
// anything: serve calls it before it takes its listen address, and every
// open calls it first.
func (c *dbConfig) check() error {
	given := map[string]bool{}
	if c.fs != nil {
		c.fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	}
	for _, name := range []string{"pg-conns", "pg-read-conns"} {
		if err := c.envErrs[name]; err != nil && !given[name] {
			return err
		}
	}
	if c.pgConns < 0 || c.pgReadConns < 0 {
		return fmt.Errorf("--pg-conns and --pg-read-conns must be 0 or more")
	}
	if sync := strings.ToUpper(strings.TrimSpace(c.sync)); sync != "" && !slices.Contains(sqliteSyncModes, sync) {
		return fmt.Errorf("--sqlite-synchronous (SLOTBRIDGE_SQLITE_SYNCHRONOUS) must be OFF, NORMAL, FULL or EXTRA, not %q", c.sync)
	}
	// A bad driver is refused on SQLite too: the setting would otherwise
	// wait, unread, for the day the server moves to PostgreSQL.
	if d := c.pgDriver; d != "" && d != store.DriverPgx && d != store.DriverPQ {
		return fmt.Errorf("--pg-driver (SLOTBRIDGE_PG_DRIVER) must be %s or %s, not %q", store.DriverPgx, store.DriverPQ, d)
	}
	if c.database != "" {
		if err := checkDatabaseURL(c.database); err != nil {
			return err
		}
	}
	return nil
}

func (c *dbConfig) openStore(ctx context.Context, mustExist bool) (*store.Store, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	sync := strings.ToUpper(strings.TrimSpace(c.sync))
	path := filepath.Join(c.data, "slotbridge.db")
	if mustExist && c.database == "" {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no database at %s: give --data (or SLOTBRIDGE_DATA) pointing at the server's data directory", path)
		}
	}
	return store.Open(ctx, store.Config{URL: c.database, PGDriver: c.pgDriver, Path: path, Synchronous: sync,
		MaxConns: c.pgConns, ReadConns: c.pgReadConns})
}

// flagGiven reports whether the flag was set on the command line.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}
