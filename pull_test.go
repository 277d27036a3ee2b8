package webhook_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooksmith/webhook"
	"github.com/hooksmith/webhook/store/boltstore"
	"github.com/hooksmith/webhook/store/memstore"
)

// feedSpy reports each FeedRead on a channel, so a test knows when a Poll
// has read its feed and is about to wait.
type feedSpy struct {
	webhook.Store
	reads chan string // subscription IDs, dropped when full
}

func (s *feedSpy) FeedRead(ctx context.Context, p webhook.FeedReadParams) (*webhook.FeedPage, error) {
	page, err := s.Store.FeedRead(ctx, p)
	select {
	case s.reads <- p.SubscriptionID:
	default:
	}
	return page, err
}

// clock is a settable Config.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// pullBundle is a Dispatcher on a spied memstore with a settable clock.
type pullBundle struct {
	d     *webhook.Dispatcher
	spy   *feedSpy
	clock *clock
}

func setupPull(t *testing.T, cfg *webhook.Config) *pullBundle {
	t.Helper()
	c := webhook.Config{}
	if cfg != nil {
		c = *cfg
	}
	clk := &clock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	c.Now = clk.Now
	spy := &feedSpy{Store: memstore.New(), reads: make(chan string, 100)}
	d, err := webhook.NewDispatcher(spy, &c)
	require.NoError(t, err)
	return &pullBundle{d: d, spy: spy, clock: clk}
}

func (b *pullBundle) pullSub(t *testing.T, types ...string) webhook.Subscription {
	t.Helper()
	s, err := b.d.SubscriptionCreate(t.Context(), webhook.Subscription{Mode: webhook.ModePull, EventTypes: types})
	require.NoError(t, err)
	return s
}

func (b *pullBundle) publish(t *testing.T, typ, data string) string {
	t.Helper()
	res, err := b.d.Publish(t.Context(), webhook.Event{Type: typ, Data: []byte(data)})
	require.NoError(t, err)
	return res.EventID
}

func (b *pullBundle) poll(t *testing.T, subID string, p webhook.PollParams) webhook.PollResult {
	t.Helper()
	res, err := b.d.Poll(t.Context(), subID, p)
	require.NoError(t, err)
	return res
}

// waitRead waits until a Poll of subID has read its feed.
func (b *pullBundle) waitRead(t *testing.T, subID string) {
	t.Helper()
	for {
		select {
		case id := <-b.spy.reads:
			if id == subID {
				return
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the poll did not read its feed within 10s")
		}
	}
}

// drainReads forgets the reads reported so far.
func (b *pullBundle) drainReads() {
	for {
		select {
		case <-b.spy.reads:
		default:
			return
		}
	}
}

// gatedFeed holds the next FeedRead until gate is closed, after telling
// reading.
type gatedFeed struct {
	webhook.Store
	reading chan struct{}
	gate    chan struct{}
}

func (g *gatedFeed) FeedRead(ctx context.Context, p webhook.FeedReadParams) (*webhook.FeedPage, error) {
	if g.gate != nil {
		close(g.reading)
		<-g.gate
	}
	return g.Store.FeedRead(ctx, p)
}

// A subscription deleted while a Poll starts reading its feed is not
// found: its feed reads as empty then, and the cursor must not be blamed
// for pointing past it.
func TestPollRacingDeleteIsNotFound(t *testing.T) {
	t.Parallel()
	st := &gatedFeed{Store: memstore.New()}
	d, err := webhook.NewDispatcher(st, nil)
	require.NoError(t, err)
	ctx := t.Context()
	sub, err := d.SubscriptionCreate(ctx, webhook.Subscription{Mode: webhook.ModePull, EventTypes: []string{"*"}})
	require.NoError(t, err)
	_, err = d.Publish(ctx, webhook.Event{Type: "a", Data: []byte(`1`)})
	require.NoError(t, err)
	res, err := d.Poll(ctx, sub.ID, webhook.PollParams{Wait: webhook.PollWaitMin})
	require.NoError(t, err)
	require.Len(t, res.Events, 1)

	st.reading, st.gate = make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := d.Poll(ctx, sub.ID, webhook.PollParams{Cursor: res.NextCursor, Wait: webhook.PollWaitMin})
		done <- err
	}()
	<-st.reading
	require.NoError(t, d.SubscriptionDelete(ctx, sub.ID))
	close(st.gate)
	require.ErrorIs(t, <-done, webhook.ErrNotFound)
}

