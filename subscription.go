package webhook

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
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
	// Mode is how events reach the subscription: ModePush (the default
	// when empty), sent to URL by the delivery loop, or ModePull, read by
	// the consumer with Dispatcher.Poll. A pull subscription has no URL,
	// Method, ContentType, Template, Auth, Transform or Headers. It cannot
	// be changed after creation.
	Mode Mode `json:"mode"`
	// URL is the absolute http or https URL that receives the events.
	URL string `json:"url"`
	// Method is POST (the default when empty), PUT or DELETE.
	Method string `json:"method"`
	// EventTypes lists the event types to receive, exactly or as patterns
	// in which "*" stands for any run of characters ("account.*",
	// "*.created", "*"). At least one is required.
	EventTypes []string `json:"eventTypes"`
	// Secret is the Standard Webhooks signing secret: "whsec_" + base64 for
	// scheme v1, or a "whsk_" ed25519 private key for v1a.
	// SubscriptionCreate generates one when empty and returns it, as does
	// SubscriptionRotateSecret; Get, List and Update return it empty. Pull
	// subscriptions are never signed and get none.
	Secret string `json:"secret,omitempty"`
	// Headers are static request headers sent with every delivery. They
	// are returned as given by Get and List: put credentials in Auth,
	// which is redacted (Authorization and Cookie are refused here). The
	// headers the Dispatcher sets itself (webhook-*, content-length, host,
	// ...) cannot be given here.
	Headers map[string]string `json:"headers,omitempty"`
	// ContentType is the body's media type: "application/json" (the
	// default when empty), "text/plain" or
	// "application/x-www-form-urlencoded". It is sent as content-type and
	// decides how Template escapes values.
	ContentType string `json:"contentType,omitempty"`
	// Template, when set, is the request body instead of the default
	// {"id","type","timestamp","data"} envelope: "{{Body.a.b}}" tags insert
	// the event's data, "{{Header.id}}", "{{Header.type}}",
	// "{{Header.timestamp}}", "{{Header.tenant}}" and "{{Header.<metadata
	// key>}}" its header fields, escaped for ContentType. URL may hold tags
	// too. See "Payload templates" in the package documentation.
	Template string `json:"template,omitempty"`
	// Auth adds credentials to every request: a bearer token, basic auth,
	// and/or custom authentication headers. Values may be references
	// resolved at send time by Config.Secrets.
	Auth *Auth `json:"auth,omitempty"`
	// Transform names a function registered in Config.Transforms that may
	// rewrite each request (method, URL, headers, body) or skip it.
	Transform string `json:"transform,omitempty"`
	// SignatureScheme is "v1" (the default when empty: HMAC-SHA256 with the
	// shared Secret) or "v1a" (ed25519: the Dispatcher signs with a private
	// key kept in Secret, receivers verify with PublicKey).
	SignatureScheme string `json:"signatureScheme,omitempty"`
	// PublicKey is the "whpk_" ed25519 public key receivers verify "v1a"
	// signatures with. Derived from Secret; always returned.
	PublicKey string `json:"publicKey,omitempty"`
	// PreviousSecret is the secret replaced by SubscriptionRotateSecret.
	// Until PreviousSecretExpiresAt, deliveries carry a signature with
	// each, so receivers can switch at their own pace. Never returned.
	PreviousSecret          string    `json:"previousSecret,omitempty"`
	PreviousSecretExpiresAt time.Time `json:"previousSecretExpiresAt,omitzero"`
	// Disabled subscriptions receive nothing; deliveries that come due
	// while disabled are cancelled.
	Disabled bool `json:"disabled"`
	// Metadata is free-form data for the host, not sent to the receiver.
	Metadata map[string]string `json:"metadata,omitempty"`
	// CreatedAt and UpdatedAt are set by the Dispatcher.
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Mode is how a subscription receives its events.
type Mode string

// The modes of a subscription.
const (
	// ModePush: the Dispatcher sends each event to the subscription's URL,
	// signed, with retries. The default.
	ModePush Mode = "push"
	// ModePull: Publish appends each event to the subscription's ordered
	// feed, and the consumer reads it with Dispatcher.Poll and acknowledges
	// with CommitCursor. For consumers that cannot receive HTTP calls.
	ModePull Mode = "pull"
)

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
	// Iterative glob: on a mismatch, let the last "*" take one more byte.
	// At worst O(len(pattern)*len(eventType)), never exponential, since
	// Publish runs it for every subscription of a tenant.
	p, t := 0, 0
	star, starT := -1, 0
	for t < len(eventType) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, starT = p, t
			p++
		case p < len(pattern) && pattern[p] == eventType[t]:
			p++
			t++
		case star >= 0:
			starT++
			p, t = star+1, starT
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
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

