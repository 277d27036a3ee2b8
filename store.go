package webhook

import (
	"context"
	"strings"
	"time"
)

// Store persists subscriptions, events and deliveries. The Dispatcher is its
// only caller; hosts choose an implementation (store/memstore for tests and
// ephemeral use, store/boltstore for durability) and pass it to
// NewDispatcher.
//
// Every implementation must pass the conformance suite in store/storetest.
// The rules it checks, in short:
//
//   - Methods are safe for concurrent use.
//   - Ownership, which spares copies on the delivery path. What
//     EventInsert is given becomes the store's: the Dispatcher builds the
//     event, deliveries and feed entries for the call and never changes
//     them afterwards, so a store may keep them as they are; it must not
//     change them either (it keeps them as they are, or keeps changed
//     copies). What SubscriptionGet, SubscriptionMatch and EventGet return
//     is read-only: the Dispatcher never changes it, so a store may return
//     the values it holds, provided it never changes a value it has
//     returned (it stores a new value instead). Every other value passed
//     in or returned is a copy: neither side may keep or change what the
//     other holds.
//   - A Delivery that Publish made carries, unexported, the event it gave
//     the store with it, which a copy of the struct keeps and
//     Delivery.Clone drops. A store that keeps deliveries as they are given
//     and returns plain copies of them from DeliveryClaim (memstore) so
//     returns that event with each claim, and the worker sends it as it was
//     given, without calling EventGet. A store that encodes deliveries, or
//     returns clones, drops it, and the worker calls EventGet. Either way
//     an event must stay stored while a delivery of it is.
//   - A missing record is reported with an error wrapping ErrNotFound.
//   - The Dispatcher generates every ID and timestamp; stores never invent
//     them, so a store is deterministic given its inputs.
type Store interface {
	// SubscriptionInsert stores a new subscription.
	SubscriptionInsert(ctx context.Context, s *Subscription) error
	// SubscriptionGet returns the subscription with the given ID,
	// read-only.
	SubscriptionGet(ctx context.Context, id string) (*Subscription, error)
	// SubscriptionList returns subscriptions in ascending ID order that
	// pass the filters in p, at most p.Limit of them (all when Limit is 0).
	SubscriptionList(ctx context.Context, p SubscriptionListParams) ([]*Subscription, error)
	// SubscriptionUpdate replaces a stored subscription (matched by ID).
	SubscriptionUpdate(ctx context.Context, s *Subscription) error
	// SubscriptionDelete removes a subscription and, in the same atomic
	// operation, cancels its pending deliveries (State DeliveryCanceled,
	// LastError saying why, UpdatedAt now) and removes its pull feed and
	// committed position.
	SubscriptionDelete(ctx context.Context, id string, now time.Time) error
	// SubscriptionMatch returns the enabled subscriptions of tenant that
	// match eventType (see Subscription.Matches), in ascending ID order,
	// read-only.
	SubscriptionMatch(ctx context.Context, tenant, eventType string) ([]*Subscription, error)

	// EventInsert stores an event, its deliveries and its pull feed
	// entries in one atomic operation: afterwards either all of them are
	// stored or none is. When an event with the same ID exists it stores
	// nothing and returns an error wrapping ErrEventExists.
	//
	// Each feed entry (one per matching pull subscription) is appended to
	// its subscription's feed with the next sequence number of that feed,
	// assigned by the store inside the operation (the one value a store
	// invents): sequences start at 1 and have no gaps, and a reader never
	// sees an entry before every entry with a smaller sequence of the same
	// feed is visible too. The store ignores FeedEntry.Seq and
	// FeedEntry.Event on input, and stores PublishedAt raised to the
	// previous entry's when it is earlier, so that times never decrease
	// along a feed. An entry for a subscription that no longer exists is
	// dropped (it was deleted after Publish matched it).
	EventInsert(ctx context.Context, e *Event, deliveries []*Delivery, feed []*FeedEntry) error
	// EventGet returns the event with the given ID, read-only.
	EventGet(ctx context.Context, id string) (*Event, error)
	// EventList returns the events that pass q, ordered by Timestamp then
	// ID (descending when q.Newest), starting strictly after the position
	// q.AfterTimestamp, q.AfterID when AfterID is not empty, at most
	// q.Limit of them (all when Limit is 0).
	EventList(ctx context.Context, q EventQuery) ([]*Event, error)

	// FeedRead reads the feed of pull subscription p.SubscriptionID: its
	// state, and up to p.Limit entries after a position, each with its
	// event. See FeedReadParams and FeedPage. A subscription without a
	// feed (none was ever appended, or it was deleted) reads as an empty
	// feed, not as an error.
	FeedRead(ctx context.Context, p FeedReadParams) (*FeedPage, error)
	// FeedCommit records seq as the committed position of a subscription's
	// feed, durably for a durable store. Unless rewind is true a position
	// never moves backwards: a seq at or below the committed one changes
	// nothing. The caller checks that seq is not past the feed's last
	// entry. A subscription that does not exist is an error wrapping
	// ErrNotFound.
	FeedCommit(ctx context.Context, subscriptionID string, seq uint64, rewind bool) error

	// DeliveryClaim leases up to p.Limit pending deliveries that are due at
	// p.Now (NextAttemptAt and LeasedUntil not after p.Now), earliest due
	// first (the later of NextAttemptAt and LeasedUntil, then ID), skipping
	// those whose subscription p.Exclude reports. Each returned delivery has LeaseToken and LeasedUntil set
	// from p and is not returned by another claim until the lease expires
	// or is released. Attempts is not filled in.
	DeliveryClaim(ctx context.Context, p ClaimParams) ([]*Delivery, error)
	// DeliveryNextDue returns the earliest time at which a pending
	// delivery whose subscription exclude does not report (exclude may be
	// nil) becomes claimable, and false when there is none. exclude is
	// called at most once per subscription and must not call the Store.
	DeliveryNextDue(ctx context.Context, exclude func(subscriptionID string) bool) (time.Time, bool, error)
	// DeliveryUpdate records the outcome of a leased delivery: it appends
	// u.Attempt (when not nil) to the attempt log, numbering it, and sets
	// the state, schedule and error from u, clearing the lease. It returns
	// an error wrapping ErrLeaseLost, and changes nothing, when the
	// delivery is no longer leased with u.LeaseToken (an error wrapping
	// ErrNotFound when the delivery does not exist).
	DeliveryUpdate(ctx context.Context, u DeliveryUpdate) error
	// DeliveryRelease clears a lease without recording an attempt, so the
	// delivery is claimable again at once. ErrLeaseLost as for
	// DeliveryUpdate.
	DeliveryRelease(ctx context.Context, id, leaseToken string) error
	// DeliveryGet returns a delivery with its attempts.
	DeliveryGet(ctx context.Context, id string) (*Delivery, error)
	// DeliveryList returns deliveries in ascending ID order that pass the
	// filters in p, each with its attempts.
	DeliveryList(ctx context.Context, p DeliveryListParams) ([]*Delivery, error)
	// DeliveryReset makes a delivery that is not pending due again at now
	// with a fresh retry schedule (AttemptCount 0, lease cleared, LastError
	// kept, attempt log kept). It returns an error wrapping
	// ErrDeliveryPending for a pending delivery.
	DeliveryReset(ctx context.Context, id string, now time.Time) (*Delivery, error)
}

