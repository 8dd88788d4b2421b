package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"

	"github.com/slotbridge/slotbridge/internal/bench"
)

// TestBenchSearchAndBookJSON runs the bench command end to end on SQLite with
// tiny periods and checks the JSON table: every figure of the three
// benchmarks is there, each measured figure has its floor, and the booking
// invariants held.
func TestBenchSearchAndBookJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("the fanout part starts a child simulator; skipped with -short")
	}
	t.Setenv("SLOTBRIDGE_TEST_AS_MAIN", "1") // the fanout's simulator is this test binary
	var out bytes.Buffer
	err := run(context.Background(), []string{"bench", "all", "--quick", "--engine", "sqlite", "--warmup", "1ms", "--duration", "100ms", "--json",
		"--sizes", "4", "--rounds", "2", "--practice-timeout", "300ms", "--latency", "5ms", "--hang", "20%"}, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var tb bench.Table
	if err := json.Unmarshal(out.Bytes(), &tb); err != nil {
		t.Fatalf("not a JSON table: %v\n%s", err, out.String())
	}
	seen := map[string]bool{}
	for _, r := range tb.Rows {
		seen[r.Bench+"/"+r.Case+"/"+r.Metric] = true
		if (r.Metric == "p50" || r.Metric == "req/s" || r.Metric == "bookings/s") && r.Floor <= 0 {
			t.Errorf("%s %s %s has no floor", r.Bench, r.Case, r.Metric)
		}
		if r.Metric == "invariants" && (r.Pass == nil || !*r.Pass) {
			t.Errorf("booking invariants: %s", r.Goal)
		}
	}
	for _, k := range []string{"search/100 slots c=1/p50", "search/100 slots c=32/req/s", "search/5000 slots c=1/p99", "search/100 slots/allocs/req",
		"book/8 clients/bookings/s", "book/32 clients/p99", "book/after run/invariants"} {
		if !seen[k] {
			t.Errorf("missing %s", k)
		}
	}
	// bench all merges the fanout rows into its table.
	checkFanoutRows(t, tb, []int{4})
}

func TestBenchFlags(t *testing.T) {
	for _, args := range [][]string{{"search", "--engine", "oracle"}, {"search", "--pg-driver", "odbc"}, {"search", "--engine", "postgres"}, {"nosuch"},
		{"search", "--sizes", "50"}, {"fanout", "--sizes", "0"}, {"fanout", "--rounds", "0"}, {"fanout", "--fail", "x"}, {"all", "--quick", "--sizes", ""}} {
		if err := run(context.Background(), append([]string{"bench"}, args...), io.Discard, io.Discard); err == nil {
			t.Errorf("bench %v: no error", args)
		}
	}
}
