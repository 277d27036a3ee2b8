package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooksmith/webhook"
	"github.com/hooksmith/webhook/store/memstore"
)

// rxBundle is a Receiver served on 127.0.0.1 with a fixed clock.
type rxBundle struct {
	r      *webhook.Receiver
	srv    *httptest.Server
	secret string
	now    time.Time
	calls  atomic.Int64
	// fn is what the handler function does; it defaults to returning nil.
	fn atomic.Pointer[func(context.Context, webhook.Event) error]
}

func rxSetup(t *testing.T, cfg *webhook.ReceiverConfig) *rxBundle {
	t.Helper()
	b := &rxBundle{secret: webhook.NewSecret(), now: time.Unix(1_700_000_000, 0)}
	c := webhook.ReceiverConfig{}
	if cfg != nil {
		c = *cfg
	}
	c.Now = func() time.Time { return b.now }
	r, err := webhook.NewReceiver([]string{b.secret}, &c)
	require.NoError(t, err)
	b.r = r
	b.srv = httptest.NewUnstartedServer(r.Handler(func(ctx context.Context, e webhook.Event) error {
		b.calls.Add(1)
		if fn := b.fn.Load(); fn != nil {
			return (*fn)(ctx, e)
		}
		return nil
	}))
	b.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // panics in fn are expected in one test
	b.srv.Start()
	t.Cleanup(b.srv.Close)
	return b
}

func (b *rxBundle) setFn(fn func(context.Context, webhook.Event) error) { b.fn.Store(&fn) }

// signed returns a request signed with the bundle's secret at its clock.
func (b *rxBundle) signed(t *testing.T, id string, body []byte) *http.Request {
	t.Helper()
	sig, err := webhook.Sign(b.secret, id, b.now, body)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, b.srv.URL, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set(webhook.HeaderID, id)
	req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(b.now.Unix(), 10))
	req.Header.Set(webhook.HeaderSignature, sig)
	return req
}

// rxClient sends the tests' requests over a transport of its own:
// httptest.Server.Close closes the idle connections of
// http.DefaultTransport, which would break a parallel test's request that
// was about to reuse one.
var rxClient = &http.Client{Transport: &http.Transport{}}

