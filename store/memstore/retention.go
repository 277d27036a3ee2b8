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
// hide the feed entries it removes. It holds the lock for a time
// proportional to the events before the cutoff and the subscriptions
// whose deliveries it removes.
func (m *Store) Purge(ctx context.Context, before time.Time) (PurgeResult, error) {
	var res PurgeResult
	if err := ctx.Err(); err != nil {
		return res, err
	}
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
	removed := make(map[string][]string) // subscription ID -> its removed deliveries
	for _, e := range m.byTime[:end] {
		se := m.events[e.ID]
		if se.feedRefs > 0 || slices.ContainsFunc(se.deliveries, func(d *webhook.Delivery) bool {
			return d.State == webhook.DeliveryPending
		}) {
			kept = append(kept, e)
			continue
		}
		for _, d := range se.deliveries {
			removed[d.SubscriptionID] = append(removed[d.SubscriptionID], d.ID)
			res.Attempts += len(d.Attempts)
			delete(m.deliveries, d.ID)
		}
		res.Deliveries += len(se.deliveries)
		res.Events++
		delete(m.events, e.ID)
	}
	if res.Events == 0 {
		return res, nil
	}
	m.byTime = append(kept, m.byTime[end:]...) // a new array: the old one is freed
	for sub, ids := range removed {
		gone := make(map[string]bool, len(ids))
		for _, id := range ids {
			gone[id] = true
		}
		left := slices.DeleteFunc(m.bySub[sub], func(id string) bool { return gone[id] })
		if len(left) == 0 {
			delete(m.bySub, sub)
		} else {
			m.bySub[sub] = slices.Clone(left) // free the array
		}
	}
	return res, nil
}

// unref counts one feed entry naming event id fewer.
func (m *Store) unref(id string) {
	se, ok := m.events[id]
	if !ok {
		return
	}
	se.feedRefs--
	m.events[id] = se
}
