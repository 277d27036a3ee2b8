// Package storetest is the conformance suite for webhook.Store
// implementations. A backend is correct when it passes the same suite as
// every other:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) webhook.Store { return mystore.New() })
//	}
//
// Each rule written in the doc comments of webhook.Store is checked by a
// subtest of its own, on a fresh store, with fixed times passed in (never the
// wall clock), so the suite is deterministic and needs no sleeps.
//
// The suite also pins down what those comments leave open, as memstore and
// boltstore do it and the Dispatcher relies on:
//
//   - Claims take deliveries by effective due time, the later of
//     NextAttemptAt and LeasedUntil (a delivery whose lease expired is due
//     when the lease ended), then by ID.
//   - ClaimParams.Exclude is called once per candidate, in that order, and
//     a candidate it lets through (false) is claimed at once, so Exclude can
//     count reservations. Once it reports a subscription (true), the rest
//     of that subscription's deliveries are skipped for that claim without
//     asking again. DeliveryNextDue asks at most once per subscription.
//   - A lease ends with DeliveryUpdate, DeliveryRelease and the
//     cancellation by SubscriptionDelete: its token is refused afterwards
//     with ErrLeaseLost.
//   - EventInsert refuses a delivery ID that is already stored, storing
//     nothing (no feed entry either).
//   - Pull feeds (feed.go): MaxBytes counts len(Event.Data) and keeps an
//     entry only while the sum stays at or below it; an entry published
//     exactly at FeedReadParams.Since is retained; concurrent EventInserts
//     never let a reader see an entry before the ones preceding it.
//   - EventList orders by Timestamp then ID, and a cursor position need
//     not be a stored event.
//   - A store that implements webhook.DeliveryUpdateClaimer is checked
//     against it too (updateclaim.go): the claim follows the rules of
//     DeliveryClaim above and sees the state the update left; a rejected
//     update changes nothing, and the claim is still made and returned
//     with the rejection.
//
// Times read back are compared with time.Time.Equal semantics (they are
// converted to UTC first), so a backend may drop monotonic readings and
// locations, but must keep nanoseconds.
package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooksmith/webhook"
)

// Run runs the conformance suite as subtests of t. newStore is called once
// per subtest and must return an empty store; it may register cleanups with
// t.Cleanup (closing a database, for example). Run also calls it once with
// t itself, to learn whether the stores implement the optional interfaces
// that some subtests check.
func Run(t *testing.T, newStore func(t *testing.T) webhook.Store) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, s webhook.Store)
	}{
		{"SubscriptionInsertGet", testSubscriptionInsertGet},
		{"SubscriptionUpdate", testSubscriptionUpdate},
		{"SubscriptionDelete", testSubscriptionDelete},
		{"SubscriptionListFilters", testSubscriptionListFilters},
		{"SubscriptionListPaging", testSubscriptionListPaging},
		{"SubscriptionMatch", testSubscriptionMatch},
		{"SubscriptionMatchAfterChanges", testSubscriptionMatchAfterChanges},
		{"SubscriptionCopies", testSubscriptionCopies},
		{"EventInsertGet", testEventInsertGet},
		{"EventInsertDuplicate", testEventInsertDuplicate},
		{"EventInsertDuplicateDelivery", testEventInsertDuplicateDelivery},
		{"EventAndDeliveryCopies", testEventAndDeliveryCopies},
		{"ClaimOrder", testClaimOrder},
		{"ClaimLimit", testClaimLimit},
		{"ClaimLease", testClaimLease},
		{"ClaimSkipsFinished", testClaimSkipsFinished},
		{"ClaimExclude", testClaimExclude},
		{"ClaimExcludeReserve", testClaimExcludeReserve},
		{"ClaimExcludeBacklog", testClaimExcludeBacklog},
		{"NextDue", testNextDue},
		{"DeliveryUpdate", testDeliveryUpdate},
		{"DeliveryUpdateLeaseLost", testDeliveryUpdateLeaseLost},
		{"DeliveryRelease", testDeliveryRelease},
		{"DeliveryGetList", testDeliveryGetList},
		{"DeliveryListPaging", testDeliveryListPaging},
		{"DeliveryListPagingAcrossEvents", testDeliveryListPagingAcrossEvents},
		{"DeliveryReset", testDeliveryReset},
		{"SubscriptionDeleteCancels", testSubscriptionDeleteCancels},
		{"ConcurrentClaims", testConcurrentClaims},
		{"FeedAppendRead", testFeedAppendRead},
		{"FeedMaxBytes", testFeedMaxBytes},
		{"FeedRetention", testFeedRetention},
		{"FeedPublishedAtNeverDecreases", testFeedPublishedAtNeverDecreases},
		{"FeedCommit", testFeedCommit},
		{"FeedDuplicateEvent", testFeedDuplicateEvent},
		{"FeedSubscriptionGone", testFeedSubscriptionGone},
		{"FeedConcurrent", testFeedConcurrent},
		{"EventList", testEventList},
		{"DeliveryListTimeRange", testDeliveryListTimeRange},
	}
	if _, ok := newStore(t).(webhook.DeliveryUpdateClaimer); ok {
		tests = append(tests, updateClaimTests...)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			require.NotNil(t, s, "newStore returned nil")
			tt.run(t, s)
		})
	}
}

// t0 is the suite's "now"; every time is relative to it.
var t0 = time.Date(2030, time.March, 4, 12, 0, 0, 0, time.UTC)

func newSub(id, tenant string, types ...string) *webhook.Subscription {
	return &webhook.Subscription{
		ID:          id,
		Tenant:      tenant,
		Name:        "name of " + id,
		Description: "description",
		URL:         "https://example.com/hooks/" + id,
		Method:      "POST",
		EventTypes:  types,
		Secret:      "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		Headers:     map[string]string{"X-Team": "billing"},
		Metadata:    map[string]string{"owner": id},
		CreatedAt:   t0.Add(-time.Hour),
		UpdatedAt:   t0.Add(-time.Hour),
	}
}

func newEvent(id, tenant, typ string) *webhook.Event {
	return &webhook.Event{
		ID:        id,
		Type:      typ,
		Tenant:    tenant,
		Timestamp: t0.Add(-time.Minute),
		Data:      []byte(`{"amount":42}`),
		Metadata:  map[string]string{"actor": "alice"},
	}
}

func newDelivery(id, eventID, subID, tenant string, due time.Time) *webhook.Delivery {
	return &webhook.Delivery{
		ID:             id,
		EventID:        eventID,
		EventType:      "invoice.paid",
		SubscriptionID: subID,
		Tenant:         tenant,
		State:          webhook.DeliveryPending,
		NextAttemptAt:  due,
		CreatedAt:      t0.Add(-time.Minute),
		UpdatedAt:      t0.Add(-time.Minute),
	}
}

// insertSubs stores subs or fails the test.
func insertSubs(t *testing.T, s webhook.Store, subs ...*webhook.Subscription) {
	t.Helper()
	for _, sub := range subs {
		require.NoError(t, s.SubscriptionInsert(t.Context(), sub))
	}
}

// publish stores an event with ID eventID and the given deliveries.
func publish(t *testing.T, s webhook.Store, eventID string, ds ...*webhook.Delivery) {
	t.Helper()
	require.NoError(t, s.EventInsert(t.Context(), newEvent(eventID, "", "invoice.paid"), ds, nil))
}

// pendingAt stores one event per delivery, each due at the given time; IDs
// are d1, d2, ... for subscription "sub".
func pendingAt(t *testing.T, s webhook.Store, dues ...time.Time) {
	t.Helper()
	for i, due := range dues {
		id := fmt.Sprintf("d%d", i+1)
		publish(t, s, "e-"+id, newDelivery(id, "e-"+id, "sub", "", due))
	}
}

