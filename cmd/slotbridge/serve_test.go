package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/bench"
	"github.com/slotbridge/slotbridge/internal/demo"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// TestTopUpRunsAtStart: the horizon is topped up as the server starts, not
// an hour later, so a server that was down for days has no missing days.
func TestTopUpRunsAtStart(t *testing.T) {
	st := storetest.Open(t, storetest.Engines(false)[0])
	if err := demo.Load(context.Background(), st, time.Now(), 2*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	last := func() int64 {
		var v int64
		if err := st.DB().GetContext(context.Background(), &v, `SELECT COALESCE(MAX(start_at), 0) FROM schedules`); err != nil {
			t.Fatal(err)
		}
		return v
	}
	before := last()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { topUp(ctx, st, slog.New(slog.DiscardHandler), horizonFor(2)); close(done) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(30 * time.Second)
	for last() < time.Now().Add(10*24*time.Hour).Unix() {
		if time.Now().After(deadline) {
			t.Fatalf("no sessions 10 days ahead after 30 s (last session starts %v, before the top-up %v)", time.Unix(last(), 0), time.Unix(before, 0))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestServeServiceFilteringFlag: --service-filtering sets the supplier
// switch the provider answers by (here off, so the demo practice, whose own
// switch is on, reports supplier-disabled), and a misspelt value stops serve.
func TestServeServiceFilteringFlag(t *testing.T) {
	if err := runServe(context.Background(), []string{"--data", t.TempDir(), "--service-filtering", "of"}, io.Discard, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "--service-filtering") {
		t.Fatalf("serve --service-filtering of: %v, want an error naming the flag", err)
	}
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, []string{"--data", t.TempDir(), "--demo", "--addr", addr, "--service-filtering", "off"}, io.Discard, io.Discard)
	}()
	defer func() { cancel(); <-done }()
	var toks bench.Tokens
	bearer, err := toks.Bearer(gpconnect.ReadMetadata.Scope())
	if err != nil {
		t.Fatal(err)
	}
	untilServing(t, done, func() error {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/A20047/STU3/1/gpconnect/metadata", nil)
		bench.SetGPConnectHeaders(req.Header, "918999198993", "serve-test", gpconnect.ReadMetadata, bearer)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("metadata: %d %s", resp.StatusCode, body)
		}
		var cs fhir.CapabilityStatement
		if err := json.Unmarshal(body, &cs); err != nil {
			t.Fatal(err)
		}
		var got string
		for _, x := range cs.Extension {
			if x.URL == gpconnect.ExtServiceFilteringState && x.ValueCode != nil {
				got = *x.ValueCode
			}
		}
		if got != "supplier-disabled" {
			t.Errorf("ServiceFilteringStatus %q, want supplier-disabled", got)
		}
		return nil
	})
}

// TestServePoolFlags: a pool size that is not a whole number >= 0, from a
// flag or the environment, stops serve with an error naming it, unless the
// flag is given too.
func TestServePoolFlags(t *testing.T) {
	if err := runServe(context.Background(), []string{"--data", t.TempDir(), "--pg-read-conns", "-1"}, io.Discard, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "--pg-read-conns") {
		t.Fatalf("serve --pg-read-conns -1: %v, want an error naming the flag", err)
	}
	t.Setenv("SLOTBRIDGE_PG_CONNS", "lots")
	if err := runServe(context.Background(), []string{"--data", t.TempDir()}, io.Discard, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "SLOTBRIDGE_PG_CONNS") {
		t.Fatalf("serve with SLOTBRIDGE_PG_CONNS=lots: %v, want an error naming the variable", err)
	}
	// The flag given on the command line wins over the variable: serve gets
	// past the pool sizes (checked before it takes an address) and stops
	// only at its bad --addr.
	err := runServe(context.Background(), []string{"--data", t.TempDir(), "--pg-conns", "10", "--addr", "256.0.0.1:1"}, io.Discard, io.Discard)
	if err == nil || strings.Contains(err.Error(), "SLOTBRIDGE_PG_CONNS") {
		t.Fatalf("serve --pg-conns 10 with SLOTBRIDGE_PG_CONNS=lots: %v, want the flag to win", err)
	}
}

// TestServeEnvLimits: a malformed or out-of-range hub limit or horizon in the
// environment stops serve with an error naming it, rather than leaving the
// default silently in force.
func TestServeEnvLimits(t *testing.T) {
	for key, v := range map[string]string{
		"SLOTBRIDGE_HUB_PRACTICE_TIMEOUT": "abc",
		"SLOTBRIDGE_HUB_DEADLINE":         "2",
		"SLOTBRIDGE_HUB_CONCURRENCY":      "-5",
		"SLOTBRIDGE_HUB_MAX_IN_FLIGHT":    "many",
		"SLOTBRIDGE_HORIZON_WEEKS":        "0",
	} {
		t.Run(key, func(t *testing.T) {
			t.Setenv(key, v)
			err := runServe(context.Background(), []string{"--data", t.TempDir(), "--addr", "127.0.0.1:0"}, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), key) {
				t.Fatalf("serve with %s=%s: %v, want an error naming it", key, v, err)
			}
		})
	}
}
