package nettest

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// NetSNMP is net-snmp's snmpd running as the master agent on loopback,
// with snmptrapd receiving its traps. Its AgentX socket is a file, which
// subagents in any network namespace reach.
type NetSNMP struct {
	Dir    string // configuration and persistent state
	AgentX string // the AgentX socket's path
	Addr   string // snmpd's UDP address on loopback
	// Traps is snmptrapd's output (-On: numeric OIDs), one trap per
	// block.
	Traps *SyncBuffer
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

// StartNetSNMP starts snmpd as an AgentX master and snmptrapd, both on
// loopback, with their state in a temporary directory; they are stopped
// when the test ends.
func StartNetSNMP(t *testing.T) *NetSNMP {
	t.Helper()
	for _, tool := range []string{"snmpd", "snmptrapd", "snmpwalk", "snmpbulkwalk", "snmpget"} {
		if _, err := exec.LookPath(tool); err != nil {
			SkipUnlessCI(t, "needs net-snmp's "+tool+" (Debian snmpd, snmptrapd, snmp)")
		}
	}
	dir := t.TempDir()
	n := &NetSNMP{
		Dir:    dir,
		AgentX: filepath.Join(dir, "agentx"),
		Addr:   fmt.Sprintf("127.0.0.1:%d", freeUDPPort(t)),
		Traps:  &SyncBuffer{},
	}
	trapAddr := fmt.Sprintf("127.0.0.1:%d", freeUDPPort(t))
	env := n.Env()

	trapConf := filepath.Join(dir, "snmptrapd.conf")
	os.WriteFile(trapConf, []byte("disableAuthorization yes\n"), 0o600)
	trapd := exec.Command("snmptrapd", "-f", "-C", "-c", trapConf, "-Lo", "-On", "-n", "udp:"+trapAddr)
	trapd.Env = env
	trapd.Stdout, trapd.Stderr = n.Traps, n.Traps
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
`, n.AgentX, trapAddr)), 0o600)
	var out SyncBuffer
	snmpd := exec.Command("snmpd", "-f", "-C", "-c", conf, "-Lo", "udp:"+n.Addr)
	snmpd.Env = env
	snmpd.Stdout, snmpd.Stderr = &out, &out
	if err := snmpd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		snmpd.Process.Kill()
		snmpd.Wait()
		if t.Failed() {
			t.Logf("snmpd:\n%s\nsnmptrapd:\n%s", out.String(), n.Traps.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(n.AgentX); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("snmpd made no AgentX socket:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return n
}

// Env is the environment of net-snmp's programs: no MIBs loaded, and
// their configuration and persistent state (which the tools create on
// first use, saying so on stderr) in the test's directory.
func (n *NetSNMP) Env() []string {
	return append(os.Environ(), "MIBS=", "SNMP_PERSISTENT_DIR="+n.Dir, "SNMPCONFPATH="+n.Dir)
}

// Run runs one of net-snmp's tools against snmpd and returns the lines
// of its standard output.
func (n *NetSNMP) Run(t *testing.T, tool string, args ...string) []string {
	t.Helper()
	args = append([]string{"-v2c", "-c", "public", "-On", "-t", "2", "-r", "1", n.Addr}, args...)
	cmd := exec.Command(tool, args...)
	cmd.Env = n.Env()
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

// sysORTable is SNMPv2-MIB's table of the MIB modules an agent serves.
const sysORTable = ".1.3.6.1.2.1.1.9.1"

// ORRows returns the rows of snmpd's sysORTable whose sysORID is one of
// ids or under one of them, each as "ID = DESCR", sorted: their index
// (the order of registration) and uptime are left out.
func (n *NetSNMP) ORRows(t *testing.T, ids ...string) []string {
	t.Helper()
	idOf, descrOf := map[string]string{}, map[string]string{}
	for _, l := range n.Run(t, "snmpwalk", sysORTable) {
		oid, val, _ := strings.Cut(l, " = ")
		rest, ok := strings.CutPrefix(oid, sysORTable+".")
		if !ok {
			continue
		}
		col, idx, _ := strings.Cut(rest, ".")
		switch col {
		case "2":
			idOf[idx] = strings.TrimPrefix(val, "OID: ")
		case "3":
			descrOf[idx] = val
		}
	}
	var rows []string
	for idx, id := range idOf {
		for _, want := range ids {
			if id == want || strings.HasPrefix(id, want+".") {
				rows = append(rows, id+" = "+descrOf[idx])
				break
			}
		}
	}
	slices.Sort(rows)
	return rows
}

// Notifications returns the notifications snmptrapd printed after offset
// (a length of Traps) whose snmpTrapOID.0 starts with prefix, in order of
// arrival, each as its variables joined by " | ", with sysUpTime.0's
// value masked: it is the sending agent's uptime.
func (n *NetSNMP) Notifications(offset int, prefix string) []string {
	var out []string
	for _, l := range strings.Split(n.Traps.String()[offset:], "\n") {
		if !strings.Contains(l, ".1.3.6.1.6.3.1.1.4.1.0 = OID: "+prefix) {
			continue
		}
		vbs := strings.Split(strings.TrimSpace(l), "\t")
		for i, vb := range vbs {
			vbs[i] = strings.TrimSpace(vb)
			if strings.HasPrefix(vbs[i], ".1.3.6.1.2.1.1.3.0 = ") {
				vbs[i] = ".1.3.6.1.2.1.1.3.0 = Timeticks: <uptime>"
			}
		}
		out = append(out, strings.Join(vbs, " | "))
	}
	return out
}
