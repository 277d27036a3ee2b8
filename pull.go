package webhook

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Defaults and limits of PollParams.
const (
	// PollLimitDefault is the most events a Poll returns when
	// PollParams.Limit is 0.
	PollLimitDefault = 100
	// PollLimitMax is the largest PollParams.Limit accepted.
	PollLimitMax = 1000
	// PollMaxBatchBytesDefault is PollParams.MaxBatchBytes when 0: 512 KiB.
	PollMaxBatchBytesDefault = 512 << 10
	// PollWaitDefault is PollParams.Wait when 0.
	PollWaitDefault = 10 * time.Second
	// PollWaitMin is the shortest PollParams.Wait accepted.
	PollWaitMin = time.Second
	// PollWaitMax is the longest PollParams.Wait accepted.
	PollWaitMax = 5 * time.Minute
)

// Names of positions that PollParams.Cursor and CursorReset accept besides
// the cursors Poll returns.
const (
	// CursorOldest is the position before the oldest event still retained:
	// reading from it returns every event the feed still holds.
	CursorOldest = "oldest"
	// CursorLatest is the position after the newest event: reading from it
	// returns only events published later.
	CursorLatest = "latest"
)

// cursorPrefix starts every cursor Poll returns.
const cursorPrefix = "cur_"

// PollParams are the arguments of Dispatcher.Poll. The zero value polls
// from the committed position with the defaults below.
type PollParams struct {
	// AutoCommit commits NextCursor before Poll returns a non-empty batch,
	// so the next Poll continues after it without a CommitCursor call. The
	// batch is then delivered at most once: if the consumer fails while
	// processing it, those events are not polled again (unless it rewinds
	// with CursorReset). Without AutoCommit delivery is at least once.
	AutoCommit bool

	// Cursor is where to read from: a cursor returned by Poll (NextCursor,
	// or the Cursor of an event), CursorOldest, CursorLatest, or empty for
	// the subscription's committed position. A cursor is opaque and
	// belongs to one subscription.
	Cursor string

	// Limit is the most events returned. Defaults to PollLimitDefault
	// (100); at most PollLimitMax (1000).
	Limit int

	// MaxBatchBytes is a soft limit on the summed size of the returned
	// events' Data: Poll stops before the event that would exceed it. A
	// single event larger than the limit is still returned, alone.
	// Defaults to PollMaxBatchBytesDefault (512 KiB).
	MaxBatchBytes int

	// Wait is how long Poll waits for an event when none is available
	// (long polling). Defaults to PollWaitDefault (10 s); values below
	// PollWaitMin (1 s) or above PollWaitMax (5 minutes) are an error.
	Wait time.Duration
}

// withDefaults returns p with zero fields set to their defaults, or a
// *ValidationError naming the fields out of range.
func (p PollParams) withDefaults() (PollParams, error) {
	v := validator{what: "poll parameters"}
	switch {
	case p.Limit == 0:
		p.Limit = PollLimitDefault
	case p.Limit < 0 || p.Limit > PollLimitMax:
		v.add("Limit", fmt.Sprintf("must be between 1 and %d, or 0 for the default (%d), got %d", PollLimitMax, PollLimitDefault, p.Limit))
	}
	switch {
	case p.MaxBatchBytes == 0:
		p.MaxBatchBytes = PollMaxBatchBytesDefault
	case p.MaxBatchBytes < 0:
		v.add("MaxBatchBytes", fmt.Sprintf("must be positive, or 0 for the default (%d), got %d", PollMaxBatchBytesDefault, p.MaxBatchBytes))
	}
	switch {
	case p.Wait == 0:
		p.Wait = PollWaitDefault
	case p.Wait < PollWaitMin || p.Wait > PollWaitMax:
		v.add("Wait", fmt.Sprintf("must be between %s and %s, or 0 for the default (%s), got %s", PollWaitMin, PollWaitMax, PollWaitDefault, p.Wait))
	}
	return p, v.err()
}

// PollResult is what Poll returns.
type PollResult struct {
	// Events are the events after the cursor, oldest first; empty when
	// none was published before Wait ended.
	Events []PolledEvent
	// NextCursor is the position after the last event returned (the
	// position polled from when there is none). Commit it once the batch
	// is processed, or pass it to the next Poll.
	NextCursor string
	// More is true when more events were available at once: poll again
	// without waiting.
	More bool
}

