package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/hooksmith/webhook"
	"github.com/hooksmith/webhook/store/boltstore"
)

// memoryResult is what the memory child reports, as one JSON line.
type memoryResult struct {
	Pending      int     `json:"pending"`
	BuildSeconds float64 `json:"buildSeconds"`
	PeakRSS      float64 `json:"peakRSS"`     // MiB, sampled while claiming
	PeakHWM      float64 `json:"peakHWM"`     // MiB, kernel's peak since the reset
	PeakAnon     float64 `json:"peakAnon"`    // MiB
	PeakFile     float64 `json:"peakFile"`    // MiB, mapped file pages
	PeakHeap     float64 `json:"peakHeap"`    // MiB, Go heap in use
	DeliveredSec float64 `json:"deliveredPS"` // deliveries per second while measured
}

// scenarioMemory runs the measurement in a child process, so that the RSS
// it reports holds nothing of the other scenarios.
func scenarioMemory(ctx context.Context, o *options) ([]row, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe, "-child", "memory", "-dir", o.dir,
		"-memory-pending", strconv.Itoa(o.memoryPending), "-memory-duration", o.memoryDuration.String(),
		"-smoke="+strconv.FormatBool(o.smoke), "-logger", o.logger)
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("memory child: %w", err)
	}
	var r memoryResult
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		return nil, fmt.Errorf("memory child output %q: %w", stdout.String(), err)
	}
	what := fmt.Sprintf("%s pending in boltstore", thousands(int64(r.Pending)))
	return []row{
		row{scenario: what + ": peak RSS while the loop claims", unit: "MiB", lib: []float64{math.Max(r.PeakRSS, r.PeakHWM)}, lowerBetter: true,
			note: fmt.Sprintf("anon %.0f, file %.0f", r.PeakAnon, r.PeakFile)}.withTarget(150),
		{scenario: what + ": peak Go heap in use", unit: "MiB", lib: []float64{r.PeakHeap}, lowerBetter: true},
		{scenario: what + ": delivered/s while claiming, concurrency 32", unit: "/s", lib: []float64{r.DeliveredSec},
			note: fmt.Sprintf("file built with Publish in %.0f s", r.BuildSeconds)},
	}, nil
}

func runChild(ctx context.Context, o *options, name string) error {
	if name != "memory" {
		return fmt.Errorf("unknown child %q", name)
	}
	r, err := memoryChild(ctx, o)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(r)
}

// memoryChild builds a boltstore file holding o.memoryPending pending
// deliveries with Publish (o.memoryPerEvt subscriptions, each event
// matching all), reopens it with fsync on, runs the delivery loop for
// o.memoryDuration and reports the peak memory figures.
func memoryChild(ctx context.Context, o *options) (*memoryResult, error) {
	rc := newReceiver()
	defer rc.Close()
	path := filepath.Join(o.dir, "memory.db")
	defer remove(path)
	res := &memoryResult{}

	start := time.Now()
	st, err := boltstore.Open(path, &boltstore.Options{NoSync: true}) // fast to build; not what is measured
	if err != nil {
		return nil, err
	}
	d, err := newDispatcher(st, 32)
	if err != nil {
		return nil, err
	}
	if _, err := createSubscriptions(ctx, d, rc.URL(), o.memoryPerEvt, o.memoryPerEvt); err != nil {
		return nil, err
	}
	var data []byte
	for range o.memoryPending / o.memoryPerEvt {
		r, err := d.Publish(ctx, webhook.Event{Type: "bench.delivered", Data: eventData(data, bodySize)})
		if err != nil {
			return nil, err
		}
		res.Pending += len(r.DeliveryIDs)
	}
	if err := st.DB().Sync(); err != nil {
		return nil, err
	}
	if err := st.Close(); err != nil {
		return nil, err
	}
	res.BuildSeconds = time.Since(start).Seconds()
	fmt.Fprintf(os.Stderr, "bench: memory: %d pending deliveries built in %.1f s\n", res.Pending, res.BuildSeconds)

	// Measure from a clean slate: the build's garbage returned to the OS
	// and the kernel's peak RSS reset (Linux).
	d = nil
	runtime.GC()
	debug.FreeOSMemory()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)

	st, err = boltstore.Open(path, nil)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	d, err = newDispatcher(st, 32)
	if err != nil {
		return nil, err
	}
	rc.begin(&roundState{})
	c0 := rc.count.Load()
	t0 := time.Now()
	if err := d.Start(ctx); err != nil {
		return nil, err
	}
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		res.PeakHeap = math.Max(res.PeakHeap, float64(ms.HeapInuse)/(1<<20))
		if rss := procStatusMiB("VmRSS"); rss > res.PeakRSS {
			res.PeakRSS, res.PeakAnon, res.PeakFile = rss, procStatusMiB("RssAnon"), procStatusMiB("RssFile")
		}
	}
	tick := time.NewTicker(50 * time.Millisecond)
	deadline := time.After(o.memoryDuration)
loop:
	for {
		select {
		case <-tick.C:
			sample()
		case <-deadline:
			break loop
		case <-ctx.Done():
			tick.Stop()
			return nil, ctx.Err()
		}
	}
	tick.Stop()
	sample()
	res.DeliveredSec = float64(rc.count.Load()-c0) / time.Since(t0).Seconds()
	res.PeakHWM = procStatusMiB("VmHWM")
	if err := shutdown(d); err != nil {
		return nil, err
	}
	return res, nil
}
