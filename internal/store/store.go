// Package store implements the scheduling services with sqlx over SQLite
// (the embedded default) and PostgreSQL. Each engine has its own embedded
// migrations; queries are shared and rebound per driver.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	neturl "net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // driver "postgres"
	"golang.org/x/sync/singleflight"
	_ "modernc.org/sqlite" // driver "sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/slotbridge/slotbridge/internal/scheduling"
)

//go:embed migrations
var migrationsFS embed.FS

// Engines.
const (
	EngineSQLite   = "sqlite"
	EnginePostgres = "postgres"
)

// Postgres driver names accepted in Config.PGDriver.
const (
	DriverPgx = "pgx"
	DriverPQ  = "postgres"
)

// Config says where the data lives.
type Config struct {
	// URL is a postgres:// URL; empty means SQLite at Path.
	URL string
	// PGDriver is "pgx" (default) or "postgres" (lib/pq).
	PGDriver string
	// Path is the SQLite database file; ":memory:" gives a private in-memory database.
	Path string
	// Synchronous is the SQLite synchronous pragma (default FULL).
	Synchronous string
	// MaxConns bounds the PostgreSQL pool that writes (default 32).
	MaxConns int
	// ReadConns bounds the PostgreSQL pool that reads outside transactions,
	// searches above all (default twice GOMAXPROCS, from 4 to 16). A process
	// opens up to MaxConns + ReadConns connections.
	ReadConns int
}

// Store is the sqlx implementation of the scheduling services.
type Store struct {
	engine string
	// w serialises writes on SQLite (one connection, BEGIN IMMEDIATE); on
	// PostgreSQL it is a pool of its own too (see openPostgres).
	w *sqlx.DB
	r *sqlx.DB
	// Now is the clock (tests move it).
	Now func() time.Time
	// group runs bookings on SQLite in group commits (see groupTx).
	group committer
	// stmts caches the read pool's prepared statements (see prepared).
	stmts sync.Map
	// refs caches the schedules slot searches show (see refCache).
	refs refCache
	// refLoads shares one practice's cache load between the searches that
	// miss at once (see loadPracticeRefs).
	refLoads singleflight.Group
	// orgEpoch counts this process's committed changes to organisations
	// (see OrganisationsEpoch).
	orgEpoch atomic.Uint64
}

// OrganisationsEpoch changes after every organisation change this Store
// commits (switches, directory saves, admin changes), so a cache of
// organisations in the same process, such as the provider's practice cache,
// can see a practice switched off at once rather than when its entry expires.
func (s *Store) OrganisationsEpoch() uint64 { return s.orgEpoch.Load() }

// Engine names the SQL engine in use.
func (s *Store) Engine() string { return s.engine }

// DB returns the read pool (for tests and benchmarks).
func (s *Store) DB() *sqlx.DB { return s.r }

