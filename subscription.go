package webhook

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Subscription is a consumer's registration: where to send events, which
// event types it wants and how to sign them.
type Subscription struct {
	// ID is assigned by SubscriptionCreate ("sub_" + 26 characters).
	ID string `json:"id"`
	// Tenant scopes the subscription: it receives only events published
	// with the same Tenant. Empty is a tenant like any other. It cannot be
	// changed after creation.
	Tenant string `json:"tenant,omitempty"`
	// Name and Description are free text for people, at most 256 and 2048
	// bytes.
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	// URL is the absolute http or https URL that receives the events.
	URL string `json:"url"`
	// Method is POST (the default when empty), PUT or DELETE.
	Method string `json:"method"`
	// EventTypes lists the event types to receive, exactly or as patterns
	// in which "*" stands for any run of characters ("account.*",
	// "*.created", "*"). At least one is required.
	EventTypes []string `json:"eventTypes"`
	// Secret is the Standard Webhooks signing secret ("whsec_" + base64).
	// SubscriptionCreate generates one when empty and returns it; Get, List
	// and Update return it empty.
	Secret string `json:"secret,omitempty"`
	// Headers are static request headers sent with every delivery. The
	// headers the Dispatcher sets itself (webhook-*, content-length, host,
	// ...) cannot be given here.
	Headers map[string]string `json:"headers,omitempty"`
	// Disabled subscriptions receive nothing; deliveries that come due
	// while disabled are cancelled.
	Disabled bool `json:"disabled"`
	// Metadata is free-form data for the host, not sent to the receiver.
	Metadata map[string]string `json:"metadata,omitempty"`
	// CreatedAt and UpdatedAt are set by the Dispatcher.
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Matches reports whether the subscription wants events of type eventType.
func (s *Subscription) Matches(eventType string) bool {
	for _, p := range s.EventTypes {
		if MatchEventType(p, eventType) {
			return true
		}
	}
	return false
}

// MatchEventType reports whether eventType matches pattern, in which each
// "*" stands for any run of characters, dots included: "*" matches every
// type, "account.*" matches "account.created" and "account.user.deleted".
// Without "*" the match is exact.
func MatchEventType(pattern, eventType string) bool {
	star := strings.IndexByte(pattern, '*')
	if star < 0 {
		return pattern == eventType
	}
	if !strings.HasPrefix(eventType, pattern[:star]) {
		return false
	}
	rest, text := pattern[star+1:], eventType[star:]
	// Greedy-free glob: try every split point for the remaining pattern.
	for i := 0; i <= len(text); i++ {
		if MatchEventType(rest, text[i:]) {
			return true
		}
	}
	return false
}

// Field limits, in bytes.
const (
	maxNameLen        = 256
	maxDescriptionLen = 2048
	maxURLLen         = 2048
	maxEventTypeLen   = 255
	maxEventTypes     = 100
	maxHeaders        = 50
	maxMetadataLen    = 4096
)

// reservedHeaders are set by the Dispatcher (or by net/http) and cannot be
// given in Subscription.Headers. Any header starting with "webhook-" is
// reserved too.
var reservedHeaders = map[string]bool{
	"content-length":    true,
	"host":              true,
	"transfer-encoding": true,
	"connection":        true,
	"content-type":      true,
}

// normalize fills defaults and checks s, returning a *ValidationError that
// names every bad field.
func (s *Subscription) normalize() error {
	v := validator{what: "subscription"}
	if s.Method == "" {
		s.Method = http.MethodPost
	}
	s.Method = strings.ToUpper(s.Method)
	switch s.Method {
	case http.MethodPost, http.MethodPut, http.MethodDelete:
	default:
		v.add("Method", fmt.Sprintf("must be POST, PUT or DELETE (empty means POST), got %q", truncate(s.Method, 32)))
	}
	if msg := checkURL(s.URL); msg != "" {
		v.add("URL", msg)
	}
	if len(s.Name) > maxNameLen {
		v.add("Name", fmt.Sprintf("must be at most %d bytes, got %d", maxNameLen, len(s.Name)))
	}
	if len(s.Description) > maxDescriptionLen {
		v.add("Description", fmt.Sprintf("must be at most %d bytes, got %d", maxDescriptionLen, len(s.Description)))
	}
	if len(s.Tenant) > maxNameLen {
		v.add("Tenant", fmt.Sprintf("must be at most %d bytes, got %d", maxNameLen, len(s.Tenant)))
	}
	switch {
	case len(s.EventTypes) == 0:
		v.add("EventTypes", `must list at least one event type or pattern, for example "order.created", "order.*" or "*"`)
	case len(s.EventTypes) > maxEventTypes:
		v.add("EventTypes", fmt.Sprintf("must list at most %d entries, got %d", maxEventTypes, len(s.EventTypes)))
	default:
		for i, p := range s.EventTypes {
			if msg := checkEventType(p, true); msg != "" {
				v.add(fmt.Sprintf("EventTypes[%d]", i), msg)
			}
		}
	}
	if s.Secret != "" {
		if _, err := DecodeSecret(s.Secret); err != nil {
			v.add("Secret", "must be \"whsec_\" followed by standard base64 of 24 to 64 bytes, or empty to generate one")
		}
	}
	if len(s.Headers) > maxHeaders {
		v.add("Headers", fmt.Sprintf("must have at most %d entries, got %d", maxHeaders, len(s.Headers)))
	}
	for name, value := range s.Headers {
		if msg := checkHeader(name, value); msg != "" {
			v.add(fmt.Sprintf("Headers[%q]", truncate(name, 64)), msg)
		}
	}
	if n := mapSize(s.Metadata); n > maxMetadataLen {
		v.add("Metadata", fmt.Sprintf("must total at most %d bytes of keys and values, got %d", maxMetadataLen, n))
	}
	return v.err()
}

// checkURL returns what is wrong with a subscription URL, or "".
func checkURL(raw string) string {
	if raw == "" {
		return "required: the absolute http or https URL that receives the events"
	}
	if len(raw) > maxURLLen {
		return fmt.Sprintf("must be at most %d bytes, got %d", maxURLLen, len(raw))
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Sprintf("is not a valid URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Sprintf("must use http or https, got %q", truncate(redactURL(raw), 64))
	}
	if u.Host == "" || u.Hostname() == "" {
		return "must include a host, for example https://example.com/webhooks"
	}
	if u.User != nil {
		return "must not carry credentials (user:password@); give them as request headers instead"
	}
	return ""
}

// checkEventType returns what is wrong with an event type (or, when
// pattern is true, an event type pattern), or "".
func checkEventType(t string, pattern bool) string {
	if t == "" {
		return "must not be empty"
	}
	if len(t) > maxEventTypeLen {
		return fmt.Sprintf("must be at most %d bytes, got %d", maxEventTypeLen, len(t))
	}
	for _, r := range t {
		switch {
		case r == '*' && pattern:
		case r == '*':
			return `must not contain "*", which is reserved for subscription patterns`
		case r <= ' ' || r == 0x7f:
			return fmt.Sprintf("must not contain spaces or control characters, got %q", truncate(t, 64))
		}
	}
	return ""
}

// checkHeader returns what is wrong with a static request header, or "".
func checkHeader(name, value string) string {
	if !validHeaderName(name) {
		return "is not a valid HTTP header name (letters, digits and !#$%&'*+-.^_`|~ only)"
	}
	lower := strings.ToLower(name)
	if reservedHeaders[lower] || strings.HasPrefix(lower, "webhook-") {
		return "is set by the dispatcher and cannot be overridden"
	}
	if strings.ContainsAny(value, "\r\n\x00") {
		return "value must not contain CR, LF or NUL"
	}
	return ""
}

// validHeaderName reports whether name is an RFC 9110 token.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func mapSize(m map[string]string) int {
	n := 0
	for k, v := range m {
		n += len(k) + len(v)
	}
	return n
}

// redactURL hides credentials in a URL for logs and errors: user info and
// query values are replaced by "redacted".
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparseable URL>"
	}
	if u.User != nil {
		u.User = url.User("redacted")
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			q[k] = []string{"redacted"}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// redacted returns a copy of s without its secret, for results other than
// SubscriptionCreate's.
func redacted(s *Subscription) Subscription {
	c := *s
	c.Secret = ""
	return c
}

// SubscriptionCreate validates s, fills its defaults (ID, Method, Secret,
// CreatedAt, UpdatedAt) and stores it. It returns the stored subscription,
// including its signing secret: the only result that carries it. s.ID must
// be empty. A validation failure is a *ValidationError matching ErrInvalid.
func (d *Dispatcher) SubscriptionCreate(ctx context.Context, s Subscription) (Subscription, error) {
	s = *s.Clone()
	var idErr error
	if s.ID != "" {
		idErr = &ValidationError{What: "subscription", Fields: []FieldError{{Field: "ID", Message: "must be empty: IDs are assigned by SubscriptionCreate"}}}
	}
	if err := s.normalize(); err != nil || idErr != nil {
		return Subscription{}, joinValidation(idErr, err)
	}
	now := d.now()
	s.ID = newID("sub", now)
	if s.Secret == "" {
		s.Secret = NewSecret()
	}
	s.CreatedAt, s.UpdatedAt = now, now
	if err := d.store.SubscriptionInsert(ctx, &s); err != nil {
		return Subscription{}, fmt.Errorf("webhook: store subscription: %w", err)
	}
	d.log.InfoContext(ctx, "subscription created", "subscription", s.ID, "tenant", s.Tenant, "url", redactURL(s.URL))
	return s, nil
}

// SubscriptionGet returns the subscription with the given ID, without its
// secret. A missing one is an error wrapping ErrNotFound.
func (d *Dispatcher) SubscriptionGet(ctx context.Context, id string) (Subscription, error) {
	s, err := d.store.SubscriptionGet(ctx, id)
	if err != nil {
		return Subscription{}, err
	}
	return redacted(s), nil
}

// SubscriptionList returns the subscriptions that pass the filters of p, in
// ID order, without their secrets. To page, pass the last ID of a page as
// p.After for the next one.
func (d *Dispatcher) SubscriptionList(ctx context.Context, p SubscriptionListParams) ([]Subscription, error) {
	subs, err := d.store.SubscriptionList(ctx, p)
	if err != nil {
		return nil, err
	}
	out := make([]Subscription, len(subs))
	for i, s := range subs {
		out[i] = redacted(s)
	}
	return out, nil
}

// SubscriptionUpdate replaces the subscription with ID s.ID by s, validated
// as by SubscriptionCreate. Tenant and CreatedAt are kept (a different
// non-empty Tenant is an error); an empty Secret keeps the current secret,
// a non-empty one replaces it at once. Deliveries already pending are sent
// with the updated subscription. The result carries no secret.
func (d *Dispatcher) SubscriptionUpdate(ctx context.Context, s Subscription) (Subscription, error) {
	old, err := d.store.SubscriptionGet(ctx, s.ID)
	if err != nil {
		return Subscription{}, err
	}
	s = *s.Clone()
	var tenantErr error
	if s.Tenant != "" && s.Tenant != old.Tenant {
		tenantErr = &ValidationError{What: "subscription", Fields: []FieldError{{Field: "Tenant", Message: "cannot be changed; create a subscription in the other tenant instead"}}}
	}
	if err := s.normalize(); err != nil || tenantErr != nil {
		return Subscription{}, joinValidation(tenantErr, err)
	}
	s.Tenant, s.CreatedAt, s.UpdatedAt = old.Tenant, old.CreatedAt, d.now()
	if s.Secret == "" {
		s.Secret = old.Secret
	}
	if err := d.store.SubscriptionUpdate(ctx, &s); err != nil {
		return Subscription{}, err
	}
	d.notify() // a re-enabled subscription may have work.
	return redacted(&s), nil
}

// SubscriptionDelete deletes a subscription and cancels its pending
// deliveries; delivered and failed ones stay for inspection.
func (d *Dispatcher) SubscriptionDelete(ctx context.Context, id string) error {
	if err := d.store.SubscriptionDelete(ctx, id, d.now()); err != nil {
		return err
	}
	d.log.InfoContext(ctx, "subscription deleted", "subscription", id)
	return nil
}

// joinValidation merges validation errors into one, or returns nil.
func joinValidation(errs ...error) error {
	var out *ValidationError
	for _, err := range errs {
		ve, ok := err.(*ValidationError)
		if !ok || ve == nil {
			continue
		}
		if out == nil {
			out = &ValidationError{What: ve.What}
		}
		out.Fields = append(out.Fields, ve.Fields...)
	}
	if out == nil {
		return nil
	}
	return out
}

// Clone returns a deep copy of s: no map or slice is shared. Stores use it
// to keep what they hold apart from what callers hold.
func (s *Subscription) Clone() *Subscription {
	c := *s
	if s.EventTypes != nil {
		c.EventTypes = append([]string(nil), s.EventTypes...)
	}
	c.Headers = cloneMap(s.Headers)
	c.Metadata = cloneMap(s.Metadata)
	return &c
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
