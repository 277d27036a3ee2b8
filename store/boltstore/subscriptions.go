package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/bbolt"

	"github.com/hooksmith/webhook"
)

// prepareSub checks what a subscription write keys on and encodes sub,
// before the write transaction starts.
func prepareSub(ctx context.Context, sub *webhook.Subscription) ([]byte, *webhook.Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if err := checkIDs("subscription", append([]string{sub.ID, sub.Tenant}, sub.EventTypes...)...); err != nil {
		return nil, nil, err
	}
	return encodeSub(sub)
}

// SubscriptionInsert stores s. An ID already stored is an error.
func (s *Store) SubscriptionInsert(ctx context.Context, sub *webhook.Subscription) error {
	val, cached, err := prepareSub(ctx, sub)
	if err != nil {
		return err
	}
	return s.writeSub(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketSubs)
		if b.Get([]byte(sub.ID)) != nil {
			return fmt.Errorf("boltstore: subscription %q already exists: IDs must be unique", sub.ID)
		}
		if err := b.Put([]byte(sub.ID), val); err != nil {
			return err
		}
		return indexSub(tx, sub, true)
	}, func(c *subCache) { c.put(cached) })
}

// encodeSub returns sub as stored, and as decoded from that, which is what
// the cache keeps: exactly what reading the file would return.
func encodeSub(sub *webhook.Subscription) ([]byte, *webhook.Subscription, error) {
	val, err := json.Marshal(sub)
	if err != nil {
		return nil, nil, fmt.Errorf("boltstore: encode subscription %q: %w", sub.ID, err)
	}
	decoded, err := decodeSub(sub.ID, val)
	if err != nil {
		return nil, nil, err
	}
	return val, decoded, nil
}

// indexSub puts (or, when put is false, deletes) the index entries of sub:
// by tenant, by each exact event type, and among its tenant's subscriptions
// with patterns.
func indexSub(tx *bbolt.Tx, sub *webhook.Subscription, put bool) error {
	apply := func(b *bbolt.Bucket, key []byte) error {
		if put {
			return b.Put(key, nil)
		}
		return b.Delete(key)
	}
	tenant := prefixed(sub.Tenant)
	if err := apply(tx.Bucket(bucketSubsByTenant), join(tenant, []byte(sub.ID))); err != nil {
		return err
	}
	byType, patterns := tx.Bucket(bucketSubsByType), false
	for _, t := range sub.EventTypes {
		if strings.Contains(t, "*") {
			patterns = true
			continue
		}
		if err := apply(byType, join(tenant, prefixed(t), []byte(sub.ID))); err != nil {
			return err
		}
	}
	if patterns {
		return apply(tx.Bucket(bucketSubsPatterns), join(tenant, []byte(sub.ID)))
	}
	return nil
}

// SubscriptionGet returns the subscription with the given ID, read-only.
func (s *Store) SubscriptionGet(ctx context.Context, id string) (*webhook.Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.writes.isClosed() {
		return nil, ErrClosed
	}
	c, err := s.subs()
	if err != nil {
		return nil, err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	sub, ok := c.byID[id]
	if !ok {
		return nil, notFound("subscription", id)
	}
	return sub, nil // read-only: the cache replaces it, never changes it
}

func getSub(tx *bbolt.Tx, id string) (*webhook.Subscription, error) {
	raw := tx.Bucket(bucketSubs).Get([]byte(id))
	if raw == nil {
		return nil, notFound("subscription", id)
	}
	return decodeSub(id, raw)
}

func decodeSub(id string, raw []byte) (*webhook.Subscription, error) {
	var sub webhook.Subscription
	if err := json.Unmarshal(raw, &sub); err != nil {
		return nil, fmt.Errorf("boltstore: decode subscription %q: %w", id, err)
	}
	return &sub, nil
}

// SubscriptionList returns the subscriptions that pass p, in ascending ID
// order. With p.Tenant set it reads only that tenant's subscriptions; it
// starts reading after p.After.
func (s *Store) SubscriptionList(ctx context.Context, p webhook.SubscriptionListParams) ([]*webhook.Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []*webhook.Subscription
	err := s.view(func(tx *bbolt.Tx) error {
		// keep collects sub if it passes p and reports whether to go on.
		keep := func(sub *webhook.Subscription) bool {
			if p.Keep(sub) {
				out = append(out, sub)
			}
			return p.Limit <= 0 || len(out) < p.Limit
		}
		if p.Tenant != "" {
			return scanTenant(tx, p.Tenant, p.After, keep)
		}
		c := tx.Bucket(bucketSubs).Cursor()
		k, v := seekAfter(c, nil, p.After)
		for ; k != nil; k, v = c.Next() {
			sub, err := decodeSub(string(k), v)
			if err != nil {
				return err
			}
			if !keep(sub) {
				break
			}
		}
		return nil
	})
	return out, err
}

// scanTenant calls fn for tenant's subscriptions with IDs after after, in
// ID order, until fn returns false.
func scanTenant(tx *bbolt.Tx, tenant, after string, fn func(*webhook.Subscription) bool) error {
	prefix := prefixed(tenant)
	c := tx.Bucket(bucketSubsByTenant).Cursor()
	for k, _ := seekAfter(c, prefix, after); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		sub, err := getSub(tx, string(k[len(prefix):]))
		if err != nil {
			return fmt.Errorf("boltstore: tenant index: %w", err)
		}
		if !fn(sub) {
			break
		}
	}
	return nil
}

