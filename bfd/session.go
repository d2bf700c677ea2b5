package bfd

import (
	"fmt"
	"strings"
	"time"
)

// A Clock tells a Session the time.
type Clock interface {
	Now() time.Time
}

// A Logger receives a session's log messages, worded as keepalived's.
type Logger interface {
	Infof(format string, args ...any)
	Warnf(format string, args ...any)
	Errorf(format string, args ...any)
}

// Config is a session's configuration, a bfd_instance block. Intervals
// are in microseconds, as on the wire.
type Config struct {
	Name          string
	DesiredMinTx  uint32 // min_tx
	RequiredMinRx uint32 // min_rx
	IdleTx        uint32 // idle_tx: the transmit interval while not Up
	DetectMult    uint8  // multiplier
	Passive       bool   // send nothing until the neighbor speaks
	// TTL is the TTL or hop limit sent; MaxHops the hops a received
	// packet may have crossed, NoHopCheck for any.
	TTL     uint8
	MaxHops uint8
}

// NoHopCheck as MaxHops accepts packets whatever their TTL, as max_hops
// -1 does.
const NoHopCheck = 255

// Options are what a Session needs besides its Config.
type Options struct {
	Clock Clock
	Log   Logger
	// Discriminator returns a new local discriminator, nonzero and not in
	// use by another session.
	Discriminator func() uint32
	// Jitter returns a random number in [lo, hi].
	Jitter func(lo, hi uint32) uint32
	// Detail adds keepalived's detailed messages (its -D): the poll
	// sequences started and the session parameters when they change.
	Detail bool
	// Changed is called when the session reports its state: when it
	// starts, comes Up, and goes Down from Up (unless the neighbor said
	// AdminDown), as keepalived's BFD process tells VRRP and the
	// checkers. The state reported is Up or Down.
	Changed func(State)
}

// A Session is one BFD session (RFC 5880 section 6.8), driven by its
// owner: Start once, Receive for each packet of the neighbor, Tick when
// Next is due, and Packet for what to send when those say so. It is not
// safe for concurrent use.
type Session struct {
	cfg  Config
	opts Options

	local, remote State
	localDiscr    uint32
	remoteDiscr   uint32
	localDiag     Diag
	remoteDiag    Diag
	remoteMinTx   uint32
	remoteMinRx   uint32
	localDemand   bool
	remoteDemand  bool
	remoteMult    uint8
	poll, final   bool
	localTx       uint32 // negotiated transmit interval
	remoteTx      uint32 // the neighbor's negotiated transmit interval
	localDetect   uint64 // detection time, µs
	remoteDetect  uint64
	lastSeen      time.Time
	txAt, expAt   time.Time // zero: not scheduled
	rstAt         time.Time
	sendFailed    bool
}

// NewSession returns a session in state Down, as keepalived initialises
// one when its configuration is read.
func NewSession(cfg Config, opts Options) *Session {
	s := &Session{cfg: cfg, opts: opts, local: Down, remote: Down}
	s.localDiscr = opts.Discriminator()
	s.localTx = cfg.IdleTx
	return s
}

// Config returns the session's configuration.
func (s *Session) Config() Config { return s.cfg }

// State returns the local session state.
func (s *Session) State() State { return s.local }

// Discriminator returns the local discriminator.
func (s *Session) Discriminator() uint32 { return s.localDiscr }

// Start schedules the first transmissions and reports the initial state.
// It reports whether a packet is to be sent now, as keepalived sends one
// at once when it starts an active session.
func (s *Session) Start() (send bool) {
	if s.local != AdminDown && !s.cfg.Passive {
		s.scheduleTx()
	}
	s.changed()
	return s.local != AdminDown && !s.cfg.Passive
}

// Disable puts the session in AdminDown, as keepalived does when it cannot
// open its socket: it sends nothing and drops what it receives.
func (s *Session) Disable() {
	s.local = AdminDown
	s.localDiag = DiagAdminDown
	s.txAt = time.Time{}
	s.opts.Log.Warnf("(%s) Entering %s state", s.cfg.Name, s.local)
	s.fall(false)
}

