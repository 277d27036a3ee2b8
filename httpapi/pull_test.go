package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooksmith/webhook"
)

// pullBundle is a bundle with a pull subscription of tenant "a" that
// tokUserA may use, and the OpenAPI document to check answers against.
type pullBundle struct {
	*testBundle
	sub string
	doc map[string]any
}

func setupPull(t *testing.T, o *bundleOpts) *pullBundle {
	t.Helper()
	b := setup(t, o)
	w := b.do(t, req{method: "POST", path: "/subscriptions", token: tokAdminA, body: `{"name": "feed", "mode": "pull", "eventTypes": ["order.*"]}`})
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	s := decodeAs[subscriptionOut](t, w)
	require.Equal(t, "pull", s.Mode)
	require.Empty(t, s.URL)
	require.Empty(t, s.Method)
	// The fixture user may use the new subscription too.
	pb := &pullBundle{testBundle: b, sub: s.ID, doc: openAPIDoc(t, b)}
	b.h = New(b.d, &Config{Authorize: func(r *http.Request) (Principal, error) {
		if r.Header.Get("Authorization") == "Bearer "+tokAdminB {
			return Principal{Tenant: "b", Role: RoleAdmin}, nil
		}
		return Principal{Tenant: "a", Role: RoleUser, Subscriptions: []string{s.ID}}, nil
	}})
	return pb
}

// poll polls the pull subscription with query and checks the answer
// against the document.
func (b *pullBundle) poll(t *testing.T, query url.Values) pollOut {
	t.Helper()
	w := b.do(t, req{method: "GET", path: "/subscriptions/" + b.sub + "/events?" + query.Encode(), token: tokUserA})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var raw any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &raw))
	checkSchema(t, b.doc, map[string]any{"$ref": "#/components/schemas/PollResult"}, raw, "$")
	return decodeAs[pollOut](t, w)
}

func ids(p pollOut) []string {
	out := make([]string, len(p.Data))
	for i, e := range p.Data {
		out[i] = e.Event.ID
	}
	return out
}

func TestPollCommit(t *testing.T) {
	t.Parallel()
	b := setupPull(t, nil)
	var published []string
	for range 3 {
		published = append(published, b.publish(t, "a", "order.created").EventID)
	}
	b.publish(t, "a", "invoice.paid")  // not subscribed to
	b.publish(t, "b", "order.created") // another tenant's

	first := b.poll(t, url.Values{"timeout": {"1"}})
	require.Equal(t, published, ids(first))
	require.False(t, first.More)
	require.Equal(t, "a", first.Data[0].Event.Tenant)
	require.JSONEq(t, `{"n":1}`, string(first.Data[0].Event.Data))
	require.Equal(t, first.Data[2].Cursor, first.NextCursor)

	// Without a commit the same events come again.
	require.Equal(t, published, ids(b.poll(t, url.Values{"timeout": {"1"}})))
	// Paging with limit and the answered cursors.
	p := b.poll(t, url.Values{"limit": {"2"}})
	require.Equal(t, published[:2], ids(p))
	require.True(t, p.More)
	require.Equal(t, published[2:], ids(b.poll(t, url.Values{"cursor": {p.NextCursor}})))

	// Committing the first event's cursor acknowledges it.
	w := b.do(t, req{method: "PUT", path: "/subscriptions/" + b.sub + "/cursor", token: tokUserA, body: mustJSON(t, cursorIn{Cursor: first.Data[0].Cursor})})
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	require.Equal(t, published[1:], ids(b.poll(t, nil)))
	// An older cursor does not move the position back...
	for _, older := range []string{"oldest", first.Data[0].Cursor} {
		w = b.do(t, req{method: "PUT", path: "/subscriptions/" + b.sub + "/cursor", token: tokUserA, body: mustJSON(t, cursorIn{Cursor: older})})
		require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
		require.Equal(t, published[1:], ids(b.poll(t, nil)))
	}
	// ...unless it is a reset.
	w = b.do(t, req{method: "PUT", path: "/subscriptions/" + b.sub + "/cursor", token: tokUserA, body: `{"cursor": "oldest", "reset": true}`})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.NotEmpty(t, decodeAs[cursorOut](t, w).Cursor)
	require.Equal(t, published, ids(b.poll(t, nil)))
	w = b.do(t, req{method: "PUT", path: "/subscriptions/" + b.sub + "/cursor", token: tokUserA, body: `{"cursor": "latest", "reset": true}`})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Equal(t, first.NextCursor, decodeAs[cursorOut](t, w).Cursor)
}

