package webhook

import (
	"fmt"
	"log/slog"
	"time"
)

// Defaults for Config fields left zero.
const (
	AttemptTimeoutDefault             = 15 * time.Second
	LeaseDurationDefault              = 2 * time.Minute
	MaxAttemptsDefault                = 16
	MaxInFlightPerSubscriptionDefault = 8
	MaxRetryAfterDefault              = time.Hour
	RetentionDefault                  = 30 * 24 * time.Hour
	SecretOverlapDefault              = 24 * time.Hour
	WorkersDefault                    = 32
)

// Config configures a Dispatcher. The zero value (or a nil *Config) means
// the defaults given on each field.
type Config struct {
	// AllowPrivateNetworks lets deliveries reach loopback, private,
	// link-local and other non-public addresses. Off by default, so that a
	// subscription URL cannot be used to probe the host's network (SSRF);
	// the check runs on the address actually dialled, after DNS. Turn it on
	// for tests and for receivers inside your own network.
	AllowPrivateNetworks bool

	// AttemptTimeout bounds one delivery attempt: resolving credentials,
	// the transform, connecting, sending and reading the response. When it
	// passes, the attempt's context is cancelled with ErrAttemptTimeout as
	// its cause. Defaults to AttemptTimeoutDefault (15 s).
	AttemptTimeout time.Duration

	// Backoff gives the delay before the next attempt after n failed
	// attempts. Defaults to DefaultBackoff (seconds, then minutes, then
	// hours).
	Backoff BackoffFunc

	// CheckRetry decides whether a failed attempt is retried. Defaults to
	// DefaultCheckRetry, which retries every failure.
	CheckRetry CheckRetryFunc

	// LeaseDuration is how long a claimed delivery stays invisible to other
	// claims. If the process dies mid-attempt the delivery is due again
	// after it. It must exceed AttemptTimeout. Defaults to
	// LeaseDurationDefault (2 minutes), or AttemptTimeout plus one minute
	// when that is longer.
	LeaseDuration time.Duration

	// Logger receives the dispatcher's logs. Secrets and signatures are
	// never logged; URLs are logged with query values and user info
	// redacted. Defaults to a logger that discards everything.
	Logger *slog.Logger

	// MaxAttempts is how many attempts a delivery gets before it is marked
	// failed. Defaults to MaxAttemptsDefault (16, about three days with
	// DefaultBackoff).
	MaxAttempts int

	// MaxInFlightPerSubscription caps concurrent attempts to one
	// subscription, so that a slow receiver cannot take every worker.
	// Defaults to MaxInFlightPerSubscriptionDefault (8), or Workers when
	// that is smaller.
	MaxInFlightPerSubscription int

	// MaxRetryAfter caps the delay a receiver can ask for with Retry-After
	// on a 429 or 503 answer. Defaults to MaxRetryAfterDefault (1 hour).
	MaxRetryAfter time.Duration

	// Now is the clock. Defaults to time.Now. Tests inject their own.
	Now func() time.Time

	// Retention is how long an event stays readable by pull subscriptions,
	// counted from its Publish: Poll never returns an older one, and a
	// cursor before it is refused with ErrCursorExpired. Negative keeps
	// events readable for as long as the store keeps them. Defaults to
	// RetentionDefault (30 days), as does boltstore's Options.Retention,
	// which deletes them: keep the two equal (a shorter store retention
	// makes Poll report ErrCursorExpired earlier; a longer one keeps
	// events Poll no longer returns).
	Retention time.Duration

	// SecretOverlap is how long SubscriptionRotateSecret keeps the old
	// secret signing beside the new one. Defaults to SecretOverlapDefault
	// (24 hours).
	SecretOverlap time.Duration

	// Secrets resolves credential references in Subscription.Auth (values
	// such as "env://NAME" or "config://path") at send time. Defaults to
	// nil: references are rejected when a subscription is created, so that
	// nobody who can create a subscription can make the host send its
	// secrets away. See EnvResolver, MapResolver and SchemeResolver.
	Secrets SecretResolver

	// Transforms are the request rewriters subscriptions may name in
	// Subscription.Transform. Defaults to none.
	Transforms map[string]TransformFunc

	// Workers is the most attempts in flight at once: the delivery loop
	// starts up to that many worker goroutines, which stay until Shutdown.
	// It is also the number of idle connections kept per host. Defaults
	// to WorkersDefault (32).
	Workers int
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.AttemptTimeout == 0 {
		c.AttemptTimeout = AttemptTimeoutDefault
	}
	if c.Backoff == nil {
		c.Backoff = DefaultBackoff
	}
	if c.CheckRetry == nil {
		c.CheckRetry = DefaultCheckRetry
	}
	if c.LeaseDuration == 0 {
		c.LeaseDuration = max(LeaseDurationDefault, c.AttemptTimeout+time.Minute)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = MaxAttemptsDefault
	}
	if c.Workers == 0 {
		c.Workers = WorkersDefault
	}
	if c.MaxInFlightPerSubscription == 0 {
		c.MaxInFlightPerSubscription = min(MaxInFlightPerSubscriptionDefault, c.Workers)
	}
	if c.MaxRetryAfter == 0 {
		c.MaxRetryAfter = MaxRetryAfterDefault
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.SecretOverlap == 0 {
		c.SecretOverlap = SecretOverlapDefault
	}
	if c.Retention == 0 {
		c.Retention = RetentionDefault
	}
	return c
}

// validate reports settings that cannot work.
func (c *Config) validate() error {
	v := validator{what: "config"}
	if c.AttemptTimeout < 0 {
		v.add("AttemptTimeout", "must be positive, or zero for the default")
	}
	if c.LeaseDuration <= c.AttemptTimeout {
		v.add("LeaseDuration", fmt.Sprintf("must exceed AttemptTimeout (%s), or else a delivery could be claimed twice while its attempt still runs; got %s", c.AttemptTimeout, c.LeaseDuration))
	}
	if c.MaxAttempts < 0 {
		v.add("MaxAttempts", "must be positive, or zero for the default")
	}
	if c.Workers < 0 {
		v.add("Workers", "must be positive, or zero for the default")
	}
	if c.MaxInFlightPerSubscription < 0 {
		v.add("MaxInFlightPerSubscription", "must be positive, or zero for the default")
	}
	if c.SecretOverlap < 0 {
		v.add("SecretOverlap", "must be positive, or zero for the default")
	}
	for name, fn := range c.Transforms {
		if fn == nil {
			v.add(fmt.Sprintf("Transforms[%q]", name), "is nil: register a function or remove the entry")
		}
	}
	if c.MaxRetryAfter < 0 {
		v.add("MaxRetryAfter", "must be positive, or zero for the default")
	}
	return v.err()
}
