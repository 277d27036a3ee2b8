package webhook

import (
	"bufio"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// client is the http.RoundTripper deliveries are sent with: HTTP/1.1 over
// keep-alive connections, one request at a time on each, written and read
// on the calling goroutine. It uses net/http's own wire code
// (http.Request.Write, http.ReadResponse) but not its Transport, whose
// two goroutines and channels per connection cost about a quarter of a
// request's CPU on loopback (see README, Performance). It sends no
// Accept-Encoding, follows no redirects (the Dispatcher does not want
// them) and speaks no HTTP/2: every receiver also speaks HTTP/1.1, and
// a worker holds one connection for its request anyway.
type client struct {
	dial        func(ctx context.Context, network, addr string) (net.Conn, error)
	tlsConfig   *tls.Config   // cloned per connection, ServerName set
	tlsTimeout  time.Duration // bounds a TLS handshake
	idleTimeout time.Duration // an idle connection older than this is closed
	maxPerHost  int           // idle connections kept per host
	maxIdle     int           // idle connections kept in all
	headerLimit int64         // bytes of status line and headers read at most

	mu    sync.Mutex
	idle  map[connKey][]*persistConn // newest last
	nidle int
	sweep *time.Timer // runs closeExpired; made once
	armed bool        // sweep is set to run
}

// connKey names the endpoint a connection is to.
type connKey struct {
	https bool
	addr  string // host:port
}

// persistConn is one connection and its buffers.
type persistConn struct {
	key    connKey
	conn   net.Conn
	in     countingReader // under br: counts and bounds what is read
	br     *bufio.Reader
	bw     *bufio.Writer
	idleAt time.Time
}

// countingReader reads from r at most n more bytes, counting them in read.
type countingReader struct {
	r    io.Reader
	n    int64
	read int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		return 0, errHeaderTooLarge
	}
	if int64(len(p)) > c.n {
		p = p[:c.n]
	}
	n, err := c.r.Read(p)
	c.n -= int64(n)
	c.read += int64(n)
	return n, err
}

var errHeaderTooLarge = errors.New("the receiver's answer has a status line and headers too large")

// earlyAnswerWait is how long a request whose sending failed waits for an
// answer the receiver may have sent before it stopped reading.
const earlyAnswerWait = 50 * time.Millisecond

// aLongTimeAgo, as a deadline, ends a connection's blocked reads and
// writes at once.
var aLongTimeAgo = time.Unix(1, 0)

// RoundTrip sends req on an idle connection to its host, or on a new one,
// and reads the answer's status line and headers. The answer's body is
// read from the connection, which goes back to the idle ones when the body
// was read to its end and closed (and is closed otherwise). A request that
// fails on a reused connection before any byte of an answer came (the
// receiver had closed it while idle) is sent once more on a new one: a
// receiver may so see a request twice, which at-least-once delivery allows
// (webhook-id tells it). Ending req's context aborts the request and the
// reading of the body.
func (c *client) RoundTrip(req *http.Request) (*http.Response, error) {
	key, err := keyOf(req)
	if err == nil {
		err = validHeader(req.Header)
	}
	if err != nil {
		closeBody(req)
		return nil, err
	}
	ctx := req.Context()
	pc, reused, err := c.conn(ctx, key)
	for {
		if err != nil {
			closeBody(req)
			return nil, ctxErr(ctx, err)
		}
		var resp *http.Response
		if resp, err = c.exchange(ctx, pc, req); err == nil {
			return resp, nil
		}
		if !reused || pc.in.read > 0 || !staleConn(err) || req.GetBody == nil || ctx.Err() != nil {
			return nil, ctxErr(ctx, err)
		}
		body, gerr := req.GetBody()
		if gerr != nil {
			return nil, ctxErr(ctx, err)
		}
		again := *req // a RoundTripper does not change the caller's request
		again.Body = body
		req = &again
		// Once more, on a new connection: the other idle ones may be
		// as stale.
		pc, err = c.dialConn(ctx, key)
		reused = false
	}
}