// DeliveryUpdateClaimer is an optional interface of a Store: one operation
// that records a worker's outcome and claims its next delivery. A worker
// does both after every attempt; in one lock (memstore) or one transaction
// and one fsync (boltstore) instead of two, a worker waits for one commit
// per delivery instead of two. The Dispatcher uses it when the Store has it,
// and calls DeliveryUpdate then DeliveryClaim otherwise; storetest checks it
// when a store implements it.
type DeliveryUpdateClaimer interface {
	// DeliveryUpdateClaim applies u exactly as DeliveryUpdate does, then
	// claims exactly as DeliveryClaim does with p, atomically: the claim
	// sees the state that u left. When u is rejected (the error wraps
	// ErrLeaseLost or ErrNotFound) the rejected update changes nothing,
	// the claim is still made, and both the claimed deliveries and the
	// rejection are returned. Any other error means nothing was changed
	// and nothing claimed.
	DeliveryUpdateClaim(ctx context.Context, u DeliveryUpdate, p ClaimParams) ([]*Delivery, error)
}

// ClaimParams are the arguments of Store.DeliveryClaim.
type ClaimParams struct {
	// Now is the time against which due times and leases are compared.
	Now time.Time
	// Limit is the most deliveries to claim; it is at least 1.
	Limit int
	// LeaseToken identifies the leases this claim takes; DeliveryUpdate and
	// DeliveryRelease must present it. A claimant that holds one lease at a
	// time (a Dispatcher's worker) uses the same token for all its claims,
	// so stores must not assume a token is new; the loop, whose claims go
	// to several workers, takes a new one per claim.
	LeaseToken string
	// LeasedUntil is when the lease expires and the delivery becomes
	// claimable again if it was neither updated nor released.
	LeasedUntil time.Time
	// Exclude, when not nil, reports subscriptions whose deliveries must
	// not be claimed now (the Dispatcher uses it for subscriptions at their
	// concurrency limit). It is called once per candidate in claim order,
	// and a candidate for which it returns false is claimed; once it
	// returns true for a subscription, that subscription's other
	// deliveries are skipped for the rest of the claim without asking
	// again. It runs inside the store's lock or transaction and must not
	// call the Store.
	Exclude func(subscriptionID string) bool
}

