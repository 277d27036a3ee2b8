package webhook

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
)

// Auth is the credentials a subscription's requests carry. Bearer and
// Basic both use the Authorization header, so at most one may be set;
// Headers may be combined with either.
//
// Every value (token, username, password, header value) is either a
// literal or a reference such as "env://JIRA_TOKEN" or
// "config://personal/jira/api-token": any value that starts with a URL
// scheme ("name://") is a reference, resolved by Config.Secrets each time
// a request is sent, so rotating a credential in the host's secret store
// needs no update here. A reference that cannot be resolved fails the
// attempt, which is retried; a request is never sent without its
// credentials.
//
// Credentials are never logged and never returned by SubscriptionGet,
// SubscriptionList or SubscriptionUpdate: literals come back as
// "redacted", references as they were given (they are names, not secrets).
type Auth struct {
	// Bearer sends "Authorization: <Scheme> <Token>".
	Bearer *BearerAuth `json:"bearer,omitempty"`
	// Basic sends HTTP basic authentication.
	Basic *BasicAuth `json:"basic,omitempty"`
	// Headers are custom authentication headers, name to value, for
	// example {"api-key": "1234"}.
	Headers map[string]string `json:"headers,omitempty"`
}

// BearerAuth is a token sent in the Authorization header.
type BearerAuth struct {
	// Token is required.
	Token string `json:"token"`
	// Scheme replaces "Bearer", for APIs that want "Token" or "JWT".
	Scheme string `json:"scheme,omitempty"`
}

// BasicAuth is HTTP basic authentication (RFC 7617).
type BasicAuth struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// redactedValue replaces credentials in results and logs.
const redactedValue = "redacted"

// SecretResolver turns a credential reference into its value at send time.
// Implementations must be safe for concurrent use and should be fast (they
// run before every request; cache if the backing store is slow).
type SecretResolver interface {
	Resolve(ctx context.Context, ref string) (string, error)
}

// EnvResolver resolves "env://NAME" to the environment variable NAME. An
// unset variable is an error.
//
// Enable it only when the people who create subscriptions may read the
// host's environment: a reference chooses which variable is sent to the
// subscription's URL.
type EnvResolver struct{}

// Resolve implements SecretResolver.
func (EnvResolver) Resolve(_ context.Context, ref string) (string, error) {
	name, ok := strings.CutPrefix(ref, "env://")
	if !ok || name == "" {
		return "", fmt.Errorf("%w: EnvResolver resolves env://NAME, got %q", ErrUnresolvedSecret, ref)
	}
	v, ok := os.LookupEnv(name)
	if !ok {
		return "", fmt.Errorf("%w: environment variable %s is not set", ErrUnresolvedSecret, name)
	}
	return v, nil
}

// MapResolver resolves references by exact lookup, for example
// MapResolver{"config://personal/jira/api-token": "..."}. Useful in tests
// and for secrets loaded at start-up.
type MapResolver map[string]string

// Resolve implements SecretResolver.
func (m MapResolver) Resolve(_ context.Context, ref string) (string, error) {
	v, ok := m[ref]
	if !ok {
		return "", fmt.Errorf("%w: %q is not in the map", ErrUnresolvedSecret, ref)
	}
	return v, nil
}

// SchemeResolver sends each reference to the resolver registered for its
// scheme: SchemeResolver{"env": EnvResolver{}, "config": myConfigStore}.
type SchemeResolver map[string]SecretResolver

// Resolve implements SecretResolver.
func (m SchemeResolver) Resolve(ctx context.Context, ref string) (string, error) {
	scheme, _, _ := strings.Cut(ref, "://")
	r, ok := m[scheme]
	if !ok {
		return "", fmt.Errorf("%w: no resolver for scheme %q", ErrUnresolvedSecret, scheme)
	}
	return r.Resolve(ctx, ref)
}

// referencePattern matches values that are credential references.
var referencePattern = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*://`)

// IsReference reports whether a credential value is a reference to be
// resolved by Config.Secrets rather than a literal.
func IsReference(value string) bool { return referencePattern.MatchString(value) }

// values calls fn for every credential value of a, with a field name.
func (a *Auth) values(fn func(field, value string)) {
	a.credentialValues(fn)
	for name, v := range a.Headers {
		fn(fmt.Sprintf("Auth.Headers[%q]", truncate(name, 64)), v)
	}
}

// credentialValues calls fn with each Bearer and Basic value of a.
func (a *Auth) credentialValues(fn func(field, value string)) {
	if a.Bearer != nil {
		fn("Auth.Bearer.Token", a.Bearer.Token)
	}
	if a.Basic != nil {
		fn("Auth.Basic.Username", a.Basic.Username)
		fn("Auth.Basic.Password", a.Basic.Password)
	}
}

