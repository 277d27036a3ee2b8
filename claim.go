package webhook

import (
	"context"
	"errors"
	"slices"
)

// A claimer claims due deliveries for one claimant, the loop or one worker,
// taking for each claimed delivery a slot of its subscription's
// MaxInFlightPerSubscription. Slots are taken inside the store's claim
// (ClaimParams.Exclude), so that concurrent claims, the loop's and the
// workers', never exceed the limit together. A claimer keeps its Exclude
// function and its list of slots between claims, so that a claim allocates
// only what the store returns. Only its claimant uses it.
type claimer struct {
	d *Dispatcher
	// token, when not empty, is the lease token of every claim: a
	// worker's, which holds one lease at a time. The loop, whose claims go
	// to several workers, takes a new token per claim.
	token   string
	exclude func(subID string) bool

	// The state of the current claim, guarded by d.subMu: a store may
	// call Exclude from a goroutine of its own (boltstore's committer),
	// even after the claim returned, when its context ended first.
	open  bool     // a claim is running: Exclude may take slots
	taken []string // one subscription ID per slot the current claim took
	// held is the subscription whose slot updateClaim gives back once the
	// store has applied the update, at the claim's first Exclude call, or
	// when the claim ends if nothing was due.
	held string
}

func (d *Dispatcher) newClaimer(token string) *claimer {
	c := &claimer{d: d, token: token}
	c.exclude = c.reserve
	return c
}

// claim leases up to limit due deliveries.
func (c *claimer) claim(ctx context.Context, limit int) ([]*Delivery, error) {
	ds, err := c.d.store.DeliveryClaim(ctx, c.params(limit, ""))
	if err != nil {
		ds = nil
	}
	return c.settle(ds), err
}

// updateClaim records u and leases the next due delivery in one store
// operation (DeliveryUpdateClaimer). A rejected update (ErrLeaseLost or
// ErrNotFound) still claims. The slot that the attempt held for subID is
// given back inside the operation, after the update: the claim may take it
// again for the subscription's next delivery.
func (c *claimer) updateClaim(ctx context.Context, u DeliveryUpdate, subID string) ([]*Delivery, error) {
	ds, err := c.d.updateClaimer.DeliveryUpdateClaim(ctx, u, c.params(1, subID))
	if err != nil && !errors.Is(err, ErrLeaseLost) && !errors.Is(err, ErrNotFound) {
		ds = nil
	}
	return c.settle(ds), err
}

// params starts a claim of up to limit deliveries, which gives back held's
// slot (when not empty) once the store calls Exclude.
func (c *claimer) params(limit int, held string) ClaimParams {
	now := c.d.now()
	token := c.token
	if token == "" {
		token = c.d.ids.next("lease", now)
	}
	c.d.subMu.Lock()
	c.open, c.taken, c.held = true, c.taken[:0], held
	c.d.subMu.Unlock()
	return ClaimParams{Now: now, Limit: limit, LeaseToken: token, LeasedUntil: now.Add(c.d.cfg.LeaseDuration), Exclude: c.exclude}
}

// reserve is the claims' Exclude: it takes a slot of subID, or reports the
// subscription when it has none left, or when the claim is over.
func (c *claimer) reserve(subID string) bool {
	d := c.d
	d.subMu.Lock()
	defer d.subMu.Unlock()
	if !c.open {
		return true // called after the claim returned: claim nothing more
	}
	if c.held != "" { // the store applied the update first
		d.releaseSlotLocked(c.held)
		c.held = ""
	}
	if d.perSub[subID] >= d.cfg.MaxInFlightPerSubscription {
		return true
	}
	d.perSub[subID]++
	c.taken = append(c.taken, subID)
	return false
}

// settle ends the claim: it gives back the held slot if the store never
// called Exclude, and the slots of candidates not claimed after all (all
// of them when the store returned none, those of a first try when it
// retried its transaction), and returns the claimed deliveries.
func (c *claimer) settle(ds []*Delivery) []*Delivery {
	d := c.d
	d.subMu.Lock()
	defer d.subMu.Unlock()
	c.open = false
	if c.held != "" {
		d.releaseSlotLocked(c.held)
		c.held = ""
	}
	if len(c.taken) == len(ds) {
		return ds
	}
	taken := c.taken
	for _, dl := range ds {
		if i := slices.Index(taken, dl.SubscriptionID); i >= 0 {
			taken = slices.Delete(taken, i, i+1)
		}
	}
	for _, id := range taken {
		d.releaseSlotLocked(id)
	}
	return ds
}

// saturated reports whether a subscription has as many attempts in flight
// as it may.
func (d *Dispatcher) saturated(subID string) bool {
	d.subMu.Lock()
	defer d.subMu.Unlock()
	return d.perSub[subID] >= d.cfg.MaxInFlightPerSubscription
}

// releaseSlot gives back a slot that a claim took.
func (d *Dispatcher) releaseSlot(subID string) {
	d.subMu.Lock()
	d.releaseSlotLocked(subID)
	d.subMu.Unlock()
}

// releaseSlotLocked is releaseSlot with d.subMu held.
func (d *Dispatcher) releaseSlotLocked(subID string) {
	if d.perSub[subID]--; d.perSub[subID] <= 0 {
		delete(d.perSub, subID)
	}
}
