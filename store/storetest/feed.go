package storetest

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooksmith/webhook"
)

// The pull feed and event log parts of the suite.

// feedEntry is a feed entry as EventInsert takes it.
func feedEntry(sub, eventID string, at time.Time) *webhook.FeedEntry {
	return &webhook.FeedEntry{SubscriptionID: sub, EventID: eventID, PublishedAt: at}
}

// feedEvent stores event id with the given data and entries in the feeds
// of subs, published at at.
func feedEvent(t *testing.T, s webhook.Store, id, data string, at time.Time, subs ...string) {
	t.Helper()
	e := newEvent(id, "", "invoice.paid")
	e.Data = json.RawMessage(data)
	var fes []*webhook.FeedEntry
	for _, sub := range subs {
		fes = append(fes, feedEntry(sub, id, at))
	}
	require.NoError(t, s.EventInsert(t.Context(), e, nil, fes))
}

func readFeed(t *testing.T, s webhook.Store, p webhook.FeedReadParams) *webhook.FeedPage {
	t.Helper()
	page, err := s.FeedRead(t.Context(), p)
	require.NoError(t, err)
	require.NotNil(t, page)
	return page
}

func seqs(page *webhook.FeedPage) []uint64 {
	var out []uint64
	for _, fe := range page.Entries {
		out = append(out, fe.Seq)
	}
	return out
}

func testFeedAppendRead(t *testing.T, s webhook.Store) {
	ctx := t.Context()
	insertSubs(t, s, newSub("sub_p1", "", "*"), newSub("sub_p2", "", "*"))
	feedEvent(t, s, "evt_1", `{"n":1}`, t0, "sub_p1", "sub_p2")
	feedEvent(t, s, "evt_2", `{"n":2}`, t0.Add(time.Second), "sub_p1")
	feedEvent(t, s, "evt_3", `{"n":3}`, t0.Add(2*time.Second), "sub_p1")

	page := readFeed(t, s, webhook.FeedReadParams{SubscriptionID: "sub_p1", Limit: 10})
	require.Equal(t, []uint64{1, 2, 3}, seqs(page), "sequences start at 1, per feed, in insertion order")
	require.Equal(t, uint64(3), page.Last)
	require.Equal(t, uint64(0), page.Committed)
	require.Equal(t, uint64(0), page.After)
	require.False(t, page.Expired)
	for i, fe := range page.Entries {
		id := fmt.Sprintf("evt_%d", i+1)
		require.Equal(t, "sub_p1", fe.SubscriptionID)
		require.Equal(t, id, fe.EventID)
		require.True(t, fe.PublishedAt.Equal(t0.Add(time.Duration(i)*time.Second)), "PublishedAt %v", fe.PublishedAt)
		want := newEvent(id, "", "invoice.paid")
		want.Data = json.RawMessage(fmt.Sprintf(`{"n":%d}`, i+1))
		require.Equal(t, utcEvent(want), utcEvent(fe.Event), "the entry carries its event")
	}

	p2 := readFeed(t, s, webhook.FeedReadParams{SubscriptionID: "sub_p2", Limit: 10})
	require.Equal(t, []uint64{1}, seqs(p2), "each feed numbers its own entries")
	require.Equal(t, "evt_1", p2.Entries[0].EventID)

	tests := []struct {
		name string
		p    webhook.FeedReadParams
		want []uint64
	}{
		{"limit", webhook.FeedReadParams{SubscriptionID: "sub_p1", Limit: 2}, []uint64{1, 2}},
		{"after", webhook.FeedReadParams{SubscriptionID: "sub_p1", After: 2, Limit: 10}, []uint64{3}},
		{"at the end", webhook.FeedReadParams{SubscriptionID: "sub_p1", After: 3, Limit: 10}, nil},
		{"past the end", webhook.FeedReadParams{SubscriptionID: "sub_p1", After: 9, Limit: 10}, nil},
		{"state only", webhook.FeedReadParams{SubscriptionID: "sub_p1", Limit: 0}, nil},
		{"unknown feed", webhook.FeedReadParams{SubscriptionID: "sub_none", Limit: 10}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := readFeed(t, s, tt.p)
			require.Equal(t, tt.want, seqs(got))
			require.Equal(t, tt.p.After, got.After)
			require.False(t, got.Expired)
		})
	}
	require.Equal(t, uint64(0), readFeed(t, s, webhook.FeedReadParams{SubscriptionID: "sub_none"}).Last, "a feed never appended to is empty")

	// Returned events are copies.
	page.Entries[0].Event.Data[1] = 'X'
	page.Entries[0].Event.Metadata["actor"] = "mallory"
	again := readFeed(t, s, webhook.FeedReadParams{SubscriptionID: "sub_p1", Limit: 1})
	require.JSONEq(t, `{"n":1}`, string(again.Entries[0].Event.Data))
	require.Equal(t, "alice", again.Entries[0].Event.Metadata["actor"])
	ev, err := s.EventGet(ctx, "evt_1")
	require.NoError(t, err)
	require.JSONEq(t, `{"n":1}`, string(ev.Data))
}