// validate adds a's problems to v. hasResolver tells whether references
// can be resolved.
func (a *Auth) validate(v *validator, hasResolver bool, staticHeaders map[string]string) {
	if a.Bearer != nil && a.Basic != nil {
		v.add("Auth", "set Bearer or Basic, not both: both use the Authorization header")
	}
	if a.Bearer != nil {
		if a.Bearer.Token == "" {
			v.add("Auth.Bearer.Token", "required")
		}
		if a.Bearer.Scheme != "" && !validHeaderName(a.Bearer.Scheme) {
			v.add("Auth.Bearer.Scheme", `must be a single word such as "Bearer" or "Token"`)
		}
	}
	if a.Basic != nil {
		if a.Basic.Username == "" {
			v.add("Auth.Basic.Username", "required")
		}
		if strings.Contains(a.Basic.Username, ":") && !IsReference(a.Basic.Username) {
			v.add("Auth.Basic.Username", `must not contain ":" (RFC 7617)`)
		}
	}
	for name, value := range a.Headers {
		field := fmt.Sprintf("Auth.Headers[%q]", truncate(name, 64))
		if msg := checkHeader(name, value); msg != "" {
			v.add(field, msg)
			continue
		}
		if strings.EqualFold(name, "Authorization") && (a.Bearer != nil || a.Basic != nil) {
			v.add(field, "conflicts with Auth.Bearer or Auth.Basic, which set Authorization")
		}
		for static := range staticHeaders {
			if strings.EqualFold(static, name) {
				v.add(field, fmt.Sprintf("is also a static header (Headers[%q]); set it in one place", static))
			}
		}
	}
	a.credentialValues(func(field, value string) { // header values: checkHeader, above
		if p := valueProblem(value); p != "" {
			v.add(field, p)
		}
	})
	a.values(func(field, value string) {
		if IsReference(value) && !hasResolver {
			v.add(field, fmt.Sprintf("is a reference (%s) but Config.Secrets is not set: configure a SecretResolver, or give the literal value", referenceScheme(value)))
		}
	})
}

// referenceScheme returns "scheme://" of a reference.
func referenceScheme(ref string) string {
	scheme, _, _ := strings.Cut(ref, "://")
	return scheme + "://"
}

// redactedAuth returns a copy of a with literal values replaced by
// "redacted"; references are kept.
func redactedAuth(a *Auth) *Auth {
	if a == nil {
		return nil
	}
	hide := func(v string) string {
		if v == "" || IsReference(v) {
			return v
		}
		return redactedValue
	}
	c := &Auth{}
	if a.Bearer != nil {
		c.Bearer = &BearerAuth{Token: hide(a.Bearer.Token), Scheme: a.Bearer.Scheme}
	}
	if a.Basic != nil {
		c.Basic = &BasicAuth{Username: hide(a.Basic.Username), Password: hide(a.Basic.Password)}
	}
	if a.Headers != nil {
		c.Headers = make(map[string]string, len(a.Headers))
		for k, v := range a.Headers {
			c.Headers[k] = hide(v)
		}
	}
	return c
}

// clone returns a deep copy of a.
func (a *Auth) clone() *Auth {
	if a == nil {
		return nil
	}
	c := &Auth{Headers: cloneMap(a.Headers)}
	if a.Bearer != nil {
		b := *a.Bearer
		c.Bearer = &b
	}
	if a.Basic != nil {
		b := *a.Basic
		c.Basic = &b
	}
	return c
}

// apply resolves a's values and sets its headers on h. An unresolved
// reference is an error naming the field, never its value.
func (a *Auth) apply(ctx context.Context, resolver SecretResolver, h http.Header) error {
	var firstErr error
	resolve := func(field, value string) string {
		if firstErr != nil || !IsReference(value) {
			return value
		}
		if resolver == nil {
			firstErr = fmt.Errorf("%w: %s is a reference but Config.Secrets is not set", ErrUnresolvedSecret, field)
			return ""
		}
		out, err := resolver.Resolve(ctx, value)
		if err != nil {
			firstErr = fmt.Errorf("resolving %s (%s): %w", field, value, err)
			if !errors.Is(err, ErrUnresolvedSecret) {
				firstErr = fmt.Errorf("%w: %w", ErrUnresolvedSecret, firstErr)
			}
			return ""
		}
		if i := badValueByte(out); i >= 0 {
			firstErr = fmt.Errorf("%w: %s resolved to a value with a control character (%q)%s", ErrUnresolvedSecret, field, out[i], lineBreakHint(out, i))
		}
		return out
	}
	if a.Bearer != nil {
		scheme := a.Bearer.Scheme
		if scheme == "" {
			scheme = "Bearer"
		}
		token := resolve("Auth.Bearer.Token", a.Bearer.Token)
		h.Set("Authorization", scheme+" "+token)
	}
	if a.Basic != nil {
		user := resolve("Auth.Basic.Username", a.Basic.Username)
		pass := resolve("Auth.Basic.Password", a.Basic.Password)
		h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
	}
	for name, v := range a.Headers {
		h.Set(name, resolve(fmt.Sprintf("Auth.Headers[%q]", name), v))
	}
	return firstErr
}
