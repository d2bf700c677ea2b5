package vrrp

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

func TestBound(t *testing.T) {
	for _, tt := range []struct {
		sc   scenario
		want time.Duration
	}{
		// 3 x 1s + (256-100)/256 s
		{scenario{version: 2, advert: time.Second, kill: true}, 3*time.Second + 609375*time.Microsecond},
		{scenario{version: 2, advert: time.Second}, 609375 * time.Microsecond},
		// 3 x 100ms + (256-100) x 100ms / 256
		{scenario{version: 3, advert: 100 * time.Millisecond, kill: true}, 300*time.Millisecond + 60937500*time.Nanosecond},
		{scenario{version: 3, advert: 100 * time.Millisecond}, 60937500 * time.Nanosecond},
		// 3 x 10ms + (256-100) x 10ms / 256
		{centisecond, 30*time.Millisecond + 6093750*time.Nanosecond},
	} {
		if got := tt.sc.bound(); got != tt.want {
			t.Errorf("%s: bound %v, want %v", tt.sc.name(), got, tt.want)
		}
	}
}

// TestConfigs checks that gokeepalived's parser reads the generated
// configurations as meant.
func TestConfigs(t *testing.T) {
	for _, sc := range append(scenarios, centisecond) {
		path := filepath.Join(t.TempDir(), "keepalived.conf")
		conf := makeConf("m", sc.instances(true)...)
		os.WriteFile(path, []byte(conf), 0o644)
		cfg, ds, err := config.Load(path, config.Options{})
		if ds = ds.Keepalived(); err != nil || len(ds) > 0 {
			t.Fatalf("%s: %v %v\n%s", sc.name(), err, ds, conf)
		}
		want := max(sc.routers, 1)
		if len(cfg.Instances) != want {
			t.Fatalf("%s: %d instances, want %d", sc.name(), len(cfg.Instances), want)
		}
		vips := map[string]bool{}
		for i, in := range cfg.Instances {
			if in.Version != sc.version || in.AdvertInt != sc.advert || in.Priority != masterPriority ||
				in.VirtualRouterID != 77+i || len(in.VirtualIPs) != 1 {
				t.Errorf("%s: instance %+v", sc.name(), in)
				continue
			}
			vips[in.VirtualIPs[0].Prefix.String()] = true
		}
		if len(vips) != want {
			t.Errorf("%s: %d distinct VIPs, want %d", sc.name(), len(vips), want)
		}
	}
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	os.WriteFile(path, []byte(scaleConfig("m", false)), 0o644)
	cfg, ds, err := config.Load(path, config.Options{})
	if ds = ds.Keepalived(); err != nil || len(ds) > 0 {
		t.Fatalf("scale: %v %v", err, ds)
	}
	seen := make(map[int]bool)
	for _, in := range cfg.Instances {
		if in.Priority != backupPriority || in.AdvertInt != time.Second || len(in.VirtualIPs) != 1 {
			t.Errorf("scale: instance %+v", in)
		}
		seen[in.VirtualRouterID] = true
	}
	if len(seen) != routers || !seen[1] || !seen[routers] {
		t.Errorf("scale: %d distinct VRIDs, want 1-%d", len(seen), routers)
	}
}

// TestConfigsKeepalived has keepalived -t check the generated
// configurations in a namespace that has the eth0 they name: it exits
// non-zero on any warning, such as a VRRPv2 interval it had to round.
func TestConfigsKeepalived(t *testing.T) {
	bin, err := exec.LookPath("keepalived")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("keepalived is not installed (CI=true)")
		}
		t.Skip("keepalived is not installed")
	}
	h := nettest.NewLab(t).AddHost("k", "10.77.0.1/24")
	confs := []string{scaleConfig("m", true)}
	for _, sc := range append(scenarios, centisecond) {
		confs = append(confs, makeConf("b", sc.instances(false)...), makeConf("m", sc.instances(true)...))
	}
	for _, conf := range confs {
		path := filepath.Join(t.TempDir(), "keepalived.conf")
		os.WriteFile(path, []byte(conf), 0o644)
		if out, err := h.Exec(bin, "-t", "-f", path).CombinedOutput(); err != nil {
			t.Errorf("keepalived -t: %v\n%s\n%s", err, out, firstLines(conf, 14))
		}
	}
	// The check itself must be able to fail.
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	os.WriteFile(path, []byte(makeConf("b", instance{version: 2, advert: 100 * time.Millisecond,
		priority: backupPriority, vrid: 77, vip: vipCIDR})), 0o644)
	if err := h.Exec(bin, "-t", "-f", path).Run(); err == nil {
		t.Error("keepalived -t accepted advert_int 0.1 with VRRPv2")
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}
