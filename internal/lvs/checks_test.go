package lvs

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/check"
)

func TestCheckServerMapping(t *testing.T) {
	cfg := parse(t, `
track_file tf {
	file /run/weight
}
virtual_server 192.0.2.1 80 {
	protocol TCP
	lb_kind NAT
	lb_algo rr
	delay_loop 7
	virtualhost vs.example
	real_server 10.0.0.2 8080 {
		weight 4
		TCP_CHECK {
			connect_timeout 2
		}
		TCP_CHECK {
			connect_ip 10.0.1.2
			connect_port 81
			bindto 10.0.0.1
			bind_port 4000
			bind_if eth3
			fwmark 9
			retry 4
			delay_before_retry 2
			warmup 0
			alpha
		}
		HTTP_GET {
			url {
				path /a
				virtualhost url.example
			}
			url {
				path /b
				digest 0123456789abcdef0123456789abcdef
			}
		}
		MISC_CHECK {
			misc_path "/bin/true 'two words'"
			misc_dynamic
		}
		FILE_CHECK {
			track_file tf
			weight -2
		}
		SMTP_CHECK {
		}
		DNS_CHECK {
			type A
			name example.org
		}
	}
	real_server 10.0.0.3 8080 {
		virtualhost rs.example
		HTTP_GET {
			url {
				path /
			}
		}
	}
	real_server 10.0.0.4 8080 {
	}
}`)
	vs := &cfg.VirtualServers[0]
	env := checkEnv(cfg, nil, nil)

	srv, err := CheckServer("rs1", vs, &vs.RealServers[0], env)
	if err != nil {
		t.Fatal(err)
	}
	if srv.Name != "rs1" || srv.Weight != 4 || len(srv.Checks) != 7 {
		t.Fatalf("server %q weight %d with %d checks, want rs1, 4, 7", srv.Name, srv.Weight, len(srv.Checks))
	}
	rsAddr := netip.MustParseAddrPort("10.0.0.2:8080")

	tcp := srv.Checks[0]
	if d := tcp.Checker.(*check.TCPCheck).Dialer; d.Addr != rsAddr || d.BindTo.IsValid() || d.FWMark != 0 {
		t.Errorf("plain TCP_CHECK dials %+v, want the real server", d)
	}
	if want := (check.Timing{DelayLoop: 7 * time.Second, Timeout: 2 * time.Second, Retry: 1, DelayBeforeRetry: time.Second, Warmup: 7 * time.Second}); tcp.Timing != want {
		t.Errorf("plain TCP_CHECK timing %+v, want %+v", tcp.Timing, want)
	}

	tcp2 := srv.Checks[1]
	want := check.Dialer{Addr: netip.MustParseAddrPort("10.0.1.2:81"), BindTo: netip.MustParseAddr("10.0.0.1"), BindPort: 4000, BindIf: "eth3", FWMark: 9}
	if d := tcp2.Checker.(*check.TCPCheck).Dialer; d != want {
		t.Errorf("TCP_CHECK dials %+v, want %+v", d, want)
	}
	if wantT := (check.Timing{DelayLoop: 7 * time.Second, Timeout: 5 * time.Second, Retry: 4, DelayBeforeRetry: 2 * time.Second, Alpha: true}); tcp2.Timing != wantT {
		t.Errorf("TCP_CHECK timing %+v, want %+v", tcp2.Timing, wantT)
	}

	h := srv.Checks[2].Checker.(*check.HTTPGet)
	if srv.Checks[2].Timing.DelayBeforeRetry != 3*time.Second {
		t.Errorf("HTTP_GET delay_before_retry %v, want keepalived's 3s", srv.Checks[2].Timing.DelayBeforeRetry)
	}
	if h.TLS || h.Dialer.Addr != rsAddr || len(h.URLs) != 2 {
		t.Fatalf("HTTP_GET %+v", h)
	}
	if h.URLs[0].VirtualHost != "url.example" || h.URLs[1].VirtualHost != "vs.example" {
		t.Errorf("url virtualhosts %q, %q: want the url's, then the virtual server's", h.URLs[0].VirtualHost, h.URLs[1].VirtualHost)
	}
	if h.URLs[1].Digest != "0123456789abcdef0123456789abcdef" {
		t.Errorf("digest %q", h.URLs[1].Digest)
	}

	m := srv.Checks[3]
	mc := m.Checker.(*check.MiscCheck)
	// Script security resolves the path, as keepalived's realpath.
	trueBin, _ := filepath.EvalSymlinks("/bin/true")
	if len(mc.Args) != 2 || mc.Args[0] != trueBin || mc.Args[1] != "two words" || !mc.Dynamic {
		t.Errorf("MISC_CHECK args %q dynamic %v", mc.Args, mc.Dynamic)
	}
	if m.Timing.Timeout != 7*time.Second || m.Timing.Retry != 0 {
		t.Errorf("MISC_CHECK timeout %v retry %d, want delay_loop and 0", m.Timing.Timeout, m.Timing.Retry)
	}

	fc := srv.Checks[4].Checker.(*check.FileCheck)
	if fc.Path != "/run/weight" || fc.Weight != -2 {
		t.Errorf("FILE_CHECK %+v", fc)
	}
	if sc := srv.Checks[5].Checker.(*check.SMTPCheck); sc.Dialer.Addr != rsAddr || sc.HeloName == "" {
		t.Errorf("SMTP_CHECK %+v", sc)
	}
	if dc := srv.Checks[6].Checker.(*check.DNSCheck); dc.Name != "example.org" || dc.Type.String() != "TypeA" {
		t.Errorf("DNS_CHECK %+v", dc)
	}
	if srv.Checks[6].Timing.Retry != 3 {
		t.Errorf("DNS_CHECK retry %d, want keepalived's 3", srv.Checks[6].Timing.Retry)
	}

	srv2, err := CheckServer("rs2", vs, &vs.RealServers[1], env)
	if err != nil {
		t.Fatal(err)
	}
	if vh := srv2.Checks[0].Checker.(*check.HTTPGet).URLs[0].VirtualHost; vh != "rs.example" {
		t.Errorf("url virtualhost %q, want the real server's", vh)
	}

	srv3, err := CheckServer("rs3", vs, &vs.RealServers[2], env)
	if err != nil || len(srv3.Checks) != 0 || srv3.Weight != 1 {
		t.Errorf("real server without checkers: %+v, %v", srv3, err)
	}
}

