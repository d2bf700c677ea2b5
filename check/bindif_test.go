package check

import (
	"context"
	"crypto/tls"
	"net/netip"
	"testing"
	"time"
)

// TestCheckersBindIf runs every network checker with bind_if in a
// namespace whose servers listen on 127.0.0.1: bound to lo, each check
// passes; bound to v1, a veth end with no route to them, the same check
// goes out v1, finds nothing and fails. SO_BINDTODEVICE is what keepalived
// sets for bind_if, for each of these checkers.
func TestCheckersBindIf(t *testing.T) {
	ns := silentNetns(t)
	type named struct {
		name string
		new  func(Dialer) Checker
	}
	var checkers []named
	inNetns(t, ns, func() {
		http := startRawHTTP(t, "tcp", "127.0.0.1:0", nil)
		cert, _ := selfSigned(t, "rs.example")
		https := startRawHTTP(t, "tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
		smtp, _ := smtpServer(t, "220 ready\r\n", false)
		dns, _ := dnsServer(t, "ok")
		udp := udpServer(t, nil, false)
		at := func(d Dialer, a netip.AddrPort) Dialer { d.Addr = a; return d }
		checkers = []named{
			{"TCP_CHECK", func(d Dialer) Checker { return &TCPCheck{Dialer: at(d, http.addr())} }},
			{"HTTP_GET", func(d Dialer) Checker {
				return &HTTPGet{Dialer: at(d, http.addr()), URLs: []URL{{Path: "/"}}}
			}},
			{"SSL_GET", func(d Dialer) Checker {
				return &HTTPGet{Dialer: at(d, https.addr()), TLS: true, URLs: []URL{{Path: "/"}}}
			}},
			{"SMTP_CHECK", func(d Dialer) Checker { return &SMTPCheck{Dialer: at(d, smtp)} }},
			{"DNS_CHECK", func(d Dialer) Checker { return &DNSCheck{Dialer: at(d, dns)} }},
			{"UDP_CHECK", func(d Dialer) Checker { return &UDPCheck{Dialer: at(d, udp), RequireReply: true} }},
			{"PING_CHECK", func(d Dialer) Checker {
				return &PingCheck{Dialer: at(d, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), 0))}
			}},
		}
	})
	for _, c := range checkers {
		t.Run(c.name, func(t *testing.T) {
			for _, tc := range []struct {
				ifname string
				pass   bool
			}{{"lo", true}, {"v1", false}} {
				var err error
				inNetns(t, ns, func() {
					ctx, cancel := context.WithTimeout(context.Background(), time.Second)
					defer cancel()
					err = c.new(Dialer{BindIf: tc.ifname}).Check(ctx)
				})
				if (err == nil) != tc.pass {
					t.Errorf("bind_if %s: check error %v, want passing %v", tc.ifname, err, tc.pass)
				}
			}
		})
	}
}
