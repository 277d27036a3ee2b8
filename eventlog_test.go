package webhook_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooksmith/webhook"
)

func pageIDs(p webhook.EventPage) []string {
	var out []string
	for _, e := range p.Events {
		out = append(out, e.ID)
	}
	return out
}

// eventLogBundle publishes six events a minute apart: e1..e6.
func eventLogBundle(t *testing.T) (*pullBundle, []string, time.Time) {
	t.Helper()
	b := setupPull(t, nil)
	t0 := b.clock.Now()
	var ids []string
	for i, e := range []webhook.Event{
		{Type: "invoice.paid", Tenant: "acme"},
		{Type: "invoice.refunded", Tenant: "acme"},
		{Type: "order.created", Tenant: "globex"},
		{Type: "order.created", Tenant: "acme"},
		{Type: "invoice.paid", Tenant: "globex"},
		{Type: "invoice.paid", Tenant: "acme"},
	} {
		b.clock.Set(t0.Add(time.Duration(i) * time.Minute))
		e.Data = []byte(`{}`)
		res, err := b.d.Publish(t.Context(), e)
		require.NoError(t, err)
		ids = append(ids, res.EventID)
	}
	return b, ids, t0
}

func TestEventList(t *testing.T) {
	t.Parallel()
	b, ids, t0 := eventLogBundle(t)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	rev := func(s []string) []string {
		out := make([]string, len(s))
		for i, v := range s {
			out[len(s)-1-i] = v
		}
		return out
	}
	tests := []struct {
		name string
		p    webhook.EventListParams
		want []string
	}{
		{"newest first by default", webhook.EventListParams{}, rev(ids)},
		{"oldest first", webhook.EventListParams{OldestFirst: true}, ids},
		{"tenant", webhook.EventListParams{Tenant: "globex"}, []string{ids[4], ids[2]}},
		{"type pattern", webhook.EventListParams{Type: "invoice.*", OldestFirst: true}, []string{ids[0], ids[1], ids[4], ids[5]}},
		{"tenant and type", webhook.EventListParams{Tenant: "acme", Type: "invoice.paid"}, []string{ids[5], ids[0]}},
		{"time range", webhook.EventListParams{Since: at(1), Until: at(3)}, []string{ids[2], ids[1]}},
		{"since", webhook.EventListParams{Since: at(4), OldestFirst: true}, []string{ids[4], ids[5]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := b.d.EventList(t.Context(), tt.p)
			require.NoError(t, err)
			require.Equal(t, tt.want, pageIDs(page))
			require.Empty(t, page.Next, "one page holds them all")
		})
	}

	ev, err := b.d.EventGet(t.Context(), ids[2])
	require.NoError(t, err)
	require.Equal(t, "order.created", ev.Type)
	require.Equal(t, "globex", ev.Tenant)
	require.Equal(t, at(2), ev.Timestamp)
	_, err = b.d.EventGet(t.Context(), "evt_missing")
	require.ErrorIs(t, err, webhook.ErrNotFound)
}

// TestEventListPaging pages through the log in both orders while events are
// published between pages: each event stored before the first page comes
// exactly once, and new ones come after the cursor in oldest-first order.
func TestEventListPaging(t *testing.T) {
	t.Parallel()
	for _, oldestFirst := range []bool{false, true} {
		b, ids, t0 := eventLogBundle(t)
		var got []string
		p := webhook.EventListParams{Limit: 2, OldestFirst: oldestFirst}
		var added []string
		for pages := 0; ; pages++ {
			require.Less(t, pages, 10)
			page, err := b.d.EventList(t.Context(), p)
			require.NoError(t, err)
			require.LessOrEqual(t, len(page.Events), 2)
			got = append(got, pageIDs(page)...)
			if page.Next == "" {
				break
			}
			// A publish between pages.
			b.clock.Set(t0.Add(time.Hour + time.Duration(pages)*time.Minute))
			added = append(added, b.publish(t, "late", `{}`))
			p.Cursor = page.Next
		}
		if oldestFirst {
			require.Equal(t, append(append([]string(nil), ids...), added...), got, "old events once, in order, then the new ones")
		} else {
			want := make([]string, 0, len(ids))
			for i := len(ids) - 1; i >= 0; i-- {
				want = append(want, ids[i])
			}
			require.Equal(t, want, got, "newer events do not shift the pages already started")
		}
	}
}

