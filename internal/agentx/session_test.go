package agentx

import (
	"context"
	"errors"
	"net"
	"reflect"
	"testing"
	"time"
)

// testView is a small MIB: two scalars and a two-column table of two
// rows.
func testView() View {
	var b Builder
	base := keepalivedMIB.Append(1)
	b.String(base.Append(1, 0), "Keepalived v2.2.7")
	b.String(base.Append(2, 0), "director-1")
	table := keepalivedMIB.Append(2, 3, 1)
	for _, row := range []uint32{2, 1} {
		b.String(table.Append(2, row), "VI_"+string(rune('0'+row)))
		b.Int(table.Append(4, row), int32(row))
	}
	return b.View()
}

func names(vbs []VarBind) []string {
	var s []string
	for _, v := range vbs {
		s = append(s, v.Name.String()+"="+v.Type.String())
	}
	return s
}

// TestViewNext checks GetNext's search-range rules: after start, at start
// when included, before end.
func TestViewNext(t *testing.T) {
	v := testView()
	k := "1.3.6.1.4.1.9586.100.5."
	cases := []struct {
		start, end string
		include    bool
		want       string
	}{
		{start: "1.3", want: k + "1.1.0"},
		{start: k + "1.1.0", want: k + "1.2.0"},
		{start: k + "1.1.0", include: true, want: k + "1.1.0"},
		{start: k + "1.2.0", want: k + "2.3.1.2.1"},
		{start: k + "2.3.1.2.2", want: k + "2.3.1.4.1"},
		{start: k + "2.3.1.4.2", want: ""},
		{start: k + "1.2.0", end: k + "2.3.1.2.1", want: ""},
		{start: k + "1.2.0", end: k + "2.3.1.2.2", want: k + "2.3.1.2.1"},
	}
	for _, c := range cases {
		got, ok := v.Next(MustParseOID(c.start), c.include, MustParseOID(c.end))
		if s := got.Name.String(); !ok && c.want != "" || ok && s != c.want {
			t.Errorf("Next(%s, %v, %s) = %s, %v; want %q", c.start, c.include, c.end, s, ok, c.want)
		}
	}
}

// fakeMaster is the master agent's side of a pipe.
type fakeMaster struct {
	t    *testing.T
	conn net.Conn
}

func (m *fakeMaster) send(p *PDU) {
	m.t.Helper()
	b, err := p.MarshalBinary()
	if err != nil {
		m.t.Fatal(err)
	}
	if _, err := m.conn.Write(b); err != nil {
		m.t.Fatal(err)
	}
}

func (m *fakeMaster) recv() *PDU {
	m.t.Helper()
	m.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	p, err := ReadPDU(m.conn)
	if err != nil {
		m.t.Fatal(err)
	}
	return p
}

// ask sends a request and returns the subagent's response.
func (m *fakeMaster) ask(p *PDU) *PDU {
	m.t.Helper()
	p.SessionID, p.TransactionID, p.PacketID = 4, 77, 78
	m.send(p)
	r := m.recv()
	if r.Type != TypeResponse || r.SessionID != 4 || r.TransactionID != 77 || r.PacketID != 78 {
		m.t.Fatalf("answer to %v: %+v", p.Type, r)
	}
	return r
}

func startSession(t *testing.T, views func() View) (*Session, *fakeMaster) {
	a, b := net.Pipe()
	s := NewSession(a, views)
	m := &fakeMaster{t: t, conn: b}
	t.Cleanup(func() { a.Close(); b.Close() })
	return s, m
}

// TestSessionOpenRegister checks the subagent's requests and that it
// takes the session id the master gives.
func TestSessionOpenRegister(t *testing.T) {
	s, m := startSession(t, testView)
	ctx := context.Background()
	errc := make(chan error, 1)
	go func() {
		if err := s.Open(ctx, keepalivedMIB, "Keepalived", 0); err != nil {
			errc <- err
			return
		}
		errc <- s.Register(ctx, keepalivedMIB.Append(1), 127)
	}()
	p := m.recv()
	if p.Type != TypeOpen || p.Descr != "Keepalived" || p.ID.Compare(keepalivedMIB) != 0 {
		t.Fatalf("open = %+v", p)
	}
	m.send(&PDU{Type: TypeResponse, SessionID: 9, PacketID: p.PacketID})
	p = m.recv()
	if p.Type != TypeRegister || p.SessionID != 9 || p.Priority != 127 || p.Subtree.String() != "1.3.6.1.4.1.9586.100.5.1" {
		t.Fatalf("register = %+v", p)
	}
	m.send(&PDU{Type: TypeResponse, SessionID: 9, PacketID: p.PacketID, Error: DuplicateRegistration})
	if err := <-errc; !errors.Is(err, DuplicateRegistration) {
		t.Errorf("register refused by the master returned %v", err)
	}
	if s.ID() != 9 {
		t.Errorf("session id %d, want 9", s.ID())
	}
}

