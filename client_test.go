package webhook

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// idleCount returns how many idle connections c holds.
func idleCount(c *client) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nidle
}

// newTestClient returns a client whose idle connections are closed when
// the test ends, before the servers made earlier (Cleanup runs last in,
// first out) wait for their connections.
func newTestClient(t *testing.T) *client {
	c := &client{
		dial:        (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		tlsConfig:   &tls.Config{},
		tlsTimeout:  5 * time.Second,
		idleTimeout: time.Minute,
		maxPerHost:  4,
		maxIdle:     8,
		headerLimit: 1 << 20,
		idle:        make(map[connKey][]*persistConn),
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// countingServer is an httptest server that counts the connections it
// accepted and closed.
func countingServer(t *testing.T, h http.HandlerFunc) (srv *httptest.Server, opened, closed *atomic.Int64) {
	opened, closed = new(atomic.Int64), new(atomic.Int64)
	srv = httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			opened.Add(1)
		case http.StateClosed, http.StateHijacked:
			closed.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, opened, closed
}

func post(t *testing.T, ctx context.Context, url, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	return req
}

// roundTrip sends body to url and returns the answer's status and body,
// read whole and closed.
func roundTrip(t *testing.T, c *client, url, body string) (int, string) {
	t.Helper()
	resp, err := c.RoundTrip(post(t, context.Background(), url, body))
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return resp.StatusCode, string(b)
}

func TestClientReusesConnections(t *testing.T) {
	t.Parallel()
	srv, opened, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		switch string(b) {
		case "empty":
			w.WriteHeader(http.StatusNoContent)
		case "chunked":
			w.WriteHeader(http.StatusAccepted)
			for _, part := range []string{"one ", "two ", "three"} {
				_, _ = io.WriteString(w, part)
				w.(http.Flusher).Flush()
			}
		default:
			_, _ = io.WriteString(w, "got "+string(b))
		}
	})
	c := newTestClient(t)
	for i := range 5 {
		code, body := roundTrip(t, c, srv.URL+"/hook", "hello")
		require.Equal(t, http.StatusOK, code, i)
		require.Equal(t, "got hello", body)
	}
	code, body := roundTrip(t, c, srv.URL, "empty")
	require.Equal(t, http.StatusNoContent, code)
	require.Empty(t, body)
	code, body = roundTrip(t, c, srv.URL, "chunked")
	require.Equal(t, http.StatusAccepted, code)
	require.Equal(t, "one two three", body)
	require.EqualValues(t, 1, opened.Load(), "every request went on the first connection")
}

func TestClientSendsTheRequestAsGiven(t *testing.T) {
	t.Parallel()
	got := make(chan *http.Request, 1)
	bodies := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r
		bodies <- string(b)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	req, err := http.NewRequest(http.MethodPut, srv.URL+"/path?q=1", strings.NewReader(`{"a":1}`))
	require.NoError(t, err)
	req.Header.Set("Webhook-Id", "msg_1")
	req.Header.Set("User-Agent", "test/1")
	resp, err := newTestClient(t).RoundTrip(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	r := <-got
	require.Equal(t, http.MethodPut, r.Method)
	require.Equal(t, "/path?q=1", r.RequestURI)
	require.Equal(t, "msg_1", r.Header.Get("Webhook-Id"))
	require.Equal(t, "test/1", r.Header.Get("User-Agent"))
	require.Empty(t, r.Header.Get("Accept-Encoding"), "answers are not asked to be compressed")
	require.EqualValues(t, 7, r.ContentLength)
	require.Equal(t, `{"a":1}`, <-bodies)
}

func TestClientClosesConnectionsItCannotReuse(t *testing.T) {
	t.Parallel()
	srv, opened, closed := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/close" {
			w.Header().Set("Connection", "close")
		}
		_, _ = io.WriteString(w, strings.Repeat("x", 10000))
	})
	c := newTestClient(t)

	// An answer that says Connection: close.
	code, _ := roundTrip(t, c, srv.URL+"/close", "a")
	require.Equal(t, http.StatusOK, code)
	// A body closed before its end.
	resp, err := c.RoundTrip(post(t, context.Background(), srv.URL, "b"))
	require.NoError(t, err)
	_, err = io.ReadFull(resp.Body, make([]byte, 10))
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.NoError(t, resp.Body.Close(), "a second Close is harmless")
	_, err = resp.Body.Read(make([]byte, 1))
	require.Error(t, err, "a closed body cannot be read")

	require.Zero(t, idleCount(c))
	require.EqualValues(t, 2, opened.Load())
	require.Eventually(t, func() bool { return closed.Load() == 2 }, 5*time.Second, time.Millisecond)

	// A body read to its end: the connection is kept.
	code, _ = roundTrip(t, c, srv.URL, "c")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, 1, idleCount(c))
}

