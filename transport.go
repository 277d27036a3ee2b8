package webhook

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// newTransport returns the transport deliveries are sent with (see
// client): idle connections sized to the worker count, no proxy, and
// unless c.AllowPrivateNetworks the SSRF guard on every dial. The
// Dispatcher calls its RoundTrip directly, without an http.Client: it
// follows no redirects (a 3xx answer is a failed attempt: following it
// would send a signed payload to a URL nobody subscribed) and has no
// cookie jar.
func newTransport(c *Config) *client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !c.AllowPrivateNetworks {
		dialer.Control = refusePrivate
	}
	return &client{
		dial:        dialer.DialContext,
		tlsConfig:   &tls.Config{},
		tlsTimeout:  10 * time.Second,
		idleTimeout: 90 * time.Second,
		maxPerHost:  c.Workers,
		maxIdle:     c.Workers * 2,
		headerLimit: responseHeaderLimit,
		idle:        make(map[connKey][]*persistConn),
	}
}

// responseHeaderLimit bounds the status line and headers of an answer.
const responseHeaderLimit = 1 << 20

// withoutURL returns the error inside a *url.Error, which repeats the URL
// (and so any token in its query), or err itself.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
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

// nonPublicPrefixes are special-purpose ranges that netip's predicates do
// not cover but that never hold a public webhook receiver.
var nonPublicPrefixes = []struct {
	prefix netip.Prefix
	kind   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), `a "this network" address`},
	{netip.MustParsePrefix("100.64.0.0/10"), "a shared (carrier-grade NAT) address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol assignment address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved or broadcast address"},
	{netip.MustParsePrefix("fec0::/10"), "a site-local address"},
	{netip.MustParsePrefix("100::/64"), "a discard-only address"},
}

// IPv6 ranges that carry an IPv4 address, which is checked in turn.
var (
	nat64Prefix   = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052, last 32 bits
	compatPrefix  = netip.MustParsePrefix("::/96")        // IPv4-compatible, last 32 bits
	sixToFourPref = netip.MustParsePrefix("2002::/16")    // 6to4, bits 16 to 48
)

// embeddedIPv4 returns the IPv4 address inside a NAT64, IPv4-compatible or
// 6to4 IPv6 address.
func embeddedIPv4(a netip.Addr) (netip.Addr, bool) {
	if !a.Is6() {
		return a, false
	}
	b := a.As16()
	switch {
	case nat64Prefix.Contains(a), compatPrefix.Contains(a) && !a.IsUnspecified() && !a.IsLoopback():
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixToFourPref.Contains(a):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return a, false
}

// nonPublicKind names why addr is not a public unicast address, or "".
func nonPublicKind(addr netip.Addr) string {
	addr = addr.Unmap()
	if v4, ok := embeddedIPv4(addr); ok {
		if kind := nonPublicKind(v4); kind != "" {
			return kind + " (inside " + addr.String() + ")"
		}
		return ""
	}
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
	}
	for _, p := range nonPublicPrefixes {
		if p.prefix.Contains(addr) {
			return p.kind
		}
	}
	return ""
}
