package main

import (
	"context"
	"errors"
	"io"
)

// runBenchFanout is not built yet; the federation work replaces this file.
// Contract: it takes the common bench flags (parseBenchFlags) and, with
// --json, writes one bench.Table as JSON so `bench all` can merge it.
func runBenchFanout(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("bench fanout: not built yet")
}
