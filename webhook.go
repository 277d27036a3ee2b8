package webhook

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hooksmith/webhook/internal/tmpl"
)

// Version is the library version, sent in the user-agent header.
const Version = "0.1.0"

// Event is something that happened in the host application, published to
// the subscriptions that want its type.
type Event struct {
	// ID identifies the event and is the idempotency key receivers see in
	// webhook-id. Publish generates one ("evt_" + 26 characters) when
	// empty. At most 255 bytes of printable ASCII without spaces.
	ID string `json:"id"`
	// Type names what happened, for example "invoice.paid". Required; at
	// most 255 bytes, no spaces or "*".
	Type string `json:"type"`
	// Tenant scopes the event: only subscriptions of the same tenant
	// receive it.
	Tenant string `json:"tenant,omitempty"`
	// Timestamp is when it happened; Publish sets it to now when zero.
	Timestamp time.Time `json:"timestamp"`
	// Data is the event's payload; it must be valid JSON (use {} or null
	// when there is none).
	Data json.RawMessage `json:"data"`
	// Metadata is free-form data about the event (a correlation ID, the
	// actor). It is stored with the event; templates can use it.
	Metadata map[string]string `json:"metadata,omitempty"`

	// envelope is the default request body that Publish built, Data being
	// a subslice of it (see newEnvelope), or nil. Clone drops it.
	envelope []byte
	// self is set by Publish on the event it gives the store: a store
	// that returns it as it is returns an event whose self is itself, and
	// a copy (which may have changed) has another address.
	self *Event
}

// Clone returns a deep copy of e.
func (e *Event) Clone() *Event {
	c := *e
	if e.Data != nil {
		c.Data = append(json.RawMessage(nil), e.Data...)
	}
	c.Metadata = cloneMap(e.Metadata)
	c.envelope, c.self = nil, nil
	return &c
}

// normalize fills the Timestamp when zero and validates e, whose ID is set.
func (e *Event) normalize(now time.Time) error {
	v := validator{what: "event"}
	if msg := checkMessageID(e.ID); msg != "" {
		v.add("ID", msg)
	}
	if e.Type == "" {
		v.add("Type", `required: name what happened, for example "invoice.paid"`)
	} else if msg := checkEventType(e.Type, false); msg != "" {
		v.add("Type", msg)
	}
	if len(e.Tenant) > maxNameLen {
		v.add("Tenant", fmt.Sprintf("must be at most %d bytes, got %d", maxNameLen, len(e.Tenant)))
	}
	if e.Timestamp.IsZero() {
		e.Timestamp = now
	} else if y := e.Timestamp.UTC().Year(); y < 0 || y > 9999 {
		v.add("Timestamp", fmt.Sprintf("must be between years 0 and 9999 (it is sent as RFC 3339), got year %d", y))
	}
	switch {
	case len(e.Data) == 0:
		v.add("Data", "required: valid JSON; use {} or null for an event without data")
	case !tmpl.Valid(e.Data): // json.Valid's answer, in less than half the time.
		v.add("Data", "must be valid JSON")
	}
	if n := mapSize(e.Metadata); n > maxMetadataLen {
		v.add("Metadata", fmt.Sprintf("must total at most %d bytes of keys and values, got %d", maxMetadataLen, n))
	}
	return v.err()
}

// checkMessageID returns what is wrong with a caller-chosen event ID, or "".
// It travels in the webhook-id header and in the signed content.
func checkMessageID(id string) string {
	if len(id) > maxEventTypeLen {
		return fmt.Sprintf("must be at most %d bytes, got %d", maxEventTypeLen, len(id))
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] >= 0x7f {
			return "must be printable ASCII without spaces (it is sent in the webhook-id header)"
		}
	}
	return ""
}

// PublishResult tells what Publish stored.
type PublishResult struct {
	// EventID is the event's ID, generated or given.
	EventID string
	// DeliveryIDs lists the deliveries created, one per matching enabled
	// push subscription of the event's tenant (pull subscriptions get no
	// delivery: they Poll). Empty when none matched, and
	// when Duplicate is true.
	DeliveryIDs []string
	// Duplicate is true when an event with the same ID was already stored:
	// nothing was stored or scheduled again. Publishing is idempotent by
	// event ID, so retrying a Publish whose outcome is unknown is safe.
	Duplicate bool
}

