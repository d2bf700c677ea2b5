// Package bfdd is the daemon's BFD loop: it runs the configuration's
// bfd_instance sessions, as keepalived's BFD process (Keepalived_bfd)
// does, and tells those that subscribe when a session comes Up or goes
// Down.
package bfdd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/gokeepalived/gokeepalived/bfd"
	"github.com/gokeepalived/gokeepalived/config"
)

// An Event is a session's state as VRRP and the checkers hear of it.
type Event struct {
	Instance string
	State    bfd.State // Up or Down
	// VRRP and Checker say whom the bfd_instance block sends it to.
	VRRP, Checker bool
}

// Options are what the loop needs besides the configuration.
type Options struct {
	Log logrus.FieldLogger
	// Detail is keepalived's -D: the sessions log their parameters.
	Detail bool
}

// Loop runs the BFD sessions.
type Loop struct {
	log    logrus.FieldLogger
	port   int
	detail bool
	reload chan reloadReq

	mu       sync.Mutex
	cfgs     []config.BFDInstance // the configuration Run starts with
	states   map[string]bfd.State
	status   map[string]bfd.Status
	subs     map[int]chan Event
	nextSub  int
	lastSeen map[string]Event
}

type reloadReq struct {
	cfgs []config.BFDInstance
	done chan struct{}
}

// New makes the loop for cfg's bfd_instance blocks.
func New(cfg *config.Config, opts Options) (*Loop, error) {
	if opts.Log == nil {
		return nil, errors.New("bfdd: no logger")
	}
	l := &Loop{log: opts.Log, port: bfd.ControlPort, detail: opts.Detail, reload: make(chan reloadReq),
		cfgs: slices.Clone(cfg.BFDInstances), states: make(map[string]bfd.State),
		status: make(map[string]bfd.Status), subs: make(map[int]chan Event), lastSeen: make(map[string]Event)}
	return l, nil
}

// Subscribe returns a channel that receives every state report from now
// on, starting with the last one of each session, and a function that
// ends the subscription. A subscriber that falls 64 events behind loses
// the newest ones; State tells the present.
func (l *Loop) Subscribe() (<-chan Event, func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ch := make(chan Event, 64+len(l.lastSeen))
	for _, e := range l.lastSeen {
		ch <- e
	}
	id := l.nextSub
	l.nextSub++
	l.subs[id] = ch
	return ch, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		delete(l.subs, id)
	}
}

// State returns the local state of the session of bfd_instance name.
func (l *Loop) State(name string) (bfd.State, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.states[name]
	return s, ok
}

