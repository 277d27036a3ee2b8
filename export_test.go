package webhook

import (
	"bytes"
	"net/http"
)

// SetTransport replaces d's HTTP transport, for tests and benchmarks that
// measure the library without a network.
func SetTransport(d *Dispatcher, rt http.RoundTripper) {
	d.transport = rt
}

// Active returns how many of d's workers are busy.
func Active(d *Dispatcher) int64 { return d.active.Load() }

// SnapshotEvent returns a deep copy of e that keeps the envelope Publish
// built for it, which Clone drops, so that comparing e with it later also
// tells whether anything wrote into the envelope every delivery shares.
func SnapshotEvent(e *Event) *Event {
	c := e.Clone()
	c.envelope, c.self = bytes.Clone(e.envelope), e.self
	return c
}
