package lvs

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/ipvs"
	"github.com/gokeepalived/gokeepalived/notify"
)

// A Notifier reports real server and quorum changes: *notify.Notifier runs
// the notify_up/notify_down and quorum_up/quorum_down scripts and writes
// the LVS notify FIFO lines.
type Notifier interface {
	RealServerState(rs *notify.RealServer, vs notify.VirtualServer, up, stopping bool)
	QuorumState(q *notify.Quorum, vs notify.VirtualServer, up, stopping bool)
}

// virtualServer is one virtual_server block and the state keepalived's
// ipwrapper.c keeps for it.
type virtualServer struct {
	cfg    *config.VirtualServer
	key    vsIdentity
	name   string // keepalived's FMT_VS
	id     notify.VirtualServer
	quorum notify.Quorum
	rs     []*realServer

	// services are the IPVS services it last called for.
	services []ipvs.Service

	quorumUp bool
	// sorryIn says the sorry server is in the pool; it is, exactly while
	// the quorum is down, once start has run.
	sorryIn bool
}

// realServer is one real_server block and its live state.
type realServer struct {
	cfg   *config.RealServer
	name  string // keepalived's FMT_RS
	check string // the name the check scheduler knows it by
	id    notify.RealServer

	alive  bool
	weight int // effective weight
	result string
	since  time.Time

	// drain is the operator's drain of the server, nil when it is not
	// drained.
	drain *drain

	// kept and carried mark, during a reload, a real server whose
	// checks keep running and one whose state carries over.
	kept, carried bool
}

// keys are the keys of the services it last called for.
func (vs *virtualServer) keys() []ipvs.ServiceKey {
	keys := make([]ipvs.ServiceKey, len(vs.services))
	for i := range vs.services {
		keys[i] = vs.services[i].Key()
	}
	return keys
}

// state is the virtual server's State, for Services.
func (vs *virtualServer) state() State {
	st := State{QuorumUp: vs.quorumUp, RealServers: make([]RealServerState, len(vs.rs))}
	for i, rs := range vs.rs {
		st.RealServers[i] = RealServerState{Alive: rs.alive, Weight: rs.weight}
		if rs.drain != nil {
			st.RealServers[i].Drained, st.RealServers[i].Removed = true, rs.drain.removed
		}
	}
	return st
}

// inPool says whether the real server is in the kernel's table, live or
// inhibited: keepalived's rs->set.
func (vs *virtualServer) inPool(rs *realServer) bool {
	return rs.cfg.InhibitOnFailure || (rs.alive && !vs.sorryIn)
}

// startsDown says whether a real server starts failed: when one of its
// checkers is in alpha mode.
func startsDown(rs *config.RealServer) bool {
	for i := range rs.Checkers {
		if c := &rs.Checkers[i]; c.Timing.Alpha {
			return true
		}
	}
	return false
}

// machine applies keepalived's transitions to virtual servers, logging
// them in keepalived's words and reporting them to the notifier.
type machine struct {
	log      logrus.FieldLogger
	notifier Notifier
	trap     func(Event)
	// initNotifies is rs_init_notifies: report the real servers that
	// start up, not only those that change later.
	initNotifies bool
}

func (m *machine) rsNotify(vs *virtualServer, rs *realServer, stopping bool) {
	m.sendTrap(vs, rs, rs.alive, stopping)
	if m.notifier != nil {
		m.notifier.RealServerState(&rs.id, vs.id, rs.alive, stopping)
	}
}

func (m *machine) vsNotify(vs *virtualServer, stopping bool) {
	// The trap goes out at shutdown too, as keepalived's
	// do_vs_notifies sends it before it looks at omega.
	m.sendTrap(vs, nil, vs.quorumUp, stopping)
	// When stopping, only omega asks for the scripts and FIFO lines.
	if stopping && !vs.cfg.Omega {
		return
	}
	if m.notifier != nil {
		m.notifier.QuorumState(&vs.quorum, vs.id, vs.quorumUp, stopping)
	}
}

// An Event is a real server's change of health, or a virtual server's
// change of quorum, as keepalived's SNMP notifications report them: at
// shutdown too, with or without omega.
type Event struct {
	VS *config.VirtualServer
	// RS is the real server whose health changed; nil for a change of
	// the quorum.
	RS *config.RealServer
	// Up is the real server's health, or the quorum.
	Up, Stopping bool
	// RealUp and RealTotal count the virtual server's live and
	// configured real servers as the change leaves them.
	RealUp, RealTotal int
}

func (m *machine) sendTrap(vs *virtualServer, rs *realServer, up, stopping bool) {
	if m.trap == nil {
		return
	}
	ev := Event{VS: vs.cfg, Up: up, Stopping: stopping, RealTotal: len(vs.rs)}
	if rs != nil {
		ev.RS = rs.cfg
	}
	for _, r := range vs.rs {
		if r.alive {
			ev.RealUp++
		}
	}
	m.trap(ev)
}

