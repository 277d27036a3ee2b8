package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hooksmith/webhook"
	"github.com/hooksmith/webhook/store/boltstore"
	"github.com/hooksmith/webhook/store/memstore"
)

const (
	bodySize      = 1 << 10
	largeBodySize = 64 << 10
)

// publishersFor is how many goroutines publish to keep concurrency
// workers busy: publishing is much cheaper than delivering.
func publishersFor(concurrency int) int { return min(2, concurrency) }

// backlogFor is how far publishers may run ahead of the receiver: enough
// that every worker always finds a due delivery.
func backlogFor(concurrency int) int { return 4*concurrency + 16 }

// deliveredRows measures memstore delivered/s against raw POST/s at one
// concurrency and body size; it returns the per-round throughputs and CPU
// per operation, library then raw.
func deliveredRounds(ctx context.Context, o *options, rc *receiver, concurrency, size int) (libRate, rawRate, libCPU, rawCPU []float64, err error) {
	secret := webhook.NewSecret()
	err = interleave(o, func() error {
		d, err := newDispatcher(memstore.New(), concurrency)
		if err != nil {
			return err
		}
		if _, err := createSubscriptions(ctx, d, rc.URL(), 1, 1); err != nil {
			return err
		}
		m, err := libDelivered(ctx, o, rc, d, publishersFor(concurrency), backlogFor(concurrency), 1, size, 0)
		libRate, libCPU = append(libRate, m.perSec), append(libCPU, m.cpuPerOp)
		return err
	}, func() error {
		m, err := rawDeliveredRound(ctx, o, rc, concurrency, size, []string{secret})
		rawRate, rawCPU = append(rawRate, m.perSec), append(rawCPU, m.cpuPerOp)
		return err
	})
	return
}

func scenarioThroughput(ctx context.Context, o *options) ([]row, error) {
	rc := newReceiver()
	defer rc.Close()
	var rows, cpuRows []row
	for _, c := range o.concurrency {
		lib, raw, libCPU, rawCPU, err := deliveredRounds(ctx, o, rc, c, bodySize)
		if err != nil {
			return nil, fmt.Errorf("concurrency %d: %w", c, err)
		}
		r := row{scenario: fmt.Sprintf("memstore delivered/s, concurrency %d", c), unit: "/s", lib: lib, raw: raw, note: "vs signed POST/s"}
		switch c {
		case 8:
			r = r.withRatioTarget(0.80)
		case 32:
			r = r.withRatioTarget(0.90)
		}
		rows = append(rows, r)
		cr := row{scenario: fmt.Sprintf("CPU per delivered webhook, concurrency %d", c), unit: "µs", lib: libCPU, raw: rawCPU, lowerBetter: true}
		if c == 32 {
			cr = cr.withRatioTarget(1.25)
		}
		if c == 1 || c == 32 {
			cpuRows = append(cpuRows, cr)
		}
	}
	return append(rows, cpuRows...), nil
}

func scenarioLarge(ctx context.Context, o *options) ([]row, error) {
	rc := newReceiver()
	defer rc.Close()
	lib, raw, libCPU, rawCPU, err := deliveredRounds(ctx, o, rc, 32, largeBodySize)
	if err != nil {
		return nil, err
	}
	return []row{
		{scenario: "64 KiB signed bodies, memstore delivered/s, concurrency 32", unit: "/s", lib: lib, raw: raw},
		{scenario: "64 KiB signed bodies, CPU per delivered webhook", unit: "µs", lib: libCPU, raw: rawCPU, lowerBetter: true},
	}, nil
}

// remove deletes a round's file: they add up to gigabytes over a run.
func remove(path string) { _ = os.Remove(path) }

