package memstore_test

import (
	"testing"

	"github.com/hooksmith/webhook"
	"github.com/hooksmith/webhook/store/memstore"
	"github.com/hooksmith/webhook/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) webhook.Store { return memstore.New() })
}