func polledIDs(res webhook.PollResult) []string {
	var out []string
	for _, e := range res.Events {
		out = append(out, e.Event.ID)
	}
	return out
}

func TestPullSubscriptionValidation(t *testing.T) {
	t.Parallel()
	d, err := webhook.NewDispatcher(memstore.New(), nil)
	require.NoError(t, err)
	ctx := t.Context()
	tests := []struct {
		name  string
		sub   webhook.Subscription
		field string
		msg   string
	}{
		{"URL", webhook.Subscription{URL: "https://example.com"}, "URL", "must be empty for a pull subscription"},
		{"Method", webhook.Subscription{Method: "PUT"}, "Method", "read with Poll"},
		{"ContentType", webhook.Subscription{ContentType: "text/plain"}, "ContentType", "must be empty"},
		{"Template", webhook.Subscription{Template: `{"a":1}`}, "Template", "must be empty"},
		{"Auth", webhook.Subscription{Auth: &webhook.Auth{Bearer: &webhook.BearerAuth{Token: "t"}}}, "Auth", "must be empty"},
		{"Transform", webhook.Subscription{Transform: "x"}, "Transform", "must be empty"},
		{"Headers", webhook.Subscription{Headers: map[string]string{"X-A": "b"}}, "Headers", "must be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.sub.Mode, tt.sub.EventTypes = webhook.ModePull, []string{"*"}
			_, err := d.SubscriptionCreate(ctx, tt.sub)
			require.ErrorIs(t, err, webhook.ErrInvalid)
			var ve *webhook.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, tt.field, ve.Fields[0].Field)
			require.Contains(t, ve.Fields[0].Message, tt.msg)
		})
	}

	_, err = d.SubscriptionCreate(ctx, webhook.Subscription{Mode: "poll", URL: "https://example.com", EventTypes: []string{"*"}})
	require.ErrorContains(t, err, `Mode: must be "push" (the default when empty) or "pull", got "poll"`)

	pull, err := d.SubscriptionCreate(ctx, webhook.Subscription{Mode: webhook.ModePull, EventTypes: []string{"*"}})
	require.NoError(t, err, "a pull subscription needs no URL")
	require.Equal(t, webhook.ModePull, pull.Mode)
	require.Empty(t, pull.Method)
	require.Empty(t, pull.URL)
	push, err := d.SubscriptionCreate(ctx, webhook.Subscription{URL: "https://example.com", EventTypes: []string{"*"}})
	require.NoError(t, err)
	require.Equal(t, webhook.ModePush, push.Mode, "push is the default")

	// The mode is kept by updates that leave it empty, and cannot change.
	pull.EventTypes = []string{"order.*"}
	pull.Mode = ""
	upd, err := d.SubscriptionUpdate(ctx, pull)
	require.NoError(t, err)
	require.Equal(t, webhook.ModePull, upd.Mode)
	push.Mode = webhook.ModePull
	_, err = d.SubscriptionUpdate(ctx, push)
	require.ErrorIs(t, err, webhook.ErrInvalid)
	require.ErrorContains(t, err, `Mode: cannot be changed (it is "push")`)
}