func claim(t *testing.T, s webhook.Store, now time.Time, limit int, token string) []*webhook.Delivery {
	t.Helper()
	ds, err := s.DeliveryClaim(t.Context(), webhook.ClaimParams{
		Now:         now,
		Limit:       limit,
		LeaseToken:  token,
		LeasedUntil: now.Add(time.Minute),
	})
	require.NoError(t, err)
	return ds
}

func ids(ds []*webhook.Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

func subIDs(subs []*webhook.Subscription) []string {
	out := make([]string, len(subs))
	for i, s := range subs {
		out[i] = s.ID
	}
	return out
}

func getDelivery(t *testing.T, s webhook.Store, id string) *webhook.Delivery {
	t.Helper()
	d, err := s.DeliveryGet(t.Context(), id)
	require.NoError(t, err)
	return d
}

// utc returns copies with every time in UTC, so that structs compare by
// instant rather than by location.
func utcSub(s *webhook.Subscription) *webhook.Subscription {
	c := s.Clone()
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c
}

func utcEvent(e *webhook.Event) *webhook.Event {
	c := e.Clone()
	c.Timestamp = c.Timestamp.UTC()
	return c
}

func utcDelivery(d *webhook.Delivery) *webhook.Delivery {
	c := d.Clone()
	c.NextAttemptAt = c.NextAttemptAt.UTC()
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	c.LeasedUntil = c.LeasedUntil.UTC()
	for i := range c.Attempts {
		c.Attempts[i].StartedAt = c.Attempts[i].StartedAt.UTC()
	}
	if len(c.Attempts) == 0 {
		c.Attempts = nil
	}
	return c
}

func requireSub(t *testing.T, want, got *webhook.Subscription) {
	t.Helper()
	require.Equal(t, utcSub(want), utcSub(got))
}

func requireDelivery(t *testing.T, want, got *webhook.Delivery) {
	t.Helper()
	require.Equal(t, utcDelivery(want), utcDelivery(got))
}

func testSubscriptionInsertGet(t *testing.T, s webhook.Store) {
	ctx := t.Context()
	want := newSub("sub_1", "acme", "invoice.*")
	require.NoError(t, s.SubscriptionInsert(ctx, want))

	got, err := s.SubscriptionGet(ctx, "sub_1")
	require.NoError(t, err)
	requireSub(t, want, got)

	_, err = s.SubscriptionGet(ctx, "sub_missing")
	require.ErrorIs(t, err, webhook.ErrNotFound)
}

func testSubscriptionUpdate(t *testing.T, s webhook.Store) {
	ctx := t.Context()
	insertSubs(t, s, newSub("sub_1", "acme", "invoice.*"))

	upd := newSub("sub_1", "acme", "order.created", "order.paid")
	upd.URL = "https://example.org/other"
	upd.Disabled = true
	upd.Headers = nil
	upd.UpdatedAt = t0
	require.NoError(t, s.SubscriptionUpdate(ctx, upd))

	got, err := s.SubscriptionGet(ctx, "sub_1")
	require.NoError(t, err)
	requireSub(t, upd, got)

	err = s.SubscriptionUpdate(ctx, newSub("sub_missing", "acme", "*"))
	require.ErrorIs(t, err, webhook.ErrNotFound)
	_, err = s.SubscriptionGet(ctx, "sub_missing")
	require.ErrorIs(t, err, webhook.ErrNotFound, "updating a missing subscription must not create it")
}

func testSubscriptionDelete(t *testing.T, s webhook.Store) {
	ctx := t.Context()
	insertSubs(t, s, newSub("sub_1", "acme", "*"), newSub("sub_2", "acme", "*"))

	require.NoError(t, s.SubscriptionDelete(ctx, "sub_1", t0))
	_, err := s.SubscriptionGet(ctx, "sub_1")
	require.ErrorIs(t, err, webhook.ErrNotFound)
	_, err = s.SubscriptionGet(ctx, "sub_2")
	require.NoError(t, err)

	list, err := s.SubscriptionList(ctx, webhook.SubscriptionListParams{})
	require.NoError(t, err)
	require.Equal(t, []string{"sub_2"}, subIDs(list))
	match, err := s.SubscriptionMatch(ctx, "acme", "invoice.paid")
	require.NoError(t, err)
	require.Equal(t, []string{"sub_2"}, subIDs(match))

	require.ErrorIs(t, s.SubscriptionDelete(ctx, "sub_1", t0), webhook.ErrNotFound)
}

func testSubscriptionListFilters(t *testing.T, s webhook.Store) {
	disabled := newSub("sub_4", "acme", "*")
	disabled.Disabled = true
	// Inserted out of order: lists are in ascending ID order regardless.
	insertSubs(t, s,
		newSub("sub_3", "globex", "invoice.paid"),
		newSub("sub_1", "acme", "invoice.*"),
		disabled,
		newSub("sub_2", "acme", "order.created"),
		newSub("sub_5", "", "invoice.paid"),
	)
	yes, no := true, false
	tests := []struct {
		name string
		p    webhook.SubscriptionListParams
		want []string
	}{
		{"all", webhook.SubscriptionListParams{}, []string{"sub_1", "sub_2", "sub_3", "sub_4", "sub_5"}},
		{"tenant", webhook.SubscriptionListParams{Tenant: "acme"}, []string{"sub_1", "sub_2", "sub_4"}},
		{"unknown tenant", webhook.SubscriptionListParams{Tenant: "initech"}, nil},
		{"event type", webhook.SubscriptionListParams{EventType: "invoice.paid"}, []string{"sub_1", "sub_3", "sub_4", "sub_5"}},
		{"event type and tenant", webhook.SubscriptionListParams{Tenant: "acme", EventType: "order.created"}, []string{"sub_2", "sub_4"}},
		{"disabled", webhook.SubscriptionListParams{Disabled: &yes}, []string{"sub_4"}},
		{"enabled", webhook.SubscriptionListParams{Disabled: &no}, []string{"sub_1", "sub_2", "sub_3", "sub_5"}},
		{"enabled acme invoices", webhook.SubscriptionListParams{Tenant: "acme", EventType: "invoice.refunded", Disabled: &no}, []string{"sub_1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.SubscriptionList(t.Context(), tt.p)
			require.NoError(t, err)
			require.Equal(t, tt.want, nilIfEmpty(subIDs(got)))
		})
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func testSubscriptionListPaging(t *testing.T, s webhook.Store) {
	for i := 7; i >= 1; i-- {
		tenant := "acme"
		if i%2 == 0 {
			tenant = "globex"
		}
		insertSubs(t, s, newSub(fmt.Sprintf("sub_%d", i), tenant, "*"))
	}
	tests := []struct {
		name string
		p    webhook.SubscriptionListParams
		want []string
	}{
		{"first page", webhook.SubscriptionListParams{Limit: 3}, []string{"sub_1", "sub_2", "sub_3"}},
		{"second page", webhook.SubscriptionListParams{After: "sub_3", Limit: 3}, []string{"sub_4", "sub_5", "sub_6"}},
		{"last page", webhook.SubscriptionListParams{After: "sub_6", Limit: 3}, []string{"sub_7"}},
		{"past the end", webhook.SubscriptionListParams{After: "sub_7", Limit: 3}, nil},
		{"after an ID not stored", webhook.SubscriptionListParams{After: "sub_35"}, []string{"sub_4", "sub_5", "sub_6", "sub_7"}},
		{"limit counts filtered results", webhook.SubscriptionListParams{Tenant: "acme", Limit: 2}, []string{"sub_1", "sub_3"}},
		{"filtered second page", webhook.SubscriptionListParams{Tenant: "acme", After: "sub_3", Limit: 2}, []string{"sub_5", "sub_7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.SubscriptionList(t.Context(), tt.p)
			require.NoError(t, err)
			require.Equal(t, tt.want, nilIfEmpty(subIDs(got)))
		})
	}
}

func testSubscriptionMatch(t *testing.T, s webhook.Store) {
	disabled := newSub("sub_6", "acme", "*")
	disabled.Disabled = true
	insertSubs(t, s,
		newSub("sub_5", "acme", "invoice.paid"),
		newSub("sub_2", "acme", "invoice.*"),
		newSub("sub_3", "acme", "*"),
		newSub("sub_4", "acme", "order.created", "*.refunded"),
		disabled,
		newSub("sub_1", "globex", "*"),
		newSub("sub_7", "", "invoice.paid"),
	)
	tests := []struct {
		name, tenant, eventType string
		want                    []string
	}{
		{"exact, pattern and star", "acme", "invoice.paid", []string{"sub_2", "sub_3", "sub_5"}},
		{"pattern spans dots", "acme", "invoice.line.added", []string{"sub_2", "sub_3"}},
		{"second pattern of a list", "acme", "invoice.refunded", []string{"sub_2", "sub_3", "sub_4"}},
		{"only star", "acme", "user.created", []string{"sub_3"}},
		{"other tenant", "globex", "invoice.paid", []string{"sub_1"}},
		{"empty tenant is a tenant", "", "invoice.paid", []string{"sub_7"}},
		{"unknown tenant", "initech", "invoice.paid", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.SubscriptionMatch(t.Context(), tt.tenant, tt.eventType)
			require.NoError(t, err)
			require.Equal(t, tt.want, nilIfEmpty(subIDs(got)))
		})
	}
}

// testSubscriptionMatchAfterChanges checks that matching follows updates
// and deletes: whatever a backend indexes must be kept current.
func testSubscriptionMatchAfterChanges(t *testing.T, s webhook.Store) {
	ctx := t.Context()
	insertSubs(t, s, newSub("sub_1", "acme", "invoice.paid"), newSub("sub_2", "acme", "invoice.*"), newSub("sub_3", "acme", "invoice.paid"))
	match := func(tenant, eventType string) []string {
		t.Helper()
		got, err := s.SubscriptionMatch(ctx, tenant, eventType)
		require.NoError(t, err)
		return nilIfEmpty(subIDs(got))
	}
	require.Equal(t, []string{"sub_1", "sub_2", "sub_3"}, match("acme", "invoice.paid"))

	require.NoError(t, s.SubscriptionUpdate(ctx, newSub("sub_1", "acme", "order.created")))
	require.NoError(t, s.SubscriptionUpdate(ctx, newSub("sub_2", "acme", "order.created")))
	require.Equal(t, []string{"sub_3"}, match("acme", "invoice.paid"), "old types and patterns no longer match")
	require.Equal(t, []string{"sub_1", "sub_2"}, match("acme", "order.created"))

	require.NoError(t, s.SubscriptionUpdate(ctx, newSub("sub_1", "acme", "*")))
	require.Equal(t, []string{"sub_1", "sub_3"}, match("acme", "invoice.paid"), "an exact type became a pattern")

	disabled := newSub("sub_3", "acme", "invoice.paid")
	disabled.Disabled = true
	require.NoError(t, s.SubscriptionUpdate(ctx, disabled))
	require.Equal(t, []string{"sub_1"}, match("acme", "invoice.paid"), "disabled by an update")
	disabled.Disabled = false
	require.NoError(t, s.SubscriptionUpdate(ctx, disabled))
	require.Equal(t, []string{"sub_1", "sub_3"}, match("acme", "invoice.paid"), "enabled again")

	require.NoError(t, s.SubscriptionUpdate(ctx, newSub("sub_3", "globex", "invoice.paid")))
	require.Equal(t, []string{"sub_1"}, match("acme", "invoice.paid"), "moved to another tenant")
	require.Equal(t, []string{"sub_3"}, match("globex", "invoice.paid"))
	list, err := s.SubscriptionList(ctx, webhook.SubscriptionListParams{Tenant: "globex"})
	require.NoError(t, err)
	require.Equal(t, []string{"sub_3"}, subIDs(list))

	require.NoError(t, s.SubscriptionDelete(ctx, "sub_1", t0))
	require.NoError(t, s.SubscriptionDelete(ctx, "sub_3", t0))
	require.Nil(t, match("acme", "invoice.paid"))
	require.Nil(t, match("globex", "invoice.paid"))
	require.Equal(t, []string{"sub_2"}, match("acme", "order.created"))
}

// testSubscriptionCopies checks the ownership rules for subscriptions:
// what Insert and Update are given and what List returns are copies; what
// Get and Match return is read-only for the caller and never changed by
// the store afterwards.
func testSubscriptionCopies(t *testing.T, s webhook.Store) {
	ctx := t.Context()
	in := newSub("sub_1", "acme", "invoice.*")
	want := in.Clone()
	require.NoError(t, s.SubscriptionInsert(ctx, in))
	in.EventTypes[0] = "changed"
	in.Headers["X-Team"] = "changed"
	in.Metadata["new"] = "changed"
	in.URL = "https://changed.example"

	first, err := s.SubscriptionGet(ctx, "sub_1")
	require.NoError(t, err)
	requireSub(t, want, first)
	firstSnapshot := first.Clone()

	list, err := s.SubscriptionList(ctx, webhook.SubscriptionListParams{})
	require.NoError(t, err)
	require.Len(t, list, 1)
	requireSub(t, want, list[0])
	list[0].EventTypes[0] = "changed"
	list[0].Headers["X-Team"] = "changed"
	list[0].Metadata["owner"] = "changed"

	match, err := s.SubscriptionMatch(ctx, "acme", "invoice.paid")
	require.NoError(t, err)
	require.Len(t, match, 1)
	requireSub(t, want, match[0])
	matchSnapshot := match[0].Clone()

	upd := want.Clone()
	upd.Name = "renamed"
	upd.Headers["X-Team"] = "renamed"
	require.NoError(t, s.SubscriptionUpdate(ctx, upd))
	upd.Headers["X-Team"] = "changed after update"
	want.Name = "renamed"
	want.Headers["X-Team"] = "renamed"
	got, err := s.SubscriptionGet(ctx, "sub_1")
	require.NoError(t, err)
	requireSub(t, want, got)

	// Values returned read-only are never changed afterwards.
	requireSub(t, firstSnapshot, first)
	requireSub(t, matchSnapshot, match[0])
	require.NoError(t, s.SubscriptionDelete(ctx, "sub_1", t0))
	requireSub(t, firstSnapshot, first)
	requireSub(t, matchSnapshot, match[0])
}

func testEventInsertGet(t *testing.T, s webhook.Store) {
	ctx := t.Context()
	e := newEvent("evt_1", "acme", "invoice.paid")
	d1 := newDelivery("dlv_1", "evt_1", "sub_1", "acme", t0)
	d2 := newDelivery("dlv_2", "evt_1", "sub_2", "acme", t0)
	require.NoError(t, s.EventInsert(ctx, e, []*webhook.Delivery{d1, d2}, nil))

	got, err := s.EventGet(ctx, "evt_1")
	require.NoError(t, err)
	require.Equal(t, utcEvent(e), utcEvent(got))
	requireDelivery(t, d1, getDelivery(t, s, "dlv_1"))
	requireDelivery(t, d2, getDelivery(t, s, "dlv_2"))

	// An event without deliveries (nothing subscribed) is stored too.
	require.NoError(t, s.EventInsert(ctx, newEvent("evt_2", "acme", "user.created"), nil, nil))
	_, err = s.EventGet(ctx, "evt_2")
	require.NoError(t, err)

	_, err = s.EventGet(ctx, "evt_missing")
	require.ErrorIs(t, err, webhook.ErrNotFound)
	_, err = s.DeliveryGet(ctx, "dlv_missing")
	require.ErrorIs(t, err, webhook.ErrNotFound)
}

func testEventInsertDuplicate(t *testing.T, s webhook.Store) {
	ctx := t.Context()
	e := newEvent("evt_1", "acme", "invoice.paid")
	d1 := newDelivery("dlv_1", "evt_1", "sub_1", "acme", t0)
	require.NoError(t, s.EventInsert(ctx, e, []*webhook.Delivery{d1}, nil))

	again := newEvent("evt_1", "acme", "order.created")
	again.Data = []byte(`{"other":true}`)
	d2 := newDelivery("dlv_2", "evt_1", "sub_2", "acme", t0)
	err := s.EventInsert(ctx, again, []*webhook.Delivery{d2}, nil)
	require.ErrorIs(t, err, webhook.ErrEventExists)

	got, err := s.EventGet(ctx, "evt_1")
	require.NoError(t, err)
	require.Equal(t, utcEvent(e), utcEvent(got), "a duplicate must not replace the stored event")
	_, err = s.DeliveryGet(ctx, "dlv_2")
	require.ErrorIs(t, err, webhook.ErrNotFound, "a duplicate's deliveries must not be stored")
	list, err := s.DeliveryList(ctx, webhook.DeliveryListParams{EventID: "evt_1"})
	require.NoError(t, err)
	require.Equal(t, []string{"dlv_1"}, ids(list))
	require.Equal(t, []string{"dlv_1"}, ids(claim(t, s, t0, 10, "lease_1")), "a duplicate's deliveries must not be claimable")

	// With newer IDs stored, the last of them not the greatest, duplicates
	// of the greatest and of an older one: a store that spares the lookup
	// for IDs newer than all it holds (the Dispatcher's grow with time)
	// must still find both.
	for _, id := range []string{"evt_9", "evt_5"} {
		require.NoError(t, s.EventInsert(ctx, newEvent(id, "acme", "invoice.paid"), nil, nil))
	}
	for _, id := range []string{"evt_9", "evt_1"} {
		dup := newEvent(id, "acme", "order.created")
		err := s.EventInsert(ctx, dup, []*webhook.Delivery{newDelivery("dlv_3", id, "sub_2", "acme", t0)}, nil)
		require.ErrorIs(t, err, webhook.ErrEventExists, id)
	}
	_, err = s.DeliveryGet(ctx, "dlv_3")
	require.ErrorIs(t, err, webhook.ErrNotFound, "a duplicate's deliveries must not be stored")
}

func testEventInsertDuplicateDelivery(t *testing.T, s webhook.Store) {
	ctx := t.Context()
	publish(t, s, "evt_1", newDelivery("dlv_1", "evt_1", "sub_1", "", t0))
	publish(t, s, "evt_9", newDelivery("dlv_9", "evt_9", "sub_1", "", t0))
	publish(t, s, "evt_5", newDelivery("dlv_5", "evt_5", "sub_1", "", t0))
	tests := []struct {
		name string
		ds   []*webhook.Delivery
	}{
		// The greatest ID stored (not the last) and an older one (see
		// testEventInsertDuplicate).
		{"greatest ID stored", []*webhook.Delivery{newDelivery("dlv_2", "evt_2", "sub_2", "", t0), newDelivery("dlv_9", "evt_2", "sub_2", "", t0)}},
		{"ID already stored", []*webhook.Delivery{newDelivery("dlv_2", "evt_2", "sub_2", "", t0), newDelivery("dlv_1", "evt_2", "sub_2", "", t0)}},
		{"ID given twice", []*webhook.Delivery{newDelivery("dlv_2", "evt_2", "sub_2", "", t0), newDelivery("dlv_2", "evt_2", "sub_3", "", t0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.EventInsert(ctx, newEvent("evt_2", "", "invoice.paid"), tt.ds, nil)
			require.Error(t, err)
			require.NotErrorIs(t, err, webhook.ErrEventExists, "the event itself is new")
			_, err = s.EventGet(ctx, "evt_2")
			require.ErrorIs(t, err, webhook.ErrNotFound, "nothing is stored")
			_, err = s.DeliveryGet(ctx, "dlv_2")
			require.ErrorIs(t, err, webhook.ErrNotFound, "nothing is stored")
			require.Equal(t, "evt_1", getDelivery(t, s, "dlv_1").EventID, "the stored deliveries are untouched")
			require.Equal(t, "evt_9", getDelivery(t, s, "dlv_9").EventID, "the stored deliveries are untouched")
		})
	}
	require.Equal(t, []string{"dlv_1", "dlv_5", "dlv_9"}, ids(claim(t, s, t0, 10, "lease_1")))
}

// testEventAndDeliveryCopies checks the ownership rules for events and
// deliveries: what EventGet returns is read-only and never changed by the
// store afterwards; claims, DeliveryGet and DeliveryList return copies.
// (What EventInsert is given becomes the store's: nothing to check.)
func testEventAndDeliveryCopies(t *testing.T, s webhook.Store) {
	ctx := t.Context()
	e := newEvent("evt_1", "acme", "invoice.paid")
	wantEvent := e.Clone()
	d := newDelivery("dlv_1", "evt_1", "sub_1", "acme", t0)
	wantDelivery := d.Clone()
	require.NoError(t, s.EventInsert(ctx, e, []*webhook.Delivery{d}, nil))

	got, err := s.EventGet(ctx, "evt_1")
	require.NoError(t, err)
	require.Equal(t, utcEvent(wantEvent), utcEvent(got))

	requireDelivery(t, wantDelivery, getDelivery(t, s, "dlv_1"))
	claimed := claim(t, s, t0, 1, "lease_1")
	require.Len(t, claimed, 1)
	claimed[0].State = webhook.DeliveryFailed
	claimed[0].LeaseToken = "forged"
	missing := []string{"Body.a"} // the caller's: the update is a copy
	require.NoError(t, s.DeliveryUpdate(ctx, webhook.DeliveryUpdate{
		DeliveryID: "dlv_1", LeaseToken: "lease_1",
		Attempt: &webhook.Attempt{StartedAt: t0, StatusCode: 500, Error: "boom", MissingValues: missing},
		State:   webhook.DeliveryPending, AttemptCount: 1, NextAttemptAt: t0.Add(time.Hour),
		LastError: "boom", UpdatedAt: t0,
	}))
	missing[0] = "changed by the caller"
	got1 := getDelivery(t, s, "dlv_1")
	require.Len(t, got1.Attempts, 1)
	require.Equal(t, []string{"Body.a"}, got1.Attempts[0].MissingValues)
	got1.Attempts[0].Error = "changed"
	got1.State = webhook.DeliveryFailed
	got2 := getDelivery(t, s, "dlv_1")
	require.Equal(t, "boom", got2.Attempts[0].Error)
	require.Equal(t, webhook.DeliveryPending, got2.State)
	list, err := s.DeliveryList(ctx, webhook.DeliveryListParams{})
	require.NoError(t, err)
	require.Len(t, list, 1)
	list[0].Attempts[0].Error = "changed"
	require.Equal(t, "boom", getDelivery(t, s, "dlv_1").Attempts[0].Error)
	require.Equal(t, utcEvent(wantEvent), utcEvent(got), "an event once returned is never changed")
}

func testClaimOrder(t *testing.T, s webhook.Store) {
	pendingAt(t, s,
		t0.Add(-2*time.Minute), // d1
		t0.Add(time.Second),    // d2: not yet due
		t0.Add(-3*time.Minute), // d3
		t0,                     // d4: due exactly now
		t0.Add(-time.Minute),   // d5
		t0.Add(-4*time.Minute), // d6
	)
	got, err := s.DeliveryClaim(t.Context(), webhook.ClaimParams{
		Now: t0, Limit: 10, LeaseToken: "lease_1", LeasedUntil: t0.Add(time.Minute),
	})
	require.NoError(t, err)
	require.Equal(t, []string{"d6", "d3", "d1", "d5", "d4"}, ids(got), "due deliveries, earliest first; d2 is not due")
	for _, d := range got {
		require.Equal(t, "lease_1", d.LeaseToken)
		require.True(t, d.LeasedUntil.Equal(t0.Add(time.Minute)), "LeasedUntil = %v", d.LeasedUntil)
		require.Equal(t, webhook.DeliveryPending, d.State)
		require.Empty(t, d.Attempts)
		d.State, d.LeaseToken = webhook.DeliveryFailed, "changed by the caller" // a copy: the store keeps its own
		stored := getDelivery(t, s, d.ID)
		require.Equal(t, "lease_1", stored.LeaseToken, "the lease must be stored")
		require.Equal(t, webhook.DeliveryPending, stored.State)
		require.True(t, stored.LeasedUntil.Equal(t0.Add(time.Minute)))
	}
	require.Equal(t, []string{"d2"}, ids(claim(t, s, t0.Add(time.Second), 10, "lease_2")))
}

func testClaimLimit(t *testing.T, s webhook.Store) {
	pendingAt(t, s,
		t0.Add(-5*time.Second), t0.Add(-4*time.Second), t0.Add(-3*time.Second),
		t0.Add(-2*time.Second), t0.Add(-time.Second),
	)
	require.Equal(t, []string{"d1", "d2"}, ids(claim(t, s, t0, 2, "lease_1")))
	require.Equal(t, []string{"d3", "d4"}, ids(claim(t, s, t0, 2, "lease_2")))
	require.Equal(t, []string{"d5"}, ids(claim(t, s, t0, 2, "lease_3")))
	require.Empty(t, claim(t, s, t0, 2, "lease_4"))
}

func testClaimLease(t *testing.T, s webhook.Store) {
	ctx := t.Context()
	pendingAt(t, s, t0)
	first := claim(t, s, t0, 1, "lease_1") // leased until t0+1m
	require.Equal(t, []string{"d1"}, ids(first))

	require.Empty(t, claim(t, s, t0, 1, "lease_x"), "a leased delivery must not be claimed again")
	require.Empty(t, claim(t, s, t0.Add(59*time.Second), 1, "lease_x"), "not before its lease expires")

	next, ok, err := s.DeliveryNextDue(ctx, nil)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, next.Equal(t0.Add(time.Minute)), "a leased delivery is due when its lease expires, got %v", next)

	second := claim(t, s, t0.Add(time.Minute), 1, "lease_2")
	require.Equal(t, []string{"d1"}, ids(second), "claimable again once the lease expired")
	require.Equal(t, "lease_2", second[0].LeaseToken)
	require.True(t, second[0].LeasedUntil.Equal(t0.Add(2*time.Minute)))

	err = s.DeliveryUpdate(ctx, webhook.DeliveryUpdate{
		DeliveryID: "d1", LeaseToken: "lease_1", State: webhook.DeliverySucceeded,
		AttemptCount: 1, UpdatedAt: t0.Add(time.Minute),
	})
	require.ErrorIs(t, err, webhook.ErrLeaseLost, "the first lease was taken over")
	require.ErrorIs(t, s.DeliveryRelease(ctx, "d1", "lease_1"), webhook.ErrLeaseLost)
	require.NoError(t, s.DeliveryRelease(ctx, "d1", "lease_2"))
}

func testClaimSkipsFinished(t *testing.T, s webhook.Store) {
	ctx := t.Context()
	var ds []*webhook.Delivery
	for i, st := range []webhook.DeliveryState{webhook.DeliverySucceeded, webhook.DeliveryFailed, webhook.DeliveryCanceled, webhook.DeliveryPending} {
		d := newDelivery(fmt.Sprintf("d%d", i+1), "evt_1", "sub", "", t0.Add(-time.Hour))
		d.State = st
		ds = append(ds, d)
	}
	publish(t, s, "evt_1", ds...)
	require.Equal(t, []string{"d4"}, ids(claim(t, s, t0, 10, "lease_1")), "only pending deliveries are claimed")
	require.NoError(t, s.DeliveryRelease(ctx, "d4", "lease_1"))
	err := s.DeliveryUpdate(ctx, webhook.DeliveryUpdate{
		DeliveryID: "d4", LeaseToken: "lease_1", State: webhook.DeliverySucceeded,
	})
	require.ErrorIs(t, err, webhook.ErrLeaseLost, "the release ended the lease")
	require.Equal(t, []string{"d4"}, ids(claim(t, s, t0.Add(time.Hour), 10, "lease_2")), "finished deliveries are never claimed")
	require.Equal(t, webhook.DeliverySucceeded, getDelivery(t, s, "d1").State)
}

func testClaimExclude(t *testing.T, s webhook.Store) {
	// Due order: a1 b1 c1 a2 b2 (c1 not yet due at first).
	publish(t, s, "evt_1",
		newDelivery("a1", "evt_1", "sub_a", "", t0.Add(-5*time.Second)),
		newDelivery("b1", "evt_1", "sub_b", "", t0.Add(-4*time.Second)),
		newDelivery("c1", "evt_1", "sub_c", "", t0.Add(time.Second)),
		newDelivery("a2", "evt_1", "sub_a", "", t0.Add(-2*time.Second)),
		newDelivery("b2", "evt_1", "sub_b", "", t0.Add(-time.Second)),
	)
	var calls []string
	got, err := s.DeliveryClaim(t.Context(), webhook.ClaimParams{
		Now: t0, Limit: 10, LeaseToken: "lease_1", LeasedUntil: t0.Add(time.Minute),
		Exclude: func(sub string) bool {
			calls = append(calls, sub)
			return sub == "sub_b"
		},
	})
	require.NoError(t, err)
	require.Equal(t, []string{"a1", "a2"}, ids(got))
	require.Equal(t, []string{"sub_a", "sub_b", "sub_a"}, calls,
		"Exclude is called once per due candidate, in due order, until it reports the candidate's subscription: then the rest of that subscription is skipped without asking")
	require.Equal(t, []string{"b1", "b2", "c1"}, ids(claim(t, s, t0.Add(time.Second), 10, "lease_2")), "excluded deliveries stay claimable")
}

// testClaimExcludeReserve checks what the Dispatcher relies on: Exclude is
// called once per candidate, in order, and a candidate it lets through is
// claimed, so a counter in Exclude reserves exactly the claimed slots.
func testClaimExcludeReserve(t *testing.T, s webhook.Store) {
	var ds []*webhook.Delivery
	for i := range 9 {
		sub := []string{"sub_a", "sub_b", "sub_c"}[i%3]
		ds = append(ds, newDelivery(fmt.Sprintf("d%d", i+1), "evt_1", sub, "", t0.Add(time.Duration(i-10)*time.Second)))
	}
	publish(t, s, "evt_1", ds...)
	tests := []struct {
		name      string
		limit     int
		perSub    int
		wantIDs   []string
		wantCalls int
	}{
		// One per subscription: d1 d2 d3 are let through, then the limit
		// is reached, so no further candidate is offered.
		{"limit reached first", 3, 1, []string{"d1", "d2", "d3"}, 3},
		// Two per subscription with room for ten: every due candidate is
		// offered once; the third of each subscription is refused.
		{"slots run out first", 10, 2, []string{"d1", "d2", "d3", "d4", "d5", "d6"}, 9},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reserved := map[string]int{}
			calls, passed := 0, 0
			token := fmt.Sprintf("lease_%d", i)
			got, err := s.DeliveryClaim(t.Context(), webhook.ClaimParams{
				Now: t0, Limit: tt.limit, LeaseToken: token, LeasedUntil: t0.Add(time.Minute),
				Exclude: func(sub string) bool {
					calls++
					if reserved[sub] >= tt.perSub {
						return true
					}
					reserved[sub]++
					passed++
					return false
				},
			})
			require.NoError(t, err)
			require.Equal(t, tt.wantIDs, ids(got))
			require.Equal(t, tt.wantCalls, calls)
			require.Equal(t, len(got), passed, "every candidate Exclude let through must be claimed")
			for _, d := range got {
				require.NoError(t, s.DeliveryRelease(t.Context(), d.ID, token))
			}
		})
	}
}