// start brings up a new virtual server as keepalived's init_service_vs
// does: real servers without alpha checkers are in the pool at once, and
// the quorum is judged from them.
func (m *machine) start(vs *virtualServer) {
	for _, rs := range vs.rs {
		rs.weight = rs.cfg.Weight
		rs.alive = !startsDown(rs.cfg)
		if rs.alive && m.initNotifies {
			m.rsNotify(vs, rs, false)
		}
	}
	vs.quorumUp, vs.sorryIn = false, false
	m.updateQuorum(vs, true)
}

// setAlive is keepalived's perform_svr_state: a real server went up or
// down.
func (m *machine) setAlive(vs *virtualServer, rs *realServer, alive bool) {
	if rs.alive == alive {
		return
	}
	inhibit := rs.cfg.InhibitOnFailure
	verb, prep := "Remov", "from"
	switch {
	case alive && inhibit:
		verb, prep = "Enabl", "of"
	case alive:
		verb, prep = "Add", "to"
	case inhibit:
		verb, prep = "Disabl", "of"
	}
	m.log.Infof("%sing service %s %s VS %s", verb, rs.name, prep, vs.name)
	rs.alive = alive
	m.rsNotify(vs, rs, false)
	m.updateQuorum(vs, false)
}

// setWeight is keepalived's update_svr_wgt: a dynamic checker moved the
// real server's effective weight.
func (m *machine) setWeight(vs *virtualServer, rs *realServer, weight int) {
	old, nw := realWeight(rs.weight), realWeight(weight)
	rs.weight = weight
	if old == nw {
		return
	}
	in := ""
	if !rs.alive {
		in = "in"
	}
	m.log.Infof("Changing weight from %d to %d for %sactive service %s of VS %s", old, nw, in, rs.name, vs.name)
	m.updateQuorum(vs, false)
}

// updateQuorum is keepalived's update_quorum_state: it compares the live
// weight with the quorum, with hysteresis, and swaps the sorry server and
// the real servers when the quorum comes or goes. init marks the first
// judgement of a virtual server, at start or reload.
func (m *machine) updateQuorum(vs *virtualServer, init bool) {
	sum := vs.liveWeight()
	q, h := int64(vs.cfg.Quorum), int64(vs.cfg.Hysteresis)
	threshold := q + h
	if vs.quorumUp {
		threshold = q - h
	}
	ss := vs.cfg.SorryServer
	switch {
	case !vs.quorumUp && sum >= threshold:
		vs.quorumUp = true
		m.log.Infof("Gained quorum %d+%d=%d <= %d for VS %s", q, h, threshold, sum, vs.name)
		if ss != nil && vs.sorryIn {
			verb := "Removing"
			if ss.Inhibit {
				verb = "Disabling"
			}
			m.log.Infof("%s sorry server %s from VS %s", verb, vs.sorryName(), vs.name)
			vs.sorryIn = false
			m.log.Infof("Adding alive servers to the pool for VS %s", vs.name)
		}
		m.vsNotify(vs, false)
	case vs.quorumUp && (sum == 0 || sum < threshold),
		init && !vs.quorumUp && ss != nil && !vs.sorryIn:
		vs.quorumUp = false
		what := "Lost quorum"
		if init {
			what = "Starting with quorum down"
		}
		m.log.Infof("%s %d-%d=%d > %d for VS %s", what, q, h, threshold, sum, vs.name)
		if ss != nil && !vs.sorryIn {
			verb := "Adding"
			if ss.Inhibit {
				verb = "Enabling"
			}
			m.log.Infof("%s sorry server %s to VS %s", verb, vs.sorryName(), vs.name)
			m.log.Infof("Removing alive servers from the pool for VS %s", vs.name)
			vs.sorryIn = true
		}
		m.vsNotify(vs, false)
	}
}

// clearRS takes a real server out, as keepalived's clear_service_rs does
// when its block is gone on reload (stopping false) or at shutdown.
func (m *machine) clearRS(vs *virtualServer, rs *realServer, stopping bool) {
	if vs.inPool(rs) || stopping {
		verb, inh := "Removing", ""
		if stopping {
			verb = "Shutting down"
		}
		if rs.cfg.InhibitOnFailure && !rs.alive {
			inh = "(inhibited) "
		}
		m.log.Infof("%s %sservice %s from VS %s", verb, inh, rs.name, vs.name)
	}
	if !rs.alive {
		return
	}
	rs.alive = false
	if stopping && !vs.cfg.Omega {
		// keepalived always traps a real server's shutdown.
		m.sendTrap(vs, rs, false, true)
		return
	}
	m.rsNotify(vs, rs, stopping)
}

// clearVS takes a whole virtual server out, as keepalived's
// clear_service_vs does: its real servers, then the quorum, which is
// reported down when it was up, and always when stopping with omega.
func (m *machine) clearVS(vs *virtualServer, stopping bool) {
	for _, rs := range vs.rs {
		m.clearRS(vs, rs, stopping)
	}
	vs.sorryIn = false
	m.lowerQuorum(vs, stopping)
}

