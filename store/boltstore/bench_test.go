package boltstore_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
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
					return s.EventInsert(ctx, e, ds, nil)
				})
			})
		}
	}
	// Events of about 1 KiB, the body size of the bench program: the
	// encoding of the event, not the fsync, is then the larger cost.
	data := append(bytes.Repeat([]byte(`{"invoice":"in_123","amount":4200,"currency":"eur","note":"lorem ipsum"},`), 14), `{}`...)
	data = append(append([]byte(`{"lines":[`), data...), `]}`...)
	for _, n := range publishers {
		b.Run(fmt.Sprintf("boltstore/nosync=true/data=1KiB/publishers=%d", n), func(b *testing.B) {
			s, err := boltstore.Open(filepath.Join(b.TempDir(), "bench.db"), &boltstore.Options{NoSync: true})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := b.Context()
			runPublishers(b, n, func(i int64) error {
				e, ds := publishArgs(i)
				e.Data = data
				return s.EventInsert(ctx, e, ds, nil)
			})
		})
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

// BenchmarkClaimPending claims from stores holding 10,000 and 1,000,000
// pending deliveries spread over 100 subscriptions (fsync on), and reports
// the process's resident memory after the claims (Linux only): MiB-RSS,
// its peak since the store was reopened, and its two parts, the Go heap
// (anon) and the mapped file (file, reclaimable by the kernel). Building the 1M file takes about
// a minute; run it on its own:
//
//	go test -run '^$' -bench ClaimPending -benchtime 2000x ./store/boltstore/
func BenchmarkClaimPending(b *testing.B) {
	for _, pending := range []int{10_000, 1_000_000} {
		b.Run(fmt.Sprintf("pending=%d", pending), func(b *testing.B) {
			benchmarkClaimPending(b, pending)
		})
	}
}

func benchmarkClaimPending(b *testing.B, pending int) {
	const (
		perEvent = 1000
		subs     = 100
	)
	path := filepath.Join(b.TempDir(), "pending.db")
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	setup, err := boltstore.Open(path, &boltstore.Options{NoSync: true}) // fast to build, synced at the end
	if err != nil {
		b.Fatal(err)
	}
	for e := range pending / perEvent {
		evID := fmt.Sprintf("evt_%06d", e)
		ds := make([]*webhook.Delivery, perEvent)
		for i := range ds {
			n := e*perEvent + i
			due := now.Add(-time.Duration(pending-n) * time.Millisecond)
			ds[i] = &webhook.Delivery{
				ID: fmt.Sprintf("dlv_%07d", n), EventID: evID, EventType: "invoice.paid",
				SubscriptionID: fmt.Sprintf("sub_%03d", n%subs), Tenant: "acme",
				State: webhook.DeliveryPending, NextAttemptAt: due, CreatedAt: due, UpdatedAt: due,
			}
		}
		ev := &webhook.Event{ID: evID, Type: "invoice.paid", Tenant: "acme", Timestamp: now, Data: []byte(`{"invoice":"in_123"}`)}
		if err := setup.EventInsert(b.Context(), ev, ds, nil); err != nil {
			b.Fatal(err)
		}
	}
	if err := setup.DB().Sync(); err != nil {
		b.Fatal(err)
	}
	if err := setup.Close(); err != nil {
		b.Fatal(err)
	}
	runtime.GC()

	s, err := boltstore.Open(path, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	// Reset the peak RSS so that it covers the claims, not the build.
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	// Every claim leases 32 deliveries for an hour, so each finds the next
	// 32. When all are leased, the clock moves two hours on and the expired
	// leases make them due again. The count of rounds outlives one run of
	// claim32, which -count runs again on the same file.
	round := 0
	b.Run("claim32", func(b *testing.B) {
		for b.Loop() {
			at := now.Add(time.Duration(round/(pending/32)) * 2 * time.Hour)
			round++
			ds, err := s.DeliveryClaim(b.Context(), webhook.ClaimParams{
				Now: at, Limit: 32, LeaseToken: fmt.Sprint("lease_", round), LeasedUntil: at.Add(time.Hour),
				Exclude: func(string) bool { return false },
			})
			if err != nil {
				b.Fatal(err)
			}
			if len(ds) != 32 {
				b.Fatalf("claim %d got %d deliveries, want 32", round, len(ds))
			}
		}
		m := memoryMiB()
		b.ReportMetric(m["VmRSS"], "MiB-RSS")
		b.ReportMetric(m["VmHWM"], "MiB-peak-RSS")
		b.ReportMetric(m["RssAnon"], "MiB-RSS-anon")
		b.ReportMetric(m["RssFile"], "MiB-RSS-file")
	})
	b.Run("nextdue", func(b *testing.B) {
		for b.Loop() {
			if _, ok, err := s.DeliveryNextDue(b.Context(), func(string) bool { return false }); err != nil || !ok {
				b.Fatal(ok, err)
			}
		}
	})
}

// memoryMiB returns the memory figures of /proc/self/status in MiB: VmRSS
// (resident), VmHWM (peak resident), RssAnon (heap and stacks) and RssFile
// (pages of the mapped database file, which the kernel can reclaim). It is
// empty where that file is missing.
func memoryMiB() map[string]float64 {
	out := map[string]float64{}
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		if kb, err := strconv.ParseFloat(f[1], 64); err == nil {
			out[strings.TrimSuffix(f[0], ":")] = kb / 1024
		}
	}
	return out
}
