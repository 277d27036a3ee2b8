package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooksmith/webhook"
)

// The part of the suite for stores that implement
// webhook.DeliveryUpdateClaimer; Run adds it only for those.

// updateClaimTests are the subtests of DeliveryUpdateClaim.
var updateClaimTests = []struct {
	name string
	run  func(t *testing.T, s webhook.Store)
}{
	{"DeliveryUpdateClaim", testDeliveryUpdateClaim},
	{"DeliveryUpdateClaimSeesUpdate", testDeliveryUpdateClaimSeesUpdate},
	{"DeliveryUpdateClaimRejected", testDeliveryUpdateClaimRejected},
	{"DeliveryUpdateClaimNothingDue", testDeliveryUpdateClaimNothingDue},
}

// updateClaim calls s.DeliveryUpdateClaim.
func updateClaim(t *testing.T, s webhook.Store, u webhook.DeliveryUpdate, p webhook.ClaimParams) ([]*webhook.Delivery, error) {
	t.Helper()
	c, ok := s.(webhook.DeliveryUpdateClaimer)
	require.True(t, ok, "newStore returned a store without DeliveryUpdateClaim, unlike the first one")
	return c.DeliveryUpdateClaim(t.Context(), u, p)
}

// requireClaimed checks that ds are the deliveries claimed with token until
// leasedUntil, as stored, without their attempts.
func requireClaimed(t *testing.T, s webhook.Store, ds []*webhook.Delivery, token string, leasedUntil time.Time) {
	t.Helper()
	for _, d := range ds {
		require.Equal(t, token, d.LeaseToken, d.ID)
		require.True(t, d.LeasedUntil.Equal(leasedUntil), "%s: LeasedUntil = %v", d.ID, d.LeasedUntil)
		require.Nil(t, d.Attempts, "%s: a claim does not fill in attempts", d.ID)
		stored := getDelivery(t, s, d.ID)
		stored.Attempts = nil
		requireDelivery(t, stored, d)
	}
}

// testDeliveryUpdateClaim records an outcome and claims in one call: the
// update is applied as by DeliveryUpdate, the claim made as by
// DeliveryClaim, Limit and Exclude included.
func testDeliveryUpdateClaim(t *testing.T, s webhook.Store) {
	// Due order: a0 a1 b1 c1 a2 b2 c2, then c3 (not yet due).
	publish(t, s, "evt_1",
		newDelivery("a0", "evt_1", "sub_a", "", t0.Add(-6*time.Second)),
		newDelivery("a1", "evt_1", "sub_a", "", t0.Add(-5*time.Second)),
		newDelivery("b1", "evt_1", "sub_b", "", t0.Add(-4*time.Second)),
		newDelivery("c1", "evt_1", "sub_c", "", t0.Add(-3*time.Second)),
		newDelivery("a2", "evt_1", "sub_a", "", t0.Add(-2*time.Second)),
		newDelivery("b2", "evt_1", "sub_b", "", t0.Add(-time.Second)),
		newDelivery("c2", "evt_1", "sub_c", "", t0),
		newDelivery("c3", "evt_1", "sub_c", "", t0.Add(time.Second)),
	)
	require.Equal(t, []string{"a0"}, ids(claim(t, s, t0, 1, "lease_1")))

	a := webhook.Attempt{Number: 99, StartedAt: t0, Duration: 150 * time.Millisecond, StatusCode: 200, ResponseBody: "ok"}
	var calls []string
	got, err := updateClaim(t, s, webhook.DeliveryUpdate{
		DeliveryID: "a0", LeaseToken: "lease_1", Attempt: &a,
		State: webhook.DeliverySucceeded, AttemptCount: 1, UpdatedAt: t0.Add(time.Second),
	}, webhook.ClaimParams{
		Now: t0, Limit: 3, LeaseToken: "lease_2", LeasedUntil: t0.Add(time.Minute),
		Exclude: func(sub string) bool {
			calls = append(calls, sub)
			return sub == "sub_b"
		},
	})
	require.NoError(t, err)

	want := newDelivery("a0", "evt_1", "sub_a", "", time.Time{}) // NextAttemptAt from u
	want.State = webhook.DeliverySucceeded
	want.AttemptCount = 1
	want.UpdatedAt = t0.Add(time.Second)
	a.Number = 1 // numbered by the store
	want.Attempts = []webhook.Attempt{a}
	requireDelivery(t, want, getDelivery(t, s, "a0"))

	require.Equal(t, []string{"a1", "c1", "a2"}, ids(got), "in due order, sub_b excluded, at most Limit")
	require.Equal(t, []string{"sub_a", "sub_b", "sub_c", "sub_a"}, calls,
		"Exclude is called once per due candidate, in due order, until it reports the candidate's subscription")
	requireClaimed(t, s, got, "lease_2", t0.Add(time.Minute))
	require.Equal(t, []string{"b1", "b2", "c2", "c3"}, ids(claim(t, s, t0.Add(time.Second), 10, "lease_3")),
		"excluded and left-over deliveries stay claimable; the succeeded one is not claimed")
}

