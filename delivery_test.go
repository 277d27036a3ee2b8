package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooksmith/webhook"
	"github.com/hooksmith/webhook/store/boltstore"
	"github.com/hooksmith/webhook/store/memstore"
)

func TestDeliverySignedAndVerified(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	rcv := newReceiver(t)
	ctx := context.Background()
	sub, err := b.d.SubscriptionCreate(ctx, webhook.Subscription{
		URL:        rcv.URL + "/hooks",
		EventTypes: []string{"invoice.paid"},
		Headers:    map[string]string{"X-Team": "billing"},
	})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(sub.Secret, "whsec_"))
	b.start(t)

	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	res := b.publish(t, webhook.Event{Type: "invoice.paid", Timestamp: ts, Data: []byte(`{"amount": 42}`)})
	require.Len(t, res.DeliveryIDs, 1)

	got := rcv.next(t)
	require.Equal(t, http.MethodPost, got.Method)
	require.NoError(t, webhook.Verify(sub.Secret, got.Body, got.Header))
	require.Equal(t, res.EventID, got.Header.Get("webhook-id"))
	require.Equal(t, "application/json", got.Header.Get("Content-Type"))
	require.Equal(t, "hooksmith/"+webhook.Version, got.Header.Get("User-Agent"))
	require.Equal(t, "billing", got.Header.Get("X-Team"))
	require.JSONEq(t, `{"id":"`+res.EventID+`","type":"invoice.paid","timestamp":"2026-01-02T03:04:05Z","data":{"amount":42}}`, string(got.Body))

	// A wrong secret does not verify the same message.
	require.ErrorIs(t, webhook.Verify(webhook.NewSecret(), got.Body, got.Header), webhook.ErrNoMatchingSignature)

	u := b.nextUpdate(t)
	require.Equal(t, webhook.DeliverySucceeded, u.State)
	dl, err := b.d.DeliveryGet(ctx, res.DeliveryIDs[0])
	require.NoError(t, err)
	require.Equal(t, webhook.DeliverySucceeded, dl.State)
	require.Len(t, dl.Attempts, 1)
	require.Equal(t, http.StatusNoContent, dl.Attempts[0].StatusCode)
	require.Empty(t, dl.Attempts[0].Error)
}

func TestDeliveryMethods(t *testing.T) {
	t.Parallel()
	for _, method := range []string{"PUT", "DELETE", "post"} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			rcv := newReceiver(t)
			_, err := b.d.SubscriptionCreate(context.Background(), webhook.Subscription{URL: rcv.URL, Method: method, EventTypes: []string{"*"}})
			require.NoError(t, err)
			b.start(t)
			b.publish(t, webhook.Event{Type: "a"})
			require.Equal(t, strings.ToUpper(method), rcv.next(t).Method)
		})
	}
}

func TestDeliveryRetriesAfterServerErrorThenSucceeds(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	rcv := newReceiver(t, func(w http.ResponseWriter) {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("database down"))
	}, status(http.StatusOK))
	sub := b.subscribe(t, rcv.URL, "order.created")
	b.start(t)
	res := b.publish(t, webhook.Event{Type: "order.created"})

	first := rcv.next(t)
	second := rcv.next(t)
	// The retry is the same message, signed again.
	require.Equal(t, first.Header.Get("webhook-id"), second.Header.Get("webhook-id"))
	require.NoError(t, webhook.Verify(sub.Secret, second.Body, second.Header))

	require.Equal(t, webhook.DeliveryPending, b.nextUpdate(t).State)
	require.Equal(t, webhook.DeliverySucceeded, b.nextUpdate(t).State)
	dl, err := b.d.DeliveryGet(context.Background(), res.DeliveryIDs[0])
	require.NoError(t, err)
	require.Len(t, dl.Attempts, 2)
	require.Equal(t, 500, dl.Attempts[0].StatusCode)
	require.Equal(t, "database down", dl.Attempts[0].ResponseBody)
	require.Contains(t, dl.Attempts[0].Error, "500")
	require.Equal(t, []int{1, 2}, []int{dl.Attempts[0].Number, dl.Attempts[1].Number})
	require.Equal(t, 2, dl.AttemptCount)
}

func TestDeliveryResponseBodyKeptUpTo4KiB(t *testing.T) {
	t.Parallel()
	b := setup(t, &webhook.Config{MaxAttempts: 1})
	rcv := newReceiver(t, func(w http.ResponseWriter) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(strings.Repeat("x", 10_000)))
	})
	b.subscribe(t, rcv.URL, "*")
	b.start(t)
	res := b.publish(t, webhook.Event{Type: "a"})
	require.Equal(t, webhook.DeliveryFailed, b.nextUpdate(t).State)
	dl, err := b.d.DeliveryGet(context.Background(), res.DeliveryIDs[0])
	require.NoError(t, err)
	require.Len(t, dl.Attempts[0].ResponseBody, 4096)
	require.Contains(t, dl.LastError, "gave up after 1 attempts")
}

func TestDeliveryHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name          string
		code          int
		retryAfter    string
		maxRetryAfter time.Duration
		want          time.Duration
	}{
		{"429 seconds", http.StatusTooManyRequests, "120", 0, 120 * time.Second},
		{"503 seconds", http.StatusServiceUnavailable, "30", 0, 30 * time.Second},
		{"429 capped", http.StatusTooManyRequests, "7200", 10 * time.Minute, 10 * time.Minute},
		{"429 http date", http.StatusTooManyRequests, now.Add(90 * time.Second).Format(http.TimeFormat), 0, 90 * time.Second},
		{"429 without header uses backoff", http.StatusTooManyRequests, "", 0, 7 * time.Second},
		{"500 ignores header", http.StatusInternalServerError, "120", 0, 7 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, &webhook.Config{
				Now:           func() time.Time { return now },
				Backoff:       func(int) time.Duration { return 7 * time.Second },
				MaxRetryAfter: tc.maxRetryAfter,
			})
			rcv := newReceiver(t, func(w http.ResponseWriter) {
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				w.WriteHeader(tc.code)
			})
			b.subscribe(t, rcv.URL, "*")
			b.start(t)
			b.publish(t, webhook.Event{Type: "a"})
			u := b.nextUpdate(t)
			require.Equal(t, webhook.DeliveryPending, u.State)
			require.Equal(t, now.Add(tc.want), u.NextAttemptAt)
		})
	}
}

func TestDeliveryGoneDisablesSubscription(t *testing.T) {
	t.Parallel()
	// One attempt at a time, so the next delivery comes up only after the
	// first answer was recorded and disabled the subscription, however
	// many workers are idle.
	b := setup(t, &webhook.Config{MaxInFlightPerSubscription: 1, Workers: 8})
	rcv := newReceiver(t, status(http.StatusGone))
	sub := b.subscribe(t, rcv.URL, "*")
	ctx := context.Background()
	const events = 20
	for range events {
		b.publish(t, webhook.Event{Type: "a"})
	}
	b.start(t)

	u := b.nextUpdate(t)
	require.Equal(t, webhook.DeliveryFailed, u.State)
	require.Contains(t, u.LastError, "410")
	for range events - 1 {
		u = b.nextUpdate(t)
		require.Equal(t, webhook.DeliveryCanceled, u.State)
		require.Equal(t, "subscription is disabled", u.LastError)
	}
	require.Len(t, rcv.got, 1, "no delivery is sent after the 410")

	got, err := b.d.SubscriptionGet(ctx, sub.ID)
	require.NoError(t, err)
	require.True(t, got.Disabled)
}

func TestDeliveryTimeout(t *testing.T) {
	t.Parallel()
	retryErrs := make(chan error, 1)
	b := setup(t, &webhook.Config{AttemptTimeout: 50 * time.Millisecond, Backoff: func(int) time.Duration { return time.Hour },
		CheckRetry: func(code int, err error) bool { retryErrs <- err; return true }})
	release := make(chan struct{})
	rcv := newReceiver(t, func(w http.ResponseWriter) { <-release })
	t.Cleanup(func() { close(release) }) // before rcv.Close, which waits for handlers.
	b.subscribe(t, rcv.URL, "*")
	b.start(t)
	res := b.publish(t, webhook.Event{Type: "a"})
	u := b.nextUpdate(t)
	require.Equal(t, webhook.DeliveryPending, u.State)
	require.Equal(t, res.DeliveryIDs[0], u.DeliveryID)
	require.Contains(t, u.LastError, "attempt timeout reached (50ms)")
	require.Zero(t, u.Attempt.StatusCode)
	require.ErrorIs(t, <-retryErrs, webhook.ErrAttemptTimeout, "a retry policy can tell a timeout")
}

// What a resolver or transform ties to its context is released when the
// attempt ends, although the worker goes on to its next attempt.
func TestAttemptContextEndsWithAttempt(t *testing.T) {
	t.Parallel()
	ended := make(chan struct{}, 10)
	resolver := resolverFunc(func(ctx context.Context, ref string) (string, error) {
		context.AfterFunc(ctx, func() { ended <- struct{}{} })
		return "tok", nil
	})
	b := setup(t, &webhook.Config{Secrets: resolver})
	rcv := newReceiver(t)
	b.subscribeBearerRef(t, rcv.URL)
	b.start(t)
	b.publish(t, webhook.Event{Type: "a"})
	require.Equal(t, webhook.DeliverySucceeded, b.nextUpdate(t).State)
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the attempt's context was not cancelled after the attempt")
	}
}

// gatedClaim holds the first claim of more than one delivery (the loop's)
// until claiming stops, then lets it through as a store that had passed
// its context check would: the loop then has deliveries to hand over
// after claiming stopped.
type gatedClaim struct {
	*spyStore
	armed   atomic.Bool
	entered chan struct{}
	largest atomic.Int64 // the largest Limit asked for
}

func (s *gatedClaim) DeliveryClaim(ctx context.Context, p webhook.ClaimParams) ([]*webhook.Delivery, error) {
	if int64(p.Limit) > s.largest.Load() {
		s.largest.Store(int64(p.Limit))
	}
	if p.Limit > 1 && s.armed.CompareAndSwap(true, false) {
		s.entered <- struct{}{}
		<-ctx.Done()
		ctx = context.WithoutCancel(ctx)
	}
	return s.spyStore.DeliveryClaim(ctx, p)
}