// testClaimExcludeBacklog checks that once Exclude reports a subscription,
// its other deliveries are not offered again in the same claim, nor in
// DeliveryNextDue: a long backlog at its limit costs one call, not one per
// delivery.
func testClaimExcludeBacklog(t *testing.T, s webhook.Store) {
	const backlog = 300
	var ds []*webhook.Delivery
	for i := range backlog {
		ds = append(ds, newDelivery(fmt.Sprintf("big_%04d", i), "evt_1", "sub_big", "", t0.Add(time.Duration(i-backlog)*time.Second)))
	}
	ds = append(ds, newDelivery("small_1", "evt_1", "sub_small", "", t0))
	publish(t, s, "evt_1", ds...)

	calls := map[string]int{}
	exclude := func(sub string) bool {
		calls[sub]++
		return sub == "sub_big"
	}
	got, err := s.DeliveryClaim(t.Context(), webhook.ClaimParams{
		Now: t0, Limit: 10, LeaseToken: "lease_1", LeasedUntil: t0.Add(time.Minute), Exclude: exclude,
	})
	require.NoError(t, err)
	require.Equal(t, []string{"small_1"}, ids(got))
	require.Equal(t, map[string]int{"sub_big": 1, "sub_small": 1}, calls)

	clear(calls)
	next, ok, err := s.DeliveryNextDue(t.Context(), exclude)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, next.Equal(t0.Add(time.Minute)), "the lease of small_1 ends first among the others, got %v", next)
	require.Equal(t, 1, calls["sub_big"], "exclude is asked once per subscription")

	got = claim(t, s, t0, backlog, "lease_2")
	require.Len(t, got, backlog, "the backlog is still claimable")
	require.Equal(t, "big_0000", got[0].ID)
	require.Equal(t, fmt.Sprintf("big_%04d", backlog-1), got[backlog-1].ID)
}

