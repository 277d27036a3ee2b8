package boltstore

import (
	"bytes"
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.etcd.io/bbolt"

	"github.com/hooksmith/webhook"
)

// deliveryRecord is a delivery as stored: webhook.Delivery without its
// attempt log (stored apart, one key per attempt) but with its lease, which
// webhook.Delivery leaves out of JSON.
type deliveryRecord struct {
	ID             string                `json:"id"`
	EventID        string                `json:"eventId"`
	EventType      string                `json:"eventType"`
	SubscriptionID string                `json:"subscriptionId"`
	Tenant         string                `json:"tenant,omitempty"`
	State          webhook.DeliveryState `json:"state"`
	AttemptCount   int                   `json:"attemptCount"`
	NextAttemptAt  time.Time             `json:"nextAttemptAt"`
	LastError      string                `json:"lastError,omitempty"`
	CreatedAt      time.Time             `json:"createdAt"`
	UpdatedAt      time.Time             `json:"updatedAt"`
	LeaseToken     string                `json:"leaseToken,omitempty"`
	LeasedUntil    time.Time             `json:"leasedUntil"`
	// Attempts is the number of attempts logged in bucketAttempts.
	Attempts int `json:"attempts"`
}

func recordOf(d *webhook.Delivery) *deliveryRecord {
	return &deliveryRecord{
		ID: d.ID, EventID: d.EventID, EventType: d.EventType, SubscriptionID: d.SubscriptionID,
		Tenant: d.Tenant, State: d.State, AttemptCount: d.AttemptCount, NextAttemptAt: d.NextAttemptAt,
		LastError: d.LastError, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt,
		LeaseToken: d.LeaseToken, LeasedUntil: d.LeasedUntil, Attempts: len(d.Attempts),
	}
}

// delivery returns r as a webhook.Delivery without attempts.
func (r *deliveryRecord) delivery() *webhook.Delivery {
	return &webhook.Delivery{
		ID: r.ID, EventID: r.EventID, EventType: r.EventType, SubscriptionID: r.SubscriptionID,
		Tenant: r.Tenant, State: r.State, AttemptCount: r.AttemptCount, NextAttemptAt: r.NextAttemptAt,
		LastError: r.LastError, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		LeaseToken: r.LeaseToken, LeasedUntil: r.LeasedUntil,
	}
}

// dueAt is when a pending delivery becomes claimable: the later of its
// scheduled time and the end of its lease.
func (r *deliveryRecord) dueAt() time.Time {
	if r.LeasedUntil.After(r.NextAttemptAt) {
		return r.LeasedUntil
	}
	return r.NextAttemptAt
}

func getRecord(tx *bbolt.Tx, id string) (*deliveryRecord, error) {
	raw := tx.Bucket(bucketDeliveries).Get([]byte(id))
	if raw == nil {
		return nil, notFound("delivery", id)
	}
	var r deliveryRecord
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("boltstore: decode delivery %q: %w", id, err)
	}
	return &r, nil
}

// rewriting prepares, in the committer's transaction, for putRecord's
// changes to existing delivery records and to the due index: pages that
// appendPut would fill are split at bbolt's default instead, leaving room
// for records that grow.
func (c *committer) rewriting(tx *bbolt.Tx) {
	c.markMixed(tx.Bucket(bucketDeliveries), bucketDeliveries)
	c.markMixed(tx.Bucket(bucketDueBySub), bucketDueBySub)
}

// putRecord stores r and moves its entry in the due index: old is the
// record as stored before (nil for a new one).
func putRecord(tx *bbolt.Tx, old, r *deliveryRecord) error {
	val, err := encodeRecord(r)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketDeliveries).Put([]byte(r.ID), val); err != nil {
		return err
	}
	wasDue := old != nil && old.State == webhook.DeliveryPending
	isDue := r.State == webhook.DeliveryPending
	if !wasDue && !isDue {
		return nil
	}
	due := tx.Bucket(bucketDueBySub)
	if wasDue {
		if err := due.Delete(join(prefixed(old.SubscriptionID), dueKey(old.dueAt(), old.ID))); err != nil {
			return err
		}
	}
	if isDue {
		if err := due.Put(join(prefixed(r.SubscriptionID), dueKey(r.dueAt(), r.ID)), nil); err != nil {
			return err
		}
	}
	if wasDue && old.SubscriptionID != r.SubscriptionID {
		if err := refreshHead(tx, old.SubscriptionID); err != nil {
			return err
		}
	}
	return refreshHead(tx, r.SubscriptionID)
}