// testDeliveryUpdateClaimSeesUpdate checks that the claim sees the state
// the update left: a delivery put back pending and due is claimed back in
// the same call, a finished one is not.
func testDeliveryUpdateClaimSeesUpdate(t *testing.T, s webhook.Store) {
	pendingAt(t, s, t0.Add(-time.Minute), t0)
	require.Equal(t, []string{"d1"}, ids(claim(t, s, t0, 1, "lease_1")), "d1 leased until t0+1m")

	a1 := webhook.Attempt{StartedAt: t0, StatusCode: 503, Error: "HTTP 503"}
	got, err := updateClaim(t, s, webhook.DeliveryUpdate{
		DeliveryID: "d1", LeaseToken: "lease_1", Attempt: &a1,
		State: webhook.DeliveryPending, AttemptCount: 1, NextAttemptAt: t0.Add(-30 * time.Second),
		LastError: "HTTP 503", UpdatedAt: t0,
	}, webhook.ClaimParams{Now: t0, Limit: 10, LeaseToken: "lease_2", LeasedUntil: t0.Add(time.Minute)})
	require.NoError(t, err)
	require.Equal(t, []string{"d1", "d2"}, ids(got), "d1, due again at t0-30s once its lease is cleared, comes first")
	requireClaimed(t, s, got, "lease_2", t0.Add(time.Minute))

	want := newDelivery("d1", "e-d1", "sub", "", t0.Add(-30*time.Second))
	want.AttemptCount = 1
	want.LastError = "HTTP 503"
	want.UpdatedAt = t0
	want.LeaseToken, want.LeasedUntil = "lease_2", t0.Add(time.Minute)
	a1.Number = 1
	want.Attempts = []webhook.Attempt{a1}
	requireDelivery(t, want, getDelivery(t, s, "d1"))

	// An hour later both leases have expired: d1 would be due again had
	// the update not finished it.
	t1 := t0.Add(time.Hour)
	a2 := webhook.Attempt{StartedAt: t1, StatusCode: 200}
	got, err = updateClaim(t, s, webhook.DeliveryUpdate{
		DeliveryID: "d1", LeaseToken: "lease_2", Attempt: &a2,
		State: webhook.DeliverySucceeded, AttemptCount: 2, UpdatedAt: t1,
	}, webhook.ClaimParams{Now: t1, Limit: 10, LeaseToken: "lease_3", LeasedUntil: t1.Add(time.Minute)})
	require.NoError(t, err)
	require.Equal(t, []string{"d2"}, ids(got), "a delivery the update finished is not claimed")
	requireClaimed(t, s, got, "lease_3", t1.Add(time.Minute))

	requireSucceededOnSecond(t, getDelivery(t, s, "d1"))
}