// DeliveryUpdate is the outcome of one claimed delivery, written back with
// Store.DeliveryUpdate.
type DeliveryUpdate struct {
	DeliveryID string
	LeaseToken string
	// Attempt is the attempt made, or nil when no request was sent (the
	// subscription was deleted or disabled, for example).
	Attempt *Attempt
	// State is the delivery's new state.
	State DeliveryState
	// AttemptCount is the new value of Delivery.AttemptCount.
	AttemptCount int
	// NextAttemptAt is when a pending delivery is due again.
	NextAttemptAt time.Time
	// LastError replaces Delivery.LastError ("" on success).
	LastError string
	// UpdatedAt is the time of the update.
	UpdatedAt time.Time
}

// SubscriptionListParams filter and page Dispatcher.SubscriptionList and
// Store.SubscriptionList. The zero value lists every subscription.
type SubscriptionListParams struct {
	// Tenant, when not empty, keeps only that tenant's subscriptions.
	Tenant string
	// EventType, when not empty, keeps subscriptions that would receive an
	// event of that type.
	EventType string
	// Disabled, when not nil, keeps subscriptions whose Disabled equals it.
	Disabled *bool
	// After is a cursor: only IDs greater than it are listed. Pass the last
	// ID of the previous page.
	After string
	// Limit caps the number of results; 0 means no limit.
	Limit int
}

// Keep reports whether s passes the filters of p other than After and Limit.
// Stores use it so that every backend filters alike.
func (p *SubscriptionListParams) Keep(s *Subscription) bool {
	if p.Tenant != "" && s.Tenant != p.Tenant {
		return false
	}
	if p.EventType != "" && !s.Matches(p.EventType) {
		return false
	}
	if p.Disabled != nil && s.Disabled != *p.Disabled {
		return false
	}
	return true
}

// DeliveryListParams filter and page Dispatcher.DeliveryList and
// Store.DeliveryList. The zero value lists every delivery.
type DeliveryListParams struct {
	// SubscriptionID, when not empty, keeps that subscription's deliveries.
	SubscriptionID string
	// EventID, when not empty, keeps that event's deliveries.
	EventID string
	// Tenant, when not empty, keeps that tenant's deliveries.
	Tenant string
	// State, when not empty, keeps deliveries in that state.
	State DeliveryState
	// Since, when not zero, keeps deliveries created at or after it.
	Since time.Time
	// Until, when not zero, keeps deliveries created before it. With
	// Since it makes "the last 30 days of deliveries" one call:
	// DeliveryListParams{Since: now.AddDate(0, 0, -30)}.
	Until time.Time
	// After is a cursor: only IDs greater than it are listed.
	After string
	// Limit caps the number of results; 0 means no limit.
	Limit int
}

// Keep reports whether d passes the filters of p other than After and Limit.
func (p *DeliveryListParams) Keep(d *Delivery) bool {
	return (p.SubscriptionID == "" || d.SubscriptionID == p.SubscriptionID) &&
		(p.EventID == "" || d.EventID == p.EventID) &&
		(p.Tenant == "" || d.Tenant == p.Tenant) &&
		(p.State == "" || d.State == p.State) &&
		(p.Since.IsZero() || !d.CreatedAt.Before(p.Since)) &&
		(p.Until.IsZero() || d.CreatedAt.Before(p.Until))
}