// refreshHead makes the entry of subscription sub in bucketDueHeads its
// first pending delivery in bucketDueBySub, or removes it when there is
// none.
func refreshHead(tx *bbolt.Tx, sub string) error {
	prefix := prefixed(sub)
	var head []byte
	if k, _ := tx.Bucket(bucketDueBySub).Cursor().Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) {
		head = bytes.Clone(k[len(prefix):])
	}
	headOf := tx.Bucket(bucketDueHeadOf)
	old := bytes.Clone(headOf.Get([]byte(sub)))
	if bytes.Equal(old, head) {
		return nil
	}
	heads := tx.Bucket(bucketDueHeads)
	if old != nil {
		if err := heads.Delete(old); err != nil {
			return err
		}
	}
	if head == nil {
		return headOf.Delete([]byte(sub))
	}
	if err := heads.Put(head, []byte(sub)); err != nil {
		return err
	}
	return headOf.Put([]byte(sub), head)
}

// attempts reads the attempt log of delivery id.
func attempts(tx *bbolt.Tx, id string) ([]webhook.Attempt, error) {
	prefix := prefixed(id)
	var out []webhook.Attempt
	c := tx.Bucket(bucketAttempts).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var a webhook.Attempt
		if err := json.Unmarshal(v, &a); err != nil {
			return nil, fmt.Errorf("boltstore: decode attempt of delivery %q: %w", id, err)
		}
		out = append(out, a)
	}
	return out, nil
}

func putAttempt(tx *bbolt.Tx, id string, a webhook.Attempt) error {
	val, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("boltstore: encode attempt of delivery %q: %w", id, err)
	}
	return tx.Bucket(bucketAttempts).Put(attemptKey(id, a.Number), val)
}

