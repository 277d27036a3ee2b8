package memstore_test

import (
	"context"
	"fmt"
	"log"

	"github.com/hooksmith/webhook"
	"github.com/hooksmith/webhook/store/memstore"
)

// A Dispatcher on the in-memory store, as in tests: only subscriptions of
// the event's tenant whose patterns match get a delivery.
func ExampleNew() {
	ctx := context.Background()
	d, err := webhook.NewDispatcher(memstore.New(), nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range []webhook.Subscription{
		{Tenant: "acme", URL: "https://example.com/a", EventTypes: []string{"invoice.*"}},
		{Tenant: "acme", URL: "https://example.com/b", EventTypes: []string{"user.created"}},
		{Tenant: "globex", URL: "https://example.com/c", EventTypes: []string{"*"}},
	} {
		if _, err := d.SubscriptionCreate(ctx, s); err != nil {
			log.Fatal(err)
		}
	}
	res, err := d.Publish(ctx, webhook.Event{Tenant: "acme", Type: "invoice.paid", Data: []byte(`{}`)})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("deliveries:", len(res.DeliveryIDs))
	// Output:
	// deliveries: 1
}