// Dispatcher publishes events and delivers them to subscriptions. Create
// one with NewDispatcher; its methods are safe for concurrent use.
//
// Without Start it is publish-only: Publish stores events and deliveries,
// and another Dispatcher on the same store (or this one, later) delivers
// them.
type Dispatcher struct {
	store Store
	// updateClaimer is store, when it is a DeliveryUpdateClaimer.
	updateClaimer DeliveryUpdateClaimer
	cfg           Config
	log           *slog.Logger
	transport     http.RoundTripper // see newTransport
	templates     templates         // parsed once per subscription version
	ids           idGen

	// wake has room for one signal: Publish, DeliveryRetry and
	// SubscriptionUpdate send it without blocking when there may be new
	// work; the loop receives it.
	wake chan struct{}
	// idle has room for one signal: a worker that found nothing more to
	// claim sends it as it ends, so that the loop, which leaves claiming
	// to busy workers, takes over again.
	idle chan struct{}

	mu  sync.Mutex
	run *runState // nil when not started

	active atomic.Int64 // running workers
	subMu  sync.Mutex
	perSub map[string]int // attempts in flight per subscription

	polls pollers // running long polls of pull subscriptions (pull.go)
}

// NewDispatcher returns a Dispatcher over store. A nil cfg means the
// defaults documented on Config; invalid settings are an error.
func NewDispatcher(store Store, cfg *Config) (*Dispatcher, error) {
	if store == nil {
		return nil, errors.New("webhook: NewDispatcher needs a Store, for example memstore.New()")
	}
	c := Config{}
	if cfg != nil {
		c = *cfg
	}
	c = c.withDefaults()
	if err := c.validate(); err != nil {
		return nil, err
	}
	uc, _ := store.(DeliveryUpdateClaimer)
	return &Dispatcher{
		store:         store,
		updateClaimer: uc,
		cfg:           c,
		log:           c.Logger,
		transport:     newTransport(&c),
		wake:          make(chan struct{}, 1),
		idle:          make(chan struct{}, 1),
		perSub:        make(map[string]int),
	}, nil
}

// now returns the configured clock's time.
func (d *Dispatcher) now() time.Time { return d.cfg.Now() }

// notify wakes the delivery loop without blocking.
func (d *Dispatcher) notify() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Publish validates e, fills its ID and Timestamp when empty, and stores
// it together with one pending delivery per matching enabled push
// subscription of its tenant, and one feed entry per matching enabled pull
// subscription, in one atomic store operation. It returns once they are
// stored; a running delivery loop, and the Polls waiting on those pull
// subscriptions, are woken at once.
//
// An invalid event is a *ValidationError matching ErrInvalid and stores
// nothing. Publishing an ID that is already stored stores nothing and
// returns a result with Duplicate set and a nil error.
func (d *Dispatcher) Publish(ctx context.Context, e Event) (PublishResult, error) {
	now := d.now()
	if err := e.normalize(now); err != nil {
		return PublishResult{}, err
	}
	subs, err := d.store.SubscriptionMatch(ctx, e.Tenant, e.Type)
	if err != nil {
		return PublishResult{}, fmt.Errorf("webhook: publish %s: match subscriptions: %w", cmp.Or(e.ID, "(new event)"), err)
	}
	push := 0
	for _, s := range subs {
		if s.Mode != ModePull {
			push++
		}
	}
	// The IDs Publish makes share one string, and its records one
	// allocation (see newRecords).
	var deliveryIDs []string
	e.ID, deliveryIDs = d.ids.eventIDs(e.ID, push, now)
	ev, records, deliveries := newRecords(push)
	var feed []*FeedEntry // pull subscriptions read the event with Poll
	for _, s := range subs {
		if s.Mode == ModePull {
			feed = append(feed, &FeedEntry{SubscriptionID: s.ID, EventID: e.ID, PublishedAt: now})
			continue
		}
		dl := &records[len(deliveries)]
		*dl = Delivery{
			ID:             deliveryIDs[len(deliveries)],
			EventID:        e.ID,
			EventType:      e.Type,
			SubscriptionID: s.ID,
			Tenant:         e.Tenant,
			State:          DeliveryPending,
			NextAttemptAt:  now,
			CreatedAt:      now,
			UpdatedAt:      now,
			event:          ev,
		}
		deliveries = append(deliveries, dl)
	}
	// The store may keep what EventInsert is given: copy what the caller
	// still holds (Data and Metadata), once. With push deliveries to make,
	// the copy of Data goes into the envelope they all send.
	if len(deliveries) > 0 {
		e.envelope, e.Data = newEnvelope(&e)
	} else {
		e.Data = append(json.RawMessage(nil), e.Data...)
	}
	e.Metadata = cloneMap(e.Metadata)
	*ev = e
	ev.self = ev
	id, tenant := e.ID, e.Tenant
	err = d.store.EventInsert(ctx, ev, deliveries, feed)
	if errors.Is(err, ErrEventExists) {
		// Event IDs are unique in the store, across tenants: only the same
		// tenant's event is a duplicate; another tenant's is a conflict,
		// never a silent success.
		prev, gerr := d.store.EventGet(ctx, id)
		if gerr != nil {
			return PublishResult{}, fmt.Errorf("webhook: publish %s: %w", id, gerr)
		}
		if prev.Tenant != tenant {
			return PublishResult{}, invalidField("event", "ID", "is already used by another tenant's event; choose another ID (for example prefix it with the tenant)")
		}
		return PublishResult{EventID: id, Duplicate: true}, nil
	}
	if err != nil {
		return PublishResult{}, fmt.Errorf("webhook: publish %s: %w", id, err)
	}
	if len(deliveries) > 0 {
		d.notify()
	}
	for _, s := range subs {
		if s.Mode == ModePull {
			d.polls.wake(s.ID)
		}
	}
	return PublishResult{EventID: id, DeliveryIDs: deliveryIDs}, nil
}