func TestPollAutoCommit(t *testing.T) {
	t.Parallel()
	b := setupPull(t, nil)
	e1 := b.publish(t, "a", "order.created").EventID
	require.Equal(t, []string{e1}, ids(b.poll(t, url.Values{"autoCommit": {"true"}})))
	e2 := b.publish(t, "a", "order.paid").EventID
	require.Equal(t, []string{e2}, ids(b.poll(t, url.Values{"autoCommit": {"true"}})), "the first batch was committed")
}

// TestPollWaits checks the long poll: an empty feed answers an empty
// batch after the timeout, and a publish ends the wait.
func TestPollWaits(t *testing.T) {
	t.Parallel()
	b := setupPull(t, nil)
	start := time.Now()
	empty := b.poll(t, url.Values{"timeout": {"1"}})
	require.Empty(t, empty.Data)
	require.NotEmpty(t, empty.NextCursor)
	require.GreaterOrEqual(t, time.Since(start), time.Second)

	got := make(chan *httptest.ResponseRecorder, 1)
	go func() {
		got <- b.do(t, req{method: "GET", path: "/subscriptions/" + b.sub + "/events?timeout=30", token: tokUserA})
	}()
	e := b.publish(t, "a", "order.created").EventID
	select {
	case w := <-got:
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		require.Equal(t, []string{e}, ids(decodeAs[pollOut](t, w)))
	case <-time.After(10 * time.Second):
		t.Fatal("the poll did not end when an event was published")
	}
}

// TestPollConcurrent checks that of two concurrent polls one is refused.
func TestPollConcurrent(t *testing.T) {
	t.Parallel()
	b := setupPull(t, nil)
	answers := make(chan *httptest.ResponseRecorder, 2)
	for range 2 {
		go func() {
			answers <- b.do(t, req{method: "GET", path: "/subscriptions/" + b.sub + "/events?timeout=30", token: tokUserA})
		}()
	}
	// The refused poll answers at once; then an event ends the other.
	refused := <-answers
	requireError(t, refused, http.StatusConflict, codeConcurrentPoll)
	e := b.publish(t, "a", "order.created").EventID
	select {
	case w := <-answers:
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		require.Equal(t, []string{e}, ids(decodeAs[pollOut](t, w)))
	case <-time.After(10 * time.Second):
		t.Fatal("the poll did not end when an event was published")
	}
}

func TestPollExpiredCursor(t *testing.T) {
	t.Parallel()
	var now atomic.Int64
	now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	b := setupPull(t, &bundleOpts{wcfg: webhook.Config{
		Now:       func() time.Time { return time.Unix(0, now.Load()) },
		Retention: time.Hour,
	}})
	b.publish(t, "a", "order.created")
	cursor := b.poll(t, nil).Data[0].Cursor
	now.Add(int64(2 * time.Hour))
	e := b.publish(t, "a", "order.created").EventID

	// The committed position (before the first event) is past retention.
	w := b.do(t, req{method: "GET", path: "/subscriptions/" + b.sub + "/events?timeout=1", token: tokUserA})
	e410 := requireError(t, w, http.StatusGone, codeCursorExpired)
	require.Contains(t, e410.Message, "cursor=oldest")
	// From the oldest retained position, or from after the expired
	// event, the retained one is read.
	require.Equal(t, []string{e}, ids(b.poll(t, url.Values{"cursor": {"oldest"}})))
	require.Equal(t, []string{e}, ids(b.poll(t, url.Values{"cursor": {cursor}})))
	// Resetting to oldest clears the error.
	w = b.do(t, req{method: "PUT", path: "/subscriptions/" + b.sub + "/cursor", token: tokUserA, body: `{"cursor": "oldest", "reset": true}`})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Equal(t, []string{e}, ids(b.poll(t, nil)))
}

