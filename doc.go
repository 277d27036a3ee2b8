// Package webhook sends and receives webhooks from inside a Go service:
// subscriptions, signed deliveries with retries, an attempt log, and a
// verifying receiver, with no infrastructure beyond the host process and a
// Store of its choosing.
//
// One import serves both sides. A sending service creates a Dispatcher,
// registers Subscriptions and calls Publish; a receiving service verifies
// requests with Verify (or a Receiver). Signatures follow the Standard
// Webhooks specification, so receivers may use any Standard Webhooks
// library, and this package can verify any Standard Webhooks sender.
//
// # Sending
//
// NewDispatcher takes a Store, which is required, and a *Config, where nil
// means defaults:
//
//	d, err := webhook.NewDispatcher(memstore.New(), nil)
//	...
//	res, err := d.Publish(ctx, webhook.Event{Type: "invoice.paid", Data: data})
//
// Publish validates the event, then stores it and one pending Delivery per
// matching subscription in one atomic store operation, and returns. It does
// not wait for the deliveries. The event ID (generated when empty) is the
// idempotency key: it is sent as webhook-id, and publishing an ID that is
// already stored stores nothing and returns a PublishResult with Duplicate
// set, so retrying a Publish whose outcome is unknown is safe.
//
// Without Start, a Dispatcher is publish-only. Start runs the delivery loop
// in the background; Run does the same until its context ends, for main
// functions.
//
// # Subscriptions
//
// A Subscription names a URL, a method (POST, PUT or DELETE), the event
// types it wants, exactly or as patterns where "*" stands for any run of
// characters ("invoice.*", "*"), and static request headers. Subscriptions
// and events carry a Tenant: a subscription receives only its own tenant's
// events. SubscriptionCreate returns the subscription with its signing
// secret; the secret is never returned again by Get, List or Update.
// Invalid input is a *ValidationError (matching ErrInvalid) that names
// every bad field and what is accepted.
//
// # Delivery semantics
//
// Delivery is at least once. The loop claims due deliveries from the store
// in bounded batches, each under a lease (Config.LeaseDuration); if the
// process dies mid-attempt, the lease expires and the delivery is due
// again, so a receiver may see an event more than once and should
// deduplicate by webhook-id. The loop never holds more deliveries than it
// has workers, wakes at once on Publish, and otherwise sleeps until the
// next delivery is due: there is no polling interval. A worker that
// finishes an attempt claims the next due delivery itself, in the same
// store operation that records the outcome when the Store is a
// DeliveryUpdateClaimer (memstore and boltstore are: one lock, or one
// transaction and one fsync, per delivery), and workers stay for the whole
// run.
//
// Each attempt sends the subscription's method to its URL with the body
// {"id","type","timestamp","data"} (built once by Publish and shared by
// all the event's deliveries while the store keeps the event as Publish gave
// it, as memstore does), and the headers content-type
// (application/json), user-agent (hooksmith/Version), webhook-id,
// webhook-timestamp and webhook-signature, plus the subscription's own
// headers. Requests go out over HTTP/1.1 (with TLS for https), on
// keep-alive connections kept per host (up to Config.Workers idle each,
// twice that in all, for up to 90 s), each written and read by the worker that sends on it,
// with net/http's wire code but not its Transport, whose goroutines and
// channels per connection cost about a quarter of a request's CPU. A
// request that fails on a reused connection before any byte of an answer
// came (the receiver had closed it) is sent once more on a new one. Then:
//
//   - 2xx: succeeded.
//   - 3xx: failed attempt; redirects are not followed.
//   - 410 Gone: the delivery fails and the subscription is disabled.
//   - 429 and 503 with Retry-After: retried after the delay asked for,
//     capped by Config.MaxRetryAfter.
//   - Anything else, timeouts and connection errors included: retried after
//     Config.Backoff(attempts), by default exponential with jitter (about
//     5 s, 20 s, 80 s, 5 min, 21 min, 85 min, 5.7 h, then every 8 h), until
//     Config.MaxAttempts (16, about three days) or Config.CheckRetry says
//     stop. Then the delivery is failed and kept.
//
// The schedule is computed from the attempt count stored with the delivery,
// so a restart continues it. Every attempt is logged with its time,
// duration, status code, error and the first 4 KiB of the answer;
// DeliveryGet and DeliveryList return the log, and DeliveryRetry sends a
// finished delivery again.
//
// Attempts are bounded by Config.AttemptTimeout (15 s), by Config.Workers
// in all and by Config.MaxInFlightPerSubscription per subscription, so one
// slow receiver cannot hold every worker. Deliveries that come due while
// their subscription is disabled, or after it was deleted, are cancelled
// (they stay listed, and DeliveryRetry can send them once it is enabled).
//
// By default deliveries to loopback, private, link-local and other
// non-public addresses are refused when dialling, after DNS resolution, so
// subscription URLs cannot reach into the host's network (SSRF). Set
// Config.AllowPrivateNetworks for tests and internal receivers.
//
// # Pull delivery
//
// A consumer that cannot receive HTTP calls (behind a firewall, on a
// laptop) subscribes with Mode ModePull and no URL. Publish appends each
// matching event to that subscription's ordered feed, in the same store
// operation that stores the event, and the consumer reads the feed:
//
//	for {
//		res, err := d.Poll(ctx, sub.ID, webhook.PollParams{})
//		...process res.Events...
//		err = d.CommitCursor(ctx, sub.ID, res.NextCursor)
//	}
//
// Poll returns at once when events wait past the cursor (by default the
// committed position); otherwise it long-polls: Publish wakes it, or it
// returns an empty batch when PollParams.Wait ends (10 s by default, 1 s to
// 5 minutes). A batch holds at most PollParams.Limit events (100, at most
// 1000) and about PollParams.MaxBatchBytes of event data (512 KiB; a larger
// event comes alone). Each event carries its own cursor, so a consumer can
// commit part of a batch.
//
// Delivery is at least once: until a cursor is committed, polling from the
// committed position returns the same events again. PollParams.AutoCommit
// commits the batch as it is returned, which makes that batch at most once.
// The committed position only moves forward; CursorReset moves it anywhere,
// to CursorOldest to replay, or to CursorLatest to skip a backlog. Feeds and
// positions live in the Store, so with boltstore they survive restarts.
//
// A subscription has one consumer at a time: a second Poll while one runs
// fails at once with ErrConcurrentPoll. Polls of different subscriptions
// run in parallel. Events published more than Config.Retention ago (30
// days) are no longer returned; a cursor that points before them fails with
// ErrCursorExpired, and the consumer resets to CursorOldest.
//
// # Event log
//
// EventGet returns a stored event; EventList pages through them, newest or
// oldest first, filtered by tenant, type pattern and time range, with a
// cursor that stays valid while events are published. DeliveryList filters
// by subscription and creation time, so "the last 30 days of deliveries of
// this subscription" is one call.
//
// # Calling third-party APIs
//
// A subscription can shape its request for an API that knows nothing of
// webhooks. Subscription.Template replaces the body: "{{Body.a.b}}" and
// "{{Body.items.0.id}}" insert the event's data, "{{Header.id}}",
// "{{Header.type}}", "{{Header.timestamp}}", "{{Header.tenant}}" and
// "{{Header.<metadata key>}}" its header fields, each escaped for where it
// stands (JSON-escaped inside a JSON string, raw JSON where it stands alone
// as a value, query-escaped in form bodies, path-escaped in the URL, which
// may hold tags too). A missing value renders empty (null where it stands
// alone as a JSON value) and is listed in the attempt log. Templates are
// parsed once per subscription version and rejected, with line and column,
// when they cannot parse or cannot render valid JSON.
//
// Subscription.Auth adds a bearer token, basic auth and custom
// authentication headers. A credential given as a reference
// ("config://path", "env://NAME") is resolved by Config.Secrets each time a
// request is sent; one that cannot be resolved fails the attempt, which is
// retried, and the request is never sent without it. Subscription.Transform
// names a TransformFunc from Config.Transforms that may rewrite a request
// or skip it (SkipDelivery). The signature is computed over the final
// body.
//
// # Signing secrets
//
// Deliveries are signed with the subscription's "whsec_" secret (Standard
// Webhooks v1, HMAC-SHA256), or with an ed25519 key when its
// SignatureScheme is "v1a" (receivers verify with PublicKey).
// SubscriptionRotateSecret replaces the secret and keeps the old one
// signing beside it for Config.SecretOverlap, so receivers can switch at
// their own pace.
//
// # Receiving
//
// Verify checks the Standard Webhooks headers and signature of a request
// against a subscription's secret. Receiver adds several secrets (for
// rotation) and "whpk_" public keys (for v1a), deduplication by webhook-id
// (DedupeStore, in memory by default), a body size cap, and an
// http.Handler that answers 204, 400, 401, 409 (same ID in progress), 413,
// 422 (Permanent) or 500, so the sender knows whether to retry. Package
// receiver verifies GitHub, Stripe and plain HMAC (Shopify-style) webhooks
// with the same Handler; receiver/boltdedupe remembers handled IDs across
// restarts.
//
// # Management API
//
// Package httpapi serves subscriptions, deliveries, the event log and
// pull over REST as one http.Handler, scoped to the tenant the host's
// Authorize function names, with an OpenAPI 3.1 document of its routes.
//
// # Stores
//
// The Store interface is the persistence contract. store/memstore keeps
// everything in memory, for tests and ephemeral use; store/boltstore keeps
// it in a bbolt file and survives crashes. Every Store passes the
// conformance suite in store/storetest. A Store may also implement
// DeliveryUpdateClaimer, which storetest then checks too.
//
// # Shutdown
//
// Shutdown stops claiming, waits for in-flight attempts until its context
// ends, then aborts the rest, leaving their deliveries pending without
// counting an attempt. Nothing is lost: the next Start (or a Dispatcher in
// the next process, with a durable store) delivers what is left. It then
// closes the idle connections to receivers, so that a stopped Dispatcher
// holds no sockets.
//
// # Logging
//
// The Dispatcher logs through Config.Logger. It never logs secrets or
// signatures, and logs URLs with user info and query values redacted.
package webhook