// newRecords allocates what Publish gives the store for an event with n
// push deliveries: the event, the deliveries and the slice that points to
// them, which a store keeps (and frees) together. An event with one
// delivery, the usual case, takes one allocation for all three.
func newRecords(n int) (ev *Event, records []Delivery, deliveries []*Delivery) {
	switch n {
	case 0:
		return new(Event), nil, nil
	case 1:
		r := new(struct {
			ev  Event
			dl  [1]Delivery
			ptr [1]*Delivery
		})
		return &r.ev, r.dl[:], r.ptr[:0]
	default:
		return new(Event), make([]Delivery, n), make([]*Delivery, 0, n)
	}
}

// runState is one run of the delivery loop, from Start to Shutdown.
type runState struct {
	// claimCtx ends when claiming must stop (Shutdown or a hard stop);
	// workCtx, its parent, only on a hard stop: it aborts attempts.
	claimCtx, workCtx context.Context
	// recordCtx is for writing outcomes: it outlives workCtx by
	// recordTimeout, so that a hard stop does not drop an outcome the
	// receiver already produced.
	recordCtx context.Context

	stopClaiming context.CancelFunc // ends claimCtx
	abortWork    context.CancelFunc // ends workCtx
	endRecords   context.CancelFunc // ends recordCtx
	// unwatch stops the watch that ends recordCtx recordTimeout after
	// workCtx.
	unwatch func() bool
	// handoff passes a claimed delivery from the loop to an idle worker.
	handoff  chan *Delivery
	started  int // workers started; only the loop reads and writes it
	loopDone chan struct{}
	workers  sync.WaitGroup
}

// Start starts the delivery loop in the background and returns at once.
// Cancelling ctx stops it hard: in-flight attempts are aborted and their
// deliveries left pending. Prefer Shutdown, which lets them finish.
func (d *Dispatcher) Start(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.run != nil {
		return ErrAlreadyStarted
	}
	rs := &runState{loopDone: make(chan struct{}), handoff: make(chan *Delivery)}
	rs.workCtx, rs.abortWork = context.WithCancel(ctx)
	rs.claimCtx, rs.stopClaiming = context.WithCancel(rs.workCtx)
	rs.recordCtx, rs.endRecords = context.WithCancel(context.WithoutCancel(ctx))
	rs.unwatch = context.AfterFunc(rs.workCtx, func() { time.AfterFunc(recordTimeout, rs.endRecords) })
	d.run = rs
	go d.loop(rs)
	d.log.InfoContext(ctx, "delivery loop started", "workers", d.cfg.Workers)
	return nil
}

// Shutdown stops claiming deliveries and waits for in-flight attempts to
// finish. When ctx ends first, it aborts them, leaves their deliveries
// pending (no attempt is counted), and returns ctx's error. Nothing is
// lost either way: a later Start delivers what is left. It then closes
// the idle connections to receivers.
func (d *Dispatcher) Shutdown(ctx context.Context) error {
	d.mu.Lock()
	rs := d.run
	d.run = nil
	d.mu.Unlock()
	if rs == nil {
		return ErrNotStarted
	}
	rs.stopClaiming()
	<-rs.loopDone
	done := make(chan struct{})
	go func() {
		rs.workers.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		rs.abortWork()
		<-done
	}
	rs.unwatch()
	rs.endRecords()
	rs.abortWork()
	// A stopped Dispatcher holds no connections: the idle ones, with
	// their sockets and goroutines, would otherwise stay open until
	// they time out. The next Start dials again.
	if t, ok := d.transport.(interface{ CloseIdleConnections() }); ok {
		t.CloseIdleConnections()
	}
	d.log.Info("delivery loop stopped", "graceful", err == nil)
	return err
}

// Run starts the delivery loop, waits for ctx to end, then shuts down,
// giving in-flight attempts up to Config.AttemptTimeout to finish. It is
// the call for a main function:
//
//	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
//	defer stop()
//	err := d.Run(ctx)
//
// It returns nil after a graceful shutdown.
func (d *Dispatcher) Run(ctx context.Context) error {
	if err := d.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), d.cfg.AttemptTimeout)
	defer cancel()
	return d.Shutdown(sctx)
}
