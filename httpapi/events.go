package httpapi

import (
	"encoding/json"
	"net/http"
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
	e := webhook.Event{ID: in.ID, Type: in.Type, Tenant: c.p.Tenant, Data: in.Data, Metadata: in.Metadata}
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
