package store

import (
	"context"
	"errors"
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
	s       *Store
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
	c.s = s
	c.queue = append(c.queue, j)
	if !c.running {
		c.running = true
		go c.run()
	}
	c.mu.Unlock()
	// The answer waits for the commit even if ctx ends meanwhile: the caller
	// must not be told "failed" about a booking that then commits.
	return <-j.done
}

// run commits groups until the queue is empty.
func (c *committer) run() {
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
		c.commit(jobs)
	}
}

// commit runs one group. If the transaction itself fails (begin, commit),
// every job is retried alone, so one job's trouble is not everyone's.
func (c *committer) commit(jobs []*groupJob) {
	if len(jobs) == 1 {
		j := jobs[0]
		j.done <- c.s.inTx(j.ctx, j.fn)
		return
	}
	errs := make([]error, len(jobs))
	err := c.s.tryTx(context.Background(), func(tx *sqlx.Tx) error {
		for i, j := range jobs {
			if err := j.ctx.Err(); err != nil {
				errs[i] = err
				continue
			}
			if _, err := tx.ExecContext(j.ctx, "SAVEPOINT booking"); err != nil {
				return err
			}
			errs[i] = j.fn(tx)
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
			j.done <- c.s.inTx(j.ctx, j.fn)
		}
		return
	}
	for i, j := range jobs {
		if errs[i] != nil && retryable(errs[i]) && !errors.Is(errs[i], context.Canceled) {
			// A busy database inside the group: try it again alone.
			errs[i] = c.s.inTx(j.ctx, j.fn)
		}
		j.done <- errs[i]
	}
}
