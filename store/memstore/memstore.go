// Package memstore is an in-memory webhook.Store, for tests and for hosts
// that can afford to lose pending deliveries when the process ends.
//
// # Basics
//
// New returns an empty Store. Its methods are safe for concurrent use, and
// no call blocks on anything but the store's locks: one for the
// subscriptions, one for the events and pull feeds, one for the deliveries
// and their queues, and one for each of 64 shards of the events. The reads
// on the delivery path share a lock: SubscriptionGet and SubscriptionMatch
// the subscriptions', EventGet its event's shard's (a worker seldom calls
// it: the deliveries it claims carry the event Publish gave with them, see
// webhook.Store). None of them takes the queue lock, which the workers'
// claims and outcomes take alone, so they do not wait for each other, except
// when a change of the subscriptions is queued behind a call that holds
// their lock while it waits for the queue's (SubscriptionDelete, or a
// Publish with pull feed entries). A call that changes what several locks
// guard (EventInsert, SubscriptionDelete, Purge) takes them in one order and
// holds them until what a reader could see changed is all done, so no call
// sees half of it.
// It follows the ownership rules of webhook.Store to spare copies on the
// delivery path: it keeps what EventInsert is given as it is, and
// SubscriptionGet, SubscriptionMatch and EventGet return the values it
// holds, which it never changes afterwards (an update stores a new value).
// Every other value passed in is copied before it is kept, and every other
// value returned is a copy.
//
// It implements webhook.DeliveryUpdateClaimer: DeliveryUpdateClaim records
// a worker's outcome and claims its next deliveries under one lock.
//
// # Indexes
//
// Pending deliveries wait in one queue per subscription, a min-heap keyed by
// effective due time (the later of NextAttemptAt and LeasedUntil) then ID,
// and the queues themselves sit in a min-heap keyed by their first delivery.
// Claims and DeliveryNextDue look only at the fronts of these queues, and a
// subscription that the claim's Exclude reports is set aside whole: its
// backlog, however long, is not read. Deliveries are also indexed by event,
// and by subscription in ID order: a page of a subscription's deliveries
// (DeliveryList with SubscriptionID) starts where the page does and reads no
// further than it needs. Subscriptions are indexed by tenant and, within a
// tenant, by exact event type with those that have "*" patterns apart, so
// Publish (SubscriptionMatch), SubscriptionDelete and DeliveryList calls by
// event or subscription touch only the records concerned. A small table, by
// lease token, holds the delivery each claim leased last: a worker's report
// on it (DeliveryUpdate, DeliveryUpdateClaim, DeliveryRelease) finds it
// there, without a lookup in the map of all deliveries.
//
// # Caveats
//
// Everything is lost when the process exits: use store/boltstore when
// published events must survive a restart. Records are removed only by
// SubscriptionDelete (the subscription and its pull feed) and by Purge,
// which nothing calls for you: without it memory grows with every event
// published (pull feeds honour the Dispatcher's retention by hiding older
// entries, which Purge frees). Call Purge now and then with the retention
// cutoff, as boltstore's background purge does. Unfiltered SubscriptionList
// calls, and DeliveryList calls filtered by neither event nor subscription,
// sort every record: they are meant for inspection, not for hot paths. A
// subscription's deliveries are kept in ID order, which the Dispatcher's IDs
// follow; deliveries given to EventInsert far out of that order (random IDs
// from an import, say) cost a shift of the ones after them (up to all of the
// subscription's deliveries) each.
package memstore

import (
	"container/heap"
	"context"
	"fmt"
	"hash/maphash"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hooksmith/webhook"
)

// Store is an in-memory webhook.Store. Create one with New; the zero value
// is not usable.
type Store struct {
	// The locks, taken in this order when a call needs several
	// (subMu, evMu, mu, then a shard's), so that the reads of the
	// delivery path (subscriptions, events) do not take the queue lock
	// that the workers' claims and outcomes take, and these do not wait
	// for EventList or FeedRead (DeliveryList holds both).
	subMu sync.RWMutex // the subscriptions and their indexes
	evMu  sync.RWMutex // the events (with the shard locks), the pull feeds, eventRecord.feedRefs
	mu    sync.Mutex   // the deliveries, their queues and their state

	subs     map[string]*webhook.Subscription
	byTenant map[string]*tenantSubs

	// events holds the event records by ID, split by a hash of the ID. A
	// shard is written with evMu and its own lock held, and read with
	// either. EventGet, the read of the delivery path, takes only the
	// shard's: it never waits for an EventInsert waiting for the queue
	// lock, and EventInsert, which holds the queue lock while it writes a
	// shard, seldom waits for it (a writer that waits is parked, and may
	// wait its turn to run again with the queue lock held).
	events    [eventShards]eventShard
	shardSeed maphash.Seed
	byTime    []*webhook.Event // the events by Timestamp, then ID

	feeds map[string]*feed // pull subscription ID -> its feed

	deliveries map[string]*entry
	// leases holds, by a hash of the lease token, the last delivery a
	// claim leased with that token: the one a worker reports on next, as
	// it holds one lease at a time (of a loop's claim of several, only the
	// last is there). leased looks there before it looks in deliveries, a
	// map too large to stay in the caches. A slot is only a hint: tokens
	// may share one, and leased checks the delivery's ID and token, so
	// only a delivery leased with that token (which Purge never removes)
	// can pass; an empty token never does.
	leases [leaseSlots]*entry
	bySub  map[string][]*entry  // subscription ID -> its deliveries, by ID (see insertByID)
	queues map[string]*subQueue // subscription ID -> its pending deliveries
	heads  headQueue            // the queues that are not empty
}

