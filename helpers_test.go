package webhook_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooksmith/webhook"
	"github.com/hooksmith/webhook/store/memstore"
)

// spyStore wraps a Store and reports every recorded delivery outcome on a
// channel, so tests wait for outcomes instead of sleeping. With readOnly
// set, it also checks that the Dispatcher keeps the Store's ownership
// rules.
type spyStore struct {
	webhook.Store
	updates  chan webhook.DeliveryUpdate
	readOnly *readOnly
}

// readOnly remembers the values that the Dispatcher must not change: what
// SubscriptionGet, SubscriptionMatch and EventGet returned and the events
// EventInsert took (the store keeps them as they are), each with a copy
// made at the time.
type readOnly struct {
	mu     sync.Mutex
	subs   [][2]*webhook.Subscription // the value, its copy
	events [][2]*webhook.Event
}

func (r *readOnly) sub(s *webhook.Subscription) {
	if r != nil && s != nil {
		r.mu.Lock()
		r.subs = append(r.subs, [2]*webhook.Subscription{s, s.Clone()})
		r.mu.Unlock()
	}
}

func (r *readOnly) event(e *webhook.Event) {
	if r != nil && e != nil {
		r.mu.Lock()
		r.events = append(r.events, [2]*webhook.Event{e, webhook.SnapshotEvent(e)})
		r.mu.Unlock()
	}
}

// check fails t if any remembered value changed.
func (r *readOnly) check(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.subs {
		require.Equal(t, p[1], p[0], "the Dispatcher changed a read-only subscription")
	}
	for _, p := range r.events {
		require.Equal(t, p[1], p[0], "the Dispatcher changed an event the store owns")
	}
}

func (s *spyStore) SubscriptionGet(ctx context.Context, id string) (*webhook.Subscription, error) {
	sub, err := s.Store.SubscriptionGet(ctx, id)
	s.readOnly.sub(sub)
	return sub, err
}

func (s *spyStore) SubscriptionMatch(ctx context.Context, tenant, eventType string) ([]*webhook.Subscription, error) {
	subs, err := s.Store.SubscriptionMatch(ctx, tenant, eventType)
	for _, sub := range subs {
		s.readOnly.sub(sub)
	}
	return subs, err
}

func (s *spyStore) EventGet(ctx context.Context, id string) (*webhook.Event, error) {
	e, err := s.Store.EventGet(ctx, id)
	s.readOnly.event(e)
	return e, err
}

func (s *spyStore) EventInsert(ctx context.Context, e *webhook.Event, ds []*webhook.Delivery, feed []*webhook.FeedEntry) error {
	err := s.Store.EventInsert(ctx, e, ds, feed)
	if err == nil {
		s.readOnly.event(e)
	}
	return err
}

func (s *spyStore) DeliveryUpdate(ctx context.Context, u webhook.DeliveryUpdate) error {
	err := s.Store.DeliveryUpdate(ctx, u)
	if err == nil {
		s.updates <- u
	}
	return err
}

// spyUpdateClaimer is a spyStore over a store that is a
// webhook.DeliveryUpdateClaimer, and one itself, so that the Dispatcher
// records outcomes and claims in one call, as it does on memstore.
type spyUpdateClaimer struct{ *spyStore }

func (s spyUpdateClaimer) DeliveryUpdateClaim(ctx context.Context, u webhook.DeliveryUpdate, p webhook.ClaimParams) ([]*webhook.Delivery, error) {
	ds, err := s.Store.(webhook.DeliveryUpdateClaimer).DeliveryUpdateClaim(ctx, u, p)
	if err == nil {
		s.updates <- u
	}
	return ds, err
}

// testBundle is what most dispatcher tests need.
type testBundle struct {
	d     *webhook.Dispatcher
	store *spyStore
}

// setup returns a dispatcher on a fresh memstore that may deliver to
// loopback and retries after 1 ms unless cfg says otherwise; cfg may be
// nil. The dispatcher is not started.
func setup(t *testing.T, cfg *webhook.Config) *testBundle {
	t.Helper()
	c := webhook.Config{}
	if cfg != nil {
		c = *cfg
	}
	c.AllowPrivateNetworks = true // test receivers listen on 127.0.0.1.
	if c.Backoff == nil {
		c.Backoff = func(int) time.Duration { return time.Millisecond }
	}
	s := &spyStore{Store: memstore.New(), updates: make(chan webhook.DeliveryUpdate, 1000), readOnly: &readOnly{}}
	// Registered first, so it runs last: after the Dispatcher stopped.
	t.Cleanup(func() { s.readOnly.check(t) })
	d, err := webhook.NewDispatcher(spyUpdateClaimer{s}, &c)
	require.NoError(t, err)
	return &testBundle{d: d, store: s}
}

// start runs the delivery loop until the test ends.
func (b *testBundle) start(t *testing.T) {
	t.Helper()
	require.NoError(t, b.d.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = b.d.Shutdown(ctx)
	})
}

// nextUpdate waits for the next recorded outcome.
func (b *testBundle) nextUpdate(t *testing.T) webhook.DeliveryUpdate {
	t.Helper()
	select {
	case u := <-b.store.updates:
		return u
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery outcome recorded within 10s")
		return webhook.DeliveryUpdate{}
	}
}

// subscribe creates a subscription to url for the given event types.
func (b *testBundle) subscribe(t *testing.T, url string, types ...string) webhook.Subscription {
	t.Helper()
	s, err := b.d.SubscriptionCreate(context.Background(), webhook.Subscription{URL: url, EventTypes: types})
	require.NoError(t, err)
	return s
}

// publish publishes an event with a small payload.
func (b *testBundle) publish(t *testing.T, e webhook.Event) webhook.PublishResult {
	t.Helper()
	if e.Data == nil {
		e.Data = []byte(`{"n":1}`)
	}
	res, err := b.d.Publish(context.Background(), e)
	require.NoError(t, err)
	return res
}

// received is one request a test receiver got.
type received struct {
	Method string
	Header http.Header
	Body   []byte
}

// receiver is an httptest server on 127.0.0.1 that answers each request
// with the next status from answers (the last one repeats) and reports
// what it got on a channel.
type receiver struct {
	*httptest.Server
	got chan received

	mu      sync.Mutex
	answers []func(w http.ResponseWriter)
}

func newReceiver(t *testing.T, answers ...func(w http.ResponseWriter)) *receiver {
	t.Helper()
	if len(answers) == 0 {
		answers = []func(w http.ResponseWriter){status(http.StatusNoContent)}
	}
	r := &receiver{got: make(chan received, 1000), answers: answers}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.got <- received{Method: req.Method, Header: req.Header.Clone(), Body: body}
		r.mu.Lock()
		answer := r.answers[0]
		if len(r.answers) > 1 {
			r.answers = r.answers[1:]
		}
		r.mu.Unlock()
		answer(w)
	}))
	t.Cleanup(r.Close)
	return r
}

// next waits for the next request.
func (r *receiver) next(t *testing.T) received {
	t.Helper()
	select {
	case got := <-r.got:
		return got
	case <-time.After(10 * time.Second):
		t.Fatal("receiver got no request within 10s")
		return received{}
	}
}

// status answers with a bare status code.
func status(code int) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) { w.WriteHeader(code) }
}
