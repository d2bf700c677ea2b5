package vrrpd

import (
	"net/netip"
	"testing"

	"github.com/gokeepalived/gokeepalived/config"
)

func TestMIBAddressBroadcast(t *testing.T) {
	for _, tt := range []struct {
		prefix string
		brd    config.Broadcast
		want   string
	}{
		{"10.1.2.3/24", config.Broadcast{}, "invalid IP"},
		{"10.1.2.3/24", config.Broadcast{Kind: config.BroadcastOnes}, "10.1.2.255"},
		{"10.1.2.3/20", config.Broadcast{Kind: config.BroadcastOnes}, "10.1.15.255"},
		{"10.1.2.3/32", config.Broadcast{Kind: config.BroadcastOnes}, "10.1.2.3"},
		{"10.1.2.3/24", config.Broadcast{Kind: config.BroadcastZeros}, "10.1.2.0"},
		{"10.1.2.3/24", config.Broadcast{Kind: config.BroadcastAddr, Addr: netip.MustParseAddr("10.1.2.7")}, "10.1.2.7"},
	} {
		a := config.Address{Prefix: netip.MustParsePrefix(tt.prefix), Broadcast: tt.brd, Scope: config.ScopeLink, Label: "l"}
		m := MIBAddress(a, "no-such-if0", true)
		if got := m.Broadcast.String(); got != tt.want {
			t.Errorf("%s brd %v: %s, want %s", tt.prefix, tt.brd, got, tt.want)
		}
		// An interface that is not there holds no address.
		if m.Set || m.IfName != "no-such-if0" || m.Scope != 253 || m.Label != "l" {
			t.Errorf("%s: %+v", tt.prefix, m)
		}
	}
}
