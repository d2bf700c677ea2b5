// Package snmpagent runs one AgentX subagent (RFC 2741) for the daemon:
// it connects to the master agent (net-snmp's snmpd) at keepalived's
// socket, registers MIB modules as keepalived registers them (one subtree
// and one sysORTable row each), answers the master's requests from the
// modules' variables at the moment of each request, sends notifications,
// and connects again whenever the master goes away.
//
// keepalived runs one subagent per child process (VRRP, checker); the
// daemon runs one Agent for each of them, with the same modules.
package snmpagent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/gokeepalived/gokeepalived/internal/agentx"
)

// DefaultSocket is net-snmp's AgentX socket, keepalived's default.
const DefaultSocket = "unix:/var/agentx/master"

// PingInterval is how often keepalived's subagent checks that the master
// still answers, and how often it tries to reach a master that did not.
const PingInterval = 120 * time.Second

// Well-known OIDs every notification starts with (SNMPv2-MIB).
var (
	SysUpTime   = agentx.MustParseOID("1.3.6.1.2.1.1.3.0")
	SnmpTrapOID = agentx.MustParseOID("1.3.6.1.6.3.1.1.4.1.0")
)

// MIB is one MIB module an Agent serves.
type MIB struct {
	// Name is the module's name as keepalived registers it, such as
	// "KEEPALIVED-VRRP": sysORTable describes it as "The MIB module for
	// Name".
	Name string
	// OID is the module's subtree, registered with the master and shown
	// as its sysORID.
	OID agentx.OID
	// Fill adds the module's variables, all under OID, as they are at the
	// moment of a request. It runs on the session's reader and must not
	// block for long.
	Fill func(b *agentx.Builder)
}

// Options configure an Agent.
type Options struct {
	// Socket is the master agent's address in net-snmp's notation:
	// "unix:PATH", "PATH" (absolute), "tcp:HOST:PORT" or "HOST:PORT"
	// (TCP). "" is DefaultSocket.
	Socket string
	// Descr describes the subagent to the master ("Keepalived").
	Descr string
	// MIBs are the modules served.
	MIBs []MIB
	// Log receives the agent's messages.
	Log logrus.FieldLogger
	// Retry is the longest wait between two attempts to reach the master
	// (PingInterval if 0); the first retries come sooner, from a second
	// on, so that a master started just after the daemon is found
	// quickly.
	Retry time.Duration
	// Ping is how often the master is pinged (PingInterval if 0).
	Ping time.Duration
}

// Stats counts what an Agent did.
type Stats struct {
	// Connects is the number of sessions opened with the master.
	Connects uint64
	// Requests is the number of the master's requests answered.
	Requests uint64
	// Notifications is the number of notifications the master took;
	// Dropped those lost because no session was open or the master
	// refused them.
	Notifications, Dropped uint64
}

// An Agent is one subagent. Run runs it; Notify sends notifications.
type Agent struct {
	opt   Options
	start time.Time

	mu   sync.Mutex
	sess *agentx.Session // nil while not connected

	// queue holds the notifications Send was given, in order, for Run's
	// sender.
	queue chan notification
	// tried is closed once the first attempt to reach the master has
	// ended, connected or not.
	tried     chan struct{}
	triedOnce sync.Once
	pending   atomic.Int64 // queued or being sent

	requests      atomic.Uint64 // of sessions closed
	connects      atomic.Uint64
	notifications atomic.Uint64
	dropped       atomic.Uint64
}

// New returns an Agent for opt; nothing happens before Run.
func New(opt Options) *Agent {
	if opt.Socket == "" {
		opt.Socket = DefaultSocket
	}
	if opt.Retry <= 0 {
		opt.Retry = PingInterval
	}
	if opt.Ping <= 0 {
		opt.Ping = PingInterval
	}
	if opt.Log == nil {
		l := logrus.New()
		l.Out = nopWriter{}
		opt.Log = l
	}
	return &Agent{opt: opt, start: time.Now(), queue: make(chan notification, queueLen), tried: make(chan struct{})}
}

