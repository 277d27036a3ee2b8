package boltstore

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/hooksmith/webhook"
)

// purgeBatch bounds the records one purge transaction deletes, so that a
// purge never holds the writer lock (and so Publish) for long.
const purgeBatch = 2000

// PurgeResult counts what Purge deleted.
type PurgeResult struct {
	Events     int
	Deliveries int
	Attempts   int
}

// Purge deletes the events whose Timestamp is before now minus
// Options.Retention, with their deliveries, attempts and pull feed entries,
// except events that still have a pending delivery, or a feed entry
// published (FeedEntry.PublishedAt) after that cutoff: those are kept
// whole until it is done or expires. A feed whose entries were purged
// remembers the last one, so a reader behind it is told (FeedPage.Expired)
// instead of skipping them silently. It
// works in transactions of a bounded size, checking ctx between them. The
// background purge (Options.PurgeInterval) calls it with Options.Now; call
// it yourself when that is off. With a negative Retention it does nothing.
func (s *Store) Purge(ctx context.Context, now time.Time) (PurgeResult, error) {
	var total PurgeResult
	if s.opts.Retention < 0 {
		return total, nil
	}
	cutoff := timeKey(now.Add(-s.opts.Retention))
	var resume []byte // the last index key examined
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		var (
			res  PurgeResult
			next []byte
			more bool
		)
		err := s.update(func(tx *bbolt.Tx) error {
			var err error
			res = PurgeResult{}
			next, more, err = purgeSome(tx, cutoff, resume, &res)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("boltstore: purge: %w", err)
		}
		resume = next
		total.Events += res.Events
		total.Deliveries += res.Deliveries
		total.Attempts += res.Attempts
		if !more {
			return total, nil
		}
	}
}

// purgeSome deletes expired events after the index key after (from the
// start when nil) until about purgeBatch records are gone. It returns the
// last index key it examined and whether there may be more to purge.
func purgeSome(tx *bbolt.Tx, cutoff, after []byte, res *PurgeResult) ([]byte, bool, error) {
	// Collect first, delete after: a cursor must not see its bucket change.
	type victim struct {
		key        []byte
		eventID    string
		deliveries []string
		feed       [][]byte // its entries in pull feeds
	}
	var (
		victims []victim
		work    int
		last    []byte
	)
	events := tx.Bucket(bucketEvents)
	c := tx.Bucket(bucketEventsByTime).Cursor()
	k, _ := c.First()
	if after != nil {
		k, _ = c.Seek(after)
		if bytes.Equal(k, after) {
			k, _ = c.Next()
		}
	}
	more := false
	for ; k != nil; k, _ = c.Next() {
		if bytes.Compare(k[:8], cutoff) >= 0 {
			break
		}
		if work >= purgeBatch {
			more = true
			break
		}
		last = bytes.Clone(k)
		v := victim{key: last, eventID: string(k[8:])}
		ids, err := eventDeliveries(tx, v.eventID, events.Get(k[8:]))
		if err != nil {
			return nil, false, err
		}
		pending := false
		for _, id := range ids {
			r, err := getRecord(tx, id)
			if err != nil {
				return nil, false, fmt.Errorf("event index: %w", err)
			}
			if r.State == webhook.DeliveryPending {
				pending = true
				break
			}
			v.deliveries = append(v.deliveries, id)
			work += 1 + r.Attempts
		}
		work++
		if pending {
			continue
		}
		var keep bool
		if v.feed, keep = feedOfEvent(tx, v.eventID, cutoff); !keep {
			work += len(v.feed)
			victims = append(victims, v)
		}
	}
	for _, v := range victims {
		for _, id := range v.deliveries {
			n, err := deleteDelivery(tx, id, v.eventID)
			if err != nil {
				return nil, false, err
			}
			res.Deliveries++
			res.Attempts += n
		}
		if err := trimFeed(tx, v.eventID, v.feed); err != nil {
			return nil, false, err
		}
		if err := tx.Bucket(bucketEvents).Delete([]byte(v.eventID)); err != nil {
			return nil, false, err
		}
		if err := tx.Bucket(bucketEventsByTime).Delete(v.key); err != nil {
			return nil, false, err
		}
		res.Events++
	}
	return last, more, nil
}

// deleteDelivery removes a finished delivery, its attempts and its index
// entries, and returns how many attempts it had.
func deleteDelivery(tx *bbolt.Tx, id, eventID string) (int, error) {
	r, err := getRecord(tx, id)
	if err != nil {
		return 0, err
	}
	for n := 1; n <= r.Attempts; n++ {
		if err := tx.Bucket(bucketAttempts).Delete(attemptKey(id, n)); err != nil {
			return 0, err
		}
	}
	if err := tx.Bucket(bucketDlvBySub).Delete(append(prefixed(r.SubscriptionID), id...)); err != nil {
		return 0, err
	}
	// Only events stored before schema version 3 have entries there.
	if err := tx.Bucket(bucketDlvByEvent).Delete(append(prefixed(eventID), id...)); err != nil {
		return 0, err
	}
	if r.State == webhook.DeliveryPending {
		// Not reached: events with pending deliveries are kept.
		if err := tx.Bucket(bucketDueBySub).Delete(join(prefixed(r.SubscriptionID), dueKey(r.dueAt(), id))); err != nil {
			return 0, err
		}
		if err := refreshHead(tx, r.SubscriptionID); err != nil {
			return 0, err
		}
	}
	return r.Attempts, tx.Bucket(bucketDeliveries).Delete([]byte(id))
}

// purgeLoop runs Purge every PurgeInterval until ctx ends.
func (s *Store) purgeLoop(ctx context.Context) {
	defer close(s.purgeDone)
	t := time.NewTicker(s.opts.PurgeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		res, err := s.Purge(ctx, s.opts.Now())
		switch {
		case err != nil && ctx.Err() == nil:
			s.opts.Logger.ErrorContext(ctx, "webhook store purge failed; retried at the next interval", "error", err)
		case res.Events > 0:
			s.opts.Logger.InfoContext(ctx, "webhook store purged", "events", res.Events, "deliveries", res.Deliveries, "attempts", res.Attempts)
		}
	}
}
