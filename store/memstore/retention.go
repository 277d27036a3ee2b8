package memstore

import (
	"context"
	"slices"
	"sort"
	"time"

	"github.com/hooksmith/webhook"
)

// PurgeResult counts what Purge deleted.
type PurgeResult struct {
	Events     int
	Deliveries int
	Attempts   int
}

// Purge frees what is older than before, as boltstore's retention does:
// the pull feed entries published (FeedEntry.PublishedAt) before it, and
// the events whose Timestamp is before it, with their deliveries and
// attempts, except events that still have a pending delivery or a feed
// entry that is kept: those stay whole until it is done or expires. A
// feed whose entries were removed remembers how many, so a reader behind
// them is told (FeedPage.Expired) instead of skipping them silently.
//
// Nothing calls it for you: to bound memory, call it now and then with
// now minus the Dispatcher's webhook.Config.Retention, whose reads already
// hide the feed entries it removes. It holds the event and queue locks
// for a time proportional to the events before the cutoff and the
// subscriptions whose deliveries it removes: claims wait meanwhile.
func (m *Store) Purge(ctx context.Context, before time.Time) (PurgeResult, error) {
	var res PurgeResult
	if err := ctx.Err(); err != nil {
		return res, err
	}
	m.evMu.Lock()
	defer m.evMu.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, f := range m.feeds {
		n := sort.Search(len(f.entries), func(i int) bool { return !f.entries[i].PublishedAt.Before(before) })
		if n == 0 {
			continue
		}
		for _, fe := range f.entries[:n] {
			m.unref(fe.EventID)
		}
		f.trimmed += uint64(n)
		f.entries = slices.Clone(f.entries[n:]) // free the array
	}
	end := sort.Search(len(m.byTime), func(i int) bool { return !m.byTime[i].Timestamp.Before(before) })
	kept := make([]*webhook.Event, 0, end)
	removed := make(map[string]map[*entry]bool) // subscription ID -> its removed deliveries
	for _, e := range m.byTime[:end] {
		rec := m.event(e.ID)
		if rec.feedRefs > 0 || rec.pending() {
			kept = append(kept, e)
			continue
		}
		for i := range rec.entries {
			en := &rec.entries[i]
			gone := removed[en.d.SubscriptionID]
			if gone == nil {
				gone = make(map[*entry]bool)
				removed[en.d.SubscriptionID] = gone
			}
			gone[en] = true
			res.Attempts += len(en.d.Attempts)
			delete(m.deliveries, en.d.ID)
		}
		res.Deliveries += len(rec.entries)
		res.Events++
		sh := m.shardOf(e.ID)
		sh.mu.Lock()
		delete(sh.m, e.ID)
		sh.mu.Unlock()
	}
	if res.Events == 0 {
		return res, nil
	}
	// A lease slot may point at a delivery removed above (whose lease is
	// over, so that leased never takes it): drop them all, so that none
	// keeps a removed record in memory.
	clear(m.leases[:])

	m.byTime = append(kept, m.byTime[end:]...) // a new array: the old one is freed
	for sub, gone := range removed {
		left := slices.DeleteFunc(m.bySub[sub], func(e *entry) bool { return gone[e] })
		if len(left) == 0 {
			delete(m.bySub, sub)
		} else {
			m.bySub[sub] = slices.Clone(left) // free the array
		}
	}
	return res, nil
}

// pending reports whether one of the record's deliveries is pending.
func (r *eventRecord) pending() bool {
	for i := range r.entries {
		if r.entries[i].d.State == webhook.DeliveryPending {
			return true
		}
	}
	return false
}

// unref counts one feed entry naming event id fewer.
func (m *Store) unref(id string) {
	if rec := m.event(id); rec != nil {
		rec.feedRefs--
	}
}