// Deliveries claimed as claiming stops are given back, and the count of
// busy workers stays right for the next run (second read of the worker
// pool: it drifted, and the next run claimed more than Config.Workers).
func TestClaimStoppedMidHandoverKeepsCounts(t *testing.T) {
	t.Parallel()
	fixed := time.Now() // one instant: claims see every delivery due at once
	spy := &spyStore{Store: memstore.New(), updates: make(chan webhook.DeliveryUpdate, 100)}
	s := &gatedClaim{spyStore: spy, entered: make(chan struct{}, 1)}
	d, err := webhook.NewDispatcher(s, &webhook.Config{Workers: 2, AllowPrivateNetworks: true, Now: func() time.Time { return fixed }})
	require.NoError(t, err)
	rcv := newReceiver(t)
	_, err = d.SubscriptionCreate(t.Context(), webhook.Subscription{URL: rcv.URL, EventTypes: []string{"a"}})
	require.NoError(t, err)
	publish := func() {
		_, err := d.Publish(t.Context(), webhook.Event{Type: "a", Data: []byte(`{}`)})
		require.NoError(t, err)
	}
	outcome := func() {
		select {
		case u := <-spy.updates:
			require.Equal(t, webhook.DeliverySucceeded, u.State)
		case <-time.After(10 * time.Second):
			t.Fatal("no outcome within 10s")
		}
	}
	publish()
	publish()
	require.NoError(t, d.Start(context.Background())) // starts both workers
	outcome()
	outcome()
	require.Eventually(t, func() bool { return webhook.Active(d) == 0 }, 10*time.Second, time.Millisecond, "both workers idle")

	s.armed.Store(true)
	publish()
	<-s.entered // the loop's claim waits for claiming to stop
	publish()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, d.Shutdown(ctx))
	require.Zero(t, webhook.Active(d), "busy workers after Shutdown")

	require.NoError(t, d.Start(context.Background()))
	publish()
	outcome() // the two given back, and the new one
	outcome()
	outcome()
	require.NoError(t, d.Shutdown(ctx))
	require.LessOrEqual(t, s.largest.Load(), int64(2), "a claim asked for more deliveries than Config.Workers")
}

// countingStore counts how the Dispatcher writes outcomes back.
type countingStore struct {
	webhook.Store
	updates, updateClaims atomic.Int64
}

func (s *countingStore) DeliveryUpdate(ctx context.Context, u webhook.DeliveryUpdate) error {
	s.updates.Add(1)
	return s.Store.DeliveryUpdate(ctx, u)
}

// updateClaimCounter is a countingStore that is a DeliveryUpdateClaimer.
type updateClaimCounter struct{ *countingStore }

func (s updateClaimCounter) DeliveryUpdateClaim(ctx context.Context, u webhook.DeliveryUpdate, p webhook.ClaimParams) ([]*webhook.Delivery, error) {
	s.updateClaims.Add(1)
	return s.Store.(webhook.DeliveryUpdateClaimer).DeliveryUpdateClaim(ctx, u, p)
}

// Workers record each outcome and claim their next delivery in one store
// call when the store is a DeliveryUpdateClaimer, and in two otherwise;
// either way every delivery is attempted, retried and recorded once per
// attempt, and the per-subscription limit holds.
func TestWorkersRecordAndClaim(t *testing.T) {
	t.Parallel()
	for _, combined := range []bool{true, false} {
		t.Run(fmt.Sprintf("DeliveryUpdateClaimer=%v", combined), func(t *testing.T) {
			t.Parallel()
			counts := &countingStore{Store: memstore.New()}
			var st webhook.Store = counts
			if combined {
				st = updateClaimCounter{counts}
			}
			d, err := webhook.NewDispatcher(st, &webhook.Config{
				Workers: 4, MaxInFlightPerSubscription: 2, AllowPrivateNetworks: true,
				Backoff: func(int) time.Duration { return 0 },
			})
			require.NoError(t, err)
			var inFlight, most atomic.Int64
			var seen sync.Map // webhook-id -> attempts so far
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := inFlight.Add(1)
				defer inFlight.Add(-1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				v, _ := seen.LoadOrStore(r.Header.Get(webhook.HeaderID), new(atomic.Int64))
				if v.(*atomic.Int64).Add(1) == 1 {
					w.WriteHeader(http.StatusInternalServerError) // every event's first attempt
					return
				}
				w.WriteHeader(http.StatusNoContent)
			}))
			t.Cleanup(srv.Close)
			ctx := t.Context()
			_, err = d.SubscriptionCreate(ctx, webhook.Subscription{URL: srv.URL, EventTypes: []string{"a"}})
			require.NoError(t, err)
			const events = 20
			for range events {
				_, err := d.Publish(ctx, webhook.Event{Type: "a", Data: []byte(`{}`)})
				require.NoError(t, err)
			}
			require.NoError(t, d.Start(context.Background()))
			require.Eventually(t, func() bool {
				ds, err := d.DeliveryList(ctx, webhook.DeliveryListParams{State: webhook.DeliverySucceeded})
				return err == nil && len(ds) == events
			}, 10*time.Second, time.Millisecond)
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			require.NoError(t, d.Shutdown(sctx))

			ds, err := d.DeliveryList(ctx, webhook.DeliveryListParams{})
			require.NoError(t, err)
			for _, dl := range ds {
				require.Len(t, dl.Attempts, 2, "delivery %s", dl.ID)
				require.Equal(t, 500, dl.Attempts[0].StatusCode)
				require.Equal(t, 204, dl.Attempts[1].StatusCode)
			}
			require.LessOrEqual(t, most.Load(), int64(2), "MaxInFlightPerSubscription exceeded")
			require.Zero(t, webhook.Active(d))
			writes := counts.updates.Load() + counts.updateClaims.Load()
			require.Equal(t, int64(2*events), writes, "one write per attempt")
			if combined {
				require.Positive(t, counts.updateClaims.Load(), "workers that go on claiming write outcomes with DeliveryUpdateClaim")
			} else {
				require.Zero(t, counts.updateClaims.Load())
			}
		})
	}
}

