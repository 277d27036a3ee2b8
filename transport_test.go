package webhook

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNonPublicAddressesAreRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		addr, kind string // kind "" means public: allowed
	}{
		{"127.0.0.1", "a loopback address"},
		{"::1", "a loopback address"},
		{"::ffff:127.0.0.1", "a loopback address"},
		{"0.0.0.0", "the unspecified address"},
		{"::", "the unspecified address"},
		{"0.1.2.3", `a "this network" address`},
		{"10.1.2.3", "a private address"},
		{"172.16.0.1", "a private address"},
		{"192.168.1.1", "a private address"},
		{"fc00::1", "a private address"},
		{"fe80::1", "a link-local address"},
		{"169.254.169.254", "a link-local address"},
		{"fec0::1", "a site-local address"},
		{"100.64.0.1", "a shared (carrier-grade NAT) address"},
		{"192.0.0.1", "an IETF protocol assignment address"},
		{"198.18.0.1", "a benchmarking address"},
		{"240.0.0.1", "a reserved or broadcast address"},
		{"255.255.255.255", "a reserved or broadcast address"},
		{"224.0.0.1", "a multicast address"},
		{"64:ff9b::7f00:1", "a loopback address (inside 64:ff9b::7f00:1)"},
		{"64:ff9b::a9fe:a9fe", "a link-local address (inside 64:ff9b::a9fe:a9fe)"},
		{"2002:7f00:1::", "a loopback address (inside 2002:7f00:1::)"},
		{"::7f00:1", "a loopback address (inside ::7f00:1)"},
		{"93.184.215.14", ""},
		{"2606:2800:21f:cb07:6820:80da:af6b:8b2c", ""},
		{"64:ff9b::5db8:d70e", ""}, // NAT64 of a public address
	} {
		require.Equal(t, tc.kind, nonPublicKind(netip.MustParseAddr(tc.addr)), tc.addr)
	}
}

func TestRefusePrivateChecksTheDialledAddress(t *testing.T) {
	t.Parallel()
	err := refusePrivate("tcp", "127.0.0.1:443", nil)
	require.ErrorIs(t, err, ErrPrivateAddress)
	require.ErrorContains(t, err, "127.0.0.1 is a loopback address; set Config.AllowPrivateNetworks")
	require.NoError(t, refusePrivate("tcp", "[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:443", nil))
	require.ErrorIs(t, refusePrivate("tcp", "not-an-address", nil), ErrPrivateAddress)
}
