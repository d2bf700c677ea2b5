package snmpagent

import (
	"context"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/gokeepalived/gokeepalived/internal/agentx"
	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

func TestParse(t *testing.T) {
	for _, c := range []struct{ in, network, addr string }{
		{"", "unix", "/var/agentx/master"},
		{"unix:/run/agentx", "unix", "/run/agentx"},
		{"/run/agentx", "unix", "/run/agentx"},
		{"tcp:localhost:705", "tcp", "localhost:705"},
		{"tcp6:[::1]:705", "tcp6", "[::1]:705"},
		{"127.0.0.1:705", "tcp", "127.0.0.1:705"},
	} {
		if n, a := Parse(c.in); n != c.network || a != c.addr {
			t.Errorf("Parse(%q) = %s %s, want %s %s", c.in, n, a, c.network, c.addr)
		}
	}
}

// fakeMaster is a master agent that answers every PDU with a plain
// Response and hangs up after hangup sessions' Open... Register rounds;
// it records what it was sent.
type fakeMaster struct {
	ln net.Listener

	mu       sync.Mutex
	sessions int
	got      []agentx.Type
	notified [][]agentx.VarBind
}

func startFakeMaster(t *testing.T) (*fakeMaster, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "master")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	m := &fakeMaster{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go m.serve()
	return m, "unix:" + path
}

func (m *fakeMaster) serve() {
	for {
		c, err := m.ln.Accept()
		if err != nil {
			return
		}
		m.mu.Lock()
		m.sessions++
		id := uint32(m.sessions)
		m.mu.Unlock()
		go m.session(c, id)
	}
}

// session answers one connection; the first is closed by the master as
// soon as the subagent has registered, to make it connect again.
func (m *fakeMaster) session(c net.Conn, id uint32) {
	defer c.Close()
	for {
		p, err := agentx.ReadPDU(c)
		if err != nil {
			return
		}
		m.mu.Lock()
		m.got = append(m.got, p.Type)
		if p.Type == agentx.TypeNotify {
			m.notified = append(m.notified, p.VarBinds)
		}
		m.mu.Unlock()
		r := &agentx.PDU{Type: agentx.TypeResponse, SessionID: id, PacketID: p.PacketID, TransactionID: p.TransactionID}
		b, err := r.MarshalBinary()
		if err != nil {
			return
		}
		if _, err := c.Write(b); err != nil {
			return
		}
		if id == 1 && p.Type == agentx.TypeAddAgentCaps {
			return
		}
	}
}

func (m *fakeMaster) snapshot() (int, []agentx.Type, [][]agentx.VarBind) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sessions, slices.Clone(m.got), slices.Clone(m.notified)
}

