//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || solaris || illumos)

package webhook

import "net"

// socketQuiet reports whether conn's socket is fit for the next request.
// Without a non-blocking peek on this platform it trusts it: a request on
// a connection the receiver closed is sent again on a new one (see
// client.RoundTrip).
func socketQuiet(net.Conn) bool { return true }
