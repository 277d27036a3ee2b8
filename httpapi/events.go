package httpapi

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hooksmith/webhook"
)

// eventIn is the body of POST /events.
type eventIn struct {
	ID        string            `json:"id"`
	Type      string            `json:"type"`
	Tenant    *string           `json:"tenant"`
	Timestamp *time.Time        `json:"timestamp"`
	Data      json.RawMessage   `json:"data"`
	Metadata  map[string]string `json:"metadata"`
}

// publishOut is the answer of POST /events.
type publishOut struct {
	EventID     string   `json:"eventId"`
	DeliveryIDs []string `json:"deliveryIds"`
	Duplicate   bool     `json:"duplicate"`
}

// eventPublish serves POST /events: 202 when the event was stored (its
// deliveries are made in the background), 200 when an event with the same
// ID already was and nothing was stored again.
func (a *api) eventPublish(c *call) (int, any, error) {
	b, err := a.readBody(c, false, mediaJSON)
	if err != nil {
		return 0, nil, err
	}
	var in eventIn
	if err := decodeStrict(b, &in); err != nil {
		return 0, nil, err
	}
	if in.Tenant != nil && *in.Tenant != c.p.Tenant {
		return 0, nil, invalid("event", fieldError{Field: "tenant", Message: "must be your own tenant " + quote(c.p.Tenant) + ", or omitted"})
	}
	e := webhook.Event{Type: in.Type, Tenant: c.p.Tenant, Data: in.Data, Metadata: in.Metadata}
	if in.ID != "" {
		e.ID = scopedEventID(c.p.Tenant, in.ID)
	}
	if in.Timestamp != nil {
		e.Timestamp = *in.Timestamp
	}
	res, err := a.d.Publish(c.ctx(), e)
	if err != nil {
		return 0, nil, err
	}
	out := publishOut{EventID: res.EventID, DeliveryIDs: res.DeliveryIDs, Duplicate: res.Duplicate}
	if out.DeliveryIDs == nil {
		out.DeliveryIDs = []string{}
	}
	if res.Duplicate {
		return http.StatusOK, out, nil
	}
	return http.StatusAccepted, out, nil
}

// scopedEventID turns a client's idempotency key into an event ID that no
// other tenant's key can produce. Event IDs are unique across tenants in
// the store, so with the key as the ID one tenant could learn, from a
// conflict, that another tenant used it. The same key of the same tenant
// always gives the same ID, so a retried POST is still a duplicate.
func scopedEventID(tenant, key string) string {
	h := sha256.New()
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(tenant)))
	h.Write(n[:])
	h.Write([]byte(tenant))
	h.Write([]byte(key))
	return "evt_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(h.Sum(nil)[:16]))
}

// eventList serves GET /events: the tenant's event log, newest first by
// default, filtered by type (a pattern) and time range.
func (a *api) eventList(c *call) (int, any, error) {
	q := c.r.URL.Query()
	limit, err := queryInt(c, "limit", webhook.EventListLimitDefault, 1, webhook.EventListLimitMax)
	if err != nil {
		return 0, nil, err
	}
	since, err := queryTime(c, "since")
	if err != nil {
		return 0, nil, err
	}
	until, err := queryTime(c, "until")
	if err != nil {
		return 0, nil, err
	}
	var oldestFirst bool
	switch order := q.Get("order"); order {
	case "", "newest":
	case "oldest":
		oldestFirst = true
	default:
		return 0, nil, badRequest("order", fmt.Sprintf(`must be "newest" (the default) or "oldest", got %q`, truncate(order, 32)))
	}
	res, err := a.d.EventList(c.ctx(), webhook.EventListParams{
		Tenant:      c.p.Tenant,
		Type:        q.Get("type"),
		Since:       since,
		Until:       until,
		OldestFirst: oldestFirst,
		Cursor:      q.Get("cursor"),
		Limit:       limit,
	})
	if err != nil {
		return 0, nil, queryError(err)
	}
	out := page[eventOut]{Data: make([]eventOut, len(res.Events)), NextCursor: res.Next}
	for i, e := range res.Events {
		out.Data[i] = eventJSON(e)
	}
	return http.StatusOK, out, nil
}

// eventGet serves GET /events/{id}.
func (a *api) eventGet(c *call) (int, any, error) {
	id := c.r.PathValue("id")
	e, err := a.d.EventGet(c.ctx(), id)
	if errors.Is(err, webhook.ErrNotFound) || err == nil && e.Tenant != c.p.Tenant {
		return 0, nil, notFound("event", id)
	}
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, eventJSON(e), nil
}

// queryTime parses an optional RFC 3339 time query parameter.
func queryTime(c *call, name string) (time.Time, error) {
	raw := c.r.URL.Query().Get(name)
	if raw == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		return time.Time{}, badRequest(name, fmt.Sprintf("must be an RFC 3339 time such as 2026-01-02T15:04:05Z, got %q", truncate(raw, 64)))
	}
	return t, nil
}

// queryError turns a *webhook.ValidationError about query parameters into
// a 400 naming them; other errors pass.
func queryError(err error) error {
	var ve *webhook.ValidationError
	if !errors.As(err, &ve) || len(ve.Fields) == 0 {
		return err
	}
	fields := make([]fieldError, len(ve.Fields))
	for i, f := range ve.Fields {
		fields[i] = fieldError{Field: jsonPath(f.Field), Message: f.Message}
	}
	e := badRequest(fields[0].Field, fields[0].Message)
	e.fields = fields
	return e
}
