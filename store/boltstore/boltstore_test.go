package boltstore_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.etcd.io/bbolt"

	"github.com/hooksmith/webhook"
	"github.com/hooksmith/webhook/store/boltstore"
	"github.com/hooksmith/webhook/store/storetest"
)

func TestConformance(t *testing.T) {
	t.Run("Open", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) webhook.Store {
			s, err := boltstore.Open(filepath.Join(t.TempDir(), "hooks.db"), nil)
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, s.Close()) })
			return s
		})
	})
	t.Run("New", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) webhook.Store {
			db, err := bbolt.Open(filepath.Join(t.TempDir(), "hooks.db"), 0o600, nil)
			require.NoError(t, err)
			s, err := boltstore.New(db, &boltstore.Options{NoSync: true})
			require.NoError(t, err)
			t.Cleanup(func() {
				require.NoError(t, s.Close())
				require.NoError(t, db.Close(), "Close must leave a caller's database open")
			})
			return s
		})
	})
}

// t0 is the tests' "now".
var t0 = time.Date(2030, time.March, 4, 12, 0, 0, 0, time.UTC)

func TestReopenKeepsEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hooks.db")
	s, err := boltstore.Open(path, nil)
	require.NoError(t, err)
	ctx := t.Context()
	require.NoError(t, s.SubscriptionInsert(ctx, &webhook.Subscription{ID: "sub_1", Tenant: "acme", URL: "https://example.com", EventTypes: []string{"*"}, Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}))
	require.NoError(t, s.EventInsert(ctx, event("evt_1", t0), []*webhook.Delivery{delivery("dlv_1", "evt_1", t0)}, nil))
	require.NoError(t, s.Close())

	require.ErrorIs(t, s.EventInsert(ctx, event("evt_2", t0), nil, nil), boltstore.ErrClosed)
	_, err = s.EventGet(ctx, "evt_1")
	require.ErrorIs(t, err, boltstore.ErrClosed)

	s, err = boltstore.Open(path, nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	sub, err := s.SubscriptionGet(ctx, "sub_1")
	require.NoError(t, err)
	require.Equal(t, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", sub.Secret)
	ds, err := s.DeliveryClaim(ctx, webhook.ClaimParams{Now: t0, Limit: 5, LeaseToken: "l", LeasedUntil: t0.Add(time.Minute)})
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, "dlv_1", ds[0].ID)
}

func event(id string, ts time.Time) *webhook.Event {
	return &webhook.Event{ID: id, Type: "invoice.paid", Timestamp: ts, Data: []byte(`{}`)}
}

func delivery(id, eventID string, due time.Time) *webhook.Delivery {
	return &webhook.Delivery{
		ID: id, EventID: eventID, EventType: "invoice.paid", SubscriptionID: "sub_1",
		State: webhook.DeliveryPending, NextAttemptAt: due, CreatedAt: due, UpdatedAt: due,
	}
}

func TestOpenRejectsBadFiles(t *testing.T) {
	dir := t.TempDir()
	valid := filepath.Join(dir, "valid.db")
	s, err := boltstore.Open(valid, nil)
	require.NoError(t, err)
	require.NoError(t, s.EventInsert(t.Context(), event("evt_1", t0), []*webhook.Delivery{delivery("dlv_1", "evt_1", t0)}, nil))
	require.NoError(t, s.Close())
	validBytes, err := os.ReadFile(valid)
	require.NoError(t, err)

	// write makes a file with the given content and returns its path.
	write := func(name string, content []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, content, 0o600))
		return p
	}
	// withBolt makes a bbolt file and lets fn shape its content.
	withBolt := func(name string, fn func(tx *bbolt.Tx) error) string {
		p := filepath.Join(dir, name)
		db, err := bbolt.Open(p, 0o600, nil)
		require.NoError(t, err)
		require.NoError(t, db.Update(fn))
		require.NoError(t, db.Close())
		return p
	}
	setMeta := func(key string, value []byte) func(tx *bbolt.Tx) error {
		return func(tx *bbolt.Tx) error { return tx.Bucket([]byte("meta")).Put([]byte(key), value) }
	}
	newerPath := filepath.Join(dir, "newer.db")
	require.NoError(t, os.WriteFile(newerPath, validBytes, 0o600))
	db, err := bbolt.Open(newerPath, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(setMeta("version", []byte{0, 0, 0, 99})))
	require.NoError(t, db.Close())

	foreignMarker := filepath.Join(dir, "marker.db")
	require.NoError(t, os.WriteFile(foreignMarker, validBytes, 0o600))
	db, err = bbolt.Open(foreignMarker, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(setMeta("format", []byte("someone else"))))
	require.NoError(t, db.Close())

	tests := []struct {
		name    string
		path    string
		wantErr error
		wantMsg string
	}{
		{"text file", write("text.db", []byte("hello, this is not a database\n")), boltstore.ErrForeignFile, "not a valid bbolt database"},
		{"random bytes", write("random.db", randomish(64<<10)), boltstore.ErrForeignFile, "torn or corrupt"},
		{"torn: first 100 bytes", write("torn-head.db", validBytes[:100]), boltstore.ErrForeignFile, "torn"},
		{"torn: metadata pages zeroed", write("torn-meta.db", zeroFirst(validBytes, 2*os.Getpagesize())), boltstore.ErrForeignFile, "torn"},
		{"another program's bbolt file", withBolt("other.db", func(tx *bbolt.Tx) error {
			b, err := tx.CreateBucket([]byte("widgets"))
			if err != nil {
				return err
			}
			return b.Put([]byte("k"), []byte("v"))
		}), boltstore.ErrForeignFile, `"widgets"`},
		{"foreign format marker", foreignMarker, boltstore.ErrForeignFile, "someone else"},
		{"newer schema", newerPath, boltstore.ErrNewerSchema, "schema version 99"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, err := os.ReadFile(tt.path)
			require.NoError(t, err)
			s, err := boltstore.Open(tt.path, &boltstore.Options{OpenTimeout: time.Second})
			require.ErrorIs(t, err, tt.wantErr)
			require.Nil(t, s)
			require.Contains(t, err.Error(), tt.wantMsg)
			require.Contains(t, err.Error(), tt.path, "the error names the file")
			after, err := os.ReadFile(tt.path)
			require.NoError(t, err)
			require.Equal(t, before, after, "a rejected file is left untouched")
		})
	}
}

