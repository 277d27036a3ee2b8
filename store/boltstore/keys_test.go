package boltstore

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTimeKeyOrder(t *testing.T) {
	// Ascending; the first and last are clamped to the ends of the range.
	times := []time.Time{
		{}, // the zero time, year 1
		time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Unix(0, 0),
		time.Unix(0, 1),
		time.Date(2030, 3, 4, 12, 0, 0, 0, time.FixedZone("CET", 3600)),
		time.Date(2030, 3, 4, 12, 0, 0, 1, time.UTC),
		time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	for i := 1; i < len(times); i++ {
		a, b := timeKey(times[i-1]), timeKey(times[i])
		switch i {
		case 1: // both before the range: clamped to the same key
			require.Equal(t, a, b)
		default:
			require.Negative(t, bytes.Compare(a, b), "%v must sort before %v", times[i-1], times[i])
		}
	}
	for _, tm := range times[2:9] {
		require.True(t, keyTime(timeKey(tm)).Equal(tm), "%v round-trips", tm)
		require.Len(t, timeKey(tm), 8)
	}
}

func TestPrefixedKeysDoNotOverlap(t *testing.T) {
	// Without the length, "ab"+"c..." and "abc"+"..." would share a prefix.
	a := join(prefixed("ab"), []byte("cdef"))
	require.False(t, bytes.HasPrefix(a, prefixed("abc")))
	require.True(t, bytes.HasPrefix(a, prefixed("ab")))
	require.True(t, bytes.HasPrefix(join(prefixed(""), []byte("x")), prefixed("")))
	require.False(t, bytes.HasPrefix(join(prefixed("a"), []byte("x")), prefixed("")))
}
