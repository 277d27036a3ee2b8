// Command bench measures the webhook library end to end against
// hand-written raw references running in the same process, and prints a
// markdown table: scenario, library, raw, ratio library/raw, target, met.
//
// Every scenario alternates library and raw rounds (the order flips every
// round, so that neither always runs first on a warm or a loaded machine)
// and reports the median and the min–max over rounds. Everything stays on
// loopback: the receiver is an in-process httptest server on 127.0.0.1 that
// reads the body and answers 204. Bodies are 1 KiB JSON unless a scenario
// says otherwise.
//
// The raw references are:
//   - raw POST: goroutines sending Standard Webhooks signed POSTs
//     (HMAC-SHA256 over id.timestamp.body) with net/http and the client
//     tuning the library uses (keep-alive, idle connections per host at
//     least the concurrency, no redirects, no proxy);
//   - raw group commit: one goroutine draining a queue of writes into one
//     fsynced bbolt transaction per batch, writing the same event and
//     delivery records (JSON) the library writes, without its indexes.
//
// Scenarios (-scenarios, comma separated; default all):
//
//	throughput  memstore delivered/s at concurrency 1, 8, 32, 128 vs raw POST/s,
//	            and CPU per delivered webhook at 32 (process CPU / deliveries)
//	bolt        boltstore (fsync on) Publish/s with 1 and 32 publishers vs the
//	            raw group commit; end-to-end delivered/s at 32
//	latency     publish→received p50/p99 at concurrency 1 and 32 (closed loop)
//	            vs raw send→received
//	fanout      one event to 10,000 subscriptions of which 100 match;
//	            1,000 events to 1,000 matching subscriptions
//	memory      RSS and Go heap with 1,000,000 pending deliveries in boltstore
//	            while the loop claims them (in a child process, for a clean RSS)
//	large       64 KiB signed bodies, delivered/s at 32
//
// Usage:
//
//	go run ./bench                         # everything, about 10 minutes (the 1M file takes 2)
//	go run ./bench -out bench.md           # also write the table to a file
//	go run ./bench -smoke                  # every scenario tiny, about 5 seconds, for CI
//	go run ./bench -scenarios throughput,latency -rounds 7 -duration 3s
//	go run ./bench -scenarios throughput -concurrency 32 -v   # per-round CPU, page faults, syscalls
//
// To find where the time goes, profile one side alone:
//
//	go run ./bench -scenarios throughput -concurrency 32 -side lib -cpuprofile cpu.out
//	go tool pprof -top -cum cpu.out
//
// -mutexprofile does the same for the time goroutines waited on mutexes;
// -trace writes an execution trace, whose scheduling and blocking profiles
// (go tool trace -pprof=sched, -pprof=sync) show where goroutines wait.
//
// -logger discard gives every Dispatcher slog.New(slog.DiscardHandler)
// instead of the default Config.Logger, to see what logging costs.
//
// Reading the table: throughputs are measured over a window after a
// warm-up, with publishers kept a bounded backlog ahead of the receiver.
// CPU per webhook is the whole process's CPU time (library or raw sender,
// and the receiver, which is the same for both) over the deliveries of the
// window. Latency is the receiver's clock minus the time written in the
// event data just before Publish (library) or before building the request
// (raw); at concurrency 32 the loop is closed (each goroutine waits for its
// webhook before the next), so it follows from the throughput. The memory
// scenario builds its file with Publish (1,000 events to 1,000
// subscriptions), reopens it with fsync on and delivers for
// -memory-duration while sampling RSS and the Go heap.
//
// The figures depend on the machine and on what else runs on it: the table
// ends with the Go version, the CPU count and the load average. On a shared
// virtual machine one round can run at half the speed of the next, on
// either side; the default of nine rounds per side makes each median, and
// so each ratio, less dependent on a few slow rounds than five would.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"time"
)