// eventShards is how many shards hold the event records.
const eventShards = 64

// leaseSlots is the size of Store.leases, a power of two several times the
// default number of workers, so that their tokens seldom share a slot.
const leaseSlots = 256

// leaseSlot returns the slot of token in m.leases.
func (m *Store) leaseSlot(token string) *(*entry) {
	return &m.leases[maphash.String(m.shardSeed, token)%leaseSlots]
}

// eventShard is one shard of Store.events.
type eventShard struct {
	mu sync.RWMutex
	m  map[string]*eventRecord
}

// shardOf returns the shard of event id.
func (m *Store) shardOf(id string) *eventShard {
	return &m.events[maphash.String(m.shardSeed, id)%eventShards]
}

// event returns the record of event id, or nil; m.evMu is held.
func (m *Store) event(id string) *eventRecord { return m.shardOf(id).m[id] }

// eventRecord is an event with its deliveries, which Purge removes
// together. For an event with one delivery, the usual case, the record and
// the entry are one allocation (see newEventRecord).
type eventRecord struct {
	e        *webhook.Event
	entries  []entry // its deliveries, in the order EventInsert was given them
	feedRefs int     // entries of pull feeds that name it, kept by Purge
}

// newEventRecord returns a record for e with n entries.
func newEventRecord(e *webhook.Event, n int) *eventRecord {
	if n == 1 {
		r := new(struct {
			rec eventRecord
			one [1]entry
		})
		r.rec.e, r.rec.entries = e, r.one[:]
		return &r.rec
	}
	return &eventRecord{e: e, entries: make([]entry, n)}
}

// tenantSubs indexes the subscriptions of one tenant. Every list holds
// subscription IDs, sorted.
type tenantSubs struct {
	ids      []string            // all of them
	byType   map[string][]string // exact event type -> those naming it
	patterns []string            // those with a "*" pattern
}

// feed is the ordered feed of one pull subscription. Purge removes its
// oldest entries, so entries[i] has Seq trimmed+i+1.
type feed struct {
	entries   []webhook.FeedEntry // without Event
	committed uint64
	trimmed   uint64    // entries removed by Purge
	lastAt    time.Time // PublishedAt of the newest entry, even if removed
}

// last is the Seq of the newest entry, 0 for an empty feed.
func (f *feed) last() uint64 { return f.trimmed + uint64(len(f.entries)) }

// subQueue holds the pending deliveries of one subscription.
type subQueue struct {
	subID string
	due   dueQueue
	index int // in Store.heads, -1 when not there
}

// entry is a stored delivery and its place in the due queue.
type entry struct {
	d     *webhook.Delivery // Attempts holds the attempt log
	index int               // in its subQueue, -1 when not queued
	// dueSec and dueNsec hold dueAt as the queue orders it: Unix seconds
	// and nanoseconds, which compare faster than time.Time. Set by setDue
	// whenever the delivery (re)enters its queue.
	dueSec  int64
	dueNsec int32
}

// setDue records dueAt for the queue.
func (e *entry) setDue() {
	t := e.dueAt()
	e.dueSec, e.dueNsec = t.Unix(), int32(t.Nanosecond())
}

// dueAt is when the delivery becomes claimable: the later of its scheduled
// time and the end of its lease.
func (e *entry) dueAt() time.Time {
	if e.d.LeasedUntil.After(e.d.NextAttemptAt) {
		return e.d.LeasedUntil
	}
	return e.d.NextAttemptAt
}

var (
	_ webhook.Store                 = (*Store)(nil)
	_ webhook.DeliveryUpdateClaimer = (*Store)(nil)
)

// lockAll takes the three locks, for a call that changes what each guards
// in one step.
func (m *Store) lockAll() {
	m.subMu.Lock()
	m.evMu.Lock()
	m.mu.Lock()
}

func (m *Store) unlockAll() {
	m.mu.Unlock()
	m.evMu.Unlock()
	m.subMu.Unlock()
}

// New returns an empty Store.
func New() *Store {
	m := &Store{
		subs:       make(map[string]*webhook.Subscription),
		byTenant:   make(map[string]*tenantSubs),
		shardSeed:  maphash.MakeSeed(),
		feeds:      make(map[string]*feed),
		deliveries: make(map[string]*entry),
		bySub:      make(map[string][]*entry),
		queues:     make(map[string]*subQueue),
	}
	for i := range m.events {
		m.events[i].m = make(map[string]*eventRecord)
	}
	return m
}

