package boltstore_test

import (
	"encoding/binary"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.etcd.io/bbolt"

	"github.com/hooksmith/webhook"
	"github.com/hooksmith/webhook/store/boltstore"
)

// writeV2 makes path a schema version 2 file: the event evt_old, with a
// pending delivery and a succeeded one, stored as version 2 stored them,
// its value the event's JSON alone and its deliveries listed in
// dlv_by_event.
func writeV2(t *testing.T, path string) {
	t.Helper()
	s, err := boltstore.Open(path, &boltstore.Options{NoSync: true})
	require.NoError(t, err)
	done := delivery("dlv_old_b", "evt_old", t0)
	done.State = webhook.DeliverySucceeded
	e := event("evt_old", t0)
	require.NoError(t, s.EventInsert(t.Context(), e, []*webhook.Delivery{delivery("dlv_old_a", "evt_old", t0), done}, nil))
	require.NoError(t, s.Close())

	db, err := bbolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, db.Close()) }()
	require.NoError(t, db.Update(func(tx *bbolt.Tx) error {
		record, err := json.Marshal(e)
		if err != nil {
			return err
		}
		if err := tx.Bucket([]byte("events")).Put([]byte("evt_old"), record); err != nil {
			return err
		}
		byEvent := tx.Bucket([]byte("dlv_by_event"))
		for _, id := range []string{"dlv_old_a", "dlv_old_b"} {
			k := binary.BigEndian.AppendUint16(nil, uint16(len("evt_old")))
			k = append(append(k, "evt_old"...), id...)
			if err := byEvent.Put(k, nil); err != nil {
				return err
			}
		}
		return tx.Bucket([]byte("meta")).Put([]byte("version"), []byte{0, 0, 0, 2})
	}))
}

func deliveryIDs(t *testing.T, s *boltstore.Store, p webhook.DeliveryListParams) []string {
	t.Helper()
	list, err := s.DeliveryList(t.Context(), p)
	require.NoError(t, err)
	var ids []string
	for _, d := range list {
		ids = append(ids, d.ID)
	}
	return ids
}

// TestUpgradeFromV2: a version 2 file opens as version 3 without any
// other change; the deliveries of its events are still found through the
// old index, by DeliveryList and by the purge, beside those of events
// stored after the upgrade, which list theirs in their own value.
func TestUpgradeFromV2(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hooks.db")
	writeV2(t, path)

	s, err := boltstore.Open(path, &boltstore.Options{NoSync: true, Retention: time.Hour, PurgeInterval: -1})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	require.NoError(t, s.DB().View(func(tx *bbolt.Tx) error {
		require.Equal(t, []byte{0, 0, 0, 3}, tx.Bucket([]byte("meta")).Get([]byte("version")))
		return nil
	}))
	old, err := s.EventGet(t.Context(), "evt_old")
	require.NoError(t, err)
	require.Equal(t, "invoice.paid", old.Type)
	require.Equal(t, []string{"dlv_old_a", "dlv_old_b"}, deliveryIDs(t, s, webhook.DeliveryListParams{EventID: "evt_old"}))
	require.Equal(t, []string{"dlv_old_b"}, deliveryIDs(t, s, webhook.DeliveryListParams{EventID: "evt_old", After: "dlv_old_a"}))

	// A new event, listed in its value, given out of order.
	done := delivery("dlv_new_b", "evt_new", t0)
	done.State = webhook.DeliverySucceeded
	require.NoError(t, s.EventInsert(t.Context(), event("evt_new", t0), []*webhook.Delivery{done, delivery("dlv_new_a", "evt_new", t0)}, nil))
	require.Equal(t, []string{"dlv_new_a", "dlv_new_b"}, deliveryIDs(t, s, webhook.DeliveryListParams{EventID: "evt_new"}))
	require.Equal(t, []string{"dlv_new_a"}, deliveryIDs(t, s, webhook.DeliveryListParams{EventID: "evt_new", Limit: 1}))
	require.Equal(t, []string{"dlv_new_b"}, deliveryIDs(t, s, webhook.DeliveryListParams{EventID: "evt_new", After: "dlv_new_a"}))
	require.Empty(t, deliveryIDs(t, s, webhook.DeliveryListParams{EventID: "evt_none"}))
	entries := func() int {
		n := 0
		require.NoError(t, s.DB().View(func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte("dlv_by_event")).ForEach(func([]byte, []byte) error { n++; return nil })
		}))
		return n
	}
	require.Equal(t, 2, entries(), "only the old event's deliveries are in the old index")

	// Both events have a pending delivery: the purge keeps them whole.
	res, err := s.Purge(t.Context(), t0.Add(2*time.Hour))
	require.NoError(t, err)
	require.Equal(t, boltstore.PurgeResult{}, res)

	// Once they are done, it deletes them, and the old index entries.
	for _, id := range []string{"dlv_old_a", "dlv_new_a"} {
		ds, err := s.DeliveryClaim(t.Context(), webhook.ClaimParams{Now: t0, Limit: 1, LeaseToken: "l_" + id, LeasedUntil: t0.Add(time.Minute)})
		require.NoError(t, err)
		require.Len(t, ds, 1)
		require.NoError(t, s.DeliveryUpdate(t.Context(), webhook.DeliveryUpdate{
			DeliveryID: ds[0].ID, LeaseToken: "l_" + id, State: webhook.DeliverySucceeded, UpdatedAt: t0,
		}))
	}
	res, err = s.Purge(t.Context(), t0.Add(2*time.Hour))
	require.NoError(t, err)
	require.Equal(t, boltstore.PurgeResult{Events: 2, Deliveries: 4}, res)
	require.Zero(t, entries())
	_, err = s.DeliveryGet(t.Context(), "dlv_old_b")
	require.ErrorIs(t, err, webhook.ErrNotFound)
}

// TestReadOnlyV2: a version 2 file opened read-only is read as it is,
// without the upgrade that a read-only database cannot write.
func TestReadOnlyV2(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hooks.db")
	writeV2(t, path)
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	s, err := boltstore.New(db, &boltstore.Options{PurgeInterval: -1})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	require.Equal(t, []string{"dlv_old_a", "dlv_old_b"}, deliveryIDs(t, s, webhook.DeliveryListParams{EventID: "evt_old"}))
}