func testFeedMaxBytes(t *testing.T, s webhook.Store) {
	insertSubs(t, s, newSub("sub_p", "", "*"))
	str := func(n int) string { return `"` + strings.Repeat("a", n-2) + `"` } // n bytes of JSON
	feedEvent(t, s, "evt_1", str(10), t0, "sub_p")
	feedEvent(t, s, "evt_2", str(10), t0, "sub_p")
	feedEvent(t, s, "evt_3", str(100), t0, "sub_p")
	feedEvent(t, s, "evt_4", str(10), t0, "sub_p")
	feedEvent(t, s, "evt_5", str(10), t0, "sub_p")
	tests := []struct {
		name     string
		after    uint64
		maxBytes int
		want     []uint64
	}{
		{"stops before the event that would exceed", 0, 25, []uint64{1, 2}},
		{"a sum equal to the limit fits", 0, 20, []uint64{1, 2}},
		{"one byte less", 0, 19, []uint64{1}},
		{"a large event alone", 2, 25, []uint64{3}},
		{"a large event is not joined by others", 2, 100, []uint64{3}},
		{"after the large one", 3, 25, []uint64{4, 5}},
		{"no limit", 0, 0, []uint64{1, 2, 3, 4, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := readFeed(t, s, webhook.FeedReadParams{SubscriptionID: "sub_p", After: tt.after, Limit: 10, MaxBytes: tt.maxBytes})
			require.Equal(t, tt.want, seqs(page))
		})
	}
}

func testFeedRetention(t *testing.T, s webhook.Store) {
	insertSubs(t, s, newSub("sub_p", "", "*"))
	for i := range 4 {
		feedEvent(t, s, fmt.Sprintf("evt_%d", i+1), `{}`, t0.Add(time.Duration(i-3)*time.Hour), "sub_p") // t0-3h ... t0
	}
	since := t0.Add(-90 * time.Minute) // entries 1 and 2 are expired
	tests := []struct {
		name        string
		after       uint64
		since       time.Time
		wantExpired bool
		wantOldest  uint64
		want        []uint64
	}{
		{"from the start", 0, since, true, 2, nil},
		{"inside the expired part", 1, since, true, 2, nil},
		{"at the oldest retained position", 2, since, false, 0, []uint64{3, 4}},
		{"an entry published exactly at Since is retained", 2, t0.Add(-time.Hour), false, 0, []uint64{3, 4}},
		{"just after", 2, t0.Add(-time.Hour + time.Nanosecond), true, 3, nil},
		{"at the end", 4, since, false, 0, nil},
		{"everything expired", 0, t0.Add(time.Hour), true, 4, nil},
		{"no retention", 0, time.Time{}, false, 0, []uint64{1, 2, 3, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := readFeed(t, s, webhook.FeedReadParams{SubscriptionID: "sub_p", After: tt.after, Limit: 10, Since: tt.since})
			require.Equal(t, tt.wantExpired, page.Expired)
			if tt.wantExpired {
				require.Equal(t, tt.wantOldest, page.Oldest)
				require.Empty(t, page.Entries, "nothing is returned from an expired position")
			}
			require.Equal(t, tt.want, seqs(page))
			require.Equal(t, uint64(4), page.Last)
		})
	}
	// Limit 0 still reports the expiry, for resets to the oldest position.
	page := readFeed(t, s, webhook.FeedReadParams{SubscriptionID: "sub_p", Since: since})
	require.True(t, page.Expired)
	require.Equal(t, uint64(2), page.Oldest)
}

