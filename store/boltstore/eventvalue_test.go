package boltstore

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEventValue(t *testing.T) {
	record := []byte(`{"id":"evt_1","data":{}}`)
	require.Equal(t, record, eventValue(record, nil), "without deliveries, the record alone")

	raw := eventValue(record, []string{"dlv_b", "", "dlv_a"})
	ids, listed, got, err := splitEventValue(raw)
	require.NoError(t, err)
	require.True(t, listed)
	require.Equal(t, []string{"", "dlv_a", "dlv_b"}, ids)
	require.Equal(t, record, got)
	got, err = eventRecordOf(raw)
	require.NoError(t, err)
	require.Equal(t, record, got)

	ids, listed, got, err = splitEventValue(record)
	require.NoError(t, err)
	require.False(t, listed)
	require.Nil(t, ids)
	require.Equal(t, record, got)

	// Every cut inside the list is reported, not read past.
	listLen := len(raw) - len(record)
	for n := 1; n < listLen; n++ {
		_, _, _, err := splitEventValue(raw[:n])
		require.ErrorIs(t, err, errBadEventValue, "cut at %d", n)
		_, err = eventRecordOf(raw[:n])
		require.ErrorIs(t, err, errBadEventValue, "cut at %d", n)
	}
}
