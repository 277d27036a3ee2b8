package receiver

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hooksmith/webhook"
)

// StripeSignatureHeader is Stripe's signature header:
// "t=<unix seconds>,v1=<hex>[,v1=<hex>...]", where each v1 is the hex
// HMAC-SHA256 of "<t>.<body>" keyed with the endpoint's signing secret
// ("whsec_..."). Other schemes (v0) are ignored.
const StripeSignatureHeader = "Stripe-Signature"

// StripeVerifier verifies Stripe webhook events. Create one with
// NewStripeVerifier; it is safe for concurrent use.
type StripeVerifier struct {
	keys      [][]byte
	tolerance time.Duration
	now       func() time.Time
}

// NewStripeVerifier returns a verifier for events signed with any of
// secrets (the endpoint's "whsec_..." signing secret, used as is: Stripe
// keys the HMAC with the whole string). From cfg only Tolerance (how far t
// may be from now, either way; defaults to webhook.DefaultTolerance, five
// minutes, as Stripe's libraries do) and Now are used; nil means defaults.
func NewStripeVerifier(secrets []string, cfg *webhook.ReceiverConfig) (*StripeVerifier, error) {
	keys, err := decodeSecrets(secrets)
	if err != nil {
		return nil, err
	}
	v := &StripeVerifier{keys: keys, tolerance: webhook.DefaultTolerance, now: time.Now}
	if cfg != nil {
		if cfg.Tolerance < 0 {
			return nil, fmt.Errorf("%w: Tolerance must be positive, or zero for the default", webhook.ErrInvalid)
		}
		if cfg.Tolerance > 0 {
			v.tolerance = cfg.Tolerance
		}
		if cfg.Now != nil {
			v.now = cfg.Now
		}
	}
	return v, nil
}

// NewStripe returns a Receiver for Stripe events signed with any of
// secrets. A nil cfg means the defaults of webhook.ReceiverConfig.
func NewStripe(secrets []string, cfg *webhook.ReceiverConfig) (*webhook.Receiver, error) {
	v, err := NewStripeVerifier(secrets, cfg)
	if err != nil {
		return nil, err
	}
	return webhook.NewReceiverFor(v, cfg)
}

// Verify checks Stripe-Signature: t must be within the tolerance of now,
// and one of the v1 values must be the HMAC of "<t>.<payload>" under one of
// the secrets, compared in constant time. It returns the event: ID, Type
// and Timestamp from the payload's "id", "type" and "created"; Data is the
// whole payload. Errors wrap webhook.ErrMissingHeaders,
// webhook.ErrMalformedHeader, webhook.ErrInvalidTimestamp,
// webhook.ErrTimestampTooOld, webhook.ErrTimestampTooNew,
// webhook.ErrNoMatchingSignature or webhook.ErrMalformedPayload.
func (v *StripeVerifier) Verify(payload []byte, h http.Header) (webhook.Event, error) {
	header := h.Get(StripeSignatureHeader)
	if header == "" {
		return webhook.Event{}, missing(StripeSignatureHeader)
	}
	tsText, sigs := parseStripeHeader(header)
	if tsText == "" {
		return webhook.Event{}, fmt.Errorf("%w: %s has no t= timestamp", webhook.ErrMalformedHeader, StripeSignatureHeader)
	}
	unix, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return webhook.Event{}, fmt.Errorf("%w: %s t=%q is not a decimal Unix time", webhook.ErrInvalidTimestamp, StripeSignatureHeader, truncate(tsText, 32))
	}
	now, ts := v.now(), time.Unix(unix, 0)
	if age := now.Sub(ts); age > v.tolerance {
		return webhook.Event{}, fmt.Errorf("%w: %s t is %s old, tolerance is %s", webhook.ErrTimestampTooOld, StripeSignatureHeader, age.Round(time.Second), v.tolerance)
	}
	if ahead := ts.Sub(now); ahead > v.tolerance {
		return webhook.Event{}, fmt.Errorf("%w: %s t is %s ahead, tolerance is %s", webhook.ErrTimestampTooNew, StripeSignatureHeader, ahead.Round(time.Second), v.tolerance)
	}
	signed := []byte(tsText + ".")
	matched := false
	for _, sig := range sigs {
		got, err := hex.DecodeString(sig)
		if err != nil {
			continue
		}
		if matchAny(v.keys, got, signed, payload) {
			matched = true
			break
		}
	}
	if !matched {
		return webhook.Event{}, fmt.Errorf("%w: no v1 signature in %s matches any configured secret (is it this endpoint's signing secret, and the body passed unmodified?)", webhook.ErrNoMatchingSignature, StripeSignatureHeader)
	}
	var body struct {
		ID      string `json:"id"`
		Type    string `json:"type"`
		Created int64  `json:"created"`
	}
	if err := json.Unmarshal(payload, &body); err != nil {
		return webhook.Event{}, fmt.Errorf("%w: the body is not a Stripe event object: %v", webhook.ErrMalformedPayload, err)
	}
	if body.Type == "" {
		return webhook.Event{}, fmt.Errorf("%w: the body has no \"type\"", webhook.ErrMalformedPayload)
	}
	e := webhook.Event{ID: body.ID, Type: body.Type, Data: append(json.RawMessage(nil), payload...)}
	if body.Created != 0 {
		e.Timestamp = time.Unix(body.Created, 0).UTC()
	}
	return e, nil
}

// parseStripeHeader splits "t=...,v1=...,v1=...,v0=..." into the
// timestamp and the v1 values. Unknown keys and elements without "=" are
// skipped; the last t wins.
func parseStripeHeader(header string) (ts string, v1 []string) {
	for item := range strings.SplitSeq(header, ",") {
		key, value, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			continue
		}
		switch key {
		case "t":
			ts = value
		case "v1":
			v1 = append(v1, value)
		}
	}
	return ts, v1
}

// missing is the error for an absent header.
func missing(name string) error {
	return fmt.Errorf("%w: %s", webhook.ErrMissingHeaders, name)
}

// truncate shortens s for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
