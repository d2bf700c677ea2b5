package checkerd

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/check"
	"github.com/gokeepalived/gokeepalived/internal/lvs"
)

// smtpHostServer is an SMTP server that greets with banner and counts
// the HELOs it is sent.
type smtpHostServer struct {
	addr  netip.AddrPort
	mu    sync.Mutex
	helos int
}

func startSMTPHost(t *testing.T, banner string) *smtpHostServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &smtpHostServer{addr: ln.Addr().(*net.TCPAddr).AddrPort()}
	go serve(ln, func(c net.Conn) {
		fmt.Fprint(c, banner)
		r := bufio.NewReader(c)
		for {
			l, err := r.ReadString('\n')
			if err != nil || !strings.HasPrefix(l, "HELO ") {
				fmt.Fprint(c, "221 bye\r\n")
				return
			}
			s.mu.Lock()
			s.helos++
			s.mu.Unlock()
			fmt.Fprint(c, "250 ok\r\n")
		}
	})
	return s
}

// serve hands each connection ln accepts to handle, on a goroutine of
// its own that closes it after, until ln is closed.
func serve(ln net.Listener, handle func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			handle(c)
		}()
	}
}

func (s *smtpHostServer) helo() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.helos
}

// TestSMTPCheckHostBlocks checks SMTP_CHECK's host blocks as keepalived's
// smtp_check_end_handler reads them: each host is an SMTP_CHECK of its
// own, with the block's helo_name and timing and the host's connection;
// the block's own connection is checked too only when the block sets one.
// Against SMTP servers the test starts, each host is greeted, and the
// real server is down while any host fails.
func TestSMTPCheckHostBlocks(t *testing.T) {
	good1, good2 := startSMTPHost(t, "220 ready\r\n"), startSMTPHost(t, "220 ready\r\n")
	bad := startSMTPHost(t, "554 go away\r\n")
	conf := func(own string, hosts ...*smtpHostServer) string {
		var b strings.Builder
		for _, h := range hosts {
			fmt.Fprintf(&b, "            host {\n                connect_ip %s\n                connect_port %d\n                bindto 127.0.0.1\n            }\n", h.addr.Addr(), h.addr.Port())
		}
		return fmt.Sprintf(`virtual_server 192.0.2.25 25 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 127.0.0.1 %d {
        SMTP_CHECK {
            helo_name lb.example
            retry 0
            alpha
            %s
%s        }
    }
}
`, good1.addr.Port(), own, b.String())
	}
	for _, tc := range []struct {
		name   string
		own    string
		hosts  []*smtpHostServer
		checks []netip.AddrPort
		up     bool
	}{
		{"hosts replace the real server's address", "", []*smtpHostServer{good1, good2}, []netip.AddrPort{good1.addr, good2.addr}, true},
		{"a host that fails", "", []*smtpHostServer{good2, bad}, []netip.AddrPort{good2.addr, bad.addr}, false},
		{"the block's own connection beside its hosts", "connect_timeout 2", []*smtpHostServer{good2}, []netip.AddrPort{good1.addr, good2.addr}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := loadConf(t, conf(tc.own, tc.hosts...))
			vs := &cfg.VirtualServers[0]
			rs := &vs.RealServers[0]
			srv, err := lvs.CheckServer("rs", vs, rs, lvs.CheckEnv{})
			if err != nil {
				t.Fatal(err)
			}
			var got []netip.AddrPort
			for _, c := range srv.Checks {
				sc, ok := c.Checker.(*check.SMTPCheck)
				if !ok {
					t.Fatalf("checker %T, want SMTP_CHECK", c.Checker)
				}
				if sc.HeloName != "lb.example" {
					t.Errorf("helo_name %q, want the block's", sc.HeloName)
				}
				if c.Timing.Retry != 0 {
					t.Errorf("retry %d, want the block's 0", c.Timing.Retry)
				}
				if len(tc.own) == 0 && sc.Dialer.BindTo != netip.MustParseAddr("127.0.0.1") {
					t.Errorf("bindto %v, want the host's", sc.Dialer.BindTo)
				}
				got = append(got, sc.Dialer.Addr)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.checks) {
				t.Fatalf("checks of %v, want %v", got, tc.checks)
			}
			before := map[*smtpHostServer]int{}
			for _, h := range tc.hosts {
				before[h] = h.helo()
			}
			sch := check.NewScheduler(check.Options{Spread: -1})
			for i := range srv.Checks {
				srv.Checks[i].Timing.Warmup = 0
			}
			if err := sch.Add(srv); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			go sch.Run(ctx)
			// The first event is the server added, down as its
			// checkers are alpha; the next, its coming up once
			// every host passed.
			if ev := <-sch.Events(); ev.Up {
				t.Fatalf("first event %+v, want the server down", ev)
			}
			up := false
			select {
			case ev := <-sch.Events():
				up = ev.Up
			case <-time.After(2 * time.Second):
			}
			if up != tc.up {
				t.Errorf("real server up %v, want %v", up, tc.up)
			}
			for _, h := range tc.hosts {
				for deadline := time.Now().Add(time.Second); h != bad && h.helo() == before[h]; time.Sleep(10 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Errorf("host %v was not checked", h.addr)
						break
					}
				}
			}
		})
	}
}