// Open opens (and migrates) the store.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	s := &Store{Now: time.Now}
	if cfg.URL != "" {
		drv := cfg.PGDriver
		if drv == "" {
			drv = DriverPgx
		}
		if drv != DriverPgx && drv != DriverPQ {
			return nil, fmt.Errorf("store: unknown postgres driver %q (want pgx or postgres)", drv)
		}
		w, err := openPostgres(drv, cfg.URL, cfg.MaxConns, 32)
		if err != nil {
			return nil, err
		}
		r, err := openPostgres(drv, cfg.URL, cfg.ReadConns, min(max(4, 2*runtime.GOMAXPROCS(0)), 16))
		if err != nil {
			w.Close()
			return nil, err
		}
		s.engine, s.w, s.r = EnginePostgres, w, r
	} else {
		path := cfg.Path
		if path == "" {
			path = "slotbridge.db"
		}
		sync := cfg.Synchronous
		if sync == "" {
			sync = "FULL"
		}
		if path != ":memory:" {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return nil, fmt.Errorf("store: data directory: %w", err)
			}
			if err := checkWritable(path); err != nil {
				return nil, err
			}
		}
		var wdsn, rdsn string
		if path == ":memory:" {
			// A shared-cache memory database so both pools see the same data.
			name := fmt.Sprintf("file:mem%d?mode=memory&cache=shared", time.Now().UnixNano())
			wdsn = name + "&_txlock=immediate&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"
			rdsn = name + "&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"
		} else {
			base := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(" + sync + ")"
			wdsn = base + "&_txlock=immediate"
			rdsn = base
		}
		w := sqlx.NewDb(openSQLite(wdsn), "sqlite")
		w.SetMaxOpenConns(1)
		w.SetMaxIdleConns(1)
		w.SetConnMaxLifetime(0)
		w.SetConnMaxIdleTime(0)
		r := sqlx.NewDb(openSQLite(rdsn), "sqlite")
		r.SetMaxOpenConns(8)
		r.SetMaxIdleConns(8)
		r.SetConnMaxLifetime(0)
		r.SetConnMaxIdleTime(0)
		s.engine, s.w, s.r = EngineSQLite, w, r
	}
	for _, db := range []*sqlx.DB{s.w, s.r} {
		if err := s.ping(ctx, db); err != nil {
			s.Close()
			return nil, fmt.Errorf("store: connect: %w", err)
		}
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// ping opens a first connection of db. On SQLite a connection's first
// statements switch the file to WAL, and when several processes open a new
// file at once that switch can meet another's lock and fail with
// SQLITE_BUSY at once, without waiting out busy_timeout (seen with four
// stores opening one new file together, about one open in thirty). Such a
// failure is retried for up to the busy timeout's 10 seconds.
func (s *Store) ping(ctx context.Context, db *sqlx.DB) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := db.PingContext(ctx)
		if err == nil || s.engine != EngineSQLite || sqliteCode(err)&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(5+rand.IntN(20)) * time.Millisecond):
		}
	}
}

// DefaultConnectTimeout is the connect_timeout (seconds) given to a
// PostgreSQL URL that names none. Without one a server that accepts the TCP
// connection and never answers (a hung host, a black-holing firewall) holds
// start-up, and every new connection, for ever; lib/pq does not even let
// a cancelled context end the wait.
const DefaultConnectTimeout = "10"

// withConnectTimeout adds connect_timeout=DefaultConnectTimeout to a
// postgres:// URL that has none; anything else is returned as it is.
func withConnectTimeout(raw string) string {
	return withURLDefault(raw, "connect_timeout", DefaultConnectTimeout)
}

// withURLDefault sets a parameter of a postgres:// URL that the URL does not
// set itself; anything else (a key=value DSN, say) is left as it is.
func withURLDefault(raw, key, value string) string {
	u, err := neturl.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return raw
	}
	q := u.Query()
	if q.Has(key) {
		return raw
	}
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// withPQBinaryParameters turns on lib/pq's binary_parameters, unless the URL
// sets it: a query with arguments that is not prepared then costs one round
// trip (parse, bind and execute sent together) instead of two (parse and
// describe, then bind and execute). Every argument still goes as text
// except a []byte, which goes in binary format for whatever type the server
// infers for that parameter: right for text, wrong for bigint, arrays or
// jsonb. The store passes int64, string and bool only (lists as strings, see
// searchSchedules); keep it so. pgx does not know the setting (the server
// would refuse it as a run-time parameter), so only lib/pq's URL gets it,
// and only a postgres:// URL (a key=value DSN is left as written).
func withPQBinaryParameters(raw string) string {
	return withURLDefault(raw, "binary_parameters", "yes")
}

// openPostgres opens a PostgreSQL pool of n connections (def when n <= 0).
// Reads have a small pool of their own: a search holds its connection for
// well under a millisecond, and 32 searches at once on 32 server processes
// made fewer searches per second than the same searches queued for 4
// connections (on a 2-core machine with the server beside it, 1,030–1,240
// against 1,060–1,360 per second, interleaved runs); writes keep the larger
// pool, in which concurrent commits share a flush.
func openPostgres(drv, url string, n, def int) (*sqlx.DB, error) {
	dsn := withConnectTimeout(url)
	if drv == DriverPQ {
		dsn = withPQBinaryParameters(dsn)
	}
	db, err := sqlx.Open(drv, dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open postgres: %w", err)
	}
	if n <= 0 {
		n = def
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return db, nil
}

// checkWritable refuses a SQLite database that could only be opened read-only:
// SQLite would otherwise open it read-only without a word, and every booking
// would fail later. It needs the file and its directory (where the WAL and
// shared-memory files live) writable.
func checkWritable(path string) error {
	dir := filepath.Dir(path)
	probe, err := os.CreateTemp(dir, ".slotbridge-probe-*")
	if err != nil {
		return fmt.Errorf("store: the data directory %s is not writable (SQLite keeps its write-ahead log beside the database): %w", dir, err)
	}
	probe.Close()
	os.Remove(probe.Name())
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: the database file %s is not writable: %w", path, err)
	}
	return f.Close()
}

