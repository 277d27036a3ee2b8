package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/hooksmith/webhook"
)

// deliveryOut is a delivery in an answer. Attempts is filled in by
// GET /deliveries/{id} and the retry answer, not by lists.
type deliveryOut struct {
	ID             string       `json:"id"`
	EventID        string       `json:"eventId"`
	EventType      string       `json:"eventType"`
	SubscriptionID string       `json:"subscriptionId"`
	Tenant         string       `json:"tenant"`
	State          string       `json:"state"`
	AttemptCount   int          `json:"attemptCount"`
	NextAttemptAt  *time.Time   `json:"nextAttemptAt,omitempty"`
	LastError      string       `json:"lastError,omitempty"`
	CreatedAt      time.Time    `json:"createdAt"`
	UpdatedAt      time.Time    `json:"updatedAt"`
	Attempts       []attemptOut `json:"attempts,omitempty"`
}

// attemptOut is one attempt of a delivery.
type attemptOut struct {
	Number        int       `json:"number"`
	StartedAt     time.Time `json:"startedAt"`
	DurationMs    int64     `json:"durationMs"`
	StatusCode    int       `json:"statusCode,omitempty"`
	Error         string    `json:"error,omitempty"`
	ResponseBody  string    `json:"responseBody,omitempty"`
	MissingValues []string  `json:"missingValues,omitempty"`
	Note          string    `json:"note,omitempty"`
}

// deliveryJSON returns d as answered; withAttempts adds its attempt log
// (always present then, empty or not).
func deliveryJSON(d webhook.Delivery, withAttempts bool) deliveryOut {
	out := deliveryOut{
		ID:             d.ID,
		EventID:        d.EventID,
		EventType:      d.EventType,
		SubscriptionID: d.SubscriptionID,
		Tenant:         d.Tenant,
		State:          string(d.State),
		AttemptCount:   d.AttemptCount,
		LastError:      d.LastError,
		CreatedAt:      d.CreatedAt,
		UpdatedAt:      d.UpdatedAt,
	}
	if d.State == webhook.DeliveryPending && !d.NextAttemptAt.IsZero() {
		t := d.NextAttemptAt
		out.NextAttemptAt = &t
	}
	if withAttempts {
		out.Attempts = make([]attemptOut, len(d.Attempts))
		for i, at := range d.Attempts {
			out.Attempts[i] = attemptOut{
				Number:        at.Number,
				StartedAt:     at.StartedAt,
				DurationMs:    at.Duration.Milliseconds(),
				StatusCode:    at.StatusCode,
				Error:         at.Error,
				ResponseBody:  at.ResponseBody,
				MissingValues: at.MissingValues,
				Note:          at.Note,
			}
		}
	}
	return out
}

// delivery returns the delivery with the given ID if the caller may see
// it: another tenant's is answered 404 like a missing one; a user may see
// only the deliveries of its subscriptions (403).
func (a *api) delivery(c *call, id string) (webhook.Delivery, error) {
	d, err := a.d.DeliveryGet(c.ctx(), id)
	if errors.Is(err, webhook.ErrNotFound) || err == nil && d.Tenant != c.p.Tenant {
		return webhook.Delivery{}, notFound("delivery", id)
	}
	if err != nil {
		return webhook.Delivery{}, err
	}
	if !c.p.may(d.SubscriptionID) {
		return webhook.Delivery{}, forbidden(d.SubscriptionID)
	}
	return d, nil
}

// deliveryStates are the values of the state filter.
var deliveryStates = []webhook.DeliveryState{
	webhook.DeliveryPending, webhook.DeliverySucceeded, webhook.DeliveryFailed,
	webhook.DeliveryCanceled, webhook.DeliverySkipped,
}

// subscriptionDeliveries serves GET /subscriptions/{id}/deliveries. The
// deliveries of a deleted subscription stay listed, as long as there are
// any.
func (a *api) subscriptionDeliveries(c *call) (int, any, error) {
	id := c.r.PathValue("id")
	_, err := a.subscription(c, id)
	var ae *apiError
	gone := errors.As(err, &ae) && ae.status == http.StatusNotFound && c.p.may(id)
	if err != nil && !gone {
		return 0, nil, err
	}
	q := c.r.URL.Query()
	limit, err := queryInt(c, "limit", LimitDefault, 1, LimitMax)
	if err != nil {
		return 0, nil, err
	}
	state := webhook.DeliveryState(q.Get("state"))
	if state != "" && !slices.Contains(stateNames(), string(state)) {
		return 0, nil, badRequest("state", fmt.Sprintf("must be one of %v, got %q", stateNames(), truncate(string(state), 32)))
	}
	since, err := queryTime(c, "since")
	if err != nil {
		return 0, nil, err
	}
	until, err := queryTime(c, "until")
	if err != nil {
		return 0, nil, err
	}
	if !since.IsZero() && !until.IsZero() && !since.Before(until) {
		return 0, nil, badRequest("until", "must be after since; give a time range from since (inclusive) to until (exclusive)")
	}
	ds, err := a.d.DeliveryList(c.ctx(), webhook.DeliveryListParams{
		SubscriptionID: id,
		Tenant:         c.p.Tenant,
		EventID:        q.Get("eventId"),
		State:          state,
		Since:          since,
		Until:          until,
		After:          q.Get("cursor"),
		Limit:          limit + 1,
	})
	if err != nil {
		return 0, nil, err
	}
	if gone && len(ds) == 0 {
		// Without the subscription, only deliveries of it in the caller's
		// tenant show that it was the caller's.
		some, err := a.d.DeliveryList(c.ctx(), webhook.DeliveryListParams{SubscriptionID: id, Tenant: c.p.Tenant, Limit: 1})
		if err != nil {
			return 0, nil, err
		}
		if len(some) == 0 {
			return 0, nil, notFound("subscription", id)
		}
	}
	out := page[deliveryOut]{Data: make([]deliveryOut, 0, min(len(ds), limit))}
	for i, d := range ds {
		if i == limit {
			out.NextCursor = ds[limit-1].ID
			break
		}
		out.Data = append(out.Data, deliveryJSON(d, false))
	}
	return http.StatusOK, out, nil
}

func stateNames() []string {
	names := make([]string, len(deliveryStates))
	for i, s := range deliveryStates {
		names[i] = string(s)
	}
	return names
}

// deliveryGet serves GET /deliveries/{id}.
func (a *api) deliveryGet(c *call) (int, any, error) {
	d, err := a.delivery(c, c.r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, deliveryJSON(d, true), nil
}

// deliveryRetry serves POST /deliveries/{id}/retry.
func (a *api) deliveryRetry(c *call) (int, any, error) {
	id := c.r.PathValue("id")
	if _, err := a.delivery(c, id); err != nil {
		return 0, nil, err
	}
	d, err := a.d.DeliveryRetry(c.ctx(), id)
	if errors.Is(err, webhook.ErrNotFound) {
		return 0, nil, notFound("delivery", id)
	}
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, deliveryJSON(d, true), nil
}
