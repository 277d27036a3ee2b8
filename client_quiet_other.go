//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package webhook

import "net"

// connReset reports whether err says the receiver reset the connection;
// on this platform only the end of the stream is told apart.
func connReset(error) bool { return false }

// socketQuiet reports whether conn's socket is fit for the next request.
// Without a non-blocking peek on this platform it trusts it: a request on
// a connection the receiver closed is sent again on a new one (see
// client.RoundTrip).
func socketQuiet(net.Conn) bool { return true }
