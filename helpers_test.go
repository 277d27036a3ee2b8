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
// channel, so tests wait for outcomes instead of sleeping.
type spyStore struct {
	webhook.Store
	updates chan webhook.DeliveryUpdate
}

func (s *spyStore) DeliveryUpdate(ctx context.Context, u webhook.DeliveryUpdate) error {
	err := s.Store.DeliveryUpdate(ctx, u)
	if err == nil {
		s.updates <- u
	}
	return err
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
	s := &spyStore{Store: memstore.New(), updates: make(chan webhook.DeliveryUpdate, 1000)}
	d, err := webhook.NewDispatcher(s, &c)
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