func testNextDue(t *testing.T, s webhook.Store) {
	ctx := t.Context()
	_, ok, err := s.DeliveryNextDue(ctx, nil)
	require.NoError(t, err)
	require.False(t, ok, "an empty store has nothing due")

	done := newDelivery("done", "evt_1", "sub_a", "", t0.Add(-time.Hour))
	done.State = webhook.DeliverySucceeded
	publish(t, s, "evt_1",
		done,
		newDelivery("a1", "evt_1", "sub_a", "", t0.Add(3*time.Minute)),
		newDelivery("b1", "evt_1", "sub_b", "", t0.Add(5*time.Minute)),
		newDelivery("a2", "evt_1", "sub_a", "", t0.Add(7*time.Minute)),
	)
	tests := []struct {
		name    string
		exclude func(string) bool
		want    time.Time
		wantOK  bool
	}{
		{"nil exclude", nil, t0.Add(3 * time.Minute), true},
		{"exclude nothing", func(string) bool { return false }, t0.Add(3 * time.Minute), true},
		{"exclude the earliest", func(s string) bool { return s == "sub_a" }, t0.Add(5 * time.Minute), true},
		{"exclude the other", func(s string) bool { return s == "sub_b" }, t0.Add(3 * time.Minute), true},
		{"exclude all", func(string) bool { return true }, time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := s.DeliveryNextDue(t.Context(), tt.exclude)
			require.NoError(t, err)
			require.Equal(t, tt.wantOK, ok)
			if ok {
				require.True(t, got.Equal(tt.want), "got %v, want %v", got, tt.want)
			}
		})
	}
	// Excluding must not lose anything: all three are still claimable.
	require.Equal(t, []string{"a1", "b1", "a2"}, ids(claim(t, s, t0.Add(time.Hour), 10, "lease_1")))
	next, ok, err := s.DeliveryNextDue(ctx, nil)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, next.Equal(t0.Add(time.Hour+time.Minute)), "due when the leases expire, got %v", next)
}

