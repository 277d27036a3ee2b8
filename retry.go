package webhook

import (
	"net/http"
	"strconv"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// BackoffFunc returns the delay before the next attempt of a delivery that
// has failed attempts times (attempts >= 1). The Dispatcher computes it from
// the attempt count stored with the delivery, so the schedule continues
// across restarts. It must be safe for concurrent use.
type BackoffFunc func(attempts int) time.Duration

// CheckRetryFunc decides whether a failed attempt is retried. statusCode is
// the receiver's answer (0 when there was none) and err the transport error
// (nil when there was an answer). It is not called for 2xx answers, nor for
// 410 Gone, which always disables the subscription. Attempts beyond
// Config.MaxAttempts are never made, whatever it returns.
type CheckRetryFunc func(statusCode int, err error) bool

// DefaultCheckRetry retries every failure: timeouts, connection errors,
// redirects and every non-2xx answer but 410.
func DefaultCheckRetry(statusCode int, err error) bool { return true }

// Default schedule of DefaultBackoff.
const (
	backoffInitial    = 5 * time.Second
	backoffMultiplier = 4
	backoffMax        = 8 * time.Hour
	backoffJitter     = 0.2
)

// DefaultBackoff is ExponentialBackoff(5s, 4, 8h): about 5 s, 20 s, 80 s,
// 5 min, 21 min, 85 min, 5.7 h, then 8 h, each ±20%. With
// MaxAttemptsDefault attempts, a delivery is retried for about three days.
func DefaultBackoff(attempts int) time.Duration { return defaultBackoff(attempts) }

var defaultBackoff = ExponentialBackoff(backoffInitial, backoffMultiplier, backoffMax)

// ExponentialBackoff returns a BackoffFunc whose delay after n failed
// attempts is initial × multiplier^(n-1), capped at max, randomised by ±20%
// so that receivers recovering from an outage are not hit in lockstep.
func ExponentialBackoff(initial time.Duration, multiplier float64, maxInterval time.Duration) BackoffFunc {
	return func(attempts int) time.Duration {
		// backoff.ExponentialBackOff keeps its interval as state, so derive
		// the n-th delay from a fresh one rather than a shared instance.
		b := &backoff.ExponentialBackOff{
			InitialInterval:     initial,
			RandomizationFactor: backoffJitter,
			Multiplier:          multiplier,
			MaxInterval:         maxInterval,
			MaxElapsedTime:      0, // never stop: MaxAttempts decides.
			Stop:                backoff.Stop,
			Clock:               backoff.SystemClock,
		}
		b.Reset()
		delay := b.NextBackOff()
		for i := 1; i < attempts; i++ {
			delay = b.NextBackOff()
		}
		return delay
	}
}

// retryAfter parses a Retry-After header given in seconds or as an HTTP
// date, relative to now. ok is false when there is none or it is invalid.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := h.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(min(secs, int64(365*24*3600))) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
