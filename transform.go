package webhook

import (
	"context"
	"errors"
	"net/http"
)

// TransformFunc rewrites one outgoing request before it is signed and
// sent. It may change r.Method (POST, PUT or DELETE), r.URL, r.Header and
// r.Body, or skip the delivery by returning SkipDelivery(reason). Any other
// error fails the attempt, which is retried, with the error's message in
// the attempt log. Register transforms in Config.Transforms; a
// subscription names one in Subscription.Transform.
//
// It runs on every attempt, after the template and credentials were
// applied, and must be safe for concurrent use. The webhook-* signature
// headers, content-length and host are set after it and cannot be changed.
type TransformFunc func(ctx context.Context, r *OutgoingRequest) error

// OutgoingRequest is the request a TransformFunc may rewrite.
type OutgoingRequest struct {
	Method string
	URL    string
	Header http.Header
	Body   []byte
	// Event is the event being delivered. Changing it has no effect.
	Event Event
	// Subscription is the subscription, without secret or credentials.
	// Changing it has no effect.
	Subscription Subscription
}

// errSkip is matched by the errors SkipDelivery returns.
var errSkip = errors.New("webhook: delivery skipped by transform")

// skipError carries the reason a transform skipped a delivery.
type skipError struct{ reason string }

func (e *skipError) Error() string { return "skipped by transform: " + e.reason }
func (e *skipError) Is(target error) bool {
	return target == errSkip
}

// SkipDelivery is returned by a TransformFunc to send nothing for this
// delivery: it ends in state DeliverySkipped, with reason in its log.
func SkipDelivery(reason string) error { return &skipError{reason: reason} }
