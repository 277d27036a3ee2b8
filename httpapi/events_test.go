package httpapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooksmith/webhook"
)

func TestEventPublish(t *testing.T) {
	t.Parallel()
	b := setup(t, &bundleOpts{cfg: Config{AllowPublish: true}})
	w := b.do(t, req{method: "POST", path: "/events", token: tokAdminA, body: `{
		"id": "evt_order_1", "type": "order.created", "timestamp": "2026-01-02T03:04:05Z",
		"data": {"total": 12.5}, "metadata": {"actor": "ann"}
	}`})
	require.Equal(t, http.StatusAccepted, w.Code, w.Body.String())
	res := decodeAs[publishOut](t, w)
	require.True(t, strings.HasPrefix(res.EventID, "evt_"), res.EventID)
	require.False(t, res.Duplicate)
	ev, err := b.d.EventGet(t.Context(), res.EventID)
	require.NoError(t, err)
	require.Equal(t, "a", ev.Tenant)
	require.Len(t, res.DeliveryIDs, 1, "only tenant a's order.* subscription matches")

	d, err := b.d.DeliveryGet(t.Context(), res.DeliveryIDs[0])
	require.NoError(t, err)
	require.Equal(t, b.subA.ID, d.SubscriptionID)
	require.Equal(t, "a", d.Tenant, "the event is published in the caller's tenant")

	// Publishing the same ID again stores nothing.
	w = b.do(t, req{method: "POST", path: "/events", token: tokAdminA, body: `{"id": "evt_order_1", "type": "order.created", "data": {}}`})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	again := decodeAs[publishOut](t, w)
	require.True(t, again.Duplicate)
	require.Equal(t, res.EventID, again.EventID, "the same key of the same tenant is the same event")
	require.Equal(t, []string{}, again.DeliveryIDs)
}

// Another tenant's use of an idempotency key cannot be told from a free
// key: keys are scoped to the tenant.
func TestEventPublishKeysAreScopedToTheTenant(t *testing.T) {
	t.Parallel()
	b := setup(t, &bundleOpts{cfg: Config{AllowPublish: true}})
	body := `{"id": "order-1001", "type": "order.created", "data": {}}`
	first := b.do(t, req{method: "POST", path: "/events", token: tokAdminA, body: body})
	require.Equal(t, http.StatusAccepted, first.Code, first.Body.String())
	taken := b.do(t, req{method: "POST", path: "/events", token: tokAdminB, body: body})
	require.Equal(t, http.StatusAccepted, taken.Code, taken.Body.String())
	require.NotEqual(t, decodeAs[publishOut](t, first).EventID, decodeAs[publishOut](t, taken).EventID)
}

func TestEventPublishDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
	}{
		{"null data", `{"type": "order.created", "data": null}`},
		{"own tenant", `{"type": "order.created", "data": [], "tenant": "a"}`},
		{"no match", `{"type": "nothing.matches", "data": "x"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, &bundleOpts{cfg: Config{AllowPublish: true}})
			before := time.Now()
			w := b.do(t, req{method: "POST", path: "/events", token: tokAdminA, body: tt.body})
			require.Equal(t, http.StatusAccepted, w.Code, w.Body.String())
			res := decodeAs[publishOut](t, w)
			require.NotEmpty(t, res.EventID, "an ID is generated")
			require.NotNil(t, res.DeliveryIDs)
			for _, id := range res.DeliveryIDs {
				d, err := b.d.DeliveryGet(t.Context(), id)
				require.NoError(t, err)
				require.False(t, d.CreatedAt.Before(before.Add(-time.Second)))
			}
		})
	}
}

func TestEventPublishOffByDefault(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	w := b.do(t, req{method: "POST", path: "/events", token: tokAdminA, body: `{"type": "order.created", "data": {}}`})
	requireError(t, w, http.StatusMethodNotAllowed, codeMethodNotAllowed)
	require.Equal(t, "GET, HEAD", w.Header().Get("Allow"))
	ds, err := b.d.DeliveryList(t.Context(), webhook.DeliveryListParams{})
	require.NoError(t, err)
	require.Empty(t, ds, "nothing was published")
}

func TestEventList(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	b := setup(t, nil)
	var all []string // oldest first
	for i, typ := range []string{"order.created", "order.paid", "invoice.paid", "order.created", "invoice.sent"} {
		res, err := b.d.Publish(t.Context(), webhook.Event{
			Tenant: "a", Type: typ, Timestamp: base.Add(time.Duration(i) * time.Hour), Data: json.RawMessage(`{}`),
		})
		require.NoError(t, err)
		all = append(all, res.EventID)
	}
	b.publish(t, "b", "order.created") // another tenant's
	newest := slices.Clone(all)
	slices.Reverse(newest)

	tests := []struct {
		query string
		want  []string
	}{
		{"", newest},
		{"order=newest&limit=2", newest},
		{"order=oldest", all},
		{"order=oldest&limit=1", all},
		{"type=order.*&order=oldest", []string{all[0], all[1], all[3]}},
		{"type=invoice.paid", []string{all[2]}},
		{"since=2026-03-01T13:00:00Z&until=2026-03-01T15:00:00Z&order=oldest", all[1:3]},
		{"since=2026-03-01T14:00:00%2B02:00", newest}, // 12:00Z
		{"until=2026-03-01T12:00:00Z", nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			t.Parallel()
			var got []string
			path := "/events?" + tt.query
			for pages := 0; ; pages++ {
				require.Less(t, pages, 10)
				w := b.do(t, req{method: "GET", path: path, token: tokAdminA})
				require.Equal(t, http.StatusOK, w.Code, w.Body.String())
				p := decodeAs[page[eventOut]](t, w)
				for _, e := range p.Data {
					require.Equal(t, "a", e.Tenant)
					got = append(got, e.ID)
				}
				if p.NextCursor == "" {
					break
				}
				path = "/events?" + tt.query + "&cursor=" + p.NextCursor
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestEventGet(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	ts := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	res, err := b.d.Publish(t.Context(), webhook.Event{
		ID: "evt_1", Tenant: "a", Type: "order.created", Timestamp: ts,
		Data: json.RawMessage(`{"total": 3}`), Metadata: map[string]string{"actor": "ann"},
	})
	require.NoError(t, err)
	w := b.do(t, req{method: "GET", path: "/events/" + res.EventID, token: tokAdminA})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.JSONEq(t, `{"id": "evt_1", "type": "order.created", "tenant": "a", "timestamp": "2026-03-01T12:00:00Z",
		"data": {"total": 3}, "metadata": {"actor": "ann"}}`, w.Body.String())
	w = b.do(t, req{method: "GET", path: "/events/evt_missing", token: tokAdminA})
	requireError(t, w, http.StatusNotFound, codeNotFound)
}

func TestEventListBadQuery(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	w := b.do(t, req{method: "GET", path: "/events?order=oldest&limit=1", token: tokAdminA})
	require.Equal(t, http.StatusOK, w.Code)
	b.publish(t, "a", "x")
	b.publish(t, "a", "y")
	w = b.do(t, req{method: "GET", path: "/events?limit=1", token: tokAdminA})
	newestCursor := decodeAs[page[eventOut]](t, w).NextCursor
	require.NotEmpty(t, newestCursor)
	tests := []struct {
		query  string
		fields []string
	}{
		{"limit=0", []string{"limit"}},
		{"limit=1001", []string{"limit"}},
		{"order=random", []string{"order"}},
		{"since=yesterday", []string{"since"}},
		{"until=2026-13-01T00:00:00Z", []string{"until"}},
		{"since=2026-03-02T00:00:00Z&until=2026-03-01T00:00:00Z", []string{"until"}},
		{"type=a%20b", []string{"type"}},
		{"cursor=nope", []string{"cursor"}},
		{"order=oldest&cursor=" + newestCursor, []string{"cursor"}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			t.Parallel()
			w := b.do(t, req{method: "GET", path: "/events?" + tt.query, token: tokAdminA})
			requireError(t, w, http.StatusBadRequest, codeBadRequest, tt.fields...)
		})
	}
}
