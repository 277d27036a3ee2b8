package boltstore

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooksmith/webhook"
)

// TestEncodeRecord checks that encodeRecord writes what json.Marshal
// writes, byte for byte.
func TestEncodeRecord(t *testing.T) {
	ts := time.Date(2030, 1, 2, 3, 4, 5, 600, time.UTC)
	full := deliveryRecord{
		ID: "dlv_1", EventID: "evt_1", EventType: "invoice.paid", SubscriptionID: "sub_1", Tenant: "acme",
		State: webhook.DeliveryPending, AttemptCount: 3, NextAttemptAt: ts, LastError: "HTTP 500",
		CreatedAt: ts.Add(-time.Hour), UpdatedAt: ts, LeaseToken: "lease_1", LeasedUntil: ts.Add(time.Minute), Attempts: 2,
	}
	tests := map[string]func(r *deliveryRecord){
		"every field": func(*deliveryRecord) {},
		"zero":        func(r *deliveryRecord) { *r = deliveryRecord{} },
		"escaped error": func(r *deliveryRecord) {
			r.LastError = "Post \"https://a.example/?a=1&b=<2>\": \n\t\x01 dial: é \u2028 \xff"
		},
		"local zone":     func(r *deliveryRecord) { r.CreatedAt = ts.In(time.FixedZone("X", -(5*3600 + 30*60 + 7))) },
		"year 0":         func(r *deliveryRecord) { r.NextAttemptAt = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC) },
		"negative":       func(r *deliveryRecord) { r.AttemptCount = -1 },
		"year 10000":     func(r *deliveryRecord) { r.LeasedUntil = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
		"nanoseconds":    func(r *deliveryRecord) { r.UpdatedAt = ts.Add(123456789) },
		"no lease":       func(r *deliveryRecord) { r.LeaseToken, r.LeasedUntil = "", time.Time{} },
		"unicode tenant": func(r *deliveryRecord) { r.Tenant = "ünïcode\x7f" },
	}
	for name, change := range tests {
		t.Run(name, func(t *testing.T) {
			r := full
			change(&r)
			got, gotErr := encodeRecord(&r)
			want, wantErr := json.Marshal(&r)
			if wantErr != nil {
				require.Error(t, gotErr)
				return
			}
			require.NoError(t, gotErr)
			require.Equal(t, string(want), string(got))
		})
	}
}

func FuzzEncodeRecord(f *testing.F) {
	f.Add("dlv_1", "acme", "HTTP 500", "lease", int64(1893456000123456789), 3, int32(0))
	f.Add("d\"<&>", "\xff\u2028", "\n", "", int64(-62135596800000000), -1, int32(3600))
	f.Fuzz(func(t *testing.T, id, tenant, lastError, lease string, nanos int64, count int, offset int32) {
		at := time.Unix(0, nanos).In(time.FixedZone("Z", int(offset)))
		r := &deliveryRecord{
			ID: id, EventID: id, EventType: tenant, SubscriptionID: lease, Tenant: tenant, State: webhook.DeliveryState(lastError),
			AttemptCount: count, NextAttemptAt: at, LastError: lastError, CreatedAt: at, UpdatedAt: at.Add(time.Second),
			LeaseToken: lease, LeasedUntil: at, Attempts: count,
		}
		got, gotErr := encodeRecord(r)
		want, wantErr := json.Marshal(r)
		if (gotErr != nil) != (wantErr != nil) {
			t.Fatalf("encodeRecord error %v, json.Marshal error %v", gotErr, wantErr)
		}
		if wantErr == nil && string(got) != string(want) {
			t.Fatalf("encodeRecord\n%s\njson.Marshal\n%s", got, want)
		}
	})
}

// BenchmarkEncodeRecord compares encodeRecord with json.Marshal, which it
// replaced, on a claimed delivery.
func BenchmarkEncodeRecord(b *testing.B) {
	ts := time.Date(2030, 1, 2, 3, 4, 5, 600, time.UTC)
	r := &deliveryRecord{
		ID: "dlv_01JD7Q4ZKX3M9T2V5B8N6C1R0W", EventID: "evt_01JD7Q4ZKX3M9T2V5B8N6C1R0W", EventType: "invoice.paid",
		SubscriptionID: "sub_01JD7Q4ZKX3M9T2V5B8N6C1R0W", Tenant: "acme", State: webhook.DeliveryPending,
		NextAttemptAt: ts, CreatedAt: ts, UpdatedAt: ts, LeaseToken: "lease_01JD7Q4ZKX3M9T2V5B8N6C1R0W", LeasedUntil: ts.Add(time.Minute),
	}
	b.Run("encodeRecord", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := encodeRecord(r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