// SubscriptionInsert stores a copy of s. An ID already stored is an error.
func (m *Store) SubscriptionInsert(ctx context.Context, s *webhook.Subscription) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.subMu.Lock()
	defer m.subMu.Unlock()
	if _, ok := m.subs[s.ID]; ok {
		return fmt.Errorf("memstore: subscription %q already exists: IDs must be unique", s.ID)
	}
	c := s.Clone()
	m.subs[s.ID] = c
	m.index(c)
	return nil
}

// SubscriptionGet returns the stored subscription with the given ID,
// read-only: an update stores a new value and leaves this one as it is.
func (m *Store) SubscriptionGet(ctx context.Context, id string) (*webhook.Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.subMu.RLock()
	defer m.subMu.RUnlock()
	s, ok := m.subs[id]
	if !ok {
		return nil, notFound("subscription", id)
	}
	return s, nil
}

// SubscriptionList returns copies of the subscriptions that pass p, in
// ascending ID order. With p.Tenant set it reads only that tenant's.
func (m *Store) SubscriptionList(ctx context.Context, p webhook.SubscriptionListParams) ([]*webhook.Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.subMu.RLock()
	defer m.subMu.RUnlock()
	var ids []string
	if p.Tenant != "" {
		if t := m.byTenant[p.Tenant]; t != nil {
			ids = t.ids // sorted already
		}
	} else {
		ids = make([]string, 0, len(m.subs))
		for id := range m.subs {
			ids = append(ids, id)
		}
		sort.Strings(ids)
	}
	start := sort.SearchStrings(ids, p.After)
	if p.After != "" && start < len(ids) && ids[start] == p.After {
		start++
	}
	var out []*webhook.Subscription
	for _, id := range ids[start:] {
		if p.Limit > 0 && len(out) >= p.Limit {
			break
		}
		if s := m.subs[id]; p.Keep(s) {
			out = append(out, s.Clone())
		}
	}
	return out, nil
}

// SubscriptionUpdate replaces the stored subscription with ID s.ID by a copy
// of s.
func (m *Store) SubscriptionUpdate(ctx context.Context, s *webhook.Subscription) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.subMu.Lock()
	defer m.subMu.Unlock()
	old, ok := m.subs[s.ID]
	if !ok {
		return notFound("subscription", s.ID)
	}
	m.unindex(old)
	c := s.Clone()
	m.subs[s.ID] = c
	m.index(c)
	return nil
}

// SubscriptionDelete removes a subscription and cancels its pending
// deliveries in one step, holding every lock: no claim sees the subscription
// gone and its deliveries still pending. A cancelled delivery loses its
// lease, so a worker holding it gets webhook.ErrLeaseLost when it reports
// back.
func (m *Store) SubscriptionDelete(ctx context.Context, id string, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.lockAll()
	defer m.unlockAll()
	s, ok := m.subs[id]
	if !ok {
		return notFound("subscription", id)
	}
	delete(m.subs, id)
	if f := m.feeds[id]; f != nil {
		for _, fe := range f.entries {
			m.unref(fe.EventID)
		}
		delete(m.feeds, id)
	}
	m.unindex(s)
	for _, e := range m.bySub[id] {
		if e.d.State != webhook.DeliveryPending {
			continue
		}
		e.d.State = webhook.DeliveryCanceled
		e.d.LastError = "subscription was deleted"
		e.d.UpdatedAt = now
		e.d.LeaseToken, e.d.LeasedUntil = "", time.Time{}
		m.unqueue(e)
	}
	return nil
}

// SubscriptionMatch returns the enabled subscriptions of tenant that match
// eventType, read-only, in ascending ID order. It reads only the tenant's
// subscriptions that name eventType exactly and those with a "*" pattern.
func (m *Store) SubscriptionMatch(ctx context.Context, tenant, eventType string) ([]*webhook.Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.subMu.RLock()
	defer m.subMu.RUnlock()
	t := m.byTenant[tenant]
	if t == nil {
		return nil, nil
	}
	var out []*webhook.Subscription
	take := func(id string) {
		if s := m.subs[id]; !s.Disabled && s.Matches(eventType) {
			out = append(out, s)
		}
	}
	// Merge the two sorted lists; an ID may be in both.
	exact, patterns := t.byType[eventType], t.patterns
	for len(exact) > 0 || len(patterns) > 0 {
		switch {
		case len(patterns) == 0 || len(exact) > 0 && exact[0] < patterns[0]:
			take(exact[0])
			exact = exact[1:]
		case len(exact) == 0 || patterns[0] < exact[0]:
			take(patterns[0])
			patterns = patterns[1:]
		default:
			take(exact[0])
			exact, patterns = exact[1:], patterns[1:]
		}
	}
	return out, nil
}

