// Package reload checks that a reload with an invalid configuration never
// changes a running director: for every invalid file of the parser's
// corpus (config/testdata), SIGHUP must leave gokeepalived running the
// previous configuration, with its VIP, and without a transition.
package reload

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

const valid = `global_defs {
    router_id director
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 71
    priority 150
    advert_int 1
    virtual_ipaddress {
        10.71.0.100/24
    }
}
`

const vip = "10.71.0.100"

// invalidFiles returns the corpus files gokeepalived's parser reports
// errors for: exactly those a reload must refuse.
func invalidFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"../../../config/testdata/diff/invalid-*.conf", "../../../config/testdata/refused-*.conf"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			_, ds, err := config.Load(f, config.Options{})
			if err != nil || ds.HasErrors() {
				files = append(files, f)
			}
		}
	}
	if len(files) < 50 {
		t.Fatalf("%d invalid files in the corpus; the glob patterns are stale", len(files))
	}
	return files
}

func TestInvalidReloadsKeepTheDirector(t *testing.T) {
	files := invalidFiles(t)
	nettest.RequireRoot(t)
	bin := filepath.Join(t.TempDir(), "gokeepalived")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/gokeepalived/gokeepalived/cmd/gokeepalived").CombinedOutput(); err != nil {
		t.Fatalf("building gokeepalived: %v\n%s", err, out)
	}
	lab := nettest.NewLab(t)
	h := lab.AddHost("d", "10.71.0.1/24")
	dir := t.TempDir()
	path := filepath.Join(dir, "keepalived.conf")
	write(t, path, valid)
	// Some corpus files include fragments by relative path.
	if err := os.CopyFS(filepath.Join(dir, "include"), os.DirFS("../../../config/testdata/diff/include")); err != nil {
		t.Fatal(err)
	}
	d := h.Start(t, bin, "-P", "-n", "-l", "-G", "-f", path,
		"-p", filepath.Join(dir, "keepalived.pid"), "-r", filepath.Join(dir, "vrrp.pid"),
		"-c", filepath.Join(dir, "checkers.pid"), "--control-socket", filepath.Join(dir, "ctl.sock"))
	if _, ok := nettest.Eventually(10*time.Second, func() bool { return h.HasAddr(vip) }); !ok {
		t.Fatalf("no VIP after 10s\n%s", d.Output())
	}
	start := len(d.Output())

	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		write(t, path, string(src))
		// and under its own name, for the files that include themselves.
		write(t, filepath.Join(dir, filepath.Base(f)), string(src))
		off := len(d.Output())
		if err := d.Signal(syscall.SIGHUP); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		// Every refusal ends in one line: the reload is refused, or the
		// file could not be read at all.
		refused := func() bool {
			out := d.Output()[off:]
			return strings.Contains(out, "Reload of "+path+" refused") || strings.Contains(out, "Configuration file "+path+":")
		}
		if _, ok := nettest.Eventually(5*time.Second, refused); !ok {
			t.Fatalf("%s: no refusal within 5s of SIGHUP:\n%s", filepath.Base(f), d.Output()[off:])
		}
		if strings.Contains(d.Output()[off:], "Reload finished") {
			t.Fatalf("%s: the reload went through:\n%s", filepath.Base(f), d.Output()[off:])
		}
		if !h.HasAddr(vip) {
			t.Fatalf("%s: VIP gone after the refused reload:\n%s", filepath.Base(f), d.Output()[off:])
		}
	}
	select {
	case <-d.Done():
		t.Fatalf("the daemon exited during the reloads:\n%s", d.Output()[start:])
	default:
	}
	if out := d.Output()[start:]; strings.Contains(out, "Entering") {
		t.Errorf("a transition during the refused reloads:\n%s", out)
	}

	// The old configuration was running all along: a valid file reloads.
	write(t, path, valid)
	off := len(d.Output())
	d.Signal(syscall.SIGHUP)
	if !d.WaitOutput("Reload finished", 5*time.Second) || strings.Contains(d.Output()[off:], "Entering") {
		t.Fatalf("the valid reload after %d refused ones:\n%s", len(files), d.Output()[off:])
	}
	t.Logf("%d invalid configurations refused on reload; VIP owned throughout, no transition", len(files))
	if err := d.Stop(t, 10*time.Second); err != nil {
		t.Errorf("stopping: %v", err)
	}
	if h.HasAddr(vip) {
		t.Error("VIP left after SIGTERM")
	}
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
