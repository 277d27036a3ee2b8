package webhook

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
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
// its templates, content type and signing keys. Cached by subscription ID
// and version.
type compiled struct {
	version     compiledVersion
	contentType tmpl.ContentType
	// contentTypeValue is the Content-Type header value, shared by the
	// requests that no transform may change.
	contentTypeValue []string
	body             *tmpl.Template // nil: the default envelope
	url              *tmpl.Template // nil: URL has no tags
	keys             []signingKey
	// target is the URL parsed, when it has no tags: requests to it are
	// built without parsing it again.
	target *url.URL
}

// Canonical forms of the headers every request carries.
const (
	canonicalID        = "Webhook-Id"
	canonicalTimestamp = "Webhook-Timestamp"
	canonicalSignature = "Webhook-Signature"
	userAgent          = "hooksmith/" + Version
)

// compiledVersion is what a compiled entry was built from; the cache uses
// an entry only while all of it is unchanged (UpdatedAt alone can repeat
// within a clock tick).
type compiledVersion struct {
	url, template, contentType, secret, previousSecret string
	previousUntil                                      time.Time
}

func versionOf(s *Subscription) compiledVersion {
	return compiledVersion{s.URL, s.Template, s.ContentType, s.Secret, s.PreviousSecret, s.PreviousSecretExpiresAt}
}

// signingKey is one decoded secret: an HMAC signer or an ed25519 key, and
// until when it signs (zero: for as long as it is the current secret).
type signingKey struct {
	hmac  *hmacSigner
	ed    ed25519.PrivateKey
	until time.Time
}

// decodeKeys decodes the current and previous secrets of s.
func decodeKeys(s *Subscription) ([]signingKey, error) {
	var keys []signingKey
	for _, sec := range []struct {
		secret string
		until  time.Time
	}{{s.Secret, time.Time{}}, {s.PreviousSecret, s.PreviousSecretExpiresAt}} {
		switch {
		case sec.secret == "":
		case strings.HasPrefix(sec.secret, SigningKeyPrefix):
			k, err := DecodeSigningKey(sec.secret)
			if err != nil {
				return nil, err
			}
			keys = append(keys, signingKey{ed: k.PrivateKey(), until: sec.until})
		default:
			raw, err := DecodeSecret(sec.secret)
			if err != nil {
				return nil, err
			}
			keys = append(keys, signingKey{hmac: newHMACSigner(raw), until: sec.until})
		}
	}
	return keys, nil
}

// compile parses the templates of s, adding any problem to v (when not nil).
func compile(s *Subscription, v *validator) *compiled {
	c := &compiled{version: versionOf(s)}
	ct, err := tmpl.ParseContentType(s.ContentType)
	if err != nil {
		v.add("ContentType", err.Error())
		return nil
	}
	c.contentType, c.contentTypeValue = ct, []string{ct.String()}
	if s.Template != "" {
		if c.body, err = tmpl.Parse(s.Template, ct); err != nil {
			v.add("Template", err.Error())
		}
	}
	if strings.Contains(s.URL, "{{") {
		if c.url, err = tmpl.ParseURL(s.URL); err != nil {
			v.add("URL", err.Error())
		}
	} else if u, err := url.Parse(s.URL); err == nil && u.Host != "" {
		u.Host = strings.TrimSuffix(u.Host, ":") // as http.NewRequest does
		c.target = u
	}
	return c
}

// templates caches compiled subscriptions for the delivery loop.
type templates struct {
	m sync.Map // subscription ID -> *compiled
}