func testFeedPublishedAtNeverDecreases(t *testing.T, s webhook.Store) {
	insertSubs(t, s, newSub("sub_p", "", "*"))
	feedEvent(t, s, "evt_1", `{}`, t0, "sub_p")
	feedEvent(t, s, "evt_2", `{}`, t0.Add(-time.Hour), "sub_p") // a clock that stepped back
	feedEvent(t, s, "evt_3", `{}`, t0.Add(time.Second), "sub_p")
	page := readFeed(t, s, webhook.FeedReadParams{SubscriptionID: "sub_p", Limit: 10})
	require.Len(t, page.Entries, 3)
	require.True(t, page.Entries[1].PublishedAt.Equal(t0), "raised to the previous entry's time, got %v", page.Entries[1].PublishedAt)
	require.True(t, page.Entries[2].PublishedAt.Equal(t0.Add(time.Second)))
	page = readFeed(t, s, webhook.FeedReadParams{SubscriptionID: "sub_p", Limit: 10, Since: t0.Add(-time.Minute)})
	require.False(t, page.Expired, "no entry is expired behind a retained one")
	require.Equal(t, []uint64{1, 2, 3}, seqs(page))
}

func testFeedCommit(t *testing.T, s webhook.Store) {
	ctx := t.Context()
	insertSubs(t, s, newSub("sub_p", "", "*"), newSub("sub_q", "", "*"))
	for i := range 4 {
		feedEvent(t, s, fmt.Sprintf("evt_%d", i+1), `{}`, t0, "sub_p", "sub_q")
	}
	committed := func(sub string) uint64 {
		t.Helper()
		return readFeed(t, s, webhook.FeedReadParams{SubscriptionID: sub}).Committed
	}
	require.Equal(t, uint64(0), committed("sub_p"))
	require.NoError(t, s.FeedCommit(ctx, "sub_p", 2, false))
	require.Equal(t, uint64(2), committed("sub_p"))
	require.Equal(t, uint64(0), committed("sub_q"), "positions are per subscription")

	page := readFeed(t, s, webhook.FeedReadParams{SubscriptionID: "sub_p", FromCommitted: true, After: 0, Limit: 10})
	require.Equal(t, uint64(2), page.After, "FromCommitted reads after the committed position")
	require.Equal(t, []uint64{3, 4}, seqs(page))

	require.NoError(t, s.FeedCommit(ctx, "sub_p", 1, false))
	require.Equal(t, uint64(2), committed("sub_p"), "never backwards without rewind")
	require.NoError(t, s.FeedCommit(ctx, "sub_p", 2, false))
	require.Equal(t, uint64(2), committed("sub_p"), "committing again is harmless")
	require.NoError(t, s.FeedCommit(ctx, "sub_p", 4, false))
	require.Equal(t, uint64(4), committed("sub_p"))
	require.NoError(t, s.FeedCommit(ctx, "sub_p", 1, true))
	require.Equal(t, uint64(1), committed("sub_p"), "rewind moves it back")

	require.ErrorIs(t, s.FeedCommit(ctx, "sub_missing", 1, false), webhook.ErrNotFound)
}

func testFeedDuplicateEvent(t *testing.T, s webhook.Store) {
	insertSubs(t, s, newSub("sub_p", "", "*"))
	feedEvent(t, s, "evt_1", `{}`, t0, "sub_p")
	err := s.EventInsert(t.Context(), newEvent("evt_1", "", "invoice.paid"), nil, []*webhook.FeedEntry{feedEntry("sub_p", "evt_1", t0)})
	require.ErrorIs(t, err, webhook.ErrEventExists)
	// A delivery ID clash stores no feed entry either.
	publish(t, s, "evt_2", newDelivery("dlv_1", "evt_2", "sub_x", "", t0))
	err = s.EventInsert(t.Context(), newEvent("evt_3", "", "invoice.paid"),
		[]*webhook.Delivery{newDelivery("dlv_1", "evt_3", "sub_x", "", t0)},
		[]*webhook.FeedEntry{feedEntry("sub_p", "evt_3", t0)})
	require.Error(t, err)
	page := readFeed(t, s, webhook.FeedReadParams{SubscriptionID: "sub_p", Limit: 10})
	require.Equal(t, []uint64{1}, seqs(page), "a refused insert appends nothing")
	require.Equal(t, uint64(1), page.Last)
}