// EventInsert stores e, its deliveries and copies of its feed entries in one
// step that no other call sees half done; it keeps e and the deliveries as
// they are (webhook.Store ownership). When an event with the same ID exists,
// or a delivery ID is already stored, it stores nothing; the first case
// wraps webhook.ErrEventExists.
func (m *Store) EventInsert(ctx context.Context, e *webhook.Event, deliveries []*webhook.Delivery, feedEntries []*webhook.FeedEntry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// Allocate before locking: see claimed.
	rec := newEventRecord(e, len(deliveries))
	if len(feedEntries) > 0 { // their subscriptions are read
		m.subMu.RLock()
		defer m.subMu.RUnlock()
	}
	// The event's record and its deliveries go in under both locks, the
	// record first, so that a worker that claims a delivery at once finds
	// the event; the queue lock is then given back, and the rest written
	// under the event lock alone, which every other reader of it waits
	// for.
	m.evMu.Lock()
	defer m.evMu.Unlock()
	m.mu.Lock()
	if err := func() error {
		defer m.mu.Unlock()
		sh := m.shardOf(e.ID)
		if _, ok := sh.m[e.ID]; ok {
			return fmt.Errorf("memstore: event %q: %w", e.ID, webhook.ErrEventExists)
		}
		if err := m.checkDeliveries(e.ID, deliveries); err != nil {
			return err
		}
		sh.mu.Lock()
		sh.m[e.ID] = rec
		sh.mu.Unlock()
		m.queueDeliveries(rec, deliveries)
		return nil
	}(); err != nil {
		return err
	}
	refs := 0
	if n := len(m.byTime); n == 0 || compareEvents(m.byTime[n-1], e) < 0 {
		m.byTime = append(m.byTime, e) // the usual case: the newest.
	} else {
		i, _ := slices.BinarySearchFunc(m.byTime, e, compareEvents)
		m.byTime = slices.Insert(m.byTime, i, e)
	}
	for _, fe := range feedEntries {
		if _, ok := m.subs[fe.SubscriptionID]; !ok {
			continue // deleted since Publish matched it
		}
		f := m.feeds[fe.SubscriptionID]
		if f == nil {
			f = &feed{}
			m.feeds[fe.SubscriptionID] = f
		}
		at := fe.PublishedAt
		if at.Before(f.lastAt) {
			at = f.lastAt
		}
		f.entries = append(f.entries, webhook.FeedEntry{
			SubscriptionID: fe.SubscriptionID,
			Seq:            f.last() + 1,
			EventID:        e.ID,
			PublishedAt:    at,
		})
		f.lastAt = at
		refs++
	}
	rec.feedRefs = refs // EventGet, under the shard lock alone, reads only rec.e
	return nil
}

// checkDeliveries reports a delivery ID of event evID already stored or
// given twice; m.mu is held.
func (m *Store) checkDeliveries(evID string, deliveries []*webhook.Delivery) error {
	for i, d := range deliveries {
		if _, ok := m.deliveries[d.ID]; ok {
			return fmt.Errorf("memstore: event %q: delivery %q already exists: delivery IDs must be unique", evID, d.ID)
		}
		for _, o := range deliveries[:i] {
			if o.ID == d.ID {
				return fmt.Errorf("memstore: event %q: delivery %q given twice: delivery IDs must be unique", evID, d.ID)
			}
		}
	}
	return nil
}

// queueDeliveries stores the deliveries in the entries of rec and queues
// them; m.mu is held.
func (m *Store) queueDeliveries(rec *eventRecord, deliveries []*webhook.Delivery) {
	for i, d := range deliveries {
		ent := &rec.entries[i]
		ent.d, ent.index = d, -1
		m.deliveries[d.ID] = ent
		m.bySub[d.SubscriptionID] = insertByID(m.bySub[d.SubscriptionID], ent)
		m.requeue(ent)
	}
}

// EventGet returns the stored event with the given ID, read-only.
func (m *Store) EventGet(ctx context.Context, id string) (*webhook.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sh := m.shardOf(id)
	sh.mu.RLock()
	rec, ok := sh.m[id]
	sh.mu.RUnlock()
	if !ok {
		return nil, notFound("event", id)
	}
	return rec.e, nil
}

