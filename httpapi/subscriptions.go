package httpapi

import (
	"cmp"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/hooksmith/webhook"
)

// subscriptionIn is the body of POST /subscriptions and
// PUT /subscriptions/{id}, and what a PATCH results in.
//
// The read-only fields of subscriptionOut are accepted too, so that a GET
// answer can be edited and sent back: id and tenant must then be the
// subscription's own, the others are ignored.
type subscriptionIn struct {
	Name            string            `json:"name"`
	Description     string            `json:"description"`
	Mode            string            `json:"mode"`
	URL             string            `json:"url"`
	Method          string            `json:"method"`
	EventTypes      []string          `json:"eventTypes"`
	Secret          string            `json:"secret"`
	Headers         map[string]string `json:"headers"`
	ContentType     string            `json:"contentType"`
	Template        string            `json:"template"`
	Auth            *webhook.Auth     `json:"auth"`
	Transform       string            `json:"transform"`
	SignatureScheme string            `json:"signatureScheme"`
	Disabled        bool              `json:"disabled"`
	Metadata        map[string]string `json:"metadata"`

	// Read-only.
	ID                      string          `json:"id"`
	Tenant                  *string         `json:"tenant"`
	PublicKey               json.RawMessage `json:"publicKey"`
	PreviousSecretExpiresAt json.RawMessage `json:"previousSecretExpiresAt"`
	CreatedAt               json.RawMessage `json:"createdAt"`
	UpdatedAt               json.RawMessage `json:"updatedAt"`
}

// subscription returns the webhook.Subscription in s for tenant.
func (s *subscriptionIn) subscription(tenant string) webhook.Subscription {
	return webhook.Subscription{
		Tenant:          tenant,
		Name:            s.Name,
		Description:     s.Description,
		Mode:            webhook.Mode(s.Mode),
		URL:             s.URL,
		Method:          s.Method,
		EventTypes:      s.EventTypes,
		Secret:          s.Secret,
		Headers:         s.Headers,
		ContentType:     s.ContentType,
		Template:        s.Template,
		Auth:            s.Auth,
		Transform:       s.Transform,
		SignatureScheme: s.SignatureScheme,
		Disabled:        s.Disabled,
		Metadata:        s.Metadata,
	}
}

// checkReadOnly reports read-only fields that do not fit: an id other than
// id (any id when creating, id == ""), a tenant other than the caller's,
// and a secret outside creation.
func (s *subscriptionIn) checkReadOnly(id, tenant string) []fieldError {
	var fields []fieldError
	switch {
	case id == "" && s.ID != "":
		fields = append(fields, fieldError{Field: "id", Message: "is assigned by the server: omit it"})
	case id != "" && s.ID != "" && s.ID != id:
		fields = append(fields, fieldError{Field: "id", Message: "must be the subscription's own ID " + id + " (the one in the path), or omitted"})
	}
	if s.Tenant != nil && *s.Tenant != tenant {
		fields = append(fields, fieldError{Field: "tenant", Message: "must be your own tenant " + quote(tenant) + ", or omitted: a subscription belongs to the tenant of the caller that creates it"})
	}
	if id != "" && s.Secret != "" {
		fields = append(fields, fieldError{Field: "secret", Message: "cannot be set here: use POST /subscriptions/{id}/rotate-secret, which keeps the old secret signing for an overlap"})
	}
	return fields
}

// subscriptionOut is a subscription in an answer. Secret is present only
// in the answers of POST /subscriptions and rotate-secret.
type subscriptionOut struct {
	ID                      string            `json:"id"`
	Tenant                  string            `json:"tenant"`
	Name                    string            `json:"name,omitempty"`
	Description             string            `json:"description,omitempty"`
	Mode                    string            `json:"mode"`
	URL                     string            `json:"url,omitempty"`
	Method                  string            `json:"method,omitempty"`
	EventTypes              []string          `json:"eventTypes"`
	Secret                  string            `json:"secret,omitempty"`
	Headers                 map[string]string `json:"headers,omitempty"`
	ContentType             string            `json:"contentType,omitempty"`
	Template                string            `json:"template,omitempty"`
	Auth                    *webhook.Auth     `json:"auth,omitempty"`
	Transform               string            `json:"transform,omitempty"`
	SignatureScheme         string            `json:"signatureScheme"`
	PublicKey               string            `json:"publicKey,omitempty"`
	PreviousSecretExpiresAt *time.Time        `json:"previousSecretExpiresAt,omitempty"`
	Disabled                bool              `json:"disabled"`
	Metadata                map[string]string `json:"metadata,omitempty"`
	CreatedAt               time.Time         `json:"createdAt"`
	UpdatedAt               time.Time         `json:"updatedAt"`
}