// seekAfter positions c on the first key that starts with prefix and whose
// remainder is greater than after (any, when after is empty).
func seekAfter(c *bbolt.Cursor, prefix []byte, after string) ([]byte, []byte) {
	if after == "" {
		return c.Seek(prefix)
	}
	// The smallest key greater than prefix+after is prefix+after+"\x00".
	return c.Seek(join(prefix, []byte(after), []byte{0}))
}

// SubscriptionUpdate replaces the stored subscription with ID sub.ID.
func (s *Store) SubscriptionUpdate(ctx context.Context, sub *webhook.Subscription) error {
	val, cached, err := prepareSub(ctx, sub)
	if err != nil {
		return err
	}
	return s.writeSub(func(tx *bbolt.Tx) error {
		old, err := getSub(tx, sub.ID)
		if err != nil {
			return err
		}
		if err := indexSub(tx, old, false); err != nil {
			return err
		}
		if err := indexSub(tx, sub, true); err != nil {
			return err
		}
		return tx.Bucket(bucketSubs).Put([]byte(sub.ID), val)
	}, func(c *subCache) { c.put(cached) })
}

// SubscriptionDelete removes a subscription and cancels its pending
// deliveries in the same transaction. A cancelled delivery loses its lease,
// so a worker holding it gets webhook.ErrLeaseLost when it reports back.
func (s *Store) SubscriptionDelete(ctx context.Context, id string, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.writeSub(func(tx *bbolt.Tx) error {
		sub, err := getSub(tx, id)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketSubs).Delete([]byte(id)); err != nil {
			return err
		}
		if err := indexSub(tx, sub, false); err != nil {
			return err
		}
		if err := deleteFeed(tx, id); err != nil {
			return err
		}
		prefix := prefixed(id)
		var pending []*deliveryRecord
		c := tx.Bucket(bucketDlvBySub).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			r, err := getRecord(tx, string(k[len(prefix):]))
			if err != nil {
				return fmt.Errorf("boltstore: subscription index: %w", err)
			}
			if r.State == webhook.DeliveryPending {
				pending = append(pending, r)
			}
		}
		for _, r := range pending {
			old := *r
			r.State = webhook.DeliveryCanceled
			r.LastError = "subscription was deleted"
			r.UpdatedAt = now
			r.LeaseToken, r.LeasedUntil = "", time.Time{}
			if err := putRecord(tx, &old, r); err != nil {
				return err
			}
		}
		return nil
	}, func(c *subCache) { c.remove(id) })
}

// SubscriptionMatch returns the enabled subscriptions of tenant that match
// eventType, in ascending ID order. It reads the in-memory copy of the
// subscription indexes (see subCache): the tenant's subscriptions that name
// eventType exactly and those with a "*" pattern, not the others, without
// decoding anything.
func (s *Store) SubscriptionMatch(ctx context.Context, tenant, eventType string) ([]*webhook.Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.writes.isClosed() {
		return nil, ErrClosed
	}
	c, err := s.subs()
	if err != nil {
		return nil, err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.match(tenant, eventType), nil
}

func notFound(what, id string) error {
	return fmt.Errorf("boltstore: %s %q: %w", what, id, webhook.ErrNotFound)
}
