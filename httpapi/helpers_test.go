package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooksmith/webhook"
	"github.com/hooksmith/webhook/store/memstore"
)

// spyStore reports every recorded delivery outcome on a channel, so tests
// wait for outcomes instead of sleeping.
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

// The bearer tokens of the test principals.
const (
	tokAdminA = "admin-a" // admin of tenant "a"
	tokUserA  = "user-a"  // user of tenant "a" with access to subA
	tokNoneA  = "none-a"  // user of tenant "a" with access to nothing
	tokAdminB = "admin-b" // admin of tenant "b"
	tokAnon   = ""        // no Authorization header
)

// testBundle is a Dispatcher with fixture subscriptions and its API.
type testBundle struct {
	d      *webhook.Dispatcher
	store  *spyStore
	h      http.Handler
	subA   webhook.Subscription // tenant "a", listed for tokUserA; has a bearer token
	subA2  webhook.Subscription // tenant "a", listed for nobody
	subB   webhook.Subscription // tenant "b"
	logged *bytes.Buffer
}

// bundleOpts adjust setup.
type bundleOpts struct {
	cfg    Config         // Authorize is set by setup
	subURL string         // URL of the fixture subscriptions; a placeholder by default
	wcfg   webhook.Config // the Dispatcher's; AllowPrivateNetworks is set
}

// setup returns a fresh bundle. The dispatcher is not started.
func setup(t testing.TB, o *bundleOpts) *testBundle {
	t.Helper()
	if o == nil {
		o = &bundleOpts{}
	}
	s := &spyStore{Store: memstore.New(), updates: make(chan webhook.DeliveryUpdate, 100)}
	wcfg := o.wcfg
	wcfg.AllowPrivateNetworks = true // test receivers listen on 127.0.0.1.
	if wcfg.Backoff == nil {
		wcfg.Backoff = func(int) time.Duration { return time.Hour }
	}
	d, err := webhook.NewDispatcher(s, &wcfg)
	require.NoError(t, err)
	b := &testBundle{d: d, store: s, logged: &bytes.Buffer{}}
	url := o.subURL
	if url == "" {
		url = "http://127.0.0.1:1/hook"
	}
	ctx := context.Background()
	b.subA, err = d.SubscriptionCreate(ctx, webhook.Subscription{
		Tenant: "a", Name: "A", URL: url, EventTypes: []string{"order.*"},
		Auth: &webhook.Auth{Bearer: &webhook.BearerAuth{Token: "s3cret-token"}},
	})
	require.NoError(t, err)
	b.subA2, err = d.SubscriptionCreate(ctx, webhook.Subscription{Tenant: "a", Name: "A2", URL: url, EventTypes: []string{"invoice.paid"}})
	require.NoError(t, err)
	b.subB, err = d.SubscriptionCreate(ctx, webhook.Subscription{Tenant: "b", Name: "B", URL: url, EventTypes: []string{"*"}})
	require.NoError(t, err)

	principals := map[string]Principal{
		tokAdminA: {Tenant: "a", Role: RoleAdmin},
		tokUserA:  {Tenant: "a", Role: RoleUser, Subscriptions: []string{b.subA.ID}},
		tokNoneA:  {Tenant: "a", Role: RoleUser},
		tokAdminB: {Tenant: "b", Role: RoleAdmin},
	}
	cfg := o.cfg
	cfg.Authorize = func(r *http.Request) (Principal, error) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			return Principal{}, errors.New("send Authorization: Bearer <token>")
		}
		p, ok := principals[tok]
		if !ok {
			return Principal{}, errors.New("unknown token")
		}
		return p, nil
	}
	if cfg.Logger == nil {
		cfg.Logger = slogTo(b.logged)
	}
	b.h = New(d, &cfg)
	return b
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

// nextUpdate waits for the next recorded delivery outcome.
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

// publish publishes an event of tenant with the given type.
func (b *testBundle) publish(t *testing.T, tenant, typ string) webhook.PublishResult {
	t.Helper()
	res, err := b.d.Publish(context.Background(), webhook.Event{Tenant: tenant, Type: typ, Data: json.RawMessage(`{"n":1}`)})
	require.NoError(t, err)
	return res
}

// req is one request to the API.
type req struct {
	method, path, token, body string
	contentType               string // "application/json" when a body is given and this is empty
}

// do sends r to the API and returns the answer.
func (b *testBundle) do(t testing.TB, r req) *httptest.ResponseRecorder {
	t.Helper()
	var body *strings.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	} else {
		body = strings.NewReader("")
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	if r.token != tokAnon {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	switch {
	case r.contentType == "-":
	case r.contentType != "":
		hr.Header.Set("Content-Type", r.contentType)
	case r.body != "":
		hr.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	b.h.ServeHTTP(w, hr)
	return w
}

// decodeAs decodes an answer's JSON body into a T.
func decodeAs[T any](t testing.TB, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &v), "body: %s", w.Body.String())
	return v
}

// requireError checks an error answer: status, code, and the fields named.
func requireError(t *testing.T, w *httptest.ResponseRecorder, status int, code string, fields ...string) errorDetail {
	t.Helper()
	require.Equal(t, status, w.Code, "body: %s", w.Body.String())
	require.Equal(t, "application/json", w.Header().Get("Content-Type"))
	e := decodeAs[errorBody](t, w).Error
	require.Equal(t, code, e.Code, "message: %s", e.Message)
	require.NotEmpty(t, e.Message)
	got := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		got[i] = f.Field
		require.NotEmpty(t, f.Message, "field %s", f.Field)
	}
	if len(fields) > 0 {
		require.ElementsMatch(t, fields, got, "message: %s", e.Message)
	}
	return e
}

// mustJSON marshals v.
func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// slogTo returns a text logger writing to w.
func slogTo(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