// exchange writes req on pc and reads the answer's head; pc is closed on
// failure. The body it returns gives pc back when closed.
func (c *client) exchange(ctx context.Context, pc *persistConn, req *http.Request) (*http.Response, error) {
	stop := context.AfterFunc(ctx, func() { _ = pc.conn.SetDeadline(aLongTimeAgo) })
	fail := func(err error) (*http.Response, error) {
		stop()
		_ = pc.conn.Close()
		return nil, err
	}
	pc.in.n, pc.in.read = c.headerLimit, 0
	werr := req.Write(pc.bw)
	if werr == nil {
		werr = pc.bw.Flush()
	}
	if werr != nil {
		// A receiver may answer before it reads the whole body (413,
		// 401) and close: that answer, when it came, is the outcome.
		if ctx.Err() != nil {
			return fail(werr)
		}
		_ = pc.conn.SetReadDeadline(time.Now().Add(earlyAnswerWait))
		resp, err := readAnswer(pc.br, req)
		if err != nil {
			return fail(werr)
		}
		// The body may take longer: no deadline but the context's,
		// which the watch sets again if it ran meanwhile.
		_ = pc.conn.SetReadDeadline(time.Time{})
		if ctx.Err() != nil {
			_ = pc.conn.SetDeadline(aLongTimeAgo)
		}
		return c.answered(ctx, pc, resp, false, stop), nil
	}
	resp, err := readAnswer(pc.br, req)
	if err != nil {
		if pc.in.read == 0 && errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("the receiver closed the connection without answering (%w)", err)
		}
		return fail(err)
	}
	return c.answered(ctx, pc, resp, !resp.Close && !req.Close, stop), nil
}

// readAnswer reads the final answer's head: 1xx answers (103 Early Hints,
// a stray 100 Continue) come before it; 101 would switch protocols, which
// a webhook never asks for.
func readAnswer(br *bufio.Reader, req *http.Request) (*http.Response, error) {
	for {
		resp, err := http.ReadResponse(br, req)
		switch {
		case err != nil:
			return nil, err
		case resp.StatusCode == http.StatusSwitchingProtocols:
			return nil, errors.New("the receiver answered 101 Switching Protocols to a webhook")
		case resp.StatusCode >= 200 || resp.StatusCode < 100:
			return resp, nil
		}
	}
}

// answered gives resp a body that hands pc back (see finish), or hands it
// back at once when resp has no body.
func (c *client) answered(ctx context.Context, pc *persistConn, resp *http.Response, keep bool, stop func() bool) *http.Response {
	pc.in.n = math.MaxInt64 // the head is read; the caller bounds the body
	if resp.Body == http.NoBody {
		stopped := stop()
		c.finish(pc, keep && stopped)
		return resp
	}
	resp.Body = &connBody{rc: resp.Body, ctx: ctx, c: c, pc: pc, keep: keep, stop: stop}
	return resp
}

// connBody is an answer's body; closing it gives its connection back.
type connBody struct {
	rc   io.ReadCloser
	ctx  context.Context
	c    *client
	pc   *persistConn
	keep bool // the answer allows another request on the connection
	eof  bool
	stop func() bool // ends the context watch of the exchange (see finish)
	done bool
}

func (b *connBody) Read(p []byte) (int, error) {
	if b.done {
		return 0, errors.New("read on a closed answer body")
	}
	n, err := b.rc.Read(p)
	switch {
	case err == io.EOF:
		b.eof = true
	case err != nil:
		err = ctxErr(b.ctx, err)
	}
	return n, err
}

// Close gives the connection back when the body was read to its end, and
// closes it otherwise (the rest could be long: it is not read).
func (b *connBody) Close() error {
	if b.done {
		return nil
	}
	b.done = true
	stopped := b.stop()
	b.c.finish(b.pc, b.keep && b.eof && stopped)
	return nil
}

// finish puts pc with the idle connections when keep holds and nothing was
// read past the answer, and closes it otherwise. keep is false when the
// context watch had run, or is running: the connection may then have, or
// be about to get, a deadline in the past.
func (c *client) finish(pc *persistConn, keep bool) {
	if !keep || pc.br.Buffered() > 0 {
		_ = pc.conn.Close()
		return
	}
	pc.idleAt = time.Now()
	c.mu.Lock()
	list := c.idle[pc.key]
	if len(list) >= c.maxPerHost || c.nidle >= c.maxIdle {
		c.mu.Unlock()
		_ = pc.conn.Close()
		return
	}
	c.idle[pc.key] = append(list, pc)
	c.nidle++
	c.armSweep(c.idleTimeout)
	c.mu.Unlock()
}