func testDeliveryUpdate(t *testing.T, s webhook.Store) {
	ctx := t.Context()
	pendingAt(t, s, t0)
	require.Len(t, claim(t, s, t0, 1, "lease_1"), 1)

	a1 := webhook.Attempt{Number: 99, StartedAt: t0, Duration: 150 * time.Millisecond, StatusCode: 503, Error: "HTTP 503", ResponseBody: "busy"}
	require.NoError(t, s.DeliveryUpdate(ctx, webhook.DeliveryUpdate{
		DeliveryID: "d1", LeaseToken: "lease_1", Attempt: &a1,
		State: webhook.DeliveryPending, AttemptCount: 1, NextAttemptAt: t0.Add(time.Hour),
		LastError: "HTTP 503", UpdatedAt: t0.Add(time.Second),
	}))
	got := getDelivery(t, s, "d1")
	want := newDelivery("d1", "e-d1", "sub", "", t0.Add(time.Hour))
	want.AttemptCount = 1
	want.LastError = "HTTP 503"
	want.UpdatedAt = t0.Add(time.Second)
	a1.Number = 1 // numbered by the store
	want.Attempts = []webhook.Attempt{a1}
	requireDelivery(t, want, got)

	require.Empty(t, claim(t, s, t0.Add(59*time.Minute), 1, "lease_x"), "due at the new NextAttemptAt, not before")
	require.Len(t, claim(t, s, t0.Add(time.Hour), 1, "lease_2"), 1)

	// An update without an attempt (the subscription went away) logs none.
	require.Len(t, getDelivery(t, s, "d1").Attempts, 1)
	a2 := webhook.Attempt{StartedAt: t0.Add(time.Hour), StatusCode: 200}
	require.NoError(t, s.DeliveryUpdate(ctx, webhook.DeliveryUpdate{
		DeliveryID: "d1", LeaseToken: "lease_2", Attempt: &a2,
		State: webhook.DeliverySucceeded, AttemptCount: 2, UpdatedAt: t0.Add(time.Hour),
	}))
	requireSucceededOnSecond(t, getDelivery(t, s, "d1"))

	require.Empty(t, claim(t, s, t0.Add(48*time.Hour), 1, "lease_3"), "a succeeded delivery is not claimed")
	_, ok, err := s.DeliveryNextDue(ctx, nil)
	require.NoError(t, err)
	require.False(t, ok)
}

