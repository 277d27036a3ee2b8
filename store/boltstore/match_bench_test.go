package boltstore_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/hooksmith/webhook"
	"github.com/hooksmith/webhook/store/boltstore"
)

// BenchmarkSubscriptionMatch measures SubscriptionMatch, called by every
// Publish, in a tenant of 10,000 subscriptions of which 100 match (90 by
// exact type, 10 by pattern), with 1 and 32 concurrent callers.
func BenchmarkSubscriptionMatch(b *testing.B) {
	for _, n := range publishers {
		b.Run(fmt.Sprintf("subs=10000/matching=100/publishers=%d", n), func(b *testing.B) {
			s, err := boltstore.Open(filepath.Join(b.TempDir(), "match.db"), &boltstore.Options{NoSync: true})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := b.Context()
			for _, sub := range matchSubs(10_000, 100) {
				if err := s.SubscriptionInsert(ctx, sub); err != nil {
					b.Fatal(err)
				}
			}
			// Warm up: the steady state, not the first call, which
			// loads the subscriptions into memory.
			if _, err := s.SubscriptionMatch(ctx, "acme", "invoice.paid"); err != nil {
				b.Fatal(err)
			}
			runPublishers(b, n, func(int64) error {
				subs, err := s.SubscriptionMatch(ctx, "acme", "invoice.paid")
				if err == nil && len(subs) != 100 {
					err = fmt.Errorf("matched %d subscriptions, want 100", len(subs))
				}
				return err
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
