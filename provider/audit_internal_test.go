package provider

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/lockedbuf"
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
	a := newAuditorQueue(st, slog.New(slog.DiscardHandler), 16)
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

// downStore is a Store whose audit writes fail as a database that is down
// does (refused connections), or, with hang, wait as one that stopped
// answering does, until the write's context ends. Only the audit methods
// are ever called.
type downStore struct {
	Store
	hang   bool
	writes atomic.Int64
}

func (s *downStore) AuditBatch(ctx context.Context, recs []scheduling.AuditRecord) error {
	return s.AuditBulk(ctx, recs)
}

func (s *downStore) AuditBulk(ctx context.Context, _ []scheduling.AuditRecord) error {
	s.writes.Add(1)
	if s.hang {
		<-ctx.Done()
		return ctx.Err()
	}
	return scheduling.Errorf(scheduling.EUNAVAILABLE, "connection refused")
}

// TestAuditorOutage: while the database is down a full queue does not hold
// requests (add returns at once and counts the record dropped, since the
// records it would wait behind are being retried only to be dropped), and
// close gives up after closeWait instead of retrying for minutes, whether
// writes fail at once or hang; the log says how many records were lost.
func TestAuditorOutage(t *testing.T) {
	for _, hang := range []bool{false, true} {
		var logs lockedbuf.Buffer
		st := &downStore{hang: hang}
		a := newAuditorQueue(st, slog.New(slog.NewTextHandler(&logs, nil)), 4)
		a.queueWait, a.closeWait, a.stallAfter = time.Hour, 200*time.Millisecond, 50*time.Millisecond
		go a.run()
		// Fill the queue and wait for the writer to be stuck: failing, or
		// (hang) in one write for longer than stallAfter.
		for i := 0; !a.stuck(); i++ {
			if i > 500 {
				t.Fatalf("hang=%v: the writer never counted as stuck", hang)
			}
			select {
			case a.ch <- scheduling.AuditRecord{TraceID: "fill"}:
			default:
			}
			time.Sleep(10 * time.Millisecond)
		}
		for len(a.ch) < cap(a.ch) {
			a.ch <- scheduling.AuditRecord{TraceID: "fill"}
		}
		// With queueWait an hour, add returning at all shows it did not wait.
		added := make(chan struct{})
		go func() {
			for range 3 {
				a.add(scheduling.AuditRecord{TraceID: "late"})
			}
			close(added)
		}()
		select {
		case <-added:
		case <-time.After(time.Minute):
			t.Fatalf("hang=%v: add blocked on a full queue while writes were failing", hang)
		}
		closed := make(chan struct{})
		go func() { a.close(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(time.Minute):
			t.Fatalf("hang=%v: close did not give up on a database that cannot take the records", hang)
		}
		if !strings.Contains(logs.String(), "records=3") || !strings.Contains(logs.String(), "queue was full") {
			t.Errorf("hang=%v: the log does not count the 3 records add dropped:\n%s", hang, logs.String())
		}
		if !strings.Contains(logs.String(), "before shutdown") {
			t.Errorf("hang=%v: the log does not say records were dropped at shutdown:\n%s", hang, logs.String())
		}
	}
}

// TestAuditorBackpressure: while writes succeed, a full queue makes add wait
// for room rather than drop the record.
func TestAuditorBackpressure(t *testing.T) {
	st := &refusingStore{}
	a := newAuditorQueue(st, slog.New(slog.DiscardHandler), 2)
	a.queueWait = time.Hour
	a.ch <- scheduling.AuditRecord{TraceID: "q-1"}
	a.ch <- scheduling.AuditRecord{TraceID: "q-2"}
	added := make(chan struct{})
	go func() { a.add(scheduling.AuditRecord{TraceID: "q-3"}); close(added) }()
	select {
	case <-added:
		t.Fatal("add returned with the queue full and the writer not started: the record was dropped")
	case <-time.After(50 * time.Millisecond):
	}
	go a.run()
	<-added
	a.close()
	if strings.Join(st.kept, ",") != "q-1,q-2,q-3" || a.dropped.Load() != 0 {
		t.Fatalf("kept %v, dropped %d; want all three kept", st.kept, a.dropped.Load())
	}
}