// do sends req and returns the status and body.
func rxDo(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := rxClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

const rxBody = `{"id":"evt_1","type":"invoice.paid","timestamp":"2026-01-02T03:04:05.123Z","data":{"amount":42}}`

func TestReceiverVerifyParsesEvent(t *testing.T) {
	t.Parallel()
	b := rxSetup(t, nil)
	tests := []struct {
		name string
		body string
		want webhook.Event
	}{
		{"dispatcher envelope", rxBody, webhook.Event{ID: "msg_1", Type: "invoice.paid",
			Timestamp: time.Date(2026, 1, 2, 3, 4, 5, 123e6, time.UTC), Data: json.RawMessage(`{"amount":42}`)}},
		{"data squashed into the top level", `{"type":"user.created","name":"x"}`, webhook.Event{ID: "msg_1", Type: "user.created",
			Data: json.RawMessage(`{"type":"user.created","name":"x"}`)}},
		{"null timestamp and data", `{"type":"a","timestamp":null,"data":null}`, webhook.Event{ID: "msg_1", Type: "a", Data: json.RawMessage(`null`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := b.signed(t, "msg_1", []byte(tt.body))
			e, err := b.r.Verify([]byte(tt.body), req.Header)
			require.NoError(t, err)
			require.True(t, tt.want.Timestamp.Equal(e.Timestamp), e.Timestamp)
			e.Timestamp = tt.want.Timestamp
			require.Equal(t, tt.want, e)
		})
	}
}

func TestReceiverVerifyMalformedPayload(t *testing.T) {
	t.Parallel()
	b := rxSetup(t, nil)
	for _, body := range []string{``, `[]`, `"x"`, `{}`, `{"type":""}`, `{"type":7}`, `{"type":"a","timestamp":"yesterday"}`, `{"type":"a"`} {
		req := b.signed(t, "msg_1", []byte(body))
		_, err := b.r.Verify([]byte(body), req.Header)
		require.ErrorIs(t, err, webhook.ErrMalformedPayload, body)
	}
}

func TestReceiverHandlerStatuses(t *testing.T) {
	t.Parallel()
	errBoom := errors.New("database down")
	tests := []struct {
		name     string
		cfg      *webhook.ReceiverConfig
		fn       func(context.Context, webhook.Event) error
		request  func(t *testing.T, b *rxBundle) *http.Request
		want     int
		wantBody string
		calls    int64
	}{
		{name: "success", want: http.StatusNoContent, calls: 1,
			request: func(t *testing.T, b *rxBundle) *http.Request { return b.signed(t, "msg_1", []byte(rxBody)) }},
		{name: "fn error is 500 without detail", fn: func(context.Context, webhook.Event) error { return errBoom },
			want: http.StatusInternalServerError, wantBody: "retry later", calls: 1,
			request: func(t *testing.T, b *rxBundle) *http.Request { return b.signed(t, "msg_1", []byte(rxBody)) }},
		{name: "permanent error is 422 with its message",
			fn: func(context.Context, webhook.Event) error {
				return webhook.Permanent(errors.New("unknown customer cus_9"))
			},
			want: http.StatusUnprocessableEntity, wantBody: "unknown customer cus_9", calls: 1,
			request: func(t *testing.T, b *rxBundle) *http.Request { return b.signed(t, "msg_1", []byte(rxBody)) }},
		{name: "wrong secret is 401", want: http.StatusUnauthorized, wantBody: "no matching signature",
			request: func(t *testing.T, b *rxBundle) *http.Request {
				req := b.signed(t, "msg_1", []byte(rxBody))
				sig, err := webhook.Sign(webhook.NewSecret(), "msg_1", b.now, []byte(rxBody))
				require.NoError(t, err)
				req.Header.Set(webhook.HeaderSignature, sig)
				return req
			}},
		{name: "old timestamp is 401", want: http.StatusUnauthorized, wantBody: "too old",
			request: func(t *testing.T, b *rxBundle) *http.Request {
				req := b.signed(t, "msg_1", []byte(rxBody))
				req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(b.now.Add(-time.Hour).Unix(), 10))
				return req
			}},
		{name: "missing headers is 400", want: http.StatusBadRequest, wantBody: "webhook-signature",
			request: func(t *testing.T, b *rxBundle) *http.Request {
				req := b.signed(t, "msg_1", []byte(rxBody))
				req.Header.Del(webhook.HeaderSignature)
				return req
			}},
		{name: "timestamp not a number is 400", want: http.StatusBadRequest, wantBody: "invalid timestamp",
			request: func(t *testing.T, b *rxBundle) *http.Request {
				req := b.signed(t, "msg_1", []byte(rxBody))
				req.Header.Set(webhook.HeaderTimestamp, "soon")
				return req
			}},
		{name: "malformed payload is 400", want: http.StatusBadRequest, wantBody: "malformed payload",
			request: func(t *testing.T, b *rxBundle) *http.Request { return b.signed(t, "msg_1", []byte(`{"data":{}}`)) }},
		{name: "body over the limit is 413", cfg: &webhook.ReceiverConfig{MaxBodyBytes: 64},
			want: http.StatusRequestEntityTooLarge, wantBody: "exceeds 64 bytes",
			request: func(t *testing.T, b *rxBundle) *http.Request {
				return b.signed(t, "msg_1", []byte(`{"type":"a","data":"`+strings.Repeat("x", 100)+`"}`))
			}},
		{name: "body at the limit is accepted", cfg: &webhook.ReceiverConfig{MaxBodyBytes: int64(len(rxBody))},
			want: http.StatusNoContent, calls: 1,
			request: func(t *testing.T, b *rxBundle) *http.Request { return b.signed(t, "msg_1", []byte(rxBody)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := rxSetup(t, tt.cfg)
			if tt.fn != nil {
				b.setFn(tt.fn)
			}
			status, body := rxDo(t, tt.request(t, b))
			require.Equal(t, tt.want, status, body)
			require.Contains(t, body, tt.wantBody)
			require.Equal(t, tt.calls, b.calls.Load())
		})
	}
}

func TestReceiverDefaultBodyLimitIs1MiB(t *testing.T) {
	t.Parallel()
	b := rxSetup(t, nil)
	body := []byte(`{"type":"a","data":"` + strings.Repeat("x", 1<<20) + `"}`)
	status, _ := rxDo(t, b.signed(t, "msg_big", body))
	require.Equal(t, http.StatusRequestEntityTooLarge, status)
	require.Zero(t, b.calls.Load())
}

func TestReceiverDedupe(t *testing.T) {
	t.Parallel()
	b := rxSetup(t, &webhook.ReceiverConfig{DedupeWindow: time.Hour})
	fail := atomic.Bool{}
	fail.Store(true)
	b.setFn(func(context.Context, webhook.Event) error {
		if fail.Load() {
			return errors.New("not yet")
		}
		return nil
	})

	status, _ := rxDo(t, b.signed(t, "msg_1", []byte(rxBody)))
	require.Equal(t, http.StatusInternalServerError, status)
	// A failed delivery is processed again.
	fail.Store(false)
	status, _ = rxDo(t, b.signed(t, "msg_1", []byte(rxBody)))
	require.Equal(t, http.StatusNoContent, status)
	require.EqualValues(t, 2, b.calls.Load())
	// A handled one is acknowledged without calling fn.
	status, _ = rxDo(t, b.signed(t, "msg_1", []byte(rxBody)))
	require.Equal(t, http.StatusNoContent, status)
	require.EqualValues(t, 2, b.calls.Load())
	// Another ID is handled.
	status, _ = rxDo(t, b.signed(t, "msg_2", []byte(rxBody)))
	require.Equal(t, http.StatusNoContent, status)
	require.EqualValues(t, 3, b.calls.Load())
}

func TestReceiverDedupeWindowEnds(t *testing.T) {
	t.Parallel()
	var now atomic.Int64
	now.Store(1_700_000_000)
	secret := webhook.NewSecret()
	r, err := webhook.NewReceiver([]string{secret}, &webhook.ReceiverConfig{
		DedupeWindow: time.Minute,
		Now:          func() time.Time { return time.Unix(now.Load(), 0) },
	})
	require.NoError(t, err)
	calls := 0
	h := r.Handler(func(context.Context, webhook.Event) error { calls++; return nil })
	send := func() int {
		ts := time.Unix(now.Load(), 0)
		sig, err := webhook.Sign(secret, "msg_1", ts, []byte(rxBody))
		require.NoError(t, err)
		req := httptest.NewRequest(http.MethodPost, "/hooks", strings.NewReader(rxBody))
		req.Header.Set(webhook.HeaderID, "msg_1")
		req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
		req.Header.Set(webhook.HeaderSignature, sig)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}
	require.Equal(t, http.StatusNoContent, send())
	now.Add(59)
	require.Equal(t, http.StatusNoContent, send())
	require.Equal(t, 1, calls)
	now.Add(1)
	require.Equal(t, http.StatusNoContent, send())
	require.Equal(t, 2, calls)
}

func TestReceiverConcurrentDuplicateRunsOnce(t *testing.T) {
	t.Parallel()
	b := rxSetup(t, nil)
	entered := make(chan struct{})
	release := make(chan struct{})
	b.setFn(func(context.Context, webhook.Event) error {
		entered <- struct{}{}
		<-release
		return nil
	})
	first := make(chan int, 1)
	go func() {
		resp, err := rxClient.Do(b.signed(t, "msg_1", []byte(rxBody)))
		if err != nil {
			first <- 0
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("handler not called within 10s")
	}
	status, body := rxDo(t, b.signed(t, "msg_1", []byte(rxBody)))
	require.Equal(t, http.StatusConflict, status, body)
	close(release)
	select {
	case st := <-first:
		require.Equal(t, http.StatusNoContent, st)
	case <-time.After(10 * time.Second):
		t.Fatal("first request not answered within 10s")
	}
	status, _ = rxDo(t, b.signed(t, "msg_1", []byte(rxBody)))
	require.Equal(t, http.StatusNoContent, status)
	require.EqualValues(t, 1, b.calls.Load())
}

func TestReceiverPanicReleasesClaim(t *testing.T) {
	t.Parallel()
	b := rxSetup(t, nil)
	b.setFn(func(context.Context, webhook.Event) error { panic("bug") })
	_, err := rxClient.Do(b.signed(t, "msg_1", []byte(rxBody)))
	require.Error(t, err, "net/http drops the connection of a panicking handler")
	b.setFn(func(context.Context, webhook.Event) error { return nil })
	status, _ := rxDo(t, b.signed(t, "msg_1", []byte(rxBody)))
	require.Equal(t, http.StatusNoContent, status)
	require.EqualValues(t, 2, b.calls.Load())
}

func TestNewReceiverValidates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		secrets []string
		cfg     *webhook.ReceiverConfig
		want    error
		field   string
	}{
		{name: "no secrets", want: webhook.ErrInvalidSecret},
		{name: "bad secret", secrets: []string{"whsec_short"}, want: webhook.ErrInvalidSecret},
		{name: "negative tolerance", secrets: []string{webhook.NewSecret()}, cfg: &webhook.ReceiverConfig{Tolerance: -1}, want: webhook.ErrInvalid, field: "Tolerance"},
		{name: "negative body cap", secrets: []string{webhook.NewSecret()}, cfg: &webhook.ReceiverConfig{MaxBodyBytes: -1}, want: webhook.ErrInvalid, field: "MaxBodyBytes"},
		{name: "negative window", secrets: []string{webhook.NewSecret()}, cfg: &webhook.ReceiverConfig{DedupeWindow: -time.Second}, want: webhook.ErrInvalid, field: "DedupeWindow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := webhook.NewReceiver(tt.secrets, tt.cfg)
			require.ErrorIs(t, err, tt.want)
			require.Contains(t, err.Error(), tt.field)
		})
	}
	_, err := webhook.NewReceiverFor(nil, nil)
	require.Error(t, err)
}

