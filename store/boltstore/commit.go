package boltstore

import (
	"bytes"
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
// DeliveryUpdate, DeliveryUpdateClaim and DeliveryRelease. One goroutine
// takes the first queued write, drains whatever else is queued at that
// moment (up to maxGroup) and applies them all in one bbolt write
// transaction, that is one fsync. Writers that arrive while that fsync runs
// queue up and form the next group. There is no timer: a lone writer is
// committed at once, and under load the group grows with the time a commit
// takes, which is what spreads the cost of an fsync over many writers.
//
// If the group's transaction fails for a reason other than a rejection
// (ErrEventExists, ErrLeaseLost, ErrNotFound), each of its writes is
// retried in a transaction of its own, so that one bad write cannot fail
// the others; apply functions must therefore be safe to run again.
type committer struct {
	db    *bbolt.DB
	queue chan *write
	done  chan struct{}

	// tails and ends serve appendPut, by bucket name: what it knows of
	// the transaction being applied, and each bucket's last key before it.
	// Only the committer goroutine uses them.
	tails map[string]*tail
	ends  map[string][]byte

	mu     sync.RWMutex // held for reading while sending to queue
	closed bool
}

func newCommitter(db *bbolt.DB) *committer {
	c := &committer{db: db, queue: make(chan *write, maxGroup), done: make(chan struct{}), tails: make(map[string]*tail), ends: make(map[string][]byte)}
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
		clear(c.tails)
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

// Fill factors of the pages that bbolt splits when it writes a bucket in
// which a transaction only appended keys. bbolt splits a page that grew
// beyond its size at DefaultFillPercent (half full) by default, which
// suits inserts at random places but leaves every page half empty when
// keys arrive in order, as event and delivery IDs, times and the indexes
// built on them do: each commit then writes up to twice the pages its
// records need, and the time of its fsync grows with the pages written.
const (
	// fillFull is for records and index entries that are never rewritten
	// larger.
	fillFull = 1.0
	// fillGrowable leaves room on each page for delivery records to grow
	// when claimed (a lease token and time) without splitting the page.
	fillGrowable = 0.9
)

// A tail is what appendPut knows of a bucket in the current transaction.
type tail struct {
	after []byte // keys after it are appends
	mixed bool   // a key was written at or before after
}

// appendPut puts k in bucket b, named name, within the committer's
// transaction. While every key that this transaction puts in b through
// appendPut lands after the bucket's end, the pages bbolt splits when it
// writes b are filled up to fill instead of half. Once a key lands before,
// or markMixed is called for b, b keeps bbolt's default for the rest of
// the transaction. Only apply functions may call it.
//
// The end is the bucket's last key before the previous transaction of the
// committer wrote it, not before this one: concurrent publishers take
// their IDs and times before they queue, and in an order of their own, so
// a key can land a little before keys committed a moment ago. Such a key
// still lands in one of the last pages.
func (c *committer) appendPut(b *bbolt.Bucket, name, k, v []byte, fill float64) error {
	t := c.tails[string(name)]
	if t == nil {
		var last []byte
		if k, _ := b.Cursor().Last(); k != nil {
			last = bytes.Clone(k)
		}
		t = &tail{after: last}
		if prev, ok := c.ends[string(name)]; ok && (last == nil || bytes.Compare(prev, last) < 0) {
			t.after = prev
		}
		c.ends[string(name)] = last
		c.tails[string(name)] = t
	}
	if !t.mixed {
		if t.after == nil || bytes.Compare(k, t.after) > 0 {
			b.FillPercent = fill
		} else {
			t.mixed = true
			b.FillPercent = bbolt.DefaultFillPercent
		}
	}
	return b.Put(k, v)
}

// markMixed gives bucket b, named name, bbolt's default fill for the rest
// of the transaction, for writes that change existing records. Only apply
// functions may call it.
func (c *committer) markMixed(b *bbolt.Bucket, name []byte) {
	t := c.tails[string(name)]
	if t == nil {
		t = &tail{}
		c.tails[string(name)] = t
	}
	t.mixed = true
	b.FillPercent = bbolt.DefaultFillPercent
}
