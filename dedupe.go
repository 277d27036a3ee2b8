package webhook

import (
	"context"
	"sync"
	"time"
)

// DedupeStore remembers which webhook IDs a Receiver has handled, so that a
// message delivered again (the sender retried after a lost answer, or an
// attacker replayed it within the timestamp tolerance) is acknowledged
// without running the handler twice. Receiver keeps the default in-memory
// MemoryDedupe; package receiver/boltdedupe keeps IDs across restarts.
//
// A store must be safe for concurrent use. Implementations are checked by
// the conformance suite in package receiver/dedupetest.
type DedupeStore interface {
	// Claim marks id as being handled at now. It returns DedupeClaimed
	// when the caller now holds id and must call Finish or Release,
	// DedupeHandled when id was handled and remembered until a time after
	// now, and DedupeBusy when another caller holds id.
	Claim(ctx context.Context, id string, now time.Time) (DedupeStatus, error)
	// Finish records that id was handled successfully and is to be
	// remembered until until, releasing the claim. now is the current
	// time; stores may use it to forget expired IDs.
	Finish(ctx context.Context, id string, now, until time.Time) error
	// Release drops the claim on id without recording it, so that a later
	// delivery of id is handled again.
	Release(ctx context.Context, id string) error
}

// DedupeStatus is the outcome of DedupeStore.Claim.
type DedupeStatus int

// Outcomes of DedupeStore.Claim.
const (
	// DedupeClaimed: the caller holds the ID and handles the message.
	DedupeClaimed DedupeStatus = iota + 1
	// DedupeHandled: the ID was handled already; acknowledge, do not run
	// the handler.
	DedupeHandled
	// DedupeBusy: another request is handling the ID right now.
	DedupeBusy
)

// String returns the status's name.
func (s DedupeStatus) String() string {
	switch s {
	case DedupeClaimed:
		return "claimed"
	case DedupeHandled:
		return "handled"
	case DedupeBusy:
		return "busy"
	}
	return "unknown"
}

// DedupeMaxEntriesDefault is how many handled IDs a MemoryDedupe remembers
// when not told otherwise.
const DedupeMaxEntriesDefault = 100_000

// MemoryDedupe is an in-memory DedupeStore, bounded in size: once it holds
// more handled IDs than its limit, it forgets those that expire first, and
// it forgets every ID when its time is up. Claims in progress are not
// counted against the limit. Create one with NewMemoryDedupe; it is safe
// for concurrent use. IDs are lost when the process exits.
type MemoryDedupe struct {
	max int

	mu      sync.Mutex
	entries map[string]*dedupeEntry
	done    int         // entries not busy
	queue   []dedupeRef // handled IDs in the order they were finished
	head    int         // queue[:head] is consumed
}

type dedupeEntry struct {
	busy  bool
	until time.Time
}

type dedupeRef struct {
	id    string
	until time.Time
}

// NewMemoryDedupe returns a MemoryDedupe that remembers at most maxEntries
// handled IDs; zero or less means DedupeMaxEntriesDefault.
func NewMemoryDedupe(maxEntries int) *MemoryDedupe {
	if maxEntries <= 0 {
		maxEntries = DedupeMaxEntriesDefault
	}
	return &MemoryDedupe{max: maxEntries, entries: make(map[string]*dedupeEntry)}
}

// Claim implements DedupeStore.
func (m *MemoryDedupe) Claim(_ context.Context, id string, now time.Time) (DedupeStatus, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.expire(now)
	if e, ok := m.entries[id]; ok {
		if e.busy {
			return DedupeBusy, nil
		}
		if now.Before(e.until) {
			return DedupeHandled, nil
		}
		m.done--
	}
	m.entries[id] = &dedupeEntry{busy: true}
	return DedupeClaimed, nil
}

// Finish implements DedupeStore.
func (m *MemoryDedupe) Finish(_ context.Context, id string, now, until time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[id]
	switch {
	case !ok:
		e = &dedupeEntry{}
		m.entries[id] = e
	case !e.busy:
		m.done-- // finished twice: counted again below
	}
	e.busy, e.until = false, until
	m.done++
	m.queue = append(m.queue, dedupeRef{id: id, until: until})
	m.expire(now)
	return nil
}

// Release implements DedupeStore.
func (m *MemoryDedupe) Release(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.entries[id]; ok && e.busy {
		delete(m.entries, id)
	}
	return nil
}

// Len returns how many IDs are remembered or claimed.
func (m *MemoryDedupe) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

// expire forgets handled IDs whose time is up at now, then the oldest ones
// while there are more than the limit. The queue itself is kept within
// twice the limit, so that IDs finished again do not grow it forever.
// m.mu is held.
func (m *MemoryDedupe) expire(now time.Time) {
	for m.head < len(m.queue) {
		ref := m.queue[m.head]
		if ref.until.After(now) && m.done <= m.max && len(m.queue)-m.head <= 2*m.max {
			break
		}
		m.queue[m.head] = dedupeRef{}
		m.head++
		if e, ok := m.entries[ref.id]; ok && !e.busy && e.until.Equal(ref.until) {
			delete(m.entries, ref.id)
			m.done--
		}
	}
	if m.head > len(m.queue)/2 {
		n := copy(m.queue, m.queue[m.head:])
		clear(m.queue[n:])
		m.queue = m.queue[:n]
		m.head = 0
	}
}
