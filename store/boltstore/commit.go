package boltstore

import (
	"context"
	"errors"
	"runtime"
	"sync"

	"go.etcd.io/bbolt"
)

// maxGroup caps how many queued writes share one transaction, so that one
// commit (and the callers waiting on it) stays short.
const maxGroup = 1024

// A write is one caller's share of a group commit: apply writes its records
// in the shared transaction. apply must decide whether the write is
// rejected (returning a rejection error) before it changes anything;
// any other error aborts the whole group.
type write struct {
	ctx   context.Context
	apply func(tx *bbolt.Tx) error
	done  chan error
}

// rejection marks an error after which the transaction may still commit,
// because the write it rejects changed nothing.
type rejection struct{ err error }

func (r rejection) Error() string { return r.err.Error() }
func (r rejection) Unwrap() error { return r.err }

// committer is the group commit behind EventInsert, DeliveryClaim,
// DeliveryUpdate and DeliveryRelease. One goroutine takes the
// first queued write, drains whatever else is queued at that moment (up to
// maxGroup) and applies them all in one bbolt write transaction, that is
// one fsync. Writers that arrive while that fsync runs queue up and form
// the next group. There is no timer: a lone writer is committed at once,
// and under load the group grows with the time a commit takes, which is
// what spreads the cost of an fsync over many writers.
//
// If the group's transaction fails for a reason other than a rejection
// (ErrEventExists, ErrLeaseLost, ErrNotFound), each of its writes is
// retried in a transaction of its own, so that one bad write cannot fail
// the others; apply functions must therefore be safe to run again.
type committer struct {
	db    *bbolt.DB
	queue chan *write
	done  chan struct{}

	mu     sync.RWMutex // held for reading while sending to queue
	closed bool
}

func newCommitter(db *bbolt.DB) *committer {
	c := &committer{db: db, queue: make(chan *write, maxGroup), done: make(chan struct{})}
	go c.run()
	return c
}

// do queues apply and waits for its commit. When ctx ends first, do returns
// ctx's error: the write is then skipped if its group has not started, and
// may be committed if it has.
func (c *committer) do(ctx context.Context, apply func(tx *bbolt.Tx) error) error {
	w := &write{ctx: ctx, apply: apply, done: make(chan error, 1)}
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return ErrClosed
	}
	select {
	case c.queue <- w:
		c.mu.RUnlock()
	case <-ctx.Done():
		c.mu.RUnlock()
		return ctx.Err()
	}
	select {
	case err := <-w.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *committer) isClosed() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.closed
}

// close commits what is queued, then stops the goroutine.
func (c *committer) close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.queue)
	}
	c.mu.Unlock()
	<-c.done
}

func (c *committer) run() {
	defer close(c.done)
	group := make([]*write, 0, maxGroup)
	for w := range c.queue {
		group = append(group[:0], w)
		// Let the writers woken by the last commit run and queue their
		// next write before draining: with few cores they are often
		// runnable but not yet running. This is a yield, not a wait.
		runtime.Gosched()
	drain:
		for len(group) < maxGroup {
			select {
			case w, ok := <-c.queue:
				if !ok {
					break drain
				}
				group = append(group, w)
			default:
				break drain
			}
		}
		c.commit(group)
	}
}

// commit applies group in one transaction and tells each writer its
// outcome.
func (c *committer) commit(group []*write) {
	results := make([]error, len(group))
	err := c.db.Update(func(tx *bbolt.Tx) error {
		for i, w := range group {
			if err := w.ctx.Err(); err != nil {
				results[i] = err // the caller gave up: skip the write
				continue
			}
			err := w.apply(tx)
			var r rejection
			if errors.As(err, &r) {
				results[i] = r.err
				continue
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && len(group) > 1 {
		// Find the culprit: each write on its own.
		for _, w := range group {
			c.commit([]*write{w})
		}
		return
	}
	for i, w := range group {
		if err != nil {
			w.done <- err
		} else {
			w.done <- results[i]
		}
	}
}
