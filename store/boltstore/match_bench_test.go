package boltstore_test

import (
	"path/filepath"
	"testing"

	"github.com/hooksmith/webhook"
	"github.com/hooksmith/webhook/store/boltstore"
	"github.com/hooksmith/webhook/store/storetest"
)

func BenchmarkSubscriptionMatch(b *testing.B) {
	storetest.BenchmarkSubscriptionMatch(b, func(b *testing.B) webhook.Store {
		s, err := boltstore.Open(filepath.Join(b.TempDir(), "match.db"), &boltstore.Options{NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = s.Close() })
		return s
	})
}
