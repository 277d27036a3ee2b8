package webhook

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestIDsSortInTheOrderTheyWereMade(t *testing.T) {
	t.Parallel()
	var g idGen
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	times := []time.Time{base, base, base, base.Add(time.Millisecond), base.Add(-time.Hour), base.Add(time.Second)}
	prev := ""
	for i, at := range times {
		id := g.next("evt", at)
		require.True(t, strings.HasPrefix(id, "evt_"))
		require.Len(t, id, len("evt_")+26)
		require.Greater(t, id, prev, "ID %d made at %s", i, at)
		prev = id
	}
	// Different generators in different milliseconds sort by time too.
	var other idGen
	require.Greater(t, other.next("evt", base.Add(time.Minute)), g.next("evt", base.Add(2*time.Second)))
}