// requireSucceededOnSecond checks a delivery whose second attempt, logged
// after a first one, got 200 and ended it: lease cleared, no error kept.
func requireSucceededOnSecond(t *testing.T, d *webhook.Delivery) {
	t.Helper()
	require.Equal(t, webhook.DeliverySucceeded, d.State)
	require.Equal(t, 2, d.AttemptCount)
	require.Empty(t, d.LastError)
	require.Empty(t, d.LeaseToken)
	require.True(t, d.LeasedUntil.IsZero())
	require.Len(t, d.Attempts, 2)
	require.Equal(t, 1, d.Attempts[0].Number)
	require.Equal(t, 2, d.Attempts[1].Number, "attempts are appended and numbered")
	require.Equal(t, 200, d.Attempts[1].StatusCode)
}

func testDeliveryUpdateLeaseLost(t *testing.T, s webhook.Store) {
	ctx := t.Context()
	pendingAt(t, s, t0)
	require.Len(t, claim(t, s, t0, 1, "lease_1"), 1)
	before := getDelivery(t, s, "d1")
	u := webhook.DeliveryUpdate{
		DeliveryID: "d1", Attempt: &webhook.Attempt{StartedAt: t0, StatusCode: 500},
		State: webhook.DeliveryFailed, AttemptCount: 1, LastError: "HTTP 500", UpdatedAt: t0,
	}
	for _, token := range []string{"lease_wrong", ""} {
		u.LeaseToken = token
		require.ErrorIs(t, s.DeliveryUpdate(ctx, u), webhook.ErrLeaseLost, "token %q", token)
		require.ErrorIs(t, s.DeliveryRelease(ctx, "d1", token), webhook.ErrLeaseLost, "token %q", token)
		requireDelivery(t, before, getDelivery(t, s, "d1"))
	}

	u.LeaseToken = "lease_1"
	require.NoError(t, s.DeliveryUpdate(ctx, u))
	after := getDelivery(t, s, "d1")
	require.ErrorIs(t, s.DeliveryUpdate(ctx, u), webhook.ErrLeaseLost, "a lease is used up by its update")
	requireDelivery(t, after, getDelivery(t, s, "d1"))

	u.DeliveryID = "d_missing"
	err := s.DeliveryUpdate(ctx, u)
	require.True(t, errors.Is(err, webhook.ErrNotFound) || errors.Is(err, webhook.ErrLeaseLost), "got %v", err)
}

