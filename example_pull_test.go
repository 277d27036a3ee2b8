package webhook_test

import (
	"context"
	"fmt"

	"github.com/hooksmith/webhook"
	"github.com/hooksmith/webhook/store/memstore"
)

// A pull subscription has no URL: its consumer polls for events, processes
// them, and commits the cursor of what it processed. Without the commit the
// next Poll returns the same events again.
func ExampleDispatcher_Poll() {
	ctx := context.Background()
	d, err := webhook.NewDispatcher(memstore.New(), nil)
	if err != nil {
		panic(err)
	}
	sub, err := d.SubscriptionCreate(ctx, webhook.Subscription{Mode: webhook.ModePull, EventTypes: []string{"order.*"}})
	if err != nil {
		panic(err)
	}
	for _, id := range []string{"ord_1", "ord_2"} {
		data := fmt.Appendf(nil, `{"order":%q}`, id)
		if _, err := d.Publish(ctx, webhook.Event{ID: "evt_" + id, Type: "order.created", Data: data}); err != nil {
			panic(err)
		}
	}

	res, err := d.Poll(ctx, sub.ID, webhook.PollParams{})
	if err != nil {
		panic(err)
	}
	for _, e := range res.Events {
		fmt.Println(e.Event.ID, e.Event.Type, string(e.Event.Data))
	}
	if err := d.CommitCursor(ctx, sub.ID, res.NextCursor); err != nil {
		panic(err)
	}

	// The next batch starts after the committed cursor.
	if _, err := d.Publish(ctx, webhook.Event{ID: "evt_ord_3", Type: "order.created", Data: []byte(`{}`)}); err != nil {
		panic(err)
	}
	res, err = d.Poll(ctx, sub.ID, webhook.PollParams{AutoCommit: true})
	if err != nil {
		panic(err)
	}
	fmt.Println(len(res.Events), res.Events[0].Event.ID)
	// Output:
	// evt_ord_1 order.created {"order":"ord_1"}
	// evt_ord_2 order.created {"order":"ord_2"}
	// 1 evt_ord_3
}

// EventList pages through the event log, newest first by default.
func ExampleDispatcher_EventList() {
	ctx := context.Background()
	d, err := webhook.NewDispatcher(memstore.New(), nil)
	if err != nil {
		panic(err)
	}
	for _, typ := range []string{"invoice.paid", "order.created", "invoice.refunded"} {
		if _, err := d.Publish(ctx, webhook.Event{Type: typ, Data: []byte(`{}`)}); err != nil {
			panic(err)
		}
	}
	p := webhook.EventListParams{Type: "invoice.*", Limit: 1}
	for {
		page, err := d.EventList(ctx, p)
		if err != nil {
			panic(err)
		}
		for _, e := range page.Events {
			fmt.Println(e.Type)
		}
		if page.Next == "" {
			break
		}
		p.Cursor = page.Next
	}
	// Output:
	// invoice.refunded
	// invoice.paid
}
