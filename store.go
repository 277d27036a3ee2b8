package webhook

import (
	"context"
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
//   - Values passed in and returned are copies: neither side may retain or
//     mutate what the other holds.
//   - A missing record is reported with an error wrapping ErrNotFound.
//   - The Dispatcher generates every ID and timestamp; stores never invent
//     them, so a store is deterministic given its inputs.
type Store interface {
	// SubscriptionInsert stores a new subscription.
	SubscriptionInsert(ctx context.Context, s *Subscription) error
	// SubscriptionGet returns the subscription with the given ID.
	SubscriptionGet(ctx context.Context, id string) (*Subscription, error)
	// SubscriptionList returns subscriptions in ascending ID order that
	// pass the filters in p, at most p.Limit of them (all when Limit is 0).
	SubscriptionList(ctx context.Context, p SubscriptionListParams) ([]*Subscription, error)
	// SubscriptionUpdate replaces a stored subscription (matched by ID).
	SubscriptionUpdate(ctx context.Context, s *Subscription) error
	// SubscriptionDelete removes a subscription and, in the same atomic
	// operation, cancels its pending deliveries (State DeliveryCanceled,
	// LastError saying why, UpdatedAt now).
	SubscriptionDelete(ctx context.Context, id string, now time.Time) error
	// SubscriptionMatch returns the enabled subscriptions of tenant that
	// match eventType (see Subscription.Matches), in ascending ID order.
	SubscriptionMatch(ctx context.Context, tenant, eventType string) ([]*Subscription, error)

	// EventInsert stores an event and its deliveries in one atomic
	// operation: afterwards either all of them are stored or none is. When
	// an event with the same ID exists it stores nothing and returns an
	// error wrapping ErrEventExists.
	EventInsert(ctx context.Context, e *Event, deliveries []*Delivery) error
	// EventGet returns the event with the given ID.
	EventGet(ctx context.Context, id string) (*Event, error)

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

// ClaimParams are the arguments of Store.DeliveryClaim.
type ClaimParams struct {
	// Now is the time against which due times and leases are compared.
	Now time.Time
	// Limit is the most deliveries to claim; it is at least 1.
	Limit int
	// LeaseToken identifies this claim; DeliveryUpdate and DeliveryRelease
	// must present it.
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
		(p.State == "" || d.State == p.State)
}