// normalize fills defaults and checks s against the dispatcher's
// configuration c, returning a *ValidationError that names every bad field.
func (s *Subscription) normalize(c *Config) error {
	v := validator{what: "subscription"}
	switch s.Mode {
	case "":
		s.Mode = ModePush
	case ModePush, ModePull:
	default:
		v.add("Mode", fmt.Sprintf(`must be "push" (the default when empty) or "pull", got %q`, truncate(string(s.Mode), 32)))
	}
	pull := s.Mode == ModePull
	if pull {
		s.checkPull(&v)
	} else {
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
	s.checkSigning(&v)
	if len(s.Headers) > maxHeaders {
		v.add("Headers", fmt.Sprintf("must have at most %d entries, got %d", maxHeaders, len(s.Headers)))
	}
	seen := make(map[string]string, len(s.Headers))
	for _, name := range slices.Sorted(maps.Keys(s.Headers)) {
		field := fmt.Sprintf("Headers[%q]", truncate(name, 64))
		if msg := checkHeader(name, s.Headers[name]); msg != "" {
			v.add(field, msg)
			continue
		}
		canon := http.CanonicalHeaderKey(name)
		if other, dup := seen[canon]; dup {
			v.add(field, fmt.Sprintf("conflicts with Headers[%q] (header names are case-insensitive); keep one", other))
		}
		seen[canon] = name
		switch canon {
		case "Authorization", "Proxy-Authorization", "Cookie":
			v.add(field, "carries credentials, which static headers would show in every result: give it in Auth (Bearer, Basic or Auth.Headers), which is redacted")
		}
	}
	if n := mapSize(s.Metadata); n > maxMetadataLen {
		v.add("Metadata", fmt.Sprintf("must total at most %d bytes of keys and values, got %d", maxMetadataLen, n))
	}
	if s.Auth != nil {
		s.Auth.validate(&v, c.Secrets != nil, s.Headers)
	}
	if s.Transform != "" && c.Transforms[s.Transform] == nil {
		v.add("Transform", fmt.Sprintf("%q is not registered in Config.Transforms%s", truncate(s.Transform, 64), known(c.Transforms)))
	}
	if pull {
		return v.err() // nothing is sent: no request to compile.
	}
	if ct := compile(s, &v); ct != nil {
		s.ContentType = ct.contentType.String()
	}
	return v.err()
}

// checkPull reports the request settings that a pull subscription must not
// have: its events are read with Poll, never sent.
func (s *Subscription) checkPull(v *validator) {
	const msg = `must be empty for a pull subscription (Mode "pull"): its events are read with Poll, not sent`
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"URL", s.URL != ""},
		{"Method", s.Method != ""},
		{"ContentType", s.ContentType != ""},
		{"Template", s.Template != ""},
		{"Auth", s.Auth != nil},
		{"Transform", s.Transform != ""},
		{"Headers", len(s.Headers) > 0},
	} {
		if f.set {
			v.add(f.name, msg)
		}
	}
}

// known lists the registered transform names for an error message.
func known(m map[string]TransformFunc) string {
	if len(m) == 0 {
		return " (none are)"
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, strconv.Quote(k))
	}
	slices.Sort(names)
	return "; registered: " + strings.Join(names, ", ")
}

// checkSigning validates SignatureScheme and Secret together; an empty
// scheme is taken from the secret's prefix, or v1.
func (s *Subscription) checkSigning(v *validator) {
	if s.SignatureScheme == "" {
		s.SignatureScheme = SchemeHMAC
		if strings.HasPrefix(s.Secret, SigningKeyPrefix) {
			s.SignatureScheme = SchemeEd25519
		}
	}
	switch s.SignatureScheme {
	case SchemeHMAC:
		if s.Secret != "" {
			if _, err := DecodeSecret(s.Secret); err != nil {
				v.add("Secret", `must be "whsec_" followed by standard base64 of 24 to 64 bytes, or empty to generate one`)
			}
		}
	case SchemeEd25519:
		if s.Secret != "" {
			if _, err := DecodeSigningKey(s.Secret); err != nil {
				v.add("Secret", `must be a "whsk_" ed25519 signing key for scheme v1a, or empty to generate one`)
			}
		}
	default:
		v.add("SignatureScheme", fmt.Sprintf(`must be "v1" (HMAC, the default) or "v1a" (ed25519), got %q`, truncate(s.SignatureScheme, 16)))
	}
}

// newSecret returns a fresh secret for a signature scheme.
func newSecret(scheme string) (string, error) {
	if scheme == SchemeEd25519 {
		k, err := NewSigningKey()
		if err != nil {
			return "", fmt.Errorf("webhook: generating a signing key: %w", err)
		}
		return k.Secret(), nil
	}
	return NewSecret(), nil
}