func TestDeliveryRedirectNotFollowed(t *testing.T) {
	t.Parallel()
	b := setup(t, &webhook.Config{MaxAttempts: 1})
	target := newReceiver(t)
	rcv := newReceiver(t, func(w http.ResponseWriter) {
		w.Header().Set("Location", target.URL)
		w.WriteHeader(http.StatusFound)
	})
	b.subscribe(t, rcv.URL, "*")
	b.start(t)
	b.publish(t, webhook.Event{Type: "a"})
	u := b.nextUpdate(t)
	require.Equal(t, webhook.DeliveryFailed, u.State)
	require.Equal(t, http.StatusFound, u.Attempt.StatusCode)
	require.Contains(t, u.LastError, "redirects are not followed")
	require.Empty(t, target.got, "the redirect target must not be called")
}

func TestDeliveryRetryPolicyAndMaxAttempts(t *testing.T) {
	t.Parallel()
	t.Run("max attempts", func(t *testing.T) {
		t.Parallel()
		b := setup(t, &webhook.Config{MaxAttempts: 3})
		rcv := newReceiver(t, status(http.StatusBadGateway))
		b.subscribe(t, rcv.URL, "*")
		b.start(t)
		res := b.publish(t, webhook.Event{Type: "a"})
		require.Equal(t, webhook.DeliveryPending, b.nextUpdate(t).State)
		require.Equal(t, webhook.DeliveryPending, b.nextUpdate(t).State)
		u := b.nextUpdate(t)
		require.Equal(t, webhook.DeliveryFailed, u.State)
		require.Contains(t, u.LastError, "gave up after 3 attempts")
		dl, err := b.d.DeliveryGet(context.Background(), res.DeliveryIDs[0])
		require.NoError(t, err)
		require.Len(t, dl.Attempts, 3)
	})
	t.Run("check retry", func(t *testing.T) {
		t.Parallel()
		var sawCode atomic.Int64
		b := setup(t, &webhook.Config{CheckRetry: func(code int, err error) bool {
			sawCode.Store(int64(code))
			return code >= 500
		}})
		rcv := newReceiver(t, status(http.StatusUnprocessableEntity))
		b.subscribe(t, rcv.URL, "*")
		b.start(t)
		b.publish(t, webhook.Event{Type: "a"})
		u := b.nextUpdate(t)
		require.Equal(t, webhook.DeliveryFailed, u.State)
		require.Contains(t, u.LastError, "not retried")
		require.EqualValues(t, 422, sawCode.Load())
	})
}

func TestDeliveryRefusesPrivateAddressesByDefault(t *testing.T) {
	t.Parallel()
	s := &spyStore{Store: memstore.New(), updates: make(chan webhook.DeliveryUpdate, 10)}
	d, err := webhook.NewDispatcher(s, &webhook.Config{MaxAttempts: 1})
	require.NoError(t, err)
	b := &testBundle{d: d, store: s}
	rcv := newReceiver(t)
	b.subscribe(t, rcv.URL, "*")
	b.start(t)
	b.publish(t, webhook.Event{Type: "a"})
	u := b.nextUpdate(t)
	require.Equal(t, webhook.DeliveryFailed, u.State)
	require.Contains(t, u.LastError, "127.0.0.1 is a loopback address")
	require.Contains(t, u.LastError, "AllowPrivateNetworks")
	require.Empty(t, rcv.got, "the refused target must not be reached")
}

func TestDeliveryToDisabledOrDeletedSubscriptionIsCanceled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, nil)
	rcv := newReceiver(t)
	disabled := b.subscribe(t, rcv.URL, "a")
	deleted := b.subscribe(t, rcv.URL, "a")
	res := b.publish(t, webhook.Event{Type: "a"}) // publish-only: both pending.
	require.Len(t, res.DeliveryIDs, 2)

	disabled.Disabled = true
	_, err := b.d.SubscriptionUpdate(ctx, disabled)
	require.NoError(t, err)
	require.NoError(t, b.d.SubscriptionDelete(ctx, deleted.ID))

	// Deleting cancelled its delivery at once.
	ds, err := b.d.DeliveryList(ctx, webhook.DeliveryListParams{SubscriptionID: deleted.ID})
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, webhook.DeliveryCanceled, ds[0].State)

	// The disabled one is cancelled when it comes up, never sent.
	b.start(t)
	u := b.nextUpdate(t)
	require.Equal(t, webhook.DeliveryCanceled, u.State)
	require.Equal(t, "subscription is disabled", u.LastError)
	require.Empty(t, rcv.got)

	// A disabled subscription gets no new deliveries at all.
	require.Empty(t, b.publish(t, webhook.Event{Type: "a"}).DeliveryIDs)
}

func TestDeliveryRetryRedelivers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, nil)
	rcv := newReceiver(t)
	b.subscribe(t, rcv.URL, "*")
	b.start(t)
	res := b.publish(t, webhook.Event{Type: "a"})
	rcv.next(t)
	require.Equal(t, webhook.DeliverySucceeded, b.nextUpdate(t).State)

	dl, err := b.d.DeliveryRetry(ctx, res.DeliveryIDs[0])
	require.NoError(t, err)
	require.Equal(t, webhook.DeliveryPending, dl.State)
	rcv.next(t)
	require.Equal(t, webhook.DeliverySucceeded, b.nextUpdate(t).State)
	dl, err = b.d.DeliveryGet(ctx, res.DeliveryIDs[0])
	require.NoError(t, err)
	require.Len(t, dl.Attempts, 2)
	require.Equal(t, 2, dl.Attempts[1].Number)

	_, err = b.d.DeliveryRetry(ctx, "dlv_missing")
	require.ErrorIs(t, err, webhook.ErrNotFound)
}

func TestDeliveryRetryOfPendingIsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.subscribe(t, "https://example.com/hooks", "*")
	res := b.publish(t, webhook.Event{Type: "a"})
	_, err := b.d.DeliveryRetry(context.Background(), res.DeliveryIDs[0])
	require.ErrorIs(t, err, webhook.ErrDeliveryPending)
}

func TestShutdownMidFlightThenRestartDelivers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, nil)
	release := make(chan struct{})
	var calls atomic.Int64
	rcv := newReceiver(t, func(w http.ResponseWriter) {
		if calls.Add(1) == 1 {
			<-release // the first request hangs until the test lets go.
		}
		w.WriteHeader(http.StatusNoContent)
	})
	defer close(release)
	b.subscribe(t, rcv.URL, "*")
	require.NoError(t, b.d.Start(ctx))
	res := b.publish(t, webhook.Event{Type: "a"})
	rcv.next(t) // in flight now.

	sctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, b.d.Shutdown(sctx), context.DeadlineExceeded)

	// Nothing was lost nor counted: the delivery is pending, no attempt.
	dl, err := b.d.DeliveryGet(ctx, res.DeliveryIDs[0])
	require.NoError(t, err)
	require.Equal(t, webhook.DeliveryPending, dl.State)
	require.Empty(t, dl.Attempts)
	require.Empty(t, b.store.updates)

	b.start(t)
	rcv.next(t)
	u := b.nextUpdate(t)
	require.Equal(t, webhook.DeliverySucceeded, u.State)
	require.Equal(t, res.DeliveryIDs[0], u.DeliveryID)
}

func TestShutdownWaitsForInFlightAttempts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, nil)
	release := make(chan struct{})
	rcv := newReceiver(t, func(w http.ResponseWriter) {
		<-release
		w.WriteHeader(http.StatusNoContent)
	})
	b.subscribe(t, rcv.URL, "*")
	require.NoError(t, b.d.Start(ctx))
	res := b.publish(t, webhook.Event{Type: "a"})
	rcv.next(t)

	done := make(chan error, 1)
	go func() { done <- b.d.Shutdown(ctx) }()
	// Shutdown must not return while the attempt is in flight.
	require.Never(t, func() bool { return len(done) > 0 }, 100*time.Millisecond, 5*time.Millisecond)
	close(release)
	require.NoError(t, <-done)
	dl, err := b.d.DeliveryGet(ctx, res.DeliveryIDs[0])
	require.NoError(t, err)
	require.Equal(t, webhook.DeliverySucceeded, dl.State)

	require.ErrorIs(t, b.d.Shutdown(ctx), webhook.ErrNotStarted)
}

func TestStartTwiceFails(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.start(t)
	require.ErrorIs(t, b.d.Start(context.Background()), webhook.ErrAlreadyStarted)
}

func TestSlowSubscriptionDoesNotStarveOthers(t *testing.T) {
	t.Parallel()
	b := setup(t, &webhook.Config{Workers: 4, MaxInFlightPerSubscription: 2})
	release := make(chan struct{})
	defer close(release)
	slow := newReceiver(t, func(w http.ResponseWriter) { <-release })
	fast := newReceiver(t)
	b.subscribe(t, slow.URL, "slow")
	b.subscribe(t, fast.URL, "fast")
	for range 10 {
		b.publish(t, webhook.Event{Type: "slow"})
	}
	for range 5 {
		b.publish(t, webhook.Event{Type: "fast"})
	}
	b.start(t)
	for range 5 {
		fast.next(t)
	}
	for range 5 {
		require.Equal(t, webhook.DeliverySucceeded, b.nextUpdate(t).State)
	}
	// The slow receiver holds exactly its share of workers.
	slow.next(t)
	slow.next(t)
	require.Empty(t, slow.got)
}

// Workers claim their own next delivery while the loop claims for free
// slots: together they must fill every slot the per-subscription limit
// allows, and never exceed it. Each receiver holds its requests until the
// test releases one, which it does only once every slot that can be full
// is full; a request arriving beyond the limit fails the test, and slots
// left empty make it time out.
func TestPerSubscriptionLimitUnderConcurrentClaims(t *testing.T) {
	t.Parallel()
	const (
		subs, perSub, events = 3, 2, 25
	)
	b := setup(t, &webhook.Config{Workers: 8, MaxInFlightPerSubscription: perSub})
	type arrival struct{ sub, inFlight int }
	arrivals := make(chan arrival, subs*events)
	gates := make([]chan struct{}, subs)
	ended := make(chan struct{}) // unblocks the receivers when the test fails
	for i := range subs {
		gates[i] = make(chan struct{})
		var inFlight atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			arrivals <- arrival{i, int(inFlight.Add(1))}
			select {
			case <-gates[i]:
			case <-ended:
			}
			inFlight.Add(-1)
			w.WriteHeader(http.StatusNoContent)
		}))
		t.Cleanup(srv.Close)
		b.subscribe(t, srv.URL, fmt.Sprintf("type.%d", i))
	}
	t.Cleanup(func() { close(ended) })
	for range events {
		for i := range subs {
			b.publish(t, webhook.Event{Type: fmt.Sprintf("type.%d", i)})
		}
	}
	b.start(t)

	held := make([]int, subs)     // requests a receiver holds
	released := make([]int, subs) // requests released
	full := func() bool {
		for i := range subs {
			if held[i] < min(perSub, events-released[i]) {
				return false
			}
		}
		return true
	}
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for next := 0; slices.Min(released) < events; next = (next + 1) % subs {
		for !full() {
			select {
			case a := <-arrivals:
				require.LessOrEqual(t, a.inFlight, perSub, "subscription %d has more requests in flight than MaxInFlightPerSubscription", a.sub)
				held[a.sub]++
			case <-timeout.C:
				t.Fatalf("slots left empty: held %v, released %v of %d each", held, released, events)
			}
		}
		if held[next] > 0 {
			gates[next] <- struct{}{}
			held[next]--
			released[next]++
		}
	}
	for range subs * events {
		require.Equal(t, webhook.DeliverySucceeded, b.nextUpdate(t).State)
	}
}