// Reload switches to cfg's bfd_instance blocks: a session whose block is
// unchanged goes on, others start again.
func (l *Loop) Reload(ctx context.Context, cfg *config.Config) error {
	r := reloadReq{cfgs: slices.Clone(cfg.BFDInstances), done: make(chan struct{})}
	select {
	case l.reload <- r:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Dump writes the BFD part of the data file, as keepalived's
// keepalived_bfd.data has it, less the lines about keepalived's own
// descriptors and threads.
func (l *Loop) Dump(w io.Writer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.cfgs) == 0 {
		return
	}
	yesNo := func(b bool) string {
		if b {
			return "Yes"
		}
		return "No"
	}
	not := func(b bool) string {
		if b {
			return ""
		}
		return "!"
	}
	fmt.Fprintln(w, "------< BFD Topology >------")
	for _, c := range l.cfgs {
		fmt.Fprintf(w, " BFD Instance = %s\n", c.Name)
		fmt.Fprintf(w, "   Neighbor IP = %s\n", c.Neighbor)
		if c.Source.IsValid() {
			fmt.Fprintf(w, "   Source IP = %s\n", c.Source)
		}
		fmt.Fprintf(w, "   Required min RX interval = %d us\n", c.MinRx)
		fmt.Fprintf(w, "   Desired min TX interval = %d us\n", c.MinTx)
		fmt.Fprintf(w, "   Desired idle TX interval = %d us\n", c.IdleTx)
		fmt.Fprintf(w, "   Detection multiplier = %d\n", c.Multiplier)
		ttl := "TTL"
		if c.Neighbor.Is6() {
			ttl = "hoplimit"
		}
		fmt.Fprintf(w, "   %s = %d\n", ttl, c.TTL)
		// keepalived keeps max_hops in 8 bits: -1 shows as 255.
		fmt.Fprintf(w, "   max_hops = %d\n", uint8(c.MaxHops))
		fmt.Fprintf(w, "   passive = %t\n", c.Passive)
		fmt.Fprintf(w, "   send event to VRRP process = %s\n", yesNo(c.VRRP))
		fmt.Fprintf(w, "   send event to checker process = %s\n", yesNo(c.Checker))
		st, ok := l.status[c.Name]
		if !ok {
			continue
		}
		fmt.Fprintf(w, "   send error = %t\n", st.SendFailed)
		fmt.Fprintf(w, "   local state = %s\n", st.Local)
		fmt.Fprintf(w, "   remote state = %s\n", st.Remote)
		fmt.Fprintf(w, "   local discriminator = 0x%x\n", st.LocalDiscr)
		fmt.Fprintf(w, "   remote discriminator = 0x%x\n", st.RemoteDiscr)
		fmt.Fprintf(w, "   local diag = %s\n", st.LocalDiag)
		fmt.Fprintf(w, "   remote diag = %s\n", st.RemoteDiag)
		fmt.Fprintf(w, "   remote min tx intv = %d us\n", st.RemoteMinTx)
		fmt.Fprintf(w, "   remote min rx intv = %d us\n", st.RemoteMinRx)
		fmt.Fprintf(w, "   local demand = %d\n", bit(st.LocalDemand))
		fmt.Fprintf(w, "   remote demand = %d\n", bit(st.RemoteDemand))
		fmt.Fprintf(w, "   remote detect multiplier = %d\n", st.RemoteMult)
		fmt.Fprintf(w, "   %spoll, %sfinal\n", not(st.Poll), not(st.Final))
		fmt.Fprintf(w, "   local tx intv = %d us\n", st.LocalTx)
		fmt.Fprintf(w, "   remote tx intv = %d us\n", st.RemoteTx)
		fmt.Fprintf(w, "   local detection time = %d us\n", st.LocalDetect)
		fmt.Fprintf(w, "   remote detection time = %d us\n", st.RemoteDetect)
		if st.LastSeen.IsZero() {
			fmt.Fprintln(w, "   last_seen = [never]")
		} else {
			us := st.LastSeen.Nanosecond() / 1000
			fmt.Fprintf(w, "   last seen = %d.%06d (%s.%06d)\n", st.LastSeen.Unix(), us, st.LastSeen.Format("Mon Jan _2 15:04:05 2006"), us)
		}
	}
}

func bit(b bool) int {
	if b {
		return 1
	}
	return 0
}

// session is a running bfd_instance.
type session struct {
	cfg config.BFDInstance
	s   *bfd.Session
	out *bfd.Sender // nil while the socket cannot be opened
}

type clock struct{}

func (clock) Now() time.Time { return time.Now() }

type received struct {
	p bfd.ControlPacket
	d bfd.Datagram
}

// Run opens the listening socket and runs the sessions until ctx ends.
func (l *Loop) Run(ctx context.Context) error {
	ln, err := bfd.Listen(ctx, l.port)
	if err != nil {
		// keepalived's BFD process exits when it cannot listen.
		l.log.Errorf("Unable to open listening socket")
		return err
	}
	defer ln.Close()
	rx := make(chan received, 64)
	go l.read(ctx, ln, rx)

	l.mu.Lock()
	cfgs := l.cfgs
	l.mu.Unlock()
	sessions := make(map[string]*session)
	defer func() {
		for _, s := range sessions {
			s.close()
		}
	}()
	l.start(sessions, cfgs)

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		l.publish(sessions)
		next := time.Now().Add(time.Hour)
		for _, s := range sessions {
			if t := s.s.Next(); !t.IsZero() && t.Before(next) {
				next = t
			}
		}
		timer.Reset(time.Until(next))
		select {
		case <-ctx.Done():
			return nil
		case r := <-l.reload:
			l.apply(sessions, r.cfgs)
			close(r.done)
		case r := <-rx:
			l.handle(sessions, &r)
		case <-timer.C:
			for _, s := range sessions {
				if t := s.s.Next(); !t.IsZero() && !time.Now().Before(t) && s.s.Tick() {
					s.send()
				}
			}
		}
	}
}

// read reads the listening socket until it is closed.
func (l *Loop) read(ctx context.Context, ln *bfd.Listener, rx chan<- received) {
	buf := make([]byte, 1500)
	for {
		d, err := ln.Read(buf)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			l.log.Errorf("recvmsg() error (%v)", err)
			continue
		}
		var r received
		r.d = d
		// Malformed and invalid packets are dropped without a word, as
		// keepalived does unless asked for detail.
		if r.p.Unmarshal(buf[:d.N]) != nil || r.p.Validate() != nil {
			continue
		}
		select {
		case rx <- r:
		case <-ctx.Done():
			return
		}
	}
}