// EventInsert stores e, its deliveries and its pull feed entries in one
// transaction, shared with concurrent callers by group commit (see the
// package documentation). When an event with the same ID exists, or a
// delivery ID is already stored, it stores nothing; the first case wraps
// webhook.ErrEventExists. Feed sequences are assigned inside the
// transaction. It returns once the transaction is committed (and synced,
// unless NoSync is set). e.Data is stored as given, without being checked
// again: it must be valid JSON, as Dispatcher.Publish ensures.
func (s *Store) EventInsert(ctx context.Context, e *webhook.Event, deliveries []*webhook.Delivery, feed []*webhook.FeedEntry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ids := []string{e.ID}
	for _, d := range deliveries {
		ids = append(ids, d.ID, d.SubscriptionID, d.EventID)
	}
	for _, fe := range feed {
		ids = append(ids, fe.SubscriptionID)
	}
	if err := checkIDs("event "+e.ID, ids...); err != nil {
		return err
	}
	// Encode outside the transaction: the writer lock is the bottleneck.
	record, err := encodeEvent(e)
	if err != nil {
		return err
	}
	type encoded struct {
		r        *deliveryRecord
		val      []byte
		attempts []webhook.Attempt
	}
	recs := make([]encoded, len(deliveries))
	dlvIDs := make([]string, len(deliveries))
	for i, d := range deliveries {
		r := recordOf(d)
		val, err := encodeRecord(r)
		if err != nil {
			return err
		}
		recs[i] = encoded{r: r, val: val, attempts: d.Attempts}
		dlvIDs[i] = d.ID
	}
	eventVal := eventValue(record, dlvIDs)
	eventKey := []byte(e.ID)
	timeIdx := append(timeKey(e.Timestamp), e.ID...)
	return s.writes.do(ctx, func(tx *bbolt.Tx) error {
		events := tx.Bucket(bucketEvents)
		if events.Get(eventKey) != nil {
			return rejection{fmt.Errorf("boltstore: event %q: %w", e.ID, webhook.ErrEventExists)}
		}
		dlvs := tx.Bucket(bucketDeliveries)
		for i, rec := range recs {
			if dlvs.Get([]byte(rec.r.ID)) != nil {
				return rejection{fmt.Errorf("boltstore: event %q: delivery %q already exists: delivery IDs must be unique", e.ID, rec.r.ID)}
			}
			for _, o := range recs[:i] {
				if o.r.ID == rec.r.ID {
					return rejection{fmt.Errorf("boltstore: event %q: delivery %q given twice: delivery IDs must be unique", e.ID, rec.r.ID)}
				}
			}
		}
		w := s.writes
		if err := w.appendPut(events, bucketEvents, eventKey, eventVal, fillFull); err != nil {
			return err
		}
		if err := w.appendPut(tx.Bucket(bucketEventsByTime), bucketEventsByTime, timeIdx, nil, fillFull); err != nil {
			return err
		}
		bySub, due := tx.Bucket(bucketDlvBySub), tx.Bucket(bucketDueBySub)
		subs := make(map[string]bool, 1)
		for _, rec := range recs {
			r := rec.r
			if err := w.appendPut(dlvs, bucketDeliveries, []byte(r.ID), rec.val, fillGrowable); err != nil {
				return err
			}
			if err := w.appendPut(bySub, bucketDlvBySub, append(prefixed(r.SubscriptionID), r.ID...), nil, fillFull); err != nil {
				return err
			}
			if r.State == webhook.DeliveryPending {
				if err := w.appendPut(due, bucketDueBySub, join(prefixed(r.SubscriptionID), dueKey(r.dueAt(), r.ID)), nil, fillFull); err != nil {
					return err
				}
				subs[r.SubscriptionID] = true
			}
			for i, a := range rec.attempts {
				a.Number = i + 1
				if err := putAttempt(tx, r.ID, a); err != nil {
					return err
				}
			}
		}
		for sub := range subs {
			if err := refreshHead(tx, sub); err != nil {
				return err
			}
		}
		return appendFeed(w, tx, e.ID, feed)
	})
}

// eventRecord is a webhook.Event as json.Marshal encodes it, but for Data:
// its own Data field, always nil and so omitted, hides Event.Data, which
// encodeEvent writes after the rest as it is.
type eventRecord struct {
	*webhook.Event
	Data json.RawMessage `json:"data,omitempty"`
}

// encodeEvent returns e's record as stored: the JSON object json.Marshal(e) would
// give, with e.Data written as given rather than compacted and re-validated
// (json.Marshal scans and copies it, the largest cost of EventInsert with
// events of a kilobyte). Dispatcher.Publish has validated Data as JSON; an
// empty Data is written as null, as json.Marshal does. The record decodes
// into a webhook.Event as before, and EventGet and FeedRead return Data
// byte for byte as it was published. eventValue puts the event's delivery
// list before it.
func encodeEvent(e *webhook.Event) ([]byte, error) {
	head, err := json.Marshal(eventRecord{Event: e})
	if err != nil {
		return nil, fmt.Errorf("boltstore: encode event %q: %w", e.ID, err)
	}
	data := []byte(e.Data)
	if len(data) == 0 {
		data = []byte("null")
	}
	out := make([]byte, 0, len(head)+len(`,"data":`)+len(data))
	out = append(out, head[:len(head)-1]...)
	if len(head) > 2 {
		out = append(out, ',')
	}
	out = append(out, `"data":`...)
	out = append(out, data...)
	return append(out, '}'), nil
}