func TestClientRetriesOnAConnectionClosedWhileIdle(t *testing.T) {
	t.Parallel()
	srv, opened, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write(b)
	})
	c := newTestClient(t)
	_, body := roundTrip(t, c, srv.URL, "first")
	require.Equal(t, "first", body)
	srv.CloseClientConnections() // the idle connection is now stale.
	code, body := roundTrip(t, c, srv.URL, "second")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "second", body, "the body is sent again, whole")
	require.EqualValues(t, 2, opened.Load())
}

// rawServer accepts connections on 127.0.0.1 and runs serve on each; it
// returns the URL and the count of connections accepted.
func rawServer(t *testing.T, serve func(conn net.Conn, br *bufio.Reader)) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var (
		n  atomic.Int64
		wg sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				serve(conn, bufio.NewReader(conn))
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
	return "http://" + ln.Addr().String(), &n
}

func TestClientDoesNotRetryOnAFreshConnection(t *testing.T) {
	t.Parallel()
	url, accepted := rawServer(t, func(conn net.Conn, br *bufio.Reader) {
		_, _ = http.ReadRequest(br) // then close without an answer
	})
	_, err := newTestClient(t).RoundTrip(post(t, context.Background(), url, "x"))
	require.True(t, staleConn(err), "%v", err)
	require.ErrorContains(t, err, "the receiver closed the connection without answering")
	require.EqualValues(t, 1, accepted.Load())
}

func TestClientDoesNotRetryAfterPartOfAnAnswer(t *testing.T) {
	t.Parallel()
	url, accepted := rawServer(t, func(conn net.Conn, br *bufio.Reader) {
		for i := 0; ; i++ {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, req.Body)
			if i == 0 {
				_, _ = io.WriteString(conn, "HTTP/1.1 204 No Content\r\n\r\n")
				continue
			}
			_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n") // cut off
			return
		}
	})
	c := newTestClient(t)
	code, _ := roundTrip(t, c, url, "a")
	require.Equal(t, http.StatusNoContent, code)
	_, err := c.RoundTrip(post(t, context.Background(), url, "b"))
	require.True(t, staleConn(err), "%v: an error that alone would be retried", err)
	require.EqualValues(t, 1, accepted.Load(), "no second connection")
}

func TestClientSkipsInformationalAnswers(t *testing.T) {
	t.Parallel()
	url, _ := rawServer(t, func(conn net.Conn, br *bufio.Reader) {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		_, _ = io.WriteString(conn, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"+
			"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")
	})
	code, body := roundTrip(t, newTestClient(t), url, "x")
	require.Equal(t, http.StatusCreated, code)
	require.Equal(t, "ok", body)
}

func TestClientBoundsTheAnswersHead(t *testing.T) {
	t.Parallel()
	url, _ := rawServer(t, func(conn net.Conn, br *bufio.Reader) {
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\n")
		line := "X-Pad: " + strings.Repeat("p", 1000) + "\r\n"
		for range 2000 { // 2 MB of headers, over the limit
			if _, err := io.WriteString(conn, line); err != nil {
				return
			}
		}
	})
	c := newTestClient(t)
	_, err := c.RoundTrip(post(t, context.Background(), url, "x"))
	require.ErrorIs(t, err, errHeaderTooLarge)
}

