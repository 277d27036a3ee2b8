package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/hooksmith/webhook"
)

// feedState is the record of one pull subscription's feed in
// bucketFeedState.
type feedState struct {
	last      uint64 // Seq of the newest entry
	committed uint64 // committed position
	trimmed   uint64 // every entry up to it was removed by the purge
	lastAt    []byte // timeKey of the newest entry's PublishedAt; nil when none
}

const feedStateLen = 32

func getFeedState(tx *bbolt.Tx, sub string) (feedState, error) {
	raw := tx.Bucket(bucketFeedState).Get([]byte(sub))
	if raw == nil {
		return feedState{}, nil
	}
	if len(raw) != feedStateLen {
		return feedState{}, fmt.Errorf("boltstore: feed state of subscription %q is %d bytes, not %d: the file is damaged", sub, len(raw), feedStateLen)
	}
	return feedState{
		last:      binary.BigEndian.Uint64(raw[0:8]),
		committed: binary.BigEndian.Uint64(raw[8:16]),
		trimmed:   binary.BigEndian.Uint64(raw[16:24]),
		lastAt:    bytes.Clone(raw[24:32]),
	}, nil
}

func putFeedState(tx *bbolt.Tx, sub string, st feedState) error {
	b := make([]byte, 24, feedStateLen)
	binary.BigEndian.PutUint64(b[0:8], st.last)
	binary.BigEndian.PutUint64(b[8:16], st.committed)
	binary.BigEndian.PutUint64(b[16:24], st.trimmed)
	if st.lastAt == nil {
		b = append(b, make([]byte, 8)...)
	} else {
		b = append(b, st.lastAt...)
	}
	return tx.Bucket(bucketFeedState).Put([]byte(sub), b)
}

// feedKey is the key of entry seq of subscription sub in bucketFeed.
func feedKey(sub string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(prefixed(sub), seq)
}

// appendFeed appends event eventID to the feeds of entries, inside
// EventInsert's transaction, which w runs. Entries of subscriptions that
// no longer exist are dropped.
func appendFeed(w *committer, tx *bbolt.Tx, eventID string, entries []*webhook.FeedEntry) error {
	feed, byEvent, subs := tx.Bucket(bucketFeed), tx.Bucket(bucketFeedByEvent), tx.Bucket(bucketSubs)
	for _, fe := range entries {
		sub := fe.SubscriptionID
		if subs.Get([]byte(sub)) == nil {
			continue // deleted since Publish matched it
		}
		st, err := getFeedState(tx, sub)
		if err != nil {
			return err
		}
		st.last++
		at := timeKey(fe.PublishedAt)
		if st.lastAt != nil && bytes.Compare(at, st.lastAt) < 0 {
			at = st.lastAt
		}
		st.lastAt = at
		if err := w.appendPut(feed, bucketFeed, feedKey(sub, st.last), join(at, []byte(eventID)), fillFull); err != nil {
			return err
		}
		if err := w.appendPut(byEvent, bucketFeedByEvent, binary.BigEndian.AppendUint64(join(prefixed(eventID), prefixed(sub)), st.last), nil, fillFull); err != nil {
			return err
		}
		if err := putFeedState(tx, sub, st); err != nil {
			return err
		}
	}
	return nil
}

// FeedRead reads a pull subscription's feed; see webhook.Store. Entries
// published before p.Since that the purge has not removed yet are skipped
// one by one, so a cursor that fell behind the retention costs a scan of
// the expired entries after it.
func (s *Store) FeedRead(ctx context.Context, p webhook.FeedReadParams) (*webhook.FeedPage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	page := &webhook.FeedPage{}
	err := s.view(func(tx *bbolt.Tx) error {
		*page = webhook.FeedPage{After: p.After}
		st, err := getFeedState(tx, p.SubscriptionID)
		if err != nil {
			return err
		}
		page.Committed, page.Last = st.committed, st.last
		if p.FromCommitted {
			page.After = st.committed
		}
		if page.After < st.trimmed {
			page.Expired, page.Oldest = true, st.trimmed
		}
		prefix := prefixed(p.SubscriptionID)
		c := tx.Bucket(bucketFeed).Cursor()
		k, v := c.Seek(feedKey(p.SubscriptionID, max(page.After, st.trimmed)+1))
		if !p.Since.IsZero() {
			since := timeKey(p.Since)
			for ; k != nil && bytes.HasPrefix(k, prefix) && bytes.Compare(v[:8], since) < 0; k, v = c.Next() {
				page.Expired, page.Oldest = true, binary.BigEndian.Uint64(k[len(prefix):])
			}
		}
		if page.Expired {
			return nil
		}
		events, size := tx.Bucket(bucketEvents), 0
		for ; k != nil && bytes.HasPrefix(k, prefix) && len(page.Entries) < p.Limit; k, v = c.Next() {
			fe := &webhook.FeedEntry{
				SubscriptionID: p.SubscriptionID,
				Seq:            binary.BigEndian.Uint64(k[len(prefix):]),
				EventID:        string(v[8:]),
				PublishedAt:    keyTime(v),
				Event:          new(webhook.Event),
			}
			raw := events.Get(v[8:])
			if raw == nil {
				return fmt.Errorf("boltstore: feed of subscription %q: entry %d names event %q, which is not stored: the file is damaged", p.SubscriptionID, fe.Seq, fe.EventID)
			}
			if err := decodeEvent(fe.EventID, raw, fe.Event); err != nil {
				return err
			}
			size += len(fe.Event.Data)
			if p.MaxBytes > 0 && len(page.Entries) > 0 && size > p.MaxBytes {
				break
			}
			page.Entries = append(page.Entries, fe)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}

// FeedCommit records the committed position of a feed, in a transaction
// of its own; see webhook.Store.
func (s *Store) FeedCommit(ctx context.Context, subscriptionID string, seq uint64, rewind bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.update(func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketSubs).Get([]byte(subscriptionID)) == nil {
			return notFound("subscription", subscriptionID)
		}
		st, err := getFeedState(tx, subscriptionID)
		if err != nil {
			return err
		}
		if seq <= st.committed && !rewind {
			return nil
		}
		st.committed = seq
		return putFeedState(tx, subscriptionID, st)
	})
}

// deleteFeed removes a subscription's feed, its index entries and its
// state, inside SubscriptionDelete's transaction.
func deleteFeed(tx *bbolt.Tx, sub string) error {
	prefix := prefixed(sub)
	feed, byEvent := tx.Bucket(bucketFeed), tx.Bucket(bucketFeedByEvent)
	var keys [][]byte
	c := feed.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		ev := feed.Get(k)[8:]
		if err := byEvent.Delete(join(prefixed(string(ev)), k)); err != nil {
			return err
		}
		if err := feed.Delete(k); err != nil {
			return err
		}
	}
	return tx.Bucket(bucketFeedState).Delete([]byte(sub))
}

