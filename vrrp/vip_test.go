package vrrp

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
	"github.com/vishvananda/netlink"
)

func TestParseVIP(t *testing.T) {
	tests := []struct {
		line string
		want VIP
		str  string
	}{
		{"10.0.0.1", VIP{Prefix: netip.MustParsePrefix("10.0.0.1/32")}, "10.0.0.1/32"},
		{"10.0.0.1/24", VIP{Prefix: netip.MustParsePrefix("10.0.0.1/24")}, "10.0.0.1/24"},
		{"fd00::1", VIP{Prefix: netip.MustParsePrefix("fd00::1/128")}, "fd00::1/128"},
		{"10.0.0.1/24 brd 10.0.0.255 dev eth1 scope link label eth1:vip",
			VIP{Prefix: netip.MustParsePrefix("10.0.0.1/24"), Broadcast: netip.MustParseAddr("10.0.0.255"),
				Device: "eth1", Scope: netlink.SCOPE_LINK, Label: "eth1:vip"},
			"10.0.0.1/24 brd 10.0.0.255 dev eth1 scope link label eth1:vip"},
		{"10.0.0.1 scope host", VIP{Prefix: netip.MustParsePrefix("10.0.0.1/32"), Scope: netlink.SCOPE_HOST}, "10.0.0.1/32 scope host"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got, err := ParseVIP(tt.line)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("ParseVIP = %+v, want %+v", got, tt.want)
			}
			if s := got.String(); s != tt.str {
				t.Fatalf("String = %q, want %q", s, tt.str)
			}
		})
	}
	for _, bad := range []string{"", "10.0.0", "10.0.0.1/33", "10.0.0.1 dev", "10.0.0.1 scope galaxy", "10.0.0.1 brd x", "10.0.0.1 color red"} {
		if v, err := ParseVIP(bad); err == nil {
			t.Errorf("ParseVIP(%q) = %+v, want an error", bad, v)
		}
	}
}

// TestAddressSet adds and removes VIPs with their options on a real
// interface, twice each, as keepalived tolerates.
func TestAddressSet(t *testing.T) {
	t.Parallel()
	l := nettest.NewLab(t)
	h := l.AddHost("a", "10.99.0.1/24")
	var vips []VIP
	for _, s := range []string{"10.99.0.100/24 brd 10.99.0.255 label eth0:vip", "10.99.0.101 scope link", "fd00:99::100/64"} {
		v, err := ParseVIP(s)
		if err != nil {
			t.Fatal(err)
		}
		vips = append(vips, v)
	}
	set := NewAddressSet(h.Netlink(), h.Link, vips)
	for range 2 {
		if err := set.Add(); err != nil {
			t.Fatalf("Add: %v", err)
		}
	}
	if ok, err := set.Present(); !ok || err != nil {
		t.Fatalf("Present after Add = %v, %v", ok, err)
	}
	out := h.Run("ip", "-o", "addr", "show", "dev", "eth0")
	for _, want := range []string{
		"inet 10.99.0.100/24 brd 10.99.0.255 scope global secondary eth0:vip",
		"inet 10.99.0.101/32 scope link",
		"inet6 fd00:99::100/64 scope global nodad",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("ip addr lacks %q:\n%s", want, out)
		}
	}
	for range 2 {
		if err := set.Remove(); err != nil {
			t.Fatalf("Remove: %v", err)
		}
	}
	for _, ip := range []string{"10.99.0.100", "10.99.0.101", "fd00:99::100"} {
		if h.HasAddr(ip) {
			t.Errorf("%s still present after Remove", ip)
		}
	}
	if !h.HasAddr("10.99.0.1") {
		t.Error("Remove took the interface's own address")
	}
	bad := NewAddressSet(h.Netlink(), "nosuch0", vips[:1])
	if err := bad.Add(); err == nil || !strings.Contains(err.Error(), "adding VIP 10.99.0.100/24 to nosuch0") {
		t.Fatalf("Add on a missing interface: %v", err)
	}
}