func scenarioBolt(ctx context.Context, o *options) ([]row, error) {
	rc := newReceiver()
	defer rc.Close()
	var rows []row
	round := 0
	path := func(what string) string {
		round++
		return filepath.Join(o.dir, fmt.Sprintf("%s-%d.db", what, round))
	}
	for _, n := range []int{1, 32} {
		var lib, raw []float64
		err := interleave(o, func() error {
			file := path("publish")
			st, err := boltstore.Open(file, nil)
			if err != nil {
				return err
			}
			defer remove(file)
			defer st.Close()
			d, err := newDispatcher(st, 32)
			if err != nil {
				return err
			}
			if _, err := createSubscriptions(ctx, d, rc.URL(), 1, 1); err != nil {
				return err
			}
			var published atomic.Int64
			g := newGroup()
			for range n {
				g.goLoop(func() error { return publishLoop(ctx, g, d, nil, 0, bodySize, 0, &published) })
			}
			m, err := window(ctx, o, published.Load)
			if herr := g.halt(); err == nil {
				err = herr
			}
			lib = append(lib, m.perSec)
			return err
		}, func() error {
			file := path("raw")
			c, err := openRawCommitter(file)
			if err != nil {
				return err
			}
			defer remove(file)
			defer c.close()
			var seq atomic.Int64
			g := newGroup()
			for range n {
				g.goLoop(func() error {
					var data []byte
					for !g.stopped() {
						data = eventData(data, bodySize)
						if err := c.put(ctx, rawRecords(seq.Add(1), data)...); err != nil {
							return err
						}
					}
					return nil
				})
			}
			m, err := window(ctx, o, seq.Load)
			if herr := g.halt(); err == nil {
				err = herr
			}
			raw = append(raw, m.perSec)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("publishers %d: %w", n, err)
		}
		r := row{scenario: fmt.Sprintf("boltstore Publish/s, %d publishers, fsync on", n), unit: "/s", lib: lib, raw: raw, note: "vs raw bbolt group commit"}
		if n == 32 {
			r = r.withRatioTarget(0.80)
		}
		rows = append(rows, r)
	}

	// End to end: publish, claim, send, record, all durable.
	const c = 32
	var lib, raw []float64
	err := interleave(o, func() error {
		file := path("e2e")
		st, err := boltstore.Open(file, nil)
		if err != nil {
			return err
		}
		defer remove(file)
		defer st.Close()
		d, err := newDispatcher(st, c)
		if err != nil {
			return err
		}
		if _, err := createSubscriptions(ctx, d, rc.URL(), 1, 1); err != nil {
			return err
		}
		// 32 publishers, as many as raw goroutines: each Publish waits
		// for its fsync.
		m, err := libDelivered(ctx, o, rc, d, c, backlogFor(c), 1, bodySize, 0)
		lib = append(lib, m.perSec)
		return err
	}, func() error {
		file := path("e2e-raw")
		cm, err := openRawCommitter(file)
		if err != nil {
			return err
		}
		defer remove(file)
		defer cm.close()
		s, err := newRawSender(rc.URL(), c, bodySize, []string{webhook.NewSecret()})
		if err != nil {
			return err
		}
		defer s.close()
		rc.begin(&roundState{})
		defer rc.end()
		var seq atomic.Int64
		g := newGroup()
		for range c {
			g.goLoop(func() error {
				var buf rawBuf
				var data []byte
				for !g.stopped() {
					n := seq.Add(1)
					data = eventData(data, bodySize)
					if err := cm.put(ctx, rawRecords(n, data)...); err != nil {
						return err
					}
					if err := s.post(ctx, &buf, int(n)); err != nil {
						return err
					}
					if err := cm.put(ctx, rawDelivered(n)); err != nil {
						return err
					}
				}
				return nil
			})
		}
		m, err := window(ctx, o, rc.count.Load)
		if herr := g.halt(); err == nil {
			err = herr
		}
		raw = append(raw, m.perSec)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("end to end: %w", err)
	}
	rows = append(rows, row{scenario: "boltstore end-to-end delivered/s, concurrency 32, fsync on", unit: "/s", lib: lib, raw: raw,
		note: "vs raw: group-committed write, signed POST, group-committed outcome"})
	return rows, nil
}

// latencies runs a closed loop of k goroutines for a warm-up and a window,
// each calling once and waiting for it to be received, and returns the
// receiver's latencies of the window.
func latencies(ctx context.Context, o *options, rc *receiver, rs *roundState, k int, once func(g, n int) error) ([]time.Duration, error) {
	rc.begin(rs)
	defer rc.end()
	g := newGroup()
	for i := range k {
		g.goLoop(func() error {
			for n := 0; !g.stopped(); n++ {
				if err := once(i, n); err != nil {
					return err
				}
			}
			return nil
		})
	}
	err := sleep(ctx, o.warmup)
	rs.mu.Lock()
	rs.lat = rs.lat[:0]
	rs.mu.Unlock()
	if err == nil {
		err = sleep(ctx, o.duration)
	}
	rs.mu.Lock()
	lat := append([]time.Duration(nil), rs.lat...)
	rs.mu.Unlock()
	if herr := g.halt(); err == nil {
		err = herr
	}
	if err == nil && len(lat) == 0 {
		err = fmt.Errorf("no request received in %s", o.duration)
	}
	return lat, err
}

// await waits for w, bounded.
func await(ctx context.Context, w *waiter, what string) error {
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	select {
	case <-w.done:
		return nil
	case <-t.C:
		return fmt.Errorf("%s: not received within 30s", what)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func scenarioLatency(ctx context.Context, o *options) ([]row, error) {
	rc := newReceiver()
	defer rc.Close()
	var rows []row
	for _, k := range []int{1, 32} {
		var lib50, lib99, raw50, raw99 []float64
		err := interleave(o, func() error {
			d, err := newDispatcher(memstore.New(), 32)
			if err != nil {
				return err
			}
			if _, err := createSubscriptions(ctx, d, rc.URL(), 1, 1); err != nil {
				return err
			}
			if err := d.Start(ctx); err != nil {
				return err
			}
			defer shutdown(d)
			rs := &roundState{record: true}
			lat, err := latencies(ctx, o, rc, rs, k, func(g, n int) error {
				var data []byte
				id := fmt.Sprintf("evt_lat_%d", eventSeq.Add(1))
				w := newWaiter(1)
				rs.waiters.Store(id, w)
				defer rs.waiters.Delete(id)
				if _, err := d.Publish(ctx, webhook.Event{ID: id, Type: "bench.delivered", Data: eventData(data, bodySize)}); err != nil {
					return err
				}
				return await(ctx, w, id)
			})
			lib50 = append(lib50, micros(percentile(lat, 0.50)))
			lib99 = append(lib99, micros(percentile(lat, 0.99)))
			return err
		}, func() error {
			s, err := newRawSender(rc.URL(), 32, bodySize, []string{webhook.NewSecret()})
			if err != nil {
				return err
			}
			defer s.close()
			bufs := make([]rawBuf, k)
			lat, err := latencies(ctx, o, rc, &roundState{record: true}, k, func(g, n int) error {
				return s.post(ctx, &bufs[g], n)
			})
			raw50 = append(raw50, micros(percentile(lat, 0.50)))
			raw99 = append(raw99, micros(percentile(lat, 0.99)))
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("concurrency %d: %w", k, err)
		}
		p50 := row{scenario: fmt.Sprintf("latency p50, concurrency %d", k), unit: "µs", lib: lib50, raw: raw50, lowerBetter: true, note: "publish→received vs send→received"}
		if k == 1 {
			p50 = p50.withRatioTarget(2)
		}
		rows = append(rows, p50, row{scenario: fmt.Sprintf("latency p99, concurrency %d", k), unit: "µs", lib: lib99, raw: raw99, lowerBetter: true})
	}
	return rows, nil
}

// eventSeq numbers the events whose IDs the benchmark chooses: an ID is
// never published twice, even to a store that outlives a round.
var eventSeq atomic.Int64

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func scenarioFanout(ctx context.Context, o *options) ([]row, error) {
	rc := newReceiver()
	defer rc.Close()

	// One event to fanoutMatch of fanoutSubs subscriptions: time until all
	// are received, against the same number of raw POSTs, each with its
	// subscription's key, from 32 goroutines.
	st := memstore.New()
	setup, err := newDispatcher(st, 32)
	if err != nil {
		return nil, err
	}
	secrets, err := createSubscriptions(ctx, setup, rc.URL(), o.fanoutSubs, o.fanoutMatch)
	if err != nil {
		return nil, err
	}
	var libAll, libPub, rawAll []float64
	err = interleave(o, func() error {
		d, err := newDispatcher(st, 32)
		if err != nil {
			return err
		}
		if err := d.Start(ctx); err != nil {
			return err
		}
		defer shutdown(d)
		rs := rc.begin(&roundState{})
		defer rc.end()
		var all, pub []float64
		var data []byte
		err = timedLoop(ctx, o, func(n int, measure bool) error {
			id := fmt.Sprintf("evt_fan_%d", eventSeq.Add(1))
			w := newWaiter(o.fanoutMatch)
			rs.waiters.Store(id, w)
			defer rs.waiters.Delete(id)
			start := time.Now()
			res, err := d.Publish(ctx, webhook.Event{ID: id, Type: "bench.delivered", Data: eventData(data, bodySize)})
			published := time.Since(start)
			if err != nil {
				return err
			}
			if len(res.DeliveryIDs) != o.fanoutMatch {
				return fmt.Errorf("event made %d deliveries, want %d", len(res.DeliveryIDs), o.fanoutMatch)
			}
			if err := await(ctx, w, id); err != nil {
				return err
			}
			if measure {
				all = append(all, float64(time.Since(start))/float64(time.Millisecond))
				pub = append(pub, micros(published))
			}
			return nil
		})
		libAll, libPub = append(libAll, median(all)), append(libPub, median(pub))
		return err
	}, func() error {
		s, err := newRawSender(rc.URL(), 32, bodySize, secrets)
		if err != nil {
			return err
		}
		defer s.close()
		rc.begin(&roundState{})
		defer rc.end()
		jobs := make(chan int)
		var wg sync.WaitGroup
		var firstErr atomic.Pointer[error]
		for range 32 {
			go func() {
				var buf rawBuf
				for n := range jobs {
					if err := s.post(ctx, &buf, n); err != nil {
						firstErr.CompareAndSwap(nil, &err)
					}
					wg.Done()
				}
			}()
		}
		defer close(jobs)
		var all []float64
		err = timedLoop(ctx, o, func(_ int, measure bool) error {
			start := time.Now()
			wg.Add(o.fanoutMatch)
			for i := range o.fanoutMatch {
				jobs <- i
			}
			wg.Wait()
			if p := firstErr.Load(); p != nil {
				return *p
			}
			if measure {
				all = append(all, float64(time.Since(start))/float64(time.Millisecond))
			}
			return nil
		})
		rawAll = append(rawAll, median(all))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("one event to %d of %d: %w", o.fanoutMatch, o.fanoutSubs, err)
	}
	rows := []row{
		{scenario: fmt.Sprintf("fan-out: 1 event to %s of %s subscriptions, until all received", thousands(int64(o.fanoutMatch)), thousands(int64(o.fanoutSubs))),
			unit: "ms", lib: libAll, raw: rawAll, lowerBetter: true, note: fmt.Sprintf("vs %d raw POSTs", o.fanoutMatch)},
		{scenario: fmt.Sprintf("fan-out: Publish of that event (%s deliveries created)", thousands(int64(o.fanoutMatch))), unit: "µs", lib: libPub, lowerBetter: true},
	}

	// fanoutEvents events to fanoutPerEvt matching subscriptions.
	var lib, raw []float64
	var keys []string
	for range o.fanoutPerEvt {
		keys = append(keys, webhook.NewSecret())
	}
	err = interleave(o, func() error {
		d, err := newDispatcher(memstore.New(), 32)
		if err != nil {
			return err
		}
		if _, err := createSubscriptions(ctx, d, rc.URL(), o.fanoutPerEvt, o.fanoutPerEvt); err != nil {
			return err
		}
		m, err := libDelivered(ctx, o, rc, d, 1, 3*o.fanoutPerEvt, o.fanoutPerEvt, bodySize, int64(o.fanoutEvents))
		lib = append(lib, m.perSec)
		return err
	}, func() error {
		m, err := rawDeliveredRound(ctx, o, rc, 32, bodySize, keys)
		raw = append(raw, m.perSec)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%d events to %d: %w", o.fanoutEvents, o.fanoutPerEvt, err)
	}
	return append(rows, row{
		scenario: fmt.Sprintf("fan-out: %s events to %s subscriptions, delivered/s", thousands(int64(o.fanoutEvents)), thousands(int64(o.fanoutPerEvt))),
		unit:     "/s", lib: lib, raw: raw, note: "memstore, concurrency 32, vs signed POST/s",
	}), nil
}

// timedLoop calls f in a loop for the warm-up (measure false), then for the
// window (measure true).
func timedLoop(ctx context.Context, o *options, f func(n int, measure bool) error) error {
	start := time.Now()
	for n := 0; ; n++ {
		el := time.Since(start)
		if el > o.warmup+o.duration {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := f(n, el > o.warmup); err != nil {
			return err
		}
	}
}