// handle finds the session a packet is for (RFC 5880 section 6.8.6).
func (l *Loop) handle(sessions map[string]*session, r *received) {
	var s *session
	for _, c := range sessions {
		if r.p.YourDiscriminator == 0 {
			if c.cfg.Neighbor == r.d.Src.Addr() && (!c.cfg.Source.IsValid() || !r.d.Dst.IsValid() || c.cfg.Source == r.d.Dst) {
				s = c
				break
			}
		} else if c.s.Discriminator() == r.p.YourDiscriminator {
			s = c
			break
		}
	}
	if s == nil || !s.s.HopsOK(r.d.TTL) {
		return
	}
	if s.s.Receive(&r.p) {
		s.send()
	}
}

// start starts a session for each of cfgs.
func (l *Loop) start(sessions map[string]*session, cfgs []config.BFDInstance) {
	for _, c := range cfgs {
		for _, v := range []struct {
			key string
			val uint32
		}{{"min_rx", c.MinRx}, {"min_tx", c.MinTx}, {"idle_tx", c.IdleTx}} {
			if v.val > 10000*1000 {
				l.log.Infof("Configuration warning: BFD instance %s %s value %s is larger than max sensible (%d)",
					c.Name, v.key, strconv.FormatFloat(float64(v.val)/1000, 'f', -1, 64), 10000)
			}
		}
		s := &session{cfg: c}
		s.s = bfd.NewSession(sessionConfig(c), bfd.Options{
			Clock:         clock{},
			Detail:        l.detail,
			Log:           l.log,
			Discriminator: func() uint32 { return discriminator(sessions) },
			Jitter:        func(lo, hi uint32) uint32 { return lo + rand.Uint32N(hi-lo+1) },
			Changed: func(st bfd.State) {
				l.emit(Event{Instance: c.Name, State: st, VRRP: c.VRRP, Checker: c.Checker})
			},
		})
		s.out = l.dial(c, s.s)
		sessions[c.Name] = s
		if s.s.Start() {
			s.send()
		}
	}
}

// apply switches the sessions to cfgs. As keepalived's BFD process, a
// session whose name stays keeps its state and timers, whatever else
// changed, and polls its neighbor if its intervals changed; its socket
// is opened again.
func (l *Loop) apply(sessions map[string]*session, cfgs []config.BFDInstance) {
	var fresh []config.BFDInstance
	keep := make(map[string]bool)
	for _, c := range cfgs {
		s, ok := sessions[c.Name]
		if !ok {
			fresh = append(fresh, c)
			continue
		}
		keep[c.Name] = true
		s.close()
		s.cfg = c
		s.s.Reconfigure(sessionConfig(c))
		s.out = l.dial(c, s.s)
	}
	for name, s := range sessions {
		if !keep[name] {
			s.close()
			delete(sessions, name)
		}
	}
	l.start(sessions, fresh)
	l.mu.Lock()
	l.cfgs = cfgs
	for name := range l.states {
		if _, ok := sessions[name]; !ok {
			delete(l.states, name)
			delete(l.status, name)
			delete(l.lastSeen, name)
		}
	}
	l.mu.Unlock()
}

// dial opens a session's socket, or disables the session.
func (l *Loop) dial(c config.BFDInstance, s *bfd.Session) *bfd.Sender {
	out, err := bfd.Dial(c.Source, c.Neighbor, c.TTL)
	if err != nil {
		l.log.Errorf("(%s) Unable to open output socket, disabling instance", c.Name)
		s.Disable()
		return nil
	}
	return out
}

// publish records every session's state for State and Dump.
func (l *Loop) publish(sessions map[string]*session) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for name, s := range sessions {
		l.states[name] = s.s.State()
		l.status[name] = s.s.Status()
	}
}

// emit hands e to every subscriber.
func (l *Loop) emit(e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lastSeen[e.Instance] = e
	for _, ch := range l.subs {
		select {
		case ch <- e:
		default:
		}
	}
}

func (s *session) send() {
	if s.out == nil {
		return
	}
	s.s.Sent(s.out.Send(s.s.Packet()))
}

func (s *session) close() {
	if s.out != nil {
		s.out.Close()
		s.out = nil
	}
}

// discriminator returns a random local discriminator no session has.
func discriminator(sessions map[string]*session) uint32 {
	for {
		d := rand.Uint32()
		if d == 0 {
			continue
		}
		taken := false
		for _, s := range sessions {
			taken = taken || s.s != nil && s.s.Discriminator() == d
		}
		if !taken {
			return d
		}
	}
}

// sessionConfig is the session's part of a bfd_instance block.
func sessionConfig(c config.BFDInstance) bfd.Config {
	hops := uint8(c.MaxHops) // -1, any, is 255 as keepalived stores it
	return bfd.Config{
		Name:          c.Name,
		DesiredMinTx:  c.MinTx,
		RequiredMinRx: c.MinRx,
		IdleTx:        c.IdleTx,
		DetectMult:    c.Multiplier,
		Passive:       c.Passive,
		TTL:           c.TTL,
		MaxHops:       hops,
	}
}