// feedOfEvent lists the feed entries of an event for the purge: their
// keys in bucketFeed, and whether any was published at or after cutoff
// (a timeKey), which keeps the event.
func feedOfEvent(tx *bbolt.Tx, eventID string, cutoff []byte) (keys [][]byte, keep bool) {
	prefix := prefixed(eventID)
	feed := tx.Bucket(bucketFeed)
	c := tx.Bucket(bucketFeedByEvent).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		fk := bytes.Clone(k[len(prefix):])
		if v := feed.Get(fk); v != nil && bytes.Compare(v[:8], cutoff) >= 0 {
			return nil, true
		}
		keys = append(keys, fk)
	}
	return keys, false
}

// trimFeed removes the feed entries of a purged event (their keys in
// bucketFeed, from feedOfEvent) and raises each feed's trimmed position.
func trimFeed(tx *bbolt.Tx, eventID string, keys [][]byte) error {
	feed, byEvent := tx.Bucket(bucketFeed), tx.Bucket(bucketFeedByEvent)
	for _, k := range keys {
		n := binary.BigEndian.Uint16(k)
		sub, seq := string(k[2:2+n]), binary.BigEndian.Uint64(k[2+n:])
		if err := feed.Delete(k); err != nil {
			return err
		}
		if err := byEvent.Delete(join(prefixed(eventID), k)); err != nil {
			return err
		}
		st, err := getFeedState(tx, sub)
		if err != nil {
			return err
		}
		if seq > st.trimmed {
			st.trimmed = seq
			if err := putFeedState(tx, sub, st); err != nil {
				return err
			}
		}
	}
	return nil
}

// EventList returns the events that pass q, in the order of Timestamp then
// ID, newest first with q.Newest. It walks the events-by-time index from
// the cursor (or Since, or Until) and stops at the other end of the range
// or at q.Limit; events that the Tenant and Type filters reject are read
// and skipped.
func (s *Store) EventList(ctx context.Context, q webhook.EventQuery) ([]*webhook.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []*webhook.Event
	err := s.view(func(tx *bbolt.Tx) error {
		out = nil
		events := tx.Bucket(bucketEvents)
		c := tx.Bucket(bucketEventsByTime).Cursor()
		var k []byte
		var next func() ([]byte, []byte)
		if q.Newest {
			next = c.Prev
			var seek []byte
			switch {
			case q.AfterID != "":
				seek = append(timeKey(q.AfterTimestamp), q.AfterID...)
			case !q.Until.IsZero():
				seek = timeKey(q.Until)
			}
			if seek == nil {
				k, _ = c.Last()
			} else if k, _ = c.Seek(seek); k == nil {
				k, _ = c.Last()
			} else {
				// Seek lands on the first key at or after seek: step back
				// to the last one before it.
				k, _ = c.Prev()
			}
		} else {
			next = c.Next
			var seek []byte
			switch {
			case q.AfterID != "":
				seek = append(timeKey(q.AfterTimestamp), q.AfterID...)
			case !q.Since.IsZero():
				seek = timeKey(q.Since)
			}
			k, _ = c.Seek(seek)
			if q.AfterID != "" && bytes.Equal(k, seek) {
				k, _ = c.Next()
			}
		}
		for ; k != nil; k, _ = next() {
			if q.Limit > 0 && len(out) >= q.Limit {
				break
			}
			raw := events.Get(k[8:])
			if raw == nil {
				return fmt.Errorf("boltstore: event index names %q, which is not stored: the file is damaged", k[8:])
			}
			e := new(webhook.Event)
			if err := decodeEvent(string(k[8:]), raw, e); err != nil {
				return err
			}
			// The cursor and the range bounds were applied by the seek;
			// checking them again here covers the other end of the range
			// and times that the index clamps.
			if !q.Beyond(e) {
				continue
			}
			if q.Newest && !q.Since.IsZero() && e.Timestamp.Before(q.Since) ||
				!q.Newest && !q.Until.IsZero() && !e.Timestamp.Before(q.Until) {
				break
			}
			if q.Keep(e) {
				out = append(out, e)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
