package boltstore

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"go.etcd.io/bbolt"

	"github.com/hooksmith/webhook"
)

// subCache holds every subscription decoded, indexed as the file indexes
// them, so that SubscriptionMatch (every Publish) and SubscriptionGet
// (every delivery) decode no JSON. It can do so because the Store is the
// only writer of the file: bbolt locks the file to one process, and New's
// caller promises that nothing else writes the database.
//
// It is filled lazily, on first use, from a read transaction. Subscription
// writes hold write across their transaction and the cache update that
// follows its commit, so the cache changes in commit order and never shows
// a write that was rolled back. Readers may see a subscription change a
// moment after its commit, as they could before the commit anyway.
type subCache struct {
	write sync.Mutex // serialises subscription writes and the load

	mu      sync.RWMutex
	loaded  bool // set once, under both write and mu
	byID    map[string]*webhook.Subscription
	tenants map[string]*tenantSubs
}

// tenantSubs indexes one tenant's subscriptions like bucketSubsByType and
// bucketSubsPatterns. Each list is sorted by ID and shares its values with
// subCache.byID, which are never mutated: a change replaces the value.
type tenantSubs struct {
	byType   map[string][]*webhook.Subscription // exact event type -> subscriptions naming it
	patterns []*webhook.Subscription            // subscriptions with a "*" pattern
}

// subs returns the loaded cache, loading it first if needed. The caller
// reads it under c.mu.RLock.
func (s *Store) subs() (*subCache, error) {
	c := &s.cache
	c.mu.RLock()
	loaded := c.loaded
	c.mu.RUnlock()
	if loaded {
		return c, nil
	}
	c.write.Lock()
	defer c.write.Unlock()
	if c.loaded { // loaded while we waited; only changed under write
		return c, nil
	}
	byID := make(map[string]*webhook.Subscription)
	tenants := make(map[string]*tenantSubs)
	err := s.view(func(tx *bbolt.Tx) error {
		// In ID order, so every list is built by appending.
		return tx.Bucket(bucketSubs).ForEach(func(k, v []byte) error {
			sub, err := decodeSub(string(k), v)
			if err != nil {
				return err
			}
			byID[sub.ID] = sub
			addSub(tenants, sub)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("boltstore: load subscriptions: %w", err)
	}
	c.mu.Lock()
	c.byID, c.tenants, c.loaded = byID, tenants, true
	c.mu.Unlock()
	return c, nil
}

// writeSub runs the write transaction fn of a subscription write and, once
// it committed, applies change to the cache, if loaded, with c.mu held.
func (s *Store) writeSub(fn func(tx *bbolt.Tx) error, change func(c *subCache)) error {
	c := &s.cache
	c.write.Lock()
	defer c.write.Unlock()
	if err := s.update(fn); err != nil {
		return err
	}
	if c.loaded {
		c.mu.Lock()
		change(c)
		c.mu.Unlock()
	}
	return nil
}

// put adds or replaces sub, which the cache keeps and nobody else holds.
func (c *subCache) put(sub *webhook.Subscription) {
	c.remove(sub.ID)
	c.byID[sub.ID] = sub
	addSub(c.tenants, sub)
}

// remove takes out the subscription with ID id, if cached.
func (c *subCache) remove(id string) {
	old, ok := c.byID[id]
	if !ok {
		return
	}
	delete(c.byID, id)
	t := c.tenants[old.Tenant]
	patterns := false
	for _, typ := range old.EventTypes {
		if strings.Contains(typ, "*") {
			patterns = true
			continue
		}
		if list := deleteByID(t.byType[typ], id); len(list) > 0 {
			t.byType[typ] = list
		} else {
			delete(t.byType, typ)
		}
	}
	if patterns {
		t.patterns = deleteByID(t.patterns, id)
	}
	if len(t.byType) == 0 && len(t.patterns) == 0 {
		delete(c.tenants, old.Tenant)
	}
}

// addSub indexes sub in tenants: by each exact type, or among the
// patterns.
func addSub(tenants map[string]*tenantSubs, sub *webhook.Subscription) {
	t := tenants[sub.Tenant]
	if t == nil {
		t = &tenantSubs{byType: make(map[string][]*webhook.Subscription)}
		tenants[sub.Tenant] = t
	}
	patterns := false
	for _, typ := range sub.EventTypes {
		if strings.Contains(typ, "*") {
			patterns = true
			continue
		}
		t.byType[typ] = insertByID(t.byType[typ], sub)
	}
	if patterns {
		t.patterns = insertByID(t.patterns, sub)
	}
}

// match returns the enabled subscriptions of tenant that match eventType,
// in ascending ID order, read-only (webhook.Store ownership: the cache
// replaces a subscription, never changes it): it merges the lists of the
// exact type and of the patterns. The caller holds c.mu.
func (c *subCache) match(tenant, eventType string) []*webhook.Subscription {
	t := c.tenants[tenant]
	if t == nil {
		return nil
	}
	exact, patterns := t.byType[eventType], t.patterns
	var out []*webhook.Subscription
	take := func(sub *webhook.Subscription) {
		if !sub.Disabled && sub.Matches(eventType) {
			out = append(out, sub)
		}
	}
	for len(exact) > 0 || len(patterns) > 0 {
		switch {
		case len(patterns) == 0 || len(exact) > 0 && exact[0].ID < patterns[0].ID:
			take(exact[0])
			exact = exact[1:]
		case len(exact) == 0 || patterns[0].ID < exact[0].ID:
			take(patterns[0])
			patterns = patterns[1:]
		default: // in both lists
			take(exact[0])
			exact, patterns = exact[1:], patterns[1:]
		}
	}
	return out
}

func compareID(a *webhook.Subscription, id string) int { return strings.Compare(a.ID, id) }

// insertByID inserts sub in list, sorted by ID, replacing one with the same
// ID (a type named twice).
func insertByID(list []*webhook.Subscription, sub *webhook.Subscription) []*webhook.Subscription {
	i, found := slices.BinarySearchFunc(list, sub.ID, compareID)
	if found {
		list[i] = sub
		return list
	}
	return slices.Insert(list, i, sub)
}

// deleteByID removes the subscription with ID id from list, sorted by ID.
func deleteByID(list []*webhook.Subscription, id string) []*webhook.Subscription {
	if i, found := slices.BinarySearchFunc(list, id, compareID); found {
		return slices.Delete(list, i, i+1)
	}
	return list
}
