package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// Defaults for ReceiverConfig fields left zero.
const (
	DedupeWindowDefault = 24 * time.Hour
	MaxBodyBytesDefault = 1 << 20 // 1 MiB
)

// ReceiverConfig configures a Receiver. The zero value (or a nil
// *ReceiverConfig) means the defaults given on each field.
type ReceiverConfig struct {
	// Dedupe remembers handled webhook IDs, so that Handler acknowledges a
	// message delivered again without calling its function twice. Defaults
	// to a new NewMemoryDedupe(DedupeMaxEntriesDefault) per Receiver; use
	// package receiver/boltdedupe to remember IDs across restarts.
	Dedupe DedupeStore

	// DedupeWindow is how long a handled ID is remembered. Retries of a
	// message carry the same ID, so it should cover the sender's retry
	// schedule. Defaults to DedupeWindowDefault (24 hours).
	DedupeWindow time.Duration

	// Logger receives Handler's logs: handler errors and dedupe store
	// failures. Secrets, signatures and bodies are never logged. Defaults
	// to a logger that discards everything.
	Logger *slog.Logger

	// MaxBodyBytes caps the request body Handler reads; a longer body is
	// answered 413. Defaults to MaxBodyBytesDefault (1 MiB).
	MaxBodyBytes int64

	// Now is the clock. Defaults to time.Now. Tests inject their own.
	Now func() time.Time

	// Tolerance is how far webhook-timestamp may be from now, either way.
	// Defaults to DefaultTolerance (5 minutes).
	Tolerance time.Duration
}

