package memstore

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooksmith/webhook"
)

// A report with an empty lease token is refused, even when the lease
// table's slot for "" holds that delivery with its lease over (tokens share
// slots, and a finished delivery's token is empty).
func TestEmptyLeaseTokenIsRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := storeWith(t, "1")
	claimed, err := m.DeliveryClaim(ctx, webhook.ClaimParams{Now: t0, Limit: 1, LeaseToken: "lease_1", LeasedUntil: t0.Add(time.Minute)})
	require.NoError(t, err)
	require.Len(t, claimed, 1)
	require.NoError(t, m.DeliveryRelease(ctx, "dlv_1", "lease_1")) // the lease is over: its token is empty

	m.mu.Lock()
	*m.leaseSlot("") = m.deliveries["dlv_1"]
	m.mu.Unlock()
	require.ErrorIs(t, m.DeliveryRelease(ctx, "dlv_1", ""), webhook.ErrLeaseLost)
	require.ErrorIs(t, m.DeliveryUpdate(ctx, webhook.DeliveryUpdate{DeliveryID: "dlv_1", State: webhook.DeliverySucceeded, UpdatedAt: t0}), webhook.ErrLeaseLost)
}