func TestPublishFeedsPullSubscriptions(t *testing.T) {
	t.Parallel()
	b := setupPull(t, nil)
	push, err := b.d.SubscriptionCreate(t.Context(), webhook.Subscription{URL: "https://example.com", EventTypes: []string{"*"}})
	require.NoError(t, err)
	pull := b.pullSub(t, "order.*")
	other := b.pullSub(t, "invoice.*")

	res, err := b.d.Publish(t.Context(), webhook.Event{Type: "order.created", Data: []byte(`{"id":1}`), Metadata: map[string]string{"k": "v"}})
	require.NoError(t, err)
	require.Len(t, res.DeliveryIDs, 1, "only the push subscription gets a delivery")
	ds, err := b.d.DeliveryList(t.Context(), webhook.DeliveryListParams{})
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, push.ID, ds[0].SubscriptionID)

	got := b.poll(t, pull.ID, webhook.PollParams{})
	require.Len(t, got.Events, 1)
	ev := got.Events[0]
	require.Equal(t, res.EventID, ev.Event.ID)
	require.Equal(t, "order.created", ev.Event.Type)
	require.JSONEq(t, `{"id":1}`, string(ev.Event.Data))
	require.Equal(t, map[string]string{"k": "v"}, ev.Event.Metadata)
	require.Equal(t, b.clock.Now(), ev.PublishedAt)
	require.Equal(t, ev.Cursor, got.NextCursor)
	require.False(t, got.More)

	// The other pull subscription matched nothing: publish one it wants
	// so that its poll returns at once.
	b.publish(t, "invoice.paid", `{}`)
	require.Equal(t, []string{"invoice.paid"}, func() []string {
		var types []string
		for _, e := range b.poll(t, other.ID, webhook.PollParams{}).Events {
			types = append(types, e.Event.Type)
		}
		return types
	}())

	// A duplicate publish appends nothing.
	dup, err := b.d.Publish(t.Context(), webhook.Event{ID: res.EventID, Type: "order.created", Data: []byte(`{}`)})
	require.NoError(t, err)
	require.True(t, dup.Duplicate)
	b.publish(t, "order.paid", `{}`)
	require.Len(t, b.poll(t, pull.ID, webhook.PollParams{}).Events, 2, "the first event and order.paid, not the duplicate")
}

func TestPollCommit(t *testing.T) {
	t.Parallel()
	b := setupPull(t, nil)
	sub := b.pullSub(t, "*")
	e1, e2, e3 := b.publish(t, "a", `1`), b.publish(t, "a", `2`), b.publish(t, "a", `3`)

	first := b.poll(t, sub.ID, webhook.PollParams{})
	require.Equal(t, []string{e1, e2, e3}, polledIDs(first))
	require.Equal(t, []string{e1, e2, e3}, polledIDs(b.poll(t, sub.ID, webhook.PollParams{})), "without a commit the same events come again")

	require.NoError(t, b.d.CommitCursor(t.Context(), sub.ID, first.Events[1].Cursor))
	require.Equal(t, []string{e3}, polledIDs(b.poll(t, sub.ID, webhook.PollParams{})), "after the committed event")
	require.NoError(t, b.d.CommitCursor(t.Context(), sub.ID, first.Events[0].Cursor), "an older cursor is accepted")
	require.Equal(t, []string{e3}, polledIDs(b.poll(t, sub.ID, webhook.PollParams{})), "and changes nothing: positions never move back")
	require.NoError(t, b.d.CommitCursor(t.Context(), sub.ID, first.Events[1].Cursor), "committing again is harmless")

	// An explicit cursor reads from there, whatever is committed.
	require.Equal(t, []string{e2, e3}, polledIDs(b.poll(t, sub.ID, webhook.PollParams{Cursor: first.Events[0].Cursor})))

	// Limit, More, and AutoCommit.
	e4, e5 := b.publish(t, "a", `4`), b.publish(t, "a", `5`)
	page := b.poll(t, sub.ID, webhook.PollParams{Limit: 2, AutoCommit: true})
	require.Equal(t, []string{e3, e4}, polledIDs(page))
	require.True(t, page.More)
	require.Equal(t, page.Events[1].Cursor, page.NextCursor)
	page = b.poll(t, sub.ID, webhook.PollParams{AutoCommit: true})
	require.Equal(t, []string{e5}, polledIDs(page), "AutoCommit moved the position")
	require.False(t, page.More)
	e6 := b.publish(t, "a", `6`)
	require.Equal(t, []string{e6}, polledIDs(b.poll(t, sub.ID, webhook.PollParams{})), "the last auto-committed batch is not polled again")

	// Rewinds are explicit.
	cur, err := b.d.CursorReset(t.Context(), sub.ID, webhook.CursorOldest)
	require.NoError(t, err)
	require.Equal(t, []string{e1, e2, e3, e4, e5, e6}, polledIDs(b.poll(t, sub.ID, webhook.PollParams{})))
	require.Equal(t, []string{e1}, polledIDs(b.poll(t, sub.ID, webhook.PollParams{Cursor: cur, Limit: 1})))
	_, err = b.d.CursorReset(t.Context(), sub.ID, first.Events[2].Cursor)
	require.NoError(t, err)
	require.Equal(t, []string{e4, e5, e6}, polledIDs(b.poll(t, sub.ID, webhook.PollParams{})))
	require.NoError(t, b.d.CommitCursor(t.Context(), sub.ID, webhook.CursorOldest), "naming an older position changes nothing")
	require.Equal(t, []string{e4, e5, e6}, polledIDs(b.poll(t, sub.ID, webhook.PollParams{})))
	require.NoError(t, b.d.CommitCursor(t.Context(), sub.ID, webhook.CursorLatest), "acknowledges everything")
	e7 := b.publish(t, "a", `7`)
	require.Equal(t, []string{e7}, polledIDs(b.poll(t, sub.ID, webhook.PollParams{})))
	latest, err := b.d.CursorReset(t.Context(), sub.ID, webhook.CursorLatest)
	require.NoError(t, err)
	e8 := b.publish(t, "a", `8`)
	require.Equal(t, []string{e8}, polledIDs(b.poll(t, sub.ID, webhook.PollParams{})), "CursorLatest skips the backlog")
	require.Equal(t, []string{e8}, polledIDs(b.poll(t, sub.ID, webhook.PollParams{Cursor: latest})))
	require.Equal(t, []string{e1}, polledIDs(b.poll(t, sub.ID, webhook.PollParams{Cursor: webhook.CursorOldest, Limit: 1})))
}