func TestEventListErrors(t *testing.T) {
	t.Parallel()
	b, _, t0 := eventLogBundle(t)
	page, err := b.d.EventList(t.Context(), webhook.EventListParams{Limit: 1})
	require.NoError(t, err)
	require.NotEmpty(t, page.Next)
	tests := []struct {
		name string
		p    webhook.EventListParams
		msg  string
	}{
		{"limit too large", webhook.EventListParams{Limit: webhook.EventListLimitMax + 1}, "Limit: must be between 1 and 1000"},
		{"negative limit", webhook.EventListParams{Limit: -1}, "Limit"},
		{"bad type", webhook.EventListParams{Type: "a b"}, "Type"},
		{"empty range", webhook.EventListParams{Since: t0, Until: t0}, "Until: must be after Since"},
		{"not a cursor", webhook.EventListParams{Cursor: "abc"}, "is not an event list cursor"},
		{"malformed cursor", webhook.EventListParams{Cursor: "evc_!!"}, "malformed"},
		{"malformed JSON", webhook.EventListParams{Cursor: "evc_e30"}, "malformed"}, // {}
		{"cursor of the other order", webhook.EventListParams{Cursor: page.Next, OldestFirst: true}, "other order"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.d.EventList(t.Context(), tt.p)
			require.ErrorIs(t, err, webhook.ErrInvalid)
			require.ErrorContains(t, err, tt.msg)
		})
	}
}

// TestDeliveryListTimeRange: the last 30 days of deliveries in one call.
func TestDeliveryListTimeRange(t *testing.T) {
	t.Parallel()
	b := setupPull(t, nil)
	sub, err := b.d.SubscriptionCreate(t.Context(), webhook.Subscription{URL: "https://example.com", EventTypes: []string{"*"}})
	require.NoError(t, err)
	t0 := b.clock.Now()
	var ids []string
	for _, days := range []int{0, 20, 40, 45} {
		b.clock.Set(t0.AddDate(0, 0, days))
		res, err := b.d.Publish(t.Context(), webhook.Event{Type: "a", Data: []byte(`{}`)})
		require.NoError(t, err)
		ids = append(ids, res.DeliveryIDs...)
	}
	now := b.clock.Now()
	ds, err := b.d.DeliveryList(t.Context(), webhook.DeliveryListParams{SubscriptionID: sub.ID, Since: now.AddDate(0, 0, -30)})
	require.NoError(t, err)
	var got []string
	for _, d := range ds {
		got = append(got, d.ID)
	}
	require.Equal(t, ids[1:], got, "days 20, 40 and 45 of 45")
	ds, err = b.d.DeliveryList(t.Context(), webhook.DeliveryListParams{Until: t0.AddDate(0, 0, 20)})
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, ids[0], ds[0].ID)
}

// The store keeps what Publish gives it and returns it read-only: Publish
// must copy what the caller still holds, and EventGet must return a copy.
func TestPublishAndEventGetCopy(t *testing.T) {
	b := setup(t, nil)
	data := []byte(`{"n":1}`)
	meta := map[string]string{"actor": "alice"}
	res := b.publish(t, webhook.Event{Type: "invoice.paid", Data: data, Metadata: meta})
	data[5] = '2'
	meta["actor"] = "mallory"

	got, err := b.d.EventGet(t.Context(), res.EventID)
	require.NoError(t, err)
	require.JSONEq(t, `{"n":1}`, string(got.Data), "the caller's buffer is not the stored event")
	require.Equal(t, "alice", got.Metadata["actor"])

	got.Data[5] = '3'
	got.Metadata["actor"] = "eve"
	again, err := b.d.EventGet(t.Context(), res.EventID)
	require.NoError(t, err)
	require.JSONEq(t, `{"n":1}`, string(again.Data), "EventGet returns a copy")
	require.Equal(t, "alice", again.Metadata["actor"])
}