// subscriptionJSON returns s as answered. s comes from the Dispatcher,
// which has redacted it unless it is the answer of a create or a rotation.
func subscriptionJSON(s webhook.Subscription) subscriptionOut {
	out := subscriptionOut{
		ID:              s.ID,
		Tenant:          s.Tenant,
		Name:            s.Name,
		Description:     s.Description,
		Mode:            cmp.Or(string(s.Mode), string(webhook.ModePush)),
		URL:             s.URL,
		Method:          s.Method,
		EventTypes:      s.EventTypes,
		Secret:          s.Secret,
		Headers:         s.Headers,
		ContentType:     s.ContentType,
		Template:        s.Template,
		Auth:            s.Auth,
		Transform:       s.Transform,
		SignatureScheme: s.SignatureScheme,
		PublicKey:       s.PublicKey,
		Disabled:        s.Disabled,
		Metadata:        s.Metadata,
		CreatedAt:       s.CreatedAt,
		UpdatedAt:       s.UpdatedAt,
	}
	if out.EventTypes == nil {
		out.EventTypes = []string{}
	}
	if !s.PreviousSecretExpiresAt.IsZero() {
		t := s.PreviousSecretExpiresAt
		out.PreviousSecretExpiresAt = &t
	}
	return out
}

// subscriptionInFrom returns the editable fields of s, as a PATCH starts
// from.
func subscriptionInFrom(s webhook.Subscription) subscriptionIn {
	return subscriptionIn{
		Name:            s.Name,
		Description:     s.Description,
		Mode:            string(s.Mode),
		URL:             s.URL,
		Method:          s.Method,
		EventTypes:      s.EventTypes,
		Headers:         s.Headers,
		ContentType:     s.ContentType,
		Template:        s.Template,
		Auth:            s.Auth,
		Transform:       s.Transform,
		SignatureScheme: s.SignatureScheme,
		Disabled:        s.Disabled,
		Metadata:        s.Metadata,
	}
}

// subscription returns the subscription with the given ID if the caller
// may manage it: another tenant's is answered 404 like a missing one, a
// user's access to one not listed for it 403.
func (a *api) subscription(c *call, id string) (webhook.Subscription, error) {
	s, err := a.d.SubscriptionGet(c.ctx(), id)
	if errors.Is(err, webhook.ErrNotFound) || err == nil && s.Tenant != c.p.Tenant {
		return webhook.Subscription{}, notFound("subscription", id)
	}
	if err != nil {
		return webhook.Subscription{}, err
	}
	if !c.p.may(id) {
		return webhook.Subscription{}, forbidden(id)
	}
	return s, nil
}

// subscriptionCreate serves POST /subscriptions.
func (a *api) subscriptionCreate(c *call) (int, any, error) {
	b, err := a.readBody(c, false, mediaJSON)
	if err != nil {
		return 0, nil, err
	}
	var in subscriptionIn
	if err := decodeStrict(b, &in); err != nil {
		return 0, nil, err
	}
	if fields := in.checkReadOnly("", c.p.Tenant); len(fields) > 0 {
		return 0, nil, invalid("subscription", fields...)
	}
	s, err := a.d.SubscriptionCreate(c.ctx(), in.subscription(c.p.Tenant))
	if err != nil {
		return 0, nil, err
	}
	c.w.Header().Set("Location", "subscriptions/"+s.ID)
	return http.StatusCreated, subscriptionJSON(s), nil
}

// subscriptionList serves GET /subscriptions.
func (a *api) subscriptionList(c *call) (int, any, error) {
	q := c.r.URL.Query()
	limit, err := queryInt(c, "limit", LimitDefault, 1, LimitMax)
	if err != nil {
		return 0, nil, err
	}
	disabled, err := queryBool(c, "disabled")
	if err != nil {
		return 0, nil, err
	}
	p := webhook.SubscriptionListParams{
		Tenant:    c.p.Tenant,
		EventType: q.Get("eventType"),
		Disabled:  disabled,
		After:     q.Get("cursor"),
		Limit:     limit + 1,
	}
	var subs []webhook.Subscription
	if c.p.Role == RoleAdmin {
		subs, err = a.d.SubscriptionList(c.ctx(), p)
		if err != nil {
			return 0, nil, err
		}
	} else {
		subs, err = a.userSubscriptions(c, p)
		if err != nil {
			return 0, nil, err
		}
	}
	out := page[subscriptionOut]{Data: make([]subscriptionOut, 0, min(len(subs), limit))}
	for i, s := range subs {
		if i == limit {
			out.NextCursor = subs[limit-1].ID
			break
		}
		out.Data = append(out.Data, subscriptionJSON(s))
	}
	return http.StatusOK, out, nil
}