// TestSessionAnswers checks the answers to Get, GetNext, GetBulk and Set
// requests, and that a malformed request is answered and counted.
func TestSessionAnswers(t *testing.T) {
	s, m := startSession(t, testView)
	k := keepalivedMIB

	r := m.ask(&PDU{Type: TypeGet, Ranges: []SearchRange{
		{Start: k.Append(1, 2, 0)}, {Start: k.Append(2, 3, 1, 2, 9)}, {Start: k.Append(7, 0)},
	}})
	want := []string{
		k.Append(1, 2, 0).String() + "=OctetString",
		k.Append(2, 3, 1, 2, 9).String() + "=noSuchInstance",
		k.Append(7, 0).String() + "=noSuchObject",
	}
	if got := names(r.VarBinds); !reflect.DeepEqual(got, want) {
		t.Errorf("Get = %v, want %v", got, want)
	}
	if string(r.VarBinds[0].Value.([]byte)) != "director-1" {
		t.Errorf("Get value %q", r.VarBinds[0].Value)
	}

	r = m.ask(&PDU{Type: TypeGetNext, Ranges: []SearchRange{
		{Start: k.Append(1), End: k.Append(2)}, {Start: k.Append(2, 3, 1, 4, 2), End: k.Append(3)},
	}})
	want = []string{k.Append(1, 1, 0).String() + "=OctetString", k.Append(2, 3, 1, 4, 2).String() + "=endOfMibView"}
	if got := names(r.VarBinds); !reflect.DeepEqual(got, want) {
		t.Errorf("GetNext = %v, want %v", got, want)
	}

	// One non-repeater, then two columns walked row by row.
	r = m.ask(&PDU{Type: TypeGetBulk, NonRepeaters: 1, MaxRepetitions: 5, Ranges: []SearchRange{
		{Start: k.Append(1, 1, 0)}, {Start: k.Append(2, 3, 1, 2), End: k.Append(2, 3, 1, 3)}, {Start: k.Append(2, 3, 1, 4), End: k.Append(2, 3, 1, 5)},
	}})
	want = []string{
		k.Append(1, 2, 0).String() + "=OctetString",
		k.Append(2, 3, 1, 2, 1).String() + "=OctetString", k.Append(2, 3, 1, 4, 1).String() + "=Integer",
		k.Append(2, 3, 1, 2, 2).String() + "=OctetString", k.Append(2, 3, 1, 4, 2).String() + "=Integer",
		k.Append(2, 3, 1, 2, 2).String() + "=endOfMibView", k.Append(2, 3, 1, 4, 2).String() + "=endOfMibView",
	}
	if got := names(r.VarBinds); !reflect.DeepEqual(got, want) {
		t.Errorf("GetBulk =\n%v\nwant\n%v", got, want)
	}

	r = m.ask(&PDU{Type: TypeTestSet, VarBinds: []VarBind{{Name: k.Append(1, 2, 0), Type: OctetString, Value: []byte("x")}}})
	if r.Error != NotWritable || r.Index != 1 {
		t.Errorf("TestSet answered %v at %d, want notWritable at 1", r.Error, r.Index)
	}

	r = m.ask(&PDU{Type: TypeGet, Context: "other", Ranges: []SearchRange{{Start: k.Append(1, 1, 0)}}})
	if r.Error != UnsupportedContext {
		t.Errorf("Get in a context answered %v", r.Error)
	}

	// A Get whose OID claims more subidentifiers than it carries.
	m.conn.Write([]byte{1, byte(TypeGet), byte(FlagNetworkByteOrder), 0, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0, 4, 9, 0, 0, 0})
	if r := m.recv(); r.Type != TypeResponse || r.Error != ParseError || r.PacketID != 6 {
		t.Errorf("malformed Get answered %+v", r)
	}
	if st := s.Stats(); st.Requests != 5 || st.Malformed != 1 {
		t.Errorf("stats %+v, want 5 requests and 1 malformed", st)
	}
}

// TestSessionContainsPanic checks that a view that panics costs the
// master a processingError, not the session.
func TestSessionContainsPanic(t *testing.T) {
	calls := 0
	_, m := startSession(t, func() View {
		calls++
		if calls == 1 {
			panic("broken view")
		}
		return testView()
	})
	get := &PDU{Type: TypeGet, Ranges: []SearchRange{{Start: keepalivedMIB.Append(1, 1, 0)}}}
	if r := m.ask(get); r.Error != ProcessingError {
		t.Errorf("panicking view answered %+v", r)
	}
	if r := m.ask(get); r.Error != NoError || len(r.VarBinds) != 1 || r.VarBinds[0].Type != OctetString {
		t.Errorf("after the panic: %+v", r)
	}
}

// TestSessionEnds checks that requests fail once the master closes the
// session or the connection goes away, and that Done says so.
func TestSessionEnds(t *testing.T) {
	s, m := startSession(t, testView)
	m.send(&PDU{Type: TypeClose, Reason: ReasonShutdown})
	select {
	case <-s.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("session did not end on the master's Close")
	}
	if s.Err() == nil {
		t.Error("Err is nil after the session ended")
	}
	if err := s.Ping(context.Background()); err == nil {
		t.Error("Ping succeeded on a closed session")
	}

	s, m = startSession(t, testView)
	errc := make(chan error, 1)
	go func() { errc <- s.Notify(context.Background(), nil) }()
	m.recv()
	m.conn.Close()
	if err := <-errc; err == nil {
		t.Error("Notify succeeded without an answer")
	}
}