// setPublicKey derives PublicKey from an ed25519 Secret (empty for v1).
func (s *Subscription) setPublicKey() {
	s.PublicKey = ""
	if k, err := DecodeSigningKey(s.Secret); err == nil && strings.HasPrefix(s.Secret, SigningKeyPrefix) {
		s.PublicKey = k.PublicKey()
	}
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
		// url.Error repeats the URL, which may carry a token.
		return "is not a valid URL: " + withoutURL(err).Error()
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Sprintf("must use http or https, got %q", truncate(redactURL(raw), 64))
	}
	if u.Host == "" || u.Hostname() == "" {
		return "must include a host, for example https://example.com/webhooks"
	}
	if nonASCII(u.Hostname()) {
		return fmt.Sprintf("host %q must be ASCII: give an international name in its punycode form (xn--…)", truncate(u.Hostname(), 64))
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
	if lower == "content-type" {
		return "is set from Subscription.ContentType; set that instead"
	}
	if reservedHeaders[lower] || strings.HasPrefix(lower, "webhook-") {
		return "is set by the dispatcher and cannot be overridden"
	}
	if p := valueProblem(value); p != "" {
		return "value " + p
	}
	return ""
}

// valueProblem says what makes v unfit for a header value, and how to
// fix it, or "".
func valueProblem(v string) string {
	i := badValueByte(v)
	if i < 0 {
		return ""
	}
	return fmt.Sprintf("must not contain control characters (it has %q)", v[i]) + lineBreakHint(v, i)
}

// lineBreakHint, for a value whose bad byte at i starts a line break that
// ends it, tells to trim it.
func lineBreakHint(v string, i int) string {
	if strings.Trim(v[i:], "\r\n") != "" {
		return ""
	}
	return "; trim the line break at its end (a value read from a file often has one)"
}

// badValueByte returns the index of the first byte that may not stand in
// a header value (a control character other than tab, or DEL), or -1.
func badValueByte(v string) int {
	for i := range len(v) {
		if b := v[i]; b < ' ' && b != '\t' || b == 0x7f {
			return i
		}
	}
	return -1
}

// nonASCII reports whether s has a byte outside ASCII.
func nonASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return true
		}
	}
	return false
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

// redacted returns a copy of s without secrets or credentials, for every
// result but SubscriptionCreate's and SubscriptionRotateSecret's: Secret
// and PreviousSecret are empty, literal credentials and URL query values
// read "redacted".
func redacted(s *Subscription) Subscription {
	c := *s.Clone()
	c.Secret, c.PreviousSecret = "", ""
	c.Auth = redactedAuth(s.Auth)
	if strings.Contains(c.URL, "?") {
		c.URL = redactURL(c.URL)
	}
	return c
}

// keepRedacted lets an update send back what Get returned: a URL equal to
// the redacted stored URL, and credentials that read "redacted", keep the
// stored values. A kept credential never follows the URL to another origin:
// then it must be given again, or v says so.
func keepRedacted(s, old *Subscription, v *validator) {
	if s.URL != old.URL && s.URL == redactURL(old.URL) {
		s.URL = old.URL
	}
	if s.Auth == nil || old.Auth == nil {
		return
	}
	moved := !sameOrigin(s.URL, old.URL)
	keep := func(field string, v2 *string, was string) {
		if *v2 != redactedValue {
			return
		}
		if moved {
			v.add(field, `reads "redacted" but the URL's scheme or host changed; give the credential again`)
			return
		}
		*v2 = was
	}
	if s.Auth.Bearer != nil && old.Auth.Bearer != nil {
		keep("Auth.Bearer.Token", &s.Auth.Bearer.Token, old.Auth.Bearer.Token)
	}
	if s.Auth.Basic != nil && old.Auth.Basic != nil {
		keep("Auth.Basic.Username", &s.Auth.Basic.Username, old.Auth.Basic.Username)
		keep("Auth.Basic.Password", &s.Auth.Basic.Password, old.Auth.Basic.Password)
	}
	for k := range s.Auth.Headers {
		if was, ok := old.Auth.Headers[k]; ok {
			val := s.Auth.Headers[k]
			keep(fmt.Sprintf("Auth.Headers[%q]", truncate(k, 64)), &val, was)
			s.Auth.Headers[k] = val
		}
	}
}

