// Command server is a small service that offers webhooks to its users: it
// mounts the management API (package httpapi) under /webhooks/ with a
// bearer-token Authorize, runs the Dispatcher on the bbolt store, and
// publishes an "order.created" event whenever its own domain action,
// POST /orders, happens.
//
//	go run ./examples/server                      # serve on 127.0.0.1:8080 until interrupted
//	go run ./examples/server -demo                # run a scripted tour against itself and exit
//	go run ./examples/server -db orders.db -addr 127.0.0.1:9000 -token my-admin-token
//
// Without -token an admin token is generated and printed. Then, for
// example:
//
//	curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/webhooks/subscriptions
//
// With -demo it starts a receiver on 127.0.0.1, subscribes it through the
// API, places an order, waits for the signed webhook, lists the
// subscription's deliveries through the API, prints them, unsubscribes and
// exits 0.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hooksmith/webhook"
	"github.com/hooksmith/webhook/httpapi"
	"github.com/hooksmith/webhook/store/boltstore"
)

// tenant is the one tenant of this example; a real service has one per
// customer and finds it from the token.
const tenant = "acme"

func main() {
	var o options
	flag.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on")
	flag.StringVar(&o.db, "db", "", "bbolt database file (default: hooksmith-server.db in the temporary folder; with -demo a new file, removed at exit)")
	flag.StringVar(&o.token, "token", "", "admin bearer token of tenant "+tenant+" (default: generated and printed)")
	flag.BoolVar(&o.demo, "demo", false, "run a scripted tour against the service itself, print it and exit")
	flag.BoolVar(&o.allowPrivate, "allow-private-networks", false, "let deliveries reach loopback and private addresses (always on with -demo, whose receiver is on 127.0.0.1)")
	flag.Parse()
	if err := run(o); err != nil {
		log.Fatal(err)
	}
}

type options struct {
	addr, db, token    string
	demo, allowPrivate bool
}

func run(o options) error {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if o.demo {
		o.allowPrivate = true
		if o.db == "" {
			dir, err := os.MkdirTemp("", "hooksmith-server")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			o.db = filepath.Join(dir, "hooksmith.db")
		}
		o.addr = "127.0.0.1:0"
	}
	if o.db == "" {
		o.db = filepath.Join(os.TempDir(), "hooksmith-server.db")
	}
	if o.token == "" {
		o.token = rand.Text()
		if !o.demo {
			fmt.Printf("admin token of tenant %s: %s\n", tenant, o.token)
		}
	}

	store, err := boltstore.Open(o.db, &boltstore.Options{Logger: logger})
	if err != nil {
		return err
	}
	defer store.Close()
	d, err := webhook.NewDispatcher(store, &webhook.Config{AllowPrivateNetworks: o.allowPrivate, Logger: logger})
	if err != nil {
		return err
	}

	tokens := tokenTable{{token: o.token, principal: httpapi.Principal{Tenant: tenant, Role: httpapi.RoleAdmin}}}
	shop := &shop{d: d}
	mux := http.NewServeMux()
	mux.Handle("/webhooks/", http.StripPrefix("/webhooks", httpapi.New(d, &httpapi.Config{
		Authorize: tokens.authorize,
		Logger:    logger,
	})))
	mux.HandleFunc("POST /orders", shop.placeOrder)

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	if err := d.Start(context.Background()); err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()

	var runErr error
	if o.demo {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		runErr = demo(ctx, base, o.token)
		cancel()
	} else {
		fmt.Printf("serving the management API on %s/webhooks/ and the shop on %s/orders (interrupt to stop)\n", base, base)
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		select {
		case <-ctx.Done():
		case runErr = <-served:
		}
		stop()
	}

	// Stop taking requests, then let in-flight deliveries finish.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil && runErr == nil {
		runErr = err
	}
	if err := d.Shutdown(ctx); err != nil && runErr == nil {
		runErr = err
	}
	return runErr
}

// tokenTable is a bearer-token Authorize. A real service looks tokens up
// in its own user store; the principal's tenant is the customer's account.
type tokenTable []struct {
	token     string
	principal httpapi.Principal
}

func (t tokenTable) authorize(r *http.Request) (httpapi.Principal, error) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return httpapi.Principal{}, errors.New("send Authorization: Bearer <token>")
	}
	for _, e := range t {
		if subtle.ConstantTimeCompare([]byte(tok), []byte(e.token)) == 1 {
			return e.principal, nil
		}
	}
	return httpapi.Principal{}, errors.New("the token is not valid")
}

// shop is the service's own domain: orders. Placing one publishes an
// event, which is all the webhook integration it needs.
type shop struct {
	d  *webhook.Dispatcher
	mu sync.Mutex
	n  int
}

// order is what POST /orders takes and answers.
type order struct {
	ID       string  `json:"id"`
	Customer string  `json:"customer"`
	Total    float64 `json:"total"`
}