// queueLen bounds the notifications waiting for the master: beyond it
// they are dropped and counted.
const queueLen = 256

type notification struct {
	trap agentx.OID
	vbs  []agentx.VarBind
}

type nopWriter struct{}

func (nopWriter) Write(b []byte) (int, error) { return len(b), nil }

// Uptime is the time since the agent was made, in hundredths of a
// second: the sysUpTime.0 of its notifications, as net-snmp's subagent
// sends its own.
func (a *Agent) Uptime() uint32 {
	return uint32(time.Since(a.start) / (10 * time.Millisecond))
}

// Stats returns the agent's counters.
func (a *Agent) Stats() Stats {
	st := Stats{
		Connects:      a.connects.Load(),
		Requests:      a.requests.Load(),
		Notifications: a.notifications.Load(),
		Dropped:       a.dropped.Load(),
	}
	a.mu.Lock()
	if a.sess != nil {
		st.Requests += a.sess.Stats().Requests
	}
	a.mu.Unlock()
	return st
}

// Connected says whether a session with the master is open.
func (a *Agent) Connected() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sess != nil
}

// Run connects to the master and serves it until ctx ends, connecting
// again whenever the session is lost. It closes the session on its way
// out and returns nil.
func (a *Agent) Run(ctx context.Context) error {
	go a.send(ctx)
	wait := time.Second
	failed := false
	for {
		s, err := a.connect(ctx)
		if err == nil {
			if failed {
				a.opt.Log.Infof("AgentX master agent %s reached", a.opt.Socket)
			}
			failed = false
			began := time.Now()
			a.serve(ctx, s)
			if ctx.Err() != nil {
				return nil
			}
			if time.Since(began) >= time.Second {
				// A session that lasted: connect again at once.
				wait = time.Second
				continue
			}
			// A master that hangs up at once is not hammered.
			err = errors.New("the master agent closed the session at once")
		}
		a.markTried()
		if ctx.Err() != nil {
			return nil
		}
		if !failed {
			// net-snmp's subagent logs its failure once, and so does this.
			a.opt.Log.Warnf("Warning: Failed to connect to the agentx master agent (%s): %v", a.opt.Socket, err)
			failed = true
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, a.opt.Retry)
	}
}

// connect opens a session and registers every module.
func (a *Agent) connect(ctx context.Context) (*agentx.Session, error) {
	network, addr := Parse(a.opt.Socket)
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := d.DialContext(dctx, network, addr)
	if err != nil {
		return nil, err
	}
	s := agentx.NewSession(conn, a.view)
	if err := a.open(dctx, s); err != nil {
		s.Close(context.Background(), agentx.ReasonOther)
		return nil, err
	}
	return s, nil
}

func (a *Agent) open(ctx context.Context, s *agentx.Session) error {
	if err := s.Open(ctx, nil, a.opt.Descr, 0); err != nil {
		return err
	}
	for _, m := range a.opt.MIBs {
		if err := s.Register(ctx, m.OID, 127); err != nil {
			// keepalived's words; the other modules are still served.
			a.opt.Log.Warnf("Unable to register %s MIB", m.Name)
			continue
		}
		if err := s.AddAgentCaps(ctx, m.OID, "The MIB module for "+m.Name); err != nil {
			a.opt.Log.Warnf("Unable to add %s to sysORTable: %v", m.Name, err)
		}
	}
	a.connects.Add(1)
	a.opt.Log.Info("AgentX subagent connected")
	return nil
}

// serve keeps s until it fails or ctx ends, pinging the master.
func (a *Agent) serve(ctx context.Context, s *agentx.Session) {
	a.mu.Lock()
	a.sess = s
	a.mu.Unlock()
	a.markTried()
	defer func() {
		a.mu.Lock()
		a.sess = nil
		a.mu.Unlock()
		a.requests.Add(s.Stats().Requests)
	}()
	tick := time.NewTicker(a.opt.Ping)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			cctx, cancel := context.WithTimeout(context.Background(), time.Second)
			s.Close(cctx, agentx.ReasonShutdown)
			cancel()
			return
		case <-s.Done():
			a.opt.Log.Warnf("AgentX master agent %s lost: %v", a.opt.Socket, s.Err())
			return
		case <-tick.C:
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := s.Ping(pctx)
			cancel()
			if err != nil && ctx.Err() == nil {
				a.opt.Log.Warnf("AgentX master agent %s does not answer: %v", a.opt.Socket, err)
				s.Close(context.Background(), agentx.ReasonTimeouts)
				return
			}
		}
	}
}

