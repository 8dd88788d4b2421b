package provider

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// auditor writes audit records in small batches off the request path, so a
// search does not wait for a write lock; close flushes everything pending.
type auditor struct {
	st   Store
	log  *slog.Logger
	ch   chan scheduling.AuditRecord
	done chan struct{}
	once sync.Once
	// quit is cancelled when close has waited long enough: the writer then
	// stops retrying and drops what it holds (counted in the log).
	quit    context.Context
	giveUp  context.CancelFunc
	failing atomic.Bool   // the last write failed and is being retried
	writing atomic.Int64  // when the write in progress began (Unix ns), 0 between writes
	dropped atomic.Uint64 // records add dropped since the writer last said so
	// queueWait, closeWait and stallAfter are auditQueueWait, auditCloseWait
	// and auditStallAfter (tests change them).
	queueWait, closeWait, stallAfter time.Duration
}

// bulkAuditor is a store that can write a batch of records in multi-row
// statements (the SQL store can); others get AuditBatch.
type bulkAuditor interface {
	AuditBulk(ctx context.Context, recs []scheduling.AuditRecord) error
}

// auditLinger is how long the writer waits after a record for others to
// write with it; close still flushes at once.
const auditLinger = 5 * time.Millisecond

// auditQueueWait bounds how long a request waits for room in a full queue
// while the database is taking records (backpressure); while it is failing
// a request does not wait at all, since what it would wait for is the
// retries of records that are then dropped anyway.
const auditQueueWait = 2 * time.Second

// auditCloseWait bounds how long close waits for the pending records when
// the database cannot take them, so that shutdown during an outage is not
// minutes of retries.
const auditCloseWait = 10 * time.Second

// auditStallAfter is how long one write may take before the writer counts
// as failing: a database that stopped answering fails a write only at its
// 30-second timeout, and requests should not wait for room meanwhile.
const auditStallAfter = time.Second

func newAuditor(st Store, log *slog.Logger) *auditor {
	a := newAuditorQueue(st, log, 8192)
	go a.run()
	return a
}

// newAuditorQueue is an auditor with a queue of n records whose writer is not started yet.
func newAuditorQueue(st Store, log *slog.Logger, n int) *auditor {
	a := &auditor{st: st, log: log, ch: make(chan scheduling.AuditRecord, n), done: make(chan struct{}),
		queueWait: auditQueueWait, closeWait: auditCloseWait, stallAfter: auditStallAfter}
	a.quit, a.giveUp = context.WithCancel(context.Background())
	return a
}

// add queues a record. When the queue is full it waits for room up to
// auditQueueWait, or not at all while the writer is stuck (see stuck); a
// record it cannot queue is dropped and counted.
func (a *auditor) add(r scheduling.AuditRecord) {
	select {
	case a.ch <- r:
		return
	default:
	}
	if !a.stuck() {
		t := time.NewTimer(a.queueWait)
		defer t.Stop()
		select {
		case a.ch <- r:
			return
		case <-t.C:
		}
	}
	a.dropped.Add(1)
}

// stuck reports whether the writer cannot take records now: its last write
// failed, or the one in progress has run longer than stallAfter.
func (a *auditor) stuck() bool {
	if a.failing.Load() {
		return true
	}
	began := a.writing.Load()
	return began != 0 && time.Since(time.Unix(0, began)) > a.stallAfter
}

func (a *auditor) run() {
	defer close(a.done)
	batch := make([]scheduling.AuditRecord, 0, 512)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		write := a.st.AuditBatch
		if b, ok := a.st.(bulkAuditor); ok {
			write = b.AuditBulk
		}
		try := func(recs []scheduling.AuditRecord) error {
			ctx, cancel := context.WithTimeout(a.quit, 30*time.Second)
			defer cancel()
			a.writing.Store(time.Now().UnixNano())
			defer a.writing.Store(0)
			return write(ctx, recs)
		}
		for attempt := 0; ; attempt++ {
			err := try(batch)
			if err == nil {
				a.failing.Store(false)
				break
			}
			a.failing.Store(true)
			if a.quit.Err() != nil {
				a.log.Error("audit records dropped: the database did not take them before shutdown", "records", len(batch), "err", err)
				break
			}
			if scheduling.ErrorCode(err) == scheduling.EINVALID {
				// The database refuses something these records hold: a retry
				// cannot help, and the one bad record must not cost the
				// others theirs. Write them one by one, drop what is refused
				// for its content again, and retry what failed otherwise.
				var again []scheduling.AuditRecord
				for _, r := range batch {
					switch err := try([]scheduling.AuditRecord{r}); {
					case err == nil:
					case scheduling.ErrorCode(err) == scheduling.EINVALID:
						a.log.Error("audit record refused by the database; dropped", "err", err, "trace", r.TraceID, "interaction", r.Interaction)
					default:
						again = append(again, r)
					}
				}
				if len(again) == 0 {
					a.failing.Store(false)
					break
				}
				batch = append(batch[:0], again...) // retried below, like any failed batch
			}
			a.log.Error("audit write failed; retrying", "err", err, "records", len(batch))
			if attempt >= 20 {
				a.log.Error("audit records dropped after retries", "records", len(batch))
				break
			}
			select {
			case <-time.After(time.Duration(attempt+1) * 100 * time.Millisecond):
			case <-a.quit.Done():
			}
		}
		batch = batch[:0]
		if n := a.dropped.Swap(0); n > 0 {
			a.log.Error("audit records dropped: the queue was full while the database was failing or slow", "records", n)
		}
	}
	for r := range a.ch {
		batch = append(batch, r)
		// Wait a moment for more records: at a few hundred requests a
		// second, each record alone was a write (and on PostgreSQL a WAL
		// flush) of its own, which cost more CPU than the searches. The
		// writer sleeps rather than waiting on the channel, so the records
		// sent meanwhile queue in its buffer without waking it once each
		// (a wake-up per request was a few per cent of a search's CPU).
		time.Sleep(auditLinger)
	drain:
		for len(batch) < cap(batch) {
			select {
			case r, ok := <-a.ch:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		flush()
	}
	flush()
	if n := a.dropped.Swap(0); n > 0 {
		a.log.Error("audit records dropped: the queue was full while the database was failing or slow", "records", n)
	}
}

// close flushes the pending records and stops the writer, waiting at most
// auditCloseWait for a database that is not taking them.
func (a *auditor) close() {
	a.once.Do(func() { close(a.ch) })
	t := time.NewTimer(a.closeWait)
	defer t.Stop()
	select {
	case <-a.done:
	case <-t.C:
		a.giveUp()
		<-a.done
	}
	a.giveUp()
}
