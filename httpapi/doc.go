// Package httpapi is the management REST API of a webhook.Dispatcher, as
// one http.Handler a host service mounts for its own users: subscriptions,
// their deliveries and attempt logs, and (optionally) publishing.
//
// # Basics
//
// New takes the Dispatcher and a *Config whose Authorize function is
// required. The routes are rooted at "/"; mount them under a prefix with
// the standard library's mux:
//
//	api := httpapi.New(d, &httpapi.Config{Authorize: authorize})
//	mux.Handle("/webhooks/", http.StripPrefix("/webhooks", api))
//
// The routes, JSON in and out:
//
//	POST   /subscriptions                       create (admins); 201 with the signing secret, once
//	GET    /subscriptions                       list: eventType, disabled, cursor, limit
//	GET    /subscriptions/{id}                  get, without secret
//	PUT    /subscriptions/{id}                  replace
//	PATCH  /subscriptions/{id}                  JSON merge patch (RFC 7396)
//	DELETE /subscriptions/{id}                  delete; 204
//	POST   /subscriptions/{id}/rotate-secret    new secret, answered once; optional {"secret": "..."}
//	POST   /subscriptions/{id}/enable           enable
//	POST   /subscriptions/{id}/disable          disable
//	GET    /subscriptions/{id}/deliveries       list: state, eventId, since, until, cursor, limit
//	GET    /deliveries/{id}                     get, with the attempt log
//	POST   /deliveries/{id}/retry               send again; 409 while pending
//	GET    /subscriptions/{id}/events           pull: cursor, limit, maxBatchSize, timeout, autoCommit
//	PUT    /subscriptions/{id}/cursor           pull: commit {"cursor": "..."}; with "reset": true, move anywhere
//	GET    /events                              event log (admins): type, since, until, order, cursor, limit
//	GET    /events/{id}                         one event (admins)
//	POST   /events                              publish (admins), only with Config.AllowPublish
//	GET    /openapi.json                        the OpenAPI 3.1 document of these routes; public
//
// # Authorization
//
// Config.Authorize authenticates each request and returns its Principal:
// a tenant and a role. An admin manages every subscription of its tenant;
// a user only the subscriptions listed in Principal.Subscriptions, and
// their deliveries, and may not create subscriptions, read the event log
// or publish. An error
// from Authorize is answered 401 (403 when it wraps ErrForbidden); a route
// or subscription the principal may not use, 403. Another tenant's
// subscriptions and deliveries are answered 404, exactly as missing ones,
// so that their existence is never revealed.
//
// # JSON
//
// Every name is camelCase. Times are RFC 3339 strings; durations are
// integers named for their unit (durationMs). Request bodies must be sent
// with Content-Type application/json (PATCH also takes
// application/merge-patch+json) and hold one JSON object; unknown fields
// are rejected. The read-only fields of a subscription (id, tenant,
// publicKey, previousSecretExpiresAt, createdAt, updatedAt) are accepted
// in requests, so that a GET answer can be edited and sent back with PUT:
// id and tenant must then be the subscription's own, the others are
// ignored. Literal credentials are answered as "redacted", and sending
// "redacted" back keeps the stored value.
//
// Secrets are answered only by POST /subscriptions and rotate-secret. A
// secret is changed only by rotate-secret, which keeps the old one signing
// for the Dispatcher's Config.SecretOverlap.
//
// Lists answer {"data": [...], "nextCursor": "..."} in ID (creation)
// order; pass nextCursor as the cursor parameter for the next page. The
// last page has no nextCursor. The limit parameter is 1 to LimitMax,
// LimitDefault when absent.
//
// # Pull subscriptions
//
// A subscription created with "mode": "pull" has no URL: its consumer
// reads its events with GET /subscriptions/{id}/events (Dispatcher.Poll).
// The answer is {"data": [{"cursor", "publishedAt", "event"}],
// "nextCursor", "more"}. Without events it waits up to timeout seconds (1
// to 300, default 10) for one, so the host's http.Server WriteTimeout must
// be longer than the longest timeout its consumers use. Events are not
// consumed by reading them: PUT /subscriptions/{id}/cursor with
// {"cursor": nextCursor} commits the batch (the position only moves
// forward), or poll with autoCommit=true (at most once). {"cursor":
// "oldest", "reset": true} rewinds to the oldest retained event, "latest"
// skips the backlog. One poll per subscription runs at a time: another is
// answered 409 concurrent_poll. A cursor before the retention period is
// answered 410 cursor_expired.
//
// # Errors
//
// Every error is answered in one shape:
//
//	{"error": {"code": "validation_failed", "message": "...", "fields": [{"field": "eventTypes[0]", "message": "..."}]}}
//
// with these statuses and codes: 400 bad_request (malformed JSON, unknown
// field, wrong type, bad query parameter), 401 unauthenticated (with
// WWW-Authenticate: Config.Challenge), 403
// forbidden, 404 not_found, 405 method_not_allowed (with an Allow header),
// 409 delivery_pending, concurrent_poll or not_pull_subscription, 410
// cursor_expired, 413 body_too_large (Config.MaxBodyBytes), 415
// unsupported_media_type, 422 validation_failed (every invalid field
// listed by its JSON path) and 500 internal, whose cause is logged to
// Config.Logger and not answered.
//
// # Caveats
//
// Enable, disable and PATCH read the subscription and write it back; two
// concurrent changes to one subscription can lose one of them, the last
// write winning. Users' lists read each subscription listed for them, so
// Principal.Subscriptions should stay short (tens, not thousands).
package httpapi
