// Command quickstart shows the main job of hooksmith in one process: a
// receiver on 127.0.0.1, a Dispatcher on the embedded bbolt store, a
// subscription, a few published events, each delivered, verified and shown.
// It exits 0 by itself within seconds.
//
//	go run ./examples/quickstart             # a fresh database in a temporary folder
//	go run ./examples/quickstart -db hooksmith.db
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/hooksmith/webhook"
	"github.com/hooksmith/webhook/store/boltstore"
)

func main() {
	db := flag.String("db", "", "bbolt database file (default: a new file in a temporary folder, removed at exit)")
	flag.Parse()
	if err := run(*db); err != nil {
		log.Fatal(err)
	}
}

func run(dbPath string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	if dbPath == "" {
		dir, err := os.MkdirTemp("", "hooksmith-quickstart")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		dbPath = filepath.Join(dir, "hooksmith.db")
	}
	store, err := boltstore.Open(dbPath, nil)
	if err != nil {
		return err
	}
	defer store.Close()

	// The sending side: a Dispatcher. The receiver below listens on
	// loopback, which the SSRF guard refuses unless allowed.
	d, err := webhook.NewDispatcher(store, &webhook.Config{
		AllowPrivateNetworks: true,
		Logger:               slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return err
	}

	// The receiving side: an HTTP server on 127.0.0.1. Its URL is needed to
	// subscribe, and the subscription's secret to verify, so listen first.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	sub, err := d.SubscriptionCreate(ctx, webhook.Subscription{
		Name:       "billing service",
		URL:        "http://" + ln.Addr().String() + "/webhooks",
		EventTypes: []string{"invoice.*"},
	})
	if err != nil {
		return err
	}
	// Leave no subscription behind in a -db file kept between runs.
	defer func() { _ = d.SubscriptionDelete(context.WithoutCancel(ctx), sub.ID) }()
	fmt.Printf("subscription %s -> %s (types %v)\n", sub.ID, sub.URL, sub.EventTypes)

	rcv, err := webhook.NewReceiver([]string{sub.Secret}, nil)
	if err != nil {
		return err
	}
	received := make(chan webhook.Event, 10)
	srv := &http.Server{Handler: rcv.Handler(func(ctx context.Context, e webhook.Event) error {
		fmt.Printf("received %s %-16s verified, data %s\n", e.ID, e.Type, e.Data)
		received <- e
		return nil
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Print(err)
		}
	}()
	defer srv.Close()

	if err := d.Start(ctx); err != nil {
		return err
	}

	events := []webhook.Event{
		{Type: "invoice.created", Data: []byte(`{"invoice":"inv_1","amount":4200}`)},
		{Type: "invoice.paid", Data: []byte(`{"invoice":"inv_1"}`)},
		{Type: "customer.created", Data: []byte(`{"customer":"cus_9"}`)}, // not subscribed: no delivery.
	}
	want := 0
	for _, e := range events {
		res, err := d.Publish(ctx, e)
		if err != nil {
			return err
		}
		fmt.Printf("published %s %-16s deliveries: %d\n", res.EventID, e.Type, len(res.DeliveryIDs))
		want += len(res.DeliveryIDs)
	}
	for range want {
		select {
		case <-received:
		case <-ctx.Done():
			return fmt.Errorf("not every event was delivered in time: %w", ctx.Err())
		}
	}

	// Shut down gracefully: in-flight attempts finish and are recorded.
	if err := d.Shutdown(ctx); err != nil {
		return err
	}
	deliveries, err := d.DeliveryList(ctx, webhook.DeliveryListParams{SubscriptionID: sub.ID})
	if err != nil {
		return err
	}
	fmt.Println("delivery log:")
	for _, dl := range deliveries {
		a := dl.Attempts[len(dl.Attempts)-1]
		fmt.Printf("  %s %s %-9s attempts=%d last: HTTP %d in %s\n", dl.ID, dl.EventType, dl.State, len(dl.Attempts), a.StatusCode, a.Duration.Round(time.Microsecond))
	}
	return nil
}
