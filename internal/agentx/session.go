package agentx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// ErrClosed is returned by a Session's requests once its connection is
// gone; Err says why.
var ErrClosed = errors.New("agentx: session closed")

// Session is one AgentX session with a master agent over one connection.
// It reads the connection from NewSession on: the master's Get, GetNext
// and GetBulk requests are answered from a View taken once per request,
// and responses to the session's own requests are handed to the waiting
// call. Its methods may be called from several goroutines.
type Session struct {
	conn  net.Conn
	views func() View

	wmu sync.Mutex // serialises writes

	mu      sync.Mutex
	id      uint32
	packet  uint32
	pending map[uint32]chan *PDU

	done    chan struct{}
	errOnce sync.Once
	err     error

	requests  atomic.Uint64
	malformed atomic.Uint64
}

// Stats counts what a Session has served.
type Stats struct {
	// Requests is the number of the master's requests answered.
	Requests uint64
	// Malformed is the number of the master's PDUs that could not be
	// decoded and were answered with parseError.
	Malformed uint64
}

// NewSession starts a session over conn. views is called once for each
// of the master's requests and must not block.
func NewSession(conn net.Conn, views func() View) *Session {
	s := &Session{
		conn:    conn,
		views:   views,
		pending: make(map[uint32]chan *PDU),
		done:    make(chan struct{}),
	}
	go s.read()
	return s
}

// Done is closed when the session's connection is gone.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err returns why the session ended, or nil while it runs.
func (s *Session) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// Stats returns the session's counters.
func (s *Session) Stats() Stats {
	return Stats{Requests: s.requests.Load(), Malformed: s.malformed.Load()}
}

// ID returns the session's identifier, given by the master at Open.
func (s *Session) ID() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id
}

// fail ends the session with err.
func (s *Session) fail(err error) {
	s.errOnce.Do(func() {
		s.err = err
		s.conn.Close()
		close(s.done)
	})
}

// Open opens the session: id names the subagent (it may be empty),
// descr describes it, and timeout is how long the master waits for its
// answers (0: the master's default).
func (s *Session) Open(ctx context.Context, id OID, descr string, timeout time.Duration) error {
	r, err := s.request(ctx, &PDU{Type: TypeOpen, Timeout: seconds(timeout), ID: id, Descr: descr})
	if err != nil {
		return fmt.Errorf("agentx: open %q: %w", descr, err)
	}
	s.mu.Lock()
	s.id = r.SessionID
	s.mu.Unlock()
	return nil
}

// Register registers the subtree with the master at priority (lower is
// preferred; 127 is the usual default), so that the master sends the
// requests under it to this session.
func (s *Session) Register(ctx context.Context, subtree OID, priority uint8) error {
	if _, err := s.request(ctx, &PDU{Type: TypeRegister, Priority: priority, Subtree: subtree}); err != nil {
		return fmt.Errorf("agentx: register %v: %w", subtree, err)
	}
	return nil
}

// Unregister withdraws a registration made by Register.
func (s *Session) Unregister(ctx context.Context, subtree OID, priority uint8) error {
	if _, err := s.request(ctx, &PDU{Type: TypeUnregister, Priority: priority, Subtree: subtree}); err != nil {
		return fmt.Errorf("agentx: unregister %v: %w", subtree, err)
	}
	return nil
}

// AddAgentCaps adds a row to the master's sysORTable: the MIB module id
// and its description.
func (s *Session) AddAgentCaps(ctx context.Context, id OID, descr string) error {
	if _, err := s.request(ctx, &PDU{Type: TypeAddAgentCaps, ID: id, Descr: descr}); err != nil {
		return fmt.Errorf("agentx: add agent capabilities %v: %w", id, err)
	}
	return nil
}

// Notify asks the master to send a notification made of vbs, which start
// with sysUpTime.0 (optional) and snmpTrapOID.0 (RFC 2741 section
// 6.2.10).
func (s *Session) Notify(ctx context.Context, vbs []VarBind) error {
	if _, err := s.request(ctx, &PDU{Type: TypeNotify, VarBinds: vbs}); err != nil {
		return fmt.Errorf("agentx: notify: %w", err)
	}
	return nil
}

// Ping checks that the master still answers.
func (s *Session) Ping(ctx context.Context) error {
	if _, err := s.request(ctx, &PDU{Type: TypePing}); err != nil {
		return fmt.Errorf("agentx: ping: %w", err)
	}
	return nil
}

// Close closes the session for reason, waiting for the master's answer
// until ctx ends, and closes the connection.
func (s *Session) Close(ctx context.Context, reason Reason) error {
	_, err := s.request(ctx, &PDU{Type: TypeClose, Reason: reason})
	s.fail(ErrClosed)
	if err != nil {
		return fmt.Errorf("agentx: close: %w", err)
	}
	return nil
}