// PolledEvent is one event returned by Poll.
type PolledEvent struct {
	// Event is the event as published.
	Event Event
	// Cursor is the position after this event: committing it acknowledges
	// this event and every one before it.
	Cursor string
	// PublishedAt is when Publish stored the event; retention counts from
	// it.
	PublishedAt time.Time
}

// Poll returns the events of pull subscription subscriptionID after
// p.Cursor (by default its committed position), at most p.Limit of them and
// about p.MaxBatchBytes.
//
// It returns at once when there are events. Otherwise it waits until one is
// published or p.Wait ends, and then returns an empty batch; Publish wakes
// it at once. Events published by another process sharing the store are
// seen when Wait ends. When ctx ends first, Poll returns its error.
//
// Poll does not move the committed position unless p.AutoCommit is set:
// without CommitCursor the next Poll from the committed position returns
// the same events again. Only one Poll of a subscription runs at a time in
// a Dispatcher: a second one fails at once with ErrConcurrentPoll. Polls of
// different subscriptions run in parallel.
//
// Errors: ErrNotFound for an unknown subscription, ErrNotPull for a push
// subscription, a *ValidationError (ErrInvalid) for parameters out of range
// or a malformed cursor, a cursor of another subscription or one past the
// newest event, and ErrCursorExpired when events after the cursor are past
// Config.Retention. A disabled pull subscription gets no new events but its
// feed can still be read.
func (d *Dispatcher) Poll(ctx context.Context, subscriptionID string, p PollParams) (PollResult, error) {
	p, err := p.withDefaults()
	if err != nil {
		return PollResult{}, err
	}
	if err := d.pullSubscription(ctx, "poll", subscriptionID); err != nil {
		return PollResult{}, err
	}
	wake, ok := d.polls.acquire(subscriptionID)
	if !ok {
		return PollResult{}, fmt.Errorf("webhook: poll subscription %s: %w: a subscription has one consumer at a time; retry when the running poll returns", subscriptionID, ErrConcurrentPoll)
	}
	defer d.polls.release(subscriptionID)

	read := FeedReadParams{SubscriptionID: subscriptionID, Limit: p.Limit, MaxBytes: p.MaxBatchBytes}
	if p.Cursor == "" {
		read.FromCommitted = true
	} else if read.After, err = d.resolveCursor(ctx, "poll", subscriptionID, p.Cursor); err != nil {
		return PollResult{}, err
	}

	timer := time.NewTimer(p.Wait)
	defer timer.Stop()
	for waited := false; ; {
		read.Since = d.retainedSince()
		page, err := d.store.FeedRead(ctx, read)
		if err != nil {
			return PollResult{}, fmt.Errorf("webhook: poll subscription %s: %w", subscriptionID, err)
		}
		if err := d.checkFeed(ctx, "poll", subscriptionID, page); err != nil {
			return PollResult{}, err
		}
		if len(page.Entries) > 0 || waited {
			return d.pollResult(ctx, subscriptionID, page, p.AutoCommit)
		}
		select {
		case <-wake:
		case <-timer.C:
			waited = true // read once more: another process may have published.
		case <-ctx.Done():
			return PollResult{}, fmt.Errorf("webhook: poll subscription %s: %w", subscriptionID, ctx.Err())
		}
		// SubscriptionDelete wakes the poll; another process may have
		// deleted the subscription while it waited.
		if err := d.pullSubscription(ctx, "poll", subscriptionID); err != nil {
			return PollResult{}, err
		}
	}
}

// pollResult turns a page into Poll's result, committing it when asked.
func (d *Dispatcher) pollResult(ctx context.Context, subID string, page *FeedPage, autoCommit bool) (PollResult, error) {
	res := PollResult{Events: make([]PolledEvent, len(page.Entries))}
	next := page.After
	for i, fe := range page.Entries {
		next = fe.Seq
		res.Events[i] = PolledEvent{Event: *fe.Event, Cursor: encodeCursor(subID, fe.Seq), PublishedAt: fe.PublishedAt}
	}
	res.NextCursor = encodeCursor(subID, next)
	res.More = next < page.Last
	if autoCommit && len(page.Entries) > 0 {
		if err := d.store.FeedCommit(ctx, subID, next, false); err != nil {
			return PollResult{}, fmt.Errorf("webhook: poll subscription %s: auto-commit: %w", subID, err)
		}
	}
	return res, nil
}