// conn returns the newest fit idle connection to key, or dials one. An
// idle one is unfit when it has timed out, or when the receiver closed it
// or sent what nobody asked for (see quiet): the next request's answer
// could not be told from that.
func (c *client) conn(ctx context.Context, key connKey) (pc *persistConn, reused bool, err error) {
	for pc = c.takeIdle(key); pc != nil; pc = c.takeIdle(key) {
		if time.Since(pc.idleAt) < c.idleTimeout && quiet(pc.conn) {
			return pc, true, nil
		}
		_ = pc.conn.Close()
	}
	pc, err = c.dialConn(ctx, key)
	return pc, false, err
}

// takeIdle removes the newest idle connection to key from the idle ones
// and returns it, or nil.
func (c *client) takeIdle(key connKey) *persistConn {
	c.mu.Lock()
	defer c.mu.Unlock()
	list := c.idle[key]
	if len(list) == 0 {
		return nil
	}
	pc := list[len(list)-1]
	list[len(list)-1] = nil
	c.idle[key] = list[:len(list)-1]
	c.nidle--
	return pc
}

// dialConn opens a connection to key, with TLS for https.
func (c *client) dialConn(ctx context.Context, key connKey) (*persistConn, error) {
	conn, err := c.dial(ctx, "tcp", key.addr)
	if err != nil {
		return nil, err
	}
	if key.https {
		host, _, _ := net.SplitHostPort(key.addr)
		cfg := c.tlsConfig.Clone()
		if cfg == nil {
			cfg = new(tls.Config)
		}
		cfg.ServerName = host
		cfg.NextProtos = []string{"http/1.1"}
		tc := tls.Client(&recordTracker{Conn: conn}, cfg)
		hctx, cancel := context.WithTimeoutCause(ctx, c.tlsTimeout,
			fmt.Errorf("no answer within %s", c.tlsTimeout))
		err := tc.HandshakeContext(hctx)
		if err != nil && ctx.Err() == nil && hctx.Err() != nil {
			err = context.Cause(hctx)
		}
		cancel()
		if err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("TLS handshake with %s: %w", key.addr, err)
		}
		conn = tc
	}
	pc := &persistConn{key: key, conn: conn, bw: bufio.NewWriterSize(conn, 4<<10)}
	pc.in.r = conn
	pc.br = bufio.NewReaderSize(&pc.in, 4<<10)
	return pc, nil
}

// armSweep sets closeExpired to run in d unless it is set already; c.mu
// is held. One timer serves: there is never more than one sweep to come.
func (c *client) armSweep(d time.Duration) {
	switch {
	case c.armed:
	case c.sweep == nil:
		c.sweep, c.armed = time.AfterFunc(d, c.closeExpired), true
	default:
		c.sweep.Reset(d)
		c.armed = true
	}
}

// closeExpired closes the idle connections that have timed out, and runs
// again while some are left.
func (c *client) closeExpired() {
	now := time.Now()
	var expired []*persistConn
	c.mu.Lock()
	for key, list := range c.idle {
		kept := list[:0]
		for _, pc := range list {
			if now.Sub(pc.idleAt) >= c.idleTimeout {
				expired = append(expired, pc)
				continue
			}
			kept = append(kept, pc)
		}
		clear(list[len(kept):])
		if len(kept) == 0 {
			delete(c.idle, key)
		} else {
			c.idle[key] = kept
		}
	}
	c.nidle -= len(expired)
	c.armed = false
	if c.nidle > 0 {
		c.armSweep(c.idleTimeout / 2)
	}
	c.mu.Unlock()
	for _, pc := range expired {
		_ = pc.conn.Close()
	}
}

// CloseIdleConnections closes the idle connections. It does not interrupt
// those in use, which go back to the idle ones when their answer is done,
// and the client stays usable: the next request dials.
func (c *client) CloseIdleConnections() {
	c.mu.Lock()
	idle := c.idle
	c.idle, c.nidle = make(map[connKey][]*persistConn), 0
	if c.sweep != nil {
		c.sweep.Stop()
		c.armed = false
	}
	c.mu.Unlock()
	for _, list := range idle {
		for _, pc := range list {
			_ = pc.conn.Close()
		}
	}
}