// request sends p and waits for the master's response.
func (s *Session) request(ctx context.Context, p *PDU) (*PDU, error) {
	ch := make(chan *PDU, 1)
	s.mu.Lock()
	s.packet++
	p.PacketID = s.packet
	p.SessionID = s.id
	s.pending[p.PacketID] = ch
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.pending, p.PacketID)
		s.mu.Unlock()
	}()
	if err := s.write(p); err != nil {
		return nil, err
	}
	select {
	case r := <-ch:
		if r.Error != NoError {
			return r, r.Error
		}
		return r, nil
	case <-s.done:
		return nil, s.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// writeTimeout bounds a write to the master: a master that stops reading
// ends the session rather than blocking its callers.
const writeTimeout = 5 * time.Second

func (s *Session) write(p *PDU) error {
	b, err := p.MarshalBinary()
	if err != nil {
		return err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := s.conn.Write(b); err != nil {
		err = fmt.Errorf("agentx: write %v: %w", p.Type, err)
		s.fail(err)
		return err
	}
	return nil
}

// read reads the connection until it fails.
func (s *Session) read() {
	var h [HeaderLen]byte
	for {
		if _, err := io.ReadFull(s.conn, h[:]); err != nil {
			s.fail(fmt.Errorf("agentx: read: %w", err))
			return
		}
		p, n, err := ParseHeader(h[:])
		if err != nil {
			// The stream cannot be followed past a header it cannot read.
			s.fail(err)
			return
		}
		if n > MaxPayload {
			s.fail(fmt.Errorf("agentx: %v: payload of %d octets, more than %d", p.Type, n, MaxPayload))
			return
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(s.conn, payload); err != nil {
			s.fail(fmt.Errorf("agentx: read %v payload: %w", p.Type, err))
			return
		}
		if err := p.unmarshalPayload(payload); err != nil {
			s.malformed.Add(1)
			if p.Type != TypeResponse {
				s.respond(p, &PDU{Error: ParseError})
			}
			continue
		}
		switch p.Type {
		case TypeResponse:
			s.mu.Lock()
			ch := s.pending[p.PacketID]
			s.mu.Unlock()
			// A master that answers one request twice must not
			// block the reader: the first answer is the one taken.
			if ch != nil {
				select {
				case ch <- p:
				default:
				}
			}
		case TypeClose:
			s.fail(fmt.Errorf("agentx: closed by the master agent (reason %d)", p.Reason))
			return
		case TypeCleanupSet:
			// A CleanupSet has no response (RFC 2741 section 7.2.4.4).
		default:
			s.requests.Add(1)
			s.respond(p, s.answer(p))
		}
	}
}

// respond sends r as the response to the request p.
func (s *Session) respond(p, r *PDU) {
	r.Type = TypeResponse
	r.SessionID = p.SessionID
	r.TransactionID = p.TransactionID
	r.PacketID = p.PacketID
	r.Context = ""
	s.write(r)
}

// answer computes the response to one of the master's requests.
func (s *Session) answer(p *PDU) (r *PDU) {
	r = &PDU{}
	defer func() {
		// A broken view must not take the session, or the daemon, down:
		// the master hears of a processing error.
		if recover() != nil {
			*r = PDU{Error: ProcessingError}
		}
	}()
	if p.Context != "" {
		r.Error = UnsupportedContext
		return r
	}
	switch p.Type {
	case TypeGet:
		v := s.views()
		for _, sr := range p.Ranges {
			r.VarBinds = append(r.VarBinds, get(v, sr.Start))
		}
	case TypeGetNext:
		v := s.views()
		for _, sr := range p.Ranges {
			r.VarBinds = append(r.VarBinds, next(v, sr))
		}
	case TypeGetBulk:
		r.VarBinds = bulk(s.views(), p)
	case TypeTestSet:
		// Every variable is read-only.
		r.Error = NotWritable
		if len(p.VarBinds) > 0 {
			r.Index = 1
		}
	case TypeCommitSet, TypeUndoSet:
		r.Error = GenErr
	default:
		r.Error = ProcessingError
	}
	return r
}

// get answers one name of a Get: the variable, or noSuchInstance where
// the object exists without that instance, noSuchObject elsewhere.
func get(v View, name OID) VarBind {
	if vb, ok := v.Get(name); ok {
		return vb
	}
	t := NoSuchObject
	if len(name) > 1 {
		if vb, ok := v.Next(name[:len(name)-1], false, nil); ok && vb.Name.HasPrefix(name[:len(name)-1]) {
			t = NoSuchInstance
		}
	}
	return VarBind{Name: name, Type: t}
}

// next answers one search range of a GetNext.
func next(v View, sr SearchRange) VarBind {
	if vb, ok := v.Next(sr.Start, sr.Include, sr.End); ok {
		return vb
	}
	return VarBind{Name: sr.Start, Type: EndOfMIBView}
}

// bulk answers a GetBulk (RFC 2741 section 7.2.3.3): the non-repeaters
// once, then the repeaters row by row until max-repetitions rows or every
// one is at the end of its range.
func bulk(v View, p *PDU) []VarBind {
	n := min(int(p.NonRepeaters), len(p.Ranges))
	var out []VarBind
	for _, sr := range p.Ranges[:n] {
		out = append(out, next(v, sr))
	}
	rep := cloneRanges(p.Ranges[n:])
	for i := 0; i < int(p.MaxRepetitions) && len(rep) > 0; i++ {
		ended := 0
		for j := range rep {
			vb := next(v, rep[j])
			if vb.Type == EndOfMIBView {
				ended++
			} else {
				rep[j].Start, rep[j].Include = vb.Name, false
			}
			out = append(out, vb)
		}
		if ended == len(rep) {
			break
		}
	}
	return out
}

// cloneRanges copies the search ranges a GetBulk moves forward.
func cloneRanges(rs []SearchRange) []SearchRange { return append([]SearchRange(nil), rs...) }

// seconds converts a timeout to the PDUs' whole seconds, at most 255.
func seconds(d time.Duration) uint8 {
	s := (d + time.Second - 1) / time.Second
	if s > 255 {
		return 255
	}
	return uint8(s)
}