// fixedVerifier accepts requests whose X-Token is "ok".
type fixedVerifier struct{}

func (fixedVerifier) Verify(payload []byte, h http.Header) (webhook.Event, error) {
	if h.Get("X-Token") != "ok" {
		return webhook.Event{}, webhook.ErrNoMatchingSignature
	}
	return webhook.Event{ID: h.Get("X-Id"), Type: "custom", Data: payload}, nil
}

func TestNewReceiverForCustomVerifier(t *testing.T) {
	t.Parallel()
	r, err := webhook.NewReceiverFor(fixedVerifier{}, nil)
	require.NoError(t, err)
	var got []webhook.Event
	h := r.Handler(func(_ context.Context, e webhook.Event) error { got = append(got, e); return nil })
	for _, tc := range []struct {
		token, id string
		want      int
	}{{"ok", "a", 204}, {"bad", "b", 401}, {"ok", "a", 204}, {"ok", "", 204}, {"ok", "", 204}} {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{}`))
		req.Header.Set("X-Token", tc.token)
		req.Header.Set("X-Id", tc.id)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		require.Equal(t, tc.want, w.Code)
	}
	require.Len(t, got, 3, "a once (deduplicated), and both events without an ID")
}

// TestReceiverFromDispatcher delivers a published event through a real
// Dispatcher to a Receiver: the envelope the Dispatcher sends is what
// Verify parses.
func TestReceiverFromDispatcher(t *testing.T) {
	t.Parallel()
	secret := webhook.NewSecret()
	r, err := webhook.NewReceiver([]string{secret}, nil)
	require.NoError(t, err)
	got := make(chan webhook.Event, 1)
	srv := httptest.NewServer(r.Handler(func(_ context.Context, e webhook.Event) error {
		got <- e
		return nil
	}))
	t.Cleanup(srv.Close)

	d, err := webhook.NewDispatcher(memstore.New(), &webhook.Config{AllowPrivateNetworks: true})
	require.NoError(t, err)
	ctx := context.Background()
	_, err = d.SubscriptionCreate(ctx, webhook.Subscription{URL: srv.URL, Secret: secret, EventTypes: []string{"invoice.*"}})
	require.NoError(t, err)
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	res, err := d.Publish(ctx, webhook.Event{Type: "invoice.paid", Timestamp: at, Data: json.RawMessage(`{"amount":42}`)})
	require.NoError(t, err)
	require.NoError(t, d.Start(ctx))
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = d.Shutdown(sctx)
	})
	select {
	case e := <-got:
		require.Equal(t, res.EventID, e.ID)
		require.Equal(t, "invoice.paid", e.Type)
		require.True(t, at.Equal(e.Timestamp))
		require.JSONEq(t, `{"amount":42}`, string(e.Data))
	case <-time.After(10 * time.Second):
		t.Fatal("no event received within 10s")
	}
}

// TestReceiverEd25519 verifies "v1a," signatures with a "whpk_" public key,
// during a rotation from a shared secret to a key pair.
func TestReceiverEd25519(t *testing.T) {
	t.Parallel()
	k, err := webhook.NewSigningKey()
	require.NoError(t, err)
	oldSecret := webhook.NewSecret()
	now := time.Unix(1_700_000_000, 0)
	r, err := webhook.NewReceiver([]string{oldSecret, k.PublicKey()}, &webhook.ReceiverConfig{Now: func() time.Time { return now }})
	require.NoError(t, err)
	calls := 0
	h := r.Handler(func(context.Context, webhook.Event) error { calls++; return nil })

	sigA, err := k.Sign("msg_a", now, []byte(rxBody))
	require.NoError(t, err)
	other, err := webhook.NewSigningKey()
	require.NoError(t, err)
	sigOther, err := other.Sign("msg_b", now, []byte(rxBody))
	require.NoError(t, err)
	tests := []struct {
		id, sig string
		want    int
	}{
		{"msg_a", sigA, http.StatusNoContent},
		{"msg_b", sigOther, http.StatusUnauthorized},
		{"msg_c", "v1a," + strings.Repeat("A", 86) + "==", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(rxBody))
		req.Header.Set(webhook.HeaderID, tt.id)
		req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
		req.Header.Set(webhook.HeaderSignature, tt.sig)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		require.Equal(t, tt.want, w.Code, tt.id)
	}
	require.Equal(t, 1, calls)

	_, err = webhook.NewReceiver([]string{k.Secret()}, nil)
	require.ErrorIs(t, err, webhook.ErrInvalidSigningKey, "a receiver is given the public key, never the private one")
}
