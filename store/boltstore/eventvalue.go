package boltstore

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"go.etcd.io/bbolt"

	"github.com/hooksmith/webhook"
)

// listMark starts the value of an event stored with its delivery list
// (schema version 3): listMark, the number of IDs as a uvarint, each ID as
// a uvarint length and its bytes, in ascending order, then the event's
// JSON record. A value without it (an event without deliveries, or one
// stored before version 3) is the JSON record alone, which never starts
// with this byte.
//
// Keeping the list in the event's value, written anyway, spares Publish a
// separate index: in the index bucket each commit rewrote a leaf and its
// branch pages, about a tenth of the pages a commit of publishes wrote.
// Events stored before version 3 keep their entries in bucketDlvByEvent.
const listMark = 0x00

var errBadEventValue = errors.New("the stored event is damaged: its delivery list is cut short")

// eventValue returns the value stored for an event: its JSON record, after
// the IDs of its deliveries when it has any.
func eventValue(record []byte, deliveryIDs []string) []byte {
	if len(deliveryIDs) == 0 {
		return record
	}
	ids := slices.Sorted(slices.Values(deliveryIDs))
	n := 1 + binary.MaxVarintLen64 + len(record)
	for _, id := range ids {
		n += binary.MaxVarintLen64 + len(id)
	}
	b := make([]byte, 0, n)
	b = append(b, listMark)
	b = binary.AppendUvarint(b, uint64(len(ids)))
	for _, id := range ids {
		b = binary.AppendUvarint(b, uint64(len(id)))
		b = append(b, id...)
	}
	return append(b, record...)
}

// splitEventValue returns the delivery list of a stored event value (nil
// when it has none, not listed) and its JSON record.
func splitEventValue(raw []byte) (ids []string, listed bool, record []byte, err error) {
	if len(raw) == 0 || raw[0] != listMark {
		return nil, false, raw, nil
	}
	rest := raw[1:]
	count, n := binary.Uvarint(rest)
	if n <= 0 || count > uint64(len(rest)) {
		return nil, false, nil, errBadEventValue
	}
	rest = rest[n:]
	ids = make([]string, 0, count)
	for range count {
		l, n := binary.Uvarint(rest)
		if n <= 0 || l > uint64(len(rest)-n) {
			return nil, false, nil, errBadEventValue
		}
		ids = append(ids, string(rest[n:n+int(l)]))
		rest = rest[n+int(l):]
	}
	return ids, true, rest, nil
}

// eventRecordOf returns the JSON record of a stored event value, skipping
// its delivery list without decoding it.
func eventRecordOf(raw []byte) ([]byte, error) {
	if len(raw) == 0 || raw[0] != listMark {
		return raw, nil
	}
	rest := raw[1:]
	count, n := binary.Uvarint(rest)
	if n <= 0 || count > uint64(len(rest)) {
		return nil, errBadEventValue
	}
	rest = rest[n:]
	for range count {
		l, n := binary.Uvarint(rest)
		if n <= 0 || l > uint64(len(rest)-n) {
			return nil, errBadEventValue
		}
		rest = rest[n+int(l):]
	}
	return rest, nil
}

// decodeEvent decodes the stored value raw of event id into e.
func decodeEvent(id string, raw []byte, e *webhook.Event) error {
	record, err := eventRecordOf(raw)
	if err == nil {
		err = json.Unmarshal(record, e)
	}
	if err != nil {
		return fmt.Errorf("boltstore: decode event %q: %w", id, err)
	}
	return nil
}

// eventDeliveries returns the IDs of the deliveries of the event stored as
// raw (nil when it is not stored), in ascending order: the list stored
// with it, or for an event stored before schema version 3 its entries in
// bucketDlvByEvent.
func eventDeliveries(tx *bbolt.Tx, eventID string, raw []byte) ([]string, error) {
	ids, listed, _, err := splitEventValue(raw)
	if err != nil {
		return nil, fmt.Errorf("boltstore: event %q: %w", eventID, err)
	}
	if listed {
		return ids, nil
	}
	prefix := prefixed(eventID)
	c := tx.Bucket(bucketDlvByEvent).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		ids = append(ids, string(k[len(prefix):]))
	}
	return ids, nil
}
