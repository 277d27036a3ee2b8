package boltstore

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// Bucket names. Every record and index is a top-level bucket; this is the
// layout of schema version schemaVersion. In key descriptions, lp(x) is x
// after its length as 2 bytes, and time(t) is timeKey(t).
var (
	bucketMeta         = []byte("meta")           // metaFormat, metaVersion
	bucketSubs         = []byte("subscriptions")  // sub ID -> JSON Subscription
	bucketSubsByTenant = []byte("subs_by_tenant") // lp(tenant) sub ID -> ""
	bucketSubsByType   = []byte("subs_by_type")   // lp(tenant) lp(exact event type) sub ID -> ""
	bucketSubsPatterns = []byte("subs_patterns")  // lp(tenant) sub ID -> ""; subs with a "*" pattern
	bucketEvents       = []byte("events")         // event ID -> delivery IDs and JSON Event (see listMark)
	bucketEventsByTime = []byte("events_by_time") // time(Timestamp) event ID -> ""
	bucketDeliveries   = []byte("deliveries")     // delivery ID -> JSON deliveryRecord
	bucketAttempts     = []byte("attempts")       // lp(delivery ID) uint32(number) -> JSON Attempt
	bucketDlvBySub     = []byte("dlv_by_sub")     // lp(sub ID) delivery ID -> ""
	bucketDlvByEvent   = []byte("dlv_by_event")   // lp(event ID) delivery ID -> ""; events stored before version 3
	bucketDueBySub     = []byte("due_by_sub")     // lp(sub ID) time(due) delivery ID -> ""; pending only
	bucketDueHeads     = []byte("due_heads")      // time(due) delivery ID -> sub ID; first of each sub in due_by_sub
	bucketDueHeadOf    = []byte("due_head_of")    // sub ID -> its key in due_heads
	bucketFeed         = []byte("feed")           // lp(sub ID) uint64(seq) -> time(PublishedAt) event ID; pull feeds
	bucketFeedByEvent  = []byte("feed_by_event")  // lp(event ID) lp(sub ID) uint64(seq) -> ""
	bucketFeedState    = []byte("feed_state")     // sub ID -> uint64 last, committed, trimmed, time(last PublishedAt)

	allBuckets = [][]byte{
		bucketMeta, bucketSubs, bucketSubsByTenant, bucketSubsByType, bucketSubsPatterns,
		bucketEvents, bucketEventsByTime,
		bucketDeliveries, bucketAttempts, bucketDlvBySub, bucketDlvByEvent,
		bucketDueBySub, bucketDueHeads, bucketDueHeadOf,
		bucketFeed, bucketFeedByEvent, bucketFeedState,
	}

	// addedInV2 are the buckets that schema version 2 added to version 1:
	// Open adds them to a version 1 file, which is all its upgrade takes.
	addedInV2 = [][]byte{bucketFeed, bucketFeedByEvent, bucketFeedState}
)

// Keys of bucketMeta, and the format name that marks a file as ours.
var (
	metaFormat  = []byte("format")
	metaVersion = []byte("version")
	formatName  = []byte("hooksmith/webhook boltstore")
)

// maxPrefixedLen is the longest ID or tenant a length prefix can hold.
const maxPrefixedLen = math.MaxUint16

// The range of times timeKey encodes exactly.
var (
	minKeyTime = time.Unix(0, math.MinInt64)
	maxKeyTime = time.Unix(0, math.MaxInt64)
)

// schemaVersion is the layout this package writes. A file with a larger
// version was written by a newer release and is refused. Version 2 added
// the pull feeds; version 3 stores each event's delivery list in its value
// instead of bucketDlvByEvent, which it reads for older events only.
const schemaVersion = 3

// minReadVersion is the oldest layout this package reads as it is, as in a
// file opened read-only, which is not upgraded: version 2 differs from 3
// only in where events list their deliveries, and both are read.
const minReadVersion = 2

// timeKey encodes t as 8 bytes that sort as the times do. Times outside the
// range of UnixNano (before 1678 or after 2262, the zero time included) are
// clamped to its ends.
func timeKey(t time.Time) []byte {
	var n int64
	switch {
	case t.Before(minKeyTime):
		n = math.MinInt64
	case t.After(maxKeyTime):
		n = math.MaxInt64
	default:
		n = t.UnixNano()
	}
	b := make([]byte, 8, 64)
	binary.BigEndian.PutUint64(b, uint64(n)^(1<<63))
	return b
}

// keyTime decodes the time at the start of a key made by timeKey.
func keyTime(k []byte) time.Time {
	return time.Unix(0, int64(binary.BigEndian.Uint64(k[:8])^(1<<63))).UTC()
}

// prefixed returns a 2-byte length followed by s, so that a prefix scan for
// one value never matches another that starts the same way.
func prefixed(s string) []byte {
	b := make([]byte, 2, 2+len(s)+32)
	binary.BigEndian.PutUint16(b, uint16(len(s)))
	return append(b, s...)
}

// join concatenates key parts into a new slice.
func join(parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// dueKey orders pending deliveries: effective due time, then ID. It is the
// key of bucketDueHeads, and of bucketDueBySub after the subscription.
func dueKey(due time.Time, id string) []byte {
	return append(timeKey(due), id...)
}

// attemptKey is the key of attempt number n of delivery id.
func attemptKey(id string, n int) []byte {
	k := prefixed(id)
	return binary.BigEndian.AppendUint32(k, uint32(n))
}

// checkIDs reports IDs (tenants, event types) too long for a length prefix.
func checkIDs(what string, ids ...string) error {
	for _, id := range ids {
		if len(id) > maxPrefixedLen {
			return fmt.Errorf("boltstore: %s: an ID or tenant of %d bytes is longer than the %d bytes allowed", what, len(id), maxPrefixedLen)
		}
	}
	return nil
}
