package boltstore

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooksmith/webhook"
)

// TestEncodeEvent checks that the records encodeEvent writes decode as
// those json.Marshal wrote, with Data kept as given.
func TestEncodeEvent(t *testing.T) {
	ts := time.Date(2030, 1, 2, 3, 4, 5, 6, time.FixedZone("X", 3600))
	tests := []struct {
		name     string
		e        webhook.Event
		wantData string
	}{
		{"every field", webhook.Event{ID: "evt_1", Type: "invoice.paid", Tenant: "acme", Timestamp: ts, Data: json.RawMessage(`{"a":[1,2,{"b":null}]}`), Metadata: map[string]string{"actor": "u_1"}}, `{"a":[1,2,{"b":null}]}`},
		{"zero", webhook.Event{}, `null`},
		{"nil data", webhook.Event{ID: "evt_2", Type: "t"}, `null`},
		{"empty data", webhook.Event{ID: "evt_3", Type: "t", Data: json.RawMessage{}}, `null`},
		{"scalar", webhook.Event{ID: "evt_4", Type: "t", Data: json.RawMessage(`"x"`)}, `"x"`},
		{"kept as given", webhook.Event{ID: "evt_5", Type: "t", Data: json.RawMessage(`{ "html": "<a&b>", "n" : [ 1 ] }`)}, `{ "html": "<a&b>", "n" : [ 1 ] }`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			val, err := encodeEvent(&tt.e)
			require.NoError(t, err)
			require.True(t, json.Valid(val), "%s", val)
			var got webhook.Event
			require.NoError(t, json.Unmarshal(val, &got))
			require.Equal(t, tt.wantData, string(got.Data))

			// The other fields as json.Marshal, the encoding before
			// encodeEvent, wrote them (it fails on an empty Data).
			e := tt.e
			e.Data = nil
			old, err := json.Marshal(&e)
			require.NoError(t, err)
			var want webhook.Event
			require.NoError(t, json.Unmarshal(old, &want))
			got.Data, want.Data = nil, nil
			require.Equal(t, want, got)
		})
	}
}

// BenchmarkEncodeEvent compares encodeEvent with json.Marshal, which it
// replaced, on an event of about 1 KiB.
func BenchmarkEncodeEvent(b *testing.B) {
	data := append(bytes.Repeat([]byte(`{"invoice":"in_123","amount":4200,"currency":"eur","note":"lorem ipsum"},`), 14), `{}`...)
	data = append(append([]byte(`{"lines":[`), data...), `]}`...)
	e := &webhook.Event{ID: "evt_000000000001", Type: "invoice.paid", Tenant: "acme", Timestamp: time.Now(), Data: data}
	b.Run("encodeEvent", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := encodeEvent(e); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(e); err != nil {
				b.Fatal(err)
			}
		}
	})
}
