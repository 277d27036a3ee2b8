package boltstore

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// encodeRecord returns r as json.Marshal encodes it, byte for byte, without
// reflection and without the compaction json.Marshal applies to the output
// of every time.Time's MarshalJSON (four per record, the larger part of
// encoding a delivery, which happens on every Publish, claim and outcome).
// A record it cannot write exactly so (a time outside years 0 to 9999 or
// with a zone offset of a day or more, which json.Marshal refuses) goes
// through json.Marshal.
func encodeRecord(r *deliveryRecord) ([]byte, error) {
	for _, t := range [...]time.Time{r.NextAttemptAt, r.CreatedAt, r.UpdatedAt, r.LeasedUntil} {
		_, offset := t.Zone()
		if y := t.Year(); y < 0 || y > 9999 || offset <= -24*3600 || offset >= 24*3600 {
			return marshalRecord(r)
		}
	}
	b := make([]byte, 0, 512)
	b = appendString(append(b, `{"id":`...), r.ID)
	b = appendString(append(b, `,"eventId":`...), r.EventID)
	b = appendString(append(b, `,"eventType":`...), r.EventType)
	b = appendString(append(b, `,"subscriptionId":`...), r.SubscriptionID)
	if r.Tenant != "" {
		b = appendString(append(b, `,"tenant":`...), r.Tenant)
	}
	b = appendString(append(b, `,"state":`...), string(r.State))
	b = strconv.AppendInt(append(b, `,"attemptCount":`...), int64(r.AttemptCount), 10)
	b = appendTime(append(b, `,"nextAttemptAt":`...), r.NextAttemptAt)
	if r.LastError != "" {
		b = appendString(append(b, `,"lastError":`...), r.LastError)
	}
	b = appendTime(append(b, `,"createdAt":`...), r.CreatedAt)
	b = appendTime(append(b, `,"updatedAt":`...), r.UpdatedAt)
	if r.LeaseToken != "" {
		b = appendString(append(b, `,"leaseToken":`...), r.LeaseToken)
	}
	b = appendTime(append(b, `,"leasedUntil":`...), r.LeasedUntil)
	b = strconv.AppendInt(append(b, `,"attempts":`...), int64(r.Attempts), 10)
	return append(b, '}'), nil
}

func marshalRecord(r *deliveryRecord) ([]byte, error) {
	val, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("boltstore: encode delivery %q: %w", r.ID, err)
	}
	return val, nil
}

// appendString appends s as a JSON string as json.Marshal writes it: as it
// is when it holds only printable ASCII that needs no escape (IDs, event
// types, states), through json.Marshal otherwise.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendTime appends t as time.Time's MarshalJSON writes it, for a year
// from 0 to 9999.
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}
