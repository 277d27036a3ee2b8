package webhook

import "net/http"

// SetTransport replaces d's HTTP transport, for tests and benchmarks that
// measure the library without a network.
func SetTransport(d *Dispatcher, rt http.RoundTripper) {
	d.transport = rt
}

// Active returns how many of d's workers are busy.
func Active(d *Dispatcher) int64 { return d.active.Load() }
