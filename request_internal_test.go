package webhook

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// FuzzEnvelope holds marshalEnvelope, which appends the default body
// without reflection, to the bytes json.Marshal writes for it.
func FuzzEnvelope(f *testing.F) {
	for _, seed := range []struct {
		id, typ, data string
		unix          int64
	}{
		{"evt_1", "invoice.paid", `{"a":1}`, 1_700_000_000_123_456_789},
		{"evt <&>", "a\"b", `{"html":"<b>&amp;</b>"}`, 0},
		{"x", "y", "{ \"spaced\" : [1, 2] }", -1},
		{"x", "y", `"line\u2028sep"`, 42},
		{"x", "y", "\"raw \xe2\x80\xa8 sep\"", 42},
		{"é", "ü", `null`, 9_000_000_000_000_000_000},
	} {
		f.Add(seed.id, seed.typ, []byte(seed.data), seed.unix)
	}
	f.Fuzz(func(t *testing.T, id, typ string, data []byte, unix int64) {
		if !json.Valid(data) {
			return // Publish refuses it.
		}
		ev := &Event{ID: id, Type: typ, Timestamp: time.Unix(0, unix), Data: data}
		want, wantErr := json.Marshal(envelope{ID: id, Type: typ, Timestamp: ev.Timestamp.UTC(), Data: data})
		got, err := marshalEnvelope(ev)
		if wantErr != nil {
			require.Error(t, err)
			return
		}
		require.NoError(t, err)
		require.Equal(t, string(want), string(got))
	})
}

func TestCanonicalHeaderNames(t *testing.T) {
	t.Parallel()
	for canon, name := range map[string]string{canonicalID: HeaderID, canonicalTimestamp: HeaderTimestamp, canonicalSignature: HeaderSignature} {
		require.Equal(t, http.CanonicalHeaderKey(name), canon)
	}
}