func TestClientDropsAConnectionWithBytesPastTheAnswer(t *testing.T) {
	t.Parallel()
	url, accepted := rawServer(t, func(conn net.Conn, br *bufio.Reader) {
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, req.Body)
			// A second, unasked-for answer in the same write.
			_, _ = io.WriteString(conn, "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
		}
	})
	c := newTestClient(t)
	for range 2 {
		code, _ := roundTrip(t, c, url, "x")
		require.Equal(t, 500, code, "never the unasked-for answer")
	}
	require.EqualValues(t, 2, accepted.Load())
}

func TestClientStopsWhenTheContextEnds(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	srv, _, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		if r.URL.Path == "/body" {
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, "part")
			w.(http.Flusher).Flush()
		}
		<-release
	})
	t.Cleanup(func() { close(release) }) // before the server's Close, which waits for the handlers
	c := newTestClient(t)

	// Waiting for the head.
	ctx, cancel := context.WithCancelCause(context.Background())
	errs := make(chan error, 1)
	go func() {
		_, err := c.RoundTrip(post(t, ctx, srv.URL+"/head", "x"))
		errs <- err
	}()
	stop := errors.New("stopped by the test")
	<-entered // the request is sent: the client waits for the head
	cancel(stop)
	select {
	case err := <-errs:
		require.ErrorIs(t, err, stop)
	case <-time.After(10 * time.Second):
		t.Fatal("RoundTrip did not return after its context ended")
	}

	// Reading the body.
	ctx, cancel = context.WithCancelCause(context.Background())
	resp, err := c.RoundTrip(post(t, ctx, srv.URL+"/body", "x"))
	require.NoError(t, err)
	<-entered
	buf := make([]byte, 4)
	_, err = io.ReadFull(resp.Body, buf)
	require.NoError(t, err)
	cancel(stop)
	_, err = io.ReadAll(resp.Body)
	require.ErrorIs(t, err, stop)
	require.NoError(t, resp.Body.Close())
	require.Zero(t, idleCount(c), "a connection whose context ended is not kept")
}

func TestClientSpeaksTLS(t *testing.T) {
	t.Parallel()
	var opened atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Proto)
	}))
	srv.EnableHTTP2 = true // the client still asks for HTTP/1.1
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	c := newTestClient(t)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	c.tlsConfig = &tls.Config{RootCAs: roots}
	for range 3 {
		code, body := roundTrip(t, c, srv.URL, "x")
		require.Equal(t, http.StatusOK, code)
		require.Equal(t, "HTTP/1.1", body)
	}
	require.EqualValues(t, 1, opened.Load())

	// A certificate the client does not trust.
	_, err := newTestClient(t).RoundTrip(post(t, context.Background(), srv.URL, "x"))
	var unknown x509.UnknownAuthorityError
	require.ErrorAs(t, err, &unknown)
}

func TestClientKeepsAtMostItsIdleLimits(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var arrived sync.WaitGroup
	srv, opened, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		arrived.Done()
		<-release
		w.WriteHeader(http.StatusNoContent)
	})
	c := newTestClient(t)
	const n = 6 // more than maxPerHost (4)
	arrived.Add(n)
	var done sync.WaitGroup
	for range n {
		done.Go(func() {
			resp, err := c.RoundTrip(post(t, context.Background(), srv.URL, "x"))
			if err == nil {
				_ = resp.Body.Close()
			}
		})
	}
	arrived.Wait() // all six are in flight, on six connections
	close(release)
	done.Wait()
	require.EqualValues(t, n, opened.Load())
	require.Equal(t, c.maxPerHost, idleCount(c))
	require.Len(t, c.idle[connKey{addr: srv.Listener.Addr().String()}], c.maxPerHost)
}