func testDeliveryRelease(t *testing.T, s webhook.Store) {
	ctx := t.Context()
	pendingAt(t, s, t0.Add(-time.Minute), t0)
	require.Equal(t, []string{"d1", "d2"}, ids(claim(t, s, t0, 2, "lease_1")))
	require.NoError(t, s.DeliveryRelease(ctx, "d2", "lease_1"))

	got := getDelivery(t, s, "d2")
	require.Empty(t, got.LeaseToken)
	require.True(t, got.LeasedUntil.IsZero())
	require.Empty(t, got.Attempts)
	require.Equal(t, 0, got.AttemptCount)
	require.Equal(t, webhook.DeliveryPending, got.State)

	require.Equal(t, []string{"d2"}, ids(claim(t, s, t0, 2, "lease_2")), "released: claimable again at once; d1 still leased")
	require.ErrorIs(t, s.DeliveryRelease(ctx, "d2", "lease_1"), webhook.ErrLeaseLost)
	err := s.DeliveryRelease(ctx, "d_missing", "lease_1")
	require.True(t, errors.Is(err, webhook.ErrNotFound) || errors.Is(err, webhook.ErrLeaseLost), "got %v", err)
}

// finish claims id (due at or before now) and records its outcome.
func finish(t *testing.T, s webhook.Store, id string, now time.Time, st webhook.DeliveryState, status int) {
	t.Helper()
	token := "lease_finish_" + id + now.String()
	var got *webhook.Delivery
	ds, err := s.DeliveryClaim(t.Context(), webhook.ClaimParams{
		Now: now, Limit: 1, LeaseToken: token, LeasedUntil: now.Add(time.Minute),
		Exclude: func(sub string) bool { return false },
	})
	require.NoError(t, err)
	require.Len(t, ds, 1)
	got = ds[0]
	require.Equal(t, id, got.ID, "finish expects %s to be the first due", id)
	require.NoError(t, s.DeliveryUpdate(t.Context(), webhook.DeliveryUpdate{
		DeliveryID: id, LeaseToken: token, Attempt: &webhook.Attempt{StartedAt: now, StatusCode: status},
		State: st, AttemptCount: got.AttemptCount + 1, LastError: fmt.Sprintf("HTTP %d", status), UpdatedAt: now,
	}))
}

func testDeliveryGetList(t *testing.T, s webhook.Store) {
	require.NoError(t, s.EventInsert(t.Context(), newEvent("evt_1", "acme", "invoice.paid"), []*webhook.Delivery{
		newDelivery("d1", "evt_1", "sub_a", "acme", t0.Add(-3*time.Second)),
		newDelivery("d2", "evt_1", "sub_b", "acme", t0.Add(-2*time.Second)),
	}, nil))
	require.NoError(t, s.EventInsert(t.Context(), newEvent("evt_2", "globex", "invoice.paid"), []*webhook.Delivery{
		newDelivery("d3", "evt_2", "sub_c", "globex", t0.Add(-time.Second)),
	}, nil))
	require.NoError(t, s.EventInsert(t.Context(), newEvent("evt_3", "acme", "invoice.paid"), []*webhook.Delivery{
		newDelivery("d4", "evt_3", "sub_a", "acme", t0),
	}, nil))
	finish(t, s, "d1", t0, webhook.DeliverySucceeded, 200)
	finish(t, s, "d2", t0, webhook.DeliveryFailed, 500)

	tests := []struct {
		name string
		p    webhook.DeliveryListParams
		want []string
	}{
		{"all", webhook.DeliveryListParams{}, []string{"d1", "d2", "d3", "d4"}},
		{"subscription", webhook.DeliveryListParams{SubscriptionID: "sub_a"}, []string{"d1", "d4"}},
		{"event", webhook.DeliveryListParams{EventID: "evt_1"}, []string{"d1", "d2"}},
		{"tenant", webhook.DeliveryListParams{Tenant: "globex"}, []string{"d3"}},
		{"state pending", webhook.DeliveryListParams{State: webhook.DeliveryPending}, []string{"d3", "d4"}},
		{"state succeeded", webhook.DeliveryListParams{State: webhook.DeliverySucceeded}, []string{"d1"}},
		{"state failed of tenant", webhook.DeliveryListParams{Tenant: "acme", State: webhook.DeliveryFailed}, []string{"d2"}},
		{"event and subscription", webhook.DeliveryListParams{EventID: "evt_1", SubscriptionID: "sub_b"}, []string{"d2"}},
		{"no match", webhook.DeliveryListParams{SubscriptionID: "sub_c", State: webhook.DeliveryFailed}, nil},
		{"unknown event", webhook.DeliveryListParams{EventID: "evt_missing"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.DeliveryList(t.Context(), tt.p)
			require.NoError(t, err)
			require.Equal(t, tt.want, nilIfEmpty(ids(got)))
			for _, d := range got {
				requireDelivery(t, getDelivery(t, s, d.ID), d)
			}
		})
	}

	d1 := getDelivery(t, s, "d1")
	require.Len(t, d1.Attempts, 1, "DeliveryGet fills in the attempts")
	require.Equal(t, 200, d1.Attempts[0].StatusCode)
	require.Equal(t, webhook.DeliverySucceeded, d1.State)
	list, err := s.DeliveryList(t.Context(), webhook.DeliveryListParams{State: webhook.DeliveryFailed})
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Len(t, list[0].Attempts, 1, "DeliveryList fills in the attempts")
	require.Equal(t, 500, list[0].Attempts[0].StatusCode)
}

// A subscription's deliveries are listed in ID order whatever order their
// events were stored in, page after page.
func testDeliveryListPagingAcrossEvents(t *testing.T, s webhook.Store) {
	for i, id := range []string{"dlv_5", "dlv_2", "dlv_4", "dlv_1", "dlv_3"} {
		evID := fmt.Sprintf("evt_%d", i)
		require.NoError(t, s.EventInsert(t.Context(), newEvent(evID, "", "invoice.paid"), []*webhook.Delivery{
			newDelivery(id, evID, "sub_a", "", t0),
			newDelivery(id+"b", evID, "sub_b", "", t0),
		}, nil))
	}
	var pages [][]string
	after := ""
	for range 4 {
		got, err := s.DeliveryList(t.Context(), webhook.DeliveryListParams{SubscriptionID: "sub_a", After: after, Limit: 2})
		require.NoError(t, err)
		if len(got) == 0 {
			break
		}
		pages = append(pages, ids(got))
		after = got[len(got)-1].ID
	}
	require.Equal(t, [][]string{{"dlv_1", "dlv_2"}, {"dlv_3", "dlv_4"}, {"dlv_5"}}, pages)
	got, err := s.DeliveryList(t.Context(), webhook.DeliveryListParams{SubscriptionID: "sub_b", After: "dlv_2"})
	require.NoError(t, err)
	require.Equal(t, []string{"dlv_2b", "dlv_3b", "dlv_4b", "dlv_5b"}, ids(got))
}

