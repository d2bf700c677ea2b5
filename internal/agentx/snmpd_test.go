package agentx

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// netSNMP is net-snmp's snmpd running as the master agent on loopback,
// with snmptrapd receiving its traps.
type netSNMP struct {
	dir    string // configuration and persistent state
	agentx string // the AgentX socket's path
	addr   string // snmpd's UDP address
	traps  *nettest.SyncBuffer
}

// freeUDPPort returns a UDP port on loopback that nothing uses now.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// startNetSNMP starts snmpd as an AgentX master and snmptrapd, both on
// loopback, with their state in a temporary directory; they are stopped
// when the test ends.
func startNetSNMP(t *testing.T) *netSNMP {
	t.Helper()
	for _, tool := range []string{"snmpd", "snmptrapd", "snmpwalk", "snmpbulkwalk", "snmpget"} {
		if _, err := exec.LookPath(tool); err != nil {
			nettest.SkipUnlessCI(t, "needs net-snmp's "+tool+" (Debian snmpd, snmptrapd, snmp)")
		}
	}
	dir := t.TempDir()
	n := &netSNMP{
		dir:    dir,
		agentx: filepath.Join(dir, "agentx"),
		addr:   fmt.Sprintf("127.0.0.1:%d", freeUDPPort(t)),
		traps:  &nettest.SyncBuffer{},
	}
	trapAddr := fmt.Sprintf("127.0.0.1:%d", freeUDPPort(t))
	env := n.env()

	trapConf := filepath.Join(dir, "snmptrapd.conf")
	os.WriteFile(trapConf, []byte("disableAuthorization yes\n"), 0o600)
	trapd := exec.Command("snmptrapd", "-f", "-C", "-c", trapConf, "-Lo", "-On", "-n", "udp:"+trapAddr)
	trapd.Env = env
	trapd.Stdout, trapd.Stderr = n.traps, n.traps
	if err := trapd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { trapd.Process.Kill(); trapd.Wait() })

	conf := filepath.Join(dir, "snmpd.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`master agentx
agentXSocket unix:%s
agentXPerms 0600 0700
rocommunity public 127.0.0.1
trap2sink %s public
`, n.agentx, trapAddr)), 0o600)
	var out nettest.SyncBuffer
	snmpd := exec.Command("snmpd", "-f", "-C", "-c", conf, "-Lo", "udp:"+n.addr)
	snmpd.Env = env
	snmpd.Stdout, snmpd.Stderr = &out, &out
	if err := snmpd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		snmpd.Process.Kill()
		snmpd.Wait()
		if t.Failed() {
			t.Logf("snmpd:\n%s\nsnmptrapd:\n%s", out.String(), n.traps.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(n.agentx); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("snmpd made no AgentX socket:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return n
}

// env is the environment of net-snmp's programs: no MIBs loaded, and
// their configuration and persistent state (which the tools create on
// first use, saying so on stderr) in the test's directory.
func (n *netSNMP) env() []string {
	return append(os.Environ(), "MIBS=", "SNMP_PERSISTENT_DIR="+n.dir, "SNMPCONFPATH="+n.dir)
}

// run runs one of net-snmp's tools against snmpd and returns the lines
// of its standard output.
func (n *netSNMP) run(t *testing.T, tool string, args ...string) []string {
	t.Helper()
	args = append([]string{"-v2c", "-c", "public", "-On", "-t", "2", "-r", "1", n.addr}, args...)
	cmd := exec.Command(tool, args...)
	cmd.Env = n.env()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", tool, strings.Join(args, " "), err, b, stderr.Bytes())
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

// TestNetSNMPMaster runs a Session as a subagent of net-snmp's snmpd: the
// walks of snmpwalk and snmpbulkwalk see the View as net-snmp prints it,
// a missing instance is reported as such, the agent capabilities appear
// in sysORTable, a Set is refused, and a notification reaches snmptrapd.
func TestNetSNMPMaster(t *testing.T) {
	n := startNetSNMP(t)
	k := keepalivedMIB
	var b Builder
	b.String(k.Append(1, 1, 0), "Keepalived v2.2.7 (01/16,2022)")
	b.Int(k.Append(1, 4, 0), 1)
	table := k.Append(2, 3, 1)
	for _, row := range []uint32{1, 2, 3} {
		b.String(table.Append(2, row), fmt.Sprintf("VI_%d", row))
		b.Int(table.Append(4, row), int32(row))
		b.Gauge(table.Append(5, row), 100+row)
		b.Counter(table.Append(6, row), 7*row)
		b.Counter64(table.Append(7, row), uint64(1)<<40+uint64(row))
		b.Add(table.Append(8, row), IPAddress, [4]byte{10, 0, 0, byte(row)})
	}
	view := b.View()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := net.Dial("unix", n.agentx)
	if err != nil {
		t.Fatal(err)
	}
	s := NewSession(conn, func() View { return view })
	defer s.Close(ctx, ReasonShutdown)
	if err := s.Open(ctx, nil, "Keepalived", time.Second); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []OID{k.Append(1), k.Append(2)} {
		if err := s.Register(ctx, sub, 127); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddAgentCaps(ctx, k.Append(1), "The MIB module for Keepalived"); err != nil {
		t.Fatal(err)
	}

	var want []string
	for _, v := range view.All() {
		want = append(want, "."+v.Name.String()+" = "+netSNMPValue(v))
	}
	for _, tool := range []string{"snmpwalk", "snmpbulkwalk"} {
		got := n.run(t, tool, "."+k.String())
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s:\n%s\nwant\n%s", tool, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}

	got := n.run(t, "snmpget", "."+table.Append(2, 9).String(), "."+k.Append(1, 9, 0).String())
	if len(got) != 2 || !strings.Contains(got[0], "No Such Instance") || !strings.Contains(got[1], "No Such Object") {
		t.Errorf("snmpget of a missing row and a missing object:\n%s", strings.Join(got, "\n"))
	}

	or := strings.Join(n.run(t, "snmpwalk", ".1.3.6.1.2.1.1.9.1.3"), "\n")
	if !strings.Contains(or, `"The MIB module for Keepalived"`) {
		t.Errorf("sysORTable lacks the subagent's capabilities:\n%s", or)
	}

	cmd := exec.Command("snmpset", "-v2c", "-c", "public", "-On", "-t", "2", "-r", "0", n.addr, "."+k.Append(1, 4, 0).String(), "i", "2")
	cmd.Env = n.env()
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("snmpset of a read-only variable succeeded:\n%s", out)
	}

	trapOID := k.Append(3, 0, 2) // vrrpInstanceStateChange's place
	if err := s.Notify(ctx, []VarBind{
		{Name: MustParseOID("1.3.6.1.6.3.1.1.4.1.0"), Type: ObjectIdentifier, Value: trapOID},
		{Name: table.Append(2, 1), Type: OctetString, Value: []byte("VI_1")},
		{Name: table.Append(4, 1), Type: Integer, Value: int32(2)},
	}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(n.traps.String(), "."+trapOID.String()) || !strings.Contains(n.traps.String(), `"VI_1"`) {
		if time.Now().After(deadline) {
			t.Fatalf("snmptrapd received no trap %v:\n%s", trapOID, n.traps.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st := s.Stats(); st.Requests == 0 || st.Malformed != 0 {
		t.Errorf("session stats %+v", st)
	}
}

// netSNMPValue formats a value as net-snmp's tools print it without MIBs.
func netSNMPValue(v VarBind) string {
	switch v.Type {
	case OctetString:
		return fmt.Sprintf("STRING: %q", v.Value)
	case Integer:
		return fmt.Sprintf("INTEGER: %d", v.Value)
	case Gauge32:
		return fmt.Sprintf("Gauge32: %d", v.Value)
	case Counter32:
		return fmt.Sprintf("Counter32: %d", v.Value)
	case Counter64:
		return fmt.Sprintf("Counter64: %d", v.Value)
	case IPAddress:
		a := v.Value.([4]byte)
		return fmt.Sprintf("IpAddress: %d.%d.%d.%d", a[0], a[1], a[2], a[3])
	}
	return v.Type.String()
}