// withDefaults returns c with every zero field set to its default.
func (c ReceiverConfig) withDefaults() ReceiverConfig {
	if c.Dedupe == nil {
		c.Dedupe = NewMemoryDedupe(DedupeMaxEntriesDefault)
	}
	if c.DedupeWindow == 0 {
		c.DedupeWindow = DedupeWindowDefault
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = MaxBodyBytesDefault
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Tolerance == 0 {
		c.Tolerance = DefaultTolerance
	}
	return c
}

// validate reports settings that cannot work.
func (c *ReceiverConfig) validate() error {
	v := validator{what: "receiver config"}
	if c.DedupeWindow < 0 {
		v.add("DedupeWindow", "must be positive, or zero for the default")
	}
	if c.MaxBodyBytes < 0 {
		v.add("MaxBodyBytes", "must be positive, or zero for the default")
	}
	if c.Tolerance < 0 {
		v.add("Tolerance", "must be positive, or zero for the default")
	}
	return v.err()
}

// Verifier checks the signature of a webhook request and parses its event.
// Receiver implements it for Standard Webhooks; package receiver implements
// it for GitHub, Stripe and plain HMAC headers. NewReceiverFor turns any
// Verifier into a Receiver with the same Handler.
type Verifier interface {
	// Verify checks payload (the raw request body) and the request headers
	// and returns the event. Errors wrap ErrMissingHeaders,
	// ErrMalformedHeader, ErrInvalidTimestamp or ErrMalformedPayload when
	// the request is malformed, and ErrTimestampTooOld,
	// ErrTimestampTooNew or ErrNoMatchingSignature when it is not
	// authentic.
	Verify(payload []byte, h http.Header) (Event, error)
}

// Receiver verifies and handles webhooks: Verify checks one message,
// Handler serves them over HTTP. Create one with NewReceiver (Standard
// Webhooks, what a Dispatcher sends) or NewReceiverFor (any Verifier). It
// is safe for concurrent use.
type Receiver struct {
	std    *verifier // nil when custom is set
	custom Verifier
	cfg    ReceiverConfig
}

// NewReceiver returns a Receiver for Standard Webhooks messages signed with
// any of secrets. Each secret is a symmetric "whsec_" secret (the prefix is
// optional), verifying "v1," signatures, or a "whpk_" ed25519 public key,
// verifying "v1a," signatures. Give several while the sender rotates its
// secret. A nil cfg means the defaults documented on ReceiverConfig. An
// empty list, an invalid secret or a "whsk_" private key is an error.
func NewReceiver(secrets []string, cfg *ReceiverConfig) (*Receiver, error) {
	c, err := receiverConfig(cfg)
	if err != nil {
		return nil, err
	}
	v, err := newVerifier(secrets, c.Tolerance)
	if err != nil {
		return nil, err
	}
	return &Receiver{std: v, cfg: c}, nil
}

// NewReceiverFor returns a Receiver whose Verify is v.Verify: its Handler
// brings body limits, status codes, deduplication by Event.ID and
// Permanent to any signature scheme. cfg.Tolerance is not used; v checks
// time itself. A nil cfg means the defaults.
func NewReceiverFor(v Verifier, cfg *ReceiverConfig) (*Receiver, error) {
	if v == nil {
		return nil, errors.New("webhook: NewReceiverFor needs a Verifier, for example one from package receiver")
	}
	c, err := receiverConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Receiver{custom: v, cfg: c}, nil
}

// receiverConfig copies cfg, fills defaults and validates it.
func receiverConfig(cfg *ReceiverConfig) (ReceiverConfig, error) {
	c := ReceiverConfig{}
	if cfg != nil {
		c = *cfg
	}
	if err := c.validate(); err != nil {
		return ReceiverConfig{}, err
	}
	return c.withDefaults(), nil
}

// Verify checks a Standard Webhooks message, exactly as the specification
// says: the webhook-id, webhook-timestamp and webhook-signature headers
// must be present, the timestamp within the tolerance of now either way,
// and one of the space-separated signatures must match one of the
// Receiver's secrets ("v1,", compared in constant time) or public keys
// ("v1a,"); other versions are skipped. Only the first 16 entries of
// webhook-signature are examined, which bounds the work an attacker can
// cause; senders rotating secrets send two or three. payload must be the
// body exactly as received.
//
// It returns the event: ID is webhook-id (the idempotency key); Type,
// Timestamp and Data come from the JSON body {"type", "timestamp",
// "data"}, which is what a Dispatcher sends. A body without "data" is an
// event whose Data is the whole body. Errors wrap ErrMissingHeaders,
// ErrInvalidTimestamp, ErrTimestampTooOld, ErrTimestampTooNew,
// ErrNoMatchingSignature or ErrMalformedPayload.
func (r *Receiver) Verify(payload []byte, h http.Header) (Event, error) {
	if r.custom != nil {
		return r.custom.Verify(payload, h)
	}
	id, _, err := r.std.verify(payload, h, r.cfg.Now())
	if err != nil {
		return Event{}, err
	}
	return parseEvent(id, payload)
}

// parseEvent decodes a Standard Webhooks body.
func parseEvent(id string, payload []byte) (Event, error) {
	var body struct {
		Type      *string         `json:"type"`
		Timestamp json.RawMessage `json:"timestamp"`
		Data      json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(payload, &body); err != nil {
		return Event{}, fmt.Errorf("%w: the body is not a JSON object with a string \"type\": %v", ErrMalformedPayload, err)
	}
	if body.Type == nil || *body.Type == "" {
		return Event{}, fmt.Errorf("%w: the body has no \"type\" naming the event", ErrMalformedPayload)
	}
	e := Event{ID: id, Type: *body.Type, Data: body.Data}
	if len(body.Timestamp) > 0 && !bytes.Equal(body.Timestamp, []byte("null")) {
		if err := json.Unmarshal(body.Timestamp, &e.Timestamp); err != nil {
			return Event{}, fmt.Errorf("%w: \"timestamp\" is not an RFC 3339 time string: %v", ErrMalformedPayload, err)
		}
	}
	if e.Data == nil {
		e.Data = append(json.RawMessage(nil), payload...)
	}
	return e, nil
}

// Permanent marks an error returned by a Handler function as one that
// trying again will not fix (an event the application refuses). Handler
// answers it with 422 Unprocessable Entity and the error's message as a
// text body, which senders show to whoever looks at the failed delivery;
// every other error is answered 500 without detail. Whether the sender
// stops retrying is its own policy. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Status codes Handler answers with, besides 204 on success.
const (
	// statusPermanent answers a Permanent error.
	statusPermanent = http.StatusUnprocessableEntity
	// busyRetryAfter is the Retry-After, in seconds, of a 409 answered to
	// a duplicate that arrives while the first copy is being handled.
	busyRetryAfter = 5
)

// Handler returns an http.Handler that receives webhooks and calls fn with
// each verified event. It answers:
//
//   - 413 when the body exceeds ReceiverConfig.MaxBodyBytes;
//   - 400 when headers or body are malformed (missing headers, a timestamp
//     that is not a number, a body that is not the expected JSON), and 401
//     when the signature does not match or the timestamp is outside the
//     tolerance, with the reason as a text body; fn is not called;
//   - 204 without calling fn when the event's ID was handled successfully
//     within ReceiverConfig.DedupeWindow;
//   - 409 with Retry-After when another request is handling the same ID
//     right now: fn never runs twice at once for one ID;
//   - 204 when fn returns nil; the ID is then remembered;
//   - 422 with the message when fn returns an error marked with Permanent,
//     500 without detail for any other error (logged), so that the sender
//     retries. Either way the ID is not remembered, and a new delivery runs
//     fn again.
//
// fn gets the request's context. Events without an ID are not deduplicated.
func (r *Receiver) Handler(fn func(ctx context.Context, e Event) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.serve(w, req, fn)
	})
}

