package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"reflect"

	"modernc.org/sqlite"
)

// maxCachedStmts bounds each SQLite connection's statement cache, and
// maxCachedSQL the length of a query worth caching (migrations are not).
const (
	maxCachedStmts = 256
	maxCachedSQL   = 4096
)

// openSQLite opens a database/sql pool on modernc's SQLite driver whose
// connections keep their prepared statements. modernc compiles every query
// it is given afresh; with the cache each connection compiles each of the
// store's (fixed) queries once. A query whose statement is in use by an open
// result set on the same connection gets a fresh, uncached one.
func openSQLite(dsn string) *sql.DB {
	return sql.OpenDB(&cachingConnector{dsn: dsn, drv: &sqlite.Driver{}})
}

type cachingConnector struct {
	dsn string
	drv *sqlite.Driver
}

func (c *cachingConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &cachingConn{base: conn, stmts: map[string]*cachedStmt{}}, nil
}

func (c *cachingConnector) Driver() driver.Driver { return c.drv }

type cachedStmt struct {
	st   driver.Stmt
	busy bool
}

// cachingConn is a modernc connection with a statement cache.
type cachingConn struct {
	base  driver.Conn
	stmts map[string]*cachedStmt
}

var errNoContextStmt = errors.New("store: sqlite statement lacks context methods")

// stmt returns a prepared statement for query and the function to call when done with it.
func (c *cachingConn) stmt(ctx context.Context, query string) (driver.Stmt, func(), error) {
	if e, ok := c.stmts[query]; ok && !e.busy {
		e.busy = true
		return e.st, func() { e.busy = false }, nil
	}
	st, err := c.base.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, nil, err
	}
	if _, ok := c.stmts[query]; !ok && len(c.stmts) < maxCachedStmts && len(query) <= maxCachedSQL {
		e := &cachedStmt{st: st, busy: true}
		c.stmts[query] = e
		return st, func() { e.busy = false }, nil
	}
	return st, func() { st.Close() }, nil
}

// ExecContext implements driver.ExecerContext through the cache.
func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	st, release, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	defer release()
	ex, ok := st.(driver.StmtExecContext)
	if !ok {
		return nil, errNoContextStmt
	}
	return ex.ExecContext(ctx, args)
}

// QueryContext implements driver.QueryerContext through the cache.
func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	st, release, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	q, ok := st.(driver.StmtQueryContext)
	if !ok {
		release()
		return nil, errNoContextStmt
	}
	rows, err := q.QueryContext(ctx, args)
	if err != nil {
		release()
		return nil, err
	}
	return &releasingRows{Rows: rows, release: release}, nil
}

// Prepare, Begin, BeginTx, PrepareContext, Ping, ResetSession, IsValid and
// Close pass through to modernc's connection.

func (c *cachingConn) Prepare(query string) (driver.Stmt, error) { return c.base.Prepare(query) }

func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.base.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

func (c *cachingConn) Begin() (driver.Tx, error) { return c.base.Begin() }

func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.base.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *cachingConn) Ping(ctx context.Context) error { return c.base.(driver.Pinger).Ping(ctx) }

func (c *cachingConn) ResetSession(ctx context.Context) error {
	return c.base.(driver.SessionResetter).ResetSession(ctx)
}

func (c *cachingConn) IsValid() bool { return c.base.(driver.Validator).IsValid() }

func (c *cachingConn) Close() error {
	for q, e := range c.stmts {
		e.st.Close()
		delete(c.stmts, q)
	}
	return c.base.Close()
}

// releasingRows gives its statement back to the cache when closed.
type releasingRows struct {
	driver.Rows
	release func()
	done    bool
}

func (r *releasingRows) Close() error {
	err := r.Rows.Close()
	if !r.done {
		r.done = true
		r.release()
	}
	return err
}

// The column-type methods database/sql's ColumnTypes uses.

func (r *releasingRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *releasingRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}

func (r *releasingRows) ColumnTypeNullable(i int) (nullable, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}
