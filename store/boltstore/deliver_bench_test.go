package boltstore_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hooksmith/webhook"
	"github.com/hooksmith/webhook/store/boltstore"
	"github.com/hooksmith/webhook/store/memstore"
)

// BenchmarkDeliver measures the whole path on each store: b.N events are
// published (before the timer starts), then a Dispatcher delivers them to a
// receiver on 127.0.0.1 with 32 workers; an op is one delivery (claim,
// request, recorded outcome).
func BenchmarkDeliver(b *testing.B) {
	stores := []struct {
		name string
		open func(b *testing.B) webhook.Store
	}{
		{"memstore", func(*testing.B) webhook.Store { return memstore.New() }},
		{"boltstore", func(b *testing.B) webhook.Store {
			s, err := boltstore.Open(filepath.Join(b.TempDir(), "deliver.db"), nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = s.Close() })
			return s
		}},
	}
	for _, st := range stores {
		b.Run(st.name, func(b *testing.B) {
			var got atomic.Int64
			all := make(chan struct{})
			target := int64(b.N)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if got.Add(1) == target {
					close(all)
				}
			}))
			defer srv.Close()

			d, err := webhook.NewDispatcher(st.open(b), &webhook.Config{
				AllowPrivateNetworks:       true,
				Workers:                    32,
				MaxInFlightPerSubscription: 32,
			})
			if err != nil {
				b.Fatal(err)
			}
			ctx := b.Context()
			if _, err := d.SubscriptionCreate(ctx, webhook.Subscription{URL: srv.URL, EventTypes: []string{"*"}}); err != nil {
				b.Fatal(err)
			}
			for i := range b.N {
				if _, err := d.Publish(ctx, webhook.Event{ID: fmt.Sprintf("evt_%08d", i), Type: "bench.deliver", Data: []byte(`{}`)}); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			if err := d.Start(ctx); err != nil {
				b.Fatal(err)
			}
			select {
			case <-all:
			case <-time.After(5 * time.Minute):
				b.Fatalf("delivered %d of %d in 5 minutes", got.Load(), b.N)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
			if err := d.Shutdown(ctx); err != nil {
				b.Fatal(err)
			}
		})
	}
}