// options are the command-line settings shared by every scenario.
type options struct {
	rounds   int
	duration time.Duration // measured window of one round
	warmup   time.Duration // unmeasured start of one round
	smoke    bool
	logger   string // -logger
	side     string // -side: both, lib or raw
	verbose  bool   // -v: every round's figures on stderr
	// concurrency lists the concurrencies of the throughput scenario.
	concurrency []int
	dir         string // for bbolt files

	// Sizes, smaller in smoke mode.
	fanoutSubs, fanoutMatch     int // one event to fanoutMatch of fanoutSubs
	fanoutEvents, fanoutPerEvt  int // fanoutEvents events to fanoutPerEvt subscriptions
	memoryPending, memoryPerEvt int // pending deliveries, deliveries per event
	memoryDuration              time.Duration
}

var allScenarios = []string{"throughput", "bolt", "latency", "fanout", "memory", "large"}

func main() {
	var (
		o          options
		scenarios  = flag.String("scenarios", strings.Join(allScenarios, ","), "comma-separated scenarios: "+strings.Join(allScenarios, ", "))
		out        = flag.String("out", "", "also write the table to this file")
		timeout    = flag.Duration("timeout", 30*time.Minute, "bound on the whole run")
		cpuprofile = flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
		memprofile = flag.String("memprofile", "", "write a heap profile at the end to this file")
		mutexprof  = flag.String("mutexprofile", "", "write a profile of mutex contention over the whole run to this file")
		tracefile  = flag.String("trace", "", "write an execution trace of the whole run to this file (go tool trace)")
		child      = flag.String("child", "", "internal: run one measurement in a child process")
		logger     = flag.String("logger", "default", "Config.Logger of the library: default (nil), or discard (slog.DiscardHandler)")
	)
	flag.IntVar(&o.rounds, "rounds", 9, "rounds of library and raw per measurement (medians of nine move less with the machine than of five)")
	flag.DurationVar(&o.duration, "duration", 2*time.Second, "measured window of one round")
	flag.StringVar(&o.side, "side", "both", "run both sides, or only the library (lib) or the raw reference (raw), for profiling one")
	conc := flag.String("concurrency", "1,8,32,128", "concurrencies of the throughput scenario, comma separated")
	flag.BoolVar(&o.verbose, "v", false, "print every round's throughput, CPU per operation (and its kernel share), busy cores, allocations, GCs, page faults and read/write system calls per operation on stderr")
	flag.BoolVar(&o.smoke, "smoke", false, "run every scenario tiny, in a few seconds (CI); targets are not judged")
	flag.StringVar(&o.dir, "dir", "", "directory for bbolt files (default: a temporary directory)")
	flag.IntVar(&o.memoryPending, "memory-pending", 1_000_000, "pending deliveries in the memory scenario")
	flag.DurationVar(&o.memoryDuration, "memory-duration", 10*time.Second, "how long the memory scenario claims and delivers")
	flag.Parse()

	o.warmup = o.duration / 5
	for _, f := range strings.Split(*conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fatal(fmt.Errorf("-concurrency: %q is not a positive number", f))
		}
		o.concurrency = append(o.concurrency, n)
	}
	switch o.side {
	case "both", "lib", "raw":
	default:
		fatal(fmt.Errorf("-side %q: want both, lib or raw", o.side))
	}
	if o.rounds < 1 {
		fatal(fmt.Errorf("-rounds %d: want 1 or more", o.rounds))
	}
	if o.duration <= 0 {
		fatal(fmt.Errorf("-duration %s: want a positive duration, such as 2s", o.duration))
	}
	o.logger = *logger
	switch *logger {
	case "default":
	case "discard":
		dispatcherLogger = slog.New(slog.DiscardHandler)
	default:
		fatal(fmt.Errorf("-logger %q: want default or discard", *logger))
	}
	o.fanoutSubs, o.fanoutMatch = 10_000, 100
	o.fanoutEvents, o.fanoutPerEvt = 1000, 1000
	o.memoryPerEvt = 1000
	if o.smoke {
		o.rounds, o.duration, o.warmup = 1, 150*time.Millisecond, 30*time.Millisecond
		o.fanoutSubs, o.fanoutMatch = 200, 10
		o.fanoutEvents, o.fanoutPerEvt = 1000, 20
		o.memoryPending, o.memoryPerEvt, o.memoryDuration = 2000, 100, 300*time.Millisecond
	}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	if o.dir == "" {
		dir, err := os.MkdirTemp("", "hooksmith-bench-")
		if err != nil {
			fatal(err)
		}
		defer os.RemoveAll(dir)
		o.dir, tempDir = dir, dir
	}

	if *child != "" {
		if err := runChild(ctx, &o, *child); err != nil {
			fatal(err)
		}
		return
	}

	if *cpuprofile != "" {
		startOutput("-cpuprofile", *cpuprofile, pprof.StartCPUProfile)
		defer pprof.StopCPUProfile()
	}
	if *tracefile != "" {
		startOutput("-trace", *tracefile, trace.Start)
		defer trace.Stop()
	}

	if *mutexprof != "" {
		runtime.SetMutexProfileFraction(1)
		defer writeProfile("mutex", *mutexprof)
	}

	started := time.Now()
	var rows []row
	for _, name := range strings.Split(*scenarios, ",") {
		name = strings.TrimSpace(name)
		run, ok := scenarioFuncs[name]
		if !ok {
			fatal(fmt.Errorf("unknown scenario %q; known: %s", name, strings.Join(allScenarios, ", ")))
		}
		fmt.Fprintf(os.Stderr, "bench: %s (load %s)\n", name, loadAverage())
		got, err := run(ctx, &o)
		if err != nil {
			fatal(fmt.Errorf("scenario %s: %w", name, err))
		}
		rows = append(rows, got...)
	}

	table := renderTable(rows, o.smoke, o.side) + "\n" + machine(&o, time.Since(started)) + "\n"
	fmt.Print(table)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(table), 0o644); err != nil {
			fatal(err)
		}
	}
	if *memprofile != "" {
		f, err := os.Create(*memprofile)
		if err != nil {
			fatal(fmt.Errorf("-memprofile: %w", err))
		}
		runtime.GC()
		if err := pprof.WriteHeapProfile(f); err != nil {
			fatal(err)
		}
		_ = f.Close()
	}
}

