// Package boltdedupe is a durable webhook.DedupeStore on a bbolt database,
// so that a Receiver recognises deliveries it handled before a restart.
//
// # Basics
//
// Open the database yourself and pass it to New; the caller keeps owning
// it and closes it after the Receiver has stopped:
//
//	db, err := bbolt.Open("dedupe.db", 0o600, &bbolt.Options{Timeout: time.Second})
//	...
//	store, err := boltdedupe.New(db, nil)
//	r, err := webhook.NewReceiver(secrets, &webhook.ReceiverConfig{Dedupe: store})
//
// Handled IDs are written to disk with their expiry, one transaction per
// handled message; expired IDs are removed as new ones are written, and
// the oldest ones once there are more than Options.MaxEntries.
//
// # Caveats
//
// Claims in progress are kept in memory only: bbolt locks its file for one
// process, so after a crash nothing is left claimed and a message whose
// handling was interrupted is handled again. Use one Store per bucket.
package boltdedupe

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.etcd.io/bbolt"

	"github.com/hooksmith/webhook"
)

// BucketDefault is the top-level bucket a Store uses when Options.Bucket is
// empty.
const BucketDefault = "webhook_dedupe"

// Options configure a Store. The zero value (or nil) means the defaults.
type Options struct {
	// Bucket names the top-level bucket holding the IDs, so that several
	// stores (one per receiver) can share a database. Defaults to
	// BucketDefault.
	Bucket string
	// MaxEntries bounds how many handled IDs are kept; beyond it those
	// expiring first are removed. Defaults to
	// webhook.DedupeMaxEntriesDefault.
	MaxEntries int
}

// Nested buckets of a Store's bucket.
var (
	idsBucket    = []byte("ids")    // id -> expiry (8 bytes)
	expiryBucket = []byte("expiry") // expiry (8 bytes) + id -> nothing
)

// Store is a webhook.DedupeStore on bbolt. Create one with New; it is safe
// for concurrent use.
type Store struct {
	db     *bbolt.DB
	bucket []byte
	max    int

	mu    sync.Mutex
	busy  map[string]struct{}
	count int // keys in idsBucket
}

// New returns a Store keeping its IDs in db, creating its bucket if needed.
// A nil opts means the defaults.
func New(db *bbolt.DB, opts *Options) (*Store, error) {
	if db == nil {
		return nil, errors.New("boltdedupe: New needs an open *bbolt.DB")
	}
	o := Options{}
	if opts != nil {
		o = *opts
	}
	if o.Bucket == "" {
		o.Bucket = BucketDefault
	}
	if o.MaxEntries < 0 {
		return nil, fmt.Errorf("%w: boltdedupe: MaxEntries must be positive, or zero for the default", webhook.ErrInvalid)
	}
	if o.MaxEntries == 0 {
		o.MaxEntries = webhook.DedupeMaxEntriesDefault
	}
	s := &Store{db: db, bucket: []byte(o.Bucket), max: o.MaxEntries, busy: make(map[string]struct{})}
	err := db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(s.bucket)
		if err != nil {
			return err
		}
		ids, err := b.CreateBucketIfNotExists(idsBucket)
		if err != nil {
			return err
		}
		if _, err := b.CreateBucketIfNotExists(expiryBucket); err != nil {
			return err
		}
		s.count = ids.Stats().KeyN
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("boltdedupe: creating bucket %q: %w", o.Bucket, err)
	}
	return s, nil
}

// Claim implements webhook.DedupeStore.
func (s *Store) Claim(ctx context.Context, id string, now time.Time) (webhook.DedupeStatus, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.busy[id]; ok {
		return webhook.DedupeBusy, nil
	}
	handled := false
	err := s.db.View(func(tx *bbolt.Tx) error {
		v := tx.Bucket(s.bucket).Bucket(idsBucket).Get([]byte(id))
		handled = len(v) == 8 && decodeTime(v) > encodeTime(now)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("boltdedupe: reading %q: %w", id, err)
	}
	if handled {
		return webhook.DedupeHandled, nil
	}
	s.busy[id] = struct{}{}
	return webhook.DedupeClaimed, nil
}

// Finish implements webhook.DedupeStore: it writes id with its expiry,
// removes expired IDs and, beyond MaxEntries, those expiring first.
func (s *Store) Finish(ctx context.Context, id string, now, until time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.busy, id)
	count := s.count
	err := s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(s.bucket)
		ids, exp := b.Bucket(idsBucket), b.Bucket(expiryBucket)
		key := []byte(id)
		if old := ids.Get(key); len(old) == 8 {
			if err := exp.Delete(expiryKey(decodeTime(old), id)); err != nil {
				return err
			}
			count--
		}
		var v [8]byte
		binary.BigEndian.PutUint64(v[:], encodeTime(until))
		if err := ids.Put(key, v[:]); err != nil {
			return err
		}
		if err := exp.Put(expiryKey(encodeTime(until), id), nil); err != nil {
			return err
		}
		count++
		// Collect first: deleting while iterating a bbolt cursor skips keys.
		var drop [][]byte
		c := exp.Cursor()
		for k, _ := c.First(); k != nil && (count-len(drop) > s.max || binary.BigEndian.Uint64(k) <= encodeTime(now)); k, _ = c.Next() {
			drop = append(drop, bytes.Clone(k))
		}
		for _, k := range drop {
			if err := exp.Delete(k); err != nil {
				return err
			}
			if err := ids.Delete(k[8:]); err != nil {
				return err
			}
		}
		count -= len(drop)
		return nil
	})
	if err != nil {
		return fmt.Errorf("boltdedupe: recording %q: %w", id, err)
	}
	s.count = count
	return nil
}

// Release implements webhook.DedupeStore.
func (s *Store) Release(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.busy, id)
	return nil
}

// Len returns how many handled IDs are stored.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// encodeTime returns t as Unix nanoseconds that sort as bytes, times before
// 1970 as 0.
func encodeTime(t time.Time) uint64 {
	return uint64(max(t.UnixNano(), 0))
}

func decodeTime(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

// expiryKey is the key of the expiry index: time then ID.
func expiryKey(t uint64, id string) []byte {
	k := make([]byte, 8, 8+len(id))
	binary.BigEndian.PutUint64(k, t)
	return append(k, id...)
}