func TestClientClosesIdleConnections(t *testing.T) {
	t.Parallel()
	srv, opened, closed := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	c := newTestClient(t)
	roundTrip(t, c, srv.URL, "x")
	require.Equal(t, 1, idleCount(c))

	// Expired: closed by the sweep, and not handed out.
	c.mu.Lock()
	for _, list := range c.idle {
		for _, pc := range list {
			pc.idleAt = pc.idleAt.Add(-2 * c.idleTimeout)
		}
	}
	c.mu.Unlock()
	c.closeExpired()
	require.Zero(t, idleCount(c))
	require.Eventually(t, func() bool { return closed.Load() == 1 }, 5*time.Second, time.Millisecond)

	roundTrip(t, c, srv.URL, "x")
	require.EqualValues(t, 2, opened.Load())
	c.mu.Lock()
	for _, list := range c.idle {
		for _, pc := range list {
			pc.idleAt = pc.idleAt.Add(-2 * c.idleTimeout)
		}
	}
	c.mu.Unlock()
	roundTrip(t, c, srv.URL, "x") // finds the expired one, closes it, dials
	require.EqualValues(t, 3, opened.Load())

	c.CloseIdleConnections()
	require.Zero(t, idleCount(c))
	require.Eventually(t, func() bool { return closed.Load() == 3 }, 5*time.Second, time.Millisecond)
	roundTrip(t, c, srv.URL, "x") // still usable
	require.EqualValues(t, 4, opened.Load())
}

func TestClientRefusesWhatItCannotSend(t *testing.T) {
	t.Parallel()
	c := newTestClient(t)
	for _, tc := range []struct{ url, want string }{
		{"ftp://example.com/x", `unsupported URL scheme "ftp": use http or https`},
		{"http:///x", "the URL has no host"},
		{"https://bücher.example/x", `the URL's host "bücher.example" is not ASCII: give its punycode form (xn--…)`},
		{"https://example.com/bad-header", `request header name "Bad Name" is not a valid HTTP token`},
		{"https://example.com/bad-value", `request header "X-Split" has a control character ('\n') in its value`},
	} {
		body := &closeCounter{Reader: strings.NewReader("x")}
		req, err := http.NewRequest(http.MethodPost, tc.url, body)
		require.NoError(t, err)
		req.Header["Bad Name"] = nil
		if strings.HasSuffix(tc.url, "bad-header") {
			req.Header["Bad Name"] = []string{"v"}
		} else {
			delete(req.Header, "Bad Name")
		}
		if strings.HasSuffix(tc.url, "bad-value") {
			req.Header["X-Split"] = []string{"a\nInjected: yes"}
		}
		_, err = c.RoundTrip(req)
		require.EqualError(t, err, tc.want)
		require.True(t, body.closed, "the request body is closed")
	}
}

type closeCounter struct {
	io.Reader
	closed bool
}

func (c *closeCounter) Close() error { c.closed = true; return nil }

func TestClientDropsAnIdleConnectionTheReceiverWroteOn(t *testing.T) {
	t.Parallel()
	stray, strayWritten := make(chan struct{}), make(chan struct{})
	var served atomic.Int64
	url, accepted := rawServer(t, func(conn net.Conn, br *bufio.Reader) {
		first := served.Add(1) == 1
		for i := 0; ; i++ {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, req.Body)
			if i > 0 || !first {
				_, _ = io.WriteString(conn, "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n")
				continue
			}
			_, _ = io.WriteString(conn, "HTTP/1.1 204 No Content\r\n\r\n")
			<-stray // the client holds the connection idle now
			_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
			close(strayWritten)
		}
	})
	c := newTestClient(t)
	code, _ := roundTrip(t, c, url, "a")
	require.Equal(t, http.StatusNoContent, code)
	c.mu.Lock()
	var idle *persistConn
	for _, list := range c.idle {
		idle = list[0]
	}
	c.mu.Unlock()
	require.True(t, quiet(idle.conn), "an idle connection with nothing to read is fit")
	close(stray)
	<-strayWritten
	require.Eventually(t, func() bool { return !quiet(idle.conn) }, 5*time.Second, time.Millisecond,
		"the stray answer shows on the idle connection")
	code, _ = roundTrip(t, c, url, "b")
	require.Equal(t, 500, code, "the request's own answer, not the stray one")
	require.EqualValues(t, 2, accepted.Load())
}

