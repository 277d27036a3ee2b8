package boltstore

import (
	"errors"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.etcd.io/bbolt"

	"github.com/hooksmith/webhook"
)

// TestDeliveryUpdateClaimRetried puts a DeliveryUpdateClaim in a group
// that fails because of another write: retried alone, it reports what that
// run did, not what the failed run did as well.
func TestDeliveryUpdateClaimRetried(t *testing.T) {
	t0 := time.Date(2030, time.March, 4, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		token   string
		wantErr error
	}{
		{"applied", "lease_1", nil},
		{"rejected", "lease_wrong", webhook.ErrLeaseLost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(filepath.Join(t.TempDir(), "hooks.db"), &Options{NoSync: true, PurgeInterval: -1})
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, s.Close()) })
			ctx := t.Context()
			var ds []*webhook.Delivery
			for _, d := range []struct {
				id  string
				due time.Time
			}{{"d1", t0.Add(-time.Minute)}, {"d2", t0}} {
				ds = append(ds, &webhook.Delivery{
					ID: d.id, EventID: "evt_1", EventType: "invoice.paid", SubscriptionID: "sub_1",
					State: webhook.DeliveryPending, NextAttemptAt: d.due, CreatedAt: t0, UpdatedAt: t0,
				})
			}
			require.NoError(t, s.EventInsert(ctx, &webhook.Event{ID: "evt_1", Type: "invoice.paid", Timestamp: t0, Data: []byte(`{}`)}, ds, nil))
			claimed, err := s.DeliveryClaim(ctx, webhook.ClaimParams{Now: t0, Limit: 1, LeaseToken: "lease_1", LeasedUntil: t0.Add(time.Hour)})
			require.NoError(t, err)
			require.Len(t, claimed, 1)

			// Hold the committer in a transaction while the two writes
			// queue up behind it, in order, to form the next group.
			started, release := make(chan struct{}), make(chan struct{})
			held := make(chan error, 1)
			go func() {
				held <- s.writes.do(ctx, func(*bbolt.Tx) error {
					close(started)
					<-release
					return nil
				})
			}()
			<-started
			type result struct {
				ds  []*webhook.Delivery
				err error
			}
			updated := make(chan result, 1)
			go func() {
				ds, err := s.DeliveryUpdateClaim(ctx, webhook.DeliveryUpdate{
					DeliveryID: "d1", LeaseToken: tt.token, Attempt: &webhook.Attempt{StartedAt: t0, StatusCode: 200},
					State: webhook.DeliverySucceeded, AttemptCount: 1, UpdatedAt: t0,
				}, webhook.ClaimParams{Now: t0, Limit: 10, LeaseToken: "lease_2", LeasedUntil: t0.Add(time.Minute)})
				updated <- result{ds, err}
			}()
			waitQueued(s, 1)
			boom := errors.New("boom")
			failed := make(chan error, 1)
			go func() { failed <- s.writes.do(ctx, func(*bbolt.Tx) error { return boom }) }()
			waitQueued(s, 2)
			close(release)

			require.NoError(t, <-held)
			require.ErrorIs(t, <-failed, boom)
			got := <-updated
			if tt.wantErr != nil {
				require.ErrorIs(t, got.err, tt.wantErr)
			} else {
				require.NoError(t, got.err)
			}
			require.Len(t, got.ds, 1, "claimed once, by the run that committed")
			require.Equal(t, "d2", got.ds[0].ID)
			d1, err := s.DeliveryGet(ctx, "d1")
			require.NoError(t, err)
			if tt.wantErr != nil {
				require.Equal(t, webhook.DeliveryPending, d1.State)
				require.Empty(t, d1.Attempts)
			} else {
				require.Equal(t, webhook.DeliverySucceeded, d1.State)
				require.Len(t, d1.Attempts, 1, "the attempt is logged once")
			}
		})
	}
}

// waitQueued waits until n writes wait in the committer's queue. It only
// yields: the writes are on their way already.
func waitQueued(s *Store, n int) {
	for len(s.writes.queue) < n {
		runtime.Gosched()
	}
}