// compareEvents orders events by Timestamp, then ID.
func compareEvents(a, b *webhook.Event) int {
	if c := a.Timestamp.Compare(b.Timestamp); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// EventList returns copies of the events that pass q, in the order of
// Timestamp then ID (newest first with q.Newest). It finds where to start
// by binary search in an index of events by time, so pages are read in time
// proportional to their size plus the events that the filters skip.
func (m *Store) EventList(ctx context.Context, q webhook.EventQuery) ([]*webhook.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.evMu.RLock()
	defer m.evMu.RUnlock()
	var out []*webhook.Event
	take := func(e *webhook.Event) bool {
		if q.Limit > 0 && len(out) >= q.Limit {
			return false
		}
		if q.Keep(e) {
			out = append(out, e.Clone())
		}
		return true
	}
	if q.Newest {
		// Events beyond the cursor and before Until form a prefix.
		n := sort.Search(len(m.byTime), func(i int) bool {
			e := m.byTime[i]
			return !q.Beyond(e) || (!q.Until.IsZero() && !e.Timestamp.Before(q.Until))
		})
		for i := n - 1; i >= 0; i-- {
			e := m.byTime[i]
			if !q.Since.IsZero() && e.Timestamp.Before(q.Since) || !take(e) {
				break
			}
		}
		return out, nil
	}
	start := sort.Search(len(m.byTime), func(i int) bool {
		e := m.byTime[i]
		return q.Beyond(e) && (q.Since.IsZero() || !e.Timestamp.Before(q.Since))
	})
	for _, e := range m.byTime[start:] {
		if !q.Until.IsZero() && !e.Timestamp.Before(q.Until) || !take(e) {
			break
		}
	}
	return out, nil
}

// FeedRead reads a pull subscription's feed; see webhook.Store. It finds
// the expired entries by binary search, publication times being
// non-decreasing along a feed.
func (m *Store) FeedRead(ctx context.Context, p webhook.FeedReadParams) (*webhook.FeedPage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.evMu.RLock()
	defer m.evMu.RUnlock()
	page := &webhook.FeedPage{After: p.After}
	f := m.feeds[p.SubscriptionID]
	if f == nil {
		if p.FromCommitted {
			page.After = 0
		}
		return page, nil
	}
	page.Committed, page.Last = f.committed, f.last()
	if p.FromCommitted {
		page.After = f.committed
	}
	expired := 0 // of f.entries
	if !p.Since.IsZero() {
		expired = sort.Search(len(f.entries), func(i int) bool { return !f.entries[i].PublishedAt.Before(p.Since) })
	}
	if oldest := f.trimmed + uint64(expired); page.After < oldest {
		page.Expired, page.Oldest = true, oldest
		return page, nil
	}
	size := 0
	for seq := page.After + 1; seq <= page.Last && len(page.Entries) < p.Limit; seq++ {
		fe := f.entries[seq-1-f.trimmed]
		ev := m.event(fe.EventID).e
		size += len(ev.Data)
		if p.MaxBytes > 0 && len(page.Entries) > 0 && size > p.MaxBytes {
			break
		}
		fe.Event = ev.Clone()
		page.Entries = append(page.Entries, &fe)
	}
	return page, nil
}

// FeedCommit records the committed position of a feed; see webhook.Store.
func (m *Store) FeedCommit(ctx context.Context, subscriptionID string, seq uint64, rewind bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.subMu.RLock()
	defer m.subMu.RUnlock()
	m.evMu.Lock()
	defer m.evMu.Unlock()
	if _, ok := m.subs[subscriptionID]; !ok {
		return notFound("subscription", subscriptionID)
	}
	f := m.feeds[subscriptionID]
	if f == nil {
		f = &feed{}
		m.feeds[subscriptionID] = f
	}
	if seq > f.committed || rewind {
		f.committed = seq
	}
	return nil
}

// DeliveryClaim leases up to p.Limit due pending deliveries, earliest
// effective due time (the later of NextAttemptAt and LeasedUntil) first,
// ties broken by ID.
//
// It takes candidates in that order and calls p.Exclude, when not nil, once
// for each, with the candidate's subscription ID, before considering the
// next one. A candidate for which Exclude returns false is claimed at once.
// When Exclude returns true, that candidate and every other delivery of the
// same subscription are skipped for the rest of this claim without asking
// again: a subscription's backlog is not read when it is excluded. Exclude
// may therefore keep count of what it let through (the Dispatcher uses it
// to reserve per-subscription concurrency slots) as long as it keeps
// reporting a subscription once it did. It runs with the store locked and
// must not call the store.
func (m *Store) DeliveryClaim(ctx context.Context, p webhook.ClaimParams) ([]*webhook.Delivery, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var c claimed
	func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.claim(p, &c)
	}()
	return c.result(), nil
}

// claimed holds the copies of what a claim leased, which it makes with the
// store locked, on the caller's stack for up to claimedOnStack of them: the
// copies returned are allocated once the store is unlocked. Allocating with
// the lock held would make every other call wait whenever the allocation
// has to help the garbage collector first.
type claimed struct {
	n     int
	small [claimedOnStack]webhook.Delivery
	more  []*webhook.Delivery // beyond small, allocated under the lock
}

// claimedOnStack covers a worker's claims, which take one delivery, and
// most of the loop's.
const claimedOnStack = 4

// add copies d, without its attempt log, as claims return it.
func (c *claimed) add(d *webhook.Delivery) {
	if c.n < len(c.small) {
		c.small[c.n] = *d
		c.small[c.n].Attempts = nil
		c.n++
		return
	}
	c.more = append(c.more, withoutAttempts(d))
}

// result returns the claimed deliveries, in the order claimed. One
// delivery, a worker's usual claim, takes one allocation.
func (c *claimed) result() []*webhook.Delivery {
	if c.n == 0 {
		return nil
	}
	var (
		vals []webhook.Delivery
		out  []*webhook.Delivery
	)
	if c.n == 1 && c.more == nil {
		r := new(struct {
			v [1]webhook.Delivery
			p [1]*webhook.Delivery
		})
		vals, out = r.v[:], r.p[:0]
	} else {
		vals, out = make([]webhook.Delivery, c.n), make([]*webhook.Delivery, 0, c.n+len(c.more))
	}
	copy(vals, c.small[:c.n])
	for i := range vals {
		out = append(out, &vals[i])
	}
	return append(out, c.more...)
}

