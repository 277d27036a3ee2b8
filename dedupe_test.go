package webhook_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooksmith/webhook"
	"github.com/hooksmith/webhook/receiver/dedupetest"
)

func TestMemoryDedupeConformance(t *testing.T) {
	t.Parallel()
	dedupetest.Run(t, func(*testing.T) webhook.DedupeStore { return webhook.NewMemoryDedupe(1000) })
}

func TestMemoryDedupeIsBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t0 := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name   string
		max    int
		finish int
		// until gives the expiry of the i-th ID.
		until   func(i int) time.Time
		wantLen int
	}{
		{"oldest evicted beyond the limit", 3, 10, func(int) time.Time { return t0.Add(time.Hour) }, 3},
		{"under the limit nothing evicted", 20, 10, func(int) time.Time { return t0.Add(time.Hour) }, 10},
		{"expired IDs forgotten", 20, 10, func(i int) time.Time { return t0.Add(time.Duration(i-5) * time.Second) }, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := webhook.NewMemoryDedupe(tt.max)
			for i := range tt.finish {
				id := fmt.Sprint("msg_", i)
				st, err := m.Claim(ctx, id, t0)
				require.NoError(t, err)
				require.Equal(t, webhook.DedupeClaimed, st)
				require.NoError(t, m.Finish(ctx, id, t0, tt.until(i)))
			}
			require.Equal(t, tt.wantLen, m.Len())
			// The most recent ID is still remembered.
			st, err := m.Claim(ctx, fmt.Sprint("msg_", tt.finish-1), t0)
			require.NoError(t, err)
			require.Equal(t, webhook.DedupeHandled, st)
		})
	}
}

func TestMemoryDedupeRefinishedIDsStayBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t0 := time.Unix(1_700_000_000, 0)
	m := webhook.NewMemoryDedupe(2)
	for i := range 1000 {
		now := t0.Add(time.Duration(i) * time.Second)
		id := fmt.Sprint("msg_", i%3)
		st, err := m.Claim(ctx, id, now)
		require.NoError(t, err)
		if st == webhook.DedupeClaimed {
			require.NoError(t, m.Finish(ctx, id, now, now.Add(time.Hour)))
		}
		require.LessOrEqual(t, m.Len(), 3)
	}
	require.Equal(t, "claimed", webhook.DedupeClaimed.String())
	require.Equal(t, "handled", webhook.DedupeHandled.String())
	require.Equal(t, "busy", webhook.DedupeBusy.String())
}
