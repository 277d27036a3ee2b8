package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hooksmith/webhook"
)

// measured is what one round of a throughput measurement gives.
type measured struct {
	perSec   float64 // operations per second in the window
	cpuPerOp float64 // process CPU time per operation, in µs
}

// window waits for the warm-up, then counts operations (count) and process
// CPU time over o.duration.
func window(ctx context.Context, o *options, count func() int64) (measured, error) {
	if err := sleep(ctx, o.warmup); err != nil {
		return measured{}, err
	}
	var m0, m1 runtime.MemStats
	var r0, w0 int64
	var u0 rusage
	if o.verbose {
		runtime.ReadMemStats(&m0)
		r0, w0 = syscalls()
		u0 = usage()
	}
	c0, t0, cpu0 := count(), time.Now(), cpuTime()
	if err := sleep(ctx, o.duration); err != nil {
		return measured{}, err
	}
	c1, t1, cpu1 := count(), time.Now(), cpuTime()
	ops := c1 - c0
	if ops <= 0 {
		return measured{}, fmt.Errorf("nothing completed in %s", o.duration)
	}
	if o.verbose {
		runtime.ReadMemStats(&m1)
		r1, w1 := syscalls()
		u1 := usage()
		perOp := func(n int64) float64 { return float64(n) / float64(ops) }
		fmt.Fprintf(os.Stderr, "bench:   %.0f ops/s, %.1f µs CPU/op (%.1f in the kernel), %.2f cores busy, %.0f allocs/op, %.0f B/op, %d GCs, %.2f page faults/op, %.2f reads/op, %.2f writes/op\n",
			float64(ops)/t1.Sub(t0).Seconds(), float64(cpu1-cpu0)/1e3/float64(ops), float64(u1.sys-u0.sys)/1e3/float64(ops), float64(cpu1-cpu0)/float64(t1.Sub(t0)),
			perOp(int64(m1.Mallocs-m0.Mallocs)), perOp(int64(m1.TotalAlloc-m0.TotalAlloc)), m1.NumGC-m0.NumGC, perOp(u1.minflt-u0.minflt), perOp(r1-r0), perOp(w1-w0))
	}
	return measured{
		perSec:   float64(ops) / t1.Sub(t0).Seconds(),
		cpuPerOp: float64(cpu1-cpu0) / float64(time.Microsecond) / float64(ops),
	}, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// interleave runs lib and raw rounds alternately, flipping which goes first
// every round, with a garbage collection between them so that one side's
// garbage is not collected on the other's time.
func interleave(o *options, lib, raw func() error) error {
	switch o.side {
	case "lib":
		raw = nil
	case "raw":
		lib = nil
	}
	for i := range o.rounds {
		first, second := lib, raw
		if i%2 == 1 {
			first, second = raw, lib
		}
		for _, f := range []func() error{first, second} {
			if f == nil {
				continue
			}
			runtime.GC()
			if err := f(); err != nil {
				return err
			}
		}
	}
	return nil
}

// group runs goroutines until stop is closed and keeps the first error.
type group struct {
	wg   sync.WaitGroup
	stop chan struct{}
	err  atomic.Pointer[error]
}

func newGroup() *group { return &group{stop: make(chan struct{})} }

func (g *group) goLoop(f func() error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := f(); err != nil {
			g.err.CompareAndSwap(nil, &err)
		}
	}()
}

func (g *group) stopped() bool {
	select {
	case <-g.stop:
		return true
	default:
		return false
	}
}

// halt stops the goroutines, waits for them and returns the first error.
func (g *group) halt() error {
	close(g.stop)
	g.wg.Wait()
	if p := g.err.Load(); p != nil {
		return *p
	}
	return nil
}

// dispatcherLogger is Config.Logger for every Dispatcher: nil for the
// default, or a logger discarding everything before formatting it (-logger
// discard).
var dispatcherLogger *slog.Logger

// newDispatcher returns a Dispatcher for loopback deliveries with
// concurrency workers, all of which may serve one subscription.
func newDispatcher(st webhook.Store, concurrency int) (*webhook.Dispatcher, error) {
	return webhook.NewDispatcher(st, &webhook.Config{
		Logger:                     dispatcherLogger,
		AllowPrivateNetworks:       true,
		Workers:                    concurrency,
		MaxInFlightPerSubscription: concurrency,
	})
}

// createSubscriptions creates n subscriptions to url, of which the first
// matching want "bench.delivered" and the others other types. It returns
// the secrets of the matching ones.
func createSubscriptions(ctx context.Context, d *webhook.Dispatcher, url string, n, matching int) ([]string, error) {
	var secrets []string
	for i := range n {
		types := []string{"bench.delivered"}
		if i >= matching {
			types = []string{fmt.Sprintf("other.type%d", i)}
		}
		s, err := d.SubscriptionCreate(ctx, webhook.Subscription{URL: url, EventTypes: types})
		if err != nil {
			return nil, err
		}
		if i < matching {
			secrets = append(secrets, s.Secret)
		}
	}
	return secrets, nil
}

// publishLoop publishes benchmark events of size bytes until g stops. With
// slots, it first puts perEvent tokens in (one per delivery the event makes)
// so it stays at most cap(slots) deliveries ahead of the receiver. With
// limit > 0 it stops after publishing that many events.
func publishLoop(ctx context.Context, g *group, d *webhook.Dispatcher, slots chan struct{}, perEvent, size int, limit int64, published *atomic.Int64) error {
	var data []byte
	for !g.stopped() {
		if limit > 0 && published.Load() >= limit {
			<-g.stop
			return nil
		}
		for range perEvent {
			select {
			case slots <- struct{}{}:
			case <-g.stop:
				return nil
			}
		}
		data = eventData(data, size)
		if _, err := d.Publish(ctx, webhook.Event{Type: "bench.delivered", Data: data}); err != nil {
			return err
		}
		published.Add(1)
	}
	return nil
}

// shutdown stops d's delivery loop, bounded in time.
func shutdown(d *webhook.Dispatcher) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return d.Shutdown(ctx)
}

// libDelivered measures delivered webhooks/s from d, already holding its
// subscriptions: publishers publish, the receiver counts.
func libDelivered(ctx context.Context, o *options, rc *receiver, d *webhook.Dispatcher, publishers, backlog, perEvent, size int, limit int64) (measured, error) {
	rs := rc.begin(&roundState{slots: make(chan struct{}, backlog)})
	defer rc.end()
	if err := d.Start(ctx); err != nil {
		return measured{}, err
	}
	g := newGroup()
	var published atomic.Int64
	for range publishers {
		g.goLoop(func() error { return publishLoop(ctx, g, d, rs.slots, perEvent, size, limit, &published) })
	}
	m, err := window(ctx, o, rc.count.Load)
	if herr := g.halt(); err == nil {
		err = herr
	}
	if serr := shutdown(d); err == nil {
		err = serr
	}
	return m, err
}

// rawDeliveredRound measures raw signed POSTs/s from concurrency goroutines.
func rawDeliveredRound(ctx context.Context, o *options, rc *receiver, concurrency, size int, secrets []string) (measured, error) {
	s, err := newRawSender(rc.URL(), concurrency, size, secrets)
	if err != nil {
		return measured{}, err
	}
	defer s.close()
	rc.begin(&roundState{})
	defer rc.end()
	g := newGroup()
	for i := range concurrency {
		g.goLoop(func() error {
			var buf rawBuf
			for n := i; !g.stopped(); n += concurrency {
				if err := s.post(ctx, &buf, n); err != nil {
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
	return m, err
}
