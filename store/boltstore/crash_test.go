package boltstore_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooksmith/webhook"
	"github.com/hooksmith/webhook/store/boltstore"
)

// The crash test re-executes this test binary as a child process; these
// environment variables tell TestMain to run as the child.
const (
	envChildMode = "BOLTSTORE_CRASH_CHILD" // "publish" or "drain"
	envChildDB   = "BOLTSTORE_CRASH_DB"
	envChildURL  = "BOLTSTORE_CRASH_URL"
	envChildLog  = "BOLTSTORE_CRASH_LOG"
	envChildRun  = "BOLTSTORE_CRASH_RUN"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(envChildMode); mode != "" {
		os.Exit(crashChild(mode))
	}
	os.Exit(m.Run())
}

// crashChild runs a Dispatcher on a boltstore file until it is killed. In
// "publish" mode it also publishes events from several goroutines and
// appends each event's ID to the log file once Publish has returned.
func crashChild(mode string) int {
	fail := func(what string, err error) int {
		fmt.Fprintf(os.Stderr, "crash child: %s: %v\n", what, err)
		return 2
	}
	s, err := boltstore.Open(os.Getenv(envChildDB), nil)
	if err != nil {
		return fail("open", err)
	}
	d, err := webhook.NewDispatcher(s, &webhook.Config{
		AllowPrivateNetworks: true, // the receiver is the parent, on 127.0.0.1
		AttemptTimeout:       time.Second,
		LeaseDuration:        2 * time.Second, // a killed child's leases end soon
	})
	if err != nil {
		return fail("dispatcher", err)
	}
	ctx := context.Background()
	subs, err := d.SubscriptionList(ctx, webhook.SubscriptionListParams{})
	if err != nil {
		return fail("list subscriptions", err)
	}
	if len(subs) == 0 {
		if _, err := d.SubscriptionCreate(ctx, webhook.Subscription{URL: os.Getenv(envChildURL), EventTypes: []string{"*"}}); err != nil {
			return fail("create subscription", err)
		}
	}
	if err := d.Start(ctx); err != nil {
		return fail("start", err)
	}
	if mode == "publish" {
		log, err := os.OpenFile(os.Getenv(envChildLog), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return fail("open log", err)
		}
		for g := range 4 {
			go func() {
				for i := 0; ; i++ {
					id := fmt.Sprintf("evt_r%s_g%d_%06d", os.Getenv(envChildRun), g, i)
					if _, err := d.Publish(ctx, webhook.Event{ID: id, Type: "crash.test", Data: []byte(`{}`)}); err != nil {
						os.Exit(fail("publish", err))
					}
					// One write per line: O_APPEND keeps lines whole.
					if _, err := log.Write([]byte(id + "\n")); err != nil {
						os.Exit(fail("log", err))
					}
				}
			}()
		}
	}
	select {} // until killed
}

// TestCrashSafety kills a publishing, delivering child process with SIGKILL
// at random moments, restarting it on the same file, then lets a last child
// deliver what is left: every event whose Publish returned must reach the
// receiver at least once.
func TestCrashSafety(t *testing.T) {
	const kills = 5
	var (
		mu       sync.Mutex
		received = map[string]int{}
		arrived  = make(chan struct{}, 1)
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(webhook.HeaderID)
		mu.Lock()
		received[id]++
		mu.Unlock()
		select {
		case arrived <- struct{}{}:
		default:
		}
	}))
	t.Cleanup(srv.Close)
	require.True(t, strings.HasPrefix(srv.URL, "http://127.0.0.1:"), "loopback only: %s", srv.URL)

	dir := t.TempDir()
	logPath := filepath.Join(dir, "published.log")
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed))

	start := func(mode string, run int) (*exec.Cmd, *bytes.Buffer) {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(),
			envChildMode+"="+mode,
			envChildDB+"="+filepath.Join(dir, "hooks.db"),
			envChildURL+"="+srv.URL,
			envChildLog+"="+logPath,
			envChildRun+"="+strconv.Itoa(run),
		)
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stderr, &stderr
		require.NoError(t, cmd.Start())
		return cmd, &stderr
	}
	kill := func(cmd *exec.Cmd, stderr *bytes.Buffer) {
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		err := cmd.Wait()
		var exit *exec.ExitError
		require.True(t, errors.As(err, &exit), "child: %v\n%s", err, stderr)
		ws, ok := exit.Sys().(syscall.WaitStatus)
		require.True(t, ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL, "the child must die from the kill, not on its own: %v\n%s", err, stderr)
	}

	for run := range kills {
		cmd, stderr := start("publish", run)
		// A random moment: the child may be starting, publishing,
		// delivering or in the middle of a commit. Waiting is the point
		// here, so a sleep it is.
		time.Sleep(time.Duration(200+rng.IntN(800)) * time.Millisecond)
		kill(cmd, stderr)
	}

	published := readPublished(t, logPath)
	require.NotEmpty(t, published, "the children published nothing before being killed")

	cmd, stderr := start("drain", kills)
	missing := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for id := range published {
			if received[id] == 0 {
				n++
			}
		}
		return n
	}
	deadline := time.NewTimer(90 * time.Second)
	defer deadline.Stop()
	for missing() > 0 {
		select {
		case <-arrived:
		case <-deadline.C:
			kill(cmd, stderr)
			require.Failf(t, "undelivered events", "%d of %d published events never reached the receiver\n%s", missing(), len(published), stderr)
		}
	}
	kill(cmd, stderr)

	mu.Lock()
	defer mu.Unlock()
	dupes := 0
	for _, n := range received {
		if n > 1 {
			dupes++
		}
	}
	t.Logf("%d kills: published %d (Publish returned), delivered %d distinct events (%d more were stored but not yet logged when killed), %d delivered more than once",
		kills, len(published), len(received), len(received)-len(published), dupes)
}

// readPublished returns the IDs in the log, ignoring a last line cut short
// by a kill.
func readPublished(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	out := map[string]bool{}
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			break // EOF, possibly after a partial line
		}
		out[strings.TrimSuffix(line, "\n")] = true
	}
	return out
}
