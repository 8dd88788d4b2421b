package store

import (
	"context"
	"fmt"
	"sync"

	"github.com/jmoiron/sqlx"
)

// groupBatch bounds how many transactions one group commit carries.
const groupBatch = 64

// committer runs write transactions on SQLite in groups: the ones that arrive
// while a commit is under way are run one after another inside a single
// transaction, each in its own savepoint, and committed together. With
// synchronous=FULL every commit waits for the disk (an fsync of the WAL), and
// SQLite has one writer, so one commit per booking caps bookings at the
// disk's fsync rate; one commit per group keeps every booking durable before
// it is answered while sharing the wait. A transaction that fails is rolled
// back to its savepoint and changes nothing; the others still commit.
type committer struct {
	mu      sync.Mutex
	queue   []*groupJob
	running bool
}

type groupJob struct {
	ctx  context.Context
	fn   func(tx *sqlx.Tx) error
	done chan error
}

// groupTx runs fn as inTx does: on SQLite in a group commit, elsewhere in a
// transaction of its own (PostgreSQL already shares WAL flushes between
// concurrent commits).
func (s *Store) groupTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	if s.engine != EngineSQLite {
		return s.inTx(ctx, fn)
	}
	j := &groupJob{ctx: ctx, fn: fn, done: make(chan error, 1)}
	c := &s.group
	c.mu.Lock()
	c.queue = append(c.queue, j)
	if !c.running {
		c.running = true
		go c.run(s)
	}
	c.mu.Unlock()
	// The answer waits for the commit even if ctx ends meanwhile: the caller
	// must not be told "failed" about a booking that then commits.
	return <-j.done
}

// run commits groups until the queue is empty.
func (c *committer) run(s *Store) {
	for {
		c.mu.Lock()
		n := min(len(c.queue), groupBatch)
		if n == 0 {
			c.running = false
			c.mu.Unlock()
			return
		}
		jobs := append([]*groupJob(nil), c.queue[:n]...)
		c.queue = append(c.queue[:0], c.queue[n:]...)
		c.mu.Unlock()
		c.commit(s, jobs)
	}
}

// commit runs one group. If the transaction itself fails (begin, commit),
// every job is retried alone, so one job's trouble is not everyone's.
func (c *committer) commit(s *Store, jobs []*groupJob) {
	if len(jobs) == 1 {
		j := jobs[0]
		j.done <- s.inTx(j.ctx, j.fn)
		return
	}
	errs := make([]error, len(jobs))
	err := s.tryTx(context.Background(), func(tx *sqlx.Tx) error {
		for i, j := range jobs {
			if err := j.ctx.Err(); err != nil {
				errs[i] = err
				continue
			}
			// Not j.ctx: one caller going away must not fail the whole group.
			if _, err := tx.ExecContext(context.Background(), "SAVEPOINT booking"); err != nil {
				return err
			}
			errs[i] = runJob(j, tx)
			if errs[i] != nil {
				if _, err := tx.ExecContext(context.Background(), "ROLLBACK TO booking"); err != nil {
					return fmt.Errorf("store: rollback to savepoint: %w", err)
				}
			}
			if _, err := tx.ExecContext(context.Background(), "RELEASE booking"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		// Nothing was committed: run each job in a transaction of its own.
		for _, j := range jobs {
			j.done <- s.inTx(j.ctx, j.fn)
		}
		return
	}
	for i, j := range jobs {
		if errs[i] != nil && retryable(errs[i]) {
			// A busy database inside the group: try it again alone.
			errs[i] = s.inTx(j.ctx, j.fn)
		}
		// As inTx does: a full, read-only or lost database is EUNAVAILABLE.
		j.done <- unavailable(errs[i])
	}
}

// runJob runs one job's function, turning a panic into an error: the
// function runs on the committer goroutine, where net/http's per-request
// recovery does not reach, and a panic there would stop every booking.
func runJob(j *groupJob, tx *sqlx.Tx) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("store: booking panicked: %v", v)
		}
	}()
	return j.fn(tx)
}
