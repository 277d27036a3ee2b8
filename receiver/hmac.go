package receiver

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/hooksmith/webhook"
)

// Encoding is how a signature header encodes the HMAC bytes.
type Encoding int

// Encodings of HMACScheme.Encoding.
const (
	// Hex is lower- or upper-case hexadecimal, as GitHub sends.
	Hex Encoding = iota
	// Base64 is standard base64 with padding, as Shopify sends.
	Base64
)

// String returns the encoding's name.
func (e Encoding) String() string {
	switch e {
	case Hex:
		return "hex"
	case Base64:
		return "base64"
	}
	return fmt.Sprintf("Encoding(%d)", int(e))
}

// HMACScheme describes a "HMAC-SHA256 of the raw body in one header"
// signature, the scheme many platforms use without a timestamp.
type HMACScheme struct {
	// Encoding is how SignatureHeader encodes the HMAC.
	Encoding Encoding
	// IDHeader, when set, names the header whose value becomes Event.ID
	// (the key Handler deduplicates by), for example
	// "X-Shopify-Webhook-Id". Without it events are not deduplicated.
	IDHeader string
	// Prefix is text before the encoded HMAC in SignatureHeader, for
	// example "sha256="; it is required when set.
	Prefix string
	// SignatureHeader names the header carrying the signature, for example
	// "X-Shopify-Hmac-Sha256". Required.
	SignatureHeader string
	// TypeHeader, when set, names the header whose value becomes
	// Event.Type, for example "X-Shopify-Topic".
	TypeHeader string
}

// ShopifyScheme returns Shopify's scheme: X-Shopify-Hmac-Sha256 carries the
// base64 HMAC-SHA256 of the body, keyed with the app's client secret (or
// the store's webhook signing key); X-Shopify-Webhook-Id identifies the
// delivery and X-Shopify-Topic names the event ("orders/create").
func ShopifyScheme() HMACScheme {
	return HMACScheme{
		Encoding:        Base64,
		IDHeader:        "X-Shopify-Webhook-Id",
		SignatureHeader: "X-Shopify-Hmac-Sha256",
		TypeHeader:      "X-Shopify-Topic",
	}
}

// HMACVerifier verifies requests signed with an HMACScheme. Create one with
// NewHMACVerifier; it is safe for concurrent use.
type HMACVerifier struct {
	scheme HMACScheme
	keys   [][]byte
}

// NewHMACVerifier returns a verifier of scheme with any of secrets.
func NewHMACVerifier(secrets []string, scheme HMACScheme) (*HMACVerifier, error) {
	if scheme.SignatureHeader == "" {
		return nil, fmt.Errorf("%w: HMACScheme.SignatureHeader is empty: name the header carrying the signature, for example %q", webhook.ErrInvalid, "X-Shopify-Hmac-Sha256")
	}
	if scheme.Encoding != Hex && scheme.Encoding != Base64 {
		return nil, fmt.Errorf("%w: HMACScheme.Encoding is %s: use Hex or Base64", webhook.ErrInvalid, scheme.Encoding)
	}
	keys, err := decodeSecrets(secrets)
	if err != nil {
		return nil, err
	}
	return &HMACVerifier{scheme: scheme, keys: keys}, nil
}

// NewHMAC returns a Receiver for scheme with any of secrets. A nil cfg means
// the defaults of webhook.ReceiverConfig; Tolerance is not used, as the
// scheme carries no timestamp.
func NewHMAC(secrets []string, scheme HMACScheme, cfg *webhook.ReceiverConfig) (*webhook.Receiver, error) {
	v, err := NewHMACVerifier(secrets, scheme)
	if err != nil {
		return nil, err
	}
	return webhook.NewReceiverFor(v, cfg)
}

// Verify checks that the scheme's signature header holds the HMAC-SHA256 of
// payload under one of the secrets, compared in constant time, and returns
// the event: ID and Type from the scheme's headers, Data the whole payload,
// which must be JSON. Errors wrap webhook.ErrMissingHeaders,
// webhook.ErrMalformedHeader, webhook.ErrNoMatchingSignature or
// webhook.ErrMalformedPayload.
func (v *HMACVerifier) Verify(payload []byte, h http.Header) (webhook.Event, error) {
	s := v.scheme
	value := h.Get(s.SignatureHeader)
	if value == "" {
		return webhook.Event{}, fmt.Errorf("%w: %s", webhook.ErrMissingHeaders, s.SignatureHeader)
	}
	enc, ok := strings.CutPrefix(value, s.Prefix)
	if !ok {
		return webhook.Event{}, fmt.Errorf("%w: %s does not start with %q", webhook.ErrMalformedHeader, s.SignatureHeader, s.Prefix)
	}
	got, err := decodeMAC(enc, s.Encoding)
	if err != nil {
		return webhook.Event{}, fmt.Errorf("%w: %s is not %s: %v", webhook.ErrMalformedHeader, s.SignatureHeader, s.Encoding, err)
	}
	if !matchAny(v.keys, got, payload) {
		return webhook.Event{}, fmt.Errorf("%w: %s does not match any configured secret (is it the secret the platform shows, and the body passed unmodified?)", webhook.ErrNoMatchingSignature, s.SignatureHeader)
	}
	if !json.Valid(payload) {
		return webhook.Event{}, fmt.Errorf("%w: the body is not JSON", webhook.ErrMalformedPayload)
	}
	e := webhook.Event{Data: append(json.RawMessage(nil), payload...)}
	if s.IDHeader != "" {
		e.ID = h.Get(s.IDHeader)
	}
	if s.TypeHeader != "" {
		e.Type = h.Get(s.TypeHeader)
	}
	return e, nil
}

// decodeSecrets checks and converts secrets to HMAC keys.
func decodeSecrets(secrets []string) ([][]byte, error) {
	if len(secrets) == 0 {
		return nil, fmt.Errorf("%w: no secret given: pass the webhook secret the platform shows", webhook.ErrInvalidSecret)
	}
	keys := make([][]byte, len(secrets))
	var errs []error
	for i, s := range secrets {
		if s == "" {
			errs = append(errs, fmt.Errorf("%w: secret %d is empty", webhook.ErrInvalidSecret, i))
		}
		keys[i] = []byte(s)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return keys, nil
}

// decodeMAC decodes a hex or base64 HMAC-SHA256.
func decodeMAC(s string, enc Encoding) ([]byte, error) {
	var (
		b   []byte
		err error
	)
	if enc == Base64 {
		b, err = base64.StdEncoding.DecodeString(s)
	} else {
		b, err = hex.DecodeString(s)
	}
	if err != nil {
		return nil, err
	}
	if len(b) != sha256.Size {
		return nil, fmt.Errorf("decodes to %d bytes, want %d", len(b), sha256.Size)
	}
	return b, nil
}

// matchAny reports whether got is the HMAC-SHA256 of the concatenated parts
// under one of keys, comparing in constant time.
func matchAny(keys [][]byte, got []byte, parts ...[]byte) bool {
	for _, key := range keys {
		mac := hmac.New(sha256.New, key)
		for _, p := range parts {
			mac.Write(p)
		}
		if hmac.Equal(mac.Sum(nil), got) {
			return true
		}
	}
	return false
}
