package boltstore_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.etcd.io/bbolt"

	"github.com/hooksmith/webhook"
	"github.com/hooksmith/webhook/store/boltstore"
)

// leafFill returns how full the leaf pages of a bucket are, from 0 to 1.
func leafFill(t *testing.T, s *boltstore.Store, bucket string) float64 {
	t.Helper()
	var st bbolt.BucketStats
	require.NoError(t, s.DB().View(func(tx *bbolt.Tx) error {
		st = tx.Bucket([]byte(bucket)).Stats()
		return nil
	}))
	require.Positive(t, st.LeafAlloc)
	return float64(st.LeafInuse) / float64(st.LeafAlloc)
}

// insertEvents inserts the events of ids, one each, with a delivery.
func insertEvents(t *testing.T, s *boltstore.Store, ids []string) {
	t.Helper()
	data := []byte(`{"pad":"` + strings.Repeat("x", 300) + `"}`)
	for _, id := range ids {
		e := event("evt_"+id, t0)
		e.Data = data
		require.NoError(t, s.EventInsert(t.Context(), e, []*webhook.Delivery{delivery("dlv_"+id, "evt_"+id, t0)}, nil))
	}
}

// TestAppendsFillPages checks that events and deliveries inserted in key
// order, as Publish's generated IDs are, fill their pages instead of
// leaving them half empty, and that inserts in another order still work
// and leave pages as bbolt's default split does.
func TestAppendsFillPages(t *testing.T) {
	const n = 2000
	inOrder := make([]string, n)
	for i := range inOrder {
		inOrder[i] = fmt.Sprintf("%06d", i)
	}
	s := openTemp(t, &boltstore.Options{NoSync: true})
	insertEvents(t, s, inOrder)
	// Each insert is a transaction of its own here, so a page splits when
	// one more record overflows it, and bbolt leaves at least two records
	// for the next page: short of full, but well above half.
	require.Greater(t, leafFill(t, s, "events"), 0.68)
	require.Greater(t, leafFill(t, s, "deliveries"), 0.7)
	for _, b := range []string{"events_by_time", "dlv_by_sub", "due_by_sub"} {
		require.Greater(t, leafFill(t, s, b), 0.88, b)
	}

	// Reversed, every key lands before the others: half-full pages, as
	// before, and the same records.
	reversed := make([]string, n)
	for i := range reversed {
		reversed[i] = inOrder[n-1-i]
	}
	r := openTemp(t, &boltstore.Options{NoSync: true})
	insertEvents(t, r, reversed)
	for _, b := range []string{"deliveries", "events_by_time", "dlv_by_sub", "due_by_sub"} {
		require.Less(t, leafFill(t, r, b), 0.6, b)
	}
	for _, id := range []string{inOrder[0], inOrder[n/2], inOrder[n-1]} {
		_, err := r.EventGet(t.Context(), "evt_"+id)
		require.NoError(t, err)
		list, err := r.DeliveryList(t.Context(), webhook.DeliveryListParams{EventID: "evt_" + id})
		require.NoError(t, err)
		require.Len(t, list, 1)
	}
}
