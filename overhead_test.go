package webhook_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hooksmith/webhook"
	"github.com/hooksmith/webhook/store/memstore"
)

// answer204 is a RoundTripper that reads each request's body and answers
// 204 at once: what is left of a delivery's cost is the library's. Each
// answer takes a token from slots; done is closed at the target count.
type answer204 struct {
	slots  chan struct{}
	n      atomic.Int64
	target int64
	done   chan struct{}
}

func (a *answer204) RoundTrip(r *http.Request) (*http.Response, error) {
	_, _ = io.Copy(io.Discard, r.Body)
	_ = r.Body.Close()
	<-a.slots
	if a.n.Add(1) == a.target {
		close(a.done)
	}
	return &http.Response{StatusCode: http.StatusNoContent, Status: "204 No Content", Body: http.NoBody, Header: http.Header{}, Request: r}, nil
}

// BenchmarkDeliveryOverhead measures what the library adds to each HTTP
// request, end to end on memstore: Publish, the claim, reading the
// subscription and event, building and signing the request, and recording
// the outcome, with a transport that answers at once. One op is one event
// (1 KiB of data) published and delivered; two goroutines publish, at most
// 256 deliveries ahead of the answers.
func BenchmarkDeliveryOverhead(b *testing.B) {
	for _, workers := range []int{8, 32} {
		b.Run("workers="+strconv.Itoa(workers), func(b *testing.B) {
			d, err := webhook.NewDispatcher(memstore.New(), &webhook.Config{Workers: workers, MaxInFlightPerSubscription: workers})
			if err != nil {
				b.Fatal(err)
			}
			rt := &answer204{slots: make(chan struct{}, 256), target: int64(b.N), done: make(chan struct{})}
			webhook.SetTransport(d, rt)
			ctx := context.Background()
			if _, err := d.SubscriptionCreate(ctx, webhook.Subscription{URL: "https://receiver.example/hook", EventTypes: []string{"bench.*"}}); err != nil {
				b.Fatal(err)
			}
			data := []byte(`{"pad":"` + string(bytes.Repeat([]byte{'x'}, 1000)) + `"}`)
			if err := d.Start(ctx); err != nil {
				b.Fatal(err)
			}
			var published atomic.Int64
			publish := func() {
				for published.Add(1) <= int64(b.N) {
					rt.slots <- struct{}{}
					if _, err := d.Publish(ctx, webhook.Event{Type: "bench.delivered", Data: data}); err != nil {
						b.Error(err)
						return
					}
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			go publish()
			go publish()
			select {
			case <-rt.done:
			case <-time.After(time.Minute):
				b.Fatalf("delivered %d of %d in a minute", rt.n.Load(), b.N)
			}
			b.StopTimer()
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := d.Shutdown(sctx); err != nil {
				b.Fatal(err)
			}
		})
	}
}
