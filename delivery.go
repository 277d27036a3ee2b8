package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"time"
)

// DeliveryState is where a delivery stands.
type DeliveryState string

// The states of a delivery. Pending is the only one the loop acts on; the
// others are final until DeliveryRetry makes the delivery pending again.
const (
	// DeliveryPending: due now or at NextAttemptAt.
	DeliveryPending DeliveryState = "pending"
	// DeliverySucceeded: the receiver answered 2xx.
	DeliverySucceeded DeliveryState = "succeeded"
	// DeliveryFailed: attempts ran out, the retry policy gave up, or the
	// receiver answered 410 Gone.
	DeliveryFailed DeliveryState = "failed"
	// DeliveryCanceled: the subscription was deleted or disabled first.
	DeliveryCanceled DeliveryState = "canceled"
	// DeliverySkipped: the subscription's transform chose not to send it.
	DeliverySkipped DeliveryState = "skipped"
)

// Delivery is one event on its way to one subscription.
type Delivery struct {
	ID             string        `json:"id"`
	EventID        string        `json:"eventId"`
	EventType      string        `json:"eventType"`
	SubscriptionID string        `json:"subscriptionId"`
	Tenant         string        `json:"tenant,omitempty"`
	State          DeliveryState `json:"state"`
	// AttemptCount is the number of attempts since the delivery was
	// created or last reset by DeliveryRetry; the retry schedule follows it.
	AttemptCount int `json:"attemptCount"`
	// NextAttemptAt is when a pending delivery is due.
	NextAttemptAt time.Time `json:"nextAttemptAt"`
	// LastError says why the last attempt failed or why the delivery was
	// cancelled; empty after a success.
	LastError string    `json:"lastError,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	// LeaseToken and LeasedUntil are set while a worker holds the
	// delivery; stores manage them.
	LeaseToken  string    `json:"-"`
	LeasedUntil time.Time `json:"-"`
	// Attempts is the log of every attempt, oldest first. Filled in by
	// DeliveryGet and DeliveryList, not by claims.
	Attempts []Attempt `json:"attempts,omitempty"`

	// event is the event Publish made this delivery for, which it gave
	// the store with it. A store that keeps deliveries as it is given them
	// (memstore) returns it with the copies its claims make, and a worker
	// then sends it without reading it from the store again; a store that
	// encodes them (boltstore) drops it, and so does Clone: the worker then
	// calls EventGet. See Store, on ownership.
	event *Event
}

// publishedEvent returns the event Publish gave the store with d, or nil
// when d does not carry it (see Delivery.event).
func (d *Delivery) publishedEvent() *Event {
	if e := d.event; e != nil && e.ID == d.EventID {
		return e
	}
	return nil
}

// Clone returns a deep copy of d. It does not carry the event Publish made
// d for (see Delivery.event): a clone holds no store memory, and a store
// that returns clones makes the worker read the event with EventGet.
func (d *Delivery) Clone() *Delivery {
	c := *d
	c.event = nil
	if d.Attempts != nil {
		c.Attempts = append([]Attempt(nil), d.Attempts...)
		for i := range c.Attempts {
			c.Attempts[i].MissingValues = slices.Clone(c.Attempts[i].MissingValues)
		}
	}
	return &c
}

// Attempt is one HTTP request made for a delivery.
type Attempt struct {
	// Number counts attempts of the delivery from 1, across resets.
	Number    int           `json:"number"`
	StartedAt time.Time     `json:"startedAt"`
	Duration  time.Duration `json:"duration"`
	// StatusCode is the receiver's answer, 0 when there was none.
	StatusCode int `json:"statusCode,omitempty"`
	// Error says why the attempt failed; empty on success.
	Error string `json:"error,omitempty"`
	// ResponseBody holds the first 4 KiB of the receiver's answer.
	ResponseBody string `json:"responseBody,omitempty"`
	// MissingValues lists the template tags that had no value in the
	// event and rendered as empty (or null).
	MissingValues []string `json:"missingValues,omitempty"`
	// Note says why no request was sent, when a transform skipped it.
	Note string `json:"note,omitempty"`
}

// Limits on what is read from and kept of a receiver's answer.
const (
	responseBodyKept = 4 << 10  // stored in Attempt.ResponseBody
	responseBodyRead = 64 << 10 // read before closing, so connections are reused
)

// maxIdleWait bounds how long the loop sleeps with nothing due, as a guard
// against a wake-up missed by a store shared with another process.
const maxIdleWait = time.Minute

// storeErrorDelay is how long the loop waits after a failing store call.
const storeErrorDelay = time.Second

// recordTimeout bounds writing an outcome (or a release) after a stop.
const recordTimeout = 5 * time.Second

// DeliveryGet returns a delivery with its attempt log. A missing one is an
// error wrapping ErrNotFound.
func (d *Dispatcher) DeliveryGet(ctx context.Context, id string) (Delivery, error) {
	dl, err := d.store.DeliveryGet(ctx, id)
	if err != nil {
		return Delivery{}, err
	}
	return *dl, nil
}

// DeliveryList returns the deliveries that pass the filters of p, in ID
// (creation) order, each with its attempt log. To page, pass the last ID
// of a page as p.After for the next one.
func (d *Dispatcher) DeliveryList(ctx context.Context, p DeliveryListParams) ([]Delivery, error) {
	ds, err := d.store.DeliveryList(ctx, p)
	if err != nil {
		return nil, err
	}
	out := make([]Delivery, len(ds))
	for i, dl := range ds {
		out[i] = *dl
	}
	return out, nil
}

// DeliveryRetry redelivers a succeeded, failed or cancelled delivery: it
// becomes pending, due now, with a fresh retry schedule; its attempt log is
// kept. A pending delivery is an error wrapping ErrDeliveryPending.
func (d *Dispatcher) DeliveryRetry(ctx context.Context, id string) (Delivery, error) {
	dl, err := d.store.DeliveryReset(ctx, id, d.now())
	if err != nil {
		return Delivery{}, err
	}
	d.notify()
	return *dl, nil
}

// loop claims due deliveries and starts a worker for each, until
// rs.claimCtx ends. A worker claims its own next delivery when it is done
// with one (see work), so the loop only fills free worker slots: it sleeps
// until the next delivery is due, a Publish wakes it or a worker ends,
// whichever comes first, and while every worker is busy it waits for one
// to end.
func (d *Dispatcher) loop(rs *runState) {
	defer close(rs.loopDone)
	ctx := rs.claimCtx
	timer := time.NewTimer(maxIdleWait) // reused by every sleep
	timer.Stop()
	c := d.newClaimer("") // a token per claim: its deliveries go to several workers
	for ctx.Err() == nil {
		free := d.cfg.Workers - int(d.active.Load())
		if free <= 0 {
			select {
			case <-ctx.Done():
			case <-d.idle:
			}
			continue
		}
		n, err := d.claim(rs, c, free)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			d.log.ErrorContext(ctx, "claiming deliveries failed", "error", err)
			d.sleep(ctx, timer, storeErrorDelay)
			continue
		}
		if n == free {
			continue // there may be more due.
		}
		wait := maxIdleWait
		next, ok, err := d.store.DeliveryNextDue(ctx, d.saturated)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			d.log.ErrorContext(ctx, "reading next due delivery failed", "error", err)
			wait = storeErrorDelay
		} else if ok {
			wait = next.Sub(d.now())
			if wait <= 0 {
				continue // became due since the claim.
			}
			wait = min(wait, maxIdleWait)
		}
		d.sleep(ctx, timer, wait)
	}
}

// sleep waits for a wake-up, a worker's end, for wait to pass or for ctx
// to end. The loop passes its one stopped timer t, so that waking often
// allocates nothing (since Go 1.23 a stopped timer's channel is empty).
func (d *Dispatcher) sleep(ctx context.Context, t *time.Timer, wait time.Duration) {
	t.Reset(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-d.wake:
	case <-d.idle:
	case <-t.C:
	}
}

// claim leases up to limit due deliveries and hands each to an idle
// worker, or to a new one while fewer than Config.Workers run. It returns
// how many it handed over.
func (d *Dispatcher) claim(rs *runState, c *claimer, limit int) (int, error) {
	ds, err := c.claim(rs.claimCtx, limit)
	if err != nil {
		return 0, err
	}
	for i, dl := range ds {
		d.active.Add(1)
		select {
		case rs.handoff <- dl: // an idle worker took it
			continue
		default:
		}
		if rs.started < d.cfg.Workers {
			rs.started++
			rs.workers.Add(1)
			go d.work(rs, dl)
			continue
		}
		// Every worker runs, and since fewer than Workers are busy, one
		// is on its way to idle.
		select {
		case rs.handoff <- dl:
		case <-rs.claimCtx.Done():
			d.active.Add(-1) // only ds[i] was counted
			d.giveBack(rs, ds[i:])
			return i, nil
		}
	}
	return len(ds), nil
}

// giveBack releases claimed deliveries that no worker took, because
// claiming stopped: they are due again at once, for the next run.
func (d *Dispatcher) giveBack(rs *runState, ds []*Delivery) {
	for _, dl := range ds {
		d.release(rs.recordCtx, d.log.With("delivery", dl.ID), dl)
		d.releaseSlot(dl.SubscriptionID)
	}
}

// work is one worker: it delivers dl, then claims and delivers one due
// delivery after another until none is due, then waits idle for the loop
// to hand it the next one, until claiming stops. A busy worker so needs
// neither the loop nor a new goroutine for its next delivery, and a worker
// keeps its goroutine (and the stack it grew) for the whole run.
func (d *Dispatcher) work(rs *runState, dl *Delivery) {
	defer rs.workers.Done()
	deadline := &attemptDeadline{parent: rs.workCtx, timeout: d.cfg.AttemptTimeout}
	defer deadline.close()
	// A worker holds one lease at a time, so one token serves all its
	// claims: its report on a lease it lost still fails, as the delivery
	// was claimed again under another token.
	c := d.newClaimer(d.ids.next("lease", d.now()))
	for {
		for dl != nil {
			o := d.deliver(rs, deadline, dl)
			dl = d.finish(rs, c, dl.SubscriptionID, o)
		}
		d.active.Add(-1)
		select {
		case d.idle <- struct{}{}:
		default:
		}
		select {
		case dl = <-rs.handoff:
		case <-rs.claimCtx.Done():
			return
		}
	}
}

// finish writes back the outcome of a worker's attempt for a delivery of
// subscription subID, gives back the slot the attempt held, and, unless
// claiming stopped, claims the worker's next delivery, which it returns (nil
// when none is due). The slot is given back only once the outcome is
// written, so that with MaxInFlightPerSubscription 1 the next attempt of a
// subscription never starts before the last one is recorded. With a store
// that is a DeliveryUpdateClaimer all three take one store operation, the
// slot being given back inside it (see claimer.updateClaim); after a 410
// Gone the subscription is disabled first, then the next delivery claimed.
// A failed claim is left to the loop, which logs it and waits before
// claiming again.
func (d *Dispatcher) finish(rs *runState, c *claimer, subID string, o outcome) *Delivery {
	claiming := rs.claimCtx.Err() == nil
	var ds []*Delivery
	if o.record && claiming && d.updateClaimer != nil && o.gone == nil {
		o.update.UpdatedAt = d.now()
		var err error
		ds, err = c.updateClaim(rs.recordCtx, o.update, subID)
		d.recorded(rs.recordCtx, o, err)
		if len(ds) > 0 && rs.claimCtx.Err() != nil {
			// Claiming stopped during the call, which ran in recordCtx:
			// the next run sends what it claimed.
			d.giveBack(rs, ds)
			return nil
		}
	} else {
		if o.record {
			d.record(rs.recordCtx, o)
		}
		d.releaseSlot(subID)
		if claiming {
			ds, _ = c.claim(rs.claimCtx, 1)
		}
	}
	if len(ds) == 0 {
		return nil
	}
	return ds[0]
}

// outcome is what a worker writes back after deliver.
type outcome struct {
	update DeliveryUpdate
	// record is false when there is nothing to write: the delivery was
	// released, or is left for its lease to expire.
	record bool
	log    *slog.Logger
	// gone is the subscription to disable once the outcome is written: its
	// receiver answered 410 Gone.
	gone *Subscription
}

// deliver makes one attempt for a claimed delivery and returns its outcome.
// The attempt runs in rs.workCtx, which ends only on a hard stop: then the
// delivery is released unrecorded, unless an answer had already come.
func (d *Dispatcher) deliver(rs *runState, deadline *attemptDeadline, dl *Delivery) outcome {
	ctx, rctx := rs.workCtx, rs.recordCtx
	log := d.log
	if log.Enabled(ctx, slog.LevelError) { // else nothing is logged: skip the cost of With.
		log = log.With("delivery", dl.ID, "event", dl.EventID, "subscription", dl.SubscriptionID)
	}
	update := DeliveryUpdate{DeliveryID: dl.ID, LeaseToken: dl.LeaseToken, AttemptCount: dl.AttemptCount}
	if ctx.Err() != nil { // a hard stop came first: claimable again at once
		d.release(rctx, log, dl)
		return outcome{}
	}

	sub, err := d.store.SubscriptionGet(ctx, dl.SubscriptionID)
	switch {
	case err != nil && ctx.Err() != nil:
		d.release(rctx, log, dl)
		return outcome{}
	case errors.Is(err, ErrNotFound):
		update.State, update.LastError = DeliveryCanceled, "subscription was deleted"
		return outcome{update: update, record: true, log: log}
	case err != nil:
		// Leave the lease to expire: the delivery is retried then.
		log.ErrorContext(ctx, "loading subscription failed; delivery retried when its lease expires", "error", err)
		return outcome{}
	case sub.Disabled:
		update.State, update.LastError = DeliveryCanceled, "subscription is disabled"
		return outcome{update: update, record: true, log: log}
	}
	ev := dl.publishedEvent() // err is nil here: SubscriptionGet succeeded
	if ev == nil {
		ev, err = d.store.EventGet(ctx, dl.EventID)
	}
	switch {
	case err != nil && ctx.Err() != nil:
		d.release(rctx, log, dl)
		return outcome{}
	case errors.Is(err, ErrNotFound):
		update.State, update.LastError = DeliveryFailed, "event no longer stored"
		return outcome{update: update, record: true, log: log}
	case err != nil:
		log.ErrorContext(ctx, "loading event failed; delivery retried when its lease expires", "error", err)
		return outcome{}
	}

	attempt, header, sendErr := d.send(deadline, sub, ev)
	if errors.Is(sendErr, errSkip) {
		update.Attempt, update.State, update.LastError = &attempt, DeliverySkipped, ""
		return outcome{update: update, record: true, log: log}
	}
	if ctx.Err() != nil && attempt.StatusCode == 0 {
		// Hard stop before any answer: the attempt was cut short by us,
		// not the receiver. An answer already received is recorded below.
		d.release(rctx, log, dl)
		return outcome{}
	}
	update.Attempt = &attempt
	update.AttemptCount = dl.AttemptCount + 1
	update.LastError = attempt.Error
	var gone *Subscription
	switch code := attempt.StatusCode; {
	case attempt.Error == "" && code >= 200 && code < 300:
		update.State = DeliverySucceeded
	case code == http.StatusGone:
		update.State, gone = DeliveryFailed, sub
		update.LastError = "receiver answered 410 Gone: subscription disabled"
	case update.AttemptCount >= d.cfg.MaxAttempts:
		update.State = DeliveryFailed
		update.LastError = fmt.Sprintf("%s (gave up after %d attempts)", attempt.Error, update.AttemptCount)
	case !d.cfg.CheckRetry(code, sendErr):
		update.State = DeliveryFailed
		update.LastError = attempt.Error + " (not retried: retry policy)"
	default:
		update.State = DeliveryPending
		delay := d.cfg.Backoff(update.AttemptCount)
		if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
			if ra, ok := retryAfter(header, d.now()); ok {
				delay = min(ra, d.cfg.MaxRetryAfter)
			}
		}
		update.NextAttemptAt = d.now().Add(delay)
	}
	return outcome{update: update, record: true, log: log, gone: gone}
}

// release gives back a claimed delivery that was not attempted (a stop
// came first): it is claimable again at once, for the next run.
func (d *Dispatcher) release(ctx context.Context, log *slog.Logger, dl *Delivery) {
	if err := d.store.DeliveryRelease(ctx, dl.ID, dl.LeaseToken); err != nil && !errors.Is(err, ErrLeaseLost) {
		log.ErrorContext(ctx, "releasing an unattempted delivery failed; retried when its lease expires", "error", err)
	}
}

// record writes an outcome back to the store. ctx is the run's recordCtx:
// a hard stop must not drop an outcome the receiver already produced.
func (d *Dispatcher) record(ctx context.Context, o outcome) {
	o.update.UpdatedAt = d.now()
	d.recorded(ctx, o, d.store.DeliveryUpdate(ctx, o.update))
}

// recorded logs how writing outcome o back went, and disables the
// subscription whose receiver answered 410 Gone.
func (d *Dispatcher) recorded(ctx context.Context, o outcome, err error) {
	if o.gone != nil {
		defer d.disable(ctx, o.log, o.gone)
	}
	log, u := o.log, &o.update
	switch {
	case errors.Is(err, ErrLeaseLost):
		log.WarnContext(ctx, "delivery changed while it was attempted (its lease expired, or its subscription was deleted or it was reset); this outcome is not recorded", "state", u.State)
		return
	case errors.Is(err, ErrNotFound):
		log.WarnContext(ctx, "delivery is no longer stored (purged while it was attempted); this outcome is not recorded", "state", u.State)
		return
	case err != nil:
		log.ErrorContext(ctx, "recording delivery outcome failed; attempted again when its lease expires", "error", err)
		return
	}
	switch u.State {
	case DeliverySucceeded:
		log.InfoContext(ctx, "delivered", "attempt", u.AttemptCount)
	case DeliveryPending:
		log.InfoContext(ctx, "attempt failed; retrying", "attempt", u.AttemptCount, "next", u.NextAttemptAt, "error", u.LastError)
	default:
		log.WarnContext(ctx, "delivery ended", "state", u.State, "attempt", u.AttemptCount, "error", u.LastError)
	}
}

// disable turns a subscription off after its receiver answered 410 Gone.
// Like the outcome, in ctx, the run's recordCtx, the answer holds through a
// hard stop.
func (d *Dispatcher) disable(ctx context.Context, log *slog.Logger, sub *Subscription) {
	cur, err := d.store.SubscriptionGet(ctx, sub.ID)
	if err == nil && !cur.Disabled {
		next := cur.Clone() // cur is read-only.
		next.Disabled, next.UpdatedAt = true, d.now()
		err = d.store.SubscriptionUpdate(ctx, next)
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		log.ErrorContext(ctx, "disabling subscription after 410 Gone failed", "error", err)
		return
	}
	log.WarnContext(ctx, "receiver answered 410 Gone: subscription disabled")
}

// send makes one HTTP request for ev to sub, bounded by deadline. It
// returns the attempt, the answer's headers (nil without an answer) and the
// error that prevented an answer (nil with one).
func (d *Dispatcher) send(deadline *attemptDeadline, sub *Subscription, ev *Event) (Attempt, http.Header, error) {
	start := d.now()
	a := Attempt{StartedAt: start}
	fail := func(what string, err error) (Attempt, http.Header, error) {
		a.Duration = d.now().Sub(start)
		a.Error = what + ": " + err.Error()
		return a, nil, err
	}
	// One deadline for everything the attempt does, credential resolution
	// and the transform included, so that it cannot outlive its lease.
	actx := deadline.start()
	defer deadline.stop()
	// Resolvers and transforms, the user code that gets a context, get one
	// that ends with the attempt, so that what they tie to it is released
	// then; the worker's context goes on to its next attempt.
	pctx := actx
	if sub.Auth != nil || sub.Transform != "" {
		var cancel context.CancelFunc
		pctx, cancel = context.WithCancel(actx)
		defer cancel()
	}
	p, err := d.prepare(pctx, sub, ev)
	a.MissingValues = p.missing
	if errors.Is(err, errSkip) {
		a.Duration, a.Note = d.now().Sub(start), err.Error()
		return a, nil, err
	}
	if err != nil {
		if deadline.timedOut() {
			err = fmt.Errorf("%w (%s): %w", ErrAttemptTimeout, d.cfg.AttemptTimeout, err)
		}
		return fail("preparing the request", err)
	}
	req, err := newRequest(actx, ev, &p, start)
	if err != nil {
		return fail("preparing the request", err)
	}

	resp, err := d.transport.RoundTrip(req)
	if err != nil {
		if deadline.timedOut() {
			return fail("no answer", fmt.Errorf("%w (%s)", ErrAttemptTimeout, d.cfg.AttemptTimeout))
		}
		return fail("request failed", withoutURL(err))
	}
	defer resp.Body.Close()
	var kept []byte
	if resp.Body != http.NoBody { // else an empty answer (204): spare ReadAll's buffer.
		kept, _ = io.ReadAll(io.LimitReader(resp.Body, responseBodyRead))
	}
	a.Duration = d.now().Sub(start)
	a.StatusCode = resp.StatusCode
	a.ResponseBody = string(kept[:min(len(kept), responseBodyKept)])
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		a.Error = fmt.Sprintf("receiver answered %s; redirects are not followed, point the subscription at the final URL", resp.Status)
	case resp.StatusCode < 200 || resp.StatusCode >= 300:
		a.Error = "receiver answered " + resp.Status
	}
	return a, resp.Header, nil
}
