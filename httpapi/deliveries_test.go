package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hooksmith/webhook"
)

// TestDeliveryGetWithAttempts delivers an event to a receiver that fails
// once, then answers 204, and reads the attempt log.
func TestDeliveryGetWithAttempts(t *testing.T) {
	t.Parallel()
	answers := make(chan int, 2)
	answers <- http.StatusInternalServerError
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(<-answers)
		_, _ = w.Write([]byte("busy"))
	}))
	t.Cleanup(rcv.Close)
	b := setup(t, &bundleOpts{subURL: rcv.URL})
	b.start(t)
	dlv := b.publish(t, "a", "order.created").DeliveryIDs[0]
	require.Equal(t, webhook.DeliveryPending, b.nextUpdate(t).State)

	w := b.do(t, req{method: "GET", path: "/deliveries/" + dlv, token: tokUserA})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	d := decodeAs[deliveryOut](t, w)
	require.Equal(t, dlv, d.ID)
	require.Equal(t, b.subA.ID, d.SubscriptionID)
	require.Equal(t, "order.created", d.EventType)
	require.Equal(t, "a", d.Tenant)
	require.Equal(t, "pending", d.State)
	require.Equal(t, 1, d.AttemptCount)
	require.NotNil(t, d.NextAttemptAt, "a pending delivery says when it is due")
	require.Len(t, d.Attempts, 1)
	require.Equal(t, 1, d.Attempts[0].Number)
	require.Equal(t, 500, d.Attempts[0].StatusCode)
	require.Equal(t, "busy", d.Attempts[0].ResponseBody)
	require.GreaterOrEqual(t, d.Attempts[0].DurationMs, int64(0))

	// Pending (due again in an hour): a retry is a conflict.
	w = b.do(t, req{method: "POST", path: "/deliveries/" + dlv + "/retry", token: tokUserA})
	requireError(t, w, http.StatusConflict, codeDeliveryPending)
}

func TestDeliveryRetry(t *testing.T) {
	t.Parallel()
	got := make(chan struct{}, 1)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- struct{}{}
	}))
	t.Cleanup(rcv.Close)
	b := setup(t, &bundleOpts{subURL: rcv.URL})
	b.start(t)
	dlv := b.publish(t, "a", "order.created").DeliveryIDs[0]
	<-got
	require.Equal(t, webhook.DeliverySucceeded, b.nextUpdate(t).State)

	w := b.do(t, req{method: "POST", path: "/deliveries/" + dlv + "/retry", token: tokAdminA})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	d := decodeAs[deliveryOut](t, w)
	require.Equal(t, "pending", d.State)
	require.Equal(t, 0, d.AttemptCount, "a fresh retry schedule")
	require.Len(t, d.Attempts, 1, "the attempt log is kept")

	<-got
	require.Equal(t, webhook.DeliverySucceeded, b.nextUpdate(t).State)
	w = b.do(t, req{method: "GET", path: "/deliveries/" + dlv, token: tokAdminA})
	d = decodeAs[deliveryOut](t, w)
	require.Equal(t, "succeeded", d.State)
	require.Nil(t, d.NextAttemptAt)
	require.Len(t, d.Attempts, 2)
	require.Equal(t, []int{1, 2}, []int{d.Attempts[0].Number, d.Attempts[1].Number})
}

func TestDeliveryRetryCanceled(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	dlv := b.publish(t, "a", "order.created").DeliveryIDs[0]
	require.NoError(t, b.d.SubscriptionDelete(t.Context(), b.subA.ID))

	// The subscription is gone: the admin may still retry its delivery
	// (it will be cancelled again), the user it was listed for too.
	w := b.do(t, req{method: "GET", path: "/deliveries/" + dlv, token: tokUserA})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Equal(t, "canceled", decodeAs[deliveryOut](t, w).State)
	w = b.do(t, req{method: "POST", path: "/deliveries/" + dlv + "/retry", token: tokAdminA})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Equal(t, "pending", decodeAs[deliveryOut](t, w).State)
	w = b.do(t, req{method: "POST", path: "/deliveries/" + dlv + "/retry", token: tokAdminA})
	requireError(t, w, http.StatusConflict, codeDeliveryPending)
}

func TestSubscriptionDeliveriesList(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	var all []string
	for range 5 {
		all = append(all, b.publish(t, "a", "order.created").DeliveryIDs[0])
	}
	// Another subscription's and another tenant's deliveries are not listed.
	b.publish(t, "a", "invoice.paid")
	b.publish(t, "b", "order.created")
	// Deleting the subscription cancels them all; retrying two makes
	// them pending again.
	require.NoError(t, b.d.SubscriptionDelete(t.Context(), b.subA.ID))
	for _, id := range all[1:3] {
		_, err := b.d.DeliveryRetry(t.Context(), id)
		require.NoError(t, err)
	}

	tests := []struct {
		query string
		want  []string
	}{
		{"", all},
		{"?limit=2", all},
		{"?limit=1000", all},
		{"?state=canceled", []string{all[0], all[3], all[4]}},
		{"?state=pending&limit=1", all[1:3]},
		{"?state=succeeded", nil},
		{"?eventId=none", nil},
		{"?since=2000-01-01T00:00:00Z&until=2100-01-01T00:00:00Z&limit=3", all},
		{"?until=2000-01-01T00:00:00Z", nil},
		{"?since=2100-01-01T00:00:00Z", nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			t.Parallel()
			var got []string
			base := "/subscriptions/" + b.subA.ID + "/deliveries" + tt.query
			path := base
			for pages := 0; ; pages++ {
				require.Less(t, pages, 10)
				w := b.do(t, req{method: "GET", path: path, token: tokAdminA})
				require.Equal(t, http.StatusOK, w.Code, w.Body.String())
				p := decodeAs[page[deliveryOut]](t, w)
				for _, d := range p.Data {
					require.Nil(t, d.Attempts, "lists leave out the attempt log")
					got = append(got, d.ID)
				}
				if p.NextCursor == "" {
					break
				}
				sep := "?"
				if tt.query != "" {
					sep = "&"
				}
				path = base + sep + "cursor=" + p.NextCursor
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestDeliveryListRefusesEmptyTimeRange(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	w := b.do(t, req{method: "GET", path: "/subscriptions/" + b.subA.ID + "/deliveries?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z", token: tokAdminA})
	require.Equal(t, http.StatusBadRequest, w.Code, w.Body.String())
	require.Contains(t, w.Body.String(), "must be after since")
}