// view is the modules' variables now.
func (a *Agent) view() agentx.View {
	var b agentx.Builder
	for _, m := range a.opt.MIBs {
		if m.Fill != nil {
			m.Fill(&b)
		}
	}
	return b.View()
}

// Notify sends the notification trap with vbs, after sysUpTime.0 and
// snmpTrapOID.0 as net-snmp's subagent sends them. It waits for the
// master's answer up to ctx; a notification that finds no session is
// dropped and counted, as keepalived's is lost.
func (a *Agent) Notify(ctx context.Context, trap agentx.OID, vbs ...agentx.VarBind) error {
	a.mu.Lock()
	s := a.sess
	a.mu.Unlock()
	if s == nil {
		a.dropped.Add(1)
		return errors.New("snmpagent: notify: no session with the master agent")
	}
	all := make([]agentx.VarBind, 0, 2+len(vbs))
	all = append(all,
		agentx.VarBind{Name: SysUpTime, Type: agentx.TimeTicks, Value: a.Uptime()},
		agentx.VarBind{Name: SnmpTrapOID, Type: agentx.ObjectIdentifier, Value: trap})
	all = append(all, vbs...)
	if err := s.Notify(ctx, all); err != nil {
		a.dropped.Add(1)
		return fmt.Errorf("snmpagent: notify %v: %w", trap, err)
	}
	a.notifications.Add(1)
	return nil
}

// Send queues the notification trap with vbs for the master, in the
// order of the calls, without waiting: it may be called where nothing
// must block, such as a VRRP transition.
func (a *Agent) Send(trap agentx.OID, vbs ...agentx.VarBind) {
	select {
	case a.queue <- notification{trap: trap, vbs: vbs}:
		a.pending.Add(1)
	default:
		a.dropped.Add(1)
	}
}

// Drain waits until every notification Send queued has been handed to
// the master or dropped, or until timeout: what a stopping daemon does
// before it ends Run, so that its last transitions are reported.
func (a *Agent) Drain(timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for a.pending.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
}

// WaitConnected waits until the first attempt to reach the master has
// ended, or until timeout, and says whether a session is open: a daemon
// whose master agent is not there starts without waiting for it.
func (a *Agent) WaitConnected(timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-a.tried:
	case <-t.C:
	}
	return a.Connected()
}

// markTried records that the first attempt to reach the master ended.
func (a *Agent) markTried() { a.triedOnce.Do(func() { close(a.tried) }) }

// send hands the queued notifications to the master until ctx ends.
func (a *Agent) send(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case n := <-a.queue:
			nctx, cancel := context.WithTimeout(ctx, time.Second)
			if err := a.Notify(nctx, n.trap, n.vbs...); err != nil && ctx.Err() == nil {
				a.opt.Log.Debugf("%v", err)
			}
			cancel()
			a.pending.Add(-1)
		}
	}
}

// Parse splits a socket in net-snmp's notation into a network and an
// address for net.Dial.
func Parse(socket string) (network, addr string) {
	switch {
	case socket == "":
		return Parse(DefaultSocket)
	case strings.HasPrefix(socket, "unix:"):
		return "unix", strings.TrimPrefix(socket, "unix:")
	case strings.HasPrefix(socket, "/"):
		return "unix", socket
	case strings.HasPrefix(socket, "tcp:"):
		return "tcp", strings.TrimPrefix(socket, "tcp:")
	case strings.HasPrefix(socket, "tcp6:"):
		return "tcp6", strings.TrimPrefix(socket, "tcp6:")
	}
	return "tcp", socket
}
