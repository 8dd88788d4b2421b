package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/lib/pq"

	"github.com/slotbridge/slotbridge/internal/scheduling"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqlState returns the PostgreSQL SQLSTATE of err, from either driver.
func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		return string(pqErr.Code)
	}
	return ""
}

// sqliteCode returns the extended SQLite result code of err, or 0.
func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

// isUniqueViolation reports a unique-constraint failure on either engine.
func isUniqueViolation(err error) bool {
	if sqlState(err) == "23505" {
		return true
	}
	c := sqliteCode(err)
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// isProfileKeyViolation reports a PostgreSQL foreign-key failure on a
// reference to an access profile (SQLite, with one writer, cannot lose that
// race). Any other foreign-key failure is a fault, and is left as it is.
func isProfileKeyViolation(err error) bool {
	if sqlState(err) != "23503" {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return strings.HasSuffix(pgErr.ConstraintName, "_access_profile_id_fkey")
	}
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && strings.HasSuffix(pqErr.Constraint, "_access_profile_id_fkey")
}

// isCheckViolation reports a CHECK-constraint failure on either engine.
func isCheckViolation(err error) bool {
	return sqlState(err) == "23514" || sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_CHECK
}

// storageDown reports errors that say the database cannot take the request
// now, as opposed to a fault in the request or in our SQL: SQLite out of
// space, read-only, or unable to reach its files; PostgreSQL out of disk or
// other resources, in read-only mode, shutting down or restarting, or the
// connection to it lost.
func storageDown(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false // the caller gave up; that says nothing about the database
	}
	if errors.Is(err, context.DeadlineExceeded) {
		// The request's own time ran out (the provider bounds every request)
		// while the database had not answered: it is not answering now.
		return true
	}
	switch sqliteCode(err) & 0xff {
	case sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN:
		return true
	}
	st := sqlState(err)
	switch {
	case strings.HasPrefix(st, "53"), strings.HasPrefix(st, "08"), st == "25006", st == "57P01", st == "57P02", st == "57P03":
		return true
	}
	var ne net.Error
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &ne) || pqProtocolLost(err)
}

// pqProtocolLost reports lib/pq's plain error for a connection whose protocol
// state was lost, as when the server's shutdown notice arrives where a
// ReadyForQuery was expected ("pq: unexpected message 'E'; expected
// ReadyForQuery"). lib/pq marks such a connection bad; for the request it
// means the database went away mid-statement.
func pqProtocolLost(err error) bool {
	for ; err != nil; err = errors.Unwrap(err) {
		if strings.HasPrefix(err.Error(), "pq: unexpected message") {
			return true
		}
	}
	return false
}

// unavailableMessage is what a consumer is told when the database cannot
// take a request; it names no file, host or driver.
const unavailableMessage = "The practice system's database is unavailable (for example full, read-only or restarting), so the request could not be completed. Try again later."

// unavailable marks an error from storageDown as EUNAVAILABLE, keeping the
// cause in the chain for the log.
func unavailable(err error) error {
	if err == nil || !storageDown(err) || scheduling.ErrorCode(err) != scheduling.EINTERNAL {
		return err
	}
	return fmt.Errorf("%w: %w", scheduling.Errorf(scheduling.EUNAVAILABLE, unavailableMessage), err)
}

// retryable reports errors after which the whole transaction may be retried.
func retryable(err error) bool {
	switch sqlState(err) {
	case "40001", "40P01":
		return true
	}
	c := sqliteCode(err) & 0xff
	return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
}