// TestPollLongPollWakeUp: a Poll waiting on an empty feed returns as soon
// as Publish appends to it, long before its Wait ends.
func TestPollLongPollWakeUp(t *testing.T) {
	t.Parallel()
	b := setupPull(t, nil)
	sub := b.pullSub(t, "*")
	type outcome struct {
		res webhook.PollResult
		err error
	}
	done := make(chan outcome, 1)
	start := time.Now()
	go func() {
		res, err := b.d.Poll(t.Context(), sub.ID, webhook.PollParams{Wait: time.Minute})
		done <- outcome{res, err}
	}()
	b.waitRead(t, sub.ID) // the feed was empty: the poll waits now.
	id := b.publish(t, "a", `{}`)
	select {
	case o := <-done:
		require.NoError(t, o.err)
		require.Equal(t, []string{id}, polledIDs(o.res))
		require.Less(t, time.Since(start), 30*time.Second, "woken by Publish, not by the end of Wait")
	case <-time.After(30 * time.Second):
		t.Fatal("Publish did not wake the poll")
	}
}

// TestPollWaitEnds: with nothing published, Poll returns an empty batch
// when Wait ends, and its error when ctx ends first.
func TestPollWaitEnds(t *testing.T) {
	t.Parallel()
	b := setupPull(t, nil)
	sub := b.pullSub(t, "*")
	start := time.Now()
	res := b.poll(t, sub.ID, webhook.PollParams{Wait: webhook.PollWaitMin})
	require.GreaterOrEqual(t, time.Since(start), webhook.PollWaitMin)
	require.Empty(t, res.Events)
	require.False(t, res.More)
	require.NotEmpty(t, res.NextCursor, "the position polled from")
	id := b.publish(t, "a", `{}`)
	require.Equal(t, []string{id}, polledIDs(b.poll(t, sub.ID, webhook.PollParams{Cursor: res.NextCursor})))

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := b.d.Poll(ctx, sub.ID, webhook.PollParams{Cursor: webhook.CursorLatest, Wait: time.Minute})
		done <- err
	}()
	b.waitRead(t, sub.ID)
	cancel()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("the poll did not end with its context")
	}
}