// EventGet returns the event with the given ID.
func (s *Store) EventGet(ctx context.Context, id string) (*webhook.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var e webhook.Event
	err := s.view(func(tx *bbolt.Tx) error {
		raw := tx.Bucket(bucketEvents).Get([]byte(id))
		if raw == nil {
			return notFound("event", id)
		}
		return decodeEvent(id, raw, &e)
	})
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// DeliveryClaim leases up to p.Limit due pending deliveries in one
// transaction, earliest effective due time (the later of NextAttemptAt and
// LeasedUntil) first, ties broken by ID. It merges the subscriptions' due
// queues (range scans of bucketDueBySub) in the order of their first
// entries (bucketDueHeads), reading only as far as it claims.
//
// It calls p.Exclude, when not nil, once for each candidate in that order,
// before considering the next one. A candidate for which Exclude returns
// false is claimed. When Exclude returns true, that candidate and every
// other delivery of the same subscription are skipped for the rest of this
// claim without asking again, so an excluded subscription's backlog is not
// read. Exclude may therefore keep count of what it let through, as the
// Dispatcher does to reserve per-subscription slots, as long as it keeps
// reporting a subscription once it did. It runs inside the write
// transaction and must not call the store. The claim shares a group
// commit with concurrent writes (see the package documentation).
func (s *Store) DeliveryClaim(ctx context.Context, p webhook.ClaimParams) ([]*webhook.Delivery, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []*webhook.Delivery
	err := s.writes.do(ctx, func(tx *bbolt.Tx) error {
		var err error
		out, err = s.writes.applyClaim(tx, p, out[:0]) // out[:0] in case the group is retried
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// applyClaim is DeliveryClaim's share of a group commit: it leases the
// deliveries p claims and appends them to out. Only apply functions may
// call it.
func (c *committer) applyClaim(tx *bbolt.Tx, p webhook.ClaimParams, out []*webhook.Delivery) ([]*webhook.Delivery, error) {
	picked := pickDue(tx, p)
	if len(picked) > 0 {
		c.rewriting(tx)
	}
	// Write after the scan: a cursor must not see its bucket change.
	for _, id := range picked {
		r, err := getRecord(tx, id)
		if err != nil {
			return nil, fmt.Errorf("boltstore: due index: %w", err)
		}
		old := *r
		r.LeaseToken, r.LeasedUntil = p.LeaseToken, p.LeasedUntil
		if err := putRecord(tx, &old, r); err != nil {
			return nil, err
		}
		out = append(out, r.delivery())
	}
	return out, nil
}

// subCursor walks one subscription's due queue during a claim.
type subCursor struct {
	sub    string
	prefix []byte
	key    []byte // current entry: dueKey, without prefix
	c      *bbolt.Cursor
}

// cursorHeap orders subCursors by their current entries.
type cursorHeap []*subCursor

func (h cursorHeap) Len() int           { return len(h) }
func (h cursorHeap) Less(i, j int) bool { return bytes.Compare(h[i].key, h[j].key) < 0 }
func (h cursorHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *cursorHeap) Push(x any)        { *h = append(*h, x.(*subCursor)) }
func (h *cursorHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}

// pickDue returns the IDs of the deliveries DeliveryClaim claims, in order.
func pickDue(tx *bbolt.Tx, p webhook.ClaimParams) []string {
	end := timeKey(p.Now)
	dueBySub := tx.Bucket(bucketDueBySub)
	heads := tx.Bucket(bucketDueHeads).Cursor()
	hk, hv := heads.First()
	var (
		h      cursorHeap
		picked []string
	)
	for len(picked) < p.Limit {
		// Admit the subscriptions whose first entry comes before the
		// current candidate; heads beyond now are not due.
		for hk != nil && (h.Len() == 0 || bytes.Compare(hk, h[0].key) < 0) {
			if bytes.Compare(hk[:8], end) > 0 {
				hk = nil
				break
			}
			heap.Push(&h, &subCursor{sub: string(hv), prefix: prefixed(string(hv)), key: bytes.Clone(hk)})
			hk, hv = heads.Next()
		}
		if h.Len() == 0 {
			break
		}
		top := h[0]
		if bytes.Compare(top.key[:8], end) > 0 {
			break
		}
		if p.Exclude != nil && p.Exclude(top.sub) {
			heap.Pop(&h)
			continue
		}
		picked = append(picked, string(top.key[8:]))
		if top.c == nil {
			top.c = dueBySub.Cursor()
			top.c.Seek(join(top.prefix, top.key))
		}
		if k, _ := top.c.Next(); k != nil && bytes.HasPrefix(k, top.prefix) {
			top.key = bytes.Clone(k[len(top.prefix):])
			heap.Fix(&h, 0)
		} else {
			heap.Pop(&h)
		}
	}
	return picked
}

// DeliveryNextDue returns the earliest effective due time of a pending
// delivery whose subscription exclude does not report: the first entry of
// bucketDueHeads that exclude lets through. Exclude is called once per
// subscription at most.
func (s *Store) DeliveryNextDue(ctx context.Context, exclude func(subscriptionID string) bool) (time.Time, bool, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, false, err
	}
	var (
		next time.Time
		ok   bool
	)
	err := s.view(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketDueHeads).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if exclude == nil || !exclude(string(v)) {
				next, ok = keyTime(k), true
				return nil
			}
		}
		return nil
	})
	return next, ok, err
}

