// Package dedupetest is the conformance suite for webhook.DedupeStore
// implementations: a store is correct when Run passes against it.
//
//	func TestConformance(t *testing.T) {
//		dedupetest.Run(t, func(t *testing.T) webhook.DedupeStore {
//			return mystore.New(...)
//		})
//	}
package dedupetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooksmith/webhook"
)

// Run checks the rules of webhook.DedupeStore against stores made by
// newStore, a fresh empty store for each subtest. Stores must remember at
// least 100 IDs.
func Run(t *testing.T, newStore func(t *testing.T) webhook.DedupeStore) {
	t.Helper()
	ctx := context.Background()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	t.Run("ClaimFinishClaim", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		requireClaim(t, s, "msg_1", t0, webhook.DedupeClaimed)
		require.NoError(t, s.Finish(ctx, "msg_1", t0, t0.Add(time.Hour)))
		requireClaim(t, s, "msg_1", t0.Add(time.Minute), webhook.DedupeHandled)
		requireClaim(t, s, "msg_1", t0.Add(time.Hour-time.Nanosecond), webhook.DedupeHandled)
		requireClaim(t, s, "msg_2", t0, webhook.DedupeClaimed)
	})

	t.Run("ExpiresAtUntil", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		requireClaim(t, s, "msg_1", t0, webhook.DedupeClaimed)
		require.NoError(t, s.Finish(ctx, "msg_1", t0, t0.Add(time.Hour)))
		requireClaim(t, s, "msg_1", t0.Add(time.Hour), webhook.DedupeClaimed)
		requireClaim(t, s, "msg_1", t0.Add(time.Hour), webhook.DedupeBusy)
		require.NoError(t, s.Finish(ctx, "msg_1", t0.Add(time.Hour), t0.Add(2*time.Hour)))
		requireClaim(t, s, "msg_1", t0.Add(90*time.Minute), webhook.DedupeHandled)
	})

	t.Run("BusyUntilSettled", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		requireClaim(t, s, "msg_1", t0, webhook.DedupeClaimed)
		requireClaim(t, s, "msg_1", t0, webhook.DedupeBusy)
		requireClaim(t, s, "msg_1", t0.Add(24*time.Hour), webhook.DedupeBusy)
		require.NoError(t, s.Release(ctx, "msg_1"))
		requireClaim(t, s, "msg_1", t0, webhook.DedupeClaimed)
	})

	t.Run("ReleaseForgets", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		requireClaim(t, s, "msg_1", t0, webhook.DedupeClaimed)
		require.NoError(t, s.Release(ctx, "msg_1"))
		requireClaim(t, s, "msg_1", t0, webhook.DedupeClaimed)
		require.NoError(t, s.Release(ctx, "msg_1"))
		require.NoError(t, s.Release(ctx, "never_claimed"))
		requireClaim(t, s, "never_claimed", t0, webhook.DedupeClaimed)
	})

	t.Run("ReleaseKeepsHandled", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		requireClaim(t, s, "msg_1", t0, webhook.DedupeClaimed)
		require.NoError(t, s.Finish(ctx, "msg_1", t0, t0.Add(time.Hour)))
		require.NoError(t, s.Release(ctx, "msg_1"))
		requireClaim(t, s, "msg_1", t0, webhook.DedupeHandled)
	})

	t.Run("ManyIDs", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for i := range 100 {
			id := fmt.Sprintf("msg_%03d", i)
			requireClaim(t, s, id, t0, webhook.DedupeClaimed)
			require.NoError(t, s.Finish(ctx, id, t0, t0.Add(time.Hour)))
		}
		for i := range 100 {
			requireClaim(t, s, fmt.Sprintf("msg_%03d", i), t0.Add(time.Minute), webhook.DedupeHandled)
		}
	})

	t.Run("ConcurrentClaimsOneWinner", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		const n = 16
		results := make(chan webhook.DedupeStatus, n)
		errs := make(chan error, n)
		var start sync.WaitGroup
		start.Add(1)
		for range n {
			go func() {
				start.Wait()
				st, err := s.Claim(ctx, "msg_race", t0)
				results <- st
				errs <- err
			}()
		}
		start.Done()
		claimed := 0
		for range n {
			require.NoError(t, <-errs)
			st := <-results
			if st == webhook.DedupeClaimed {
				claimed++
			} else {
				require.Equal(t, webhook.DedupeBusy, st)
			}
		}
		require.Equal(t, 1, claimed)
	})
}

func requireClaim(t *testing.T, s webhook.DedupeStore, id string, now time.Time, want webhook.DedupeStatus) {
	t.Helper()
	got, err := s.Claim(context.Background(), id, now)
	require.NoError(t, err)
	require.Equal(t, want, got, "Claim(%q, %s)", id, now.Format(time.RFC3339Nano))
}