// TestPollBatchBytes: MaxBatchBytes is a soft limit on the summed Data; a
// single larger event comes alone.
func TestPollBatchBytes(t *testing.T) {
	t.Parallel()
	b := setupPull(t, nil)
	sub := b.pullSub(t, "*")
	str := func(n int) string { return `"` + strings.Repeat("x", n-2) + `"` }
	big := b.publish(t, "a", str(300<<10))
	big2 := b.publish(t, "a", str(300<<10))
	huge := b.publish(t, "a", str(1<<20))
	small1, small2 := b.publish(t, "a", str(10)), b.publish(t, "a", str(10))

	tests := []struct {
		name string
		p    webhook.PollParams
		want []string
		more bool
	}{
		{"default 512 KiB: two of 300 KiB do not fit", webhook.PollParams{AutoCommit: true}, []string{big}, true},
		{"the second alone", webhook.PollParams{AutoCommit: true}, []string{big2}, true},
		{"1 MiB is over the limit but comes, alone", webhook.PollParams{AutoCommit: true}, []string{huge}, true},
		{"small ones together", webhook.PollParams{AutoCommit: true}, []string{small1, small2}, false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, polledIDs(b.poll(t, sub.ID, tt.p)), tt.name)
	}
	_, err := b.d.CursorReset(t.Context(), sub.ID, webhook.CursorOldest)
	require.NoError(t, err)
	require.Equal(t, []string{big, big2}, polledIDs(b.poll(t, sub.ID, webhook.PollParams{MaxBatchBytes: 600 << 10})), "an explicit limit")
}

// TestPollConcurrentRefused: a second Poll of a subscription fails at once
// while the first waits; other subscriptions poll in parallel.
func TestPollConcurrentRefused(t *testing.T) {
	t.Parallel()
	b := setupPull(t, nil)
	sub := b.pullSub(t, "a")
	other := b.pullSub(t, "b")
	done := make(chan error, 1)
	go func() {
		_, err := b.d.Poll(t.Context(), sub.ID, webhook.PollParams{Wait: time.Minute})
		done <- err
	}()
	b.waitRead(t, sub.ID)

	_, err := b.d.Poll(t.Context(), sub.ID, webhook.PollParams{Wait: time.Minute})
	require.ErrorIs(t, err, webhook.ErrConcurrentPoll)
	require.ErrorContains(t, err, "one consumer at a time")

	id := b.publish(t, "b", `{}`)
	require.Equal(t, []string{id}, polledIDs(b.poll(t, other.ID, webhook.PollParams{})), "another subscription polls meanwhile")

	b.publish(t, "a", `{}`)
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the first poll was not woken")
	}
	require.Len(t, b.poll(t, sub.ID, webhook.PollParams{}).Events, 1, "the subscription can be polled again")
}