// leased returns delivery id if it is leased with token. When it is not,
// or does not exist, the error is a rejection wrapping ErrLeaseLost or
// ErrNotFound; a record that cannot be decoded is an error of its own.
func leased(tx *bbolt.Tx, id, token string) (*deliveryRecord, error) {
	r, err := getRecord(tx, id)
	if errors.Is(err, webhook.ErrNotFound) {
		return nil, rejection{err}
	}
	if err != nil {
		return nil, err
	}
	if token == "" || r.LeaseToken != token {
		return nil, rejection{fmt.Errorf("boltstore: delivery %q: %w", id, webhook.ErrLeaseLost)}
	}
	return r, nil
}

// DeliveryUpdate records the outcome of a leased delivery in one
// transaction, shared by group commit with concurrent writes; see
// webhook.Store. The attempt, when given, is numbered one more than the
// attempts already logged.
func (s *Store) DeliveryUpdate(ctx context.Context, u webhook.DeliveryUpdate) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.writes.do(ctx, func(tx *bbolt.Tx) error {
		return s.writes.applyUpdate(tx, u)
	})
}

// applyUpdate is DeliveryUpdate's share of a group commit. When the
// delivery is not leased with u.LeaseToken, it returns a rejection before
// changing anything. Only apply functions may call it.
func (c *committer) applyUpdate(tx *bbolt.Tx, u webhook.DeliveryUpdate) error {
	r, err := leased(tx, u.DeliveryID, u.LeaseToken)
	if err != nil {
		return err
	}
	c.rewriting(tx)
	old := *r
	if u.Attempt != nil {
		a := *u.Attempt
		r.Attempts++
		a.Number = r.Attempts
		if err := putAttempt(tx, r.ID, a); err != nil {
			return err
		}
	}
	r.State = u.State
	r.AttemptCount = u.AttemptCount
	r.NextAttemptAt = u.NextAttemptAt
	r.LastError = u.LastError
	r.UpdatedAt = u.UpdatedAt
	r.LeaseToken, r.LeasedUntil = "", time.Time{}
	return putRecord(tx, &old, r)
}