// TestAgentReconnects: a master that hangs up is connected to again and
// given the registrations again; notifications go out in the order sent,
// each after sysUpTime.0 and snmpTrapOID.0; Run returns once its context
// ends.
func TestAgentReconnects(t *testing.T) {
	m, socket := startFakeMaster(t)
	log, hook := logtest.NewNullLogger()
	mib := agentx.MustParseOID("1.3.6.1.4.1.9586.100.5.2")
	a := New(Options{Socket: socket, Descr: "Keepalived", Log: log,
		MIBs: []MIB{{Name: "KEEPALIVED-VRRP", OID: mib}}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()

	if _, ok := nettest.Eventually(5*time.Second, func() bool { return a.Stats().Connects >= 2 && a.Connected() }); !ok {
		t.Fatalf("stats %+v after the master hung up once", a.Stats())
	}
	trap := mib.Append(10, 0, 2)
	for i := range 3 {
		a.Send(trap, agentx.VarBind{Name: mib.Append(3, 1, 4, 1), Type: agentx.Integer, Value: int32(i)})
	}
	a.Drain(2 * time.Second)
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}

	sessions, got, notified := m.snapshot()
	if sessions != 2 {
		t.Errorf("%d sessions, want 2", sessions)
	}
	var registers int
	for _, ty := range got {
		if ty == agentx.TypeRegister {
			registers++
		}
	}
	if registers != 2 {
		t.Errorf("%d registrations over two sessions, want 2: %v", registers, got)
	}
	if got[len(got)-1] != agentx.TypeClose {
		t.Errorf("last PDU %v, want Close", got[len(got)-1])
	}
	if len(notified) != 3 {
		t.Fatalf("%d notifications, want 3", len(notified))
	}
	for i, vbs := range notified {
		if len(vbs) != 3 || vbs[0].Name.Compare(SysUpTime) != 0 || vbs[1].Name.Compare(SnmpTrapOID) != 0 || vbs[2].Value != int32(i) {
			t.Errorf("notification %d: %v", i, vbs)
		}
	}
	if st := a.Stats(); st.Notifications != 3 || st.Dropped != 0 {
		t.Errorf("stats %+v", st)
	}
	var lost int
	for _, e := range hook.AllEntries() {
		if e.Level == logrus.WarnLevel && strings.Contains(e.Message, "lost") {
			lost++
		}
	}
	if lost != 1 {
		t.Errorf("%d warnings of a lost master, want 1", lost)
	}
}

// TestAgentWithoutMaster: with no master, Run logs its failure once and
// keeps trying; a notification is dropped and counted.
func TestAgentWithoutMaster(t *testing.T) {
	log, hook := logtest.NewNullLogger()
	a := New(Options{Socket: filepath.Join(t.TempDir(), "none"), Log: log, Retry: 50 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	a.Send(SnmpTrapOID)
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	began := time.Now()
	if a.WaitConnected(time.Second) {
		t.Error("connected without a master")
	}
	if took := time.Since(began); took > 200*time.Millisecond {
		t.Errorf("WaitConnected waited %v for a master that is not there", took)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var failed int
	for _, e := range hook.AllEntries() {
		if strings.Contains(e.Message, "Failed to connect to the agentx master agent") {
			failed++
		}
	}
	if failed != 1 {
		t.Errorf("%d failure messages, want 1", failed)
	}
	if a.Connected() || a.Stats().Connects != 0 {
		t.Errorf("connected without a master: %+v", a.Stats())
	}
}

// TestAgentUnderNetSNMP runs an Agent under net-snmp's snmpd: its module
// appears in sysORTable with keepalived's description, snmpwalk sees the
// variables Fill gives at the time of the walk, and a notification reaches
// snmptrapd.
func TestAgentUnderNetSNMP(t *testing.T) {
	n := nettest.StartNetSNMP(t)
	mib := agentx.MustParseOID("1.3.6.1.4.1.9586.100.5.1")
	var mu sync.Mutex
	router := "lb-1"
	a := New(Options{Socket: "unix:" + n.AgentX, Descr: "Keepalived", MIBs: []MIB{{
		Name: "Keepalived",
		OID:  mib,
		Fill: func(b *agentx.Builder) {
			mu.Lock()
			defer mu.Unlock()
			b.String(mib.Append(2, 0), router)
		},
	}}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a.Run(ctx)
	if !a.WaitConnected(5 * time.Second) {
		t.Fatal("no session with snmpd")
	}
	rows := n.ORRows(t, "."+mib.String())
	if want := []string{"." + mib.String() + ` = STRING: "The MIB module for Keepalived"`}; !slices.Equal(rows, want) {
		t.Errorf("sysORTable rows %q, want %q", rows, want)
	}
	walk := func() string { return strings.Join(n.Run(t, "snmpwalk", "."+mib.String()), "\n") }
	if w := walk(); w != "."+mib.String()+`.2.0 = STRING: "lb-1"` {
		t.Errorf("walk: %s", w)
	}
	mu.Lock()
	router = "lb-2"
	mu.Unlock()
	if w := walk(); w != "."+mib.String()+`.2.0 = STRING: "lb-2"` {
		t.Errorf("walk after a change: %s", w)
	}
	trap := mib.Append(3, 0, 9)
	a.Send(trap, agentx.VarBind{Name: mib.Append(2, 0), Type: agentx.OctetString, Value: []byte("lb-2")})
	if _, ok := nettest.Eventually(5*time.Second, func() bool { return len(n.Notifications(0, "."+trap.String())) == 1 }); !ok {
		t.Fatalf("snmptrapd received no notification %v:\n%s", trap, n.Traps.String())
	}
	if got := n.Notifications(0, "."+trap.String())[0]; !strings.Contains(got, `.2.0 = STRING: "lb-2"`) {
		t.Errorf("notification %s", got)
	}
}
