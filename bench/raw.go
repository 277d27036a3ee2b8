package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"

	"github.com/hooksmith/webhook"
)

// rawSender is the raw HTTP reference: a Standard Webhooks signed POST of
// the same envelope the library sends, with net/http and the same client
// tuning as the library's (see transport.go).
type rawSender struct {
	client *http.Client
	url    string
	keys   [][]byte // a request uses keys[n % len(keys)]
	size   int
	seq    atomic.Int64
}

func newRawSender(url string, concurrency, size int, secrets []string) (*rawSender, error) {
	s := &rawSender{url: url, size: size}
	for _, sec := range secrets {
		k, err := webhook.DecodeSecret(sec)
		if err != nil {
			return nil, err
		}
		s.keys = append(s.keys, k)
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	s.client = &http.Client{
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           dialer.DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          concurrency * 2,
			MaxIdleConnsPerHost:   concurrency,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return s, nil
}

func (s *rawSender) close() { s.client.CloseIdleConnections() }

// rawBuf is one sender goroutine's scratch space.
type rawBuf struct{ data, body []byte }

// post sends one signed webhook and reads the answer. n picks the key.
func (s *rawSender) post(ctx context.Context, buf *rawBuf, n int) error {
	now := time.Now()
	id := "msg_" + strconv.FormatInt(s.seq.Add(1), 10)
	buf.data = eventData(buf.data, s.size)
	b := append(buf.body[:0], `{"id":"`...)
	b = append(b, id...)
	b = append(b, `","type":"bench.delivered","timestamp":"`...)
	b = now.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","data":`...)
	b = append(b, buf.data...)
	b = append(b, '}')
	buf.body = b

	ts := strconv.FormatInt(now.Unix(), 10)
	mac := hmac.New(sha256.New, s.keys[n%len(s.keys)])
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(b)
	sig := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "raw/1")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", ts)
	req.Header.Set("webhook-signature", sig)
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("receiver answered %s", resp.Status)
	}
	return nil
}

// rawCommitter is the raw bbolt reference: a group commit without a timer.
// One goroutine takes the first queued write, drains what else is queued
// (up to 1024) and puts it all in one fsynced transaction.
type rawCommitter struct {
	db    *bbolt.DB
	queue chan *rawWrite
	done  chan struct{}
}

type rawWrite struct {
	kvs  [][2][]byte
	done chan error
}

var rawBucket = []byte("records")

func openRawCommitter(path string) (*rawCommitter, error) {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	if err := db.Update(func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(rawBucket)
		return err
	}); err != nil {
		_ = db.Close()
		return nil, err
	}
	c := &rawCommitter{db: db, queue: make(chan *rawWrite, 1024), done: make(chan struct{})}
	go c.run()
	return c, nil
}

func (c *rawCommitter) close() error {
	close(c.queue)
	<-c.done
	return c.db.Close()
}

func (c *rawCommitter) run() {
	defer close(c.done)
	group := make([]*rawWrite, 0, 1024)
	for w := range c.queue {
		group = append(group[:0], w)
	drain:
		for len(group) < cap(group) {
			select {
			case w, ok := <-c.queue:
				if !ok {
					break drain
				}
				group = append(group, w)
			default:
				break drain
			}
		}
		err := c.db.Update(func(tx *bbolt.Tx) error {
			b := tx.Bucket(rawBucket)
			for _, w := range group {
				for _, kv := range w.kvs {
					if err := b.Put(kv[0], kv[1]); err != nil {
						return err
					}
				}
			}
			return nil
		})
		for _, w := range group {
			w.done <- err
		}
	}
}

// put writes kvs in the next group and waits for its fsync.
func (c *rawCommitter) put(ctx context.Context, kvs ...[2][]byte) error {
	w := &rawWrite{kvs: kvs, done: make(chan error, 1)}
	select {
	case c.queue <- w:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-w.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// rawRecords returns the records the library's store keeps for an event
// with one delivery, encoded the same way (JSON), under sequential keys.
func rawRecords(n int64, data []byte) [][2][]byte {
	now := time.Now()
	evID := fmt.Sprintf("evt_%016d", n)
	dlID := fmt.Sprintf("dlv_%016d", n)
	ev, err1 := json.Marshal(webhook.Event{ID: evID, Type: "bench.delivered", Timestamp: now, Data: data})
	dl, err2 := json.Marshal(webhook.Delivery{
		ID: dlID, EventID: evID, EventType: "bench.delivered", SubscriptionID: "sub_0000000000000000000000000",
		State: webhook.DeliveryPending, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now,
	})
	if err := errors.Join(err1, err2); err != nil {
		panic(err)
	}
	return [][2][]byte{{[]byte(evID), ev}, {[]byte(dlID), dl}}
}

// rawDelivered returns the record of a delivery that succeeded, replacing
// the pending one.
func rawDelivered(n int64) [2][]byte {
	now := time.Now()
	dlID := fmt.Sprintf("dlv_%016d", n)
	dl, err := json.Marshal(webhook.Delivery{
		ID: dlID, EventID: fmt.Sprintf("evt_%016d", n), EventType: "bench.delivered", SubscriptionID: "sub_0000000000000000000000000",
		State: webhook.DeliverySucceeded, AttemptCount: 1, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now,
		Attempts: []webhook.Attempt{{Number: 1, StartedAt: now, Duration: time.Millisecond, StatusCode: 204}},
	})
	if err != nil {
		panic(err)
	}
	return [2][]byte{[]byte(dlID), dl}
}