// DeliveryUpdateClaim is DeliveryUpdate then DeliveryClaim in one write of
// the group commit, so one transaction and one fsync; see
// webhook.DeliveryUpdateClaimer. The claim reads the records the update
// wrote. A rejected update (ErrLeaseLost, ErrNotFound) changes nothing and
// does not abort the transaction: the claim is made all the same, and the
// claimed deliveries are returned with the rejection.
func (s *Store) DeliveryUpdateClaim(ctx context.Context, u webhook.DeliveryUpdate, p webhook.ClaimParams) ([]*webhook.Delivery, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var (
		out      []*webhook.Delivery
		rejected error
	)
	err := s.writes.do(ctx, func(tx *bbolt.Tx) error {
		out, rejected = out[:0], nil // in case the group is retried
		var r rejection
		if err := s.writes.applyUpdate(tx, u); errors.As(err, &r) {
			rejected = r.err
		} else if err != nil {
			return err
		}
		var err error
		out, err = s.writes.applyClaim(tx, p, out)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, rejected
}

// DeliveryRelease clears a lease so the delivery is claimable again at its
// NextAttemptAt.
func (s *Store) DeliveryRelease(ctx context.Context, id, leaseToken string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.writes.do(ctx, func(tx *bbolt.Tx) error {
		r, err := leased(tx, id, leaseToken)
		if err != nil {
			return err
		}
		s.writes.rewriting(tx)
		old := *r
		r.LeaseToken, r.LeasedUntil = "", time.Time{}
		return putRecord(tx, &old, r)
	})
}

// DeliveryGet returns a delivery with its attempts.
func (s *Store) DeliveryGet(ctx context.Context, id string) (*webhook.Delivery, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var d *webhook.Delivery
	err := s.view(func(tx *bbolt.Tx) error {
		var err error
		d, err = getDelivery(tx, id)
		return err
	})
	return d, err
}

func getDelivery(tx *bbolt.Tx, id string) (*webhook.Delivery, error) {
	r, err := getRecord(tx, id)
	if err != nil {
		return nil, err
	}
	d := r.delivery()
	if r.Attempts > 0 {
		if d.Attempts, err = attempts(tx, id); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// DeliveryList returns the deliveries that pass p, with their attempts, in
// ascending ID order. With p.EventID set it reads the event's delivery
// list, with p.SubscriptionID that index only; it starts reading after
// p.After.
func (s *Store) DeliveryList(ctx context.Context, p webhook.DeliveryListParams) ([]*webhook.Delivery, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []*webhook.Delivery
	err := s.view(func(tx *bbolt.Tx) error {
		out = nil
		// add appends delivery id if it passes p, and reports whether
		// to read on.
		add := func(id string) (bool, error) {
			if p.Limit > 0 && len(out) >= p.Limit {
				return false, nil
			}
			r, err := getRecord(tx, id)
			if err != nil {
				return false, err
			}
			d := r.delivery()
			if !p.Keep(d) {
				return true, nil // without reading its attempts
			}
			if r.Attempts > 0 {
				if d.Attempts, err = attempts(tx, id); err != nil {
					return false, err
				}
			}
			out = append(out, d)
			return true, nil
		}
		if p.EventID != "" {
			ids, err := eventDeliveries(tx, p.EventID, tx.Bucket(bucketEvents).Get([]byte(p.EventID)))
			if err != nil {
				return err
			}
			i, _ := slices.BinarySearch(ids, p.After)
			for _, id := range ids[i:] {
				if p.After != "" && id == p.After {
					continue
				}
				if more, err := add(id); !more || err != nil {
					return err
				}
			}
			return nil
		}
		var (
			c      *bbolt.Cursor
			prefix []byte
		)
		if p.SubscriptionID != "" {
			c, prefix = tx.Bucket(bucketDlvBySub).Cursor(), prefixed(p.SubscriptionID)
		} else {
			c = tx.Bucket(bucketDeliveries).Cursor()
		}
		for k, _ := seekAfter(c, prefix, p.After); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			if more, err := add(string(k[len(prefix):])); !more || err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// DeliveryReset makes a delivery that is not pending due again at now; see
// webhook.Store.
func (s *Store) DeliveryReset(ctx context.Context, id string, now time.Time) (*webhook.Delivery, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var d *webhook.Delivery
	err := s.update(func(tx *bbolt.Tx) error {
		r, err := getRecord(tx, id)
		if err != nil {
			return err
		}
		if r.State == webhook.DeliveryPending {
			return fmt.Errorf("boltstore: delivery %q: %w", id, webhook.ErrDeliveryPending)
		}
		old := *r
		r.State = webhook.DeliveryPending
		r.AttemptCount = 0
		r.NextAttemptAt = now
		r.UpdatedAt = now
		r.LeaseToken, r.LeasedUntil = "", time.Time{}
		if err := putRecord(tx, &old, r); err != nil {
			return err
		}
		d, err = getDelivery(tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}
