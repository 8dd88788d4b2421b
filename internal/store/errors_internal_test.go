package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// TestStorageDownPQProtocolLost: lib/pq's plain error for a connection that
// lost its protocol state during a server restart (seen in
// TestPostgresRestartDuringLoad) is the database being unavailable, not an
// internal error; an ordinary error is still internal.
func TestStorageDownPQProtocolLost(t *testing.T) {
	lost := errors.New("pq: unexpected message 'E'; expected ReadyForQuery")
	for _, err := range []error{lost, fmt.Errorf("book: %w", lost)} {
		if !storageDown(err) {
			t.Errorf("storageDown(%v) = false", err)
		}
		if got := scheduling.ErrorCode(unavailable(err)); got != scheduling.EUNAVAILABLE {
			t.Errorf("unavailable(%v) has code %v, want EUNAVAILABLE", err, got)
		}
	}
	if storageDown(errors.New("pq: duplicate key value violates unique constraint")) {
		t.Error("an ordinary lib/pq error counted as the database being down")
	}
}

// TestStorageDownDeadline: the provider bounds every request, so a deadline
// that ran out while the database had not answered is the database being
// unavailable; a cancelled request (the caller gave up) is not.
func TestStorageDownDeadline(t *testing.T) {
	if !storageDown(fmt.Errorf("query: %w", context.DeadlineExceeded)) {
		t.Error("a deadline exceeded in a database call did not count as the database being down")
	}
	if storageDown(fmt.Errorf("query: %w", context.Canceled)) {
		t.Error("a cancelled call counted as the database being down")
	}
}

// TestURLDefaults: a postgres URL without connect_timeout gets the default,
// and lib/pq's gets binary_parameters=yes; a URL that sets either keeps its
// own value, and anything else (a key=value DSN) is left alone.
func TestURLDefaults(t *testing.T) {
	for _, c := range []struct {
		name    string
		fn      func(string) string
		in, out string
	}{
		{"timeout", withConnectTimeout, "postgres://u:p%40ss@127.0.0.1:5432/db?sslmode=disable", "postgres://u:p%40ss@127.0.0.1:5432/db?connect_timeout=10&sslmode=disable"},
		{"timeout", withConnectTimeout, "postgresql://127.0.0.1/db", "postgresql://127.0.0.1/db?connect_timeout=10"},
		{"timeout", withConnectTimeout, "postgres://127.0.0.1/db?connect_timeout=3", "postgres://127.0.0.1/db?connect_timeout=3"},
		{"timeout", withConnectTimeout, "host=127.0.0.1 dbname=db", "host=127.0.0.1 dbname=db"},
		{"timeout", withConnectTimeout, "postgres://127.0.0.1/db?sslmode=disable&connect_timeout=0&application_name=x", "postgres://127.0.0.1/db?sslmode=disable&connect_timeout=0&application_name=x"},
		{"binary", withPQBinaryParameters, "postgres://127.0.0.1/db?sslmode=disable", "postgres://127.0.0.1/db?binary_parameters=yes&sslmode=disable"},
		{"binary", withPQBinaryParameters, "postgres://127.0.0.1/db?binary_parameters=no", "postgres://127.0.0.1/db?binary_parameters=no"},
		{"binary", withPQBinaryParameters, "postgresql://127.0.0.1/db?binary_parameters=yes", "postgresql://127.0.0.1/db?binary_parameters=yes"},
		{"binary", withPQBinaryParameters, "host=127.0.0.1 dbname=db binary_parameters=no", "host=127.0.0.1 dbname=db binary_parameters=no"},
	} {
		if got := c.fn(c.in); got != c.out {
			t.Errorf("%s(%q) = %q, want %q", c.name, c.in, got, c.out)
		}
	}
}

// TestOpenSilentServer: a PostgreSQL URL whose server accepts connections
// and never answers (a real listener on loopback that reads nothing and
// writes nothing) fails to open within the default connect timeout, on
// both drivers, instead of hanging; the test's own bound is generous.
func TestOpenSilentServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	url := "postgres://postgres@" + ln.Addr().String() + "/none?sslmode=disable"
	for _, drv := range []string{DriverPgx, DriverPQ} {
		t.Run(drv, func(t *testing.T) {
			t.Parallel()
			done := make(chan error, 1)
			go func() {
				st, err := Open(context.Background(), Config{URL: url, PGDriver: drv})
				if err == nil {
					st.Close()
				}
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil {
					t.Fatal("opened a store on a server that never answered")
				}
			case <-time.After(2 * time.Minute):
				t.Fatal("Open still waiting on a server that never answers")
			}
		})
	}
}
