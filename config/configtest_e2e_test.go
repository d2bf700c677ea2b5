package config_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// TestConfigTestWarnsUnimplemented runs gokeepalived -t and keepalived -t on
// one configuration that uses keywords gokeepalived does not act on: both
// accept it (exit 0), keepalived says nothing, and gokeepalived says, once
// for each use and at its line, that the keyword has no effect.
func TestConfigTestWarnsUnimplemented(t *testing.T) {
	keepalived := requireKeepalived(t)
	ns := newDiffNetns(t, "w")
	dir := t.TempDir()
	bin := nettest.BuildGokeepalived(t)
	conf := filepath.Join(dir, "keepalived.conf")
	src := `global_defs {
    vrrp_no_swap
    checker_no_swap
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    kernel_rx_buf_size 4096
    kernel_rx_buf_size 8192
    virtual_ipaddress {
        192.168.42.136
    }
}
`
	if err := os.WriteFile(conf, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}

	kv := runKeepalived(t.Context(), keepalived, ns, conf, t.TempDir())
	if kv.err != nil || !kv.ok || len(kv.msgs) != 0 {
		t.Fatalf("keepalived -t: ok %v, err %v, messages:\n%s", kv.ok, kv.err, msgList(kv.msgs))
	}

	cmd := exec.Command("ip", "netns", "exec", ns, bin, "-t", "-f", conf, "-i", diffConfigID)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("gokeepalived -t: %v (keepalived -t accepts the file)\n%s", err, out)
	}
	want := []string{
		conf + ":2: vrrp_no_swap: gokeepalived does not implement this keyword; it has no effect",
		conf + ":3: checker_no_swap: gokeepalived does not implement this keyword; it has no effect",
		conf + ":9: kernel_rx_buf_size: gokeepalived does not implement this keyword; it has no effect",
		conf + ":10: kernel_rx_buf_size: gokeepalived does not implement this keyword; it has no effect",
	}
	if got := strings.TrimSpace(string(out)); got != strings.Join(want, "\n") {
		t.Errorf("gokeepalived -t says:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}