// userSubscriptions lists the subscriptions of a RoleUser that pass p, in
// ID order: those listed for it, of its tenant, that still exist.
func (a *api) userSubscriptions(c *call, p webhook.SubscriptionListParams) ([]webhook.Subscription, error) {
	ids := slices.Clone(c.p.Subscriptions)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var subs []webhook.Subscription
	for _, id := range ids {
		if id <= p.After {
			continue
		}
		s, err := a.d.SubscriptionGet(c.ctx(), id)
		if errors.Is(err, webhook.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if !p.Keep(&s) {
			continue
		}
		subs = append(subs, s)
		if len(subs) == p.Limit {
			break
		}
	}
	return subs, nil
}

// subscriptionGet serves GET /subscriptions/{id}.
func (a *api) subscriptionGet(c *call) (int, any, error) {
	s, err := a.subscription(c, c.r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, subscriptionJSON(s), nil
}

// subscriptionPut serves PUT /subscriptions/{id}: the body replaces the
// subscription; omitted fields take their defaults.
func (a *api) subscriptionPut(c *call) (int, any, error) {
	id := c.r.PathValue("id")
	if _, err := a.subscription(c, id); err != nil {
		return 0, nil, err
	}
	b, err := a.readBody(c, false, mediaJSON)
	if err != nil {
		return 0, nil, err
	}
	var in subscriptionIn
	if err := decodeStrict(b, &in); err != nil {
		return 0, nil, err
	}
	return a.replace(c, id, &in)
}

// subscriptionPatch serves PATCH /subscriptions/{id}: the body is a JSON
// merge patch (RFC 7396) of the subscription as GET answers it.
func (a *api) subscriptionPatch(c *call) (int, any, error) {
	id := c.r.PathValue("id")
	cur, err := a.subscription(c, id)
	if err != nil {
		return 0, nil, err
	}
	b, err := a.readBody(c, false, mediaMergePatch, mediaJSON)
	if err != nil {
		return 0, nil, err
	}
	patch, err := decodeObject(b)
	if err != nil {
		return 0, nil, err
	}
	curJSON, err := json.Marshal(subscriptionInFrom(cur))
	if err != nil {
		return 0, nil, err
	}
	var target map[string]any
	if err := json.Unmarshal(curJSON, &target); err != nil {
		return 0, nil, err
	}
	merged, err := json.Marshal(mergePatch(target, patch))
	if err != nil {
		return 0, nil, err
	}
	var in subscriptionIn
	if err := decodeStrict(merged, &in); err != nil {
		return 0, nil, err
	}
	return a.replace(c, id, &in)
}

// replace updates subscription id with in.
func (a *api) replace(c *call, id string, in *subscriptionIn) (int, any, error) {
	if fields := in.checkReadOnly(id, c.p.Tenant); len(fields) > 0 {
		return 0, nil, invalid("subscription", fields...)
	}
	s := in.subscription(c.p.Tenant)
	s.ID = id
	out, err := a.d.SubscriptionUpdate(c.ctx(), s)
	if errors.Is(err, webhook.ErrNotFound) {
		return 0, nil, notFound("subscription", id) // deleted meanwhile.
	}
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, subscriptionJSON(out), nil
}

// subscriptionDelete serves DELETE /subscriptions/{id}.
func (a *api) subscriptionDelete(c *call) (int, any, error) {
	id := c.r.PathValue("id")
	if _, err := a.subscription(c, id); err != nil {
		return 0, nil, err
	}
	err := a.d.SubscriptionDelete(c.ctx(), id)
	if errors.Is(err, webhook.ErrNotFound) {
		return 0, nil, notFound("subscription", id)
	}
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// rotateIn is the optional body of POST /subscriptions/{id}/rotate-secret.
type rotateIn struct {
	// Secret is the new secret; empty generates one.
	Secret string `json:"secret"`
}

// subscriptionRotateSecret serves POST /subscriptions/{id}/rotate-secret.
func (a *api) subscriptionRotateSecret(c *call) (int, any, error) {
	id := c.r.PathValue("id")
	if _, err := a.subscription(c, id); err != nil {
		return 0, nil, err
	}
	b, err := a.readBody(c, true, mediaJSON)
	if err != nil {
		return 0, nil, err
	}
	var in rotateIn
	if b != nil {
		if err := decodeStrict(b, &in); err != nil {
			return 0, nil, err
		}
	}
	s, err := a.d.SubscriptionRotateSecret(c.ctx(), id, in.Secret)
	if errors.Is(err, webhook.ErrNotFound) {
		return 0, nil, notFound("subscription", id)
	}
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, subscriptionJSON(s), nil
}

// subscriptionEnable serves POST /subscriptions/{id}/enable.
func (a *api) subscriptionEnable(c *call) (int, any, error) { return a.setDisabled(c, false) }

// subscriptionDisable serves POST /subscriptions/{id}/disable.
func (a *api) subscriptionDisable(c *call) (int, any, error) { return a.setDisabled(c, true) }

func (a *api) setDisabled(c *call, disabled bool) (int, any, error) {
	id := c.r.PathValue("id")
	s, err := a.subscription(c, id)
	if err != nil {
		return 0, nil, err
	}
	if s.Disabled == disabled {
		return http.StatusOK, subscriptionJSON(s), nil
	}
	// The Dispatcher keeps the secret and the redacted credentials of what
	// SubscriptionGet returned.
	s.Disabled = disabled
	out, err := a.d.SubscriptionUpdate(c.ctx(), s)
	if errors.Is(err, webhook.ErrNotFound) {
		return 0, nil, notFound("subscription", id)
	}
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, subscriptionJSON(out), nil
}

// quote returns s in double quotes.
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