// claim is DeliveryClaim with m.mu held; it adds what it claims to c.
func (m *Store) claim(p webhook.ClaimParams, c *claimed) {
	var (
		entries  = make([]*entry, 0, claimedOnStack)
		touchBuf [claimedOnStack]*subQueue
		touched  = touchBuf[:0] // set aside, or emptied by the claim
	)
	for len(entries) < p.Limit && m.heads.Len() > 0 {
		q := m.heads[0]
		e := q.due[0]
		if e.dueAt().After(p.Now) {
			break
		}
		if p.Exclude != nil && p.Exclude(q.subID) {
			heap.Pop(&m.heads)
			touched = append(touched, q)
			continue
		}
		heap.Pop(&q.due)
		e.d.LeaseToken, e.d.LeasedUntil = p.LeaseToken, p.LeasedUntil
		entries = append(entries, e)
		if q.due.Len() == 0 {
			heap.Pop(&m.heads)
			touched = append(touched, q)
		} else {
			heap.Fix(&m.heads, 0)
		}
	}
	for _, e := range entries {
		q := m.queues[e.d.SubscriptionID]
		e.setDue()
		heap.Push(&q.due, e)
		m.fixHead(q)
		c.add(e.d)
	}
	if n := len(entries); n > 0 && p.LeaseToken != "" { // leased never looks up ""
		*m.leaseSlot(p.LeaseToken) = entries[n-1]
	}
	for _, q := range touched {
		m.fixHead(q)
	}
}

// DeliveryNextDue returns the earliest effective due time of a pending
// delivery whose subscription exclude does not report. Exclude is called
// once per subscription at most; it runs with the store locked and must not
// call the store.
func (m *Store) DeliveryNextDue(ctx context.Context, exclude func(subscriptionID string) bool) (time.Time, bool, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var skipped []*subQueue
	defer func() {
		for _, q := range skipped {
			heap.Push(&m.heads, q)
		}
	}()
	for m.heads.Len() > 0 {
		q := m.heads[0]
		if exclude == nil || !exclude(q.subID) {
			return q.due[0].dueAt(), true, nil
		}
		skipped = append(skipped, heap.Pop(&m.heads).(*subQueue))
	}
	return time.Time{}, false, nil
}

// DeliveryUpdate records the outcome of a leased delivery; see
// webhook.Store. The attempt, when given, is numbered one more than the
// attempts already logged.
func (m *Store) DeliveryUpdate(ctx context.Context, u webhook.DeliveryUpdate) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := newAttemptRoom(u)
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.update(u, r)
}

// attemptRoom is what recording u's attempt allocates, allocated before
// the lock is taken (see claimed): room for the log of a delivery that has
// none yet (unused when it has one, or when the update is rejected), and
// the store's copy of the attempt's MissingValues.
type attemptRoom struct {
	log     []webhook.Attempt
	missing []string
}

func newAttemptRoom(u webhook.DeliveryUpdate) attemptRoom {
	if u.Attempt == nil {
		return attemptRoom{}
	}
	return attemptRoom{log: make([]webhook.Attempt, 0, 1), missing: slices.Clone(u.Attempt.MissingValues)}
}

// update is DeliveryUpdate with m.mu held; r is from newAttemptRoom. Its
// only errors are rejections (ErrNotFound, ErrLeaseLost), returned before
// it changes anything.
func (m *Store) update(u webhook.DeliveryUpdate, r attemptRoom) error {
	e, err := m.leased(u.DeliveryID, u.LeaseToken)
	if err != nil {
		return err
	}
	if u.Attempt != nil {
		a := *u.Attempt
		a.Number = len(e.d.Attempts) + 1
		a.MissingValues = r.missing // not the caller's
		if cap(e.d.Attempts) == 0 {
			e.d.Attempts = r.log
		}
		e.d.Attempts = append(e.d.Attempts, a)
	}
	e.d.State = u.State
	e.d.AttemptCount = u.AttemptCount
	e.d.NextAttemptAt = u.NextAttemptAt
	e.d.LastError = u.LastError
	e.d.UpdatedAt = u.UpdatedAt
	e.d.LeaseToken, e.d.LeasedUntil = "", time.Time{}
	m.requeue(e)
	return nil
}

// DeliveryUpdateClaim is DeliveryUpdate then DeliveryClaim under one lock;
// see webhook.DeliveryUpdateClaimer. A rejected update changes nothing and
// the claim is made all the same: the claimed deliveries are returned with
// the rejection.
func (m *Store) DeliveryUpdateClaim(ctx context.Context, u webhook.DeliveryUpdate, p webhook.ClaimParams) ([]*webhook.Delivery, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var c claimed
	r := newAttemptRoom(u)
	err := func() error {
		m.mu.Lock()
		defer m.mu.Unlock()
		err := m.update(u, r)
		m.claim(p, &c)
		return err
	}()
	return c.result(), err
}