func TestPollErrors(t *testing.T) {
	t.Parallel()
	b := setupPull(t, nil)
	sub := b.pullSub(t, "*")
	other := b.pullSub(t, "*")
	push, err := b.d.SubscriptionCreate(t.Context(), webhook.Subscription{URL: "https://example.com", EventTypes: []string{"*"}})
	require.NoError(t, err)
	b.publish(t, "a", `{}`)
	foreign := b.poll(t, other.ID, webhook.PollParams{}).NextCursor
	own := b.poll(t, sub.ID, webhook.PollParams{}).NextCursor

	tests := []struct {
		name   string
		sub    string
		p      webhook.PollParams
		target error
		msg    string
	}{
		{"unknown subscription", "sub_missing", webhook.PollParams{}, webhook.ErrNotFound, ""},
		{"push subscription", push.ID, webhook.PollParams{}, webhook.ErrNotPull, "it is a push subscription"},
		{"wait below the minimum", sub.ID, webhook.PollParams{Wait: 500 * time.Millisecond}, webhook.ErrInvalid, "Wait: must be between 1s and 5m0s"},
		{"wait above the maximum", sub.ID, webhook.PollParams{Wait: time.Hour}, webhook.ErrInvalid, "Wait"},
		{"limit too large", sub.ID, webhook.PollParams{Limit: webhook.PollLimitMax + 1}, webhook.ErrInvalid, "Limit: must be between 1 and 1000"},
		{"negative limit", sub.ID, webhook.PollParams{Limit: -1}, webhook.ErrInvalid, "Limit"},
		{"negative bytes", sub.ID, webhook.PollParams{MaxBatchBytes: -1}, webhook.ErrInvalid, "MaxBatchBytes"},
		{"not a cursor", sub.ID, webhook.PollParams{Cursor: "42"}, webhook.ErrInvalid, "is not a cursor"},
		{"bad base64", sub.ID, webhook.PollParams{Cursor: "cur_!!"}, webhook.ErrInvalid, "malformed"},
		{"no position", sub.ID, webhook.PollParams{Cursor: "cur_"}, webhook.ErrInvalid, "malformed"},
		{"another subscription's cursor", sub.ID, webhook.PollParams{Cursor: foreign}, webhook.ErrInvalid, "belongs to another subscription"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.d.Poll(t.Context(), tt.sub, tt.p)
			require.ErrorIs(t, err, tt.target)
			require.ErrorContains(t, err, tt.msg)
		})
	}

	require.ErrorIs(t, b.d.CommitCursor(t.Context(), sub.ID, "nope"), webhook.ErrInvalid)
	require.ErrorIs(t, b.d.CommitCursor(t.Context(), sub.ID, ""), webhook.ErrInvalid)
	require.ErrorIs(t, b.d.CommitCursor(t.Context(), sub.ID, foreign), webhook.ErrInvalid)
	require.ErrorIs(t, b.d.CommitCursor(t.Context(), push.ID, own), webhook.ErrNotPull)
	require.ErrorIs(t, b.d.CommitCursor(t.Context(), "sub_missing", own), webhook.ErrNotFound)
	_, err = b.d.CursorReset(t.Context(), sub.ID, "nope")
	require.ErrorIs(t, err, webhook.ErrInvalid)

	// Deleting the subscription ends its feed.
	require.NoError(t, b.d.SubscriptionDelete(t.Context(), sub.ID))
	_, err = b.d.Poll(t.Context(), sub.ID, webhook.PollParams{})
	require.ErrorIs(t, err, webhook.ErrNotFound)
}

// TestPollCursorAhead: a cursor past the newest event is refused by Poll,
// CommitCursor and CursorReset.
func TestPollCursorAhead(t *testing.T) {
	t.Parallel()
	b := setupPull(t, nil)
	sub := b.pullSub(t, "*")
	b.publish(t, "a", `{}`)
	b.publish(t, "a", `{}`)
	second := b.poll(t, sub.ID, webhook.PollParams{}).NextCursor

	// The same subscription ID on a fresh dispatcher and store has an
	// empty feed: the cursor is ahead of it.
	b2 := setupPull(t, nil)
	require.NoError(t, b2.spy.SubscriptionInsert(t.Context(), &webhook.Subscription{ID: sub.ID, Mode: webhook.ModePull, EventTypes: []string{"*"}}))
	b2.publish(t, "a", `{}`)
	_, err := b2.d.Poll(t.Context(), sub.ID, webhook.PollParams{Cursor: second})
	require.ErrorIs(t, err, webhook.ErrInvalid)
	require.ErrorContains(t, err, "past the newest event")
	require.ErrorIs(t, b2.d.CommitCursor(t.Context(), sub.ID, second), webhook.ErrInvalid)
	_, err = b2.d.CursorReset(t.Context(), sub.ID, second)
	require.ErrorIs(t, err, webhook.ErrInvalid)
}