// EventQuery is the argument of Store.EventList; Dispatcher.EventList
// builds it from an EventListParams.
type EventQuery struct {
	// Tenant, when not empty, keeps that tenant's events.
	Tenant string
	// Type, when not empty, keeps events whose type matches it, exactly
	// or as a pattern (see MatchEventType).
	Type string
	// Since, when not zero, keeps events whose Timestamp is at or after it.
	Since time.Time
	// Until, when not zero, keeps events whose Timestamp is before it.
	Until time.Time
	// Newest lists the newest first (descending Timestamp, then ID);
	// otherwise the oldest come first.
	Newest bool
	// AfterTimestamp and AfterID, when AfterID is not empty, are the
	// position of the last event of the previous page: only events after
	// it in the listing order are listed, whether or not it still exists.
	AfterTimestamp time.Time
	AfterID        string
	// Limit caps the number of results; 0 means no limit.
	Limit int
}

// Keep reports whether e passes the filters of q (Tenant, Type, Since and
// Until). Stores use it so that every backend filters alike.
func (q *EventQuery) Keep(e *Event) bool {
	return (q.Tenant == "" || e.Tenant == q.Tenant) &&
		(q.Type == "" || MatchEventType(q.Type, e.Type)) &&
		(q.Since.IsZero() || !e.Timestamp.Before(q.Since)) &&
		(q.Until.IsZero() || e.Timestamp.Before(q.Until))
}

// Beyond reports whether e comes after the position AfterTimestamp,
// AfterID in the listing order of q; it is true for every event when
// AfterID is empty.
func (q *EventQuery) Beyond(e *Event) bool {
	if q.AfterID == "" {
		return true
	}
	c := e.Timestamp.Compare(q.AfterTimestamp)
	if c == 0 {
		c = strings.Compare(e.ID, q.AfterID)
	}
	if q.Newest {
		return c < 0
	}
	return c > 0
}

// FeedEntry is one event in the feed of a pull subscription.
type FeedEntry struct {
	// SubscriptionID names the pull subscription whose feed holds it.
	SubscriptionID string
	// Seq numbers the entries of one feed from 1, in the order the store
	// appended them. Assigned by the store.
	Seq uint64
	// EventID is the event's ID.
	EventID string
	// PublishedAt is when Publish stored the event; retention counts from
	// it. It never decreases along a feed.
	PublishedAt time.Time
	// Event is the event itself, filled in by Store.FeedRead.
	Event *Event
}

// FeedReadParams are the arguments of Store.FeedRead.
type FeedReadParams struct {
	// SubscriptionID names the feed.
	SubscriptionID string
	// After is the position to read after: only entries with a greater Seq
	// are returned. 0 is the position before the first entry. Ignored
	// when FromCommitted is set.
	After uint64
	// FromCommitted reads after the committed position, in the same
	// operation that reads it.
	FromCommitted bool
	// Limit is the most entries to return; 0 reads the feed's state only.
	Limit int
	// MaxBytes, when positive, ends the page once the summed len(Data) of
	// its events reaches it. The first entry is returned whatever its size,
	// so a single large event is still read, alone; an entry that would
	// take the sum past MaxBytes is left for the next read.
	MaxBytes int
	// Since, when not zero, is the retention boundary: entries published
	// before it are expired and never returned.
	Since time.Time
}

// FeedPage is the result of Store.FeedRead.
type FeedPage struct {
	// Committed is the committed position, 0 when none was committed.
	Committed uint64
	// After is the position read after: FeedReadParams.After, or Committed
	// with FromCommitted.
	After uint64
	// Last is the Seq of the newest entry, 0 for an empty feed.
	Last uint64
	// Expired is true when some entries after After can no longer be
	// read: they were removed by the store's own retention, or were
	// published before FeedReadParams.Since. Entries is then empty, and
	// reading must restart from Oldest.
	Expired bool
	// Oldest, when Expired is true, is the position just before the oldest
	// entry that can still be read (Last when none can).
	Oldest uint64
	// Entries are the entries after After, in Seq order, each with its
	// event.
	Entries []*FeedEntry
}