func TestPollBadInput(t *testing.T) {
	t.Parallel()
	b := setupPull(t, nil)
	other := setupPull(t, nil)
	otherCursor := other.poll(t, url.Values{"timeout": {"1"}}).NextCursor
	tests := []struct {
		name, method, query, body string
		status                    int
		code                      string
		fields                    []string
	}{
		{"timeout 0", "GET", "timeout=0", "", 400, codeBadRequest, []string{"timeout"}},
		{"timeout too long", "GET", "timeout=301", "", 400, codeBadRequest, []string{"timeout"}},
		{"timeout with unit", "GET", "timeout=5s", "", 400, codeBadRequest, []string{"timeout"}},
		{"limit 0", "GET", "limit=0", "", 400, codeBadRequest, []string{"limit"}},
		{"maxBatchSize", "GET", "maxBatchSize=-1", "", 400, codeBadRequest, []string{"maxBatchSize"}},
		{"autoCommit", "GET", "autoCommit=perhaps", "", 400, codeBadRequest, []string{"autoCommit"}},
		{"malformed cursor", "GET", "cursor=nope", "", 400, codeBadRequest, []string{"cursor"}},
		{"another subscription's cursor", "GET", "cursor=" + otherCursor, "", 400, codeBadRequest, []string{"cursor"}},
		{"commit without cursor", "PUT", "", `{}`, 422, codeValidation, []string{"cursor"}},
		{"commit malformed cursor", "PUT", "", `{"cursor": "nope"}`, 422, codeValidation, []string{"cursor"}},
		{"commit another subscription's cursor", "PUT", "", mustJSON(t, cursorIn{Cursor: otherCursor}), 422, codeValidation, []string{"cursor"}},
		{"commit unknown field", "PUT", "", `{"cursor": "x", "force": true}`, 400, codeBadRequest, []string{"force"}},
		{"commit wrong type", "PUT", "", `{"cursor": 1}`, 400, codeBadRequest, []string{"cursor"}},
		{"commit malformed", "PUT", "", `{"cursor": `, 400, codeBadRequest, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := "/subscriptions/" + b.sub + "/events?" + tt.query
			if tt.method == "PUT" {
				path = "/subscriptions/" + b.sub + "/cursor"
			}
			w := b.do(t, req{method: tt.method, path: path, token: tokUserA, body: tt.body})
			requireError(t, w, tt.status, tt.code, tt.fields...)
		})
	}
}

// TestPollOtherTenant checks that another tenant's pull subscription
// looks missing.
func TestPollOtherTenant(t *testing.T) {
	t.Parallel()
	b := setupPull(t, nil)
	w := b.do(t, req{method: "GET", path: "/subscriptions/" + b.sub + "/events?timeout=1", token: tokAdminB})
	requireError(t, w, http.StatusNotFound, codeNotFound)
	w = b.do(t, req{method: "PUT", path: "/subscriptions/" + b.sub + "/cursor", token: tokAdminB, body: `{"cursor": "oldest", "reset": true}`})
	requireError(t, w, http.StatusNotFound, codeNotFound)
}

func TestPullSubscriptionEditing(t *testing.T) {
	t.Parallel()
	b := setupPull(t, nil)
	path := "/subscriptions/" + b.sub
	// PATCH and PUT keep the mode; it cannot change.
	w := b.do(t, req{method: "PATCH", path: path, token: tokUserA, body: `{"name": "renamed"}`, contentType: mediaMergePatch})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Equal(t, "pull", decodeAs[subscriptionOut](t, w).Mode)
	w = b.do(t, req{method: "PUT", path: path, token: tokUserA, body: `{"eventTypes": ["order.*"]}`})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Equal(t, "pull", decodeAs[subscriptionOut](t, w).Mode)
	w = b.do(t, req{method: "PATCH", path: path, token: tokUserA, body: `{"mode": "push", "url": "https://example.com/h"}`, contentType: mediaMergePatch})
	requireError(t, w, http.StatusUnprocessableEntity, codeValidation, "mode")
	w = b.do(t, req{method: "PATCH", path: path, token: tokUserA, body: `{"url": "https://example.com/h"}`, contentType: mediaMergePatch})
	requireError(t, w, http.StatusUnprocessableEntity, codeValidation, "url")
	w = b.do(t, req{method: "POST", path: "/subscriptions", token: tokAdminB, body: `{"mode": "both", "eventTypes": ["a"]}`})
	requireError(t, w, http.StatusUnprocessableEntity, codeValidation, "mode", "url")

	// A push subscription cannot be polled.
	w = b.do(t, req{method: "GET", path: "/subscriptions", token: tokAdminB})
	var pushID string
	for _, s := range decodeAs[page[subscriptionOut]](t, w).Data {
		require.Equal(t, "push", s.Mode)
		pushID = s.ID
	}
	w = b.do(t, req{method: "GET", path: "/subscriptions/" + pushID + "/events", token: tokAdminB})
	requireError(t, w, http.StatusConflict, codeNotPull)
}

// HEAD on the poll route is refused: its answer has no body, so an
// auto-committed batch would be lost.
func TestPollRefusesHead(t *testing.T) {
	t.Parallel()
	b := setupPull(t, nil)
	e := b.publish(t, "a", "order.created").EventID
	w := b.do(t, req{method: "HEAD", path: "/subscriptions/" + b.sub + "/events?autoCommit=true&timeout=1", token: tokUserA})
	require.Equal(t, http.StatusMethodNotAllowed, w.Code)
	require.Equal(t, "GET", w.Header().Get("Allow"))
	require.Equal(t, []string{e}, ids(b.poll(t, url.Values{"timeout": {"1"}})), "the event is still there")
}