// TestPollRetention: an event published exactly Retention ago is still
// returned; a nanosecond later it is not, and a cursor before it fails
// with ErrCursorExpired until reset.
func TestPollRetention(t *testing.T) {
	t.Parallel()
	b := setupPull(t, &webhook.Config{Retention: time.Hour})
	sub := b.pullSub(t, "*")
	t0 := b.clock.Now()
	e1 := b.publish(t, "a", `1`)
	b.clock.Set(t0.Add(30 * time.Minute))
	e2 := b.publish(t, "a", `2`)

	b.clock.Set(t0.Add(time.Hour))
	require.Equal(t, []string{e1, e2}, polledIDs(b.poll(t, sub.ID, webhook.PollParams{})), "at the boundary the event is retained")

	b.clock.Set(t0.Add(time.Hour + time.Nanosecond))
	_, err := b.d.Poll(t.Context(), sub.ID, webhook.PollParams{})
	require.ErrorIs(t, err, webhook.ErrCursorExpired)
	require.ErrorContains(t, err, "CursorReset")
	_, err = b.d.CursorReset(t.Context(), sub.ID, "")
	require.ErrorIs(t, err, webhook.ErrInvalid, "an empty cursor is not a position to reset to")

	cur, err := b.d.CursorReset(t.Context(), sub.ID, webhook.CursorOldest)
	require.NoError(t, err)
	require.Equal(t, []string{e2}, polledIDs(b.poll(t, sub.ID, webhook.PollParams{})), "from the oldest retained event")
	require.Equal(t, []string{e2}, polledIDs(b.poll(t, sub.ID, webhook.PollParams{Cursor: cur})))
	require.Equal(t, []string{e2}, polledIDs(b.poll(t, sub.ID, webhook.PollParams{Cursor: webhook.CursorOldest})))

	b.clock.Set(t0.Add(2 * time.Hour))
	_, err = b.d.Poll(t.Context(), sub.ID, webhook.PollParams{})
	require.ErrorIs(t, err, webhook.ErrCursorExpired)
	_, err = b.d.CursorReset(t.Context(), sub.ID, cur)
	require.ErrorIs(t, err, webhook.ErrCursorExpired, "resetting to an expired position")
	require.NoError(t, b.d.CommitCursor(t.Context(), sub.ID, b.poll(t, sub.ID, webhook.PollParams{Cursor: webhook.CursorLatest, Wait: webhook.PollWaitMin}).NextCursor), "committing past expired events is allowed")
	e3 := b.publish(t, "a", `3`)
	require.Equal(t, []string{e3}, polledIDs(b.poll(t, sub.ID, webhook.PollParams{})))

	// Negative retention keeps everything readable.
	keep := setupPull(t, &webhook.Config{Retention: -1})
	ks := keep.pullSub(t, "*")
	old := keep.publish(t, "a", `1`)
	keep.clock.Set(keep.clock.Now().AddDate(10, 0, 0))
	require.Equal(t, []string{old}, polledIDs(keep.poll(t, ks.ID, webhook.PollParams{})))
}

// TestPollRestartBoltstore: with boltstore, uncommitted events and the
// committed position survive a restart.
func TestPollRestartBoltstore(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hooks.db")
	open := func() (*boltstore.Store, *webhook.Dispatcher) {
		s, err := boltstore.Open(path, &boltstore.Options{PurgeInterval: -1})
		require.NoError(t, err)
		d, err := webhook.NewDispatcher(s, nil)
		require.NoError(t, err)
		return s, d
	}
	ctx := t.Context()
	s, d := open()
	sub, err := d.SubscriptionCreate(ctx, webhook.Subscription{Mode: webhook.ModePull, EventTypes: []string{"*"}})
	require.NoError(t, err)
	var ids []string
	for i := range 3 {
		res, err := d.Publish(ctx, webhook.Event{Type: "a", Data: []byte(fmt.Sprint(i))})
		require.NoError(t, err)
		ids = append(ids, res.EventID)
	}
	res, err := d.Poll(ctx, sub.ID, webhook.PollParams{Limit: 1})
	require.NoError(t, err)
	require.NoError(t, d.CommitCursor(ctx, sub.ID, res.NextCursor))
	require.NoError(t, s.Close())

	s, d = open()
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	res, err = d.Poll(ctx, sub.ID, webhook.PollParams{})
	require.NoError(t, err)
	require.Equal(t, ids[1:], polledIDs(res))
	next, err := d.Publish(ctx, webhook.Event{Type: "a", Data: []byte(`3`)})
	require.NoError(t, err)
	res, err = d.Poll(ctx, sub.ID, webhook.PollParams{Cursor: res.NextCursor})
	require.NoError(t, err)
	require.Equal(t, []string{next.EventID}, polledIDs(res))
}

