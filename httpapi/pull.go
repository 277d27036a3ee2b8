package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hooksmith/webhook"
)

// eventOut is an event in an answer.
type eventOut struct {
	ID        string            `json:"id"`
	Type      string            `json:"type"`
	Tenant    string            `json:"tenant"`
	Timestamp time.Time         `json:"timestamp"`
	Data      json.RawMessage   `json:"data"`
	Metadata  map[string]string `json:"metadata,omitempty"`
}

func eventJSON(e webhook.Event) eventOut {
	return eventOut{ID: e.ID, Type: e.Type, Tenant: e.Tenant, Timestamp: e.Timestamp, Data: e.Data, Metadata: e.Metadata}
}

// polledOut is one event of a poll answer.
type polledOut struct {
	// Cursor is the position after this event.
	Cursor      string    `json:"cursor"`
	PublishedAt time.Time `json:"publishedAt"`
	Event       eventOut  `json:"event"`
}

// pollOut is the answer of GET /subscriptions/{id}/events.
type pollOut struct {
	Data       []polledOut `json:"data"`
	NextCursor string      `json:"nextCursor"`
	More       bool        `json:"more"`
}

// subscriptionPoll serves GET /subscriptions/{id}/events: the events of a
// pull subscription after a cursor, waiting up to timeout seconds for one.
func (a *api) subscriptionPoll(c *call) (int, any, error) {
	if c.r.Method == http.MethodHead {
		// A HEAD answer has no body: its batch would be lost to an
		// auto-commit, and it would hold the subscription's one poll.
		c.w.Header().Set("Allow", "GET")
		return 0, nil, &apiError{status: http.StatusMethodNotAllowed, code: codeMethodNotAllowed,
			message: "HEAD is not served on this path: a poll returns events in its body; use GET"}
	}
	id := c.r.PathValue("id")
	if _, err := a.subscription(c, id); err != nil {
		return 0, nil, err
	}
	limit, err := queryInt(c, "limit", webhook.PollLimitDefault, 1, webhook.PollLimitMax)
	if err != nil {
		return 0, nil, err
	}
	maxBytes, err := queryInt(c, "maxBatchSize", webhook.PollMaxBatchBytesDefault, 1, 1<<30)
	if err != nil {
		return 0, nil, err
	}
	timeout, err := queryInt(c, "timeout", int(webhook.PollWaitDefault/time.Second), int(webhook.PollWaitMin/time.Second), int(webhook.PollWaitMax/time.Second))
	if err != nil {
		return 0, nil, err
	}
	autoCommit, err := queryBool(c, "autoCommit")
	if err != nil {
		return 0, nil, err
	}
	res, err := a.d.Poll(c.ctx(), id, webhook.PollParams{
		Cursor:        c.r.URL.Query().Get("cursor"),
		Limit:         limit,
		MaxBatchBytes: maxBytes,
		Wait:          time.Duration(timeout) * time.Second,
		AutoCommit:    autoCommit != nil && *autoCommit,
	})
	if err != nil {
		return 0, nil, pullError(err, id, true)
	}
	out := pollOut{Data: make([]polledOut, len(res.Events)), NextCursor: res.NextCursor, More: res.More}
	for i, pe := range res.Events {
		out.Data[i] = polledOut{Cursor: pe.Cursor, PublishedAt: pe.PublishedAt, Event: eventJSON(pe.Event)}
	}
	return http.StatusOK, out, nil
}

// cursorIn is the body of PUT /subscriptions/{id}/cursor.
type cursorIn struct {
	// Cursor is a cursor a poll answered, "oldest" or "latest".
	Cursor string `json:"cursor"`
	// Reset moves the committed position anywhere, backwards too; without
	// it the position only moves forward.
	Reset bool `json:"reset"`
}

// cursorOut is the answer of PUT /subscriptions/{id}/cursor.
type cursorOut struct {
	// Cursor is the committed position after the call.
	Cursor string `json:"cursor"`
}

// subscriptionCursor serves PUT /subscriptions/{id}/cursor: it commits a
// cursor (forward only), or with "reset": true moves the committed
// position anywhere.
func (a *api) subscriptionCursor(c *call) (int, any, error) {
	id := c.r.PathValue("id")
	if _, err := a.subscription(c, id); err != nil {
		return 0, nil, err
	}
	b, err := a.readBody(c, false, mediaJSON)
	if err != nil {
		return 0, nil, err
	}
	var in cursorIn
	if err := decodeStrict(b, &in); err != nil {
		return 0, nil, err
	}
	if in.Cursor == "" {
		return 0, nil, invalid("cursor", fieldError{Field: "cursor", Message: `required: a cursor a poll answered (nextCursor, or an event's cursor), "oldest" or "latest"`})
	}
	if !in.Reset {
		if err := a.d.CommitCursor(c.ctx(), id, in.Cursor); err != nil {
			return 0, nil, pullError(err, id, false)
		}
		return http.StatusNoContent, nil, nil
	}
	cur, err := a.d.CursorReset(c.ctx(), id, in.Cursor)
	if err != nil {
		return 0, nil, pullError(err, id, false)
	}
	return http.StatusOK, cursorOut{Cursor: cur}, nil
}

// pullError maps the errors of Poll and the cursor calls. query tells
// whether the cursor came in the query (400) or the body (422).
func pullError(err error, id string, query bool) error {
	switch {
	case errors.Is(err, webhook.ErrNotFound):
		return notFound("subscription", id) // deleted meanwhile.
	case errors.Is(err, webhook.ErrNotPull):
		return &apiError{status: http.StatusConflict, code: codeNotPull,
			message: fmt.Sprintf("subscription %s is a push subscription: its events are sent to its URL; create one with \"mode\": \"pull\" to read events", truncate(id, 64))}
	case errors.Is(err, webhook.ErrConcurrentPoll):
		return &apiError{status: http.StatusConflict, code: codeConcurrentPoll,
			message: fmt.Sprintf("another poll of subscription %s is running: a subscription has one consumer at a time; poll again when it returns", truncate(id, 64))}
	case errors.Is(err, webhook.ErrCursorExpired):
		return &apiError{status: http.StatusGone, code: codeCursorExpired,
			message: `events after this cursor are past the retention period: poll with cursor=oldest, or reset with PUT /subscriptions/` + truncate(id, 64) + `/cursor {"cursor": "oldest", "reset": true}`}
	case query:
		return queryError(err)
	}
	return err
}