// testDeliveryUpdateClaimRejected checks that a rejected update changes
// nothing, and that the claim is made and returned with the rejection.
func testDeliveryUpdateClaimRejected(t *testing.T, s webhook.Store) {
	pendingAt(t, s, t0.Add(-4*time.Second), t0.Add(-3*time.Second), t0.Add(-2*time.Second), t0.Add(-time.Second))
	require.Equal(t, []string{"d1"}, ids(claim(t, s, t0, 1, "lease_1")))
	before := getDelivery(t, s, "d1")
	u := webhook.DeliveryUpdate{
		DeliveryID: "d1", Attempt: &webhook.Attempt{StartedAt: t0, StatusCode: 500},
		State: webhook.DeliveryFailed, AttemptCount: 1, LastError: "HTTP 500", UpdatedAt: t0,
	}
	tests := []struct {
		name, id, token string
		notFoundOK      bool
		want            string
	}{
		{"wrong token", "d1", "lease_wrong", false, "d2"},
		{"empty token", "d1", "", false, "d3"},
		{"missing delivery", "d_missing", "lease_1", true, "d4"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := u
			u.DeliveryID, u.LeaseToken = tt.id, tt.token
			token := fmt.Sprintf("lease_claim_%d", i)
			got, err := updateClaim(t, s, u, webhook.ClaimParams{Now: t0, Limit: 1, LeaseToken: token, LeasedUntil: t0.Add(time.Minute)})
			if tt.notFoundOK {
				require.True(t, errors.Is(err, webhook.ErrNotFound) || errors.Is(err, webhook.ErrLeaseLost), "got %v", err)
			} else {
				require.ErrorIs(t, err, webhook.ErrLeaseLost)
			}
			requireDelivery(t, before, getDelivery(t, s, "d1"))
			require.Equal(t, []string{tt.want}, ids(got), "the claim is made all the same")
			requireClaimed(t, s, got, token, t0.Add(time.Minute))
		})
	}

	// The rejected updates left the lease as it was.
	u.LeaseToken = "lease_1"
	got, err := updateClaim(t, s, u, webhook.ClaimParams{Now: t0, Limit: 1, LeaseToken: "lease_2", LeasedUntil: t0.Add(time.Minute)})
	require.NoError(t, err)
	require.Empty(t, got)
	after := getDelivery(t, s, "d1")
	require.Equal(t, webhook.DeliveryFailed, after.State)

	got, err = updateClaim(t, s, u, webhook.ClaimParams{Now: t0.Add(time.Hour), Limit: 1, LeaseToken: "lease_3", LeasedUntil: t0.Add(time.Hour + time.Minute)})
	require.ErrorIs(t, err, webhook.ErrLeaseLost, "a lease is used up by its update")
	requireDelivery(t, after, getDelivery(t, s, "d1"))
	require.Equal(t, []string{"d2"}, ids(got), "claimable again once its lease expired")
	requireClaimed(t, s, got, "lease_3", t0.Add(time.Hour+time.Minute))
}

// testDeliveryUpdateClaimNothingDue checks that a claim finding nothing due
// returns no delivery and no error, the update applied.
func testDeliveryUpdateClaimNothingDue(t *testing.T, s webhook.Store) {
	pendingAt(t, s, t0, t0.Add(time.Hour))
	require.Equal(t, []string{"d1"}, ids(claim(t, s, t0, 1, "lease_1")))

	got, err := updateClaim(t, s, webhook.DeliveryUpdate{
		DeliveryID: "d1", LeaseToken: "lease_1", Attempt: &webhook.Attempt{StartedAt: t0, StatusCode: 410},
		State: webhook.DeliveryFailed, AttemptCount: 1, LastError: "HTTP 410", UpdatedAt: t0,
	}, webhook.ClaimParams{Now: t0, Limit: 10, LeaseToken: "lease_2", LeasedUntil: t0.Add(time.Minute)})
	require.NoError(t, err)
	require.Empty(t, got)

	d1 := getDelivery(t, s, "d1")
	require.Equal(t, webhook.DeliveryFailed, d1.State)
	require.Equal(t, "HTTP 410", d1.LastError)
	require.Empty(t, d1.LeaseToken)
	require.True(t, d1.LeasedUntil.IsZero())
	require.Len(t, d1.Attempts, 1)
	require.Equal(t, 1, d1.Attempts[0].Number)
	require.Equal(t, webhook.DeliveryPending, getDelivery(t, s, "d2").State, "d2 is untouched")
	require.Empty(t, getDelivery(t, s, "d2").LeaseToken)
}
