package provider

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// refusingStore is a Store whose audit writes refuse, as a database refuses
// content it cannot hold, any batch holding a record whose trace id starts
// with "bad", and count what they keep. The database's own refusal cannot be
// provoked any more (the store replaces what it cannot hold), so this seam is
// a stand-in; only the audit methods are ever called.
type refusingStore struct {
	Store
	mu    sync.Mutex
	kept  []string
	calls int
}

func (s *refusingStore) AuditBatch(ctx context.Context, recs []scheduling.AuditRecord) error {
	return s.AuditBulk(ctx, recs)
}

func (s *refusingStore) AuditBulk(_ context.Context, recs []scheduling.AuditRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	for _, r := range recs {
		if strings.HasPrefix(r.TraceID, "bad") {
			return scheduling.Errorf(scheduling.EINVALID, "refused %s", r.TraceID)
		}
	}
	for _, r := range recs {
		s.kept = append(s.kept, r.TraceID)
	}
	return nil
}

// TestAuditorKeepsGoodRecords: a batch the database refuses for what one
// record holds is written record by record, so the others are kept, the
// refused one is dropped at once (no retries: retrying cannot help, and the
// writer sleeps between retries while requests queue behind it).
func TestAuditorKeepsGoodRecords(t *testing.T) {
	st := &refusingStore{}
	a := &auditor{st: st, log: slog.New(slog.DiscardHandler), ch: make(chan scheduling.AuditRecord, 16), done: make(chan struct{})}
	for _, id := range []string{"good-1", "bad-1", "good-2", "good-3"} {
		a.ch <- scheduling.AuditRecord{TraceID: id}
	}
	go a.run()
	a.close()
	if strings.Join(st.kept, ",") != "good-1,good-2,good-3" {
		t.Fatalf("kept %v, want the three good records in order", st.kept)
	}
	if st.calls != 1+4 {
		t.Fatalf("%d writes, want the batch once and then each record once", st.calls)
	}
}