// checkFeed is checkPage for a page just read, which may come from a
// subscription deleted since the caller checked it: its feed reads as
// empty then, and a cursor would seem to point past it. So a page that
// fails the check is blamed on the cursor only if the subscription is
// still there.
func (d *Dispatcher) checkFeed(ctx context.Context, what, subID string, page *FeedPage) error {
	err := d.checkPage(subID, page)
	if err == nil {
		return nil
	}
	if serr := d.pullSubscription(ctx, what, subID); serr != nil {
		return serr
	}
	return err
}

// checkPage reports a page read from a position the feed cannot serve.
func (d *Dispatcher) checkPage(subID string, page *FeedPage) error {
	if page.Expired {
		return d.expired(subID, page.Oldest)
	}
	if page.After > page.Last {
		return &ValidationError{What: "cursor", Fields: []FieldError{{Field: "Cursor", Message: "is past the newest event of the subscription's feed: use a cursor returned by Poll"}}}
	}
	return nil
}

func (d *Dispatcher) expired(subID string, oldest uint64) error {
	return fmt.Errorf("webhook: subscription %s: %w: events after this position were published more than %s ago (Config.Retention) or were removed by the store; "+
		"continue from the oldest retained event with CursorReset(ctx, %q, CursorOldest) or by polling from cursor %s",
		subID, ErrCursorExpired, d.cfg.Retention, subID, encodeCursor(subID, oldest))
}

// CommitCursor records cursor, a cursor Poll returned for subscriptionID
// (NextCursor or an event's Cursor), as the subscription's committed
// position: the next Poll without a cursor starts after it. CursorLatest
// acknowledges every event published so far. It is durable when the store
// is. The position only moves forward: committing a cursor at or before the
// committed position changes nothing and is not an error, so commits may be
// repeated or arrive late. Use CursorReset to move it back.
//
// Errors as for Poll; ErrCursorExpired is not one: committing past events
// that expired is allowed.
func (d *Dispatcher) CommitCursor(ctx context.Context, subscriptionID, cursor string) error {
	if err := d.pullSubscription(ctx, "commit cursor of", subscriptionID); err != nil {
		return err
	}
	seq, err := d.resolveCursor(ctx, "commit cursor of", subscriptionID, cursor)
	if err != nil {
		return err
	}
	page, err := d.store.FeedRead(ctx, FeedReadParams{SubscriptionID: subscriptionID})
	if err != nil {
		return fmt.Errorf("webhook: commit cursor of subscription %s: %w", subscriptionID, err)
	}
	if seq > page.Last {
		return d.checkFeed(ctx, "commit cursor of", subscriptionID, &FeedPage{After: seq, Last: page.Last})
	}
	if err := d.store.FeedCommit(ctx, subscriptionID, seq, false); err != nil {
		return fmt.Errorf("webhook: commit cursor of subscription %s: %w", subscriptionID, err)
	}
	return nil
}

// CursorReset moves the committed position of pull subscription
// subscriptionID to cursor, backwards or forwards: the explicit rewind
// (to replay events) or skip (to drop a backlog). cursor is a cursor Poll
// returned for this subscription, CursorOldest or CursorLatest. It returns
// the new position as a cursor. A position before the oldest retained event
// is an error wrapping ErrCursorExpired; reset to CursorOldest instead.
func (d *Dispatcher) CursorReset(ctx context.Context, subscriptionID, cursor string) (string, error) {
	if err := d.pullSubscription(ctx, "reset cursor of", subscriptionID); err != nil {
		return "", err
	}
	// A running Poll with AutoCommit would commit its batch over the
	// reset, undoing a rewind that was reported done.
	if _, ok := d.polls.acquire(subscriptionID); !ok {
		return "", fmt.Errorf("webhook: reset cursor of subscription %s: %w: its auto-commit would undo the reset; retry when the poll returns", subscriptionID, ErrConcurrentPoll)
	}
	defer d.polls.release(subscriptionID)
	seq, err := d.resolveCursor(ctx, "reset cursor of", subscriptionID, cursor)
	if err != nil {
		return "", err
	}
	page, err := d.store.FeedRead(ctx, FeedReadParams{SubscriptionID: subscriptionID, After: seq, Since: d.retainedSince()})
	if err != nil {
		return "", fmt.Errorf("webhook: reset cursor of subscription %s: %w", subscriptionID, err)
	}
	if err := d.checkFeed(ctx, "reset cursor of", subscriptionID, page); err != nil {
		return "", err
	}
	if err := d.store.FeedCommit(ctx, subscriptionID, seq, true); err != nil {
		return "", fmt.Errorf("webhook: reset cursor of subscription %s: %w", subscriptionID, err)
	}
	d.log.InfoContext(ctx, "pull cursor reset", "subscription", subscriptionID, "position", seq)
	return encodeCursor(subscriptionID, seq), nil
}