var scenarioFuncs = map[string]func(context.Context, *options) ([]row, error){
	"throughput": scenarioThroughput,
	"bolt":       scenarioBolt,
	"latency":    scenarioLatency,
	"fanout":     scenarioFanout,
	"memory":     scenarioMemory,
	"large":      scenarioLarge,
}

// machine describes where and how the table was made.
func machine(o *options, took time.Duration) string {
	mode := fmt.Sprintf("%d rounds of %s each; Config.Logger %s", o.rounds, o.duration, o.logger)
	if o.smoke {
		mode = "smoke mode: tiny sizes, targets not judged"
	}
	return fmt.Sprintf("%s, %s/%s, %d CPUs; load average at the end %s; %s; took %s. Command: `go run ./bench %s`",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), loadAverage(), mode,
		took.Round(time.Second), strings.Join(slices.Clone(os.Args[1:]), " "))
}

func loadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// writeProfile writes the named runtime/pprof profile to path.
func writeProfile(name, path string) {
	f, err := os.Create(path)
	if err != nil {
		fatal(err)
	}
	if err := pprof.Lookup(name).WriteTo(f, 0); err != nil {
		fatal(err)
	}
	if err := f.Close(); err != nil {
		fatal(err)
	}
}

// tempDir is the directory to remove on a fatal error.
var tempDir string

func fatal(err error) {
	if tempDir != "" {
		_ = os.RemoveAll(tempDir)
	}
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

// startOutput creates path, given by flag, and starts writing a profile
// or trace to it with start; it exits on failure, naming the flag.
func startOutput(flag, path string, start func(io.Writer) error) {
	f, err := os.Create(path)
	if err == nil {
		err = start(f)
	}
	if err != nil {
		fatal(fmt.Errorf("%s: %w", flag, err))
	}
}
