package memstore_test

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hooksmith/webhook"
	"github.com/hooksmith/webhook/store/memstore"
)

// BenchmarkPublish measures EventInsert, the store's share of
// Dispatcher.Publish, with 1 and 32 concurrent callers.
func BenchmarkPublish(b *testing.B) {
	for _, n := range []int{1, 32} {
		b.Run(fmt.Sprintf("publishers=%d", n), func(b *testing.B) {
			s := memstore.New()
			ctx := b.Context()
			now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
			var seq atomic.Int64
			publish := func() error {
				i := seq.Add(1)
				id := fmt.Sprintf("evt_%012d", i)
				e := &webhook.Event{ID: id, Type: "invoice.paid", Tenant: "acme", Timestamp: now, Data: []byte(`{"invoice":"in_123","amount":4200,"currency":"eur"}`)}
				d := &webhook.Delivery{
					ID: fmt.Sprintf("dlv_%012d", i), EventID: id, EventType: e.Type, SubscriptionID: "sub_1", Tenant: "acme",
					State: webhook.DeliveryPending, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now,
				}
				return s.EventInsert(ctx, e, []*webhook.Delivery{d}, nil)
			}
			b.ReportAllocs()
			if n == 1 {
				for b.Loop() {
					if err := publish(); err != nil {
						b.Fatal(err)
					}
				}
			} else {
				b.SetParallelism((n + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := publish(); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "publishes/s")
		})
	}
}

// BenchmarkDeliveryPath measures the store's share of one delivery, in the
// order the Dispatcher makes the calls: EventInsert of a new event, a
// worker's DeliveryUpdateClaim of the previous outcome and its next
// delivery, then EventGet of that delivery's event. A backlog of pending
// deliveries sits ahead of each new one, and the store already holds
// history delivered events, as after a run of that many: the maps are
// large, and what a delivery reads was written a backlog earlier.
func BenchmarkDeliveryPath(b *testing.B) {
	const backlog = 144 // the bench program's at concurrency 32
	for _, history := range []int{0, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("history=%d", history), func(b *testing.B) {
			s := memstore.New()
			ctx := b.Context()
			now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
			data := []byte(`{"invoice":"in_123","amount":4200,"currency":"eur"}`)
			seq := 0
			insert := func() {
				seq++
				id := fmt.Sprintf("evt_%026d", seq)
				at := now.Add(time.Duration(seq) * time.Microsecond) // as Publish's clock moves on
				e := &webhook.Event{ID: id, Type: "invoice.paid", Timestamp: at, Data: data}
				d := &webhook.Delivery{
					ID: fmt.Sprintf("dlv_%026d", seq), EventID: id, EventType: e.Type, SubscriptionID: "sub_1",
					State: webhook.DeliveryPending, NextAttemptAt: at, CreatedAt: at, UpdatedAt: at,
				}
				if err := s.EventInsert(ctx, e, []*webhook.Delivery{d}, nil); err != nil {
					b.Fatal(err)
				}
			}
			// Every delivery is due: the claims' clock is ahead of them all.
			later := now.Add(time.Hour)
			claim := webhook.ClaimParams{Now: later, Limit: 1, LeaseToken: "lease_1", LeasedUntil: later.Add(time.Minute)}
			next := func(u webhook.DeliveryUpdate) *webhook.Delivery {
				ds, err := s.DeliveryUpdateClaim(ctx, u, claim)
				if len(ds) != 1 || (err != nil && u.DeliveryID != "") {
					b.Fatalf("claimed %d deliveries: %v", len(ds), err)
				}
				if _, err := s.EventGet(ctx, ds[0].EventID); err != nil {
					b.Fatal(err)
				}
				return ds[0]
			}
			done := func(d *webhook.Delivery) webhook.DeliveryUpdate {
				return webhook.DeliveryUpdate{
					DeliveryID: d.ID, LeaseToken: d.LeaseToken, State: webhook.DeliverySucceeded, AttemptCount: 1, UpdatedAt: now,
					Attempt: &webhook.Attempt{StartedAt: now, Duration: time.Millisecond, StatusCode: 204},
				}
			}
			var u webhook.DeliveryUpdate // none for the first claim
			for range backlog {
				insert()
			}
			for range history {
				insert()
				u = done(next(u))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				insert()
				u = done(next(u))
			}
		})
	}
}

// BenchmarkDeliveryListBySubscription lists a page of 50 of one
// subscription's deliveries, from its start and from its middle, with
// 100,000 stored: the queue lock is held for the call, so its cost is a
// pause for every worker.
func BenchmarkDeliveryListBySubscription(b *testing.B) {
	const stored = 100_000
	s := memstore.New()
	ctx := b.Context()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range stored {
		id := fmt.Sprintf("evt_%026d", i)
		e := &webhook.Event{ID: id, Type: "invoice.paid", Timestamp: now, Data: []byte(`{}`)}
		d := &webhook.Delivery{ID: fmt.Sprintf("dlv_%026d", i), EventID: id, EventType: e.Type, SubscriptionID: "sub_1",
			State: webhook.DeliveryPending, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now}
		if err := s.EventInsert(ctx, e, []*webhook.Delivery{d}, nil); err != nil {
			b.Fatal(err)
		}
	}
	for _, after := range []string{"", fmt.Sprintf("dlv_%026d", stored/2)} {
		name := "first page"
		if after != "" {
			name = "middle page"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ds, err := s.DeliveryList(ctx, webhook.DeliveryListParams{SubscriptionID: "sub_1", After: after, Limit: 50})
				if err != nil || len(ds) != 50 {
					b.Fatalf("listed %d: %v", len(ds), err)
				}
			}
		})
	}
}