// pullSubscription checks that subscription id exists and is a pull
// subscription.
func (d *Dispatcher) pullSubscription(ctx context.Context, what, id string) error {
	s, err := d.store.SubscriptionGet(ctx, id)
	if err != nil {
		return fmt.Errorf("webhook: %s subscription %s: %w", what, id, err)
	}
	if s.Mode != ModePull {
		return fmt.Errorf("webhook: %s subscription %s: %w: it is a push subscription, whose events are sent to its URL; create one with Mode %q to poll", what, id, ErrNotPull, ModePull)
	}
	return nil
}

// resolveCursor turns a cursor or a position name into a position.
func (d *Dispatcher) resolveCursor(ctx context.Context, what, subID, cursor string) (uint64, error) {
	switch cursor {
	case CursorOldest, CursorLatest:
		page, err := d.store.FeedRead(ctx, FeedReadParams{SubscriptionID: subID, Since: d.retainedSince()})
		if err != nil {
			return 0, fmt.Errorf("webhook: %s subscription %s: %w", what, subID, err)
		}
		switch {
		case cursor == CursorLatest:
			return page.Last, nil
		case page.Expired:
			return page.Oldest, nil
		}
		return 0, nil
	}
	return decodeCursor(subID, cursor)
}

// retainedSince is the retention boundary now: events published before it
// are no longer polled. Zero when retention is unlimited.
func (d *Dispatcher) retainedSince() time.Time {
	if d.cfg.Retention < 0 {
		return time.Time{}
	}
	return d.now().Add(-d.cfg.Retention)
}

// encodeCursor makes the cursor of position seq of subscription subID:
// "cur_" and unpadded URL-safe base64 of seq as a uvarint followed by subID.
func encodeCursor(subID string, seq uint64) string {
	raw := binary.AppendUvarint(make([]byte, 0, 10+len(subID)), seq)
	return cursorPrefix + base64.RawURLEncoding.EncodeToString(append(raw, subID...))
}

// decodeCursor returns the position of a cursor of subscription subID, or a
// *ValidationError saying why it is not one.
func decodeCursor(subID, cursor string) (uint64, error) {
	bad := func(msg string) error {
		return &ValidationError{What: "cursor", Fields: []FieldError{{Field: "Cursor", Message: msg}}}
	}
	rest, ok := strings.CutPrefix(cursor, cursorPrefix)
	if !ok {
		return 0, bad(fmt.Sprintf("%q is not a cursor: pass a cursor returned by Poll, %q, %q, or nothing for the committed position", truncate(cursor, 64), CursorOldest, CursorLatest))
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return 0, bad("is malformed (not the base64 Poll writes): pass a cursor returned by Poll, unchanged")
	}
	seq, n := binary.Uvarint(raw)
	if n <= 0 {
		return 0, bad("is malformed (no position): pass a cursor returned by Poll, unchanged")
	}
	if string(raw[n:]) != subID {
		return 0, bad(fmt.Sprintf("belongs to another subscription, not %s: pass a cursor returned by Poll for this subscription", subID))
	}
	return seq, nil
}

// pollers tracks the running Polls: one per subscription, each with a
// channel that Publish signals when it appends to that subscription's feed.
type pollers struct {
	mu sync.Mutex
	m  map[string]chan struct{}
}

// acquire registers a Poll of subscription id and returns its wake-up
// channel, or false when one is running.
func (p *pollers) acquire(id string) (<-chan struct{}, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, busy := p.m[id]; busy {
		return nil, false
	}
	if p.m == nil {
		p.m = make(map[string]chan struct{})
	}
	ch := make(chan struct{}, 1)
	p.m[id] = ch
	return ch, true
}

func (p *pollers) release(id string) {
	p.mu.Lock()
	delete(p.m, id)
	p.mu.Unlock()
}

// wake signals the Poll of subscription id, if one runs, without blocking.
// The channel is registered before the Poll's first read, so an event
// stored after that read always finds it.
func (p *pollers) wake(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case p.m[id] <- struct{}{}:
	default:
	}
}