func TestDeliveryRunUntilContextEnds(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	rcv := newReceiver(t)
	b.subscribe(t, rcv.URL, "*")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- b.d.Run(ctx) }()
	b.publish(t, webhook.Event{Type: "a"})
	rcv.next(t)
	require.Equal(t, webhook.DeliverySucceeded, b.nextUpdate(t).State)
	cancel()
	require.NoError(t, <-done)
}

func TestDeliveryEnvelopeIsValidJSON(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	rcv := newReceiver(t)
	b.subscribe(t, rcv.URL, "*")
	b.start(t)
	b.publish(t, webhook.Event{Type: "a", Data: []byte(`[1, "two", {"three": null}]`), Metadata: map[string]string{"actor": "u1"}})
	var env struct {
		ID, Type  string
		Timestamp time.Time
		Data      json.RawMessage
	}
	require.NoError(t, json.Unmarshal(rcv.next(t).Body, &env))
	require.JSONEq(t, `[1, "two", {"three": null}]`, string(env.Data))
}

func TestDeliveryListFilters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, nil)
	s1 := b.subscribe(t, "https://example.com/1", "*")
	s2 := b.subscribe(t, "https://example.com/2", "*")
	e1 := b.publish(t, webhook.Event{Type: "a"})
	b.publish(t, webhook.Event{Type: "b"})

	bySub, err := b.d.DeliveryList(ctx, webhook.DeliveryListParams{SubscriptionID: s1.ID})
	require.NoError(t, err)
	require.Len(t, bySub, 2)
	byEvent, err := b.d.DeliveryList(ctx, webhook.DeliveryListParams{EventID: e1.EventID})
	require.NoError(t, err)
	require.Len(t, byEvent, 2)
	both, err := b.d.DeliveryList(ctx, webhook.DeliveryListParams{SubscriptionID: s2.ID, EventID: e1.EventID, State: webhook.DeliveryPending})
	require.NoError(t, err)
	require.Len(t, both, 1)
	page, err := b.d.DeliveryList(ctx, webhook.DeliveryListParams{Limit: 3})
	require.NoError(t, err)
	require.Len(t, page, 3)
	rest, err := b.d.DeliveryList(ctx, webhook.DeliveryListParams{After: page[2].ID})
	require.NoError(t, err)
	require.Len(t, rest, 1)

	_, err = b.d.DeliveryGet(ctx, "dlv_missing")
	require.True(t, errors.Is(err, webhook.ErrNotFound))
}

// A 2xx answer received before Shutdown's deadline is recorded even when
// the deadline cuts the reading of its body.
func TestShutdownRecordsAnAnswerAlreadyReceived(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	answered, release := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		close(answered)
		<-release // a slow response body
	}))
	defer srv.Close()
	defer close(release)
	b.subscribe(t, srv.URL, "*")
	ctx := context.Background()
	require.NoError(t, b.d.Start(ctx))
	res := b.publish(t, webhook.Event{Type: "a"})
	<-answered
	sctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, b.d.Shutdown(sctx), context.DeadlineExceeded)
	dl, err := b.d.DeliveryGet(ctx, res.DeliveryIDs[0])
	require.NoError(t, err)
	require.Equal(t, webhook.DeliverySucceeded, dl.State, "the receiver answered 200")
}

// The retry schedule follows the attempt count stored with the delivery,
// so a new Dispatcher on the same store continues it.
func TestRetryScheduleContinuesAcrossRestart(t *testing.T) {
	t.Parallel()
	store := &spyStore{Store: memstore.New(), updates: make(chan webhook.DeliveryUpdate, 10)}
	rcv := newReceiver(t, status(http.StatusInternalServerError))
	var seen []int
	newDispatcher := func() *webhook.Dispatcher {
		d, err := webhook.NewDispatcher(store, &webhook.Config{AllowPrivateNetworks: true, Backoff: func(n int) time.Duration {
			seen = append(seen, n)
			return time.Millisecond
		}})
		require.NoError(t, err)
		return d
	}
	first := &testBundle{d: newDispatcher(), store: store}
	first.subscribe(t, rcv.URL, "*")
	first.publish(t, webhook.Event{Type: "a"})
	ctx := context.Background()
	require.NoError(t, first.d.Start(ctx))
	first.nextUpdate(t)
	first.nextUpdate(t)
	require.NoError(t, first.d.Shutdown(ctx))
	for len(store.updates) > 0 { // an attempt that finished during shutdown
		<-store.updates
	}
	n := len(seen)

	second := &testBundle{d: newDispatcher(), store: store}
	second.start(t)
	second.nextUpdate(t)
	require.Equal(t, n+1, seen[len(seen)-1], "the schedule goes on from the stored count")
	for i, v := range seen {
		require.Equal(t, i+1, v)
	}
}