// Close releases the pools.
func (s *Store) Close() error {
	s.stmts.Range(func(_, st any) bool { st.(*sql.Stmt).Close(); return true })
	var err error
	if s.r != nil && s.r != s.w {
		err = s.r.Close()
	}
	if s.w != nil {
		if e := s.w.Close(); e != nil && err == nil {
			err = e
		}
	}
	return err
}

// SetMaxPageCount caps the SQLite database at n pages (SQLite raises n to the
// current size if it is smaller) and returns the cap in force. Writes that
// would grow the file past it fail as on a full disk, which is how the fault
// tests make a disk full without filling one; a larger n lifts the cap. It
// works because SQLite writes go through one long-lived connection.
func (s *Store) SetMaxPageCount(ctx context.Context, n int64) (int64, error) {
	if s.engine != EngineSQLite {
		return 0, fmt.Errorf("store: max_page_count is a SQLite setting")
	}
	var got int64
	err := s.w.GetContext(ctx, &got, fmt.Sprintf("PRAGMA max_page_count = %d", n))
	return got, err
}

// Ping checks the database answers (used by /healthz).
func (s *Store) Ping(ctx context.Context) error { return s.r.PingContext(ctx) }

func (s *Store) migrate(ctx context.Context) error {
	dir := "migrations/" + s.engine
	entries, err := fs.ReadDir(migrationsFS, dir)
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sql") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	// Every step runs on one connection: on PostgreSQL the advisory lock is
	// session-scoped, so the migrations must use the connection that holds it
	// (and a pool of one connection must not deadlock waiting for another).
	conn, err := s.w.Connx(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	defer conn.Close()
	if s.engine == EnginePostgres {
		// Serialise concurrent starters on one database.
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(727001)`); err != nil {
			return fmt.Errorf("store: migrate lock: %w", err)
		}
		defer conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock(727001)`)
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	for _, name := range names {
		body, err := migrationsFS.ReadFile(dir + "/" + name)
		if err != nil {
			return err
		}
		if err := applyMigration(ctx, conn, name, string(body)); err != nil {
			return fmt.Errorf("store: migrate %s: %w", name, err)
		}
	}
	return nil
}

// applyMigration applies one migration unless it is recorded as applied. The
// check is inside the transaction: on SQLite the writer's BEGIN IMMEDIATE
// takes the write lock first, so two processes opening one file cannot both
// decide to apply it.
func applyMigration(ctx context.Context, conn *sqlx.Conn, name, body string) error {
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.GetContext(ctx, &n, tx.Rebind(`SELECT COUNT(*) FROM schema_migrations WHERE name = ?`), name); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, body); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`), name, time.Now().Unix()); err != nil {
		return err
	}
	return tx.Commit()
}

// inTx runs fn in one write transaction and commits it, retrying on
// serialization failures and deadlocks (PostgreSQL) a few times.
func (s *Store) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		err = s.tryTx(ctx, fn)
		if err == nil || !retryable(err) {
			return unavailable(err)
		}
	}
	return unavailable(err)
}

func (s *Store) tryTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := s.w.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// notFound turns sql.ErrNoRows into a domain ENOTFOUND, and a database
// that cannot answer into EUNAVAILABLE (see unavailable).
func notFound(err error, kind, format string, args ...any) error {
	if errors.Is(err, sql.ErrNoRows) {
		return scheduling.NotFound(kind, format, args...)
	}
	return unavailable(err)
}