// keyOf returns the endpoint req goes to.
func keyOf(req *http.Request) (connKey, error) {
	u := req.URL
	var k connKey
	port := u.Port()
	switch u.Scheme {
	case "http":
		port = cmp.Or(port, "80")
	case "https":
		k.https, port = true, cmp.Or(port, "443")
	default:
		return k, fmt.Errorf("unsupported URL scheme %q: use http or https", u.Scheme)
	}
	host := u.Hostname()
	if host == "" {
		return k, errors.New("the URL has no host")
	}
	if nonASCII(host) {
		return k, fmt.Errorf("the URL's host %q is not ASCII: give its punycode form (xn--…)", host)
	}
	k.addr = net.JoinHostPort(host, port)
	return k, nil
}

// validHeader reports a header name or value that cannot be written as
// it is (a transform's, say): Request.Write would drop the name, or turn
// line breaks into spaces.
func validHeader(h http.Header) error {
	for name, values := range h {
		if !validHeaderName(name) {
			return fmt.Errorf("request header name %q is not a valid HTTP token", name)
		}
		for _, v := range values {
			if i := badValueByte(v); i >= 0 {
				return fmt.Errorf("request header %q has a control character (%q) in its value", name, v[i])
			}
		}
	}
	return nil
}

// quiet reports whether an idle connection has nothing to read and is
// still open: a receiver that closed it, or sent bytes nobody asked for,
// makes it unfit for the next request, whose answer could not be told
// from them. A TLS connection may hold such bytes in its own buffers,
// which its socket does not show: a read with a deadline in the past
// takes the whole records among them without waiting (a timeout does not
// break a tls.Conn), and its recordTracker tells whether part of one is
// left. A connection it finds unfit may keep that deadline: the caller
// closes it.
func quiet(conn net.Conn) bool {
	if tc, ok := conn.(*tls.Conn); ok {
		if tc.SetReadDeadline(aLongTimeAgo) != nil {
			return false
		}
		var b [1]byte
		n, err := tc.Read(b[:])
		if n > 0 || !errors.Is(err, os.ErrDeadlineExceeded) || tc.SetReadDeadline(time.Time{}) != nil {
			return false
		}
		conn = tc.NetConn()
		if rt, ok := conn.(*recordTracker); ok {
			if rt.partial() {
				return false
			}
			conn = rt.Conn
		}
	}
	return socketQuiet(conn)
}

// recordTracker sits under a tls.Conn and follows the TLS record framing
// of what it reads (a 5-byte header whose last two bytes give the length
// of the body that follows), so that quiet knows when the tls.Conn holds
// the start of a record it cannot read yet.
type recordTracker struct {
	net.Conn
	header [5]byte
	inHdr  int // header bytes of the current record read so far
	left   int // body bytes of the current record still to come
}

func (r *recordTracker) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	r.follow(p[:n])
	return n, err
}

// follow moves the framing past b.
func (r *recordTracker) follow(b []byte) {
	for len(b) > 0 {
		if r.left > 0 {
			k := min(r.left, len(b))
			r.left -= k
			b = b[k:]
			continue
		}
		k := copy(r.header[r.inHdr:], b)
		r.inHdr += k
		b = b[k:]
		if r.inHdr == len(r.header) {
			r.left, r.inHdr = int(r.header[3])<<8|int(r.header[4]), 0
		}
	}
}

// partial reports whether the bytes read so far end inside a record.
func (r *recordTracker) partial() bool { return r.inHdr > 0 || r.left > 0 }

// staleConn reports whether err is how a request fails on a connection
// the receiver had closed while it was idle.
func staleConn(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || connReset(err)
}

// ctxErr returns the context's error when it ended (the connection's
// deadline, set when it did, is then the error's cause), else err.
func ctxErr(ctx context.Context, err error) error {
	if cerr := context.Cause(ctx); cerr != nil {
		return cerr
	}
	return err
}

// closeBody closes the body of a request that is not sent, as a
// RoundTripper must.
func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}
