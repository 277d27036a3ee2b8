package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// receiver is the in-process endpoint both the library and the raw
// references send to: it reads the body, counts the request and answers
// 204. What else it does for a round (latencies, backlog slots, waiters)
// is the same for library and raw.
type receiver struct {
	srv   *httptest.Server
	count atomic.Int64
	round atomic.Pointer[roundState]
}

// roundState is what the receiver does for the current round.
type roundState struct {
	// slots, when not nil, bounds the publishers' lead: a publisher puts
	// a token in before publishing, the receiver takes one out per request.
	slots chan struct{}
	// record: keep the latency of each request (receive time minus the
	// "t" field of the event data, in Unix nanoseconds).
	record bool
	mu     sync.Mutex
	lat    []time.Duration
	// waiters, by webhook-id: each is told when its requests arrived.
	waiters sync.Map // string -> *waiter
}

// waiter counts down the requests expected for one webhook-id.
type waiter struct {
	left atomic.Int64
	done chan struct{}
}

func newWaiter(n int) *waiter {
	w := &waiter{done: make(chan struct{})}
	w.left.Store(int64(n))
	return w
}

// newReceiver starts a receiver on 127.0.0.1.
func newReceiver() *receiver {
	r := &receiver{}
	r.round.Store(&roundState{})
	r.srv = httptest.NewUnstartedServer(r)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	_ = r.srv.Listener.Close()
	r.srv.Listener = l
	r.srv.Start()
	return r
}

func (r *receiver) URL() string { return r.srv.URL + "/hook" }

// begin starts a round with fresh state and returns it.
func (r *receiver) begin(rs *roundState) *roundState {
	r.round.Store(rs)
	return rs
}

// end closes the round's connections, so the next round starts cold.
func (r *receiver) end() {
	r.round.Store(&roundState{})
	r.srv.CloseClientConnections()
}

func (r *receiver) Close() { r.srv.Close() }

var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	buf := bodyPool.Get().(*bytes.Buffer)
	buf.Reset()
	_, err := io.Copy(buf, req.Body)
	now := time.Now()
	if err != nil {
		bodyPool.Put(buf)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.count.Add(1)
	rs := r.round.Load()
	if rs.record {
		if t, ok := sentAt(buf.Bytes()); ok {
			rs.mu.Lock()
			rs.lat = append(rs.lat, now.Sub(t))
			rs.mu.Unlock()
		}
	}
	bodyPool.Put(buf)
	if rs.slots != nil {
		select {
		case <-rs.slots:
		default:
		}
	}
	if wt, ok := rs.waiters.Load(req.Header.Get("webhook-id")); ok {
		if wt := wt.(*waiter); wt.left.Add(-1) == 0 {
			close(wt.done)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

var tField = []byte(`"t":`)

// sentAt reads the "t" field (Unix nanoseconds) that every benchmark body
// carries first in its event data.
func sentAt(body []byte) (time.Time, bool) {
	i := bytes.Index(body, tField)
	if i < 0 {
		return time.Time{}, false
	}
	rest := body[i+len(tField):]
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	n, err := strconv.ParseInt(string(rest[:j]), 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(0, n), true
}

// eventData returns the event data of a benchmark webhook sent now:
// {"t":<Unix ns>,"pad":"xxx…"}, padded so that the whole request body (the
// library's envelope around it) is about size bytes.
func eventData(dst []byte, size int) []byte {
	const envelopeOverhead = 120 // {"id":…,"type":…,"timestamp":…,"data":}
	dst = append(dst[:0], `{"t":`...)
	dst = strconv.AppendInt(dst, time.Now().UnixNano(), 10)
	dst = append(dst, `,"pad":"`...)
	if n := size - envelopeOverhead - len(dst) - 2; n > 0 {
		dst = append(dst, padding[:min(n, len(padding))]...)
	}
	return append(dst, `"}`...)
}

var padding = bytes.Repeat([]byte{'x'}, 128<<10)