func testDeliveryListPaging(t *testing.T, s webhook.Store) {
	var ds []*webhook.Delivery
	for i := 7; i >= 1; i-- {
		sub := "sub_a"
		if i%2 == 0 {
			sub = "sub_b"
		}
		ds = append(ds, newDelivery(fmt.Sprintf("dlv_%d", i), "evt_1", sub, "", t0))
	}
	publish(t, s, "evt_1", ds...)
	tests := []struct {
		name string
		p    webhook.DeliveryListParams
		want []string
	}{
		{"first page", webhook.DeliveryListParams{Limit: 3}, []string{"dlv_1", "dlv_2", "dlv_3"}},
		{"second page", webhook.DeliveryListParams{After: "dlv_3", Limit: 3}, []string{"dlv_4", "dlv_5", "dlv_6"}},
		{"last page", webhook.DeliveryListParams{After: "dlv_6", Limit: 3}, []string{"dlv_7"}},
		{"past the end", webhook.DeliveryListParams{After: "dlv_7"}, nil},
		{"filtered pages", webhook.DeliveryListParams{SubscriptionID: "sub_a", After: "dlv_1", Limit: 2}, []string{"dlv_3", "dlv_5"}},
		{"filtered by event", webhook.DeliveryListParams{EventID: "evt_1", After: "dlv_5", Limit: 1}, []string{"dlv_6"}},
		{"after an ID not stored", webhook.DeliveryListParams{SubscriptionID: "sub_b", After: "dlv_45"}, []string{"dlv_6"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.DeliveryList(t.Context(), tt.p)
			require.NoError(t, err)
			require.Equal(t, tt.want, nilIfEmpty(ids(got)))
		})
	}
}

func testDeliveryReset(t *testing.T, s webhook.Store) {
	ctx := t.Context()
	pendingAt(t, s, t0)
	_, err := s.DeliveryReset(ctx, "d1", t0)
	require.ErrorIs(t, err, webhook.ErrDeliveryPending)
	_, err = s.DeliveryReset(ctx, "d_missing", t0)
	require.ErrorIs(t, err, webhook.ErrNotFound)

	finish(t, s, "d1", t0, webhook.DeliveryFailed, 500)
	failed := getDelivery(t, s, "d1")

	t1 := t0.Add(24 * time.Hour)
	got, err := s.DeliveryReset(ctx, "d1", t1)
	require.NoError(t, err)
	want := failed.Clone()
	want.State = webhook.DeliveryPending
	want.AttemptCount = 0
	want.NextAttemptAt = t1
	want.UpdatedAt = t1
	requireDelivery(t, want, got)
	require.Equal(t, "HTTP 500", got.LastError, "LastError is kept")
	requireDelivery(t, want, getDelivery(t, s, "d1"))

	_, err = s.DeliveryReset(ctx, "d1", t1)
	require.ErrorIs(t, err, webhook.ErrDeliveryPending, "a reset delivery is pending")

	require.Empty(t, claim(t, s, t1.Add(-time.Second), 1, "lease_x"), "due at the reset time, not before")
	finish(t, s, "d1", t1, webhook.DeliverySucceeded, 200)
	got = getDelivery(t, s, "d1")
	require.Equal(t, 1, got.AttemptCount, "the retry schedule starts over")
	require.Len(t, got.Attempts, 2)
	require.Equal(t, 2, got.Attempts[1].Number, "attempts are numbered across resets")
}

func testSubscriptionDeleteCancels(t *testing.T, s webhook.Store) {
	ctx := t.Context()
	insertSubs(t, s, newSub("sub_a", "", "*"), newSub("sub_b", "", "*"))
	publish(t, s, "evt_1",
		newDelivery("a1", "evt_1", "sub_a", "", t0.Add(-4*time.Second)), // succeeded
		newDelivery("a2", "evt_1", "sub_a", "", t0.Add(-3*time.Second)), // failed
		newDelivery("a3", "evt_1", "sub_a", "", t0.Add(-2*time.Second)), // leased
		newDelivery("a4", "evt_1", "sub_a", "", t0.Add(time.Hour)),      // pending
		newDelivery("b1", "evt_1", "sub_b", "", t0.Add(-time.Second)),   // other subscription
	)
	finish(t, s, "a1", t0, webhook.DeliverySucceeded, 200)
	finish(t, s, "a2", t0, webhook.DeliveryFailed, 500)
	require.Equal(t, []string{"a3"}, ids(claim(t, s, t0, 1, "lease_a3")))
	a1, a2, b1 := getDelivery(t, s, "a1"), getDelivery(t, s, "a2"), getDelivery(t, s, "b1")

	t1 := t0.Add(time.Second)
	require.NoError(t, s.SubscriptionDelete(ctx, "sub_a", t1))

	for _, id := range []string{"a3", "a4"} {
		got := getDelivery(t, s, id)
		require.Equal(t, webhook.DeliveryCanceled, got.State, id)
		require.NotEmpty(t, got.LastError, "%s: LastError must say why", id)
		require.True(t, got.UpdatedAt.Equal(t1), "%s: UpdatedAt = %v", id, got.UpdatedAt)
	}
	requireDelivery(t, a1, getDelivery(t, s, "a1"))
	requireDelivery(t, a2, getDelivery(t, s, "a2"))
	requireDelivery(t, b1, getDelivery(t, s, "b1"))

	err := s.DeliveryUpdate(ctx, webhook.DeliveryUpdate{
		DeliveryID: "a3", LeaseToken: "lease_a3", State: webhook.DeliverySucceeded, AttemptCount: 1, UpdatedAt: t1,
	})
	require.ErrorIs(t, err, webhook.ErrLeaseLost, "a cancelled delivery's lease is gone")
	require.Equal(t, webhook.DeliveryCanceled, getDelivery(t, s, "a3").State)

	require.Equal(t, []string{"b1"}, ids(claim(t, s, t0.Add(48*time.Hour), 10, "lease_2")), "cancelled deliveries are not claimed")
	next, ok, err := s.DeliveryNextDue(ctx, func(sub string) bool { return sub == "sub_b" })
	require.NoError(t, err)
	require.False(t, ok, "cancelled deliveries are not due, got %v", next)

	list, err := s.DeliveryList(ctx, webhook.DeliveryListParams{SubscriptionID: "sub_a"})
	require.NoError(t, err)
	require.Equal(t, []string{"a1", "a2", "a3", "a4"}, ids(list), "a deleted subscription's deliveries stay for inspection")
}

// testConcurrentClaims publishes from many goroutines, then claims from many
// goroutines at once: no delivery is handed to two claimers, none is lost.
func testConcurrentClaims(t *testing.T, s webhook.Store) {
	const (
		workers   = 8
		perWorker = 200
		total     = workers * perWorker
	)
	ctx := t.Context()
	errs := make(chan error, 2*workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				id := fmt.Sprintf("w%d-%04d", w, i)
				d := newDelivery("dlv_"+id, "evt_"+id, fmt.Sprintf("sub_%d", i%5), "", t0.Add(time.Duration(i)*time.Millisecond))
				if err := s.EventInsert(ctx, newEvent("evt_"+id, "", "invoice.paid"), []*webhook.Delivery{d}, nil); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()

	var (
		mu      sync.Mutex
		claimed = make(map[string]string, total)
		dupes   []string
		start   = make(chan struct{})
	)
	now := t0.Add(time.Second) // every delivery is due; leases last an hour
	for w := range workers {
		wg.Go(func() {
			<-start
			for round := 0; ; round++ {
				ds, err := s.DeliveryClaim(ctx, webhook.ClaimParams{
					Now: now, Limit: 7, LeaseToken: fmt.Sprintf("lease_%d_%d", w, round), LeasedUntil: now.Add(time.Hour),
				})
				if err != nil {
					errs <- err
					return
				}
				if len(ds) == 0 {
					return
				}
				mu.Lock()
				for _, d := range ds {
					if prev, ok := claimed[d.ID]; ok {
						dupes = append(dupes, d.ID+" by "+prev+" and "+d.LeaseToken)
					}
					claimed[d.ID] = d.LeaseToken
				}
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Empty(t, dupes, "deliveries handed to two claimers")
	require.Len(t, claimed, total, "every delivery claimed once")
	for id, token := range claimed {
		require.Equal(t, token, getDelivery(t, s, id).LeaseToken, "%s: the stored lease is the claimer's", id)
	}
	require.Empty(t, claim(t, s, t0.Add(time.Minute), total, "lease_none"), "all leased for an hour")
}
