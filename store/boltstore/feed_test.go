package boltstore_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.etcd.io/bbolt"

	"github.com/hooksmith/webhook"
	"github.com/hooksmith/webhook/store/boltstore"
)

func pullSub(id string) *webhook.Subscription {
	return &webhook.Subscription{ID: id, Mode: webhook.ModePull, EventTypes: []string{"*"}, Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
}

func feedInsert(t *testing.T, s *boltstore.Store, id string, ts, publishedAt time.Time, subs ...string) {
	t.Helper()
	var fes []*webhook.FeedEntry
	for _, sub := range subs {
		fes = append(fes, &webhook.FeedEntry{SubscriptionID: sub, EventID: id, PublishedAt: publishedAt})
	}
	require.NoError(t, s.EventInsert(t.Context(), event(id, ts), nil, fes))
}

func feedSeqs(t *testing.T, s *boltstore.Store, p webhook.FeedReadParams) ([]uint64, *webhook.FeedPage) {
	t.Helper()
	page, err := s.FeedRead(t.Context(), p)
	require.NoError(t, err)
	var out []uint64
	for _, fe := range page.Entries {
		out = append(out, fe.Seq)
	}
	return out, page
}

// TestFeedSurvivesReopen: entries not yet read and the committed position
// are in the file.
func TestFeedSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hooks.db")
	s, err := boltstore.Open(path, nil)
	require.NoError(t, err)
	ctx := t.Context()
	require.NoError(t, s.SubscriptionInsert(ctx, pullSub("sub_p")))
	for i := range 3 {
		feedInsert(t, s, fmt.Sprintf("evt_%d", i+1), t0, t0, "sub_p")
	}
	require.NoError(t, s.FeedCommit(ctx, "sub_p", 1, false))
	require.NoError(t, s.Close())

	s, err = boltstore.Open(path, nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	got, page := feedSeqs(t, s, webhook.FeedReadParams{SubscriptionID: "sub_p", FromCommitted: true, Limit: 10})
	require.Equal(t, uint64(1), page.Committed)
	require.Equal(t, []uint64{2, 3}, got)
	require.Equal(t, "evt_2", page.Entries[0].EventID)
	feedInsert(t, s, "evt_4", t0, t0, "sub_p")
	got, _ = feedSeqs(t, s, webhook.FeedReadParams{SubscriptionID: "sub_p", After: 3, Limit: 10})
	require.Equal(t, []uint64{4}, got, "numbering continues after a restart")
}

// TestPurgeTrimsFeeds: the purge removes feed entries with their events,
// keeps events that a feed entry published within the retention still
// needs, and a reader behind the purged entries is told.
func TestPurgeTrimsFeeds(t *testing.T) {
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "hooks.db"), &boltstore.Options{Retention: 24 * time.Hour, PurgeInterval: -1, NoSync: true})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	ctx := t.Context()
	require.NoError(t, s.SubscriptionInsert(ctx, pullSub("sub_p")))
	require.NoError(t, s.SubscriptionInsert(ctx, pullSub("sub_q")))
	old := t0.Add(-48 * time.Hour)
	feedInsert(t, s, "evt_1", old, old, "sub_p", "sub_q")
	feedInsert(t, s, "evt_2", old, old, "sub_p")
	// Old by its Timestamp, but published recently: its entry keeps it.
	feedInsert(t, s, "evt_backdated", old, t0, "sub_p")
	feedInsert(t, s, "evt_3", t0, t0, "sub_p")

	res, err := s.Purge(ctx, t0)
	require.NoError(t, err)
	require.Equal(t, 2, res.Events)
	for _, id := range []string{"evt_1", "evt_2"} {
		_, err := s.EventGet(ctx, id)
		require.ErrorIs(t, err, webhook.ErrNotFound, id)
	}
	_, err = s.EventGet(ctx, "evt_backdated")
	require.NoError(t, err)

	for _, after := range []uint64{0, 1} {
		got, page := feedSeqs(t, s, webhook.FeedReadParams{SubscriptionID: "sub_p", After: after, Limit: 10})
		require.True(t, page.Expired, "after %d: purged entries follow", after)
		require.Equal(t, uint64(2), page.Oldest)
		require.Empty(t, got)
	}
	got, page := feedSeqs(t, s, webhook.FeedReadParams{SubscriptionID: "sub_p", After: 2, Limit: 10})
	require.False(t, page.Expired)
	require.Equal(t, []uint64{3, 4}, got)
	require.Equal(t, "evt_backdated", page.Entries[0].EventID)

	_, page = feedSeqs(t, s, webhook.FeedReadParams{SubscriptionID: "sub_q", Limit: 10})
	require.True(t, page.Expired)
	require.Equal(t, uint64(1), page.Oldest, "every entry of sub_q was purged")
	require.Equal(t, uint64(1), page.Last)
}

// TestUpgradeFromV1: a file written before pull feeds (schema version 1)
// opens, gains the feed buckets and keeps its records.
func TestUpgradeFromV1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hooks.db")
	s, err := boltstore.Open(path, nil)
	require.NoError(t, err)
	require.NoError(t, s.SubscriptionInsert(t.Context(), pullSub("sub_p")))
	require.NoError(t, s.EventInsert(t.Context(), event("evt_1", t0), nil, nil))
	require.NoError(t, s.Close())

	db, err := bbolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bbolt.Tx) error {
		for _, b := range []string{"feed", "feed_by_event", "feed_state"} {
			if err := tx.DeleteBucket([]byte(b)); err != nil {
				return err
			}
		}
		return tx.Bucket([]byte("meta")).Put([]byte("version"), []byte{0, 0, 0, 1})
	}))
	require.NoError(t, db.Close())

	s, err = boltstore.Open(path, nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	_, err = s.EventGet(t.Context(), "evt_1")
	require.NoError(t, err)
	feedInsert(t, s, "evt_2", t0, t0, "sub_p")
	got, _ := feedSeqs(t, s, webhook.FeedReadParams{SubscriptionID: "sub_p", Limit: 10})
	require.Equal(t, []uint64{1}, got)
	require.NoError(t, s.DB().View(func(tx *bbolt.Tx) error {
		require.Equal(t, []byte{0, 0, 0, 3}, tx.Bucket([]byte("meta")).Get([]byte("version")))
		return nil
	}))
}