func (s *shop) placeOrder(w http.ResponseWriter, r *http.Request) {
	var o order
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&o); err != nil {
		http.Error(w, "send a JSON order such as {\"customer\": \"ann\", \"total\": 12.5}", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.n++
	o.ID = fmt.Sprintf("ord_%d_%d", time.Now().Unix(), s.n)
	s.mu.Unlock()
	data, _ := json.Marshal(o)
	// The event ID is derived from the order, so a retried request
	// publishes it once.
	if _, err := s.d.Publish(r.Context(), webhook.Event{ID: "evt_" + o.ID, Type: "order.created", Tenant: tenant, Data: data}); err != nil {
		http.Error(w, "the order was not placed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(o)
}

// demo is the scripted tour: a receiver subscribes through the API, an
// order is placed, the webhook arrives, and the API shows the delivery.
func demo(ctx context.Context, base, token string) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()

	// 1. Subscribe through the management API.
	var sub struct {
		ID, URL, Secret string
		EventTypes      []string
	}
	if err := call(ctx, token, "POST", base+"/webhooks/subscriptions", map[string]any{
		"name": "demo receiver", "url": "http://" + ln.Addr().String() + "/hooks", "eventTypes": []string{"order.*"},
	}, http.StatusCreated, &sub); err != nil {
		return err
	}
	fmt.Printf("POST /webhooks/subscriptions: %s -> %s %v\n", sub.ID, sub.URL, sub.EventTypes)

	// 2. A receiver verifying with the secret the API answered, once.
	rcv, err := webhook.NewReceiver([]string{sub.Secret}, nil)
	if err != nil {
		return err
	}
	received := make(chan webhook.Event, 1)
	hooks := &http.Server{Handler: rcv.Handler(func(_ context.Context, e webhook.Event) error {
		received <- e
		return nil
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hooks.Serve(ln) }()
	defer hooks.Close()

	// 3. The domain action: place an order.
	var placed order
	if err := call(ctx, "", "POST", base+"/orders", map[string]any{"customer": "ann", "total": 12.5}, http.StatusCreated, &placed); err != nil {
		return err
	}
	fmt.Printf("POST /orders: placed %s\n", placed.ID)

	select {
	case e := <-received:
		fmt.Printf("receiver: verified %s %s %s\n", e.ID, e.Type, e.Data)
	case <-ctx.Done():
		return errors.New("demo: the webhook did not arrive in time")
	}

	// 4. The delivery log, through the API. The receiver has answered;
	// the outcome is recorded right after, so look until it is.
	type delivery struct {
		ID, EventID, State string
		AttemptCount       int
		Attempts           []struct {
			Number, StatusCode, DurationMs int
		}
	}
	var list struct{ Data []delivery }
	for {
		if err := call(ctx, token, "GET", base+"/webhooks/subscriptions/"+sub.ID+"/deliveries", nil, http.StatusOK, &list); err != nil {
			return err
		}
		if len(list.Data) == 1 && list.Data[0].State != "pending" {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("demo: the delivery was not recorded in time: %+v", list.Data)
		case <-time.After(20 * time.Millisecond):
		}
	}
	fmt.Printf("GET /webhooks/subscriptions/%s/deliveries:\n", sub.ID)
	for _, dl := range list.Data {
		fmt.Printf("  %s event %s: %s after %d attempt(s)\n", dl.ID, dl.EventID, dl.State, dl.AttemptCount)
	}
	var one delivery
	if err := call(ctx, token, "GET", base+"/webhooks/deliveries/"+list.Data[0].ID, nil, http.StatusOK, &one); err != nil {
		return err
	}
	for _, at := range one.Attempts {
		fmt.Printf("  attempt %d: HTTP %d in %d ms\n", at.Number, at.StatusCode, at.DurationMs)
	}
	if one.State != "succeeded" {
		return fmt.Errorf("demo: delivery %s is %s, want succeeded", one.ID, one.State)
	}

	// 5. The event log, through the API.
	var events struct {
		Data []struct{ ID, Type string }
	}
	if err := call(ctx, token, "GET", base+"/webhooks/events?type=order.*&limit=1", nil, http.StatusOK, &events); err != nil {
		return err
	}
	for _, e := range events.Data {
		fmt.Printf("GET /webhooks/events: newest %s %s\n", e.ID, e.Type)
	}

	// 6. Unsubscribe, leaving nothing behind in a -db file kept between
	// runs.
	if err := call(ctx, token, "DELETE", base+"/webhooks/subscriptions/"+sub.ID, nil, http.StatusNoContent, nil); err != nil {
		return err
	}
	fmt.Printf("DELETE /webhooks/subscriptions/%s: done\n", sub.ID)
	return nil
}

// call sends a JSON request and decodes the JSON answer into out (unless
// out is nil), which must come with status want.
func call(ctx context.Context, token, method, url string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s answered %s, want %d: %s", method, url, resp.Status, want, b)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}