func TestClientRetriesPastSeveralStaleConnections(t *testing.T) {
	t.Parallel()
	var arrived sync.WaitGroup
	release := make(chan struct{})
	srv, opened, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/three" {
			arrived.Done()
			<-release
		}
		w.WriteHeader(http.StatusNoContent)
	})
	c := newTestClient(t)
	arrived.Add(3)
	var done sync.WaitGroup
	for range 3 {
		done.Go(func() {
			resp, err := c.RoundTrip(post(t, context.Background(), srv.URL+"/three", "x"))
			if err == nil {
				_ = resp.Body.Close()
			}
		})
	}
	arrived.Wait()
	close(release)
	done.Wait()
	require.Equal(t, 3, idleCount(c))
	srv.CloseClientConnections() // all three are stale now
	code, _ := roundTrip(t, c, srv.URL, "x")
	require.Equal(t, http.StatusNoContent, code)
	require.EqualValues(t, 4, opened.Load())
}

func TestClientRetriesOnlyWhatItCanSendAgain(t *testing.T) {
	t.Parallel()
	srv, opened, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	})
	c := newTestClient(t)
	// staleIdle makes the idle connection stale in a way quiet cannot
	// see, as on platforms without a peek.
	staleIdle := func() {
		roundTrip(t, c, srv.URL, "x")
		srv.CloseClientConnections()
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, list := range c.idle {
			for _, pc := range list {
				pc.conn = alwaysQuiet{pc.conn}
			}
		}
	}

	// Sent again on a new connection; the caller's request is left as
	// it was.
	staleIdle()
	n := opened.Load()
	req := post(t, context.Background(), srv.URL, "x")
	body := req.Body
	resp, err := c.RoundTrip(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.True(t, body == req.Body, "the caller's request keeps its body")
	require.Equal(t, n+1, opened.Load())

	// Without GetBody, the failure is the outcome.
	staleIdle()
	n = opened.Load()
	req = post(t, context.Background(), srv.URL, "x")
	req.GetBody = nil
	_, err = c.RoundTrip(req)
	require.True(t, staleConn(err), "%v", err)
	require.Equal(t, n, opened.Load(), "not sent again")
}

// alwaysQuiet hides a connection's socket from quiet, which then trusts
// it, as on platforms without a peek.
type alwaysQuiet struct{ net.Conn }

func TestClientTakesAnAnswerThatCameBeforeTheBodyWasSent(t *testing.T) {
	t.Parallel()
	url, _ := rawServer(t, func(conn net.Conn, br *bufio.Reader) {
		if _, err := http.ReadRequest(br); err != nil { // the head only
			return
		}
		_, _ = io.WriteString(conn, "HTTP/1.1 103 Early Hints\r\n\r\n"+
			"HTTP/1.1 413 Content Too Large\r\nConnection: close\r\nContent-Length: 8\r\n\r\ntoo long")
		// conn closes with most of the body unread: the client's
		// writes then fail.
	})
	c := newTestClient(t)
	resp, err := c.RoundTrip(post(t, context.Background(), url, strings.Repeat("x", 16<<20)))
	require.NoError(t, err)
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	b, _ := io.ReadAll(resp.Body)
	require.Equal(t, "too long", string(b))
	require.NoError(t, resp.Body.Close())
	require.Zero(t, idleCount(c))
}