// randomish returns n bytes of a fixed pseudo-random pattern.
func randomish(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

func zeroFirst(b []byte, n int) []byte {
	c := append([]byte(nil), b...)
	clear(c[:min(n, len(c))])
	return c
}

func TestNewRejectsForeignDB(t *testing.T) {
	db, err := bbolt.Open(filepath.Join(t.TempDir(), "other.db"), 0o600, nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	require.NoError(t, db.Update(func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucket([]byte("sessions"))
		return err
	}))
	s, err := boltstore.New(db, nil)
	require.ErrorIs(t, err, boltstore.ErrForeignFile)
	require.Nil(t, s)
}

func TestPurge(t *testing.T) {
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "hooks.db"), &boltstore.Options{
		Retention:     24 * time.Hour,
		PurgeInterval: -1,
		NoSync:        true, // this test is about what is purged, not durability
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	ctx := t.Context()
	old := t0.Add(-48 * time.Hour)

	// Enough old, finished events to need two purge transactions (each
	// deletes about 2,000 records; an event and its delivery are two).
	const oldFinished = 1200
	for i := range oldFinished {
		id := fmt.Sprintf("old_%05d", i)
		d := delivery("dlv_"+id, "evt_"+id, old)
		d.State = webhook.DeliverySucceeded
		require.NoError(t, s.EventInsert(ctx, event("evt_"+id, old), []*webhook.Delivery{d}, nil))
	}
	// An old event whose delivery failed after two attempts: purged with
	// its attempts.
	require.NoError(t, s.EventInsert(ctx, event("evt_failed", old), []*webhook.Delivery{delivery("dlv_failed", "evt_failed", old)}, nil))
	for n := range 2 {
		now := old.Add(time.Duration(n) * time.Hour)
		ds, err := s.DeliveryClaim(ctx, webhook.ClaimParams{Now: now, Limit: 1, LeaseToken: fmt.Sprint("l", n), LeasedUntil: now.Add(time.Minute)})
		require.NoError(t, err)
		require.Len(t, ds, 1)
		st := webhook.DeliveryPending
		if n == 1 {
			st = webhook.DeliveryFailed
		}
		require.NoError(t, s.DeliveryUpdate(ctx, webhook.DeliveryUpdate{
			DeliveryID: "dlv_failed", LeaseToken: fmt.Sprint("l", n), Attempt: &webhook.Attempt{StartedAt: now, StatusCode: 500},
			State: st, AttemptCount: n + 1, NextAttemptAt: now.Add(time.Hour), LastError: "HTTP 500", UpdatedAt: now,
		}))
	}
	// An old event with one pending and one finished delivery: kept whole.
	done := delivery("dlv_keep_done", "evt_keep", old)
	done.State = webhook.DeliverySucceeded
	require.NoError(t, s.EventInsert(ctx, event("evt_keep", old), []*webhook.Delivery{delivery("dlv_keep_pending", "evt_keep", t0.Add(time.Hour)), done}, nil))
	// A recent event: kept.
	recent := delivery("dlv_recent", "evt_recent", t0)
	recent.State = webhook.DeliverySucceeded
	require.NoError(t, s.EventInsert(ctx, event("evt_recent", t0.Add(-time.Hour)), []*webhook.Delivery{recent}, nil))

	res, err := s.Purge(ctx, t0)
	require.NoError(t, err)
	require.Equal(t, boltstore.PurgeResult{Events: oldFinished + 1, Deliveries: oldFinished + 1, Attempts: 2}, res)

	for _, id := range []string{"evt_old_00000", fmt.Sprintf("evt_old_%05d", oldFinished-1), "evt_failed"} {
		_, err := s.EventGet(ctx, id)
		require.ErrorIs(t, err, webhook.ErrNotFound, id)
	}
	_, err = s.DeliveryGet(ctx, "dlv_failed")
	require.ErrorIs(t, err, webhook.ErrNotFound)
	for _, id := range []string{"evt_keep", "evt_recent"} {
		_, err := s.EventGet(ctx, id)
		require.NoError(t, err, id)
	}
	all, err := s.DeliveryList(ctx, webhook.DeliveryListParams{})
	require.NoError(t, err)
	var left []string
	for _, d := range all {
		left = append(left, d.ID)
	}
	require.Equal(t, []string{"dlv_keep_done", "dlv_keep_pending", "dlv_recent"}, left)
	sub, err := s.DeliveryList(ctx, webhook.DeliveryListParams{SubscriptionID: "sub_1"})
	require.NoError(t, err)
	require.Len(t, sub, 3, "the subscription index holds no purged delivery")

	res, err = s.Purge(ctx, t0)
	require.NoError(t, err)
	require.Equal(t, boltstore.PurgeResult{}, res, "nothing left to purge")

	// Once its last delivery is done, the kept event goes too.
	ds, err := s.DeliveryClaim(ctx, webhook.ClaimParams{Now: t0.Add(time.Hour), Limit: 1, LeaseToken: "lk", LeasedUntil: t0.Add(2 * time.Hour)})
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.NoError(t, s.DeliveryUpdate(ctx, webhook.DeliveryUpdate{DeliveryID: "dlv_keep_pending", LeaseToken: "lk", State: webhook.DeliverySucceeded, UpdatedAt: t0}))
	res, err = s.Purge(ctx, t0)
	require.NoError(t, err)
	require.Equal(t, boltstore.PurgeResult{Events: 1, Deliveries: 2}, res)
}

func TestPurgeDisabled(t *testing.T) {
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "hooks.db"), &boltstore.Options{Retention: -1, PurgeInterval: -1})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	require.NoError(t, s.EventInsert(t.Context(), event("evt_1", t0.AddDate(-10, 0, 0)), nil, nil))
	res, err := s.Purge(t.Context(), t0)
	require.NoError(t, err)
	require.Equal(t, boltstore.PurgeResult{}, res)
	_, err = s.EventGet(t.Context(), "evt_1")
	require.NoError(t, err)
}