// A delivery claimed by a worker that died is delivered once its lease
// expires.
func TestExpiredLeaseIsDeliveredAgain(t *testing.T) {
	t.Parallel()
	var now atomic.Pointer[time.Time]
	start := time.Now()
	now.Store(&start)
	b := setup(t, &webhook.Config{Now: func() time.Time { return *now.Load() }, LeaseDuration: time.Minute})
	rcv := newReceiver(t)
	b.subscribe(t, rcv.URL, "*")
	res := b.publish(t, webhook.Event{Type: "a"})
	// A "crashed worker" claims it and never reports back.
	claimed, err := b.store.DeliveryClaim(context.Background(), webhook.ClaimParams{Now: start, Limit: 10, LeaseToken: "dead", LeasedUntil: start.Add(time.Minute)})
	require.NoError(t, err)
	require.Len(t, claimed, 1)
	later := start.Add(2 * time.Minute)
	now.Store(&later)
	b.start(t)
	rcv.next(t)
	u := b.nextUpdate(t)
	require.Equal(t, res.DeliveryIDs[0], u.DeliveryID)
	require.Equal(t, webhook.DeliverySucceeded, u.State)
}

// Credential resolution and transforms run inside the attempt timeout, so
// a hung resolver cannot hold a delivery past its lease.
func TestSlowResolverIsBoundedByAttemptTimeout(t *testing.T) {
	t.Parallel()
	causes := make(chan error, 1)
	resolver := resolverFunc(func(ctx context.Context, ref string) (string, error) {
		<-ctx.Done()
		causes <- context.Cause(ctx)
		return "", ctx.Err()
	})
	b := setup(t, &webhook.Config{Secrets: resolver, AttemptTimeout: 50 * time.Millisecond, Backoff: func(int) time.Duration { return time.Hour }})
	rcv := newReceiver(t)
	b.subscribeBearerRef(t, rcv.URL)
	b.start(t)
	b.publish(t, webhook.Event{Type: "a"})
	u := b.nextUpdate(t)
	require.Equal(t, webhook.DeliveryPending, u.State)
	require.Contains(t, u.LastError, "attempt timeout reached (50ms)")
	require.ErrorIs(t, <-causes, webhook.ErrAttemptTimeout, "the resolver can tell a timeout from a shutdown")
	require.Empty(t, rcv.got)
}

func TestDeliveryGetReturnsACopy(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	rcv := newReceiver(t)
	ctx := context.Background()
	_, err := b.d.SubscriptionCreate(ctx, webhook.Subscription{URL: rcv.URL, EventTypes: []string{"*"}, Template: `{"a": "{{Body.nope}}"}`})
	require.NoError(t, err)
	b.start(t)
	res := b.publish(t, webhook.Event{Type: "a"})
	b.nextUpdate(t)
	dl, err := b.d.DeliveryGet(ctx, res.DeliveryIDs[0])
	require.NoError(t, err)
	dl.Attempts[0].MissingValues[0] = "mutated"
	again, err := b.d.DeliveryGet(ctx, res.DeliveryIDs[0])
	require.NoError(t, err)
	require.Equal(t, "Body.nope", again.Attempts[0].MissingValues[0])
}

// syncBuffer is a bytes.Buffer safe for the dispatcher's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestNoSecretsInLogs(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	b := setup(t, &webhook.Config{MaxAttempts: 2, Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	rcv := newReceiver(t, status(http.StatusInternalServerError))
	ctx := context.Background()
	sub, err := b.d.SubscriptionCreate(ctx, webhook.Subscription{URL: rcv.URL + "/h?token=qtok123", EventTypes: []string{"*"},
		Auth: &webhook.Auth{Bearer: &webhook.BearerAuth{Token: "btok456"}, Headers: map[string]string{"api-key": "hk789"}}})
	require.NoError(t, err)
	rotated, err := b.d.SubscriptionRotateSecret(ctx, sub.ID, "")
	require.NoError(t, err)
	b.start(t)
	b.publish(t, webhook.Event{Type: "a"})
	got := rcv.next(t)
	b.nextUpdate(t)
	b.nextUpdate(t)
	logs := buf.String()
	require.Contains(t, logs, "token=redacted", "the URL is logged, redacted")
	for _, leak := range []string{"qtok123", "btok456", "hk789",
		strings.TrimPrefix(sub.Secret, "whsec_"), strings.TrimPrefix(rotated.Secret, "whsec_"),
		strings.Fields(got.Header.Get("webhook-signature"))[0][3:]} {
		require.NotContains(t, logs, leak)
	}
}

// subscribeBearerRef subscribes url to every event with a Bearer token
// given as a reference, which Config.Secrets resolves at send time.
func (b *testBundle) subscribeBearerRef(t *testing.T, url string) {
	t.Helper()
	_, err := b.d.SubscriptionCreate(context.Background(), webhook.Subscription{URL: url, EventTypes: []string{"*"},
		Auth: &webhook.Auth{Bearer: &webhook.BearerAuth{Token: "config://t"}}})
	require.NoError(t, err)
}

