package logging

import (
	"bytes"
	"fmt"
	"log/syslog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// The script runs keepalived in a mount namespace of its own whose /dev
// holds only what keepalived opens, and whose /dev/log is the test's
// socket: keepalived cannot be pointed at another syslog socket.
const keepalivedScript = `set -e
mount -t tmpfs tmpfs /dev
mknod -m 666 /dev/null c 1 3
mknod -m 666 /dev/zero c 1 5
mknod -m 666 /dev/urandom c 1 9
ln -s "$1" /dev/log
shift
exec "$@"
`

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

var pidRE = regexp.MustCompile(`\[[0-9]+\]: `)

// TestKeepalivedLines checks that a VRRP state change is written exactly
// as keepalived 2.2 writes it, to syslog and to the console, apart from the
// time and the pid.
func TestKeepalivedLines(t *testing.T) {
	h := nettest.NewLab(t).AddHost("log", "10.9.9.1/24")
	bin := "/usr/sbin/keepalived"
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("keepalived is not installed: %v", err)
		}
		t.Skip("keepalived is not installed")
	}
	const msg = "(VI_1) Entering BACKUP STATE (init)"

	c, sock := listenSyslog(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(conf, []byte(keepalivedConf), 0o644); err != nil {
		t.Fatal(err)
	}
	d := h.Start(t, "unshare", "-m", "sh", "-c", keepalivedScript, "sh", sock,
		bin, "-n", "-l", "-P", "-f", conf,
		"-p", filepath.Join(dir, "keepalived.pid"),
		"-r", filepath.Join(dir, "vrrp.pid"),
		"-c", filepath.Join(dir, "checkers.pid"))
	if !d.WaitOutput(msg, 10*time.Second) {
		t.Fatalf("keepalived did not log %q", msg)
	}
	var theirs string
	for _, dg := range readDatagrams(t, c, time.Second) {
		if strings.HasSuffix(dg, msg) {
			theirs = dg
		}
	}
	if theirs == "" {
		t.Fatalf("keepalived sent no syslog datagram ending in %q", msg)
	}
	var theirConsole string
	for _, line := range strings.Split(d.Output(), "\n") {
		if strings.HasSuffix(line, ": "+msg) {
			theirConsole = line + "\n"
		}
	}

	var console bytes.Buffer
	l, sinks, err := New(Options{Console: true, Stderr: &console, Facility: syslog.LOG_DAEMON, SyslogSocket: sock})
	if err != nil {
		t.Fatal(err)
	}
	defer sinks.Close()
	WithIdent(l, IdentVRRP).Info(msg)
	got := readDatagrams(t, c, 200*time.Millisecond)
	if len(got) != 1 {
		t.Fatalf("got %d datagrams %q, want 1", len(got), got)
	}
	// log/syslog ends every message with a newline, which the C library
	// does not send; syslog daemons drop it on reception.
	ours := strings.TrimSuffix(got[0], "\n")

	norm := func(s string) string { return pidRE.ReplaceAllString(stripStamp(t, s), "[PID]: ") }
	if norm(ours) != norm(theirs) {
		t.Errorf("syslog datagram\n ours:       %q\n keepalived: %q", ours, theirs)
	}
	if s, want := stripANSIC(t, console.String()), stripANSIC(t, theirConsole); s != want {
		t.Errorf("console line\n ours:       %q\n keepalived: %q", console.String(), theirConsole)
	}
}

func stripANSIC(t *testing.T, line string) string {
	t.Helper()
	if len(line) < len(time.ANSIC) {
		t.Fatalf("console line %q is too short", line)
	}
	if _, err := time.Parse(time.ANSIC, line[:len(time.ANSIC)]); err != nil {
		t.Errorf("console line %q: %v", line, err)
	}
	return fmt.Sprintf("<time>%s", line[len(time.ANSIC):])
}