// TestCheckServerBFD builds a BFD_CHECK that follows the session its
// name gives through CheckEnv.BFDUp, read every BFDPollInterval with no
// retry, beside the other checkers.
func TestCheckServerBFD(t *testing.T) {
	cfg := parse(t, `
bfd_instance b {
	neighbor_ip 192.0.2.9
}
virtual_server 192.0.2.1 80 {
	protocol TCP
	real_server 10.0.0.2 80 {
		BFD_CHECK {
			name b
		}
		TCP_CHECK {
		}
	}
	real_server 10.0.0.3 80 {
		BFD_CHECK {
			name b
			alpha
		}
	}
}`)
	vs := &cfg.VirtualServers[0]
	up := map[string]bool{}
	srv, err := CheckServer("rs", vs, &vs.RealServers[0], checkEnv(cfg, nil, func(name string) bool { return up[name] }))
	if err != nil {
		t.Fatal(err)
	}
	if len(srv.Checks) != 2 || srv.Checks[0].Name != "BFD_CHECK" || srv.Checks[1].Name != "TCP_CHECK" {
		t.Fatalf("checks %+v, want the BFD_CHECK and the TCP_CHECK", srv.Checks)
	}
	bfd := srv.Checks[0]
	if bfd.Timing.Alpha || bfd.Timing.Retry != 0 || bfd.Timing.DelayLoop != check.BFDPollInterval {
		t.Errorf("the BFD_CHECK's timing %+v, want no alpha, no retry, every %v", bfd.Timing, check.BFDPollInterval)
	}
	if err := bfd.Checker.Check(context.Background()); err == nil {
		t.Error("the BFD_CHECK passes while session b is down")
	}
	up["b"] = true
	if err := bfd.Checker.Check(context.Background()); err != nil {
		t.Errorf("the BFD_CHECK fails while session b is Up: %v", err)
	}
	up["b"] = false
	if err := bfd.Checker.Check(context.Background()); err == nil {
		t.Error("the BFD_CHECK passes once session b is down again")
	}
	if startsDown(&vs.RealServers[0]) {
		t.Error("a real server with a BFD_CHECK without alpha starts down")
	}
	alpha, err := CheckServer("rs2", vs, &vs.RealServers[1], checkEnv(cfg, nil, func(name string) bool { return up[name] }))
	if err != nil || len(alpha.Checks) != 1 || !alpha.Checks[0].Timing.Alpha || !startsDown(&vs.RealServers[1]) {
		t.Errorf("a BFD_CHECK with alpha: %+v, %v; want one check that starts down", alpha, err)
	}
}

// TestCheckServerProbes runs checkers built from a configuration against
// real sockets and files.
func TestCheckServerProbes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	weightFile := filepath.Join(t.TempDir(), "w")
	if err := os.WriteFile(weightFile, []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := parse(t, fmt.Sprintf(`
track_file tf {
	file %s
}
virtual_server 192.0.2.1 80 {
	protocol TCP
	real_server 127.0.0.1 %d {
		TCP_CHECK {
		}
		FILE_CHECK {
			track_file tf
			weight 0
		}
	}
}`, weightFile, port))
	vs := &cfg.VirtualServers[0]
	srv, err := CheckServer("rs", vs, &vs.RealServers[0], checkEnv(cfg, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, c := range srv.Checks {
		if err := c.Checker.Check(ctx); err != nil {
			t.Errorf("%s against a healthy server: %v", c.Name, err)
		}
	}
	ln.Close()
	if err := os.WriteFile(weightFile, []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range srv.Checks {
		if err := c.Checker.Check(ctx); err == nil {
			t.Errorf("%s passed against a failed server", c.Name)
		}
	}
}
