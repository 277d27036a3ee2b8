package memstore_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooksmith/webhook"
	"github.com/hooksmith/webhook/store/memstore"
)

func TestPurge(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2030, 3, 4, 12, 0, 0, 0, time.UTC)
	old, cutoff := now.Add(-48*time.Hour), now.Add(-24*time.Hour)
	s := memstore.New()
	require.NoError(t, s.SubscriptionInsert(ctx, &webhook.Subscription{ID: "sub_push", Tenant: "acme", EventTypes: []string{"*"}}))
	require.NoError(t, s.SubscriptionInsert(ctx, &webhook.Subscription{ID: "sub_pull", Tenant: "acme", Mode: webhook.ModePull, EventTypes: []string{"*"}}))
	insert := func(id string, ts, publishedAt time.Time, state webhook.DeliveryState) {
		t.Helper()
		e := &webhook.Event{ID: id, Type: "invoice.paid", Tenant: "acme", Timestamp: ts, Data: []byte(`{}`)}
		d := &webhook.Delivery{
			ID: "dlv_" + id, EventID: id, EventType: e.Type, SubscriptionID: "sub_push", Tenant: "acme",
			State: state, NextAttemptAt: ts, CreatedAt: ts, UpdatedAt: ts, Attempts: []webhook.Attempt{{Number: 1}},
		}
		fe := &webhook.FeedEntry{SubscriptionID: "sub_pull", EventID: id, PublishedAt: publishedAt}
		require.NoError(t, s.EventInsert(ctx, e, []*webhook.Delivery{d}, []*webhook.FeedEntry{fe}))
	}
	insert("evt_1", old, old, webhook.DeliverySucceeded)             // purged
	insert("evt_2", old, old, webhook.DeliveryPending)               // kept: pending
	insert("evt_3", old, now, webhook.DeliverySucceeded)             // kept: its feed entry is recent
	insert("evt_4", now, now, webhook.DeliverySucceeded)             // kept: recent
	insert("evt_5", old.Add(time.Hour), old, webhook.DeliveryFailed) // kept: its feed entry is raised to now

	res, err := s.Purge(ctx, cutoff)
	require.NoError(t, err)
	require.Equal(t, memstore.PurgeResult{Events: 1, Deliveries: 1, Attempts: 1}, res)
	_, err = s.EventGet(ctx, "evt_1")
	require.ErrorIs(t, err, webhook.ErrNotFound)
	_, err = s.DeliveryGet(ctx, "dlv_evt_1")
	require.ErrorIs(t, err, webhook.ErrNotFound)
	events, err := s.EventList(ctx, webhook.EventQuery{})
	require.NoError(t, err)
	require.Len(t, events, 4)
	ds, err := s.DeliveryList(ctx, webhook.DeliveryListParams{SubscriptionID: "sub_push"})
	require.NoError(t, err)
	require.Len(t, ds, 4)

	// The feed held evt_1 to evt_5 as 1 to 5; the entries of evt_1 and
	// evt_2 were published before the cutoff and are gone, while evt_2
	// itself is kept for its pending delivery.
	page, err := s.FeedRead(ctx, webhook.FeedReadParams{SubscriptionID: "sub_pull", Limit: 10})
	require.NoError(t, err)
	require.True(t, page.Expired)
	require.Equal(t, uint64(2), page.Oldest)
	require.Equal(t, uint64(5), page.Last)
	page, err = s.FeedRead(ctx, webhook.FeedReadParams{SubscriptionID: "sub_pull", After: 2, Limit: 10})
	require.NoError(t, err)
	require.False(t, page.Expired)
	require.Len(t, page.Entries, 3)
	require.Equal(t, uint64(3), page.Entries[0].Seq)
	require.Equal(t, "evt_3", page.Entries[0].Event.ID)
	require.Equal(t, "evt_5", page.Entries[2].Event.ID, "kept while its feed entry is")

	insert("evt_6", now, old, webhook.DeliverySucceeded)
	page, err = s.FeedRead(ctx, webhook.FeedReadParams{SubscriptionID: "sub_pull", After: 5, Limit: 10})
	require.NoError(t, err)
	require.Len(t, page.Entries, 1)
	require.Equal(t, uint64(6), page.Entries[0].Seq, "sequences go on")
	require.Equal(t, now, page.Entries[0].PublishedAt, "times never decrease")

	require.NoError(t, s.SubscriptionDelete(ctx, "sub_pull", now))
	res, err = s.Purge(ctx, now.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, memstore.PurgeResult{Events: 4, Deliveries: 4, Attempts: 4}, res, "all but the pending one")
}
