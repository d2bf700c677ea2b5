package nettest

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// systemBusConfig is a system bus of the test's own that lets everyone
// own any name, send anything and eavesdrop.
const systemBusConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
`

// SystemBus is a private dbus-daemon of the system type.
type SystemBus struct {
	// Addr is the bus's address, for DBUS_SYSTEM_BUS_ADDRESS.
	Addr string
	cmd  *exec.Cmd
}

// Kill kills the bus daemon and waits for it, as a bus that goes away
// under its clients.
func (b *SystemBus) Kill() {
	b.cmd.Process.Kill()
	b.cmd.Wait()
}

// StartSystemBus runs a private dbus-daemon of the system type until the
// test ends (or Kill). It skips t without Debian's dbus, except under
// CI=true.
func StartSystemBus(t testing.TB) *SystemBus {
	t.Helper()
	if _, err := exec.LookPath("dbus-daemon"); err != nil {
		SkipUnlessCI(t, "needs dbus-daemon (Debian's dbus)")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "bus.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, systemBusConfig, filepath.Join(dir, "bus")), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("dbus-daemon", "--config-file="+conf, "--print-address", "--nofork")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b := &SystemBus{cmd: cmd}
	t.Cleanup(b.Kill)
	// The daemon prints its address once it listens.
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the bus's address: %v", err)
	}
	go io.Copy(io.Discard, out)
	b.Addr = strings.TrimSpace(addr)
	return b
}
