package main

import (
	"strings"
	"testing"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// TestDaemonUnicastTTLBesideKeepalived captures the adverts a master
// sends to its unicast peer under keepalived and then gokeepalived:
// unicast_ttl sets their TTL or hop limit; without it IPv4 adverts carry
// 255 and IPv6 ones the interface's hop_limit (77 here, not the kernel's
// 64, to tell it from a constant).
func TestDaemonUnicastTTLBesideKeepalived(t *testing.T) {
	t.Parallel() // its own namespaces and files; it mostly waits on VRRP's timers
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.77.0.1/24", "2001:db8::1/64")
	o := lab.AddHost("o", "10.77.0.2/24", "2001:db8::2/64")
	m.Run("sysctl", "-qw", "net.ipv6.conf.eth0.hop_limit=77")
	bin := gokeepalivedBinary(t)
	v4 := func(extra string) string {
		return wireInstance("    unicast_peer {\n        10.77.0.2\n    }\n" + extra)
	}
	v6 := func(extra string) string {
		return strings.Replace(wireInstance("    unicast_src_ip 2001:db8::1\n    unicast_peer {\n        2001:db8::2\n    }\n"+extra),
			"10.77.0.120/24", "2001:db8::120/64", 1)
	}
	for _, c := range []wireCase{
		{name: "IPv4", conf: v4("    unicast_ttl 7\n"), want: "ttl 7,"},
		{name: "IPv4 default", conf: v4(""), want: "ttl 255,"},
		{name: "IPv6", conf: v6("    unicast_ttl 9\n"), want: "hlim 9,"},
		{name: "IPv6 default", conf: v6(""), want: "hlim 77,"},
	} {
		t.Run(c.name, func(t *testing.T) { compareAdverts(t, m, o, bin, c) })
	}
}
