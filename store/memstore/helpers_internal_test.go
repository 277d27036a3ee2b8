package memstore

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooksmith/webhook"
)

// t0 is the clock of the internal tests.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// oneDelivery returns event "evt_"+id of type "a" with its one pending
// delivery "dlv_"+id to sub_1, due at t0, for EventInsert.
func oneDelivery(id string) (*webhook.Event, []*webhook.Delivery) {
	return &webhook.Event{ID: "evt_" + id, Type: "a", Timestamp: t0, Data: []byte(`{}`)},
		[]*webhook.Delivery{{ID: "dlv_" + id, EventID: "evt_" + id, EventType: "a", SubscriptionID: "sub_1",
			State: webhook.DeliveryPending, NextAttemptAt: t0, CreatedAt: t0, UpdatedAt: t0}}
}

// storeWith returns a new Store holding oneDelivery(id) for each id.
func storeWith(t *testing.T, ids ...string) *Store {
	t.Helper()
	m := New()
	for _, id := range ids {
		e, ds := oneDelivery(id)
		require.NoError(t, m.EventInsert(context.Background(), e, ds, nil))
	}
	return m
}
