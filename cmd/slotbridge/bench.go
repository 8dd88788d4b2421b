package main

import (
	"context"
	"errors"
	"io"
)

// runBench is not built yet; its issue is open.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("bench: not built yet")
}
