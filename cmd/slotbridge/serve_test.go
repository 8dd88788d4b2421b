package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

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
