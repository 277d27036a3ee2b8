// Package boltstore is a durable webhook.Store in one bbolt file: the
// embedded default for hosts that must not lose an event they were told was
// published, across restarts and crashes.
//
// # Basics
//
// Open opens or creates a file and Close closes it; only one Store, in one
// process, may have a file open (bbolt locks it; Open waits up to
// Options.OpenTimeout).
// New takes a *bbolt.DB the caller opened and still owns; nothing else may
// write the Store's buckets, since the Store keeps the subscriptions in
// memory (see Indexes). The Store's methods are safe for concurrent use. Every write is a bbolt write
// transaction, and every transaction is fsynced before the call returns,
// unless Options.NoSync says otherwise.
//
// # Publishing: the outbox and group commit
//
// EventInsert (the store side of Dispatcher.Publish) writes the event and
// all its deliveries in one write transaction: after a crash either all of
// them are in the file or none is, and a Publish that returned is in the
// file.
//
// bbolt allows one writer at a time and each commit costs an fsync, so one
// transaction per Publish caps throughput at the disk's fsync rate. Its own
// DB.Batch shares commits but waits a fixed delay (10 ms) to gather each
// batch. This package uses a group commit without a timer instead: Publish
// callers queue their write, and one goroutine takes everything queued,
// applies it in one transaction and fsyncs once. A lone caller is committed
// at once; while an fsync runs, the callers that arrive queue up and go
// together in the next one, so the batch size follows the load and the
// latency stays about one or two fsyncs. A duplicate event is rejected
// before it writes anything and does not disturb the other writes of its
// group; a write failing for another reason makes the group retry each
// write alone. Claims, delivery updates and releases, the writes of the
// delivery loop, share the same group commit, so the outcomes of many
// concurrent attempts cost one fsync too; DeliveryUpdateClaim (see
// webhook.DeliveryUpdateClaimer) records an outcome and claims the next
// deliveries in one write, so one transaction and one fsync where
// DeliveryUpdate then DeliveryClaim would wait for two. The rarer writes
// (subscriptions, resets, purges) take bbolt's writer lock directly.
//
// The time of an fsync grows with the pages a commit writes, so Publish
// writes few: most keys arrive in order (generated IDs, publish times and
// the indexes built on them), and where a transaction only appends to a
// bucket, the group commit has bbolt fill the pages it splits instead of
// leaving them half empty, as it does by default for inserts anywhere; and
// an event's delivery list is kept in the event's value, not in an index
// whose pages every commit would rewrite.
//
// # Indexes
//
// Records are kept by ID, and every hot path reads an index rather than
// scanning:
//
//   - due queues: each subscription's pending deliveries by effective due
//     time (the later of NextAttemptAt and LeasedUntil), then ID, and a
//     second index holding the first entry of each queue. DeliveryClaim
//     merges the queues in order with range scans, reading only as far as
//     it claims, and skips a subscription that its Exclude reports without
//     reading the rest of its queue, so one subscription's backlog at its
//     concurrency limit does not slow claims for the others.
//     DeliveryNextDue reads the first entries only. Neither decodes a
//     record it does not claim.
//   - subscriptions by tenant and exact event type, and the tenant's
//     subscriptions with "*" patterns apart. The Store also keeps every
//     subscription decoded in memory, indexed the same way, loaded on first
//     use and updated by its own subscription writes once they commit: the
//     Store is the file's only writer. SubscriptionMatch, on every Publish,
//     reads those two short lists in memory and SubscriptionGet, on every
//     delivery, a map; neither decodes JSON or copies: both return the
//     cached values, read-only as webhook.Store allows (a write replaces a
//     cached value, never changes it).
//   - deliveries by subscription (SubscriptionDelete, DeliveryList). An
//     event's deliveries are listed in the event's own value (DeliveryList,
//     retention), which Publish writes anyway, so that a commit of
//     publishes writes no index pages for them; events stored before
//     schema version 3 have theirs in an index by event instead.
//   - events by Timestamp, read by the retention purge and EventList.
//   - pull feeds: each pull subscription's entries by sequence number, with
//     a small state record (last sequence, committed position, purged-up-to
//     position), and the entries by event for the purge. EventInsert
//     numbers entries inside its transaction, so a reader never sees an
//     entry before those preceding it. FeedRead seeks to the position and
//     reads only the page it returns.
//   - attempts, one key per attempt under its delivery's ID.
//
// A claim writes the lease (LeaseToken, LeasedUntil) and moves the
// delivery's due entry to LeasedUntil in the same transaction, so a
// delivery whose holder dies becomes claimable again when the lease ends.
//
// # Retention
//
// Events older than Options.Retention (30 days by default), with their
// deliveries, attempts and pull feed entries, are deleted by a background
// purge every Options.PurgeInterval, or by calling Purge. An event with a
// pending delivery is never purged, nor is that delivery; nor is an event
// whose feed entry was published within the retention. A feed remembers
// how far it was purged, so a reader behind that point is told
// (webhook.ErrCursorExpired) rather than skipping events. Keep
// Options.Retention equal to the Dispatcher's webhook.Config.Retention. The purge works in
// transactions of bounded size (about 2,000 records), so Publish waits at
// most one such transaction.
//
// # File format
//
// The file holds a format marker and a schema version (3 since events list
// their deliveries; 2 since pull feeds). Open and New add the feed buckets
// to a version 1 file and mark a version 2 file as version 3, which needs
// no other change, unless it is opened read-only: a read-only version 2
// file is read as it is. Open and New refuse
// a file written by a newer release (ErrNewerSchema) and a file that is not
// a webhook store, is torn or is corrupt (ErrForeignFile), without changing
// it.
//
// # Caveats
//
// A claim, or DeliveryNextDue, whose Exclude reports many subscriptions
// reads one index entry for each of them. SubscriptionMatch reads every
// subscription of the event's tenant that has a pattern. The subscriptions
// take memory in proportion to their number and size, and the first
// SubscriptionMatch or SubscriptionGet after Open or New reads them all. DeliveryList
// filtered by tenant or state alone reads deliveries in ID order until it
// has enough: it is meant for inspection. The file does not shrink when
// records are deleted: bbolt reuses the free pages.
//
// The figures behind these choices come from BenchmarkPublish (group
// commit against bbolt's Update and Batch), BenchmarkClaimPending (claims
// and memory with a million pending deliveries) and BenchmarkDeliver.
package boltstore