// Reconfigure gives the session a new configuration on reload, keeping
// its state and timers as keepalived does; new intervals are negotiated
// with a poll sequence (RFC 5880 section 6.8.3).
func (s *Session) Reconfigure(cfg Config) {
	old := s.cfg
	s.cfg = cfg
	if cfg.RequiredMinRx != old.RequiredMinRx || cfg.DesiredMinTx != old.DesiredMinTx {
		s.startPoll()
	}
}

// Next returns when Tick is next due; zero if nothing is scheduled.
func (s *Session) Next() time.Time {
	var next time.Time
	for _, t := range []time.Time{s.txAt, s.expAt, s.rstAt} {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	return next
}

// Tick runs the timers that are due, and reports whether a packet is to
// be sent now.
func (s *Session) Tick() (send bool) {
	now := s.opts.Clock.Now()
	if !s.expAt.IsZero() && !now.Before(s.expAt) {
		s.expAt = time.Time{}
		s.expire(now)
	}
	if !s.rstAt.IsZero() && !now.Before(s.rstAt) {
		s.rstAt = time.Time{}
		s.reset()
	}
	if !s.txAt.IsZero() && !now.Before(s.txAt) {
		s.txAt = time.Time{}
		s.scheduleTx()
		return true
	}
	return false
}

// Packet returns the control packet to send now, and clears the Final
// flag it carries, as a packet sent ends the reply to a poll.
func (s *Session) Packet() *ControlPacket {
	// A reply to a poll that also wants to poll can carry the new
	// parameters with Final (RFC 5880 section 6.5), so it does not poll.
	if s.poll && s.final {
		s.poll = false
	}
	tx := s.cfg.IdleTx
	if s.local == Up {
		tx = s.cfg.DesiredMinTx
	}
	p := &ControlPacket{
		Version:           Version,
		Diag:              s.localDiag,
		State:             s.local,
		Poll:              s.poll,
		Final:             s.final,
		Demand:            s.localDemand,
		DetectMult:        s.cfg.DetectMult,
		Length:            HeaderLen,
		MyDiscriminator:   s.localDiscr,
		YourDiscriminator: s.remoteDiscr,
		DesiredMinTx:      tx,
		RequiredMinRx:     s.cfg.RequiredMinRx,
	}
	s.final = false
	return p
}

// Sent tells the session whether sending its packet worked; the first
// failure after a success is logged.
func (s *Session) Sent(err error) {
	if err != nil && !s.sendFailed {
		s.opts.Log.Errorf("(%s) Error sending packet", s.cfg.Name)
	}
	s.sendFailed = err != nil
}

// HopsOK reports whether a packet received with ttl (0: unknown) may have
// come from the neighbor: the Generalized TTL Security Mechanism of
// RFC 5881 section 5, widened by max_hops as keepalived does.
func (s *Session) HopsOK(ttl uint8) bool {
	return s.cfg.MaxHops == NoHopCheck || ttl == 0 || int(s.cfg.MaxHops)+int(ttl) >= int(s.cfg.TTL)
}

// Receive runs the reception of a valid control packet for this session
// (RFC 5880 section 6.8.6), and reports whether a packet is to be sent
// now: the Final reply to a Poll.
func (s *Session) Receive(p *ControlPacket) (send bool) {
	if p.Auth || s.local == AdminDown {
		return false
	}
	now := s.opts.Clock.Now()
	oldLocalTx, oldDetect := s.localTx, s.localDetect
	oldRemoteRx, oldRemoteTx, oldRemoteMult := s.remoteMinRx, s.remoteMinTx, s.remoteMult

	s.remoteDiscr = p.MyDiscriminator
	s.remote = p.State
	s.remoteDiag = p.Diag
	s.remoteMinRx = p.RequiredMinRx
	s.remoteMinTx = p.DesiredMinTx
	s.remoteDemand = p.Demand
	s.remoteMult = p.DetectMult
	if p.Final {
		s.poll = false
	}
	// The intervals change only at the end of a poll sequence once Up
	// (RFC 5880 section 6.8.3).
	if s.local != Up || p.Poll || p.Final {
		if s.remote == Up && (s.local == Init || s.local == Up) {
			s.localTx = max(s.cfg.DesiredMinTx, s.remoteMinRx)
		} else {
			s.localTx = max(s.cfg.IdleTx, s.remoteMinRx)
		}
		s.remoteTx = max(s.cfg.RequiredMinRx, s.remoteMinTx)
	}
	s.localDetect = uint64(s.remoteMult) * uint64(s.remoteTx)
	s.remoteDetect = uint64(s.cfg.DetectMult) * uint64(s.localTx)

	if s.opts.Detail && (s.remoteMinRx != oldRemoteRx || s.remoteMinTx != oldRemoteTx ||
		s.remoteMult != oldRemoteMult || s.localTx != oldLocalTx) {
		s.logParameters()
	}
	if s.localTx < oldLocalTx && !s.txAt.IsZero() {
		s.scheduleTx()
	}
	if s.localDetect != oldDetect {
		s.opts.Log.Infof("%s Detection time is %d us (was %d us)",
			strings.Repeat(" ", len(s.cfg.Name)+2), s.localDetect, oldDetect)
	}

	switch {
	case s.remote == AdminDown && s.local != Down:
		s.down(DiagNeighborDown)
	case s.local == Down && s.remote == Down:
		s.init()
	case s.local == Down && s.remote == Init, s.local == Init && (s.remote == Init || s.remote == Up):
		s.up()
	case s.local == Up && s.remote == Down:
		s.down(DiagNeighborDown)
	}

	if s.remoteDemand && s.local == Up && s.remote == Up {
		s.txAt = time.Time{}
	} else if s.txAt.IsZero() {
		s.scheduleTx()
	}
	if p.Poll {
		s.final = true
		send = true
	}
	s.lastSeen = now
	if s.local == Up && !s.expAt.IsZero() {
		s.expAt = now.Add(time.Duration(s.localDetect) * time.Microsecond)
	}
	return send
}

// logParameters logs the session's timers as keepalived's detailed log
// shows them.
func (s *Session) logParameters() {
	pad := strings.Repeat(" ", len(s.cfg.Name)+2)
	tx := s.cfg.IdleTx
	if s.local == Up {
		tx = s.cfg.DesiredMinTx
	}
	s.opts.Log.Infof("(%s) ---------------< Session parameters >--------------", s.cfg.Name)
	s.opts.Log.Infof("%s          min_tx  min_rx  tx_intv  mult  detect_time", pad)
	s.opts.Log.Infof("%s local  %8d %7d %8d %5d %12d", pad, tx, s.cfg.RequiredMinRx, s.localTx, s.cfg.DetectMult, s.localDetect)
	s.opts.Log.Infof("%s remote %8d %7d %8d %5d %12d", pad, s.remoteMinTx, s.remoteMinRx, s.remoteTx, s.remoteMult, s.remoteDetect)
}

// scheduleTx schedules the next periodic transmission, jittered by 10 to
// 25 per cent (RFC 5880 section 6.8.7).
func (s *Session) scheduleTx() {
	// RFC 5880 asks for at least 10% only when the multiplier is 1;
	// keepalived always takes at least 10%, which is within the 25%
	// allowed, and so does this.
	j := s.opts.Jitter(s.localTx/10, s.localTx/4)
	s.txAt = s.opts.Clock.Now().Add(time.Duration(s.localTx-j) * time.Microsecond)
}

// expire runs when the detection time passes without a packet.
func (s *Session) expire(now time.Time) {
	dead := uint32(now.Sub(s.lastSeen) / time.Microsecond)
	if s.local == Up {
		// keepalived computes the overdue time in 32 unsigned bits,
		// so an early expiry shows as a huge number; so it does here.
		s.opts.Log.Warnf("(%s) Expired after %d ms (%d usec overdue)",
			s.cfg.Name, dead/1000, dead-uint32(s.localDetect))
	}
	s.remoteDiscr = 0
	s.down(DiagExpired)
}

// reset returns the session to its initial state once a detection time
// has passed in Down.
func (s *Session) reset() {
	s.local, s.remote = Down, Down
	s.remoteDiscr = 0
	s.remoteDiag = DiagNone
	s.localDemand, s.remoteDemand = false, false
	s.poll, s.final = false, false
	s.localTx = max(s.cfg.IdleTx, s.remoteMinRx)
}

func (s *Session) down(diag Diag) {
	wasUp := s.local == Up
	if wasUp {
		s.localDiscr = s.opts.Discriminator()
		s.opts.Log.Warnf("(%s) Entering %s state (Local diagnostic - %s, Remote diagnostic - %s)",
			s.cfg.Name, Down, diag, s.remoteDiag)
	}
	s.local = Down
	s.localDiag = diag
	s.rstAt = s.opts.Clock.Now().Add(time.Duration(s.localDetect) * time.Microsecond)
	if s.cfg.Passive {
		s.txAt = time.Time{}
	}
	s.fall(wasUp)
}

// fall is what Down and AdminDown have in common.
func (s *Session) fall(report bool) {
	// Not Up, the transmit interval is at least a second (RFC 5880
	// section 6.8.3).
	s.localTx = max(s.cfg.IdleTx, s.remoteMinRx)
	s.expAt = time.Time{}
	if report && s.remote != AdminDown {
		s.changed()
	}
}

func (s *Session) rise() {
	s.localDiag = DiagNone
	if s.local == Up {
		s.opts.Log.Infof("(%s) Entering %s state", s.cfg.Name, s.local)
	}
	s.rstAt = time.Time{}
	if s.expAt.IsZero() {
		s.expAt = s.opts.Clock.Now().Add(time.Duration(s.localDetect) * time.Microsecond)
	}
}

func (s *Session) up() {
	s.local = Up
	s.rise()
	if s.cfg.IdleTx != s.cfg.DesiredMinTx {
		s.startPoll()
	}
	s.changed()
}

func (s *Session) startPoll() {
	if s.opts.Detail {
		s.opts.Log.Infof("(%s) Starting poll sequence", s.cfg.Name)
	}
	// A poll due while a Final is owed goes with the Final.
	if !s.final {
		s.poll = true
	}
}

func (s *Session) init() {
	s.local = Init
	s.rise()
	if s.cfg.Passive && s.txAt.IsZero() {
		s.scheduleTx()
	}
}

func (s *Session) changed() {
	if s.opts.Changed == nil {
		return
	}
	if s.local == Up {
		s.opts.Changed(Up)
	} else {
		s.opts.Changed(Down)
	}
}

// A Status is a snapshot of a session's variables, for dumps.
type Status struct {
	Local, Remote           State
	LocalDiscr, RemoteDiscr uint32
	LocalDiag, RemoteDiag   Diag
	RemoteMinTx             uint32
	RemoteMinRx             uint32
	RemoteMult              uint8
	Poll, Final             bool
	LocalTx, RemoteTx       uint32
	LocalDetect             uint64
	RemoteDetect            uint64
	LocalDemand             bool
	RemoteDemand            bool
	SendFailed              bool
	LastSeen                time.Time
}

// Status returns the session's variables.
func (s *Session) Status() Status {
	return Status{
		Local: s.local, Remote: s.remote,
		LocalDiscr: s.localDiscr, RemoteDiscr: s.remoteDiscr,
		LocalDiag: s.localDiag, RemoteDiag: s.remoteDiag,
		RemoteMinTx: s.remoteMinTx, RemoteMinRx: s.remoteMinRx, RemoteMult: s.remoteMult,
		Poll: s.poll, Final: s.final,
		LocalTx: s.localTx, RemoteTx: s.remoteTx,
		LocalDetect: s.localDetect, RemoteDetect: s.remoteDetect,
		LocalDemand: s.localDemand, RemoteDemand: s.remoteDemand, SendFailed: s.sendFailed,
		LastSeen: s.lastSeen,
	}
}

// String describes the session for errors.
func (s *Session) String() string { return fmt.Sprintf("BFD instance %s", s.cfg.Name) }