// DeliveryRelease clears a lease so the delivery is claimable again at its
// NextAttemptAt.
func (m *Store) DeliveryRelease(ctx context.Context, id, leaseToken string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.leased(id, leaseToken)
	if err != nil {
		return err
	}
	e.d.LeaseToken, e.d.LeasedUntil = "", time.Time{}
	m.requeue(e)
	return nil
}

// DeliveryGet returns a copy of a delivery with its attempts.
func (m *Store) DeliveryGet(ctx context.Context, id string) (*webhook.Delivery, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.deliveries[id]
	if !ok {
		return nil, notFound("delivery", id)
	}
	return e.d.Clone(), nil
}

// DeliveryList returns copies of the deliveries that pass p, with their
// attempts, in ascending ID order. With p.EventID set it reads only that
// event's deliveries; with p.SubscriptionID set (and not p.EventID), only
// the subscription's, which it keeps in ID order, from p.After on and until
// p.Limit of them pass. Otherwise it sorts every delivery: for inspection,
// not hot paths, as it holds the queue lock meanwhile.
func (m *Store) DeliveryList(ctx context.Context, p webhook.DeliveryListParams) ([]*webhook.Delivery, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.evMu.RLock()
	defer m.evMu.RUnlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	var entries []*entry
	switch {
	case p.EventID != "":
		if rec := m.event(p.EventID); rec != nil {
			for i := range rec.entries {
				entries = append(entries, &rec.entries[i])
			}
		}
		slices.SortFunc(entries, compareEntryIDs)
	case p.SubscriptionID != "":
		entries = m.bySub[p.SubscriptionID] // sorted already
	default:
		entries = make([]*entry, 0, len(m.deliveries))
		for _, e := range m.deliveries {
			entries = append(entries, e)
		}
		slices.SortFunc(entries, compareEntryIDs)
	}
	if p.After != "" { // start the page after it, by binary search
		entries = entries[sort.Search(len(entries), func(i int) bool { return entries[i].d.ID > p.After }):]
	}
	var out []*webhook.Delivery
	for _, e := range entries {
		if p.Limit > 0 && len(out) >= p.Limit {
			break
		}
		if p.Keep(e.d) {
			out = append(out, e.d.Clone())
		}
	}
	return out, nil
}

// DeliveryReset makes a delivery that is not pending due again at now; see
// webhook.Store.
func (m *Store) DeliveryReset(ctx context.Context, id string, now time.Time) (*webhook.Delivery, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.deliveries[id]
	if !ok {
		return nil, notFound("delivery", id)
	}
	if e.d.State == webhook.DeliveryPending {
		return nil, fmt.Errorf("memstore: delivery %q: %w", id, webhook.ErrDeliveryPending)
	}
	e.d.State = webhook.DeliveryPending
	e.d.AttemptCount = 0
	e.d.NextAttemptAt = now
	e.d.UpdatedAt = now
	e.d.LeaseToken, e.d.LeasedUntil = "", time.Time{}
	m.requeue(e)
	return e.d.Clone(), nil
}

// leased returns the delivery id if it is leased with token, or an error
// wrapping ErrNotFound or ErrLeaseLost.
func (m *Store) leased(id, token string) (*entry, error) {
	if token != "" {
		if e := *m.leaseSlot(token); e != nil && e.d.ID == id && e.d.LeaseToken == token {
			return e, nil
		}
	}
	e, ok := m.deliveries[id]
	if !ok {
		return nil, notFound("delivery", id)
	}
	if token == "" || e.d.LeaseToken != token {
		return nil, fmt.Errorf("memstore: delivery %q: %w", id, webhook.ErrLeaseLost)
	}
	return e, nil
}

// requeue puts e in its subscription's queue at its current due time when
// it is pending, and takes it out otherwise.
func (m *Store) requeue(e *entry) {
	if e.d.State != webhook.DeliveryPending {
		m.unqueue(e)
		return
	}
	q := m.queues[e.d.SubscriptionID]
	if q == nil {
		q = &subQueue{subID: e.d.SubscriptionID, index: -1}
		m.queues[q.subID] = q
	}
	e.setDue()
	if e.index < 0 {
		heap.Push(&q.due, e)
	} else {
		heap.Fix(&q.due, e.index)
	}
	m.fixHead(q)
}

// unqueue takes e out of its subscription's queue if it is there.
func (m *Store) unqueue(e *entry) {
	if e.index < 0 {
		return
	}
	q := m.queues[e.d.SubscriptionID]
	heap.Remove(&q.due, e.index)
	m.fixHead(q)
}

// fixHead puts q at its place in m.heads after its first delivery changed,
// and drops it when it is empty.
func (m *Store) fixHead(q *subQueue) {
	switch {
	case q.due.Len() == 0:
		if q.index >= 0 {
			heap.Remove(&m.heads, q.index)
		}
		delete(m.queues, q.subID)
	case q.index < 0:
		heap.Push(&m.heads, q)
	default:
		heap.Fix(&m.heads, q.index)
	}
}

