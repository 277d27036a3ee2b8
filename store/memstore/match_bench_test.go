package memstore_test

import (
	"testing"

	"github.com/hooksmith/webhook"
	"github.com/hooksmith/webhook/store/memstore"
	"github.com/hooksmith/webhook/store/storetest"
)

func BenchmarkSubscriptionMatch(b *testing.B) {
	storetest.BenchmarkSubscriptionMatch(b, func(*testing.B) webhook.Store { return memstore.New() })
}
