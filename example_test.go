package webhook_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/hooksmith/webhook"
	"github.com/hooksmith/webhook/store/memstore"
)

// A Dispatcher delivers published events to the subscriptions that want
// them, signed; the receiver checks the signature with the secret it was
// given when it subscribed.
func ExampleDispatcher() {
	ctx := context.Background()
	got := make(chan string, 1)
	var secret string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify(secret, body, r.Header); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		got <- r.Header.Get("webhook-id")
	}))
	defer srv.Close()

	d, err := webhook.NewDispatcher(memstore.New(), &webhook.Config{AllowPrivateNetworks: true})
	if err != nil {
		panic(err)
	}
	sub, err := d.SubscriptionCreate(ctx, webhook.Subscription{URL: srv.URL, EventTypes: []string{"invoice.*"}})
	if err != nil {
		panic(err)
	}
	secret = sub.Secret

	if err := d.Start(ctx); err != nil {
		panic(err)
	}
	defer d.Shutdown(ctx)

	res, err := d.Publish(ctx, webhook.Event{ID: "evt_1", Type: "invoice.paid", Data: []byte(`{"invoice":"inv_1"}`)})
	if err != nil {
		panic(err)
	}
	fmt.Println("deliveries:", len(res.DeliveryIDs))
	fmt.Println("received and verified:", <-got)
	// Output:
	// deliveries: 1
	// received and verified: evt_1
}

// Publishing is idempotent by event ID: the second call stores nothing and
// says so. Without Start, the Dispatcher only publishes (stores events and
// deliveries for a running loop to send).
func ExampleDispatcher_Publish() {
	ctx := context.Background()
	d, err := webhook.NewDispatcher(memstore.New(), nil)
	if err != nil {
		panic(err)
	}
	_, err = d.SubscriptionCreate(ctx, webhook.Subscription{URL: "https://example.com/hooks", EventTypes: []string{"order.*"}})
	if err != nil {
		panic(err)
	}
	e := webhook.Event{ID: "order-42-created", Type: "order.created", Data: []byte(`{"order":42}`)}
	first, _ := d.Publish(ctx, e)
	again, _ := d.Publish(ctx, e)
	fmt.Println(len(first.DeliveryIDs), first.Duplicate)
	fmt.Println(len(again.DeliveryIDs), again.Duplicate)

	_, err = d.Publish(ctx, webhook.Event{Type: "order.created", Data: []byte(`{"order":`)})
	fmt.Println(err)
	// Output:
	// 1 false
	// 0 true
	// webhook: invalid event: Data: must be valid JSON
}

// Validation errors list every bad field and what is accepted.
func ExampleDispatcher_SubscriptionCreate() {
	d, err := webhook.NewDispatcher(memstore.New(), nil)
	if err != nil {
		panic(err)
	}
	_, err = d.SubscriptionCreate(context.Background(), webhook.Subscription{
		URL:    "ftp://example.com",
		Method: "PATCH",
	})
	fmt.Println(err)
	// Output:
	// webhook: invalid subscription: Method: must be POST, PUT or DELETE (empty means POST), got "PATCH"; URL: must use http or https, got "ftp://example.com"; EventTypes: must list at least one event type or pattern, for example "order.created", "order.*" or "*"
}

// Sign computes the webhook-signature header value of a message; Verify
// checks one.
func ExampleSign() {
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	ts := time.Unix(1614265330, 0)
	sig, err := webhook.Sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", ts, []byte(`{"test": 2432232314}`))
	if err != nil {
		panic(err)
	}
	fmt.Println(sig)
	// Output:
	// v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=
}

// Verify checks a request's Standard Webhooks headers against a secret.
func ExampleVerify() {
	secret := webhook.NewSecret()
	body := []byte(`{"id":"evt_1","type":"invoice.paid","timestamp":"2026-01-01T00:00:00Z","data":{}}`)
	now := time.Now()
	sig, _ := webhook.Sign(secret, "evt_1", now, body)
	h := http.Header{}
	h.Set("webhook-id", "evt_1")
	h.Set("webhook-timestamp", fmt.Sprint(now.Unix()))
	h.Set("webhook-signature", sig)

	fmt.Println(webhook.Verify(secret, body, h))
	err := webhook.Verify(secret, []byte(`{"tampered":true}`), h)
	fmt.Println(errors.Is(err, webhook.ErrNoMatchingSignature))
	// Output:
	// <nil>
	// true
}