// Shutdown closes the idle connections to receivers: a stopped Dispatcher
// holds no sockets, and the next Start dials again.
func TestShutdownClosesIdleConnections(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, nil)
	closed := make(chan struct{}, 16)
	rcv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	rcv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			closed <- struct{}{}
		}
	}
	rcv.Start()
	t.Cleanup(rcv.Close)
	b.subscribe(t, rcv.URL, "*")
	require.NoError(t, b.d.Start(ctx))
	b.publish(t, webhook.Event{Type: "a"})
	require.Equal(t, webhook.DeliverySucceeded, b.nextUpdate(t).State)
	require.Empty(t, closed, "the connection is kept alive while the Dispatcher runs")

	require.NoError(t, b.d.Shutdown(ctx))
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the receiver's connection was still open 10 s after Shutdown")
	}

	// The next run dials again.
	require.NoError(t, b.d.Start(ctx))
	t.Cleanup(func() { _ = b.d.Shutdown(context.Background()) })
	b.publish(t, webhook.Event{Type: "a"})
	require.Equal(t, webhook.DeliverySucceeded, b.nextUpdate(t).State)
}

// eventGetCounter counts the store's EventGet calls.
type eventGetCounter struct {
	webhook.Store
	gets atomic.Int64
}

func (s *eventGetCounter) EventGet(ctx context.Context, id string) (*webhook.Event, error) {
	s.gets.Add(1)
	return s.Store.EventGet(ctx, id)
}

// A worker sends the event that Publish gave the store with the delivery
// when the store returns it with the claim (memstore keeps deliveries as
// given), and reads it with EventGet when the store encodes deliveries and
// so drops it (boltstore). Either way the receiver gets the same body.
func TestDeliveryReadsEventOnlyWhenStoreDropsIt(t *testing.T) {
	t.Parallel()
	bolt, err := boltstore.Open(filepath.Join(t.TempDir(), "hooks.db"), &boltstore.Options{PurgeInterval: -1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = bolt.Close() })
	for _, tc := range []struct {
		name     string
		store    webhook.Store
		wantGets int64
	}{
		{"memstore", memstore.New(), 0},
		{"boltstore", bolt, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &eventGetCounter{Store: tc.store}
			d, err := webhook.NewDispatcher(st, &webhook.Config{AllowPrivateNetworks: true})
			require.NoError(t, err)
			rcv := newReceiver(t)
			ctx := context.Background()
			sub, err := d.SubscriptionCreate(ctx, webhook.Subscription{URL: rcv.URL, EventTypes: []string{"invoice.paid"}})
			require.NoError(t, err)
			var ids []string
			for i := range 3 {
				res, err := d.Publish(ctx, webhook.Event{Type: "invoice.paid", Data: []byte(fmt.Sprintf(`{"n":%d}`, i))})
				require.NoError(t, err)
				ids = append(ids, res.EventID)
			}
			require.NoError(t, d.Start(ctx))
			t.Cleanup(func() { _ = d.Shutdown(context.Background()) })
			got := map[string]string{}
			for range 3 {
				r := rcv.next(t)
				require.NoError(t, webhook.Verify(sub.Secret, r.Body, r.Header))
				var env struct {
					ID   string          `json:"id"`
					Data json.RawMessage `json:"data"`
				}
				require.NoError(t, json.Unmarshal(r.Body, &env))
				got[env.ID] = string(env.Data)
			}
			for i, id := range ids {
				require.Equal(t, fmt.Sprintf(`{"n":%d}`, i), got[id])
			}
			require.Equal(t, tc.wantGets, st.gets.Load(), "EventGet calls")
		})
	}
}

// eventGone is a store whose claims return clones, which do not carry the
// published event, so that a worker reads each event with EventGet, and
// from which every event has gone.
type eventGone struct{ webhook.Store }

func (s eventGone) DeliveryClaim(ctx context.Context, p webhook.ClaimParams) ([]*webhook.Delivery, error) {
	ds, err := s.Store.DeliveryClaim(ctx, p)
	for i := range ds {
		ds[i] = ds[i].Clone()
	}
	return ds, err
}

func (eventGone) EventGet(context.Context, string) (*webhook.Event, error) {
	return nil, fmt.Errorf("gone: %w", webhook.ErrNotFound)
}

// A delivery whose event the store no longer holds fails at once, without
// a request.
func TestDeliveryOfAnEventNoLongerStoredFails(t *testing.T) {
	t.Parallel()
	spy := &spyStore{Store: memstore.New(), updates: make(chan webhook.DeliveryUpdate, 10)}
	d, err := webhook.NewDispatcher(eventGone{spy}, &webhook.Config{AllowPrivateNetworks: true})
	require.NoError(t, err)
	rcv := newReceiver(t)
	ctx := context.Background()
	_, err = d.SubscriptionCreate(ctx, webhook.Subscription{URL: rcv.URL, EventTypes: []string{"invoice.paid"}})
	require.NoError(t, err)
	res, err := d.Publish(ctx, webhook.Event{Type: "invoice.paid", Data: []byte(`{}`)})
	require.NoError(t, err)
	require.NoError(t, d.Start(ctx))
	t.Cleanup(func() { _ = d.Shutdown(context.Background()) })
	select {
	case u := <-spy.updates:
		require.Equal(t, res.DeliveryIDs[0], u.DeliveryID)
		require.Equal(t, webhook.DeliveryFailed, u.State)
		require.Equal(t, "event no longer stored", u.LastError)
		require.Nil(t, u.Attempt, "no attempt was made")
	case <-time.After(10 * time.Second):
		t.Fatal("no outcome recorded within 10s")
	}
	require.NoError(t, d.Shutdown(ctx))
	select {
	case r := <-rcv.got:
		t.Fatalf("the receiver got a request: %s", r.Body)
	default:
	}
}
