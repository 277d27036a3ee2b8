package receiver

import (
	"net/http"

	"github.com/hooksmith/webhook"
)

// GitHub's webhook headers.
const (
	// GitHubSignatureHeader carries "sha256=" followed by the hex
	// HMAC-SHA256 of the body, keyed with the webhook's secret.
	GitHubSignatureHeader = "X-Hub-Signature-256"
	// GitHubEventHeader names the event, for example "push" or
	// "pull_request".
	GitHubEventHeader = "X-GitHub-Event"
	// GitHubDeliveryHeader is a GUID identifying the delivery; redeliveries
	// keep it.
	GitHubDeliveryHeader = "X-GitHub-Delivery"
)

// GitHubVerifier verifies GitHub webhook deliveries. Create one with
// NewGitHubVerifier; it is safe for concurrent use.
//
// GitHub signs the body only, without a timestamp, so a captured delivery
// can be replayed: serve it through NewGitHub, whose Handler deduplicates
// by X-GitHub-Delivery, and keep the secret to HTTPS endpoints. The legacy
// SHA-1 X-Hub-Signature header is not accepted.
type GitHubVerifier struct {
	v *HMACVerifier
}

// NewGitHubVerifier returns a verifier for deliveries signed with any of
// secrets (the "Secret" of the webhook's settings). The webhook's content
// type must be application/json.
func NewGitHubVerifier(secrets []string) (*GitHubVerifier, error) {
	v, err := NewHMACVerifier(secrets, HMACScheme{
		Encoding:        Hex,
		IDHeader:        GitHubDeliveryHeader,
		Prefix:          "sha256=",
		SignatureHeader: GitHubSignatureHeader,
		TypeHeader:      GitHubEventHeader,
	})
	if err != nil {
		return nil, err
	}
	return &GitHubVerifier{v: v}, nil
}

// NewGitHub returns a Receiver for GitHub deliveries signed with any of
// secrets. A nil cfg means the defaults of webhook.ReceiverConfig.
func NewGitHub(secrets []string, cfg *webhook.ReceiverConfig) (*webhook.Receiver, error) {
	v, err := NewGitHubVerifier(secrets)
	if err != nil {
		return nil, err
	}
	return webhook.NewReceiverFor(v, cfg)
}

// Verify checks that X-Hub-Signature-256 is "sha256=" and the hex
// HMAC-SHA256 of payload under one of the secrets, compared in constant
// time, and returns the event: ID is X-GitHub-Delivery, Type is
// X-GitHub-Event, Data is the whole JSON payload. Errors wrap
// webhook.ErrMissingHeaders (either header absent),
// webhook.ErrMalformedHeader, webhook.ErrNoMatchingSignature or
// webhook.ErrMalformedPayload (a body that is not JSON: set the webhook's
// content type to application/json).
func (g *GitHubVerifier) Verify(payload []byte, h http.Header) (webhook.Event, error) {
	e, err := g.v.Verify(payload, h)
	if err != nil {
		return webhook.Event{}, err
	}
	if e.Type == "" {
		return webhook.Event{}, missing(GitHubEventHeader)
	}
	return e, nil
}