func testFeedSubscriptionGone(t *testing.T, s webhook.Store) {
	ctx := t.Context()
	insertSubs(t, s, newSub("sub_p", "", "*"), newSub("sub_q", "", "*"))
	feedEvent(t, s, "evt_1", `{}`, t0, "sub_p", "sub_q", "sub_missing")
	require.Equal(t, uint64(0), readFeed(t, s, webhook.FeedReadParams{SubscriptionID: "sub_missing"}).Last, "an entry for a missing subscription is dropped")
	_, err := s.EventGet(ctx, "evt_1")
	require.NoError(t, err, "the rest of the insert is stored")

	require.NoError(t, s.FeedCommit(ctx, "sub_p", 1, false))
	require.NoError(t, s.SubscriptionDelete(ctx, "sub_p", t0))
	page := readFeed(t, s, webhook.FeedReadParams{SubscriptionID: "sub_p", Limit: 10})
	require.Equal(t, webhook.FeedPage{}, *page, "SubscriptionDelete removes the feed and its position")
	require.Equal(t, []uint64{1}, seqs(readFeed(t, s, webhook.FeedReadParams{SubscriptionID: "sub_q", Limit: 10})), "other feeds are kept")
	_, err = s.EventGet(ctx, "evt_1")
	require.NoError(t, err, "the event stays")
}