// lowerQuorum is keepalived's update_vs_notifies, run after real servers
// were taken out: it reports the quorum lost, without a log line.
func (m *machine) lowerQuorum(vs *virtualServer, stopping bool) {
	sum := vs.liveWeight()
	if stopping || (vs.quorumUp && (sum == 0 || sum < int64(vs.cfg.Quorum)-int64(vs.cfg.Hysteresis))) {
		vs.quorumUp = false
		m.vsNotify(vs, stopping)
	}
}

// liveWeight is State.liveWeight without making the State: a reload
// judges the quorum of every virtual server.
func (vs *virtualServer) liveWeight() int64 {
	var sum int64
	for _, rs := range vs.rs {
		if rs.alive {
			sum += int64(realWeight(rs.weight))
		}
	}
	return sum
}

// sorryName names the sorry server as keepalived's log does, with the
// port its validation leaves: a lone virtual server's own under DR or
// TUN ("sorry server ports don't match - resetting"), none under a lone
// firewall mark ("has port specified - clearing").
func (vs *virtualServer) sorryName() string {
	ss := vs.cfg.SorryServer
	rs := config.RealServer{Addr: ss.Addr, Port: ss.Port}
	if vs.cfg.Group == "" && ss.Forwarding.Method != config.LBKindNAT {
		rs.Port = vs.cfg.Port
	}
	return rs.Name(vs.cfg)
}

// newVirtualServer makes the state of a virtual_server block, with its
// real servers failed until start or a reload decides.
func newVirtualServer(cfg *config.VirtualServer, scripts func(*config.Notify, string) *notify.Script) *virtualServer {
	vs := &virtualServer{
		cfg:    cfg,
		key:    vsKey(cfg),
		name:   cfg.Name(),
		id:     NotifyID(cfg),
		quorum: notify.Quorum{Up: scripts(cfg.QuorumUp, "quorum_up"), Down: scripts(cfg.QuorumDown, "quorum_down")},
	}
	// One allocation for all the real servers: a reload makes them anew
	// for every virtual server.
	all := make([]realServer, len(cfg.RealServers))
	vs.rs = make([]*realServer, len(cfg.RealServers))
	names := realServerNames(cfg)
	for i := range cfg.RealServers {
		rc := &cfg.RealServers[i]
		all[i] = realServer{
			cfg:    rc,
			name:   names[i],
			id:     notify.RealServer{Addr: netip.AddrPortFrom(rc.Addr, rc.Port), Up: scripts(rc.NotifyUp, "notify_up"), Down: scripts(rc.NotifyDown, "notify_down")},
			weight: rc.Weight,
		}
		vs.rs[i] = &all[i]
	}
	return vs
}

// NotifyID names a virtual server as the notifier's scripts, FIFO lines
// and mails name it.
func NotifyID(vs *config.VirtualServer) notify.VirtualServer {
	id := notify.VirtualServer{Group: vs.Group, FWMark: vs.FWMark}
	if vs.Group == "" && vs.FWMark == 0 {
		id.Addr = netip.AddrPortFrom(vs.Addr, vs.Port)
	}
	if vs.FWMark == 0 {
		switch vs.Protocol {
		case config.ProtocolNone:
		case config.ProtocolTCP:
			id.Protocol = notify.TCP
		case config.ProtocolUDP:
			id.Protocol = notify.UDP
		case config.ProtocolSCTP:
			id.Protocol = notify.SCTP
		default:
			panic("lvs: unknown config.Protocol " + vs.Protocol.String())
		}
	}
	return id
}

// realServerNames returns the names of vs's real servers, each as
// config.RealServer.Name formats it, written into one string: a reload
// names every real server of the configuration, twice, and formatting
// each name apart cost several allocations a name.
func realServerNames(vs *config.VirtualServer) []string {
	proto := "none"
	if vs.FWMark == 0 && vs.Protocol != config.ProtocolNone {
		proto = strings.ToLower(vs.Protocol.String())
	}
	buf := make([]byte, 0, len(vs.RealServers)*(len("[255.255.255.255]::65535")+len(proto)))
	ends := make([]int, len(vs.RealServers))
	for i := range vs.RealServers {
		rs := &vs.RealServers[i]
		if !rs.Addr.IsValid() {
			// Name writes "invalid IP", which AppendTo leaves out.
			buf = append(buf, rs.Name(vs)...)
		} else {
			buf = append(buf, '[')
			buf = rs.Addr.AppendTo(buf)
			buf = append(buf, "]:"...)
			buf = append(buf, proto...)
			buf = append(buf, ':')
			buf = strconv.AppendUint(buf, uint64(rs.Port), 10)
		}
		ends[i] = len(buf)
	}
	all := string(buf)
	names := make([]string, len(ends))
	start := 0
	for i, end := range ends {
		names[i] = all[start:end]
		start = end
	}
	return names
}
