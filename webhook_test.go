package webhook_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/hooksmith/webhook"
	"github.com/hooksmith/webhook/store/memstore"
)

func TestNewDispatcherValidatesConfig(t *testing.T) {
	t.Parallel()
	_, err := webhook.NewDispatcher(nil, nil)
	require.ErrorContains(t, err, "needs a Store")
	_, err = webhook.NewDispatcher(memstore.New(), &webhook.Config{AttemptTimeout: time.Minute, LeaseDuration: 30 * time.Second})
	require.ErrorIs(t, err, webhook.ErrInvalid)
	require.ErrorContains(t, err, "LeaseDuration: must exceed AttemptTimeout")
	_, err = webhook.NewDispatcher(memstore.New(), &webhook.Config{Workers: -1})
	require.ErrorContains(t, err, "Workers")
	d, err := webhook.NewDispatcher(memstore.New(), nil)
	require.NoError(t, err)
	require.NotNil(t, d)
}

func TestPublishValidation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		event webhook.Event
		field string
		msg   string
	}{
		{"no type", webhook.Event{Data: []byte(`{}`)}, "Type", "required"},
		{"star in type", webhook.Event{Type: "a.*", Data: []byte(`{}`)}, "Type", `must not contain "*"`},
		{"no data", webhook.Event{Type: "a"}, "Data", "use {} or null"},
		{"bad JSON", webhook.Event{Type: "a", Data: []byte(`{"a":`)}, "Data", "valid JSON"},
		{"ID with space", webhook.Event{ID: "evt 1", Type: "a", Data: []byte(`{}`)}, "ID", "printable ASCII"},
		{"long ID", webhook.Event{ID: strings.Repeat("x", 300), Type: "a", Data: []byte(`{}`)}, "ID", "at most 255"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			b.subscribe(t, "https://example.com", "*")
			_, err := b.d.Publish(context.Background(), tc.event)
			require.ErrorIs(t, err, webhook.ErrInvalid)
			var ve *webhook.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, tc.field, ve.Fields[0].Field)
			require.Contains(t, ve.Fields[0].Message, tc.msg)
			ds, err := b.d.DeliveryList(context.Background(), webhook.DeliveryListParams{})
			require.NoError(t, err)
			require.Empty(t, ds, "an invalid event schedules nothing")
		})
	}
}

func TestPublishFillsIDAndTimestamp(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	b := setup(t, &webhook.Config{Now: func() time.Time { return now }})
	res := b.publish(t, webhook.Event{Type: "a"})
	require.True(t, strings.HasPrefix(res.EventID, "evt_"), res.EventID)
	require.Len(t, res.EventID, len("evt_")+26)
	ev, err := b.store.EventGet(context.Background(), res.EventID)
	require.NoError(t, err)
	require.Equal(t, now, ev.Timestamp)
	require.NotEqual(t, res.EventID, b.publish(t, webhook.Event{Type: "a"}).EventID)
}

func TestPublishIsIdempotentByEventID(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.subscribe(t, "https://example.com", "*")
	first := b.publish(t, webhook.Event{ID: "order-42-created", Type: "order.created"})
	require.False(t, first.Duplicate)
	require.Len(t, first.DeliveryIDs, 1)

	again := b.publish(t, webhook.Event{ID: "order-42-created", Type: "order.created", Data: []byte(`{"other":true}`)})
	require.True(t, again.Duplicate)
	require.Empty(t, again.DeliveryIDs)
	require.Equal(t, "order-42-created", again.EventID)

	ds, err := b.d.DeliveryList(context.Background(), webhook.DeliveryListParams{})
	require.NoError(t, err)
	require.Len(t, ds, 1, "a duplicate publish creates no deliveries")
	ev, err := b.store.EventGet(context.Background(), "order-42-created")
	require.NoError(t, err)
	require.JSONEq(t, `{"n":1}`, string(ev.Data), "the first event is kept")
}

func TestPublishMatchesPatternsAndTenants(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, nil)
	mk := func(tenant string, types ...string) string {
		s, err := b.d.SubscriptionCreate(ctx, webhook.Subscription{Tenant: tenant, URL: "https://example.com", EventTypes: types})
		require.NoError(t, err)
		return s.ID
	}
	exact := mk("acme", "invoice.paid")
	prefix := mk("acme", "invoice.*")
	all := mk("acme", "*")
	mk("acme", "order.*")
	mk("globex", "*") // another tenant never sees acme's events.
	mk("", "*")       // nor does the default tenant.

	res := b.publish(t, webhook.Event{Tenant: "acme", Type: "invoice.paid"})
	var subs []string
	for _, id := range res.DeliveryIDs {
		dl, err := b.d.DeliveryGet(ctx, id)
		require.NoError(t, err)
		require.Equal(t, id, dl.ID)
		require.True(t, strings.HasPrefix(id, "dlv_"), id)
		require.Len(t, id, len("dlv_")+26)
		require.Equal(t, res.EventID, dl.EventID)
		require.Equal(t, "acme", dl.Tenant)
		require.Equal(t, webhook.DeliveryPending, dl.State)
		subs = append(subs, dl.SubscriptionID)
	}
	require.ElementsMatch(t, []string{exact, prefix, all}, subs)
	require.Len(t, slices.Compact(slices.Sorted(slices.Values(res.DeliveryIDs))), 3, "delivery IDs are unique")

	require.Empty(t, b.publish(t, webhook.Event{Tenant: "initech", Type: "invoice.paid"}).DeliveryIDs)
}

func TestPublishWithoutSubscriptionsStoresEvent(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	res := b.publish(t, webhook.Event{Type: "a"})
	require.Empty(t, res.DeliveryIDs)
	_, err := b.store.EventGet(context.Background(), res.EventID)
	require.NoError(t, err)
}

func TestPublishSameIDInAnotherTenantIsAConflict(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	ctx := context.Background()
	b.publish(t, webhook.Event{ID: "order-42", Tenant: "acme", Type: "order.created"})
	_, err := b.d.Publish(ctx, webhook.Event{ID: "order-42", Tenant: "globex", Type: "order.created", Data: []byte(`{}`)})
	require.ErrorIs(t, err, webhook.ErrInvalid)
	require.ErrorContains(t, err, "ID: is already used by another tenant's event")
	res := b.publish(t, webhook.Event{ID: "order-42", Tenant: "acme", Type: "order.created"})
	require.True(t, res.Duplicate)
}

func TestPublishRejectsTimestampJSONCannotEncode(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	_, err := b.d.Publish(context.Background(), webhook.Event{Type: "a", Data: []byte(`{}`), Timestamp: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
	require.ErrorIs(t, err, webhook.ErrInvalid)
	require.ErrorContains(t, err, "Timestamp: must be between years 0 and 9999")
}

// The IDs Publish generates for an event and its deliveries sit side by
// side in one string: one allocation however many deliveries it makes.
func TestPublishIDsShareOneString(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	for range 3 {
		b.subscribe(t, "https://example.com", "a")
	}
	res := b.publish(t, webhook.Event{Type: "a"})
	require.Len(t, res.DeliveryIDs, 3)
	next := unsafe.StringData(res.EventID)
	for _, id := range append([]string{res.EventID}, res.DeliveryIDs...) {
		require.Equal(t, next, unsafe.StringData(id), "ID %s is not where the one before it ends", id)
		next = (*byte)(unsafe.Add(unsafe.Pointer(next), len(id)))
	}
}
