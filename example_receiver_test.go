package webhook_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/hooksmith/webhook"
)

// The Standard Webhooks specification's example secret.
const exampleSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// exampleHeaders signs body as a Dispatcher would.
func exampleHeaders(id string, at time.Time, body string) http.Header {
	sig, err := webhook.Sign(exampleSecret, id, at, []byte(body))
	if err != nil {
		panic(err)
	}
	h := http.Header{}
	h.Set(webhook.HeaderID, id)
	h.Set(webhook.HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
	h.Set(webhook.HeaderSignature, sig)
	return h
}

func ExampleReceiver_Verify() {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r, err := webhook.NewReceiver([]string{exampleSecret}, &webhook.ReceiverConfig{
		Now: func() time.Time { return now }, // a fixed clock, for the example
	})
	if err != nil {
		panic(err)
	}
	body := `{"id":"evt_1","type":"invoice.paid","timestamp":"2026-01-02T03:04:00Z","data":{"amount":42}}`
	h := exampleHeaders("evt_1", now, body)

	e, err := r.Verify([]byte(body), h)
	fmt.Println(e.ID, e.Type, e.Timestamp.Format(time.RFC3339), string(e.Data), err)

	// One changed byte and the signature no longer matches.
	_, err = r.Verify([]byte(strings.Replace(body, "42", "43", 1)), h)
	fmt.Println(errors.Is(err, webhook.ErrNoMatchingSignature))
	// Output:
	// evt_1 invoice.paid 2026-01-02T03:04:00Z {"amount":42} <nil>
	// true
}

func ExampleReceiver_Handler() {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r, err := webhook.NewReceiver([]string{exampleSecret}, &webhook.ReceiverConfig{
		Now: func() time.Time { return now },
	})
	if err != nil {
		panic(err)
	}
	h := r.Handler(func(ctx context.Context, e webhook.Event) error {
		if e.Type == "invoice.voided" {
			return webhook.Permanent(errors.New("voided invoices are not supported"))
		}
		fmt.Println("handling", e.ID, e.Type)
		return nil
	})
	send := func(id, body string) {
		req := httptest.NewRequest(http.MethodPost, "/webhooks", strings.NewReader(body))
		req.Header = exampleHeaders(id, now, body)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		fmt.Println(strings.TrimSpace(fmt.Sprint(w.Code, " ", w.Body.String())))
	}
	send("evt_1", `{"type":"invoice.paid","data":{}}`)
	send("evt_1", `{"type":"invoice.paid","data":{}}`) // a redelivery: acknowledged, not handled again
	send("evt_2", `{"type":"invoice.voided","data":{}}`)
	// Output:
	// handling evt_1 invoice.paid
	// 204
	// 204
	// 422 voided invoices are not supported
}
