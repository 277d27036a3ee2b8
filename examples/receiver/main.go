// Command receiver starts a webhook Receiver on 127.0.0.1, sends itself one
// signed request as a Dispatcher would, prints what the handler received,
// and exits.
//
//	go run ./examples/receiver
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/hooksmith/webhook"
)

func main() {
	if err := run(); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}

func run() error {
	// The secret is shared with the sender: a Subscription's Secret.
	secret := webhook.NewSecret()
	r, err := webhook.NewReceiver([]string{secret}, nil)
	if err != nil {
		return err
	}

	received := make(chan webhook.Event, 1)
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks", r.Handler(func(ctx context.Context, e webhook.Event) error {
		received <- e
		return nil
	}))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			log.Print(err)
		}
	}()

	// Send one webhook, signed as the Dispatcher signs it.
	body := []byte(`{"id":"evt_example","type":"invoice.paid","timestamp":"2026-01-02T03:04:05Z","data":{"amount":42}}`)
	now := time.Now()
	sig, err := webhook.Sign(secret, "evt_example", now, body)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+ln.Addr().String()+"/webhooks", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhook.HeaderID, "evt_example")
	req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(webhook.HeaderSignature, sig)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("receiver answered %s, want 204 No Content", resp.Status)
	}

	select {
	case e := <-received:
		fmt.Printf("verified webhook %s: %s %s\n", e.ID, e.Type, e.Data)
	case <-ctx.Done():
		return errors.New("the handler was not called")
	}
	return nil
}
