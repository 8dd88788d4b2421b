package main

import (
	"context"
	"errors"
	"io"
)

// runAdmin is not built yet; its issue is open.
func runAdmin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("admin: not built yet")
}
