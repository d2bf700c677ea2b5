package agentx

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// TestNetSNMPMaster runs a Session as a subagent of net-snmp's snmpd: the
// walks of snmpwalk and snmpbulkwalk see the View as net-snmp prints it,
// a missing instance is reported as such, the agent capabilities appear
// in sysORTable, a Set is refused, and a notification reaches snmptrapd.
func TestNetSNMPMaster(t *testing.T) {
	n := nettest.StartNetSNMP(t)
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
	conn, err := net.Dial("unix", n.AgentX)
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
		got := n.Run(t, tool, "."+k.String())
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s:\n%s\nwant\n%s", tool, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}

	got := n.Run(t, "snmpget", "."+table.Append(2, 9).String(), "."+k.Append(1, 9, 0).String())
	if len(got) != 2 || !strings.Contains(got[0], "No Such Instance") || !strings.Contains(got[1], "No Such Object") {
		t.Errorf("snmpget of a missing row and a missing object:\n%s", strings.Join(got, "\n"))
	}

	or := strings.Join(n.Run(t, "snmpwalk", ".1.3.6.1.2.1.1.9.1.3"), "\n")
	if !strings.Contains(or, `"The MIB module for Keepalived"`) {
		t.Errorf("sysORTable lacks the subagent's capabilities:\n%s", or)
	}

	cmd := exec.Command("snmpset", "-v2c", "-c", "public", "-On", "-t", "2", "-r", "0", n.Addr, "."+k.Append(1, 4, 0).String(), "i", "2")
	cmd.Env = n.Env()
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
	for !strings.Contains(n.Traps.String(), "."+trapOID.String()) || !strings.Contains(n.Traps.String(), `"VI_1"`) {
		if time.Now().After(deadline) {
			t.Fatalf("snmptrapd received no trap %v:\n%s", trapOID, n.Traps.String())
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
