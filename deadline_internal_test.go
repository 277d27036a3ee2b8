package webhook

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAttemptDeadline(t *testing.T) {
	parent, abort := context.WithCancel(context.Background())
	defer abort()

	// Attempts that finish in time share one context.
	a := &attemptDeadline{parent: parent, timeout: time.Hour}
	first := a.start()
	a.stop()
	for range 3 {
		require.Equal(t, first, a.start())
		a.stop()
	}
	require.NoError(t, first.Err())
	a.close()
	require.ErrorIs(t, first.Err(), context.Canceled, "close releases the context")

	// An attempt that overruns ends at its timeout; the next gets a new
	// context.
	a = &attemptDeadline{parent: parent, timeout: time.Millisecond}
	ctx := a.start()
	<-ctx.Done()
	require.True(t, a.timedOut())
	require.ErrorIs(t, context.Cause(ctx), ErrAttemptTimeout)
	a.stop()
	a.timeout = time.Hour
	next := a.start()
	require.NotEqual(t, ctx, next)
	require.NoError(t, next.Err())
	require.False(t, a.timedOut())
	a.stop()

	// A hard stop is not a timeout.
	abort()
	ctx = a.start()
	<-ctx.Done()
	require.False(t, a.timedOut())
	require.True(t, errors.Is(ctx.Err(), context.Canceled))
	a.stop()
	a.close()
}