// sameOrigin reports whether two URLs have the same scheme and host.
func sameOrigin(a, b string) bool {
	ua, errA := url.Parse(a)
	ub, errB := url.Parse(b)
	return errA == nil && errB == nil && ua.Scheme == ub.Scheme && strings.EqualFold(ua.Host, ub.Host)
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
	if err := s.normalize(&d.cfg); err != nil || idErr != nil {
		return Subscription{}, joinValidation(idErr, err)
	}
	now := d.now()
	s.ID = d.ids.next("sub", now)
	if s.Secret == "" && s.Mode != ModePull { // pull feeds are read, not signed.
		secret, err := newSecret(s.SignatureScheme)
		if err != nil {
			return Subscription{}, err
		}
		s.Secret = secret
	}
	s.setPublicKey()
	s.PreviousSecret, s.PreviousSecretExpiresAt = "", time.Time{}
	s.CreatedAt, s.UpdatedAt = now, now
	if err := d.store.SubscriptionInsert(ctx, &s); err != nil {
		return Subscription{}, fmt.Errorf("webhook: store subscription: %w", err)
	}
	d.log.InfoContext(ctx, "subscription created", "subscription", s.ID, "tenant", s.Tenant, "url", redactURL(s.URL))
	out := redacted(&s)
	out.Secret = s.Secret
	return out, nil
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
	v := validator{what: "subscription"}
	if s.Tenant != "" && s.Tenant != old.Tenant {
		v.add("Tenant", "cannot be changed; create a subscription in the other tenant instead")
	}
	keepRedacted(&s, old, &v)
	if s.SignatureScheme != "" && s.SignatureScheme != cmp.Or(old.SignatureScheme, SchemeHMAC) && s.Secret == "" {
		v.add("SignatureScheme", "changing it needs a secret of the new scheme: call SubscriptionRotateSecret with one (for v1a, NewSigningKey().Secret())")
	}
	if s.Mode == "" {
		s.Mode = old.Mode // stored before modes existed: push
	}
	if s.Mode != old.Mode && (old.Mode != "" || s.Mode != ModePush) {
		v.add("Mode", fmt.Sprintf("cannot be changed (it is %q); create a subscription of the other mode instead", cmp.Or(old.Mode, ModePush)))
	}
	earlyErr := v.err()
	if s.Secret == "" {
		s.Secret = old.Secret
		if s.SignatureScheme == "" {
			s.SignatureScheme = old.SignatureScheme
		}
	}
	if err := s.normalize(&d.cfg); err != nil || earlyErr != nil {
		return Subscription{}, joinValidation(earlyErr, err)
	}
	s.setPublicKey()
	s.Tenant, s.CreatedAt, s.UpdatedAt = old.Tenant, old.CreatedAt, d.now()
	s.PreviousSecret, s.PreviousSecretExpiresAt = old.PreviousSecret, old.PreviousSecretExpiresAt
	if err := d.store.SubscriptionUpdate(ctx, &s); err != nil {
		return Subscription{}, err
	}
	d.notify() // a re-enabled subscription may have work.
	return redacted(&s), nil
}

// SubscriptionRotateSecret replaces a subscription's signing secret with
// secret, or a generated one of the subscription's scheme when empty.
// For Config.SecretOverlap (24 hours by default) deliveries are signed
// with both the new and the old secret, so receivers can switch at their
// own pace; afterwards with the new one only. Rotating again during an
// overlap ends the previous one. It returns the subscription with the new
// secret, the only result besides SubscriptionCreate's that carries it.
func (d *Dispatcher) SubscriptionRotateSecret(ctx context.Context, id, secret string) (Subscription, error) {
	s, err := d.store.SubscriptionGet(ctx, id)
	if err != nil {
		return Subscription{}, err
	}
	if s.Mode == ModePull {
		return Subscription{}, invalidField("secret rotation", "Mode", "a pull subscription is read with Poll and never signed: it has no secret to rotate")
	}
	if secret == "" {
		if secret, err = newSecret(s.SignatureScheme); err != nil {
			return Subscription{}, err
		}
	}
	next := *s.Clone()
	next.Secret, next.SignatureScheme = secret, ""
	v := validator{what: "secret rotation"}
	next.checkSigning(&v)
	if err := v.err(); err != nil {
		return Subscription{}, err
	}
	now := d.now()
	next.PreviousSecret, next.PreviousSecretExpiresAt = s.Secret, now.Add(d.cfg.SecretOverlap)
	next.setPublicKey()
	next.UpdatedAt = now
	if err := d.store.SubscriptionUpdate(ctx, &next); err != nil {
		return Subscription{}, err
	}
	d.log.InfoContext(ctx, "subscription secret rotated", "subscription", id, "overlap", d.cfg.SecretOverlap)
	out := redacted(&next)
	out.Secret = next.Secret
	return out, nil
}

// SubscriptionDelete deletes a subscription and cancels its pending
// deliveries; delivered and failed ones stay for inspection.
func (d *Dispatcher) SubscriptionDelete(ctx context.Context, id string) error {
	if err := d.store.SubscriptionDelete(ctx, id, d.now()); err != nil {
		return err
	}
	d.templates.m.Delete(id) // drop its decoded secrets and templates.
	d.polls.wake(id)         // a waiting Poll ends with ErrNotFound.
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
	c.Auth = s.Auth.clone()
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
