package webhook

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Defaults and limits of EventListParams.
const (
	// EventListLimitDefault is the page size when EventListParams.Limit is 0.
	EventListLimitDefault = 100
	// EventListLimitMax is the largest EventListParams.Limit accepted.
	EventListLimitMax = 1000
)

// eventCursorPrefix starts every EventPage.Next.
const eventCursorPrefix = "evc_"

// EventListParams filter and page Dispatcher.EventList. The zero value lists
// every stored event, newest first, EventListLimitDefault at a time.
type EventListParams struct {
	// Cursor is EventPage.Next of the previous page, to read the next one
	// with the same filters and order; empty for the first page.
	Cursor string
	// Limit is the page size. Defaults to EventListLimitDefault (100); at
	// most EventListLimitMax (1000).
	Limit int
	// OldestFirst lists the oldest events first; by default the newest
	// come first.
	OldestFirst bool
	// Since, when not zero, keeps events whose Timestamp is at or after it.
	Since time.Time
	// Tenant, when not empty, keeps that tenant's events.
	Tenant string
	// Type, when not empty, keeps events whose type matches it, exactly or
	// as a pattern ("invoice.*"; see MatchEventType).
	Type string
	// Until, when not zero, keeps events whose Timestamp is before it.
	Until time.Time
}

// EventPage is one page of EventList.
type EventPage struct {
	// Events are ordered by Timestamp, then ID: newest first unless
	// OldestFirst was set.
	Events []Event
	// Next is the cursor of the next page, empty when this is the last.
	Next string
}

// EventGet returns the stored event with the given ID. A missing one (never
// published, or removed by the store's retention) is an error wrapping
// ErrNotFound.
func (d *Dispatcher) EventGet(ctx context.Context, id string) (Event, error) {
	e, err := d.store.EventGet(ctx, id)
	if err != nil {
		return Event{}, fmt.Errorf("webhook: get event %s: %w", id, err)
	}
	return *e.Clone(), nil // the store's value is read-only.
}

// EventList returns a page of the event log: the stored events that pass
// the filters of p, ordered by Timestamp then ID. To page, pass the page's
// Next as p.Cursor with the same filters.
//
// Paging is stable under concurrent publishes: the cursor is the position
// (Timestamp, ID) of the last event returned, so no event stored before the
// first page is returned twice or skipped. Events published meanwhile
// appear on later pages when they sort after the cursor (in oldest-first
// order, every event published with the default Timestamp does), and not at
// all in the pages already read. The log holds what the store keeps: with
// boltstore, events are removed after its Options.Retention.
func (d *Dispatcher) EventList(ctx context.Context, p EventListParams) (EventPage, error) {
	q, err := p.query()
	if err != nil {
		return EventPage{}, err
	}
	limit := q.Limit
	q.Limit++ // one more tells whether there is a next page.
	events, err := d.store.EventList(ctx, q)
	if err != nil {
		return EventPage{}, fmt.Errorf("webhook: list events: %w", err)
	}
	page := EventPage{Events: make([]Event, 0, min(len(events), limit))}
	for i, e := range events {
		if i == limit {
			last := events[limit-1]
			page.Next = encodeEventCursor(eventCursor{Timestamp: last.Timestamp, ID: last.ID, OldestFirst: p.OldestFirst})
			break
		}
		page.Events = append(page.Events, *e)
	}
	return page, nil
}

// query validates p and turns it into the store's query.
func (p *EventListParams) query() (EventQuery, error) {
	v := validator{what: "event list parameters"}
	q := EventQuery{Tenant: p.Tenant, Type: p.Type, Since: p.Since, Until: p.Until, Newest: !p.OldestFirst, Limit: p.Limit}
	switch {
	case q.Limit == 0:
		q.Limit = EventListLimitDefault
	case q.Limit < 0 || q.Limit > EventListLimitMax:
		v.add("Limit", fmt.Sprintf("must be between 1 and %d, or 0 for the default (%d), got %d", EventListLimitMax, EventListLimitDefault, p.Limit))
	}
	if p.Type != "" {
		if msg := checkEventType(p.Type, true); msg != "" {
			v.add("Type", msg)
		}
	}
	if !p.Since.IsZero() && !p.Until.IsZero() && !p.Since.Before(p.Until) {
		v.add("Until", fmt.Sprintf("must be after Since (%s), got %s", p.Since.Format(time.RFC3339Nano), p.Until.Format(time.RFC3339Nano)))
	}
	if p.Cursor != "" {
		c, msg := decodeEventCursor(p.Cursor)
		switch {
		case msg != "":
			v.add("Cursor", msg)
		case c.OldestFirst != p.OldestFirst:
			v.add("Cursor", "was made for the other order: keep OldestFirst as it was for the first page")
		default:
			q.AfterTimestamp, q.AfterID = c.Timestamp, c.ID
		}
	}
	return q, v.err()
}

// eventCursor is the position an EventPage.Next encodes.
type eventCursor struct {
	Timestamp   time.Time `json:"t"`
	ID          string    `json:"i"`
	OldestFirst bool      `json:"o,omitempty"`
}

func encodeEventCursor(c eventCursor) string {
	raw, _ := json.Marshal(c) // a time and a string always encode.
	return eventCursorPrefix + base64.RawURLEncoding.EncodeToString(raw)
}

// decodeEventCursor returns the position of a cursor, or what is wrong
// with it.
func decodeEventCursor(s string) (eventCursor, string) {
	const hint = "pass the Next of the previous page, unchanged"
	rest, ok := strings.CutPrefix(s, eventCursorPrefix)
	if !ok {
		return eventCursor{}, fmt.Sprintf("%q is not an event list cursor: %s", truncate(s, 64), hint)
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return eventCursor{}, "is malformed: " + hint
	}
	var c eventCursor
	if err := json.Unmarshal(raw, &c); err != nil || c.ID == "" {
		return eventCursor{}, "is malformed: " + hint
	}
	return c, ""
}
