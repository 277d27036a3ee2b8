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