// TestPollWhilePublishing: a consumer polling with AutoCommit while many
// goroutines publish receives every event exactly once.
func TestPollWhilePublishing(t *testing.T) {
	t.Parallel()
	const (
		publishers = 4
		each       = 50
		total      = publishers * each
	)
	b := setupPull(t, nil)
	sub := b.pullSub(t, "*")
	published := make(chan string, total)
	var wg sync.WaitGroup
	for range publishers {
		wg.Go(func() {
			for range each {
				res, err := b.d.Publish(t.Context(), webhook.Event{Type: "a", Data: []byte(`{}`)})
				if err != nil {
					t.Error(err)
					return
				}
				published <- res.EventID
			}
		})
	}
	seen := make(map[string]int, total)
	for polls := 0; len(seen) < total; polls++ {
		require.Less(t, polls, total*2, "the consumer should not need more polls than events")
		res := b.poll(t, sub.ID, webhook.PollParams{AutoCommit: true, Wait: 5 * time.Second, Limit: 7})
		for _, e := range res.Events {
			seen[e.Event.ID]++
		}
	}
	wg.Wait()
	close(published)
	for id := range published {
		require.Equal(t, 1, seen[id], "event %s", id)
	}
	require.Len(t, seen, total)
}

// gatedCommit holds the first forward FeedCommit until released, so a test
// can act while a Poll with AutoCommit is about to commit.
type gatedCommit struct {
	webhook.Store
	entered, release chan struct{}
	once             sync.Once
}

func (g *gatedCommit) FeedCommit(ctx context.Context, id string, seq uint64, rewind bool) error {
	if !rewind {
		g.once.Do(func() {
			close(g.entered)
			<-g.release
		})
	}
	return g.Store.FeedCommit(ctx, id, seq, rewind)
}

// A reset while a Poll with AutoCommit runs is refused: the poll's commit
// would otherwise undo a rewind reported done.
func TestCursorResetRefusedWhilePollRuns(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	g := &gatedCommit{Store: memstore.New(), entered: make(chan struct{}), release: make(chan struct{})}
	d, err := webhook.NewDispatcher(g, nil)
	require.NoError(t, err)
	sub, err := d.SubscriptionCreate(ctx, webhook.Subscription{Mode: webhook.ModePull, EventTypes: []string{"*"}})
	require.NoError(t, err)
	for range 3 {
		_, err := d.Publish(ctx, webhook.Event{Type: "a", Data: []byte(`1`)})
		require.NoError(t, err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := d.Poll(ctx, sub.ID, webhook.PollParams{AutoCommit: true})
		done <- err
	}()
	<-g.entered // the poll read 1..3 and is committing 3.
	_, err = d.CursorReset(ctx, sub.ID, webhook.CursorOldest)
	require.ErrorIs(t, err, webhook.ErrConcurrentPoll)
	close(g.release)
	require.NoError(t, <-done)

	// Once the poll returned, the rewind works and replays all three.
	_, err = d.CursorReset(ctx, sub.ID, webhook.CursorOldest)
	require.NoError(t, err)
	res, err := d.Poll(ctx, sub.ID, webhook.PollParams{Wait: webhook.PollWaitMin})
	require.NoError(t, err)
	require.Len(t, res.Events, 3)
}

// Deleting a subscription ends a Poll waiting on it with ErrNotFound at
// once, with or without a cursor.
func TestPollEndsWhenSubscriptionDeleted(t *testing.T) {
	t.Parallel()
	for _, withCursor := range []bool{false, true} {
		b := setupPull(t, nil)
		sub := b.pullSub(t, "*")
		cursor := ""
		if withCursor {
			b.publish(t, "a", `1`)
			cursor = b.poll(t, sub.ID, webhook.PollParams{Cursor: webhook.CursorLatest, Wait: webhook.PollWaitMin}).NextCursor
			b.waitRead(t, sub.ID)
		}
		b.drainReads() // the reads of the poll above
		done := make(chan error, 1)
		go func() {
			_, err := b.d.Poll(t.Context(), sub.ID, webhook.PollParams{Cursor: cursor, Wait: webhook.PollWaitMax})
			done <- err
		}()
		b.waitRead(t, sub.ID) // the poll waits now.
		require.NoError(t, b.d.SubscriptionDelete(t.Context(), sub.ID))
		select {
		case err := <-done:
			require.ErrorIs(t, err, webhook.ErrNotFound, "cursor %q", cursor)
		case <-time.After(10 * time.Second):
			t.Fatalf("cursor %q: the poll went on waiting after the delete", cursor)
		}
	}
}
