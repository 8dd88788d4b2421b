package main

import (
	"context"
	"errors"
	"io"
)

// The federation commands are not built yet; issue 5 is open.
func runHub(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("hub: not built yet")
}

func runDirectory(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("directory: not built yet")
}

func runSlots(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("slots: not built yet")
}

func runBook(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("book: not built yet")
}

func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("sim: not built yet")
}
