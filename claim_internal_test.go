package webhook

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// lateExcludeStore gives up on a claim at once, as boltstore does when the
// claim's context ends while its group commit waits, and calls Exclude
// afterwards from a goroutine of its own, as that group then would.
type lateExcludeStore struct {
	Store // nil: only DeliveryClaim is called
	late  chan bool
}

func (s *lateExcludeStore) DeliveryClaim(ctx context.Context, p ClaimParams) ([]*Delivery, error) {
	go func() { s.late <- p.Exclude("sub_1") }()
	return nil, context.Canceled
}

// A store calling Exclude after the claim returned takes no slot: the
// claim is over, so the slot would never be given back.
func TestClaimerRefusesExcludeAfterClaim(t *testing.T) {
	t.Parallel()
	st := &lateExcludeStore{late: make(chan bool)}
	d, err := NewDispatcher(st, &Config{MaxInFlightPerSubscription: 1})
	require.NoError(t, err)
	c := d.newClaimer("lease_w")
	for range 3 {
		ds, err := c.claim(context.Background(), 1)
		require.ErrorIs(t, err, context.Canceled)
		require.Empty(t, ds)
		require.True(t, <-st.late, "Exclude after the claim reports the subscription")
	}
	require.False(t, d.saturated("sub_1"), "no slot was taken by a claim that had returned")
	require.Empty(t, d.perSub)
}