func TestClientNamesAStalledTLSHandshake(t *testing.T) {
	t.Parallel()
	url, _ := rawServer(t, func(conn net.Conn, br *bufio.Reader) {
		_, _ = io.Copy(io.Discard, br) // never answers the ClientHello
	})
	c := newTestClient(t)
	c.tlsTimeout = 50 * time.Millisecond
	c.tlsConfig = nil // the default configuration, without a panic
	host := strings.TrimPrefix(url, "http://")
	_, err := c.RoundTrip(post(t, context.Background(), "https://"+host, "x"))
	require.ErrorContains(t, err, "TLS handshake with "+host+": no answer within 50ms")
	require.NotErrorIs(t, err, context.DeadlineExceeded, "not to be taken for the attempt's timeout")
}

func TestClientReportsAFailedRedial(t *testing.T) {
	t.Parallel()
	srv, _, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	c := newTestClient(t)
	roundTrip(t, c, srv.URL, "x")
	srv.CloseClientConnections()
	c.mu.Lock()
	for _, list := range c.idle {
		for _, pc := range list {
			pc.conn = alwaysQuiet{pc.conn}
		}
	}
	c.mu.Unlock()
	refused := errors.New("dial refused by the test")
	c.dial = func(context.Context, string, string) (net.Conn, error) { return nil, refused }
	_, err := c.RoundTrip(post(t, context.Background(), srv.URL, "x"))
	require.ErrorIs(t, err, refused, "the new connection's failure, after the stale one's")
}

// tlsPipe returns the client end of a TLS connection over a pipe, and the
// recordTracker under it, whose server end writes what once the
// handshake is done.
func tlsPipe(t *testing.T, what string) (*tls.Conn, *recordTracker) {
	t.Helper()
	cert, err := tls.X509KeyPair(localhostCert(t))
	require.NoError(t, err)
	clientEnd, serverEnd := net.Pipe()
	t.Cleanup(func() { _ = clientEnd.Close(); _ = serverEnd.Close() })
	srv := tls.Server(serverEnd, &tls.Config{Certificates: []tls.Certificate{cert}})
	go func() {
		if srv.Handshake() == nil {
			_, _ = srv.Write([]byte(what)) // one record
		}
	}()
	rt := &recordTracker{Conn: clientEnd}
	return tls.Client(rt, &tls.Config{InsecureSkipVerify: true}), rt // the test's own pipe
}

func TestQuietSeesWhatATLSConnectionHolds(t *testing.T) {
	t.Parallel()
	cl, _ := tlsPipe(t, "ab")
	var b [1]byte
	_, err := io.ReadFull(cl, b[:]) // "a"; "b" stays in the client's buffer
	require.NoError(t, err)
	require.False(t, quiet(cl), "a byte in the TLS buffer makes the connection unfit")
}

// localhostCert returns the certificate and key of an httptest TLS
// server, PEM-encoded.
func localhostCert(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	srv.StartTLS()
	defer srv.Close()
	c := srv.TLS.Certificates[0]
	key, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key})
}

func TestRecordTrackerFollowsTLSFraming(t *testing.T) {
	t.Parallel()
	record := func(body string) []byte {
		return append([]byte{23, 3, 3, byte(len(body) >> 8), byte(len(body))}, body...)
	}
	stream := append(append(record("hello"), record(strings.Repeat("x", 300))...), record("")...)
	for split := 1; split <= len(stream); split++ { // fed in pieces of every size
		var rt recordTracker
		for i := 0; i < len(stream); i += split {
			rt.follow(stream[i:min(i+split, len(stream))])
			end := min(i+split, len(stream))
			atBoundary := end == 10 || end == 315 || end == 320
			require.Equal(t, !atBoundary, rt.partial(), "split %d, %d bytes read", split, end)
		}
	}
}

func TestQuietSeesAPartialTLSRecord(t *testing.T) {
	t.Parallel()
	cl, rt := tlsPipe(t, "a")
	var b [1]byte
	_, err := io.ReadFull(cl, b[:])
	require.NoError(t, err)
	require.True(t, quiet(cl), "every record read whole: fit")
	rt.follow([]byte{23, 3, 3}) // the start of a record nobody asked for
	require.False(t, quiet(cl), "part of a record read: unfit")
}
