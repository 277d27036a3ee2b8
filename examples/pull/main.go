// Command pull shows pull delivery in one process: a Dispatcher on the
// embedded bbolt store, a pull subscription (no URL: the consumer cannot
// receive HTTP calls), a producer publishing orders, and a consumer loop
// that long-polls, processes each batch and commits its cursor. It exits 0
// by itself within seconds.
//
//	go run ./examples/pull             # a fresh database in a temporary folder
//	go run ./examples/pull -db pull.db # keep it: a second run resumes after the committed cursor
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/hooksmith/webhook"
	"github.com/hooksmith/webhook/store/boltstore"
)

func main() {
	db := flag.String("db", "", "bbolt database file (default: a new file in a temporary folder, removed at exit)")
	events := flag.Int("events", 5, "how many orders the producer publishes")
	flag.Parse()
	if err := run(*db, *events); err != nil {
		log.Fatal(err)
	}
}

func run(dbPath string, events int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if dbPath == "" {
		dir, err := os.MkdirTemp("", "hooksmith-pull")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		dbPath = filepath.Join(dir, "pull.db")
	}
	store, err := boltstore.Open(dbPath, nil)
	if err != nil {
		return err
	}
	defer store.Close()
	d, err := webhook.NewDispatcher(store, nil)
	if err != nil {
		return err
	}

	// A pull subscription: no URL, no method, no headers. The consumer
	// keeps its ID; its position in the feed is kept by the store.
	sub, err := pullSubscription(ctx, d)
	if err != nil {
		return err
	}
	fmt.Printf("pull subscription %s\n", sub.ID)

	// The producer publishes in the background, one order at a time, so
	// that the consumer's long polls are woken by Publish.
	produced := make(chan error, 1)
	go func() {
		for i := 1; i <= events; i++ {
			data := fmt.Appendf(nil, `{"order":"ord_%d","amount":%d}`, i, i*100)
			if _, err := d.Publish(ctx, webhook.Event{Type: "order.created", Data: data}); err != nil {
				produced <- err
				return
			}
		}
		produced <- nil
	}()

	// The consumer loop: poll (waiting up to 2 s when there is nothing),
	// process, commit. Without the commit the next poll returns the same
	// batch again: delivery is at least once.
	for done := 0; done < events; {
		res, err := d.Poll(ctx, sub.ID, webhook.PollParams{Wait: 2 * time.Second, Limit: 2})
		if err != nil {
			return fmt.Errorf("poll: %w", err)
		}
		for _, e := range res.Events {
			fmt.Printf("processed %s %s %s\n", e.Event.ID, e.Event.Type, e.Event.Data)
			done++
		}
		if len(res.Events) == 0 {
			continue // Wait ended with nothing new: poll again.
		}
		if err := d.CommitCursor(ctx, sub.ID, res.NextCursor); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		fmt.Printf("committed after %d event(s)\n", len(res.Events))
	}
	if err := <-produced; err != nil {
		return fmt.Errorf("publish: %w", err)
	}

	// Replaying is an explicit rewind.
	if _, err := d.CursorReset(ctx, sub.ID, webhook.CursorOldest); err != nil {
		return err
	}
	res, err := d.Poll(ctx, sub.ID, webhook.PollParams{Limit: 1})
	if err != nil {
		return err
	}
	fmt.Printf("after a rewind the oldest retained event is %s again\n", res.Events[0].Event.ID)
	_, err = d.CursorReset(ctx, sub.ID, webhook.CursorLatest)
	return err
}

// pullSubscription returns the demo's pull subscription, creating it on the
// first run against a database.
func pullSubscription(ctx context.Context, d *webhook.Dispatcher) (webhook.Subscription, error) {
	subs, err := d.SubscriptionList(ctx, webhook.SubscriptionListParams{EventType: "order.created"})
	if err != nil {
		return webhook.Subscription{}, err
	}
	for _, s := range subs {
		if s.Mode == webhook.ModePull && s.Name == "pull demo" {
			return s, nil
		}
	}
	s, err := d.SubscriptionCreate(ctx, webhook.Subscription{Name: "pull demo", Mode: webhook.ModePull, EventTypes: []string{"order.*"}})
	if errors.Is(err, webhook.ErrInvalid) {
		return webhook.Subscription{}, fmt.Errorf("create the pull subscription: %w", err)
	}
	return s, err
}