// testFeedConcurrent appends from many goroutines while a reader follows
// the feed: sequences have no gaps and no duplicates, and the reader never
// sees an entry before the ones that precede it, so it skips nothing.
func testFeedConcurrent(t *testing.T, s webhook.Store) {
	const (
		writers   = 8
		perWriter = 50
		total     = writers * perWriter
	)
	ctx := t.Context()
	insertSubs(t, s, newSub("sub_p", "", "*"))
	errs := make(chan error, writers+1)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				id := fmt.Sprintf("evt_%d_%03d", w, i)
				if err := s.EventInsert(ctx, newEvent(id, "", "invoice.paid"), nil, []*webhook.FeedEntry{feedEntry("sub_p", id, t0)}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	seen := make(map[string]bool, total)
	wg.Go(func() {
		var pos uint64
		for pos < total && ctx.Err() == nil {
			page, err := s.FeedRead(ctx, webhook.FeedReadParams{SubscriptionID: "sub_p", After: pos, Limit: 64})
			if err != nil {
				errs <- err
				return
			}
			for _, fe := range page.Entries {
				if fe.Seq != pos+1 {
					errs <- fmt.Errorf("read entry %d after position %d: an entry was skipped", fe.Seq, pos)
					return
				}
				if seen[fe.EventID] {
					errs <- fmt.Errorf("event %s appended twice", fe.EventID)
					return
				}
				seen[fe.EventID] = true
				pos = fe.Seq
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Len(t, seen, total)
	require.Equal(t, uint64(total), readFeed(t, s, webhook.FeedReadParams{SubscriptionID: "sub_p"}).Last)
}

func eventIDs(es []*webhook.Event) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func testEventList(t *testing.T, s webhook.Store) {
	// Inserted out of order; e3 and e4 share a Timestamp.
	add := func(id, tenant, typ string, ts time.Time) {
		t.Helper()
		e := newEvent(id, tenant, typ)
		e.Timestamp = ts
		require.NoError(t, s.EventInsert(t.Context(), e, nil, nil))
	}
	add("e5", "acme", "invoice.paid", t0.Add(4*time.Minute))
	add("e1", "acme", "invoice.paid", t0)
	add("e4", "globex", "order.created", t0.Add(2*time.Minute))
	add("e2", "acme", "invoice.refunded", t0.Add(time.Minute))
	add("e3", "acme", "order.created", t0.Add(2*time.Minute))
	add("e6", "", "invoice.paid", t0.Add(5*time.Minute))

	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	tests := []struct {
		name string
		q    webhook.EventQuery
		want []string
	}{
		{"oldest first", webhook.EventQuery{}, []string{"e1", "e2", "e3", "e4", "e5", "e6"}},
		{"newest first", webhook.EventQuery{Newest: true}, []string{"e6", "e5", "e4", "e3", "e2", "e1"}},
		{"limit", webhook.EventQuery{Limit: 2}, []string{"e1", "e2"}},
		{"newest limit", webhook.EventQuery{Newest: true, Limit: 2}, []string{"e6", "e5"}},
		{"tenant", webhook.EventQuery{Tenant: "acme"}, []string{"e1", "e2", "e3", "e5"}},
		{"type pattern", webhook.EventQuery{Type: "invoice.*"}, []string{"e1", "e2", "e5", "e6"}},
		{"exact type", webhook.EventQuery{Type: "order.created", Newest: true}, []string{"e4", "e3"}},
		{"since inclusive", webhook.EventQuery{Since: at(2)}, []string{"e3", "e4", "e5", "e6"}},
		{"until exclusive", webhook.EventQuery{Until: at(2)}, []string{"e1", "e2"}},
		{"range newest", webhook.EventQuery{Since: at(1), Until: at(5), Newest: true}, []string{"e5", "e4", "e3", "e2"}},
		{"after, same timestamp", webhook.EventQuery{AfterTimestamp: at(2), AfterID: "e3"}, []string{"e4", "e5", "e6"}},
		{"after, newest", webhook.EventQuery{AfterTimestamp: at(2), AfterID: "e4", Newest: true}, []string{"e3", "e2", "e1"}},
		{"after a position not stored", webhook.EventQuery{AfterTimestamp: at(3), AfterID: "zz"}, []string{"e5", "e6"}},
		{"after a position not stored, newest", webhook.EventQuery{AfterTimestamp: at(3), AfterID: "zz", Newest: true}, []string{"e4", "e3", "e2", "e1"}},
		{"filtered page", webhook.EventQuery{Tenant: "acme", AfterTimestamp: at(1), AfterID: "e2", Limit: 1}, []string{"e3"}},
		{"after with range", webhook.EventQuery{AfterTimestamp: at(1), AfterID: "e2", Until: at(4)}, []string{"e3", "e4"}},
		{"after with range, newest", webhook.EventQuery{AfterTimestamp: at(4), AfterID: "e5", Since: at(1), Newest: true}, []string{"e4", "e3", "e2"}},
		{"empty range", webhook.EventQuery{Since: at(10)}, nil},
		{"unknown tenant", webhook.EventQuery{Tenant: "initech"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.EventList(t.Context(), tt.q)
			require.NoError(t, err)
			require.Equal(t, tt.want, eventIDs(got))
		})
	}
	got, err := s.EventList(t.Context(), webhook.EventQuery{Limit: 1})
	require.NoError(t, err)
	want := newEvent("e1", "acme", "invoice.paid")
	want.Timestamp = t0
	require.Equal(t, utcEvent(want), utcEvent(got[0]))
	got[0].Metadata["actor"] = "mallory"
	again, err := s.EventGet(t.Context(), "e1")
	require.NoError(t, err)
	require.Equal(t, "alice", again.Metadata["actor"], "listed events are copies")
}

func testDeliveryListTimeRange(t *testing.T, s webhook.Store) {
	var ds []*webhook.Delivery
	for i := 1; i <= 5; i++ {
		d := newDelivery(fmt.Sprintf("dlv_%d", i), "evt_1", "sub_a", "", t0)
		d.CreatedAt = t0.Add(time.Duration(i) * time.Hour)
		ds = append(ds, d)
	}
	publish(t, s, "evt_1", ds...)
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	tests := []struct {
		name string
		p    webhook.DeliveryListParams
		want []string
	}{
		{"since inclusive", webhook.DeliveryListParams{Since: at(4)}, []string{"dlv_4", "dlv_5"}},
		{"until exclusive", webhook.DeliveryListParams{Until: at(2)}, []string{"dlv_1"}},
		{"range", webhook.DeliveryListParams{Since: at(2), Until: at(4)}, []string{"dlv_2", "dlv_3"}},
		{"range of a subscription", webhook.DeliveryListParams{SubscriptionID: "sub_a", Since: at(3)}, []string{"dlv_3", "dlv_4", "dlv_5"}},
		{"range and page", webhook.DeliveryListParams{Since: at(2), After: "dlv_2", Limit: 1}, []string{"dlv_3"}},
		{"other subscription", webhook.DeliveryListParams{SubscriptionID: "sub_b", Since: at(1)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.DeliveryList(t.Context(), tt.p)
			require.NoError(t, err)
			require.Equal(t, tt.want, nilIfEmpty(ids(got)))
		})
	}
}
