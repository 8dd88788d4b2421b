package provider

import (
	"context"
	"log/slog"
	"sync"
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
}

// bulkAuditor is a store that can write a batch of records in multi-row
// statements (the SQL store can); others get AuditBatch.
type bulkAuditor interface {
	AuditBulk(ctx context.Context, recs []scheduling.AuditRecord) error
}

// auditLinger is how long the writer waits after a record for others to
// write with it; close still flushes at once.
const auditLinger = 5 * time.Millisecond

func newAuditor(st Store, log *slog.Logger) *auditor {
	a := &auditor{st: st, log: log, ch: make(chan scheduling.AuditRecord, 8192), done: make(chan struct{})}
	go a.run()
	return a
}

// add queues a record; when the queue is full it waits rather than drop one.
func (a *auditor) add(r scheduling.AuditRecord) { a.ch <- r }

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
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			return write(ctx, recs)
		}
		for attempt := 0; ; attempt++ {
			err := try(batch)
			if err == nil {
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
					break
				}
				batch = append(batch[:0], again...) // retried below, like any failed batch
			}
			a.log.Error("audit write failed; retrying", "err", err, "records", len(batch))
			if attempt >= 20 {
				a.log.Error("audit records dropped after retries", "records", len(batch))
				break
			}
			time.Sleep(time.Duration(attempt+1) * 100 * time.Millisecond)
		}
		batch = batch[:0]
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
}

func (a *auditor) close() {
	a.once.Do(func() { close(a.ch) })
	<-a.done
}
