package httpapi

import (
	"net/http"
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
	require.Equal(t, "evt_order_1", res.EventID)
	require.False(t, res.Duplicate)
	require.Len(t, res.DeliveryIDs, 1, "only tenant a's order.* subscription matches")

	d, err := b.d.DeliveryGet(t.Context(), res.DeliveryIDs[0])
	require.NoError(t, err)
	require.Equal(t, b.subA.ID, d.SubscriptionID)
	require.Equal(t, "a", d.Tenant, "the event is published in the caller's tenant")

	// Publishing the same ID again stores nothing.
	w = b.do(t, req{method: "POST", path: "/events", token: tokAdminA, body: `{"id": "evt_order_1", "type": "order.created", "data": {}}`})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	res = decodeAs[publishOut](t, w)
	require.True(t, res.Duplicate)
	require.Equal(t, []string{}, res.DeliveryIDs)
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
	requireError(t, w, http.StatusNotFound, codeNotFound)
	ds, err := b.d.DeliveryList(t.Context(), webhook.DeliveryListParams{})
	require.NoError(t, err)
	require.Empty(t, ds, "nothing was published")
}
