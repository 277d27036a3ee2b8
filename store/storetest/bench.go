package storetest

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/hooksmith/webhook"
)

// BenchmarkSubscriptionMatch measures SubscriptionMatch, which every
// Publish calls, on a store from newStore: a tenant of 10,000
// subscriptions of which 100 match (90 by exact type, 10 by pattern), with
// 1 and 32 concurrent callers. The first call, which may load a cache, is
// not measured. A store's benchmark calls it:
//
//	func BenchmarkSubscriptionMatch(b *testing.B) {
//		storetest.BenchmarkSubscriptionMatch(b, func(b *testing.B) webhook.Store { return mystore.New() })
//	}
func BenchmarkSubscriptionMatch(b *testing.B, newStore func(b *testing.B) webhook.Store) {
	for _, n := range []int{1, 32} {
		b.Run(fmt.Sprintf("subs=10000/matching=100/publishers=%d", n), func(b *testing.B) {
			s := newStore(b)
			ctx := b.Context()
			for _, sub := range matchSubs(10_000, 100) {
				if err := s.SubscriptionInsert(ctx, sub); err != nil {
					b.Fatal(err)
				}
			}
			match := func() error {
				subs, err := s.SubscriptionMatch(ctx, "acme", "invoice.paid")
				if err == nil && len(subs) != 100 {
					err = fmt.Errorf("matched %d subscriptions, want 100", len(subs))
				}
				return err
			}
			if err := match(); err != nil { // warm up
				b.Fatal(err)
			}
			b.ReportAllocs()
			if n == 1 {
				for b.Loop() {
					if err := match(); err != nil {
						b.Fatal(err)
					}
				}
				return
			}
			b.SetParallelism((n + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := match(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// matchSubs returns n subscriptions of tenant "acme" of which matching
// receive "invoice.paid": a tenth of those by the pattern "invoice.*".
func matchSubs(n, matching int) []*webhook.Subscription {
	subs := make([]*webhook.Subscription, n)
	for i := range subs {
		types := []string{fmt.Sprintf("other.%d", i)}
		switch {
		case i%(n/matching) != 0:
		case i/(n/matching)%10 == 0:
			types = []string{"invoice.*"}
		default:
			types = []string{"invoice.paid"}
		}
		subs[i] = &webhook.Subscription{
			ID: fmt.Sprintf("sub_%06d", i), Tenant: "acme", URL: "https://example.com/hooks", EventTypes: types,
			Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", Metadata: map[string]string{"team": "billing"},
		}
	}
	return subs
}
