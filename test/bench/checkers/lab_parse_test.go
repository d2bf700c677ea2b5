package checkers

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/config"
)

func TestParseSize(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want size
		err  bool
	}{
		{in: "10000:2000", want: size{10000, 2000}},
		{in: "0:5", want: size{0, 5}},
		{in: "1000", err: true},
		{in: "0:0", err: true},
		{in: "-1:5", err: true},
		{in: "25401:0", err: true}, // 255 addresses: past 198.18.0.254
		{in: "x:1", err: true},
	} {
		got, err := parseSize(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("parseSize(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
	zs, err := parseSizes("10000:2000, 1000:200")
	if err != nil || len(zs) != 2 || zs[1] != (size{1000, 200}) {
		t.Errorf("parseSizes = %v, %v", zs, err)
	}
}

// TestConfig checks the generated configuration with gokeepalived's
// parser and, when it is installed, keepalived's own.
func TestConfig(t *testing.T) {
	s := size{tcp: 250, http: 120}
	if got, want := s.checksPerSecond(), 250.0+60; got != want {
		t.Errorf("checksPerSecond = %v, want %v", got, want)
	}
	if got, want := len(s.addrs()), 3+2; got != want {
		t.Errorf("%d link addresses, want %d", got, want)
	}
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(path, []byte(s.config()), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, ds, err := config.Load(path, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) > 0 {
		t.Fatalf("diagnostics: %v", ds)
	}
	if got, want := len(cfg.VirtualServers), 5; got != want {
		t.Fatalf("%d virtual servers, want %d", got, want)
	}
	seen := make(map[netip.AddrPort]bool)
	count := make(map[string]int)
	delay := map[string]time.Duration{"TCP_CHECK": tcpDelay * time.Second, "HTTP_GET": httpDelay * time.Second}
	for _, vs := range cfg.VirtualServers {
		for _, rs := range vs.RealServers {
			ap := netip.AddrPortFrom(rs.Addr, rs.Port)
			if seen[ap] {
				t.Errorf("real server %s twice", ap)
			}
			seen[ap] = true
			if rs.Weight != 1 || len(rs.Checkers) != 1 {
				t.Fatalf("real server %s: weight %d, %d checkers; want 1, 1", ap, rs.Weight, len(rs.Checkers))
			}
			typ := rs.Checkers[0].Type
			if vs.Timing.DelayLoop != delay[typ] {
				t.Errorf("real server %s: %s at delay_loop %v, want %v", ap, typ, vs.Timing.DelayLoop, delay[typ])
			}
			count[typ]++
		}
	}
	if count["TCP_CHECK"] != s.tcp || count["HTTP_GET"] != s.http {
		t.Errorf("real servers by checker: %v, want %d TCP_CHECK and %d HTTP_GET", count, s.tcp, s.http)
	}
	if _, err := exec.LookPath("keepalived"); err != nil {
		t.Skip("keepalived is not installed")
	}
	if out, err := exec.Command("keepalived", "-t", "-f", path).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("keepalived -t: %v\n%s", err, out)
	}
}
