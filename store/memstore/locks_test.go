package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooksmith/webhook"
	"github.com/hooksmith/webhook/store/memstore"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// insert stores event n with one delivery, due at t0.
func insert(ctx context.Context, s *memstore.Store, n int) error {
	id := fmt.Sprintf("%06d", n)
	e := &webhook.Event{ID: "evt_" + id, Type: "a", Timestamp: t0, Data: []byte(`{}`)}
	d := &webhook.Delivery{ID: "dlv_" + id, EventID: e.ID, EventType: "a", SubscriptionID: "sub_1",
		State: webhook.DeliveryPending, NextAttemptAt: t0, CreatedAt: t0, UpdatedAt: t0}
	return s.EventInsert(ctx, e, []*webhook.Delivery{d}, nil)
}

// The reads of the delivery path do not wait for a claim: a claim whose
// Exclude blocks (it runs with the deliveries locked) until they are done
// would never end if they did.
func TestReadsDoNotWaitForClaims(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := memstore.New()
	require.NoError(t, s.SubscriptionInsert(ctx, &webhook.Subscription{ID: "sub_1", URL: "https://example.com", EventTypes: []string{"a"}}))
	require.NoError(t, insert(ctx, s, 1))

	inClaim, readsDone := make(chan struct{}), make(chan struct{})
	claimed := make(chan []*webhook.Delivery, 1)
	go func() {
		ds, _ := s.DeliveryClaim(ctx, webhook.ClaimParams{Now: t0, Limit: 1, LeaseToken: "lease_1", LeasedUntil: t0.Add(time.Minute),
			Exclude: func(string) bool {
				close(inClaim)
				<-readsDone
				return false
			}})
		claimed <- ds
	}()
	<-inClaim
	reads := make(chan error, 1)
	go func() {
		_, err1 := s.SubscriptionGet(ctx, "sub_1")
		_, err2 := s.EventGet(ctx, "evt_000001")
		subs, err3 := s.SubscriptionMatch(ctx, "", "a")
		if err := errors.Join(err1, err2, err3); err != nil {
			reads <- err
			return
		}
		if len(subs) != 1 {
			reads <- fmt.Errorf("SubscriptionMatch returned %d subscriptions, want 1", len(subs))
			return
		}
		reads <- nil
	}()
	select {
	case err := <-reads:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		close(readsDone)
		t.Fatal("the reads waited for the claim")
	}
	close(readsDone)
	require.Len(t, <-claimed, 1)
}

// A delivery claimed as soon as EventInsert queued it has its event stored
// already: a worker that claims it finds the event.
func TestClaimedDeliveryHasItsEvent(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	s := memstore.New()
	const events = 2000
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range events {
			if err := insert(ctx, s, i); err != nil {
				errs <- err
				return
			}
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for got := 0; got < events; {
			ds, err := s.DeliveryClaim(ctx, webhook.ClaimParams{Now: t0, Limit: 8, LeaseToken: "lease_1", LeasedUntil: t0.Add(time.Hour)})
			if err != nil {
				errs <- err
				return
			}
			for _, d := range ds {
				if _, err := s.EventGet(ctx, d.EventID); err != nil {
					errs <- fmt.Errorf("delivery %s claimed before its event was stored: %w", d.ID, err)
					return
				}
			}
			got += len(ds)
		}
	}()
	wg.Wait()
	close(errs)
	require.NoError(t, <-errs)
}
