package webhook

import (
	"errors"
	"strings"
)

// Errors returned by the Dispatcher and by every Store. Callers test for them
// with errors.Is; the returned errors wrap them with the detail of what was
// wrong.
var (
	// ErrInvalid is matched by every validation failure. The concrete error
	// is a *ValidationError that lists each bad field.
	ErrInvalid = errors.New("webhook: invalid input")

	// ErrNotFound is returned when a subscription, event or delivery does
	// not exist.
	ErrNotFound = errors.New("webhook: not found")

	// ErrEventExists is returned by Store.EventInsert when an event with the
	// same ID is already stored. Dispatcher.Publish turns it into a
	// PublishResult with Duplicate set, not an error.
	ErrEventExists = errors.New("webhook: event already exists")

	// ErrLeaseLost is returned by Store.DeliveryUpdate and
	// Store.DeliveryRelease when the caller's lease on a delivery has been
	// taken over (it expired and the delivery was claimed again, or the
	// delivery was reset or cancelled).
	ErrLeaseLost = errors.New("webhook: delivery lease lost")

	// ErrDeliveryPending is returned by DeliveryRetry for a delivery that is
	// still pending: it will be attempted anyway.
	ErrDeliveryPending = errors.New("webhook: delivery is still pending")

	// ErrAlreadyStarted is returned by Start when the delivery loop runs.
	ErrAlreadyStarted = errors.New("webhook: dispatcher already started")

	// ErrNotStarted is returned by Shutdown when the loop is not running.
	ErrNotStarted = errors.New("webhook: dispatcher not started")

	// ErrUnresolvedSecret is wrapped by the error of an attempt whose
	// credential reference could not be resolved.
	ErrUnresolvedSecret = errors.New("webhook: credential reference not resolved")

	// ErrAttemptTimeout is the cause (see context.Cause) of the context of
	// an attempt that ran past Config.AttemptTimeout: credential resolvers
	// and transforms, which get that context, can tell the timeout from a
	// shutdown with it.
	ErrAttemptTimeout = errors.New("webhook: attempt timeout reached")

	// ErrPrivateAddress is the cause of an attempt refused by the SSRF guard:
	// the target resolved to a loopback, private, link-local, multicast or
	// unspecified address. Set Config.AllowPrivateNetworks to allow them.
	ErrPrivateAddress = errors.New("webhook: target address is not public")

	// ErrConcurrentPoll is returned by Poll when another Poll of the same
	// subscription is running in this Dispatcher: a pull subscription has
	// one consumer at a time. Retry after the other returns.
	ErrConcurrentPoll = errors.New("webhook: another poll of this subscription is running")

	// ErrCursorExpired is returned by Poll and the cursor calls when events
	// after the cursor are past Config.Retention or were removed by the
	// store: reading on would skip them. Reset the position with
	// CursorReset(ctx, id, CursorOldest) to continue from the oldest event
	// still kept.
	ErrCursorExpired = errors.New("webhook: cursor points before the oldest retained event")

	// ErrNotPull is returned by Poll and the cursor calls for a push
	// subscription, whose events are sent to its URL instead.
	ErrNotPull = errors.New("webhook: not a pull subscription")
)

// Errors returned by Verify (and by Receiver, which builds on it). Each is
// wrapped with detail; test with errors.Is.
var (
	// ErrInvalidSecret: a secret is not a "whsec_" base64 string of 24 to 64
	// bytes.
	ErrInvalidSecret = errors.New("webhook: invalid secret")
	// ErrMissingHeaders: webhook-id, webhook-timestamp or webhook-signature
	// is absent.
	ErrMissingHeaders = errors.New("webhook: missing required headers")
	// ErrInvalidTimestamp: webhook-timestamp is not a decimal Unix time.
	ErrInvalidTimestamp = errors.New("webhook: invalid timestamp")
	// ErrTimestampTooOld: webhook-timestamp is older than the tolerance.
	ErrTimestampTooOld = errors.New("webhook: timestamp too old")
	// ErrTimestampTooNew: webhook-timestamp is further in the future than
	// the tolerance.
	ErrTimestampTooNew = errors.New("webhook: timestamp too new")
	// ErrNoMatchingSignature: no v1 signature in webhook-signature matches.
	ErrNoMatchingSignature = errors.New("webhook: no matching signature")
)

// FieldError is one invalid field of a ValidationError.
type FieldError struct {
	// Field is the field's name as written in Go, for example "URL" or
	// "EventTypes[2]".
	Field string
	// Message says what was wrong and what is accepted.
	Message string
}

// ValidationError lists every invalid field of one input. It matches
// ErrInvalid with errors.Is.
type ValidationError struct {
	// What names the input, for example "subscription" or "event".
	What   string
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("webhook: invalid ")
	b.WriteString(e.What)
	for i, f := range e.Fields {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(f.Field)
		b.WriteString(": ")
		b.WriteString(f.Message)
	}
	return b.String()
}

// Is reports whether target is ErrInvalid.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// validator collects field errors; err returns nil when there are none.
type validator struct {
	what   string
	fields []FieldError
}

func (v *validator) add(field, msg string) {
	v.fields = append(v.fields, FieldError{Field: field, Message: msg})
}

// invalidField returns a ValidationError for one field.
func invalidField(what, field, msg string) error {
	return &ValidationError{What: what, Fields: []FieldError{{Field: field, Message: msg}}}
}

func (v *validator) err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return &ValidationError{What: v.what, Fields: v.fields}
}

// Errors returned by Receiver and by the verifiers of package receiver, in
// addition to those of Verify. Each is wrapped with detail; test with
// errors.Is.
var (
	// ErrInvalidSigningKey: an ed25519 key is not in the "whsk_" or
	// "whpk_" text form of 32 base64-encoded bytes, or a private key was
	// given where a public key belongs.
	ErrInvalidSigningKey = errors.New("webhook: invalid signing key")
	// ErrMalformedPayload: the body is not the JSON object the sender's
	// scheme defines (for Standard Webhooks: an object with a "type").
	ErrMalformedPayload = errors.New("webhook: malformed payload")
	// ErrMalformedHeader: a signature header is present but cannot be
	// parsed (for example a Stripe-Signature without "t=").
	ErrMalformedHeader = errors.New("webhook: malformed header")
)