// TestSubscriptionCache checks that the in-memory subscriptions follow only
// committed writes, whether they were loaded before or after the writes.
func TestSubscriptionCache(t *testing.T) {
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "hooks.db"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	ctx := t.Context()
	sub := &webhook.Subscription{ID: "sub_1", Tenant: "acme", URL: "https://example.com", EventTypes: []string{"invoice.paid"}}
	require.NoError(t, s.SubscriptionInsert(ctx, sub)) // before the cache loads
	match, err := s.SubscriptionMatch(ctx, "acme", "invoice.paid")
	require.NoError(t, err)
	require.Len(t, match, 1)

	dup := &webhook.Subscription{ID: "sub_1", Tenant: "acme", URL: "https://example.org", EventTypes: []string{"order.created"}}
	require.Error(t, s.SubscriptionInsert(ctx, dup), "a rolled back insert")
	got, err := s.SubscriptionGet(ctx, "sub_1")
	require.NoError(t, err)
	require.Equal(t, "https://example.com", got.URL)
	match, err = s.SubscriptionMatch(ctx, "acme", "order.created")
	require.NoError(t, err)
	require.Empty(t, match)

	require.ErrorIs(t, s.SubscriptionUpdate(ctx, &webhook.Subscription{ID: "sub_2", Tenant: "acme", EventTypes: []string{"*"}}), webhook.ErrNotFound)
	match, err = s.SubscriptionMatch(ctx, "acme", "order.created")
	require.NoError(t, err)
	require.Empty(t, match, "a failed update")

	// Get returns the cached value, read-only (webhook.Store ownership):
	// an update replaces it and leaves the value returned before as it was.
	upd := &webhook.Subscription{ID: "sub_1", Tenant: "acme", URL: "https://example.net", EventTypes: []string{"order.created"}}
	require.NoError(t, s.SubscriptionUpdate(ctx, upd))
	upd.EventTypes[0] = "mutated.by.caller"
	require.Equal(t, []string{"invoice.paid"}, got.EventTypes, "a value returned before the update")
	require.Equal(t, "https://example.com", got.URL)
	got, err = s.SubscriptionGet(ctx, "sub_1")
	require.NoError(t, err)
	require.Equal(t, []string{"order.created"}, got.EventTypes, "Update stores a copy")
	require.Equal(t, "https://example.net", got.URL)
}
