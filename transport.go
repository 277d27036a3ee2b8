package webhook

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// newHTTPClient returns the client deliveries are sent with: no redirects
// followed, no proxy from the environment, idle connections sized to the
// worker count, and unless c.AllowPrivateNetworks the SSRF guard on every
// dial.
func newHTTPClient(c *Config) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !c.AllowPrivateNetworks {
		dialer.Control = refusePrivate
	}
	transport := &http.Transport{
		Proxy:                 nil, // a proxy would dial on our behalf, past the guard.
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          c.Workers * 2,
		MaxIdleConnsPerHost:   c.Workers,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport: transport,
		// A 3xx answer is a failed attempt: following it would send a
		// signed payload to a URL nobody subscribed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// refusePrivate is a net.Dialer Control function: it runs after name
// resolution, on the very address about to be dialled, so DNS answers that
// change between check and use cannot get around it.
func refusePrivate(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot parse dial address %q", ErrPrivateAddress, address)
	}
	if kind := nonPublicKind(ap.Addr()); kind != "" {
		return fmt.Errorf("%w: %s is %s; set Config.AllowPrivateNetworks to deliver to it", ErrPrivateAddress, ap.Addr(), kind)
	}
	return nil
}

// sharedAddressSpace is 100.64.0.0/10 (RFC 6598, carrier-grade NAT).
var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")

// nonPublicKind names why addr is not a public unicast address, or "".
func nonPublicKind(addr netip.Addr) string {
	addr = addr.Unmap()
	switch {
	case addr.IsLoopback():
		return "a loopback address"
	case addr.IsPrivate():
		return "a private address"
	case addr.IsLinkLocalUnicast():
		return "a link-local address"
	case addr.IsUnspecified():
		return "the unspecified address"
	case addr.IsMulticast():
		return "a multicast address"
	case sharedAddressSpace.Contains(addr):
		return "a shared (carrier-grade NAT) address"
	}
	return ""
}
