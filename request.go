package webhook

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hooksmith/webhook/internal/tmpl"
)

// Signature schemes of Subscription.SignatureScheme.
const (
	// SchemeHMAC signs with HMAC-SHA256 and a shared "whsec_" secret
	// (Standard Webhooks "v1"). The default.
	SchemeHMAC = "v1"
	// SchemeEd25519 signs with an ed25519 private key ("whsk_"); receivers
	// verify with the public key ("whpk_") (Standard Webhooks "v1a").
	SchemeEd25519 = "v1a"
)

// compiled is what a subscription version needs at send time, parsed once:
// its templates and content type. Cached by subscription ID and UpdatedAt.
type compiled struct {
	updatedAt   time.Time
	contentType tmpl.ContentType
	body        *tmpl.Template // nil: the default envelope
	url         *tmpl.Template // nil: URL has no tags
}

// compile parses the templates of s, adding any problem to v (when not nil).
func compile(s *Subscription, v *validator) *compiled {
	c := &compiled{updatedAt: s.UpdatedAt}
	ct, err := tmpl.ParseContentType(s.ContentType)
	if err != nil {
		v.add("ContentType", err.Error())
		return nil
	}
	c.contentType = ct
	if s.Template != "" {
		if c.body, err = tmpl.Parse(s.Template, ct); err != nil {
			v.add("Template", err.Error())
		}
	}
	if strings.Contains(s.URL, "{{") {
		if c.url, err = tmpl.ParseURL(s.URL); err != nil {
			v.add("URL", err.Error())
		}
	}
	return c
}

// templates caches compiled subscriptions for the delivery loop.
type templates struct {
	m sync.Map // subscription ID -> *compiled
}

// get returns s compiled, parsing it only when its version is new.
func (t *templates) get(s *Subscription) (*compiled, error) {
	if c, ok := t.m.Load(s.ID); ok && c.(*compiled).updatedAt.Equal(s.UpdatedAt) {
		return c.(*compiled), nil
	}
	v := validator{what: "subscription " + s.ID}
	c := compile(s, &v)
	if err := v.err(); err != nil {
		return nil, err
	}
	t.m.Store(s.ID, c)
	return c, nil
}

// templateValues returns what templates read of an event: its data, and
// its header fields, of which id, type, timestamp and tenant take
// precedence over metadata keys of the same name.
func templateValues(ev *Event) tmpl.Values {
	h := make(map[string]string, len(ev.Metadata)+4)
	for k, v := range ev.Metadata {
		h[k] = v
	}
	h["id"] = ev.ID
	h["type"] = ev.Type
	h["timestamp"] = ev.Timestamp.UTC().Format(time.RFC3339)
	h["tenant"] = ev.Tenant
	return tmpl.Values{Data: ev.Data, Header: h}
}

// envelope is the default request body.
type envelope struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// preparedRequest is a request ready to be signed.
type preparedRequest struct {
	req     *OutgoingRequest
	missing []string // template tags without a value
}

// prepare builds the request for ev to sub, before signing: body (envelope
// or template), URL, static headers, credentials, then the transform.
func (d *Dispatcher) prepare(ctx context.Context, sub *Subscription, ev *Event) (*preparedRequest, error) {
	c, err := d.templates.get(sub)
	if err != nil {
		return nil, err
	}
	p := &preparedRequest{req: &OutgoingRequest{Method: sub.Method, URL: sub.URL, Header: make(http.Header, len(sub.Headers)+8)}}
	vals := templateValues(ev)
	if c.body == nil {
		p.req.Body, err = json.Marshal(envelope{ID: ev.ID, Type: ev.Type, Timestamp: ev.Timestamp.UTC(), Data: ev.Data})
	} else {
		var missing []string
		p.req.Body, missing, err = c.body.Render(nil, vals)
		p.missing = append(p.missing, missing...)
	}
	if err != nil {
		return nil, fmt.Errorf("rendering the body: %w", err)
	}
	if c.url != nil {
		u, missing, err := c.url.Render(nil, vals)
		if err != nil {
			return nil, fmt.Errorf("rendering the URL: %w", err)
		}
		p.req.URL = string(u)
		p.missing = append(p.missing, missing...)
	}
	for k, v := range sub.Headers {
		p.req.Header.Set(k, v)
	}
	p.req.Header.Set("Content-Type", c.contentType.String())
	p.req.Header.Set("User-Agent", "hooksmith/"+Version)
	if sub.Auth != nil {
		if err := sub.Auth.apply(ctx, d.cfg.Secrets, p.req.Header); err != nil {
			return nil, err
		}
	}
	if sub.Transform != "" {
		fn := d.cfg.Transforms[sub.Transform]
		if fn == nil {
			return nil, fmt.Errorf("transform %q is not registered in Config.Transforms", sub.Transform)
		}
		p.req.Event = *ev.Clone()
		p.req.Subscription = redacted(sub)
		if err := fn(ctx, p.req); err != nil {
			if errors.Is(err, errSkip) {
				return p, err
			}
			return nil, fmt.Errorf("transform %q: %w", sub.Transform, err)
		}
		switch p.req.Method = strings.ToUpper(p.req.Method); p.req.Method {
		case http.MethodPost, http.MethodPut, http.MethodDelete:
		default:
			return nil, fmt.Errorf("transform %q set method %q: only POST, PUT and DELETE are sent", sub.Transform, truncate(p.req.Method, 16))
		}
	}
	return p, nil
}

// signingSecrets returns the secrets a delivery is signed with at now: the
// current one, and the previous one during its overlap.
func signingSecrets(sub *Subscription, now time.Time) []string {
	if sub.PreviousSecret != "" && now.Before(sub.PreviousSecretExpiresAt) {
		return []string{sub.Secret, sub.PreviousSecret}
	}
	return []string{sub.Secret}
}

// sign returns the webhook-signature value for body: one signature per
// secret in force, each in its scheme.
func sign(sub *Subscription, msgID string, ts time.Time, body []byte) (string, error) {
	var hmacs []string
	var keys []ed25519.PrivateKey
	for _, s := range signingSecrets(sub, ts) {
		if strings.HasPrefix(s, SigningKeyPrefix) {
			k, err := DecodeSigningKey(s)
			if err != nil {
				return "", err
			}
			keys = append(keys, k.PrivateKey())
			continue
		}
		hmacs = append(hmacs, s)
	}
	return signatures(hmacs, keys, msgID, ts, body)
}

// newRequest turns a prepared request into an HTTP request, signed over
// its final body, with the Standard Webhooks headers.
func newRequest(ctx context.Context, sub *Subscription, ev *Event, p *OutgoingRequest, ts time.Time) (*http.Request, error) {
	sig, err := sign(sub, ev.ID, ts, p.Body)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, p.Method, p.URL, bytes.NewReader(p.Body))
	if err != nil {
		// The error repeats the URL, which may carry a token: drop it.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("building the request for %s: %w", redactURL(p.URL), err)
	}
	req.Header = p.Header
	req.Header.Set(HeaderID, ev.ID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set(HeaderSignature, sig)
	return req, nil
}
