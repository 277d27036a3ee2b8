package boltstore_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.etcd.io/bbolt"

	"github.com/hooksmith/webhook"
	"github.com/hooksmith/webhook/store/boltstore"
)

func openTemp(t *testing.T, opts *boltstore.Options) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "hooks.db"), opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// TestGroupCommitOutcomes publishes from many goroutines at once, with
// duplicates and one write bbolt refuses mixed in: each caller gets its own
// outcome, whatever group its write landed in.
func TestGroupCommitOutcomes(t *testing.T) {
	s := openTemp(t, nil)
	const (
		callers = 32
		events  = 20
	)
	results := make([][]error, callers)
	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			for i := range events {
				id := fmt.Sprintf("evt_%03d", i) // every caller publishes the same IDs
				err := s.EventInsert(t.Context(), event(id, t0), []*webhook.Delivery{delivery(fmt.Sprintf("dlv_%03d_%02d", i, c), id, t0)}, nil)
				results[c] = append(results[c], err)
			}
		})
	}
	var badErr error
	wg.Go(func() {
		// bbolt refuses keys over 32 KiB: the group fails and each of
		// its writes is retried alone.
		badErr = s.EventInsert(t.Context(), event(strings.Repeat("x", 40<<10), t0), nil, nil)
	})
	wg.Wait()
	require.Error(t, badErr)
	require.NotErrorIs(t, badErr, webhook.ErrEventExists)

	for i := range events {
		won := 0
		for c := range callers {
			err := results[c][i]
			if err == nil {
				won++
				continue
			}
			require.ErrorIs(t, err, webhook.ErrEventExists)
		}
		require.Equal(t, 1, won, "event %d: exactly one caller stores it", i)
		ds, err := s.DeliveryList(t.Context(), webhook.DeliveryListParams{EventID: fmt.Sprintf("evt_%03d", i)})
		require.NoError(t, err)
		require.Len(t, ds, 1, "event %d: only the winner's delivery is stored", i)
	}
}

func TestClosed(t *testing.T) {
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "hooks.db"), nil)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close twice is harmless")
	ctx := t.Context()
	calls := map[string]error{
		"EventInsert":        s.EventInsert(ctx, event("evt_1", t0), nil, nil),
		"SubscriptionInsert": s.SubscriptionInsert(ctx, &webhook.Subscription{ID: "sub_1"}),
		"DeliveryUpdate":     s.DeliveryUpdate(ctx, webhook.DeliveryUpdate{DeliveryID: "d", LeaseToken: "l"}),
		"DeliveryRelease":    s.DeliveryRelease(ctx, "d", "l"),
	}
	_, calls["DeliveryClaim"] = s.DeliveryClaim(ctx, webhook.ClaimParams{Now: t0, Limit: 1})
	_, calls["DeliveryUpdateClaim"] = s.DeliveryUpdateClaim(ctx, webhook.DeliveryUpdate{DeliveryID: "d", LeaseToken: "l"}, webhook.ClaimParams{Now: t0, Limit: 1})
	_, _, calls["DeliveryNextDue"] = s.DeliveryNextDue(ctx, nil)
	_, calls["SubscriptionMatch"] = s.SubscriptionMatch(ctx, "", "a")
	_, calls["DeliveryReset"] = s.DeliveryReset(ctx, "d", t0)
	_, calls["Purge"] = s.Purge(ctx, t0)
	for name, err := range calls {
		require.ErrorIs(t, err, boltstore.ErrClosed, name)
	}
}

func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hooks.db")
	s, err := boltstore.Open(path, nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	_, err = boltstore.Open(path, &boltstore.Options{OpenTimeout: 50 * time.Millisecond})
	require.ErrorContains(t, err, "is locked: another Store or process has it open")
}

// recordChan is a slog.Handler that sends each record's message on a
// channel, so a test can wait for a log line instead of sleeping.
type recordChan chan string

func (c recordChan) Enabled(context.Context, slog.Level) bool { return true }
func (c recordChan) Handle(_ context.Context, r slog.Record) error {
	select {
	case c <- r.Message:
	default: // never block the store
	}
	return nil
}
func (c recordChan) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c recordChan) WithGroup(string) slog.Handler      { return c }

func TestBackgroundPurge(t *testing.T) {
	logs := make(recordChan, 16)
	s := openTemp(t, &boltstore.Options{
		Logger:        slog.New(logs),
		Now:           func() time.Time { return t0 },
		PurgeInterval: time.Millisecond,
		Retention:     time.Hour,
	})
	d := delivery("dlv_1", "evt_old", t0)
	d.State = webhook.DeliverySucceeded
	require.NoError(t, s.EventInsert(t.Context(), event("evt_old", t0.Add(-2*time.Hour)), []*webhook.Delivery{d}, nil))
	require.NoError(t, s.EventInsert(t.Context(), event("evt_new", t0), nil, nil))

	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	select {
	case msg := <-logs:
		require.Equal(t, "webhook store purged", msg)
	case <-timeout.C:
		t.Fatal("the background purge did not run within 10s")
	}
	_, err := s.EventGet(t.Context(), "evt_old")
	require.ErrorIs(t, err, webhook.ErrNotFound)
	_, err = s.DeliveryGet(t.Context(), "dlv_1")
	require.ErrorIs(t, err, webhook.ErrNotFound)
	_, err = s.EventGet(t.Context(), "evt_new")
	require.NoError(t, err)
}

// TestGroupCommitSkipsAbandonedWrites cancels a Publish while the writer
// lock is held elsewhere: the caller gets its context's error and the event
// is not stored behind its back.
func TestGroupCommitSkipsAbandonedWrites(t *testing.T) {
	s := openTemp(t, nil)
	started, release := make(chan struct{}), make(chan struct{})
	locked := make(chan error, 1)
	go func() {
		locked <- s.DB().Update(func(*bbolt.Tx) error {
			close(started)
			<-release
			return nil
		})
	}()
	<-started

	ctx, cancel := context.WithCancel(t.Context())
	published := make(chan error, 1)
	go func() {
		published <- s.EventInsert(ctx, event("evt_abandoned", t0), []*webhook.Delivery{delivery("dlv_1", "evt_abandoned", t0)}, nil)
	}()
	runtime.Gosched() // give the write a chance to be queued first
	cancel()
	require.ErrorIs(t, <-published, context.Canceled)
	close(release)
	require.NoError(t, <-locked)

	// A later write commits after the abandoned one would have.
	require.NoError(t, s.EventInsert(t.Context(), event("evt_after", t0), nil, nil))
	_, err := s.EventGet(t.Context(), "evt_abandoned")
	require.ErrorIs(t, err, webhook.ErrNotFound)
	_, err = s.DeliveryGet(t.Context(), "dlv_1")
	require.ErrorIs(t, err, webhook.ErrNotFound)
}