// index adds s to the indexes of its tenant: among all of them, by each
// exact event type, and among those with patterns.
func (m *Store) index(s *webhook.Subscription) {
	t := m.byTenant[s.Tenant]
	if t == nil {
		t = &tenantSubs{byType: make(map[string][]string)}
		m.byTenant[s.Tenant] = t
	}
	t.ids = insertSorted(t.ids, s.ID)
	for _, typ := range s.EventTypes {
		if strings.Contains(typ, "*") {
			t.patterns = insertSorted(t.patterns, s.ID)
		} else {
			t.byType[typ] = insertSorted(t.byType[typ], s.ID)
		}
	}
}

// unindex removes s, as it was indexed, from the indexes of its tenant.
func (m *Store) unindex(s *webhook.Subscription) {
	t := m.byTenant[s.Tenant]
	if t == nil {
		return
	}
	t.ids = deleteSorted(t.ids, s.ID)
	for _, typ := range s.EventTypes {
		if strings.Contains(typ, "*") {
			t.patterns = deleteSorted(t.patterns, s.ID)
		} else if ids := deleteSorted(t.byType[typ], s.ID); len(ids) > 0 {
			t.byType[typ] = ids
		} else {
			delete(t.byType, typ)
		}
	}
	if len(t.ids) == 0 {
		delete(m.byTenant, s.Tenant)
	}
}

func deleteSorted(ids []string, id string) []string {
	if i, ok := slices.BinarySearch(ids, id); ok {
		return slices.Delete(ids, i, i+1)
	}
	return ids
}

func insertSorted(ids []string, id string) []string {
	i, ok := slices.BinarySearch(ids, id)
	if ok {
		return ids
	}
	return slices.Insert(ids, i, id)
}

func notFound(what, id string) error {
	return fmt.Errorf("memstore: %s %q: %w", what, id, webhook.ErrNotFound)
}

// compareEntryIDs orders entries by delivery ID.
func compareEntryIDs(a, b *entry) int { return strings.Compare(a.d.ID, b.d.ID) }

// insertByID inserts e into entries, sorted by delivery ID. A Dispatcher's
// deliveries come in ID order, or nearly (concurrent Publishes may store
// theirs in the other order), so e goes at the end or a few places before
// it, found from the end; one that goes further back (IDs from another
// Dispatcher, or from a caller of EventInsert) is found by a binary search
// and shifts the entries after it.
func insertByID(entries []*entry, e *entry) []*entry {
	i := len(entries)
	for ; i > 0 && len(entries)-i < 8 && entries[i-1].d.ID > e.d.ID; i-- {
	}
	if i > 0 && entries[i-1].d.ID > e.d.ID {
		i, _ = slices.BinarySearchFunc(entries[:i], e, compareEntryIDs)
	}
	return slices.Insert(entries, i, e)
}

// withoutAttempts copies d without its attempt log, as claims return it.
func withoutAttempts(d *webhook.Delivery) *webhook.Delivery {
	c := *d
	c.Attempts = nil
	return &c
}

// dueQueue is a min-heap of one subscription's pending deliveries by
// effective due time, then ID.
type dueQueue = indexedHeap[*entry]

// headQueue is a min-heap of non-empty subscription queues by their first
// delivery, so its top holds the earliest pending delivery of all.
type headQueue = indexedHeap[*subQueue]

// indexedHeap is a container/heap of items that keep their own place in it
// (for heap.Fix and heap.Remove), ordered by their less method.
type indexedHeap[T heapItem[T]] []T

// heapItem is what an indexedHeap holds.
type heapItem[T any] interface {
	less(other T) bool
	setIndex(i int) // -1 when out of the heap
}

func (h indexedHeap[T]) Len() int           { return len(h) }
func (h indexedHeap[T]) Less(i, j int) bool { return h[i].less(h[j]) }

func (h indexedHeap[T]) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].setIndex(i)
	h[j].setIndex(j)
}

func (h *indexedHeap[T]) Push(x any) {
	it := x.(T)
	it.setIndex(len(*h))
	*h = append(*h, it)
}

func (h *indexedHeap[T]) Pop() any {
	old := *h
	n := len(old)
	it := old[n-1]
	var zero T
	old[n-1] = zero
	it.setIndex(-1)
	*h = old[:n-1]
	return it
}

func (e *entry) less(o *entry) bool       { return before(e, o) }
func (e *entry) setIndex(i int)           { e.index = i }
func (q *subQueue) less(o *subQueue) bool { return before(q.due[0], o.due[0]) }
func (q *subQueue) setIndex(i int)        { q.index = i }

// before orders pending deliveries: effective due time, then ID.
func before(a, b *entry) bool {
	switch {
	case a.dueSec != b.dueSec:
		return a.dueSec < b.dueSec
	case a.dueNsec != b.dueNsec:
		return a.dueNsec < b.dueNsec
	}
	return a.d.ID < b.d.ID
}