// serve handles one request; see Handler.
func (r *Receiver) serve(w http.ResponseWriter, req *http.Request, fn func(context.Context, Event) error) {
	ctx := req.Context()
	payload, err := io.ReadAll(http.MaxBytesReader(w, req.Body, r.cfg.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			httpError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("webhook: the body exceeds %d bytes", r.cfg.MaxBodyBytes))
			return
		}
		httpError(w, http.StatusBadRequest, "webhook: reading the body failed")
		return
	}
	e, err := r.Verify(payload, req.Header)
	if err != nil {
		httpError(w, verifyStatus(err), err.Error())
		return
	}
	log := r.cfg.Logger.With("webhook_id", e.ID, "event_type", e.Type)
	if e.ID != "" {
		status, err := r.cfg.Dedupe.Claim(ctx, e.ID, r.cfg.Now())
		if err != nil {
			log.ErrorContext(ctx, "dedupe store claim failed", "error", err)
			httpError(w, http.StatusInternalServerError, "webhook: internal error")
			return
		}
		switch status {
		case DedupeHandled:
			w.WriteHeader(http.StatusNoContent)
			return
		case DedupeBusy:
			w.Header().Set("Retry-After", strconv.Itoa(busyRetryAfter))
			httpError(w, http.StatusConflict, "webhook: a delivery with this webhook-id is being handled; retry later")
			return
		}
	}
	err = r.call(ctx, e, fn, log)
	switch {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
	case errors.As(err, new(*permanentError)):
		httpError(w, statusPermanent, err.Error())
	default:
		log.ErrorContext(ctx, "webhook handler failed", "error", err)
		httpError(w, http.StatusInternalServerError, "webhook: the handler failed; retry later")
	}
}

// call runs fn and settles the dedupe claim on e.ID, also when fn panics.
func (r *Receiver) call(ctx context.Context, e Event, fn func(context.Context, Event) error, log *slog.Logger) (err error) {
	if e.ID == "" {
		return fn(ctx, e)
	}
	// The claim is settled even when the client has gone away.
	settle := context.WithoutCancel(ctx)
	finished := false
	defer func() {
		if finished {
			return
		}
		if rerr := r.cfg.Dedupe.Release(settle, e.ID); rerr != nil {
			log.ErrorContext(ctx, "dedupe store release failed", "error", rerr)
		}
	}()
	if err = fn(ctx, e); err != nil {
		return err
	}
	finished = true
	now := r.cfg.Now()
	if ferr := r.cfg.Dedupe.Finish(settle, e.ID, now, now.Add(r.cfg.DedupeWindow)); ferr != nil {
		// fn succeeded: answer 2xx anyway, at the risk of one duplicate.
		log.ErrorContext(ctx, "dedupe store finish failed", "error", ferr)
	}
	return nil
}

// verifyStatus maps a Verify error to an HTTP status: 400 for malformed
// requests, 401 for everything that makes a request not authentic.
func verifyStatus(err error) int {
	for _, malformed := range []error{ErrMissingHeaders, ErrMalformedHeader, ErrInvalidTimestamp, ErrMalformedPayload} {
		if errors.Is(err, malformed) {
			return http.StatusBadRequest
		}
	}
	return http.StatusUnauthorized
}

// httpError answers status with a one-line text body.
func httpError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg+"\n")
}
