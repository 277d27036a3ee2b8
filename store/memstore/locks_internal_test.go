package memstore

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooksmith/webhook"
)

// A Publish waiting for a long reader of the events (EventList, FeedRead)
// does so before it takes the queue lock: claims go on meanwhile.
func TestClaimsDoNotWaitForEventReaders(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := storeWith(t, "1")

	m.evMu.RLock() // a reader of the events that takes its time
	inserted := make(chan error, 1)
	go func() {
		e, ds := oneDelivery("2")
		inserted <- m.EventInsert(ctx, e, ds, nil)
	}()
	// Give the insert every chance to take the queue lock if it were to.
	require.Never(t, func() bool { return len(inserted) > 0 }, 50*time.Millisecond, time.Millisecond)

	claimed := make(chan []*webhook.Delivery, 1)
	go func() {
		got, _ := m.DeliveryClaim(ctx, webhook.ClaimParams{Now: t0, Limit: 1, LeaseToken: "lease_1", LeasedUntil: t0.Add(time.Minute)})
		claimed <- got
	}()
	select {
	case got := <-claimed:
		require.Len(t, got, 1)
		require.Equal(t, "dlv_1", got[0].ID)
	case <-time.After(10 * time.Second):
		m.evMu.RUnlock()
		t.Fatal("the claim waited for the reader of the events")
	}
	m.evMu.RUnlock()
	require.NoError(t, <-inserted)
}
