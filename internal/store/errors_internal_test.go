package store

import (
	"errors"
	"fmt"
	"testing"

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
