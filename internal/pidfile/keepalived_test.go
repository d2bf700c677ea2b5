package pidfile

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus/hooks/test"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

const keepalivedConf = `vrrp_instance VI_1 {
	state BACKUP
	interface eth0
	virtual_router_id 51
	priority 100
	advert_int 1
	virtual_ipaddress {
		10.9.9.9/24
	}
}
`

// TestKeepalived puts the same pid file in front of real keepalived and of
// Running, and checks that both decide alike, log the same words and leave
// the same file behind. It also checks that keepalived accepts the files
// Create writes.
func TestKeepalived(t *testing.T) {
	h := nettest.NewLab(t).AddHost("pid", "10.9.9.1/24")
	bin := "/usr/sbin/keepalived"
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("keepalived is not installed: %v", err)
		}
		t.Skip("keepalived is not installed")
	}
	conf := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(conf, []byte(keepalivedConf), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		write   func(path string) error
		running bool
	}{
		{"stale", func(path string) error {
			return os.WriteFile(path, []byte(strconv.Itoa(deadPid)+"\n"), 0o644)
		}, false},
		{"garbage", func(path string) error {
			return os.WriteFile(path, []byte("abc\n"), 0o644)
		}, true},
		{"written by Create", func(path string) error {
			_, err := Create(path)
			return err
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "keepalived.pid")

			if err := tt.write(path); err != nil {
				t.Fatal(err)
			}
			d := h.Start(t, bin, "-n", "-l", "-P", "-f", conf, "-p", path,
				"-r", filepath.Join(dir, "vrrp.pid"), "-c", filepath.Join(dir, "checkers.pid"))
			done := "Startup complete"
			if tt.running {
				done = "daemon is already running"
			}
			if !d.WaitOutput(done, 10*time.Second) {
				t.Fatalf("keepalived did not log %q", done)
			}
			var theirs []string
			for _, line := range strings.Split(d.Output(), "\n") {
				if _, msg, ok := strings.Cut(line, ": "); ok && strings.Contains(msg, "pid file") {
					theirs = append(theirs, msg)
				}
			}
			if err := d.Stop(t, 5*time.Second); err != nil {
				t.Logf("stopping keepalived: %v", err)
			}
			_, err := os.Stat(path)
			theirKept := err == nil

			if err := tt.write(path); err != nil {
				t.Fatal(err)
			}
			log, hook := test.NewNullLogger()
			if got := Running(log, path); got != tt.running {
				t.Errorf("Running = %v, keepalived thought %v", got, tt.running)
			}
			if ours := messages(hook); !slices.Equal(ours, theirs) {
				t.Errorf("logged %q, keepalived %q", ours, theirs)
			}
			// Once past the check, keepalived writes and removes a pid file
			// of its own, so only a refusal shows what the check left.
			_, err = os.Stat(path)
			ourKept := err == nil
			if tt.running && ourKept != theirKept {
				t.Errorf("pid file kept = %v, keepalived's %v", ourKept, theirKept)
			}
			if !tt.running && ourKept {
				t.Error("stale pid file kept")
			}
		})
	}
}
