package boltstore_test

import (
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/hooksmith/webhook"
	"github.com/hooksmith/webhook/store/boltstore"
)

// publishers are the numbers of concurrent EventInsert callers benchmarked.
var publishers = []int{1, 32}

// runPublishers runs publish b.N times from n goroutines and reports
// publishes per second. publish gets a number unique to the call.
func runPublishers(b *testing.B, n int, publish func(i int64) error) {
	var seq atomic.Int64
	b.ReportAllocs()
	b.SetParallelism((n + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	if n == 1 {
		for b.Loop() {
			if err := publish(seq.Add(1)); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := publish(seq.Add(1)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "publishes/s")
}

// publishArgs is what Dispatcher.Publish hands the store for an event with
// one matching subscription.
func publishArgs(i int64) (*webhook.Event, []*webhook.Delivery) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	id := fmt.Sprintf("evt_%012d", i)
	e := &webhook.Event{ID: id, Type: "invoice.paid", Tenant: "acme", Timestamp: now, Data: []byte(`{"invoice":"in_123","amount":4200,"currency":"eur"}`)}
	d := &webhook.Delivery{
		ID: fmt.Sprintf("dlv_%012d", i), EventID: id, EventType: e.Type, SubscriptionID: "sub_1", Tenant: "acme",
		State: webhook.DeliveryPending, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now,
	}
	return e, []*webhook.Delivery{d}
}

// BenchmarkPublish measures EventInsert, the store's share of
// Dispatcher.Publish, with fsync on (as in production) and off, beside raw
// bbolt writing one key per fsynced transaction, and bbolt's own Batch.
func BenchmarkPublish(b *testing.B) {
	for _, noSync := range []bool{false, true} {
		for _, n := range publishers {
			b.Run(fmt.Sprintf("boltstore/nosync=%t/publishers=%d", noSync, n), func(b *testing.B) {
				s, err := boltstore.Open(filepath.Join(b.TempDir(), "bench.db"), &boltstore.Options{NoSync: noSync})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				ctx := b.Context()
				runPublishers(b, n, func(i int64) error {
					e, ds := publishArgs(i)
					return s.EventInsert(ctx, e, ds)
				})
			})
		}
	}
	for _, n := range publishers {
		b.Run(fmt.Sprintf("bbolt-put-per-update/publishers=%d", n), func(b *testing.B) {
			db := openRaw(b)
			runPublishers(b, n, func(i int64) error {
				return db.Update(func(tx *bbolt.Tx) error {
					return tx.Bucket([]byte("events")).Put(fmt.Appendf(nil, "evt_%012d", i), []byte(`{"invoice":"in_123"}`))
				})
			})
		})
		b.Run(fmt.Sprintf("bbolt-batch/publishers=%d", n), func(b *testing.B) {
			db := openRaw(b)
			runPublishers(b, n, func(i int64) error {
				return db.Batch(func(tx *bbolt.Tx) error {
					return tx.Bucket([]byte("events")).Put(fmt.Appendf(nil, "evt_%012d", i), []byte(`{"invoice":"in_123"}`))
				})
			})
		})
	}
}

func openRaw(b *testing.B) *bbolt.DB {
	db, err := bbolt.Open(filepath.Join(b.TempDir(), "raw.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	if err := db.Update(func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucket([]byte("events"))
		return err
	}); err != nil {
		b.Fatal(err)
	}
	return db
}