// get returns s compiled, parsing it only when its version is new.
func (t *templates) get(s *Subscription) (*compiled, error) {
	if c, ok := t.m.Load(s.ID); ok && c.(*compiled).version == versionOf(s) {
		return c.(*compiled), nil
	}
	v := validator{what: "subscription " + s.ID}
	c := compile(s, &v)
	if err := v.err(); err != nil {
		return nil, err
	}
	keys, err := decodeKeys(s)
	if err != nil {
		return nil, fmt.Errorf("subscription %s: %w", s.ID, err)
	}
	c.keys = keys
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

// preparedRequest is a request ready to be signed.
type preparedRequest struct {
	method, url string
	header      http.Header
	body        []byte
	shared      bool      // body is the event's built envelope: read-only
	missing     []string  // template tags without a value
	c           *compiled // the subscription version it was built from
}

// prepare builds the request for ev to sub, before signing: body (envelope
// or template), URL, static headers, credentials, then the transform. On
// errSkip, p.missing is set.
func (d *Dispatcher) prepare(ctx context.Context, sub *Subscription, ev *Event) (p preparedRequest, err error) {
	c, err := d.templates.get(sub)
	if err != nil {
		return p, err
	}
	p = preparedRequest{c: c, method: sub.Method, url: sub.URL, header: make(http.Header, len(sub.Headers)+6)}
	var vals tmpl.Values
	if c.body != nil || c.url != nil {
		vals = templateValues(ev)
	}
	if c.body == nil {
		p.body, p.shared, err = envelopeBody(ev)
	} else {
		p.body, p.missing, err = c.body.Render(nil, vals)
	}
	if err != nil {
		return p, fmt.Errorf("rendering the body: %w", err)
	}
	if c.url != nil {
		u, missing, err := c.url.Render(nil, vals)
		if err != nil {
			return p, fmt.Errorf("rendering the URL: %w", err)
		}
		p.url = string(u)
		p.missing = append(p.missing, missing...)
	}
	// Without a transform, nothing changes header values in place: the
	// fixed ones can be shared by every request.
	if sub.Transform == "" {
		p.header["User-Agent"] = userAgentValue // a static header may replace it.
	} else {
		p.header["User-Agent"] = []string{userAgent}
	}
	for k, v := range sub.Headers {
		p.header.Set(k, v)
	}
	if sub.Transform == "" {
		p.header["Content-Type"] = c.contentTypeValue
	} else {
		p.header["Content-Type"] = []string{c.contentType.String()}
	}
	if sub.Auth != nil {
		if err := sub.Auth.apply(ctx, d.cfg.Secrets, p.header); err != nil {
			return p, err
		}
	}
	if sub.Transform != "" {
		err = d.transform(ctx, sub, ev, &p)
	}
	return p, err
}

// userAgentValue is the User-Agent header value of requests without a
// transform, shared by all of them.
var userAgentValue = []string{userAgent}

// transform runs sub's transform on p.
func (d *Dispatcher) transform(ctx context.Context, sub *Subscription, ev *Event, p *preparedRequest) error {
	fn := d.cfg.Transforms[sub.Transform]
	if fn == nil {
		return fmt.Errorf("transform %q is not registered in Config.Transforms", sub.Transform)
	}
	body := p.body
	if p.shared { // the transform may change Body in place.
		body = bytes.Clone(body)
	}
	r := &OutgoingRequest{Method: p.method, URL: p.url, Header: p.header, Body: body, Event: *ev.Clone(), Subscription: redacted(sub)}
	if err := fn(ctx, r); err != nil {
		if errors.Is(err, errSkip) {
			return err
		}
		return fmt.Errorf("transform %q: %w", sub.Transform, err)
	}
	switch r.Method = strings.ToUpper(r.Method); r.Method {
	case http.MethodPost, http.MethodPut, http.MethodDelete:
	default:
		return fmt.Errorf("transform %q set method %q: only POST, PUT and DELETE are sent", sub.Transform, truncate(r.Method, 16))
	}
	p.method, p.url, p.header, p.body, p.shared = r.Method, r.URL, r.Header, r.Body, false
	return nil
}

// sign returns the webhook-signature value for a message: one signature
// per key in force at ts (the previous secret during its overlap too),
// space-separated. HMAC state is reused, so in steady state the result
// string is the only allocation for v1.
func (c *compiled) sign(msgID string, ts time.Time, body []byte) string {
	var b strings.Builder
	b.Grow(len(c.keys) * 90)
	var content []byte
	for _, k := range c.keys {
		if !k.until.IsZero() && !ts.Before(k.until) {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		if k.hmac != nil {
			var sum [sha256.Size]byte
			k.hmac.mac(&sum, msgID, ts.Unix(), body)
			appendSignature(&b, sigVersionHMAC, sum[:])
			continue
		}
		if content == nil {
			content = signedContent(nil, msgID, ts.Unix(), body)
		}
		appendSignature(&b, sigVersionEd25519, ed25519.Sign(k.ed, content))
	}
	return b.String()
}

// newRequest turns a prepared request into an HTTP request, signed over
// its final body, with the Standard Webhooks headers.
func newRequest(ctx context.Context, ev *Event, p *preparedRequest, ts time.Time) (*http.Request, error) {
	sig := p.c.sign(ev.ID, ts, p.body)
	var req *http.Request
	if t := p.c.target; t != nil && p.url == p.c.version.url {
		// What http.NewRequestWithContext does, without parsing the URL
		// again or allocating a header map to replace.
		u := *t
		r := http.Request{Method: p.method, URL: &u, Host: u.Host, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Body: http.NoBody, GetBody: noBody, ContentLength: int64(len(p.body))}
		if body := p.body; len(body) > 0 {
			// io.NopCloser over a *bytes.Reader, as NewRequest makes it:
			// net/http then knows the body is in memory and writes it
			// with the headers, in one write, instead of flushing the
			// headers first.
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		}
		req = r.WithContext(ctx)
	} else {
		var err error
		if req, err = http.NewRequestWithContext(ctx, p.method, p.url, bytes.NewReader(p.body)); err != nil {
			return nil, fmt.Errorf("building the request for %s: %w", redactURL(p.url), withoutURL(err))
		}
	}
	if p.header == nil { // a transform dropped it
		p.header = make(http.Header, 3)
	}
	req.Header = p.header
	// A transform may set a URL with user:password, which http.Client
	// sends as Basic credentials; the transport alone would drop them.
	if u := req.URL.User; u != nil && req.Header.Get("Authorization") == "" {
		password, _ := u.Password()
		req.SetBasicAuth(u.Username(), password)
	}
	// Keys in canonical form, set directly: Header.Set would canonicalise
	// them again on every attempt. One array holds the three values.
	v := &[3]string{ev.ID, strconv.FormatInt(ts.Unix(), 10), sig}
	req.Header[canonicalID] = v[0:1:1]
	req.Header[canonicalTimestamp] = v[1:2:2]
	req.Header[canonicalSignature] = v[2:3:3]
	return req, nil
}

func noBody() (io.ReadCloser, error) { return http.NoBody, nil }
