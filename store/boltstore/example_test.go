package boltstore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/hooksmith/webhook"
	"github.com/hooksmith/webhook/store/boltstore"
)

// A publish-only Dispatcher on a bbolt file: what Publish stored is still
// there, pending, after the file is closed and opened again.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "boltstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "hooks.db")
	ctx := context.Background()

	store, err := boltstore.Open(path, nil)
	if err != nil {
		log.Fatal(err)
	}
	d, err := webhook.NewDispatcher(store, nil)
	if err != nil {
		log.Fatal(err)
	}
	sub, err := d.SubscriptionCreate(ctx, webhook.Subscription{URL: "https://example.com/hooks", EventTypes: []string{"invoice.*"}})
	if err != nil {
		log.Fatal(err)
	}
	res, err := d.Publish(ctx, webhook.Event{ID: "evt_1", Type: "invoice.paid", Data: []byte(`{"amount":42}`)})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("deliveries created:", len(res.DeliveryIDs))
	if err := store.Close(); err != nil {
		log.Fatal(err)
	}

	store, err = boltstore.Open(path, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	ds, err := store.DeliveryList(ctx, webhook.DeliveryListParams{SubscriptionID: sub.ID})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("after reopening:", ds[0].EventID, ds[0].State)
	// Output:
	// deliveries created: 1
	// after reopening: evt_1 pending
}
